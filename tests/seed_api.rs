//! The Rust snippets of the getting-started guide, as written (only the
//! elided config fields are filled in), run against each other.
// The guide writes `..Default::default()` after the only field; kept as written.
#![allow(clippy::needless_update)]

use std::time::{Duration, Instant};

#[test]
fn seed_snippets_work_together() {
    let dir = netipc_test_support::RunDir::new("seed");
    let run_dir = dir.str().to_string();

    // --- Managed server (L2), as in the guide.
    use netipc::service::cgroups::{Handler, ManagedServer, ServerConfig};

    let handler = Handler {
        handle: Some(Box::new(|_req, builder| {
            // Fill builder with cgroup items
            builder.set_header(1, 42);
            builder
                .add(1001, 0, 1, b"docker-abc123", b"/sys/fs/cgroup/docker/abc123")
                .is_ok()
        })),
        ..Default::default()
    };

    let config = ServerConfig {
        supported_profiles: netipc::protocol::PROFILE_BASELINE,
        max_request_payload_bytes: 4096,
        max_response_payload_bytes: 65536,
        auth_token: 0xDEADBEEFCAFEBABE,
        ..ServerConfig::default()
    };
    let server = ManagedServer::new(&run_dir, "cgroups-snapshot", config, handler);

    /// Stops the server even when an assertion fails, so the scope ends.
    struct StopOnDrop<'a>(&'a ManagedServer);
    impl Drop for StopOnDrop<'_> {
        fn drop(&mut self) {
            self.0.stop();
        }
    }

    std::thread::scope(|s| {
        let srv = &server;
        s.spawn(move || srv.run().unwrap());
        let _stop = StopOnDrop(&server);

        // --- Client (L2 typed calls), as in the guide.
        use netipc::protocol::PROFILE_BASELINE;
        use netipc::service::cgroups::{CgroupsClient, ClientConfig};

        let config = ClientConfig {
            supported_profiles: PROFILE_BASELINE,
            max_request_payload_bytes: 4096,
            max_request_batch_items: 1,
            max_response_payload_bytes: 65536,
            max_response_batch_items: 1,
            auth_token: 0xDEADBEEFCAFEBABE,
            ..ClientConfig::default()
        };

        let mut client = CgroupsClient::new(&run_dir, "cgroups-snapshot", config.clone());
        let deadline = Instant::now() + Duration::from_secs(10);
        client.refresh(); // attempt connect
        while !client.ready() && Instant::now() < deadline {
            std::thread::yield_now();
            client.refresh();
        }

        let mut seen = 0;
        if client.ready() {
            match client.call_snapshot() {
                Ok(view) => {
                    for i in 0..view.item_count {
                        let item = view.item(i).unwrap();
                        // item.hash, item.name.as_str(), item.path.as_str()
                        assert_eq!(item.name.as_str().unwrap(), "docker-abc123");
                        assert_eq!(item.path.as_str().unwrap(), "/sys/fs/cgroup/docker/abc123");
                        seen += 1;
                    }
                    // view is valid until the next typed call on this client
                }
                Err(e) => eprintln!("call failed: {:?}", e),
            }
        }
        assert_eq!(seen, 1);
        client.close();

        // --- L3 cache, as in the guide.
        use netipc::service::cgroups::CgroupsCache;

        let mut cache = CgroupsCache::new(&run_dir, "cgroups-snapshot", config);

        // Call periodically
        if cache.refresh() {
            println!("cache updated");
        }

        // O(1) lookup
        let hash = 1001;
        if let Some(item) = cache.lookup(hash, "docker-abc123") {
            println!("{}: {}", item.name, item.path);
        }
        assert_eq!(
            cache.lookup(hash, "docker-abc123").unwrap().path,
            "/sys/fs/cgroup/docker/abc123"
        );

        cache.close();
    });
}

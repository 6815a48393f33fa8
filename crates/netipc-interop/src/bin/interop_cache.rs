//! Interop peer for the Level 3 cache:
//!
//! ```text
//! interop_cache server|client <run_dir> <service>
//! ```
//!
//! The server is the snapshot server of `interop_service`. The client
//! refreshes its cache until ready (up to 2 s) and checks two lookups.

fn main() {
    use netipc_interop::*;
    let Some((mode, run_dir, service)) = args("interop_cache server|client <run_dir> <service>") else {
        std::process::exit(2);
    };
    let code = match mode.as_str() {
        "server" => serve_snapshot_fixture(&run_dir, &service, 1),
        "client" => verdict("interop_cache client", client(&run_dir, &service)),
        _ => {
            eprintln!("unknown mode {mode}");
            2
        }
    };
    std::process::exit(code);
}

fn client(run_dir: &str, service: &str) -> Result<(), String> {
    use netipc::service::cgroups::{CgroupsCache, ClientConfig};
    use netipc_interop::*;
    use std::time::{Duration, Instant};
    let profiles = profiles();
    let config = ClientConfig {
        supported_profiles: profiles,
        preferred_profiles: profiles,
        max_request_batch_items: 1,
        max_response_payload_bytes: RESPONSE_PAYLOAD,
        auth_token: AUTH_TOKEN,
        ..ClientConfig::default()
    };
    let mut cache = CgroupsCache::new(run_dir, service, config);
    let deadline = Instant::now() + Duration::from_secs(2);
    while !cache.refresh() {
        if Instant::now() >= deadline {
            return Err(format!("cache not ready: {:?}", cache.last_error()));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let status = cache.status();
    if status.item_count != 3 || status.generation != fixture::GENERATION {
        return Err(format!("cache status {status:?}"));
    }
    match cache.lookup(1001, "docker-abc123") {
        Some(item) if item.path == "/sys/fs/cgroup/docker/abc123" && item.hash == 1001 => {}
        other => return Err(format!("lookup (1001, docker-abc123): {other:?}")),
    }
    if let Some(item) = cache.lookup(9999, "nonexistent") {
        return Err(format!("lookup (9999, nonexistent) found {item:?}"));
    }
    cache.close();
    Ok(())
}

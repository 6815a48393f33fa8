//! A `cgroups-snapshot` server publishing a small fixed snapshot.
//!
//! Run: `cargo run --example cgroups_server -- <run_dir>` (default: a
//! temporary directory). Stop with Ctrl-C... or from another thread with
//! `server.stop()`, as the example does after the given number of seconds.

use netipc::protocol::PROFILE_BASELINE;
use netipc::service::cgroups::{Handler, ManagedServer, ServerConfig};
use std::time::Duration;

fn main() {
    let run_dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| std::env::temp_dir().display().to_string());
    let seconds: u64 = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(30);

    let handler = Handler {
        handle: Some(Box::new(|_request, builder| {
            builder.set_header(1, 42);
            let items = [
                (1001, "docker-abc123", "/sys/fs/cgroup/docker/abc123"),
                (2002, "k8s-pod-xyz", "/sys/fs/cgroup/kubepods/xyz"),
            ];
            items
                .iter()
                .all(|(hash, name, path)| builder.add(*hash, 0, 1, name.as_bytes(), path.as_bytes()).is_ok())
        })),
    };
    let config = ServerConfig {
        supported_profiles: PROFILE_BASELINE,
        max_response_payload_bytes: 65536,
        auth_token: 0xDEADBEEFCAFEBABE,
        ..ServerConfig::default()
    };
    let server = ManagedServer::new(&run_dir, "cgroups-snapshot", config, handler);
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_secs(seconds));
            server.stop();
        });
        println!("serving {run_dir}/cgroups-snapshot.sock for {seconds} s");
        if let Err(e) = server.run() {
            eprintln!("server failed: {e}");
        }
    });
}

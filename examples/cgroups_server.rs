//! A `cgroups-snapshot` server publishing a small fixed snapshot, hashed
//! as netdata's agent hashes its cgroups (`simple_hash`).
//!
//! Run: `cargo run --example cgroups_server -- <run_dir> [seconds]` (run
//! dir default: the system's temporary directory; 30 s by default). It says
//! it is serving once it listens, stops by itself after the given time, and
//! exits non-zero, with the reason, if it cannot serve.

use netipc::protocol::PROFILE_BASELINE;
use netipc::service::cgroups::{Handler, ManagedServer, ServerConfig, simple_hash};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

fn main() -> ExitCode {
    let run_dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| std::env::temp_dir().display().to_string());
    let seconds: u64 = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(30);

    let handler = Handler {
        handle: Some(Box::new(|_request, builder| {
            builder.set_header(1, 42);
            let items = [
                ("docker-abc123", "/sys/fs/cgroup/docker/abc123"),
                ("k8s-pod-xyz", "/sys/fs/cgroup/kubepods/xyz"),
            ];
            items.iter().all(|(name, path)| {
                let hash = simple_hash(name.as_bytes());
                builder.add(hash, 0, 1, name.as_bytes(), path.as_bytes()).is_ok()
            })
        })),
    };
    let config = ServerConfig {
        supported_profiles: PROFILE_BASELINE,
        auth_token: 0xDEADBEEFCAFEBABE,
        ..ServerConfig::default()
    };
    let server = ManagedServer::new(&run_dir, "cgroups-snapshot", config, handler);
    let (ended, end) = mpsc::channel::<()>();
    let served = std::thread::scope(|s| {
        // Stops the server after `seconds`, or at once if it ends by itself.
        let stopper = &server;
        s.spawn(move || {
            let _ = end.recv_timeout(Duration::from_secs(seconds));
            stopper.stop();
        });
        let served = server.run_notify(|| println!("serving cgroups-snapshot in {run_dir} for {seconds} s"));
        drop(ended);
        served
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server failed: {e}");
            ExitCode::FAILURE
        }
    }
}

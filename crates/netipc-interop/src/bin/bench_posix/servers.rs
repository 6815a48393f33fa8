//! The server scenarios.

use crate::driver::*;
use netipc::service::{ServerConfig, ServiceHandler};
use netipc_interop::bench::process_cpu;
use netipc_interop::{Termination, serve_until_stopped};
use std::time::{Duration, Instant};

fn server_config(shm: bool, batch: bool) -> ServerConfig {
    let (req, resp, items) = if batch {
        (BATCH_BUF, BATCH_BUF, BATCH_MAX_ITEMS)
    } else {
        (REQUEST_BUF, RESPONSE_BUF, 1)
    };
    ServerConfig {
        supported_profiles: profiles(shm),
        preferred_profiles: profiles(shm),
        max_request_payload_bytes: req,
        max_request_batch_items: items,
        max_response_payload_bytes: resp,
        max_response_batch_items: items,
        auth_token: AUTH_TOKEN,
        backlog: 4,
        max_sessions: if batch { BATCH_WORKERS } else { 0 },
        ..ServerConfig::default()
    }
}

fn increment_handler() -> netipc::service::increment::Handler {
    netipc::service::increment::Handler {
        handle: Some(Box::new(|v| Some(v.wrapping_add(1)))),
    }
}

/// The reference's 16-item snapshot, generation counting per call.
fn snapshot_handler() -> netipc::service::cgroups::Handler {
    let items: Vec<(u32, u32, String, String)> = (0..SNAPSHOT_ITEMS)
        .map(|i| {
            (
                1000 + i,
                i % 2,
                format!("cgroup-{i}"),
                format!("/sys/fs/cgroup/bench/cg-{i}"),
            )
        })
        .collect();
    let generation = std::sync::atomic::AtomicU64::new(0);
    netipc::service::cgroups::Handler {
        handle: Some(Box::new(move |_, b| {
            let g = generation.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            b.set_header(1, g);
            items
                .iter()
                .all(|(h, e, n, p)| b.add(*h, 0, *e, n.as_bytes(), p.as_bytes()).is_ok())
        })),
    }
}

pub(crate) fn server(cmd: &str, dir: &str, svc: &str, duration: u64) -> Result<(), String> {
    let scenario = cmd.trim_end_matches("-server");
    let shm = scenario.starts_with("shm") || scenario.ends_with("-shm");
    let termination = Termination::arm();
    let code = match scenario {
        "uds-ping-pong" | "shm-ping-pong" | "uds-batch-ping-pong" | "shm-batch-ping-pong" => {
            let batch = scenario.contains("batch");
            let s = netipc::service::increment::ManagedServer::new(
                dir,
                svc,
                server_config(shm, batch),
                increment_handler(),
            );
            run_for(&termination, duration, &s)
        }
        "snapshot" | "snapshot-shm" => {
            let s = netipc::service::cgroups::ManagedServer::new(
                dir,
                svc,
                server_config(shm, false),
                snapshot_handler(),
            );
            run_for(&termination, duration, &s)
        }
        other => {
            if let Some(big) = crate::bigsnap::Big::parse(other) {
                run_for(&termination, duration, &crate::bigsnap::server(&big, dir, svc))
            } else if let Some(many) = crate::sessions::Many::parse(other) {
                // The client measures its sessions idle, pacing and calling,
                // each for the duration, after connecting them all.
                let lasts = duration.saturating_mul(3).saturating_add(60);
                run_for(&termination, lasts, &crate::sessions::server(&many, dir, svc))
            } else {
                return Err(format!("unknown server scenario {other}"));
            }
        }
    };
    println!("SERVER_CPU_SEC={:.6}", process_cpu().as_secs_f64());
    if code == 0 {
        Ok(())
    } else {
        Err("server failed".into())
    }
}

/// Serves until SIGTERM/SIGINT or `duration` + grace.
fn run_for<H: ServiceHandler>(
    termination: &Termination,
    duration: u64,
    s: &netipc::service::ManagedServer<H>,
) -> i32 {
    std::thread::scope(|scope| {
        if duration > 0 {
            scope.spawn(|| {
                let deadline = Instant::now() + Duration::from_secs(duration) + SERVER_GRACE;
                while Instant::now() < deadline && !s.is_running() {
                    std::thread::sleep(Duration::from_millis(10));
                }
                while Instant::now() < deadline && s.is_running() {
                    std::thread::sleep(Duration::from_millis(50));
                }
                // Wake the signal wait in the main thread.
                let _ = nix::sys::signal::kill(nix::unistd::getpid(), nix::sys::signal::Signal::SIGTERM);
            });
        }
        serve_until_stopped(termination, |bound| s.run_notify(bound), || s.stop())
    })
}

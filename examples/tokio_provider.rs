//! An async provider: a `cgroups-snapshot` server and a `cgroups-lookup`
//! server on one tokio runtime, serving data that changes (a new cgroup
//! every second), with shared memory where the platform has it.
//!
//! Run: `cargo run --features tokio --example tokio_provider -- <run_dir> [seconds]`
//! (run dir default: the system's temporary directory; 30 s by default).
//! It says it is serving once both endpoints listen, stops by itself after
//! the given time, and exits non-zero, with the reason, if it cannot serve.
//!
//! The handlers are the blocking servers' handlers: plain closures that
//! run on the session's task and must not block (they read a snapshot of
//! the data under a lock held for a few microseconds). A handler that must
//! block runs on the blocking pool (`HandlerMode::Blocking`).

use std::process::ExitCode;

fn main() -> ExitCode {
    #[cfg(unix)]
    return app::main();
    #[cfg(not(unix))]
    {
        eprintln!("the tokio layer serves POSIX sockets only (see docs/async.md)");
        ExitCode::FAILURE
    }
}

#[cfg(unix)]
mod app {
    use netipc::protocol::{PROFILE_BASELINE, PROFILE_SHM_HYBRID};
    use netipc::service::ServerConfig;
    use netipc::service::cgroups::simple_hash;
    use netipc::tokio::{cgroups, lookup};
    use std::process::ExitCode;
    use std::sync::{Arc, RwLock};
    use std::time::Duration;

    /// The provider's data: cgroup names, in order.
    type Cgroups = Arc<RwLock<Vec<String>>>;

    fn path_of(name: &str) -> String {
        format!("/sys/fs/cgroup/system.slice/{name}")
    }

    #[tokio::main(flavor = "current_thread")]
    pub async fn main() -> ExitCode {
        let run_dir = std::env::args()
            .nth(1)
            .unwrap_or_else(|| std::env::temp_dir().display().to_string());
        let seconds: u64 = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(30);
        let data: Cgroups = Arc::new(RwLock::new(vec!["init.scope".to_string()]));
        let config = ServerConfig {
            supported_profiles: PROFILE_BASELINE | PROFILE_SHM_HYBRID,
            preferred_profiles: PROFILE_SHM_HYBRID,
            auth_token: 0xDEADBEEFCAFEBABE,
            ..ServerConfig::default()
        };

        let snapshot = cgroups::Handler {
            handle: Some(Box::new({
                let data = Arc::clone(&data);
                move |_request, builder| {
                    let names = data.read().unwrap_or_else(|p| p.into_inner());
                    builder.set_header(1, names.len() as u64);
                    names.iter().all(|name| {
                        let path = path_of(name);
                        builder
                            .add(
                                simple_hash(name.as_bytes()),
                                0,
                                1,
                                name.as_bytes(),
                                path.as_bytes(),
                            )
                            .is_ok()
                    })
                }
            })),
        };
        let lookups = lookup::cgroups::Handler {
            handle: Some(Box::new({
                let data = Arc::clone(&data);
                move |r| {
                    let names = data.read().unwrap_or_else(|p| p.into_inner());
                    r.set_generation(names.len() as u64);
                    while let Some(path) = r.next_key() {
                        let found = names.iter().find(|n| path_of(n).as_bytes() == path.as_bytes());
                        let placed = match found {
                            Some(name) => r.known(
                                lookup::cgroups::Orchestrator::SYSTEMD,
                                name.as_bytes(),
                                &[(b"unit".as_slice(), name.as_bytes())],
                            ),
                            None => r.not_known(lookup::cgroups::CgroupsLookupStatus::UnknownPermanent),
                        };
                        if placed.is_err() {
                            return false;
                        }
                    }
                    true
                }
            })),
        };
        let snapshots = Arc::new(cgroups::ManagedServer::new(
            &run_dir,
            "cgroups-snapshot",
            config.clone(),
            snapshot,
        ));
        let lookup_server = Arc::new(lookup::cgroups::ManagedServer::new(
            &run_dir,
            "cgroups-lookup",
            config,
            lookups,
        ));

        let (bound_a, is_bound_a) = tokio::sync::oneshot::channel();
        let (bound_b, is_bound_b) = tokio::sync::oneshot::channel();
        let serving_a = tokio::spawn({
            let s = Arc::clone(&snapshots);
            async move {
                s.run_notify(move || {
                    let _ = bound_a.send(());
                })
                .await
            }
        });
        let serving_b = tokio::spawn({
            let s = Arc::clone(&lookup_server);
            async move {
                s.run_notify(move || {
                    let _ = bound_b.send(());
                })
                .await
            }
        });
        if is_bound_a.await.is_ok() && is_bound_b.await.is_ok() {
            println!("serving cgroups-snapshot and cgroups-lookup in {run_dir} for {seconds} s");
            // The data changes while the servers serve: a new cgroup a second.
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            for i in 0..seconds {
                tick.tick().await;
                data.write()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(format!("app-{i}.service"));
            }
        }
        snapshots.stop();
        lookup_server.stop();
        let mut failed = false;
        for (name, served) in [
            ("cgroups-snapshot", serving_a.await),
            ("cgroups-lookup", serving_b.await),
        ] {
            match served {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    eprintln!("{name} server failed: {e}");
                    failed = true;
                }
                Err(e) => {
                    eprintln!("{name} server task failed: {e}");
                    failed = true;
                }
            }
        }
        if failed {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        }
    }
}

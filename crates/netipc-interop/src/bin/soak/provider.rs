//! The provider: a managed server of every service kind in one process,
//! until its standard input closes (or it is killed). It prints `READY`
//! once every endpoint is bound, then a `STAT` line four times a second:
//! its descriptors, memory, sessions (all and over shared memory), calls,
//! and the entries of the run dir (sockets, region files, others). Its log
//! goes to standard error.

use crate::fixture::*;
use crate::proc_stats::{fds, rss_kib, stop_on_stdin_eof};
use netipc::protocol::{PROFILE_BASELINE, PROFILE_SHM_HYBRID};
use netipc::service::lookup::{apps, cgroups as lookup};
use netipc::service::{ServerConfig, ServerStats, cgroups, increment, string_reverse};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// Writes the library's log lines to standard error, with the time.
struct StderrLog;

impl log::Log for StderrLog {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::Level::Info
    }
    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            eprintln!(
                "{}.{:03} {} {}: {}",
                now.as_secs(),
                now.subsec_millis(),
                r.level(),
                r.target(),
                r.args()
            );
        }
    }
    fn flush(&self) {}
}

static LOGGER: StderrLog = StderrLog;

fn config() -> ServerConfig {
    ServerConfig {
        supported_profiles: PROFILE_BASELINE | PROFILE_SHM_HYBRID,
        preferred_profiles: PROFILE_SHM_HYBRID,
        max_request_payload_bytes: 8192,
        max_request_batch_items: 64,
        max_response_payload_bytes: 65536,
        max_response_batch_items: 64,
        auth_token: TOKEN,
        max_sessions: 16,
        ..ServerConfig::default()
    }
}

/// The run dir's entries: sockets, region files, anything else.
fn entries(run_dir: &Path) -> (usize, usize, usize) {
    let (mut socks, mut regions, mut other) = (0, 0, 0);
    for e in std::fs::read_dir(run_dir).into_iter().flatten().flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.ends_with(".sock") {
            socks += 1;
        } else if name.ends_with(".ipcshm") {
            regions += 1;
        } else {
            other += 1;
        }
    }
    (socks, regions, other)
}

fn sum(all: &[ServerStats]) -> (u64, u64, u64, u64) {
    all.iter().fold((0, 0, 0, 0), |(o, s, c, f), st| {
        (
            o + st.sessions_open,
            s + st.sessions_open_shm,
            c + st.calls_ok,
            f + st.calls_failed.total(),
        )
    })
}

pub fn run(run_dir: &str) -> i32 {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(log::LevelFilter::Info);
    let stop = stop_on_stdin_eof();
    let snapshots = AtomicU64::new(1);
    let snapshot = cgroups::ManagedServer::new(
        run_dir,
        SNAPSHOT,
        config(),
        cgroups::Handler {
            handle: Some(Box::new(move |_, b| {
                let generation = snapshots.fetch_add(1, Ordering::Relaxed);
                b.set_header(1, generation);
                (0..snapshot_len(generation)).all(|i| {
                    let (name, path) = snapshot_item(generation, i);
                    b.add(hash(&name), i, 1, name.as_bytes(), path.as_bytes()).is_ok()
                })
            })),
        },
    );
    let cgroups_lookup = lookup::ManagedServer::new(
        run_dir,
        CGROUPS_LOOKUP,
        config(),
        lookup::Handler {
            handle: Some(Box::new(|r| {
                r.set_generation(5);
                while let Some(path) = r.next_key() {
                    let name = lookup_name(path.as_bytes());
                    if r.known(lookup::Orchestrator::K8S, &name, &[]).is_err() {
                        return false;
                    }
                }
                true
            })),
        },
    );
    let apps_lookup = apps::ManagedServer::new(
        run_dir,
        APPS_LOOKUP,
        config(),
        apps::Handler {
            handle: Some(Box::new(|r| {
                r.set_generation(6);
                while let Some(pid) = r.next_key() {
                    let (uid, starttime) = app_of(pid);
                    let e = apps::AppsLookupEntry {
                        pid,
                        status: netipc::protocol::lookup::AppsLookupStatus::Known,
                        cgroup_status: apps::CgroupStatus::Known,
                        orchestrator: apps::Orchestrator::DOCKER,
                        ppid: 1,
                        uid,
                        starttime,
                        comm: b"soak",
                        cgroup_path: b"/soak",
                        cgroup_name: b"soak",
                        labels: &[],
                    };
                    if r.answer(&e).is_err() {
                        return false;
                    }
                }
                true
            })),
        },
    );
    let increment = increment::ManagedServer::new(
        run_dir,
        INCREMENT,
        config(),
        increment::Handler {
            handle: Some(Box::new(|v| Some(v.wrapping_add(1)))),
        },
    );
    let reverse = string_reverse::ManagedServer::new(
        run_dir,
        REVERSE,
        config(),
        string_reverse::Handler {
            handle: Some(Box::new(|s, out| {
                out.extend(s.iter().rev());
                true
            })),
        },
    );
    let bound = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    // `run` is a server's `run_notify`, given the callback it calls once bound.
    #[allow(clippy::type_complexity)]
    let serve = |name: &'static str,
                 run: &(dyn Fn(Box<dyn FnOnce() + Send + '_>) -> Result<(), String> + Sync)| {
        if let Err(e) = run(Box::new(|| {
            bound.fetch_add(1, Ordering::AcqRel);
        })) {
            eprintln!("provider: {name}: {e}");
            failed.fetch_add(1, Ordering::AcqRel);
        }
    };
    // A binding, not the tail: the scope's temporaries borrow the servers,
    // which must outlive them.
    #[allow(clippy::let_and_return)]
    let code = std::thread::scope(|s| {
        s.spawn(|| serve(SNAPSHOT, &|b| snapshot.run_notify(b).map_err(|e| e.to_string())));
        s.spawn(|| {
            serve(CGROUPS_LOOKUP, &|b| {
                cgroups_lookup.run_notify(b).map_err(|e| e.to_string())
            })
        });
        s.spawn(|| {
            serve(APPS_LOOKUP, &|b| {
                apps_lookup.run_notify(b).map_err(|e| e.to_string())
            })
        });
        s.spawn(|| serve(INCREMENT, &|b| increment.run_notify(b).map_err(|e| e.to_string())));
        s.spawn(|| serve(REVERSE, &|b| reverse.run_notify(b).map_err(|e| e.to_string())));
        while bound.load(Ordering::Acquire) < SERVICES.len() {
            if failed.load(Ordering::Acquire) > 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let mut out = std::io::stdout().lock();
        if failed.load(Ordering::Acquire) == 0 {
            let _ = writeln!(out, "READY fds={}", fds());
            while !stop.load(Ordering::Acquire) {
                let stats = [
                    snapshot.stats(),
                    cgroups_lookup.stats(),
                    apps_lookup.stats(),
                    increment.stats(),
                    reverse.stats(),
                ];
                let (open, open_shm, ok, failed_calls) = sum(&stats);
                let fds_now = fds();
                let (socks, regions, other) = entries(Path::new(run_dir));
                let refused: u64 = stats
                    .iter()
                    .map(|s| s.sessions_refused + s.handshake_failures)
                    .sum();
                let _ = writeln!(
                    out,
                    "STAT fds={fds_now} rss={} open={open} open_shm={open_shm} ok={ok} failed={failed_calls} \
                     socks={socks} regions={regions} other={other} handshake_failures={refused}",
                    rss_kib()
                );
                let _ = out.flush();
                std::thread::sleep(Duration::from_millis(250));
            }
        }
        drop(out);
        snapshot.stop();
        cgroups_lookup.stop();
        apps_lookup.stop();
        increment.stop();
        reverse.stop();
        i32::from(failed.load(Ordering::Acquire) > 0)
    });
    code
}

//! Async ping-pong: one INCREMENT call at a time from an async client on a
//! current-thread runtime, beside the blocking client, over UDS and SHM,
//! against a server in this process (blocking, or async on a current-thread
//! runtime of its own thread). Needs `--features tokio`.
//!
//! On Linux with two CPUs or more, each runs in two placements, as
//! `benches/run-matrix.sh` places its processes: `split` (the server's
//! threads on CPU 0, the client's on CPU 1) and `shared` (all on CPU 0).
//! Elsewhere the threads run where the scheduler puts them (`any`).
//!
//! - `blocking`: the blocking client, blocking server;
//! - `async`: the async client, one `block_on` per call, blocking server;
//! - `async_in_task`: the async client, many calls in one task (as an
//!   application makes them), blocking server;
//! - `async_pair`: the same against the async server.

#[cfg(unix)]
mod pairs {
    use criterion::Criterion;
    use netipc::protocol::{PROFILE_BASELINE, PROFILE_SHM_HYBRID};
    use netipc::service::increment::{Handler, IncrementClient};
    use netipc::service::{ClientConfig, ServerConfig};
    use std::hint::black_box;
    use std::path::PathBuf;

    /// Where the threads run: the server's CPU and the client's, if pinned.
    #[derive(Clone, Copy)]
    struct Placement {
        name: &'static str,
        cpus: Option<(usize, usize)>,
    }

    /// The placements this machine has.
    fn placements() -> Vec<Placement> {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        if cfg!(target_os = "linux") && cpus >= 2 {
            vec![
                Placement {
                    name: "split",
                    cpus: Some((0, 1)),
                },
                Placement {
                    name: "shared",
                    cpus: Some((0, 0)),
                },
            ]
        } else {
            vec![Placement {
                name: "any",
                cpus: None,
            }]
        }
    }

    /// Pins the calling thread (and the threads it starts later) to `cpu`
    /// (`None`: leaves it where it is allowed to run).
    fn pin(cpu: Option<usize>) {
        #[cfg(target_os = "linux")]
        if let Some(c) = cpu {
            let mut set = nix::sched::CpuSet::new();
            set.set(c).unwrap();
            nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set).unwrap();
        }
        #[cfg(not(target_os = "linux"))]
        let _ = cpu;
    }

    /// The CPUs the calling thread may run on, to be given back after a
    /// placement.
    struct Affinity {
        #[cfg(target_os = "linux")]
        set: nix::sched::CpuSet,
    }

    impl Affinity {
        fn save() -> Self {
            Self {
                #[cfg(target_os = "linux")]
                set: nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)).unwrap(),
            }
        }

        fn restore(&self) {
            #[cfg(target_os = "linux")]
            nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &self.set).unwrap();
        }
    }

    #[derive(Clone, Copy, PartialEq)]
    enum Kind {
        Blocking,
        Async,
    }

    /// A server on a thread of its own (pinned, with the threads it starts,
    /// where the placement says), stopped on drop.
    struct Server {
        stop: Box<dyn Fn()>,
        thread: Option<std::thread::JoinHandle<()>>,
        dir: PathBuf,
    }

    impl Server {
        fn start(tag: &str, kind: Kind, profiles: u32, cpu: Option<usize>) -> (Self, ClientConfig) {
            let dir = std::env::temp_dir().join(format!("netipc-bench-async-{tag}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let scfg = ServerConfig {
                supported_profiles: profiles,
                preferred_profiles: profiles,
                auth_token: 9,
                ..ServerConfig::default()
            };
            let handler = Handler {
                handle: Some(Box::new(|v| Some(v + 1))),
            };
            let (tx, rx) = std::sync::mpsc::channel();
            let (stop, thread): (Box<dyn Fn()>, _) = match kind {
                Kind::Blocking => {
                    let server = std::sync::Arc::new(netipc::service::increment::ManagedServer::new(
                        &dir, "inc", scfg, handler,
                    ));
                    let s = std::sync::Arc::clone(&server);
                    let thread = std::thread::spawn(move || {
                        pin(cpu);
                        s.run_notify(move || tx.send(()).unwrap()).unwrap()
                    });
                    (Box::new(move || server.stop()), thread)
                }
                Kind::Async => {
                    let server = std::sync::Arc::new(netipc::tokio::increment::ManagedServer::new(
                        &dir, "inc", scfg, handler,
                    ));
                    let s = std::sync::Arc::clone(&server);
                    let thread = std::thread::spawn(move || {
                        pin(cpu);
                        let rt = tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                            .unwrap();
                        rt.block_on(s.run_notify(move || tx.send(()).unwrap())).unwrap()
                    });
                    (Box::new(move || server.stop()), thread)
                }
            };
            rx.recv().unwrap();
            let ccfg = ClientConfig {
                supported_profiles: profiles,
                preferred_profiles: profiles,
                auth_token: 9,
                ..ClientConfig::default()
            };
            let server = Self {
                stop,
                thread: Some(thread),
                dir,
            };
            (server, ccfg)
        }
    }

    impl Drop for Server {
        fn drop(&mut self) {
            (self.stop)();
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    /// Many calls in one task, as a task in a running app makes them.
    fn in_task(
        rt: &tokio::runtime::Runtime,
        client: &mut netipc::tokio::increment::IncrementClient,
        v: &mut u64,
        iters: u64,
    ) -> std::time::Duration {
        rt.block_on(async {
            let start = std::time::Instant::now();
            for _ in 0..iters {
                *v = client.call(black_box(*v)).await.unwrap();
            }
            start.elapsed()
        })
    }

    pub fn ping_pong(c: &mut Criterion) {
        let mut group = c.benchmark_group("ping_pong");
        let affinity = Affinity::save();
        for placement in placements() {
            let (server_cpu, client_cpu) = match placement.cpus {
                Some((s, c)) => (Some(s), Some(c)),
                None => (None, None),
            };
            // The benchmark's thread is the client's, and its runtime's.
            pin(client_cpu);
            for (name, profiles) in [
                ("uds", PROFILE_BASELINE),
                ("shm", PROFILE_BASELINE | PROFILE_SHM_HYBRID),
            ] {
                let id = |what: &str| format!("{name}/{}/{what}", placement.name);
                let tag = format!("{name}-{}", placement.name);
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                let mut v = 0u64;
                {
                    let (server, cfg) = Server::start(&tag, Kind::Blocking, profiles, server_cpu);
                    let mut blocking = IncrementClient::new(&server.dir, "inc", cfg.clone());
                    blocking.refresh();
                    group.bench_function(id("blocking"), |b| {
                        b.iter(|| {
                            v = blocking.call(black_box(v)).unwrap();
                        })
                    });
                    drop(blocking);
                    let mut client = netipc::tokio::increment::IncrementClient::new(&server.dir, "inc", cfg);
                    rt.block_on(client.refresh());
                    group.bench_function(id("async"), |b| {
                        b.iter(|| {
                            rt.block_on(async {
                                v = client.call(black_box(v)).await.unwrap();
                            })
                        })
                    });
                    group.bench_function(id("async_in_task"), |b| {
                        b.iter_custom(|iters| in_task(&rt, &mut client, &mut v, iters))
                    });
                }
                let (server, cfg) = Server::start(&tag, Kind::Async, profiles, server_cpu);
                let mut client = netipc::tokio::increment::IncrementClient::new(&server.dir, "inc", cfg);
                rt.block_on(client.refresh());
                group.bench_function(id("async_pair"), |b| {
                    b.iter_custom(|iters| in_task(&rt, &mut client, &mut v, iters))
                });
            }
            affinity.restore();
        }
        group.finish();
    }
}

#[cfg(unix)]
criterion::criterion_group!(benches, pairs::ping_pong);
#[cfg(unix)]
criterion::criterion_main!(benches);

/// The tokio layer serves POSIX sockets only.
#[cfg(not(unix))]
fn main() {}

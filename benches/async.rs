//! Async ping-pong: one INCREMENT call at a time from an async client on a
//! current-thread runtime, beside the blocking client on the same
//! placement, over UDS and SHM, against a blocking server in this process
//! (its session thread on any CPU: the split placement when the machine
//! has a CPU free). Needs `--features tokio`.

#[cfg(unix)]
mod pairs {
    use criterion::Criterion;
    use netipc::protocol::{PROFILE_BASELINE, PROFILE_SHM_HYBRID};
    use netipc::service::increment::{Handler, IncrementClient, ManagedServer};
    use netipc::service::{ClientConfig, ServerConfig};
    use std::hint::black_box;
    use std::sync::Arc;

    struct Server {
        server: Arc<ManagedServer>,
        thread: Option<std::thread::JoinHandle<()>>,
        dir: std::path::PathBuf,
    }

    impl Server {
        fn start(tag: &str, profiles: u32) -> (Self, ClientConfig) {
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
            let server = Arc::new(ManagedServer::new(&dir, "inc", scfg, handler));
            let (tx, rx) = std::sync::mpsc::channel();
            let s = Arc::clone(&server);
            let thread = std::thread::spawn(move || s.run_notify(move || tx.send(()).unwrap()).unwrap());
            rx.recv().unwrap();
            let ccfg = ClientConfig {
                supported_profiles: profiles,
                preferred_profiles: profiles,
                auth_token: 9,
                ..ClientConfig::default()
            };
            (
                Self {
                    server,
                    thread: Some(thread),
                    dir,
                },
                ccfg,
            )
        }
    }

    impl Drop for Server {
        fn drop(&mut self) {
            self.server.stop();
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    pub fn ping_pong(c: &mut Criterion) {
        let mut group = c.benchmark_group("ping_pong");
        for (name, profiles) in [
            ("uds", PROFILE_BASELINE),
            ("shm", PROFILE_BASELINE | PROFILE_SHM_HYBRID),
        ] {
            let (server, cfg) = Server::start(name, profiles);
            let mut blocking = IncrementClient::new(&server.dir, "inc", cfg.clone());
            blocking.refresh();
            let mut v = 0u64;
            group.bench_function(format!("{name}/blocking"), |b| {
                b.iter(|| {
                    v = blocking.call(black_box(v)).unwrap();
                })
            });
            drop(blocking);
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let mut client = netipc::tokio::increment::IncrementClient::new(&server.dir, "inc", cfg);
            rt.block_on(client.refresh());
            group.bench_function(format!("{name}/async"), |b| {
                b.iter(|| {
                    rt.block_on(async {
                        v = client.call(black_box(v)).await.unwrap();
                    })
                })
            });
            // Many calls per block_on, as a task in a running app makes them.
            group.bench_function(format!("{name}/async_in_task"), |b| {
                b.iter_custom(|iters| {
                    rt.block_on(async {
                        let start = std::time::Instant::now();
                        for _ in 0..iters {
                            v = client.call(black_box(v)).await.unwrap();
                        }
                        start.elapsed()
                    })
                })
            });
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

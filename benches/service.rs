//! Level 2 and 3 benchmarks: a 1000-item snapshot refresh round trip over
//! UDS and SHM (and a refresh followed by a first lookup by name, which
//! builds the name index), and cache lookups by hash and name and by name
//! alone (hit and miss).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use netipc::protocol::{PROFILE_BASELINE, PROFILE_SHM_HYBRID};
use netipc::service::cgroups::{
    CgroupsCache, CgroupsClient, ClientConfig, Handler, ManagedServer, ServerConfig, simple_hash,
};
use std::hint::black_box;
use std::sync::Arc;

fn names(n: u32) -> Vec<(String, String)> {
    (0..n)
        .map(|i| {
            let name = format!("system.slice/service-{i:04}.service");
            (name.clone(), format!("/sys/fs/cgroup/{name}"))
        })
        .collect()
}

fn handler(n: u32) -> Handler {
    let items = names(n);
    Handler {
        handle: Some(Box::new(move |_, b| {
            b.set_header(1, 1);
            items.iter().all(|(n, p)| {
                b.add(simple_hash(n.as_bytes()), 0, 1, n.as_bytes(), p.as_bytes())
                    .is_ok()
            })
        })),
    }
}

struct Bench {
    server: Arc<ManagedServer>,
    thread: Option<std::thread::JoinHandle<()>>,
    dir: std::path::PathBuf,
}

impl Bench {
    fn start(tag: &str, profiles: u32, items: u32) -> (Self, ClientConfig) {
        let dir = std::env::temp_dir().join(format!("netipc-bench-svc-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let scfg = ServerConfig {
            supported_profiles: profiles,
            preferred_profiles: profiles,
            max_response_payload_bytes: 1 << 20,
            auth_token: 9,
            ..ServerConfig::default()
        };
        let server = Arc::new(ManagedServer::new(&dir, "cg", scfg, handler(items)));
        let (tx, rx) = std::sync::mpsc::channel();
        let s = Arc::clone(&server);
        let thread = std::thread::spawn(move || s.run_notify(move || tx.send(()).unwrap()).unwrap());
        rx.recv().unwrap();
        let ccfg = ClientConfig {
            supported_profiles: profiles,
            preferred_profiles: profiles,
            max_response_payload_bytes: 1 << 20,
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

impl Drop for Bench {
    fn drop(&mut self) {
        self.server.stop();
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn snapshot_round_trip(c: &mut Criterion) {
    let mut g = c.benchmark_group("snapshot_1000_refresh");
    g.throughput(Throughput::Elements(1000));
    let mut transports = vec![("uds", PROFILE_BASELINE)];
    if cfg!(target_os = "linux") {
        transports.push(("shm", PROFILE_BASELINE | PROFILE_SHM_HYBRID));
    }
    for (name, profiles) in transports {
        let (bench, ccfg) = Bench::start(name, profiles, 1000);
        let mut client = CgroupsClient::new(&bench.dir, "cg", ccfg.clone());
        client.refresh();
        assert_eq!(client.status().shm, name == "shm");
        g.bench_function(format!("{name}_call_snapshot_walk"), |b| {
            b.iter(|| {
                let view = client.call_snapshot().unwrap();
                black_box(view.iter().map(|i| i.path.len()).sum::<usize>())
            })
        });
        let mut cache = CgroupsCache::new(&bench.dir, "cg", ccfg);
        g.bench_function(format!("{name}_cache_refresh"), |b| {
            b.iter(|| assert!(cache.refresh()))
        });
        let first = names(1).remove(0).0;
        g.bench_function(format!("{name}_cache_refresh_then_lookup_name"), |b| {
            b.iter(|| {
                assert!(cache.refresh());
                black_box(cache.lookup_name(&first).unwrap());
            })
        });
        drop(client);
        drop(cache);
    }
    g.finish();
}

fn cache_lookup(c: &mut Criterion) {
    let (bench, ccfg) = Bench::start("lookup", PROFILE_BASELINE, 1000);
    let mut cache = CgroupsCache::new(&bench.dir, "cg", ccfg);
    assert!(cache.refresh());
    let keys: Vec<(u32, String)> = names(1000)
        .into_iter()
        .map(|(n, _)| (simple_hash(n.as_bytes()), n))
        .collect();
    let mut g = c.benchmark_group("cache_lookup");
    g.throughput(Throughput::Elements(keys.len() as u64));
    g.bench_function("hit_1000", |b| {
        b.iter(|| {
            for (h, n) in &keys {
                black_box(cache.lookup(*h, n.as_bytes()).unwrap());
            }
        })
    });
    g.bench_function("miss_1000", |b| {
        b.iter(|| {
            for (h, n) in &keys {
                assert!(black_box(cache.lookup(h.wrapping_add(1), n.as_bytes())).is_none());
            }
        })
    });
    assert!(cache.lookup_name(&keys[0].1).is_some(), "the name index is built");
    g.bench_function("by_name_hit_1000", |b| {
        b.iter(|| {
            for (_, n) in &keys {
                black_box(cache.lookup_name(n.as_bytes()).unwrap());
            }
        })
    });
    g.bench_function("by_name_miss_1000", |b| {
        b.iter(|| {
            for (_, n) in &keys {
                assert!(black_box(cache.lookup_name(&n.as_bytes()[1..])).is_none());
            }
        })
    });
    g.finish();
}

criterion_group!(benches, snapshot_round_trip, cache_lookup);
criterion_main!(benches);

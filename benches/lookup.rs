//! Lookup service benchmarks over UDS and SHM: 16 known keys per call, 256
//! mixed keys, 8192 known keys.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use netipc::protocol::lookup::CgroupsLookupStatus;
use netipc::protocol::{PROFILE_BASELINE, PROFILE_SHM_HYBRID};
use netipc::service::lookup::cgroups::{CgroupsLookupClient, Handler, ManagedServer, Orchestrator};
use netipc::service::{ClientConfig, ServerConfig};
use std::hint::black_box;
use std::sync::Arc;

/// Paths starting with `/k` are known (with a label), others unknown.
fn handler() -> Handler {
    Handler {
        handle: Some(Box::new(|r| {
            r.set_generation(1);
            let labels: [(&[u8], &[u8]); 1] = [(b"namespace", b"default")];
            while let Some(p) = r.next_key() {
                let placed = if p.as_bytes().starts_with(b"/k") {
                    r.known(Orchestrator::K8S, b"pod", &labels)
                } else {
                    r.not_known(CgroupsLookupStatus::UnknownRetryLater)
                };
                if placed.is_err() {
                    return false;
                }
            }
            true
        })),
    }
}

fn bench_transport(c: &mut Criterion, name: &str, profiles: u32) {
    let dir = std::env::temp_dir().join(format!("netipc-bench-lookup-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let scfg = ServerConfig {
        supported_profiles: profiles,
        preferred_profiles: profiles,
        max_request_payload_bytes: 65536,
        max_response_payload_bytes: 1 << 20,
        auth_token: 3,
        ..ServerConfig::default()
    };
    let server = Arc::new(ManagedServer::new(&dir, "lookup", scfg, handler()));
    let (tx, rx) = std::sync::mpsc::channel();
    let s = Arc::clone(&server);
    let t = std::thread::spawn(move || s.run_notify(move || tx.send(()).unwrap()).unwrap());
    rx.recv().unwrap();
    let ccfg = ClientConfig {
        supported_profiles: profiles,
        preferred_profiles: profiles,
        max_request_payload_bytes: 65536,
        max_response_payload_bytes: 1 << 20,
        auth_token: 3,
        ..ClientConfig::default()
    };
    let mut client = CgroupsLookupClient::new(&dir, "lookup", ccfg);
    client.refresh();
    assert_eq!(client.status().shm, profiles & PROFILE_SHM_HYBRID != 0);

    let known: Vec<String> = (0..8192).map(|i| format!("/kubepods/pod-{i:05}")).collect();
    let mixed: Vec<String> = (0..256)
        .map(|i| {
            if i % 2 == 0 {
                format!("/kubepods/pod-{i:05}")
            } else {
                format!("/gone/{i}")
            }
        })
        .collect();
    let mut g = c.benchmark_group(format!("lookup_{name}"));
    for (label, keys) in [
        ("16_known", &known[..16]),
        ("256_mixed", &mixed[..]),
        ("8192_known", &known[..]),
    ] {
        g.throughput(Throughput::Elements(keys.len() as u64));
        g.bench_function(label, |b| {
            b.iter(|| {
                let v = client.call(keys).unwrap();
                black_box(v.item_count)
            })
        });
    }
    g.finish();
    drop(client);
    server.stop();
    t.join().unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

fn lookups(c: &mut Criterion) {
    bench_transport(c, "uds", PROFILE_BASELINE);
    if cfg!(target_os = "linux") {
        bench_transport(c, "shm", PROFILE_BASELINE | PROFILE_SHM_HYBRID);
    }
}

criterion_group!(benches, lookups);
criterion_main!(benches);

//! Codec benchmarks: header, 500-item INCREMENT batch, 1000-item snapshot,
//! 256-item lookup response.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use netipc::protocol::lookup::*;
use netipc::protocol::*;
use std::hint::black_box;

fn header(c: &mut Criterion) {
    let h = Header::new(Kind::Request, METHOD_CGROUPS_SNAPSHOT, 42, 4);
    let bytes = h.encode();
    c.bench_function("header/encode", |b| b.iter(|| black_box(black_box(&h).encode())));
    c.bench_function("header/decode", |b| {
        b.iter(|| Header::decode(black_box(&bytes)).unwrap())
    });
}

fn snapshot_items(n: u32) -> Vec<(u32, String, String)> {
    (0..n)
        .map(|i| {
            let name = format!("system.slice/service-{i:04}.service");
            let path = format!("/sys/fs/cgroup/{name}");
            (i.wrapping_mul(2_654_435_761), name, path)
        })
        .collect()
}

fn snapshot(c: &mut Criterion) {
    let items = snapshot_items(1000);
    let mut out = Vec::new();
    let mut g = c.benchmark_group("snapshot_1000");
    g.throughput(Throughput::Elements(1000));
    g.bench_function("build", |b| {
        b.iter(|| {
            let mut bld = CgroupsBuilder::new(&mut out, usize::MAX);
            bld.set_header(1, 7);
            for (h, n, p) in &items {
                bld.add(*h, 0, 1, n.as_bytes(), p.as_bytes()).unwrap();
            }
            black_box(bld.finish())
        })
    });
    g.bench_function("build_with_capacity", |b| {
        b.iter(|| {
            let mut bld = CgroupsBuilder::with_capacity(&mut out, usize::MAX, items.len());
            bld.set_header(1, 7);
            for (h, n, p) in &items {
                bld.add(*h, 0, 1, n.as_bytes(), p.as_bytes()).unwrap();
            }
            black_box(bld.finish())
        })
    });
    let len = {
        let mut bld = CgroupsBuilder::new(&mut out, usize::MAX);
        for (h, n, p) in &items {
            bld.add(*h, 0, 1, n.as_bytes(), p.as_bytes()).unwrap();
        }
        bld.finish()
    };
    let payload = out[..len].to_vec();
    g.bench_function("decode_walk", |b| {
        b.iter(|| {
            let v = CgroupsResponseView::decode(black_box(&payload)).unwrap();
            let mut acc = 0usize;
            for it in v.iter() {
                acc += it.hash as usize + it.name.len() + it.path.len();
            }
            black_box(acc)
        })
    });
    g.finish();

    // The 16 items of the cross-process snapshot benchmark, built with the
    // directory room a server session would give them.
    let items: Vec<(u32, String, String)> = (0..16)
        .map(|i| {
            (
                1000 + i,
                format!("cgroup-{i}"),
                format!("/sys/fs/cgroup/bench/cg-{i}"),
            )
        })
        .collect();
    let mut g = c.benchmark_group("snapshot_16");
    g.throughput(Throughput::Elements(16));
    g.bench_function("build", |b| {
        b.iter(|| {
            let mut bld = CgroupsBuilder::with_capacity(&mut out, 65536, 16);
            bld.set_header(1, 7);
            for (h, n, p) in &items {
                bld.add(*h, 0, h % 2, n.as_bytes(), p.as_bytes()).unwrap();
            }
            black_box(bld.finish())
        })
    });
    g.finish();
}

fn lookup(c: &mut Criterion) {
    let paths: Vec<String> = (0..256)
        .map(|i| format!("/kubepods.slice/pod-{i:05}/container"))
        .collect();
    let labels: [LabelInput<'_>; 2] = [(b"namespace", b"default"), (b"app", b"web")];
    let mut out = Vec::new();
    let mut g = c.benchmark_group("cgroups_lookup_256");
    g.throughput(Throughput::Elements(256));
    let build = |out: &mut Vec<u8>| {
        let mut b = CgroupsLookupResponseBuilder::new(out, 9, usize::MAX);
        for p in &paths {
            b.add(&CgroupsLookupEntry::known(
                p.as_bytes(),
                Orchestrator::K8S,
                b"pod",
                &labels,
            ))
            .unwrap();
        }
        b.finish()
    };
    g.bench_function("build", |b| b.iter(|| black_box(build(&mut out))));
    let len = build(&mut out);
    let payload = out[..len].to_vec();
    g.bench_function(BenchmarkId::new("decode_walk", 256), |b| {
        b.iter(|| {
            let v = CgroupsLookupResponseView::decode(black_box(&payload)).unwrap();
            let mut acc = 0usize;
            for it in v.iter() {
                acc += it.path.len() + it.labels().count();
            }
            black_box(acc)
        })
    });
    let pids: Vec<u32> = (0..256).collect();
    let mut req = Vec::new();
    g.bench_function("apps_request_build_decode", |b| {
        b.iter(|| {
            let mut bld = AppsLookupRequestBuilder::new(&mut req, usize::MAX);
            for &p in &pids {
                bld.add(p).unwrap();
            }
            let n = bld.finish();
            black_box(
                AppsLookupRequestView::decode(&req[..n])
                    .unwrap()
                    .iter()
                    .sum::<u32>(),
            )
        })
    });
    g.finish();

    // 16 KNOWN apps items (three short strings and one label each), the
    // shape of the lookup-method benchmark.
    let mut g = c.benchmark_group("apps_lookup_16");
    g.throughput(Throughput::Elements(16));
    let label: [LabelInput<'_>; 1] = [(b"image", b"bench:latest")];
    let build_apps = |out: &mut Vec<u8>| {
        let mut b = AppsLookupResponseBuilder::new(out, 1, usize::MAX);
        for pid in 1000..1016 {
            b.add(&AppsLookupEntry {
                pid,
                status: AppsLookupStatus::Known,
                cgroup_status: CgroupStatus::Known,
                orchestrator: Orchestrator::DOCKER,
                ppid: 1,
                uid: 1000,
                starttime: 42,
                comm: b"bench",
                cgroup_path: b"/sys/fs/cgroup/bench",
                cgroup_name: b"bench-container",
                labels: &label,
            })
            .unwrap();
        }
        b.finish()
    };
    g.bench_function("response_build", |b| b.iter(|| black_box(build_apps(&mut out))));
    let len = build_apps(&mut out);
    let apps = out[..len].to_vec();
    g.bench_function("response_decode", |b| {
        b.iter(|| {
            AppsLookupResponseView::decode(black_box(&apps))
                .unwrap()
                .item_count
        })
    });
    g.finish();
}

/// A 500-item INCREMENT batch, the mean size of the batch benchmarks.
fn batch(c: &mut Criterion) {
    const N: u32 = 500;
    let mut g = c.benchmark_group("batch_500");
    g.throughput(Throughput::Elements(N as u64));
    let mut buf = Vec::new();
    let build = |buf: &mut Vec<u8>| {
        let mut b = BatchBuilder::new(buf, N, usize::MAX);
        for i in 0..N as u64 {
            b.add(&increment::encode(i)).unwrap();
        }
        b.finish().0
    };
    g.bench_function("build", |b| b.iter(|| black_box(build(&mut buf))));
    g.bench_function("build_run", |b| {
        b.iter(|| {
            let mut b = BatchBuilder::new(&mut buf, N, usize::MAX);
            let run = b.add_run(N, increment::INCREMENT_LEN).unwrap();
            for (item, v) in run.chunks_exact_mut(increment::INCREMENT_LEN).zip(0u64..) {
                item.copy_from_slice(&increment::encode(v));
            }
            black_box(b.finish().0)
        })
    });
    let len = build(&mut buf);
    g.bench_function("decode", |b| {
        b.iter(|| BatchView::decode(black_box(&buf[..len]), N).unwrap().item_count())
    });
    g.bench_function("decode_walk", |b| {
        b.iter(|| {
            let v = BatchView::decode(black_box(&buf[..len]), N).unwrap();
            v.iter().map(|i| increment::decode(i).unwrap()).sum::<u64>()
        })
    });
    g.finish();
}

criterion_group!(benches, header, batch, snapshot, lookup);
criterion_main!(benches);

//! The in-process scenarios: cache lookups and lookup method dispatch.

use netipc::protocol::lookup::{
    AppsLookupRequestBuilder, AppsLookupResponseView, CgroupsLookupRequestBuilder, CgroupsLookupResponseView,
    CgroupsLookupStatus,
};
use netipc::protocol::{CgroupsBuilder, CgroupsResponseView};
use netipc::service::ServiceHandler;
use netipc::service::cgroups::CacheSnapshot;
use netipc::service::lookup::{apps, cgroups};
use netipc_interop::bench::*;
use std::hint::black_box;
use std::time::{Duration, Instant};

pub(crate) fn lookup_bench(duration: u64) -> Result<(), String> {
    let mut payload = Vec::new();
    let mut b = CgroupsBuilder::new(&mut payload, usize::MAX);
    b.set_header(1, 1);
    let names: Vec<String> = (0..16).map(|i| format!("cgroup-{i}")).collect();
    for (i, n) in names.iter().enumerate() {
        let path = format!("/sys/fs/cgroup/bench/cg-{i}");
        b.add(1000 + i as u32, 0, (i % 2) as u32, n.as_bytes(), path.as_bytes())
            .map_err(|e| e.to_string())?;
    }
    let len = b.finish();
    let view = CgroupsResponseView::decode(&payload[..len]).map_err(|e| e.to_string())?;
    let cache = std::sync::Arc::new(CacheSnapshot::build(&view));
    let keys: Vec<(u32, &[u8])> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (1000 + i as u32, n.as_bytes()))
        .collect();
    let (mut lookups, mut hits) = (0u64, 0u64);
    let meter = Meter::start();
    let end = Instant::now() + Duration::from_secs(duration);
    while Instant::now() < end {
        // One guard per pass over the 16 items, as the reference does.
        let guard = std::sync::Arc::clone(&cache);
        for &(h, n) in &keys {
            hits += black_box(guard.lookup(h, n)).is_some() as u64;
        }
        lookups += keys.len() as u64;
    }
    let (wall, cpu) = meter.read();
    if hits != lookups {
        return Err(format!("missed {} of {lookups}", lookups - hits));
    }
    println!(
        "lookup,{DRIVER},{DRIVER},{:.0},0,0,0,{cpu:.1},0.0,{cpu:.1}",
        lookups as f64 / wall
    );
    Ok(())
}

pub(crate) fn lookup_method_bench(duration: u64, scenario: &str, rps: u64) -> Result<(), String> {
    let apps_kind = scenario.starts_with("apps-lookup-");
    if !apps_kind && !scenario.starts_with("cgroups-lookup-") {
        return Err(format!("invalid scenario {scenario}"));
    }
    let variant = ["-known-", "-unknown-", "-mixed-"]
        .iter()
        .position(|v| scenario.contains(v))
        .ok_or_else(|| format!("invalid scenario {scenario}"))?;
    let n: u32 = scenario
        .rsplit('-')
        .next()
        .and_then(|s| s.parse().ok())
        .filter(|&n| n > 0)
        .ok_or("bad item count")?;
    let known = move |i: u32| match variant {
        0 => true,
        1 => false,
        _ => i.is_multiple_of(2),
    };
    let paths: Vec<String> = (0..n)
        .map(|i| format!("/sys/fs/cgroup/bench/cg-{i:03}"))
        .collect();
    let pids: Vec<u32> = (0..n).map(|i| 1000 + i).collect();
    let cg_handler = cgroups::Handler {
        handle: Some(Box::new(move |r| {
            let labels: [(&[u8], &[u8]); 2] = [(b"namespace", b"bench"), (b"image", b"bench:latest")];
            let mut i = 0;
            while r.next_key().is_some() {
                let placed = if known(i) {
                    r.known(cgroups::Orchestrator::K8S, b"bench-pod", &labels)
                } else {
                    r.not_known(CgroupsLookupStatus::UnknownRetryLater)
                };
                if placed.is_err() {
                    return false;
                }
                i += 1;
            }
            true
        })),
    };
    let apps_handler = apps::Handler {
        handle: Some(Box::new(move |r| {
            let labels: [(&[u8], &[u8]); 1] = [(b"image", b"bench:latest")];
            let mut i = 0;
            while let Some(pid) = r.next_key() {
                let placed = if known(i) {
                    r.answer(&apps::AppsLookupEntry {
                        pid,
                        status: netipc::protocol::lookup::AppsLookupStatus::Known,
                        cgroup_status: apps::CgroupStatus::Known,
                        orchestrator: apps::Orchestrator::DOCKER,
                        ppid: 1,
                        uid: 1000,
                        starttime: 42,
                        comm: b"bench",
                        cgroup_path: b"/sys/fs/cgroup/bench",
                        cgroup_name: b"bench-container",
                        labels: &labels,
                    })
                } else {
                    r.not_known(netipc::protocol::lookup::AppsLookupStatus::Unknown)
                };
                if placed.is_err() {
                    return false;
                }
                i += 1;
            }
            true
        })),
    };
    let buf = n as usize * 256 + 4096;
    let (mut req, mut resp) = (Vec::with_capacity(buf), Vec::with_capacity(buf));
    let mut lat = Latencies::new(if rps == 0 {
        2_000_000
    } else {
        (rps * duration) as usize
    });
    let mut requests = 0u64;
    let meter = Meter::start();
    let mut clock = CallClock::new(Duration::from_secs(duration), rps);
    while let Some(t0) = clock.next_call() {
        let count = if apps_kind {
            let mut b = AppsLookupRequestBuilder::with_capacity(&mut req, buf, pids.len());
            b.add_all(&pids).map_err(|e| e.to_string())?;
            let l = b.finish();
            if apps_handler.dispatch(&req[..l], &mut resp, buf) != netipc::service::Dispatch::Done {
                return Err("dispatch failed".into());
            }
            AppsLookupResponseView::decode(&resp)
                .map_err(|e| e.to_string())?
                .item_count
        } else {
            let mut b = CgroupsLookupRequestBuilder::with_capacity(&mut req, buf, paths.len());
            for p in &paths {
                b.add(p.as_bytes()).map_err(|e| e.to_string())?;
            }
            let l = b.finish();
            if cg_handler.dispatch(&req[..l], &mut resp, buf) != netipc::service::Dispatch::Done {
                return Err("dispatch failed".into());
            }
            CgroupsLookupResponseView::decode(&resp)
                .map_err(|e| e.to_string())?
                .item_count
        };
        if count != n {
            return Err(format!("expected {n} items, got {count}"));
        }
        lat.record(clock.call_done(t0));
        requests += 1;
    }
    let (wall, cpu) = meter.read();
    let (p50, p95, p99) = lat.percentiles_us();
    println!(
        "{scenario},{DRIVER},{DRIVER},{:.0},{p50},{p95},{p99},{cpu:.1},0.0,{cpu:.1}",
        requests as f64 / wall
    );
    Ok(())
}

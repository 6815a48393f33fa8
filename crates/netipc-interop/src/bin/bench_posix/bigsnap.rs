//! Snapshots at the agent's scale: a managed server serving thousands of
//! cgroups, a consumer refreshing them into its L3 cache, and the limit to
//! compare with (one copy of the payload's bytes).
//!
//! ```text
//! bench_posix cache-refresh-<N>-server|cache-refresh-shm-<N>-server <run_dir> <service> [duration_sec]
//! bench_posix cache-refresh-<N>-client|cache-refresh-shm-<N>-client <run_dir> <service> <duration_sec> <target_rps>
//! bench_posix payload-copy <N> <duration_sec>
//! ```
//!
//! Item `i` has a 64-byte name and a 128-byte path (240 bytes on the wire
//! with its directory entry), hashed with the agent's `simple_hash`. The
//! client line carries the client's peak RSS in KiB as an eleventh field,
//! and the payload size in bytes as a twelfth.

use crate::driver::*;
use netipc::protocol::{CgroupsBuilder, simple_hash};
use netipc::service::ServerConfig;
use netipc::service::cgroups::{CgroupsCache, ClientConfig};
use netipc_interop::bench::*;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// A big-snapshot scenario's parameters, parsed from its name.
pub(crate) struct Big {
    pub(crate) shm: bool,
    pub(crate) items: u32,
}

impl Big {
    /// `cache-refresh-<N>` or `cache-refresh-shm-<N>`.
    pub(crate) fn parse(scenario: &str) -> Option<Self> {
        let rest = scenario.strip_prefix("cache-refresh-")?;
        let (shm, n) = match rest.strip_prefix("shm-") {
            Some(n) => (true, n),
            None => (false, rest),
        };
        let items = n.parse().ok().filter(|&n: &u32| (1..=1_000_000).contains(&n))?;
        Some(Self { shm, items })
    }

    fn name(&self) -> String {
        if self.shm {
            format!("cache-refresh-shm-{}", self.items)
        } else {
            format!("cache-refresh-{}", self.items)
        }
    }
}

/// `(hash, name, path)` of item `i`: a 64-byte name, a 128-byte path.
fn item(i: u32) -> (u32, String, String) {
    let name = format!("{:0>64}", format!("pod-{i}"));
    let path = format!("/sys/fs/cgroup/kubepods.slice/{name:0>98}");
    (simple_hash(name.as_bytes()), name, path)
}

/// Payload bytes of a snapshot of `n` such items.
fn payload_len(n: u32) -> usize {
    let items: Vec<_> = (0..n).map(item).collect();
    let mut buf = Vec::new();
    encode(&items, 1, &mut buf)
}

fn encode(items: &[(u32, String, String)], generation: u64, buf: &mut Vec<u8>) -> usize {
    let mut b = CgroupsBuilder::with_capacity(buf, usize::MAX, items.len());
    b.set_header(1, generation);
    for (h, n, p) in items {
        // Names and paths hold no NUL: the add cannot fail.
        let _ = b.add(*h, 0, 1, n.as_bytes(), p.as_bytes());
    }
    b.finish()
}

/// The managed server of the scenario: it builds the snapshot on every
/// call, the generation counting calls, as a provider would from its own
/// table. Sessions are offered room for the whole snapshot from the start.
pub(crate) fn server(big: &Big, dir: &str, svc: &str) -> netipc::service::cgroups::ManagedServer {
    let items: Vec<_> = (0..big.items).map(item).collect();
    let room = (payload_len(big.items) as u32).next_power_of_two();
    let generation = std::sync::atomic::AtomicU64::new(0);
    let handler = netipc::service::cgroups::Handler {
        handle: Some(Box::new(move |_, b| {
            let g = generation.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            b.set_header(1, g);
            items
                .iter()
                .all(|(h, n, p)| b.add(*h, 0, 1, n.as_bytes(), p.as_bytes()).is_ok())
        })),
    };
    let config = ServerConfig {
        supported_profiles: profiles(big.shm),
        preferred_profiles: profiles(big.shm),
        max_request_payload_bytes: REQUEST_BUF,
        max_response_payload_bytes: room,
        auth_token: AUTH_TOKEN,
        backlog: 4,
        ..ServerConfig::default()
    };
    netipc::service::cgroups::ManagedServer::new(dir, svc, config, handler)
}

/// Refreshes an L3 cache from the server in a loop; each refresh must
/// bring all `N` items and a new generation, and a lookup by hash and name
/// of one item (a different one each time) must find it.
pub(crate) fn client(big: &Big, dir: &str, svc: &str, duration: Duration, rps: u64) -> Result<(), String> {
    let cfg = ClientConfig {
        supported_profiles: profiles(big.shm),
        preferred_profiles: profiles(big.shm),
        max_request_payload_bytes: REQUEST_BUF,
        auth_token: AUTH_TOKEN,
        ..ClientConfig::default()
    };
    let mut cache = CgroupsCache::new(dir, svc, cfg);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cache.refresh() {
        if Instant::now() >= deadline {
            return Err(format!("no first refresh: {:?}", cache.last_error()));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    if big.shm && !cache.status().shm {
        return Err("the server did not select SHM".into());
    }
    let keys: Vec<(u32, String)> = (0..big.items.min(1024))
        .map(|i| {
            let (h, n, _) = item(i * (big.items / big.items.min(1024)));
            (h, n)
        })
        .collect();
    let mut lat = Latencies::new(1_000_000);
    let mut refreshes = 0u64;
    let mut generation = cache.status().generation;
    let meter = Meter::start();
    let mut clock = CallClock::new(duration, rps);
    while let Some(t0) = clock.next_call() {
        if !cache.refresh() {
            return Err(format!("refresh failed: {:?}", cache.last_error()));
        }
        lat.record(clock.call_done(t0));
        let status = cache.status();
        if status.item_count != big.items as usize || status.generation == generation {
            return Err(format!(
                "expected {} items of a new generation, got {} of generation {}",
                big.items, status.item_count, status.generation
            ));
        }
        generation = status.generation;
        let (h, n) = &keys[refreshes as usize % keys.len()];
        if cache.lookup(*h, n).is_none() {
            return Err(format!("{n} is missing"));
        }
        refreshes += 1;
    }
    let (wall, cpu) = meter.read();
    let (p50, p95, p99) = lat.percentiles_us();
    let server = std::env::var("BENCH_SERVER").unwrap_or_else(|_| "-".into());
    println!(
        "{},{DRIVER},{server},{:.0},{p50},{p95},{p99},{cpu:.1},0.0,{cpu:.1},{},{}",
        big.name(),
        refreshes as f64 / wall,
        peak_rss_kib(),
        payload_len(big.items),
    );
    Ok(())
}

/// The limit a refresh is compared with: copying the payload of `N` items
/// once, from one warm buffer into another, as fast as `memcpy` goes.
/// Prints the scenario's line with copies per second, the `memcpy` pair.
pub(crate) fn payload_copy(items: u32, duration: u64) -> Result<(), String> {
    let n = payload_len(items);
    let src: Vec<u8> = (0..n).map(|i| i as u8).collect();
    let mut dst = vec![0u8; n];
    let mut lat = Latencies::new(1_000_000);
    let mut copies = 0u64;
    let meter = Meter::start();
    let mut clock = CallClock::new(Duration::from_secs(duration), 0);
    while let Some(t0) = clock.next_call() {
        dst.copy_from_slice(black_box(&src));
        black_box(&mut dst);
        lat.record(clock.call_done(t0));
        copies += 1;
    }
    let (wall, cpu) = meter.read();
    let (p50, p95, p99) = lat.percentiles_us();
    println!(
        "payload-copy-{items},memcpy,memcpy,{:.0},{p50},{p95},{p99},{cpu:.1},0.0,{cpu:.1},{},{n}",
        copies as f64 / wall,
        peak_rss_kib(),
    );
    Ok(())
}

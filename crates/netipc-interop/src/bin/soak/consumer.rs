//! A consumer: one client (or cache) of one service kind, over shared
//! memory or the socket, refreshed every [`PERIOD`], making a burst of
//! calls each period and checking every answer against its own request.
//! Each period it prints one line for the supervisor:
//!
//! ```text
//! S ready=1 served=1 calls=1234 failed=3 fds=9 rss=2100 shm=1
//! ```
//!
//! and `V <what>` for a violation of the soak's checks (a wrong answer, a
//! cache that emptied). It stops when its standard input closes.

use crate::fixture::*;
use crate::proc_stats::{fds, rss_kib, stop_on_stdin_eof};
use netipc::protocol::{PROFILE_BASELINE, PROFILE_SHM_HYBRID};
use netipc::service::cgroups::{CgroupsCache, CgroupsClient};
use netipc::service::lookup::{apps, cgroups as lookup};
use netipc::service::{ClientConfig, ClientStatus, increment, string_reverse};
use std::io::Write;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How often a consumer refreshes its client.
pub const PERIOD: Duration = Duration::from_millis(100);
/// Calls per period while the provider serves.
const BURST: u32 = 12;

/// The kinds of consumer, by id (16 of them): caches, snapshot clients,
/// lookup clients, single and batched test calls; even ids over shared
/// memory, odd ones over the socket.
pub const KINDS: [&str; 16] = [
    "cache",
    "cache",
    "cache",
    "cache",
    "snapshot",
    "snapshot",
    "cgroups-lookup",
    "cgroups-lookup",
    "apps-lookup",
    "apps-lookup",
    "increment",
    "increment",
    "increment-batch",
    "reverse",
    "reverse",
    "reverse-batch",
];

fn config(shm: bool) -> ClientConfig {
    let profiles = if shm {
        PROFILE_BASELINE | PROFILE_SHM_HYBRID
    } else {
        PROFILE_BASELINE
    };
    ClientConfig {
        supported_profiles: profiles,
        preferred_profiles: profiles,
        max_request_payload_bytes: 8192,
        max_request_batch_items: 64,
        max_response_payload_bytes: 65536,
        max_response_batch_items: 64,
        auth_token: TOKEN,
        call_timeout: Duration::from_secs(5),
        ..ClientConfig::default()
    }
}

/// One consumer's client, whatever its kind.
enum Client {
    Cache(Box<CgroupsCache>),
    Snapshot(CgroupsClient),
    CgroupsLookup(lookup::CgroupsLookupClient),
    AppsLookup(apps::AppsLookupClient),
    Increment(increment::IncrementClient, bool),
    Reverse(string_reverse::StringReverseClient, bool),
}

/// What one call did: served (and checked), failed (the provider is away,
/// say), or answered wrongly (a violation, described).
enum Outcome {
    Served,
    Failed,
    Wrong(String),
}

/// The state of one consumer between calls.
struct Consumer {
    id: u32,
    client: Client,
    seq: u64,
    /// Whether the cache ever loaded a snapshot.
    populated: bool,
}

/// Checks one snapshot item against the fixture of its generation.
fn check_item(generation: u64, i: u32, hash_: u32, name: &[u8], path: &[u8]) -> Result<(), String> {
    let (want_name, want_path) = snapshot_item(generation, i);
    if name != want_name.as_bytes() || path != want_path.as_bytes() || hash_ != hash(&want_name) {
        return Err(format!(
            "snapshot item {i} of generation {generation} is {:?} {:?} (hash {hash_:#x})",
            String::from_utf8_lossy(name),
            String::from_utf8_lossy(path)
        ));
    }
    Ok(())
}

impl Consumer {
    fn new(kind: &str, id: u32, run_dir: &str) -> Option<Self> {
        let shm = id.is_multiple_of(2);
        let c = config(shm);
        let client = match kind {
            "cache" => Client::Cache(Box::new(CgroupsCache::new(run_dir, SNAPSHOT, c))),
            "snapshot" => Client::Snapshot(CgroupsClient::new(run_dir, SNAPSHOT, c)),
            "cgroups-lookup" => {
                Client::CgroupsLookup(lookup::CgroupsLookupClient::new(run_dir, CGROUPS_LOOKUP, c))
            }
            "apps-lookup" => Client::AppsLookup(apps::AppsLookupClient::new(run_dir, APPS_LOOKUP, c)),
            "increment" | "increment-batch" => Client::Increment(
                increment::IncrementClient::new(run_dir, INCREMENT, c),
                kind.ends_with("batch"),
            ),
            "reverse" | "reverse-batch" => Client::Reverse(
                string_reverse::StringReverseClient::new(run_dir, REVERSE, c),
                kind.ends_with("batch"),
            ),
            _ => return None,
        };
        Some(Self {
            id,
            client,
            seq: 0,
            populated: false,
        })
    }

    /// A number no other call of any consumer uses.
    fn unique(&mut self) -> u64 {
        self.seq += 1;
        (u64::from(self.id) << 48) | self.seq
    }

    fn refresh(&mut self) {
        match &mut self.client {
            // The cache refreshes in its call.
            Client::Cache(_) => {}
            Client::Snapshot(c) => {
                c.refresh();
            }
            Client::CgroupsLookup(c) => {
                c.refresh();
            }
            Client::AppsLookup(c) => {
                c.refresh();
            }
            Client::Increment(c, _) => {
                c.refresh();
            }
            Client::Reverse(c, _) => {
                c.refresh();
            }
        }
    }

    fn status(&self) -> (bool, bool) {
        let of = |s: ClientStatus| (s.state == netipc::service::ClientState::Ready, s.shm);
        match &self.client {
            Client::Cache(c) => {
                let s = c.status();
                (s.state == netipc::service::ClientState::Ready, s.shm)
            }
            Client::Snapshot(c) => of(c.status()),
            Client::CgroupsLookup(c) => of(c.status()),
            Client::AppsLookup(c) => of(c.status()),
            Client::Increment(c, _) => of(c.status()),
            Client::Reverse(c, _) => of(c.status()),
        }
    }

    /// One call, checked.
    fn call(&mut self) -> Outcome {
        let key = self.unique();
        let seq = self.seq;
        let id = self.id;
        match &mut self.client {
            Client::Cache(cache) => {
                let updated = cache.refresh();
                if updated {
                    self.populated = true;
                }
                if self.populated && cache.is_empty() {
                    return Outcome::Wrong("a cache that once loaded is empty".into());
                }
                let snap = cache.snapshot();
                if self.populated {
                    let g = snap.generation();
                    if snap.len() != snapshot_len(g) as usize {
                        return Outcome::Wrong(format!("cache of generation {g} holds {} items", snap.len()));
                    }
                    for (i, it) in snap.items().enumerate() {
                        if let Err(e) =
                            check_item(g, i as u32, it.hash, it.name.as_bytes(), it.path.as_bytes())
                        {
                            return Outcome::Wrong(format!("cache: {e}"));
                        }
                    }
                    let (name, _) = snapshot_item(g, 0);
                    if cache.lookup(hash(&name), &name).is_none() {
                        return Outcome::Wrong(format!("cache: {name} not found"));
                    }
                }
                if updated { Outcome::Served } else { Outcome::Failed }
            }
            Client::Snapshot(c) => match c.call_snapshot() {
                Ok(v) => {
                    if v.item_count != snapshot_len(v.generation) {
                        return Outcome::Wrong(format!(
                            "snapshot of generation {} has {} items",
                            v.generation, v.item_count
                        ));
                    }
                    for (i, it) in v.iter().enumerate() {
                        if let Err(e) = check_item(
                            v.generation,
                            i as u32,
                            it.hash,
                            it.name.as_bytes(),
                            it.path.as_bytes(),
                        ) {
                            return Outcome::Wrong(e);
                        }
                    }
                    Outcome::Served
                }
                Err(_) => Outcome::Failed,
            },
            Client::CgroupsLookup(c) => {
                let n = 1 + (seq % 9) as usize;
                let paths: Vec<String> = (0..n).map(|i| format!("/soak/{key:x}/{i}")).collect();
                match c.call(&paths) {
                    Ok(v) => {
                        if v.item_count as usize != n {
                            return Outcome::Wrong(format!("{} lookup answers for {n} paths", v.item_count));
                        }
                        for (i, it) in v.iter().enumerate() {
                            if it.path.as_bytes() != paths[i].as_bytes()
                                || it.name.as_bytes() != lookup_name(paths[i].as_bytes())
                            {
                                return Outcome::Wrong(format!(
                                    "lookup of {} answered {:?} {:?}",
                                    paths[i], it.path, it.name
                                ));
                            }
                        }
                        Outcome::Served
                    }
                    Err(_) => Outcome::Failed,
                }
            }
            Client::AppsLookup(c) => {
                let n = 1 + (seq % 9) as u32;
                let base = (id * 1_000_000) + ((seq as u32).wrapping_mul(16) % 900_000);
                let pids: Vec<u32> = (0..n).map(|i| base + i).collect();
                match c.call(&pids) {
                    Ok(v) => {
                        if v.item_count != n {
                            return Outcome::Wrong(format!("{} apps answers for {n} pids", v.item_count));
                        }
                        for (i, it) in v.iter().enumerate() {
                            let (uid, start) = app_of(pids[i]);
                            if it.pid != pids[i] || it.uid != uid || it.starttime != start {
                                return Outcome::Wrong(format!(
                                    "apps lookup of pid {} answered {it:?}",
                                    pids[i]
                                ));
                            }
                        }
                        Outcome::Served
                    }
                    Err(_) => Outcome::Failed,
                }
            }
            Client::Increment(c, false) => match c.call(key) {
                Ok(v) if v == key + 1 => Outcome::Served,
                Ok(v) => Outcome::Wrong(format!("increment of {key:#x} answered {v:#x}")),
                Err(_) => Outcome::Failed,
            },
            Client::Increment(c, true) => {
                let values: Vec<u64> = (0..8).map(|i| key * 8 + i).collect();
                match c.call_batch(&values) {
                    Ok(answers)
                        if answers.iter().zip(&values).all(|(a, v)| *a == v + 1) && answers.len() == 8 =>
                    {
                        Outcome::Served
                    }
                    Ok(answers) => {
                        Outcome::Wrong(format!("batch increment of {values:?} answered {answers:?}"))
                    }
                    Err(_) => Outcome::Failed,
                }
            }
            Client::Reverse(c, false) => {
                let s = format!("c{id}-{seq}-{}", "x".repeat((seq % 200) as usize));
                match c.call(s.as_bytes()) {
                    Ok(v) => {
                        let want: Vec<u8> = s.bytes().rev().collect();
                        if v.as_bytes() == want.as_slice() {
                            Outcome::Served
                        } else {
                            Outcome::Wrong(format!("reverse of {s:?} answered {v:?}"))
                        }
                    }
                    Err(_) => Outcome::Failed,
                }
            }
            Client::Reverse(c, true) => {
                let items: Vec<String> = (0..4).map(|i| format!("b{id}-{seq}-{i}")).collect();
                let refs: Vec<&[u8]> = items.iter().map(|s| s.as_bytes()).collect();
                match c.call_batch(&refs) {
                    Ok(answers) => {
                        let ok = answers.len() == items.len()
                            && answers
                                .iter()
                                .zip(&items)
                                .all(|(a, s)| a.iter().copied().eq(s.bytes().rev()));
                        if ok {
                            Outcome::Served
                        } else {
                            Outcome::Wrong(format!("batch reverse of {items:?} answered {answers:?}"))
                        }
                    }
                    Err(_) => Outcome::Failed,
                }
            }
        }
    }
}

pub fn run(kind: &str, id: u32, run_dir: &str) -> i32 {
    let Some(mut consumer) = Consumer::new(kind, id, run_dir) else {
        eprintln!("soak consumer: unknown kind {kind}");
        return 2;
    };
    let stop = stop_on_stdin_eof();
    let mut out = std::io::stdout().lock();
    let (mut calls, mut failed, mut violations) = (0u64, 0u64, 0u64);
    while !stop.load(Ordering::Acquire) {
        let start = Instant::now();
        consumer.refresh();
        let mut served = false;
        for _ in 0..BURST {
            match consumer.call() {
                Outcome::Served => {
                    calls += 1;
                    served = true;
                }
                Outcome::Failed => {
                    failed += 1;
                    break;
                }
                Outcome::Wrong(what) => {
                    violations += 1;
                    let _ = writeln!(out, "V {kind} {id}: {what}");
                    break;
                }
            }
            // Only the cache needs no connection to be checked: the
            // others stop when not connected.
            if !matches!(consumer.client, Client::Cache(_)) && !consumer.status().0 {
                break;
            }
        }
        let (ready, shm) = consumer.status();
        let _ = writeln!(
            out,
            "S ready={} served={} calls={calls} failed={failed} fds={} rss={} shm={}",
            u8::from(ready),
            u8::from(served),
            fds(),
            rss_kib(),
            u8::from(shm && ready)
        );
        let _ = out.flush();
        if let Some(left) = PERIOD.checked_sub(start.elapsed()) {
            std::thread::sleep(left);
        }
    }
    i32::from(violations > 0)
}

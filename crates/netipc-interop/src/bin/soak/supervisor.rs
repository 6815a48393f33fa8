//! The supervisor: starts the provider and the consumers (this program
//! again), injects the faults, reads what the children report, checks the
//! soak's invariants and prints the report.

use crate::consumer::{KINDS, PERIOD};
use crate::fixture::SERVICES;
use crate::proc_stats::fds;
use crate::space::{self, Space};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How much longer than its refresh period a consumer may take to be
/// served again after a fault: room for a loaded machine (and a debug
/// build) to schedule the provider's start and the reconnects.
const GRACE: Duration = Duration::from_secs(1);
/// How long a restarted consumer may take to start (exec and set-up).
const STARTUP: Duration = Duration::from_secs(2);
/// How long the provider may take to settle (end its killed sessions,
/// remove their regions) after everyone is served again.
const SETTLE: Duration = Duration::from_secs(5);
/// Memory a consumer may gain over its baseline, in KiB.
const CONSUMER_RSS_SLACK: u64 = 16 * 1024;
/// Memory the provider may gain over its baseline, in KiB.
const PROVIDER_RSS_SLACK: u64 = 48 * 1024;
/// Consumers that are never killed (the others may be): their baseline
/// spans the whole soak.
const STABLE: [u32; 8] = [0, 3, 4, 7, 8, 11, 12, 15];

/// Who printed a line: the provider or a consumer, with its incarnation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Who {
    Provider(u32),
    Consumer(u32, u32),
}

/// A line from a child, with the time it arrived.
struct Line {
    who: Who,
    text: String,
    at: Instant,
}

/// A child process and the end of its standard input that stops it.
struct Proc {
    child: Child,
    stdin: Option<ChildStdin>,
    reader: Option<JoinHandle<()>>,
}

impl Proc {
    fn spawn(args: &[&str], who: Who, log: &File, tx: &Sender<Line>) -> Self {
        let exe = std::env::current_exe().expect("the soak's own path");
        let mut child = Command::new(exe)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log.try_clone().map_or(Stdio::null(), Stdio::from))
            .spawn()
            .expect("start a child of the soak");
        let stdin = child.stdin.take();
        let out = child.stdout.take().expect("a piped stdout");
        let tx = tx.clone();
        let reader = std::thread::spawn(move || {
            for text in BufReader::new(out).lines() {
                let Ok(text) = text else { break };
                if tx
                    .send(Line {
                        who,
                        text,
                        at: Instant::now(),
                    })
                    .is_err()
                {
                    break;
                }
            }
        });
        Self {
            child,
            stdin,
            reader: Some(reader),
        }
    }

    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stdin = None;
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }

    /// Closes its standard input and waits (at most `limit`) for it to exit;
    /// returns whether it exited with status 0.
    fn stop(mut self, limit: Duration) -> Result<(), String> {
        self.stdin = None;
        let deadline = Instant::now() + limit;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(s)) => break s,
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return Err(format!("did not exit within {limit:?} of being asked"));
                }
            }
        };
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        if status.success() {
            Ok(())
        } else {
            Err(format!("exited with {status}"))
        }
    }
}

/// What the soak knows of one consumer.
#[derive(Default)]
struct ConsumerState {
    incarnation: u32,
    started: Option<Instant>,
    /// Descriptors less the region's, when connected: the baseline of
    /// this incarnation.
    base_fds: Option<i64>,
    reports: u64,
    base_rss: Option<u64>,
    rss_growth: u64,
    /// Calls of the killed incarnations, and of this one so far.
    calls_before: u64,
    calls: u64,
    failed_before: u64,
    failed: u64,
    last_served: Option<Instant>,
    ready: bool,
    shm: bool,
}

/// The provider's last report.
#[derive(Default, Clone)]
struct ProviderStat {
    fds: i64,
    rss: u64,
    open: i64,
    open_shm: i64,
    socks: i64,
    regions: i64,
    other: i64,
    at: Option<Instant>,
}

/// The values of `key=value` words of a report line.
fn fields(text: &str) -> HashMap<&str, i64> {
    text.split_whitespace()
        .filter_map(|w| w.split_once('='))
        .filter_map(|(k, v)| v.parse().ok().map(|v| (k, v)))
        .collect()
}

/// A small random source (xorshift), seeded for a repeatable schedule.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.below(hi - lo + 1))
    }
}

struct Soak {
    space: Space,
    rx: Receiver<Line>,
    tx: Sender<Line>,
    provider_log: File,
    consumer_log: File,
    provider: Option<Proc>,
    provider_incarnation: u32,
    provider_ready: Option<(Instant, i64)>,
    provider_base_fds: i64,
    provider_stat: ProviderStat,
    provider_base_rss: Option<u64>,
    provider_rss_growth: u64,
    consumers: Vec<Option<Proc>>,
    state: Vec<ConsumerState>,
    violations: Vec<String>,
    wrong_answers: u64,
    fd_checks: u64,
    settle_checks: u64,
    recoveries: Vec<Duration>,
    provider_kills: u32,
    fill_faults: u32,
    consumer_kills: u32,
    fallbacks_seen: u32,
}

impl Soak {
    fn violation(&mut self, what: String) {
        eprintln!("soak: VIOLATION: {what}");
        self.violations.push(what);
    }

    fn start_provider(&mut self) {
        self.provider_incarnation += 1;
        self.provider_ready = None;
        self.provider_stat = ProviderStat::default();
        self.provider_base_rss = None;
        let run_dir = self.space.run_dir.to_str().expect("a UTF-8 run dir").to_string();
        self.provider = Some(Proc::spawn(
            &["provider", &run_dir],
            Who::Provider(self.provider_incarnation),
            &self.provider_log,
            &self.tx,
        ));
    }

    /// Starts the provider and waits for its READY; the time it came.
    fn restart_provider(&mut self) -> Option<Instant> {
        self.start_provider();
        let deadline = Instant::now() + Duration::from_secs(20);
        self.pump_until(deadline, |s| s.provider_ready.is_some());
        match self.provider_ready {
            Some((at, _)) => Some(at),
            None => {
                self.violation("the provider did not start within 20 s (see provider.log)".into());
                None
            }
        }
    }

    fn start_consumer(&mut self, id: u32) {
        let st = &mut self.state[id as usize];
        st.incarnation += 1;
        st.started = Some(Instant::now());
        st.base_fds = None;
        st.base_rss = None;
        st.reports = 0;
        st.calls_before += st.calls;
        st.failed_before += st.failed;
        st.calls = 0;
        st.failed = 0;
        st.last_served = None;
        let who = Who::Consumer(id, st.incarnation);
        let run_dir = self.space.run_dir.to_str().expect("a UTF-8 run dir").to_string();
        let id_text = id.to_string();
        self.consumers[id as usize] = Some(Proc::spawn(
            &["consumer", KINDS[id as usize], &id_text, &run_dir],
            who,
            &self.consumer_log,
            &self.tx,
        ));
    }

    fn handle(&mut self, line: Line) {
        match line.who {
            Who::Provider(n) if n == self.provider_incarnation => {
                let f = fields(&line.text);
                if line.text.starts_with("READY") {
                    let fds = f.get("fds").copied().unwrap_or(0);
                    self.provider_ready = Some((line.at, fds));
                } else if line.text.starts_with("STAT") {
                    let g = |k: &str| f.get(k).copied().unwrap_or(-1);
                    self.provider_stat = ProviderStat {
                        fds: g("fds"),
                        rss: g("rss").max(0) as u64,
                        open: g("open"),
                        open_shm: g("open_shm"),
                        socks: g("socks"),
                        regions: g("regions"),
                        other: g("other"),
                        at: Some(line.at),
                    };
                    if let Some(base) = self.provider_base_rss {
                        let growth = self.provider_stat.rss.saturating_sub(base);
                        self.provider_rss_growth = self.provider_rss_growth.max(growth);
                        if growth > PROVIDER_RSS_SLACK {
                            let what = format!(
                                "the provider's memory grew by {growth} KiB over its baseline of {base} KiB"
                            );
                            self.violation(what);
                            self.provider_base_rss = None;
                        }
                    }
                }
            }
            Who::Provider(_) => {}
            Who::Consumer(id, n) if n == self.state[id as usize].incarnation => {
                if let Some(what) = line.text.strip_prefix("V ") {
                    self.wrong_answers += 1;
                    self.violation(what.to_string());
                    return;
                }
                if !line.text.starts_with("S ") {
                    return;
                }
                let f = fields(&line.text);
                let g = |k: &str| f.get(k).copied().unwrap_or(0);
                let mut problems = Vec::new();
                {
                    let st = &mut self.state[id as usize];
                    st.reports += 1;
                    st.calls = g("calls") as u64;
                    st.failed = g("failed") as u64;
                    st.ready = g("ready") == 1;
                    st.shm = g("shm") == 1;
                    if g("served") == 1 {
                        st.last_served = Some(line.at);
                    }
                    if st.ready {
                        let held = g("fds") - g("shm");
                        match st.base_fds {
                            None => st.base_fds = Some(held),
                            Some(base) if base != held => problems.push(format!(
                                "consumer {id} ({}) holds {} descriptors connected (shm {}), its baseline is {} (+1 with a region)",
                                KINDS[id as usize],
                                g("fds"),
                                g("shm"),
                                base
                            )),
                            Some(_) => {}
                        }
                    }
                    let rss = g("rss").max(0) as u64;
                    if st.reports == 30 {
                        st.base_rss = Some(rss);
                    }
                    if let Some(base) = st.base_rss {
                        let growth = rss.saturating_sub(base);
                        st.rss_growth = st.rss_growth.max(growth);
                        if growth > CONSUMER_RSS_SLACK {
                            problems.push(format!(
                                "consumer {id} ({}) grew by {growth} KiB over its baseline of {base} KiB",
                                KINDS[id as usize]
                            ));
                            st.base_rss = None;
                        }
                    }
                }
                if g("ready") == 1 {
                    self.fd_checks += 1;
                }
                for p in problems {
                    self.violation(p);
                }
            }
            Who::Consumer(..) => {}
        }
    }

    /// Handles lines until `cond` holds or `deadline` passes; whether it held.
    fn pump_until(&mut self, deadline: Instant, mut cond: impl FnMut(&Self) -> bool) -> bool {
        loop {
            if cond(self) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            if let Ok(line) = self.rx.recv_timeout(left.min(Duration::from_millis(50))) {
                self.handle(line);
                while let Ok(line) = self.rx.try_recv() {
                    self.handle(line);
                }
            }
        }
    }

    fn pump_for(&mut self, d: Duration) {
        self.pump_until(Instant::now() + d, |_| false);
    }

    /// Waits until each of `ids` has been served after `since`, within
    /// `limit`; records each delay, and a violation for each not served.
    fn expect_served(&mut self, ids: &[u32], since: Instant, limit: Duration, fault: &str) {
        let deadline = since + limit;
        let served = |s: &Self, id: u32| s.state[id as usize].last_served.is_some_and(|t| t >= since);
        self.pump_until(deadline.max(Instant::now()), |s| {
            ids.iter().all(|&id| served(s, id))
        });
        for &id in ids {
            match self.state[id as usize].last_served {
                Some(t) if t >= since && t <= deadline => self.recoveries.push(t - since),
                _ => {
                    let what = format!(
                        "consumer {id} ({}) was not served within {limit:?} after {fault}",
                        KINDS[id as usize]
                    );
                    self.violation(what);
                }
            }
        }
    }

    /// Waits until the provider's report shows it settled: one descriptor
    /// per session and one per region over its baseline, one region file
    /// per shared-memory session, one socket per service, nothing else.
    fn expect_settled(&mut self, after: &str) {
        let base = self.provider_base_fds;
        let since = Instant::now();
        let settled = |s: &Self| {
            let p = &s.provider_stat;
            p.at.is_some_and(|t| t >= since)
                && p.fds == base + p.open + p.open_shm
                && p.regions == p.open_shm
                && p.socks == SERVICES.len() as i64
                && p.other == 0
        };
        if self.pump_until(since + SETTLE, settled) {
            self.settle_checks += 1;
            if self.provider_base_rss.is_none() {
                self.provider_base_rss = Some(self.provider_stat.rss);
            }
        } else {
            let p = self.provider_stat.clone();
            let what = format!(
                "after {after} the provider did not settle within {SETTLE:?}: {} descriptors for {} sessions \
                 ({} over shared memory) over a baseline of {base}; run dir: {} sockets, {} regions, {} others",
                p.fds, p.open, p.open_shm, p.socks, p.regions, p.other
            );
            self.violation(what);
        }
    }

    fn kill_provider(&mut self, rng: &mut Rng, fault: &str) {
        if let Some(p) = self.provider.take() {
            p.kill();
        }
        self.provider_kills += 1;
        self.pump_for(rng.millis(0, 300));
        let Some(ready) = self.restart_provider() else {
            return;
        };
        let all: Vec<u32> = (0..KINDS.len() as u32).collect();
        self.expect_served(&all, ready, PERIOD + GRACE, fault);
    }
}

pub fn run(seconds: u64, seed: Option<u64>) -> i32 {
    let space = space::prepare();
    let seed = seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            | 1
    });
    let mut rng = Rng(seed);
    let open_log = |name: &str| {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(space.base.join(name))
            .expect("a log file of the soak")
    };
    let (provider_log, consumer_log) = (open_log("provider.log"), open_log("consumers.log"));
    let fds_at_start = fds();
    println!(
        "soak: {seconds} s, seed {seed}, run dir {} ({})",
        space.run_dir.display(),
        match &space.no_fill {
            None => "a small tmpfs that the soak fills".to_string(),
            Some(why) => format!("the filesystem is not filled: {why}"),
        }
    );
    let (tx, rx) = channel();
    let mut soak = Soak {
        space,
        rx,
        tx,
        provider_log,
        consumer_log,
        provider: None,
        provider_incarnation: 0,
        provider_ready: None,
        provider_base_fds: 0,
        provider_stat: ProviderStat::default(),
        provider_base_rss: None,
        provider_rss_growth: 0,
        consumers: (0..KINDS.len()).map(|_| None).collect(),
        state: (0..KINDS.len()).map(|_| ConsumerState::default()).collect(),
        violations: Vec::new(),
        wrong_answers: 0,
        fd_checks: 0,
        settle_checks: 0,
        recoveries: Vec::new(),
        provider_kills: 0,
        fill_faults: 0,
        consumer_kills: 0,
        fallbacks_seen: 0,
    };
    let began = Instant::now();
    let end = began + Duration::from_secs(seconds);
    // The first provider starts before any consumer: its descriptors at
    // READY are the baseline of every incarnation (the same code binds
    // the same endpoints).
    if soak.restart_provider().is_none() {
        return finish(soak, fds_at_start, began, seed);
    }
    soak.provider_base_fds = soak.provider_ready.map_or(0, |(_, fds)| fds);
    let start = Instant::now();
    for id in 0..KINDS.len() as u32 {
        soak.start_consumer(id);
    }
    let all: Vec<u32> = (0..KINDS.len() as u32).collect();
    soak.expect_served(&all, start, STARTUP + PERIOD + GRACE, "their start");
    soak.expect_settled("the start");
    let killable: Vec<u32> = (0..KINDS.len() as u32)
        .filter(|id| !STABLE.contains(id))
        .collect();
    while Instant::now() + Duration::from_secs(3) < end && soak.violations.len() < 50 {
        soak.pump_for(rng.millis(200, 1500));
        let roll = rng.below(100);
        if roll < 15 && soak.space.filler.is_some() {
            // Fill the filesystem, so that no region can be allocated,
            // and make everyone reconnect: every session falls back to
            // the socket, and is served there.
            soak.fill_faults += 1;
            let full = soak.space.keep_full();
            soak.kill_provider(&mut rng, "a restart with the filesystem full");
            let on_socket = (0..KINDS.len())
                .filter(|&id| id.is_multiple_of(2) && soak.state[id].ready && !soak.state[id].shm)
                .count();
            soak.fallbacks_seen += on_socket as u32;
            soak.expect_settled("a restart with the filesystem full");
            drop(full);
            soak.space.unfill();
        } else if roll < 60 {
            soak.kill_provider(&mut rng, "the provider's restart");
            soak.expect_settled("the provider's restart");
        } else {
            let id = killable[rng.below(killable.len() as u64) as usize];
            if let Some(p) = soak.consumers[id as usize].take() {
                p.kill();
            }
            soak.consumer_kills += 1;
            soak.start_consumer(id);
            let started = soak.state[id as usize].started.unwrap_or_else(Instant::now);
            soak.expect_served(&[id], started, STARTUP + PERIOD + GRACE, "its restart");
            soak.expect_settled("a consumer's restart");
        }
    }
    finish(soak, fds_at_start, began, seed)
}

/// Stops everyone, checks the end state, prints the report; the exit code.
fn finish(mut soak: Soak, fds_at_start: usize, began: Instant, seed: u64) -> i32 {
    soak.space.unfill();
    soak.pump_for(Duration::from_millis(300));
    for (id, kind) in KINDS.iter().enumerate() {
        if let Some(p) = soak.consumers[id].take()
            && let Err(e) = p.stop(Duration::from_secs(10))
        {
            soak.violation(format!("consumer {id} ({kind}) at the end: {e}"));
        }
    }
    // With no consumer left, the provider is back to its baseline and the
    // run dir holds its sockets only.
    let base = soak.provider_base_fds;
    let since = Instant::now();
    let quiet = |s: &Soak| {
        let p = &s.provider_stat;
        p.at.is_some_and(|t| t >= since)
            && p.open == 0
            && p.fds == base
            && p.regions == 0
            && p.other == 0
            && p.socks == SERVICES.len() as i64
    };
    if soak.provider.is_some() && !soak.pump_until(since + SETTLE, quiet) {
        let p = soak.provider_stat.clone();
        soak.violation(format!(
            "with every consumer stopped the provider holds {} descriptors (baseline {base}) and {} sessions; \
             run dir: {} sockets, {} regions, {} others",
            p.fds, p.open, p.socks, p.regions, p.other
        ));
    }
    let provider_stat = soak.provider_stat.clone();
    if let Some(p) = soak.provider.take()
        && let Err(e) = p.stop(Duration::from_secs(10))
    {
        soak.violation(format!("the provider at the end: {e}"));
    }
    let left = std::fs::read_dir(&soak.space.run_dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    if !left.is_empty() {
        soak.violation(format!(
            "the run dir is not empty after the provider stopped: {left:?}"
        ));
    }
    if soak.fill_faults > 0 && soak.fallbacks_seen == 0 {
        soak.violation(format!(
            "the filesystem was filled {} times, and no session ever fell back to the socket",
            soak.fill_faults
        ));
    }
    let provider_log = std::fs::read_to_string(soak.space.base.join("provider.log")).unwrap_or_default();
    let fallback_lines = provider_log
        .lines()
        .filter(|l| l.contains("runs over the socket"))
        .count();
    let stale_lines = provider_log.lines().filter(|l| l.contains("stale")).count();
    let (tx, rx) = channel();
    drop(std::mem::replace(&mut soak.tx, tx));
    drop(std::mem::replace(&mut soak.rx, rx));
    let fds_at_end = fds();
    if fds_at_end != fds_at_start {
        soak.violation(format!(
            "the supervisor holds {fds_at_end} descriptors at the end, {fds_at_start} at the start"
        ));
    }
    let calls: u64 = soak.state.iter().map(|s| s.calls_before + s.calls).sum();
    let failed: u64 = soak.state.iter().map(|s| s.failed_before + s.failed).sum();
    let max_recovery = soak.recoveries.iter().max().copied().unwrap_or_default();
    let mean_recovery = if soak.recoveries.is_empty() {
        Duration::ZERO
    } else {
        soak.recoveries.iter().sum::<Duration>() / soak.recoveries.len() as u32
    };
    let consumer_growth = soak.state.iter().map(|s| s.rss_growth).max().unwrap_or(0);
    println!("soak: ran {:.0} s (seed {seed})", began.elapsed().as_secs_f64());
    println!(
        "faults survived: {} provider kills (SIGKILL, {} of them with the filesystem full), {} consumer kills",
        soak.provider_kills, soak.fill_faults, soak.consumer_kills
    );
    println!(
        "calls: {calls} answered and checked, {} wrong; {failed} failed while the provider was away",
        soak.wrong_answers
    );
    println!(
        "recovery: {} consumers served again after a fault, at most {} ms after it (mean {} ms; {} within one \
         refresh period of {} ms; limit {} ms)",
        soak.recoveries.len(),
        max_recovery.as_millis(),
        mean_recovery.as_millis(),
        soak.recoveries.iter().filter(|d| **d <= PERIOD).count(),
        PERIOD.as_millis(),
        (PERIOD + GRACE).as_millis()
    );
    println!(
        "filesystem full: {} shared-memory consumers seen served over the socket; the provider logged {fallback_lines} fallbacks and {stale_lines} stale-file removals",
        soak.fallbacks_seen
    );
    println!(
        "resources: {} consumer descriptor checks, {} provider settle checks; memory growth at most {} KiB (consumers), {} KiB (provider); last provider report: {} descriptors, rss {} KiB",
        soak.fd_checks,
        soak.settle_checks,
        consumer_growth,
        soak.provider_rss_growth,
        provider_stat.fds,
        provider_stat.rss
    );
    println!("logs: {}", soak.space.base.display());
    if soak.violations.is_empty() {
        println!("soak: PASS, every check held");
        soak.space.remove();
        0
    } else {
        println!("soak: FAIL, {} violations:", soak.violations.len());
        for v in soak.violations.iter().take(30) {
            println!("  {v}");
        }
        println!("(logs kept in {})", soak.space.base.display());
        1
    }
}

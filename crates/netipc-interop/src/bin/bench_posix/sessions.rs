//! Many sessions on one managed server, and what a quiet second costs.
//!
//! ```text
//! bench_posix sessions-uds-<N>-server|sessions-shm-<N>-server <run_dir> <service> [duration_sec]
//! bench_posix sessions-uds-<N>-client|sessions-shm-<N>-client <run_dir> <service> <duration_sec> <target_rps>
//! bench_posix sessions-inproc-uds-<N>|sessions-inproc-shm-<N> <duration_sec> <target_rps>
//! ```
//!
//! The server is an INCREMENT server whose session limit is raised to `N`.
//! The client starts `N` typed clients, one thread each, and connects them
//! all. It then measures them idle (connected, no call) for the duration,
//! and calling for the duration, each at `target_rps` calls per second (0:
//! as fast as it can), their start spread over one interval. The
//! `inproc` form runs the server in the client's process, as a new user's
//! first program would.
//!
//! Before the calls, the clients wake at their pace for the duration
//! without calling, which measures what the pacing itself costs.
//!
//! The client line has seven more fields: `fairness` (the slowest client's
//! calls over the mean), the server's resident set with every session
//! connected (KiB), shared memory per session (bytes of the region files),
//! CPU per call in microseconds (client and server, above what the same
//! sessions use idle, over the calls), the server's and the client's CPU
//! while idle (percent of one CPU, measured after the sessions sat for 3
//! s, or the duration if shorter), and CPU per call above the paced phase
//! instead of the idle one (the
//! library's share: the wake-ups of the pacing left out). Server figures
//! need the server's pid in `BENCH_SERVER_PID` (0 where it is missing).

use crate::driver::*;
use netipc::service::increment::{IncrementClient, ManagedServer};
use netipc::service::{ClientConfig, ServerConfig};
use netipc_interop::bench::*;
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

/// Stack of a client thread: the calls need little, and a thousand
/// threads with the default 8 MiB each would reserve 8 GiB.
const CLIENT_STACK: usize = 256 * 1024;
/// Latency samples kept per client (the first ones).
const SAMPLES_PER_CLIENT: usize = 1 << 15;
/// How long the clients may take to connect, all of them.
const CONNECT_WITHIN: Duration = Duration::from_secs(60);
/// How long connected sessions sit before their idle CPU is measured (no
/// longer than the run's duration).
const SETTLE: Duration = Duration::from_secs(3);

/// A many-sessions scenario's parameters, parsed from its name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Many {
    pub(crate) shm: bool,
    pub(crate) clients: usize,
}

impl Many {
    /// `sessions-uds-<N>` or `sessions-shm-<N>`.
    pub(crate) fn parse(scenario: &str) -> Option<Self> {
        let rest = scenario.strip_prefix("sessions-")?;
        let (shm, n) = if let Some(n) = rest.strip_prefix("shm-") {
            (true, n)
        } else {
            (false, rest.strip_prefix("uds-")?)
        };
        let clients = n.parse().ok().filter(|&n: &usize| (1..=16_384).contains(&n))?;
        Some(Self { shm, clients })
    }

    fn name(&self, rps: u64, inproc: bool) -> String {
        let place = if inproc { "inproc-" } else { "" };
        let kind = if self.shm { "shm" } else { "uds" };
        match rps {
            0 => format!("sessions-{place}{kind}-{}", self.clients),
            r => format!("sessions-{place}{kind}-{}-at-{r}", self.clients),
        }
    }
}

/// The INCREMENT server of the scenario, with room for every client.
pub(crate) fn server(many: &Many, dir: &str, svc: &str) -> ManagedServer {
    let config = ServerConfig {
        supported_profiles: profiles(many.shm),
        preferred_profiles: profiles(many.shm),
        max_request_payload_bytes: REQUEST_BUF,
        max_response_payload_bytes: REQUEST_BUF,
        auth_token: AUTH_TOKEN,
        backlog: many.clients.clamp(16, 4096) as u32,
        max_sessions: many.clients + 16,
        ..ServerConfig::default()
    };
    let handler = netipc::service::increment::Handler {
        handle: Some(Box::new(|v| Some(v.wrapping_add(1)))),
    };
    ManagedServer::new(dir, svc, config, handler)
}

/// CPU of this process and of the server, if known.
fn cpu_now(server: Option<u32>) -> (Duration, Duration) {
    let theirs = server.and_then(process_cpu_of).unwrap_or_default();
    (process_cpu(), theirs)
}

/// The CPU used from `then` to `now`, each side (a server thread that
/// ended meanwhile takes its time with it: never below zero).
fn since(then: (Duration, Duration), now: (Duration, Duration)) -> (Duration, Duration) {
    (now.0.saturating_sub(then.0), now.1.saturating_sub(then.1))
}

/// Wakes at the pace of `rps` calls per second for `duration`, calling
/// nothing (the phase that measures what pacing costs).
fn pace_only(k: usize, duration: Duration, rps: u64) {
    let phase = (k as f64 * 0.618_033_988_75).fract();
    std::thread::sleep(Duration::from_secs_f64(phase / rps as f64));
    let mut clock = CallClock::new(duration, rps);
    while let Some(t0) = clock.next_call() {
        std::hint::black_box(clock.call_done(t0));
    }
}

/// What one client did in the measured run.
struct ClientRun {
    calls: u64,
    lat: Latencies,
}

/// Connects `many.clients` clients, measures them idle and calling, and
/// prints the line. `server` is the server's pid, where known.
pub(crate) fn client(
    many: &Many,
    dir: &str,
    svc: &str,
    duration: Duration,
    rps: u64,
    server: Option<u32>,
    inproc: bool,
) -> Result<(), String> {
    let n = many.clients;
    let cfg = ClientConfig {
        supported_profiles: profiles(many.shm),
        preferred_profiles: profiles(many.shm),
        max_request_payload_bytes: REQUEST_BUF,
        max_response_payload_bytes: REQUEST_BUF,
        auth_token: AUTH_TOKEN,
        ..ClientConfig::default()
    };
    // Everyone connected; then the clients wake at their pace without
    // calling; then they call.
    let connected = Arc::new(Barrier::new(n + 1));
    let paced = Arc::new(Barrier::new(n + 1));
    let start = Arc::new(Barrier::new(n + 1));
    let failure: Arc<Mutex<Option<String>>> = Arc::default();
    let mut threads = Vec::with_capacity(n);
    for k in 0..n {
        let (cfg, dir, svc) = (cfg.clone(), dir.to_string(), svc.to_string());
        let (connected, paced, start, failure) =
            (connected.clone(), paced.clone(), start.clone(), failure.clone());
        let shm = many.shm;
        let spawned = std::thread::Builder::new()
            .name(format!("client-{k}"))
            .stack_size(CLIENT_STACK)
            .spawn(move || {
                let mut c = IncrementClient::new(&dir, &svc, cfg);
                let deadline = Instant::now() + CONNECT_WITHIN;
                let mut ok = true;
                while !c.ready() {
                    if Instant::now() >= deadline {
                        *failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(format!(
                            "client {k} did not connect: {:?}",
                            c.last_connect_error()
                        ));
                        ok = false;
                        break;
                    }
                    if !c.refresh() {
                        std::thread::sleep(Duration::from_millis(5 + (k % 16) as u64));
                    }
                }
                if ok && shm && !c.status().shm {
                    *failure.lock().unwrap_or_else(|p| p.into_inner()) =
                        Some(format!("client {k} did not get shared memory"));
                }
                connected.wait();
                paced.wait();
                if rps > 0 {
                    pace_only(k, duration, rps);
                }
                start.wait();
                run_one(&mut c, k, duration, rps, ok)
            });
        match spawned {
            Ok(t) => threads.push(t),
            Err(e) => return Err(format!("client thread {k}: {e}")),
        }
    }
    connected.wait();
    if let Some(e) = failure.lock().unwrap_or_else(|p| p.into_inner()).take() {
        paced.wait();
        start.wait();
        for t in threads {
            let _ = t.join();
        }
        return Err(e);
    }
    // Every session is up: what it holds, and what it costs idle.
    let server_rss = server.map_or(0, |pid| status_kib(&format!("/proc/{pid}/status"), "VmRSS:"));
    let shm_per_session = region_bytes(dir, svc) / n as u64;
    // Idle sessions settle: a server's waits grow their sleeps while
    // nothing comes (a few seconds to the longest).
    std::thread::sleep(SETTLE.min(duration));
    let idle_started = Instant::now();
    let idle_cpu = cpu_now(server);
    std::thread::sleep(duration);
    let idle_end = cpu_now(server);
    let idle_wall = idle_started.elapsed().as_secs_f64();
    let idle = since(idle_cpu, idle_end);
    // The clients wake at their pace, without calling: what the pacing
    // itself costs.
    let paced_cpu = cpu_now(server);
    let paced_started = Instant::now();
    paced.wait();
    if rps > 0 {
        std::thread::sleep(duration);
    }
    // The calls.
    let busy_cpu = cpu_now(server);
    let paced_wall = paced_started.elapsed().as_secs_f64();
    let paced_use = since(paced_cpu, busy_cpu);
    let busy_started = Instant::now();
    start.wait();
    let mut runs = Vec::with_capacity(n);
    for t in threads {
        match t.join() {
            Ok(Ok(r)) => runs.push(r),
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err("a client thread panicked".into()),
        }
    }
    let busy_wall = busy_started.elapsed().as_secs_f64();
    let busy_end = cpu_now(server);
    let busy = since(busy_cpu, busy_end);
    let calls: u64 = runs.iter().map(|r| r.calls).sum();
    let slowest = runs.iter().map(|r| r.calls).min().unwrap_or(0);
    let mean = calls as f64 / n as f64;
    let fairness = if mean > 0.0 { slowest as f64 / mean } else { 0.0 };
    let mut lat = Latencies::new(n * SAMPLES_PER_CLIENT);
    for r in runs {
        lat.merge(r.lat);
    }
    let (p50, p95, p99) = lat.percentiles_us();
    // The CPU of the calls: the run's, less what the same sessions use
    // idle over as long.
    let scale = busy_wall / idle_wall.max(1e-9);
    let over_idle = (busy.0 + busy.1).as_secs_f64() - (idle.0 + idle.1).as_secs_f64() * scale;
    let per_call_us = if calls > 0 {
        over_idle / calls as f64 * 1e6
    } else {
        0.0
    };
    // The same, above the clients waking at their pace without calling:
    // the library's own share.
    let over_paced = (busy.0 + busy.1).as_secs_f64()
        - (paced_use.0 + paced_use.1).as_secs_f64() * busy_wall / paced_wall.max(1e-9);
    let per_call_lib_us = if calls > 0 && rps > 0 {
        over_paced / calls as f64 * 1e6
    } else {
        per_call_us
    };
    let pct = |d: Duration, wall: f64| d.as_secs_f64() / wall.max(1e-9) * 100.0;
    let (client_pct, server_pct) = (pct(busy.0, busy_wall), pct(busy.1, busy_wall));
    let server_name = std::env::var("BENCH_SERVER").unwrap_or_else(|_| "-".into());
    println!(
        "{},{DRIVER},{server_name},{:.0},{p50},{p95},{p99},{client_pct:.1},{server_pct:.1},{:.1},{fairness:.3},{server_rss},{shm_per_session},{per_call_us:.2},{:.3},{:.3},{per_call_lib_us:.2}",
        many.name(rps, inproc),
        calls as f64 / busy_wall,
        client_pct + server_pct,
        pct(idle.1, idle_wall),
        pct(idle.0, idle_wall),
    );
    Ok(())
}

/// One client's measured run: calls at `rps` (0: back to back) for
/// `duration`, the first one at a point of the first interval that
/// depends on `k`, so that the clients' calls are spread out.
fn run_one(
    c: &mut IncrementClient,
    k: usize,
    duration: Duration,
    rps: u64,
    ok: bool,
) -> Result<ClientRun, String> {
    let mut lat = Latencies::new(SAMPLES_PER_CLIENT);
    if !ok {
        return Ok(ClientRun { calls: 0, lat });
    }
    if rps > 0 {
        // A fixed scatter: 0.618... of an interval further for each client.
        let phase = (k as f64 * 0.618_033_988_75).fract();
        std::thread::sleep(Duration::from_secs_f64(phase / rps as f64));
    }
    let mut calls = 0u64;
    let mut clock = CallClock::new(duration, rps);
    let mut value = k as u64 * 1_000_000_000;
    while let Some(t0) = clock.next_call() {
        let got = c.call(value).map_err(|e| format!("client {k}: {e}"))?;
        if got != value + 1 {
            return Err(format!("client {k}: {value} answered {got}"));
        }
        lat.record(clock.call_done(t0));
        value = got;
        calls += 1;
    }
    Ok(ClientRun { calls, lat })
}

/// Bytes of the service's shared-memory region files in `dir`.
fn region_bytes(dir: &str, svc: &str) -> u64 {
    let prefix = format!("{svc}-");
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| {
                    let name = e.file_name();
                    let name = name.to_string_lossy();
                    name.starts_with(&prefix) && name.ends_with(".ipcshm")
                })
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// The `inproc` form: the server runs in this process, in a run dir of
/// its own.
pub(crate) fn inproc(many: &Many, duration: u64, rps: u64) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("netipc-sessions-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let dir_str = dir.to_string_lossy().into_owned();
    let s = server(many, &dir_str, "sessions");
    let result = std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::channel();
        let serving = scope.spawn(|| {
            s.run_notify(move || {
                let _ = tx.send(());
            })
        });
        let result = match rx.recv() {
            Ok(()) => client(
                many,
                &dir_str,
                "sessions",
                Duration::from_secs(duration),
                rps,
                None,
                true,
            ),
            Err(_) => Err("the server stopped before it listened".into()),
        };
        s.stop();
        match serving.join() {
            Ok(Ok(())) => result,
            Ok(Err(e)) => result.and(Err(e.to_string())),
            Err(_) => result.and(Err("the server thread panicked".into())),
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
    result
}

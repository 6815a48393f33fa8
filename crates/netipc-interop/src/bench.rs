//! Measuring helpers of the benchmark driver: latency samples, a rate
//! limiter, CPU time, and the CSV line every driver prints.

use std::time::{Duration, Instant};

/// Latency samples in nanoseconds, up to a cap.
#[derive(Debug)]
pub struct Latencies {
    samples: Vec<u64>,
    cap: usize,
}

/// Most samples kept (later ones are dropped, as the reference drivers do).
pub const MAX_SAMPLES: usize = 10_000_000;

impl Latencies {
    /// Room for `expected` samples (capped).
    pub fn new(expected: usize) -> Self {
        let cap = expected.clamp(1, MAX_SAMPLES);
        Self {
            samples: Vec::with_capacity(cap),
            cap,
        }
    }

    /// Records one sample.
    #[inline]
    pub fn record(&mut self, d: Duration) {
        if self.samples.len() < self.cap {
            self.samples.push(d.as_nanos() as u64);
        }
    }

    /// Moves `other`'s samples into these (up to this one's cap).
    pub fn merge(&mut self, other: Latencies) {
        let room = self.cap.saturating_sub(self.samples.len());
        self.samples.extend(other.samples.into_iter().take(room));
    }

    /// p50, p95 and p99 in whole microseconds.
    pub fn percentiles_us(&mut self) -> (u64, u64, u64) {
        if self.samples.is_empty() {
            return (0, 0, 0);
        }
        self.samples.sort_unstable();
        let at = |p: f64| {
            let i = ((p / 100.0) * (self.samples.len() - 1) as f64) as usize;
            self.samples[i.min(self.samples.len() - 1)] / 1000
        };
        (at(50.0), at(95.0), at(99.0))
    }
}

/// Paces requests to a target rate by sleeping (0: as fast as possible).
#[derive(Debug)]
pub struct RateLimiter {
    interval: Option<Duration>,
    next: Instant,
}

impl RateLimiter {
    /// A limiter for `target_rps` requests per second.
    pub fn new(target_rps: u64) -> Self {
        Self {
            interval: (target_rps > 0).then(|| Duration::from_nanos(1_000_000_000 / target_rps)),
            next: Instant::now(),
        }
    }

    /// Waits for the next slot. Slots are fixed (one interval after the
    /// previous slot, not after the previous call), so a late call is
    /// followed by a sooner one and the rate holds; no call starts before
    /// its slot, even where a sleep can end early.
    #[inline]
    pub fn wait(&mut self) {
        if let Some(iv) = self.interval {
            loop {
                let now = Instant::now();
                if now >= self.next {
                    break;
                }
                std::thread::sleep(self.next - now);
            }
            self.next += iv;
        }
    }
}

/// The clock of a client's call loop: when to stop, when each call starts
/// (paced by a [`RateLimiter`]) and how long it took.
///
/// Unpaced, a call starts when the previous one ended, so the loop reads
/// the clock once per call: the stamp that ends one call starts the next
/// and also decides whether the run is over. A closed loop does nothing
/// between the two but bookkeeping, so the latencies are the same as with
/// a fresh stamp, without a clock read (about 25 ns here) per call.
#[derive(Debug)]
pub struct CallClock {
    limiter: RateLimiter,
    last: Instant,
    end: Instant,
}

impl CallClock {
    /// A loop that runs for `duration` at `target_rps` (0: unpaced).
    pub fn new(duration: Duration, target_rps: u64) -> Self {
        let now = Instant::now();
        Self {
            limiter: RateLimiter::new(target_rps),
            last: now,
            end: now + duration,
        }
    }

    /// Waits for the next call's slot and returns its start, or `None`
    /// once the duration has passed.
    #[inline]
    pub fn next_call(&mut self) -> Option<Instant> {
        if self.last >= self.end {
            return None;
        }
        if self.limiter.interval.is_some() {
            self.limiter.wait();
            self.last = Instant::now();
        }
        Some(self.last)
    }

    /// Ends the call that started at `started`; its duration.
    #[inline]
    pub fn call_done(&mut self, started: Instant) -> Duration {
        self.last = Instant::now();
        self.last - started
    }
}

/// CPU time used by this process so far.
pub fn process_cpu() -> Duration {
    #[cfg(unix)]
    {
        use nix::time::{ClockId, clock_gettime};
        clock_gettime(ClockId::CLOCK_PROCESS_CPUTIME_ID).map_or(Duration::ZERO, Duration::from)
    }
    #[cfg(not(unix))]
    {
        Duration::ZERO
    }
}

/// CPU time used so far by the live threads of the process `pid`, counted
/// to the nanosecond (from `/proc/<pid>/task/*/schedstat`); `None`
/// where the system does not say.
pub fn process_cpu_of(pid: u32) -> Option<Duration> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut ns = 0u64;
    for task in tasks.flatten() {
        // A thread that ended meanwhile has nothing more to count.
        let Ok(stat) = std::fs::read_to_string(task.path().join("schedstat")) else {
            continue;
        };
        ns += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(ns))
}

/// The peak resident set size of this process in KiB (`VmHWM`), or 0
/// where the system does not say.
pub fn peak_rss_kib() -> u64 {
    status_kib("/proc/self/status", "VmHWM:")
}

/// A `kB` field of a `/proc/.../status` file, or 0.
pub fn status_kib(path: &str, field: &str) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Wall and CPU time of a measured run.
#[derive(Debug)]
pub struct Meter {
    wall: Instant,
    cpu: Duration,
}

impl Meter {
    /// Starts measuring.
    pub fn start() -> Self {
        Self {
            cpu: process_cpu(),
            wall: Instant::now(),
        }
    }

    /// Seconds of wall time and CPU percentage so far.
    pub fn read(&self) -> (f64, f64) {
        let wall = self.wall.elapsed().as_secs_f64().max(1e-9);
        let cpu = (process_cpu() - self.cpu).as_secs_f64();
        (wall, cpu / wall * 100.0)
    }
}

/// Name of this driver in the `client` column of the CSV line.
pub const DRIVER: &str = "netipc";

/// Prints the CSV line: `scenario,client,server,throughput,p50_us,p95_us,
/// p99_us,client_cpu_pct,server_cpu_pct,total_cpu_pct`. The server's CPU
/// is filled in by the harness; `server` comes from `BENCH_SERVER`.
pub fn print_csv(scenario: &str, throughput: f64, lat: &mut Latencies, cpu_pct: f64) {
    print_csv_as(DRIVER, scenario, throughput, lat, cpu_pct);
}

/// [`print_csv`] for the driver named `driver`.
pub fn print_csv_as(driver: &str, scenario: &str, throughput: f64, lat: &mut Latencies, cpu_pct: f64) {
    let (p50, p95, p99) = lat.percentiles_us();
    let server = std::env::var("BENCH_SERVER").unwrap_or_else(|_| "-".into());
    println!("{scenario},{driver},{server},{throughput:.0},{p50},{p95},{p99},{cpu_pct:.1},0.0,{cpu_pct:.1}");
}

/// The parameters of the ping-pong scenarios (one INCREMENT call at a
/// time), the same in every driver, ours and the reference's, so that any
/// driver's client pairs with any driver's server.
pub mod ping_pong {
    use netipc::protocol::{PROFILE_BASELINE, PROFILE_SHM_HYBRID};
    use netipc::service::{ClientConfig, ServerConfig};
    use std::time::Duration;

    /// The drivers' auth token.
    pub const AUTH_TOKEN: u64 = 0xBE4C_4000_00C0_FFEE;
    /// Request payload limit.
    pub const REQUEST_BUF: u32 = 4096;
    /// Response payload limit.
    pub const RESPONSE_BUF: u32 = 65536;
    /// A server's run when its command line gives none, in seconds.
    pub const DEFAULT_DURATION: u64 = 30;
    /// How long a server outlives its duration (its client may have
    /// started late).
    pub const SERVER_GRACE: Duration = Duration::from_secs(3);
    /// The timeout of one call.
    pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);

    /// The profiles of a scenario: the baseline, and SHM_HYBRID too (and
    /// preferred) when `shm`.
    pub fn profiles(shm: bool) -> u32 {
        if shm {
            PROFILE_BASELINE | PROFILE_SHM_HYBRID
        } else {
            PROFILE_BASELINE
        }
    }

    /// A ping-pong server's configuration.
    pub fn server_config(shm: bool) -> ServerConfig {
        ServerConfig {
            supported_profiles: profiles(shm),
            preferred_profiles: profiles(shm),
            max_request_payload_bytes: REQUEST_BUF,
            max_request_batch_items: 1,
            max_response_payload_bytes: RESPONSE_BUF,
            max_response_batch_items: 1,
            auth_token: AUTH_TOKEN,
            backlog: 4,
            ..ServerConfig::default()
        }
    }

    /// A ping-pong client's configuration.
    pub fn client_config(shm: bool) -> ClientConfig {
        ClientConfig {
            supported_profiles: profiles(shm),
            preferred_profiles: profiles(shm),
            max_request_payload_bytes: REQUEST_BUF,
            max_request_batch_items: 1,
            max_response_payload_bytes: RESPONSE_BUF,
            max_response_batch_items: 1,
            auth_token: AUTH_TOKEN,
            call_timeout: CALL_TIMEOUT,
            ..ClientConfig::default()
        }
    }
}

/// The xorshift generator the reference drivers use for batch sizes, with
/// the same seed, so both produce the same sequence.
#[derive(Debug, Clone)]
pub struct XorShift(u32);

impl Default for XorShift {
    fn default() -> Self {
        Self(12345)
    }
}

impl XorShift {
    /// The next value.
    #[inline]
    pub fn next_u32(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpaced_calls_start_where_the_last_one_ended() {
        let mut clock = CallClock::new(Duration::from_millis(20), 0);
        let first = clock.next_call().unwrap();
        let took = clock.call_done(first);
        let second = clock.next_call().unwrap();
        assert_eq!(second, first + took);
        // The loop ends once the duration has passed, and stays ended.
        let mut calls = 0u32;
        while let Some(t0) = clock.next_call() {
            std::thread::sleep(Duration::from_millis(1));
            clock.call_done(t0);
            calls += 1;
            assert!(calls < 10_000, "the clock never ran out");
        }
        assert!(clock.next_call().is_none());
    }

    #[test]
    fn paced_calls_never_start_before_their_slot() {
        // 200 calls per second: slot k is 5k ms after the clock started.
        // (Gaps between two calls may be shorter: a late call is followed
        // by a sooner one.)
        let created = Instant::now();
        let mut clock = CallClock::new(Duration::from_secs(60), 200);
        for k in 0..6u32 {
            let t0 = clock.next_call().unwrap();
            let slot = Duration::from_millis(5) * k;
            assert!(t0 - created >= slot, "call {k} at {:?}", t0 - created);
            clock.call_done(t0);
        }
    }
}

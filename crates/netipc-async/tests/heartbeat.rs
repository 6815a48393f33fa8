//! A current-thread runtime never stalls: a heartbeat task keeps ticking
//! at least every 5 ms while 64 async clients call a server over shared
//! memory. (A test binary of its own: nothing else runs beside it.)
//!
//! What it measures is when the runtime's thread gets to run the
//! heartbeat, which the kernel decides as much as the runtime: on a
//! machine whose CPUs are all taken by other work, the gaps say nothing
//! about the runtime. So a run whose every try missed reports itself
//! ignored, with the reason, when the machine was that busy (the load
//! average over a minute above its CPU count), and fails otherwise. In a
//! build instrumented by a sanitizer (`NETIPC_SANITIZER` set, as
//! `ci/sanitize.sh` sets it) it reports itself ignored too.

#[cfg(unix)]
mod common;

use netipc_test_support::harness::{self, Ran};

fn main() {
    harness::run(vec![harness::trial(
        "a_current_thread_runtime_keeps_ticking_while_64_clients_call_over_shared_memory",
        run,
    )]);
}

#[cfg(not(unix))]
fn run() -> Ran {
    Ran::Lacking("the tokio layer serves POSIX sockets only".into())
}

/// The load average over the last minute, and the CPUs there are.
#[cfg(unix)]
fn load() -> Option<(f64, usize)> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let one: f64 = text.split_whitespace().next()?.parse().ok()?;
    Some((one, std::thread::available_parallelism().ok()?.get()))
}

#[cfg(unix)]
use run_unix::run;

#[cfg(unix)]
mod run_unix {
    use super::common::*;
    use super::{Ran, load};
    use netipc::tokio::increment::IncrementClient;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    /// How often each of the 64 clients calls: 16,000 calls a second in all,
    /// which a two-CPU machine serves with room to spare even in a debug
    /// build (flat out, the clients and the server's threads would take every
    /// CPU, and the kernel, not the runtime, would decide the heartbeat).
    const PACE: Duration = Duration::from_millis(4);

    /// The longest gap between two ticks of a 1 ms heartbeat on a
    /// current-thread runtime, while 64 clients make `calls` calls each over
    /// shared memory to a server. The clients connect first (their connects
    /// run on the blocking pool, whose threads start meanwhile); the
    /// heartbeat is measured over the calls.
    fn heartbeat_gap(dir: &std::path::Path, calls: u64) -> Duration {
        runtime().block_on(async {
            let mut clients = Vec::new();
            for _ in 0..64 {
                let mut c = IncrementClient::new(dir, "inc", client_config(SHM));
                c.refresh().await;
                assert!(
                    c.status().shm || !cfg!(target_os = "linux"),
                    "not over shared memory"
                );
                // The first call starts the session's waiter thread.
                assert_eq!(c.call(1).await.unwrap(), 2);
                clients.push(c);
            }
            let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let beat = tokio::spawn({
                let done = Arc::clone(&done);
                async move {
                    let mut longest = Duration::ZERO;
                    let mut last = Instant::now();
                    while !done.load(std::sync::atomic::Ordering::Acquire) {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                        let now = Instant::now();
                        longest = longest.max(now - last);
                        last = now;
                    }
                    longest
                }
            });
            let mut tasks = Vec::new();
            // The clients' paces are spread over the period, as independent
            // clients' would be: 64 calls all due at one instant would take
            // the runtime's thread a few milliseconds of CPU in a debug
            // build (work, not a wait), and the heartbeat, polled between
            // tasks, would measure that.
            let start = tokio::time::Instant::now();
            for (k, mut c) in clients.into_iter().enumerate() {
                let first = start + PACE * k as u32 / 64;
                tasks.push(tokio::spawn(async move {
                    let mut tick = tokio::time::interval_at(first, PACE);
                    for i in 0..calls {
                        tick.tick().await;
                        let v = (k as u64) << 32 | i;
                        assert_eq!(c.call(v).await.unwrap(), v + 1);
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
            done.store(true, std::sync::atomic::Ordering::Release);
            beat.await.unwrap()
        })
    }

    pub fn run() -> Ran {
        if let Ok(sanitizer) = std::env::var("NETIPC_SANITIZER") {
            return Ran::Lacking(format!(
                "built with the {sanitizer} sanitizer (ci/sanitize.sh): every call costs several times its \
                 CPU, and the 5 ms bound measures that, not the runtime"
            ));
        }
        let dir = RunDir::new("async-beat");
        let _server: Box<dyn Serving> = if std::env::var("BEAT_ASYNC").is_ok() {
            Box::new(Async::start(dir.path(), "inc", server_config(SHM), incrementer()))
        } else {
            Box::new(Blocking::start(
                dir.path(),
                "inc",
                server_config(SHM),
                incrementer(),
            ))
        };
        // A stall of our making shows every time; a descheduled thread on a
        // busy machine now and then. Five tries tell them apart.
        let mut gaps = Vec::new();
        for _ in 0..5 {
            let gap = heartbeat_gap(dir.path(), 100);
            eprintln!("longest heartbeat gap: {gap:?}");
            gaps.push(gap);
            if gap <= Duration::from_millis(5) {
                return Ran::Checked;
            }
        }
        if let Some((load, cpus)) = load()
            && load > cpus as f64
        {
            return Ran::Lacking(format!(
                "the machine is busy (load {load:.1} on {cpus} CPUs): the gaps ({gaps:?}) measure the kernel's \
             scheduling, not the runtime"
            ));
        }
        panic!("the heartbeat stalled for longer than 5 ms in every try: {gaps:?}");
    }
}

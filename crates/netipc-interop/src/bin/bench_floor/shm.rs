//! The shared-memory floor: three cache lines of a shared file mapping.

use crate::cli::ROUND_TRIPS_PER_CHECK;
use memmap2::MmapMut;
use netipc_interop::bench::Meter;
use std::fs::{File, OpenOptions};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Words of the mapping (one page).
const WORDS: usize = 512;
/// Line 0: the sequence words and where each side runs.
const REQUEST_SEQ: usize = 0;
const RESPONSE_SEQ: usize = 1;
const SERVER_CPU: usize = 2;
const CLIENT_CPU: usize = 3;
/// Line 1: the request; line 2: the response (40 bytes each, like an
/// INCREMENT message).
const REQUEST: usize = 8;
const RESPONSE: usize = 16;
const MESSAGE_WORDS: usize = 5;
/// The sequence value that ends a run, and acknowledges the end.
const STOP: u64 = u64::MAX;
/// Checks between two looks at the clock while waiting.
const CHECKS_PER_CLOCK: u32 = 1 << 16;

/// A shared page seen as words.
struct Region {
    _map: MmapMut,
    words: *const AtomicU64,
}

impl Region {
    fn map(file: &File) -> Result<Self, String> {
        // SAFETY: the file lives in this run's directory and only the two
        // floor processes map it; neither truncates it while mapped, and
        // both touch it only through atomics.
        let mut map = unsafe { MmapMut::map_mut(file) }.map_err(|e| format!("mmap: {e}"))?;
        if map.len() < WORDS * 8 {
            return Err(format!("mapping of {} bytes", map.len()));
        }
        let words = map.as_mut_ptr().cast::<AtomicU64>();
        Ok(Self { _map: map, words })
    }

    fn word(&self, i: usize) -> &AtomicU64 {
        assert!(i < WORDS);
        // SAFETY: the mapping is page-aligned, at least WORDS words long and
        // lives as long as `self`; AtomicU64 has u64's layout, and every
        // access to the page, in both processes, is atomic.
        unsafe { &*self.words.add(i) }
    }

    /// Waits until word `i` satisfies `done`; returns its value. Pauses
    /// between checks, or yields when the peer shares this CPU.
    fn wait(
        &self,
        i: usize,
        done: impl Fn(u64) -> bool,
        yielding: bool,
        give_up: Instant,
    ) -> Result<u64, String> {
        let word = self.word(i);
        let mut checks = 0u32;
        loop {
            let v = word.load(Ordering::Acquire);
            if done(v) {
                return Ok(v);
            }
            if yielding {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
            checks = checks.wrapping_add(1);
            if checks.is_multiple_of(CHECKS_PER_CLOCK) && Instant::now() >= give_up {
                return Err("the peer went quiet".into());
            }
        }
    }
}

fn page_path(dir: &str, svc: &str) -> String {
    format!("{dir}/{svc}.floor.shm")
}

fn this_cpu() -> Result<u64, String> {
    nix::sched::sched_getcpu()
        .map(|c| c as u64)
        .map_err(|e| format!("sched_getcpu: {e}"))
}

/// Answers one client until it says stop or `give_up` passes.
pub(crate) fn serve(dir: &str, svc: &str, give_up: Duration, report: impl FnOnce()) -> Result<(), String> {
    let give_up = Instant::now() + give_up;
    let path = page_path(dir, svc);
    let served = (|| {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| format!("create {path}: {e}"))?;
        file.set_len((WORDS * 8) as u64)
            .map_err(|e| format!("size {path}: {e}"))?;
        let r = Region::map(&file)?;
        r.word(SERVER_CPU).store(this_cpu()? + 1, Ordering::Release);
        println!("READY");
        // The first request says where the client runs.
        let mut seq = r.wait(REQUEST_SEQ, |v| v != 0, true, give_up)?;
        let yielding = r.word(CLIENT_CPU).load(Ordering::Relaxed) == this_cpu()? + 1;
        while seq != STOP {
            let value = r.word(REQUEST).load(Ordering::Relaxed);
            r.word(RESPONSE).store(value.wrapping_add(1), Ordering::Relaxed);
            for k in 1..MESSAGE_WORDS {
                let w = r.word(REQUEST + k).load(Ordering::Relaxed);
                r.word(RESPONSE + k).store(w, Ordering::Relaxed);
            }
            r.word(RESPONSE_SEQ).store(seq, Ordering::Release);
            let last = seq;
            seq = r.wait(REQUEST_SEQ, |v| v != last, yielding, give_up)?;
        }
        report();
        r.word(RESPONSE_SEQ).store(STOP, Ordering::Release);
        Ok(())
    })();
    let _ = std::fs::remove_file(&path);
    served
}

/// Runs round trips for `duration`: (requests, wall seconds, CPU %).
pub(crate) fn drive(dir: &str, svc: &str, duration: Duration) -> Result<(u64, f64, f64), String> {
    let path = page_path(dir, svc);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| format!("open {path}: {e}"))?;
    let r = Region::map(&file)?;
    let give_up = Instant::now() + duration + Duration::from_secs(10);
    let cpu = this_cpu()? + 1;
    r.word(CLIENT_CPU).store(cpu, Ordering::Relaxed);
    let yielding = r.word(SERVER_CPU).load(Ordering::Acquire) == cpu;
    let meter = Meter::start();
    let started = Instant::now();
    let mut seq = 0u64;
    let (wall, cpu_pct) = loop {
        for _ in 0..ROUND_TRIPS_PER_CHECK {
            seq += 1;
            r.word(REQUEST).store(seq, Ordering::Relaxed);
            for k in 1..MESSAGE_WORDS {
                r.word(REQUEST + k).store(k as u64, Ordering::Relaxed);
            }
            r.word(REQUEST_SEQ).store(seq, Ordering::Release);
            r.wait(RESPONSE_SEQ, |v| v == seq, yielding, give_up)?;
            let answer = r.word(RESPONSE).load(Ordering::Relaxed);
            if answer != seq + 1 {
                return Err(format!("answer {answer} to {seq}"));
            }
        }
        if started.elapsed() >= duration {
            break meter.read();
        }
    };
    r.word(REQUEST_SEQ).store(STOP, Ordering::Release);
    r.wait(
        RESPONSE_SEQ,
        |v| v == STOP,
        yielding,
        Instant::now() + Duration::from_secs(5),
    )?;
    Ok((seq, wall, cpu_pct))
}

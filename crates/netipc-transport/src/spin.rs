//! Adaptive spinning before a blocking wait, shared by the shared-memory
//! and socket transports.
//!
//! A waiter checks for its message between short pause runs for half of a
//! time budget, then with `sched_yield` between checks for the rest; only
//! then does it block in the kernel. Blocking costs a sleep and a wake-up on both sides
//! (tens of microseconds between two vCPUs); a message that comes within the
//! budget costs neither. Two adaptations keep spinning from hurting:
//!
//! - when messages keep arriving only after a yield (the peer shares this
//!   CPU), the next waits yield at once instead of pausing first;
//! - when waits keep spinning their whole budget in vain (an idle peer),
//!   the next waits skip spinning altogether.

use std::time::{Duration, Instant};

/// Spin time when the machine has several CPUs: long enough to cover a
/// peer's turnaround, so fast exchanges never sleep.
pub const SPIN_BUDGET_DEFAULT: Duration = Duration::from_micros(50);
/// Longest run of pauses between two checks.
const MAX_PAUSE_RUN: u32 = 16;
/// Futile spins in a row before spinning is suspended.
const FUTILE_SPINS_MAX: u32 = 8;
/// Waits that skip spinning once it is suspended.
const COLD_WAITS: u32 = 256;
/// Arrivals after a yield, in a row, that switch to yielding at once.
const YIELD_ARRIVALS_MAX: u32 = 4;
/// Waits that yield at once before pausing is tried again.
const YIELD_FIRST_WAITS: u32 = 1024;

/// The spin budget to use when none is configured: none on a machine with
/// one online CPU (spinning would only burn the peer's time slice), else
/// [`SPIN_BUDGET_DEFAULT`]. Peers pinned to one shared CPU of a larger
/// machine are caught at run time by the adaptations above.
pub fn auto_spin_budget() -> Duration {
    static CPUS: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    // SAFETY: sysconf reads a system constant; no memory is involved.
    let cpus = *CPUS.get_or_init(|| unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) } as i64);
    if cpus > 1 && std::env::var_os("EXP_NOSPIN").is_none() {
        SPIN_BUDGET_DEFAULT
    } else {
        Duration::ZERO
    }
}

/// How a spin ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spun {
    Paused,
    Yielded,
    Futile,
}

/// Spinning policy and recent history of one waiter.
#[derive(Debug, Clone)]
pub(crate) struct Spinner {
    budget: Duration,
    /// Consecutive waits that spun their whole budget in vain.
    futile: u32,
    /// Waits left before spinning is tried again.
    cold: u32,
    /// Consecutive waits whose message came only after a yield.
    after_yield: u32,
    /// Waits left that yield at once instead of pausing first.
    yield_first: u32,
}

impl Spinner {
    pub(crate) fn new(budget: Duration) -> Self {
        Self {
            budget,
            futile: 0,
            cold: 0,
            after_yield: 0,
            yield_first: 0,
        }
    }

    pub(crate) fn set_budget(&mut self, budget: Duration) {
        self.budget = budget;
    }

    /// Whether waits currently yield at once (the peer shares this CPU):
    /// callers then skip any pause-based checks of their own.
    pub(crate) fn yielding(&self) -> bool {
        self.yield_first > 0
    }

    /// Notes a message that was there at the first look.
    pub(crate) fn note_immediate(&mut self) {
        self.futile = 0;
        self.after_yield = 0;
    }

    /// Polls `ready` until it says yes or the budget runs out; whether it
    /// said yes. `ready` is called at least once unless spinning is off.
    pub(crate) fn spin(&mut self, mut ready: impl FnMut() -> bool) -> bool {
        if self.budget.is_zero() {
            return false;
        }
        if self.cold > 0 {
            self.cold -= 1;
            return false;
        }
        let yield_at_once = if self.yield_first > 0 {
            self.yield_first -= 1;
            true
        } else {
            false
        };
        let outcome = spin_for(self.budget, yield_at_once, &mut ready);
        match outcome {
            Spun::Paused => self.note_immediate(),
            Spun::Yielded => {
                self.futile = 0;
                self.after_yield += 1;
                if self.after_yield >= YIELD_ARRIVALS_MAX && self.yield_first == 0 {
                    self.after_yield = 0;
                    self.yield_first = YIELD_FIRST_WAITS;
                }
            }
            Spun::Futile => {
                self.after_yield = 0;
                self.futile += 1;
                if self.futile >= FUTILE_SPINS_MAX {
                    self.futile = 0;
                    self.cold = COLD_WAITS;
                }
            }
        }
        outcome != Spun::Futile
    }
}

fn spin_for(budget: Duration, yield_at_once: bool, ready: &mut impl FnMut() -> bool) -> Spun {
    let started = Instant::now();
    if !yield_at_once {
        // Pause between checks, in runs that double up to a cap, for half
        // the budget: a peer on another CPU answers within it, and a check
        // of an unchanged word costs only a cache hit.
        let pause_budget = budget / 2;
        let mut pauses = 1;
        loop {
            for _ in 0..pauses {
                std::hint::spin_loop();
            }
            if ready() {
                return Spun::Paused;
            }
            if pauses < MAX_PAUSE_RUN {
                pauses *= 2;
            } else if started.elapsed() >= pause_budget {
                break;
            }
        }
    }
    // Then give the CPU away between checks, in case the peer needs it.
    loop {
        std::thread::yield_now();
        if ready() {
            return Spun::Yielded;
        }
        if started.elapsed() >= budget {
            return Spun::Futile;
        }
    }
}

//! Adaptive spinning before a blocking wait, shared by the shared-memory
//! and socket transports.
//!
//! A waiter looks for its message once, then checks between short pause
//! runs for a fifth of a time budget, then with `sched_yield` between
//! checks for the rest; only then does it block in the kernel. Blocking
//! costs a sleep and a wake-up on both sides (tens of microseconds between
//! two vCPUs); a message that comes within the budget costs neither. Three
//! adaptations keep spinning from hurting:
//!
//! - when messages keep arriving right after a yield, at the first or
//!   second (the peer shares this CPU and ran in between), the next waits
//!   yield at once instead of pausing first; a message that comes only
//!   after more yields, or while pausing, says the peer runs elsewhere;
//! - in strict ping-pong on a shared CPU, where the message can never be
//!   there yet, the first look (a syscall for a socket) is skipped, but
//!   for a few waits, further and further apart (the 16th, 32nd, 64th,
//!   128th, then one in 256): a peer that sleeps in the kernel often
//!   answers while our send wakes it, and an answer found waiting there
//!   ends the skipping;
//! - when waits keep spinning their whole budget in vain (an idle peer),
//!   the next waits skip spinning altogether;
//! - when the peer had to be woken for a wait (it slept: a shared-memory
//!   wake found it asleep, or a socket saw no message for a while) and such
//!   waits keep lasting longer than a sleep and a wake-up of our own would
//!   cost, the next such waits block at once. That is the case of sparse
//!   calls (an agent's plugins ask once a second): each finds the peer
//!   asleep, and spinning through its wake-up burned tens of microseconds
//!   per call on a virtual machine. Waits of a busy exchange, whose peer is
//!   awake, keep spinning.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Spin time when the machine has several CPUs: long enough to cover a
/// peer's turnaround, so fast exchanges never sleep.
pub(crate) const SPIN_BUDGET_DEFAULT: Duration = Duration::from_micros(50);
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
/// Waits in a row served only after a yield that make a waiter (already
/// yielding first) skip its first look.
const PING_PONG_STREAK: u32 = 4;
/// In such a streak, some waits take the first look anyway: a peer on our
/// CPU that sleeps in the kernel is woken by our message and often answers
/// before our send returns, so its answer waits already and the look ends
/// the streak. The first such look comes this many waits into the streak;
/// each one that finds nothing doubles the gap to the next.
const STREAK_LOOK_FIRST: u32 = 16;
/// The widest gap between two looks of a streak: a streak looks at least
/// once in this many waits.
const STREAK_LOOK_MAX: u32 = 256;
/// A wait for a peer that had to be woken is slow when its message comes
/// later than this (or not within the budget): a sleep and a wake-up of our
/// own would have cost less CPU than spinning through the peer's wake-up.
const SLOW_WOKEN: Duration = Duration::from_micros(10);
/// Slow waits for woken peers in a row after which such waits block at
/// once (one slow wait after a blocking period is enough to start another).
const SLOW_WOKEN_MAX: u32 = 4;
/// Waits for woken peers that block at once before one spins again, to
/// see whether the peer still wakes slowly.
const BLOCK_WOKEN_WAITS: u32 = 64;
/// A socket that has seen no message for this long takes its peer to be
/// asleep: every peer's spin budget is far shorter.
const QUIET_GAP: Duration = Duration::from_millis(1);
/// Set once a waiter of this process has gone cold (its peer idles between
/// messages): a new waiter starts one futile spin away from going cold, so
/// that the dozens of sessions of an agent's plugin, whose peers all idle
/// alike, do not each learn it over eight waits (eight seconds, at a call a
/// second).
static IDLE_PEERS_SEEN: AtomicBool = AtomicBool::new(false);
/// Set once a waiter of this process has learned that woken peers answer
/// slowly (what wake-ups cost is the machine's): a new waiter starts one
/// slow wait away from blocking at once for woken peers.
static SLOW_WAKEUPS_SEEN: AtomicBool = AtomicBool::new(false);

/// Sets a process-wide hint, writing its line only the first time.
fn set_hint(hint: &AtomicBool) {
    if !hint.load(Ordering::Relaxed) {
        hint.store(true, Ordering::Relaxed);
    }
}

/// Most yields after which an arrival still says the peer shares this CPU:
/// a peer on this CPU runs at our first yield (the second, if a third task
/// is there) and answers before we run again. Needing more, the peer runs
/// elsewhere and was late (descheduled by the host, or slow to answer).
const SAME_CPU_YIELDS: u32 = 2;

/// The spin budget to use when none is configured: none on a machine with
/// one online CPU (spinning would only burn the peer's time slice), else
/// [`SPIN_BUDGET_DEFAULT`]. Peers pinned to one shared CPU of a larger
/// machine are caught at run time by the adaptations above.
pub(crate) fn auto_spin_budget() -> Duration {
    static CPUS: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    // SAFETY: sysconf reads a system constant; no memory is involved.
    let cpus = *CPUS.get_or_init(|| unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) } as i64);
    if cpus > 1 {
        SPIN_BUDGET_DEFAULT
    } else {
        Duration::ZERO
    }
}

#[cfg(target_os = "linux")]
/// How far apart a receiver's fixed run of checks of its peer's word is
/// meant to be (see [`pauses_per_check`]).
pub(crate) const CHECK_INTERVAL: Duration = Duration::from_nanos(50);
#[cfg(target_os = "linux")]
/// Most spin-loop hints between two checks, whatever the CPU.
const MAX_CHECK_PAUSES: u32 = 16;
#[cfg(target_os = "linux")]
/// Spin-loop hints in one timing of [`pauses_per_check`].
const CALIBRATION_PAUSES: u32 = 256;

#[cfg(target_os = "linux")]
/// Spin-loop hints (`pause` on x86) that take about [`CHECK_INTERVAL`] on
/// this CPU: at least one, at most 16. Timed once per process, which costs
/// a few microseconds.
///
/// The word a receiver polls shares its cache line with the words its
/// peer writes when it answers. Every check pulls the line back, so a
/// check every pause (12 ns on some CPUs, 40 ns on others) makes the peer
/// wait for the line each time it reads or writes it. Checks about 50 ns
/// apart leave it alone long enough, and see an answer at most that late:
/// split over two vCPUs this made our SHM ping-pong about 13 % faster on a
/// CPU with 12 ns pauses (four pauses a check).
pub(crate) fn pauses_per_check() -> u32 {
    static PAUSES: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *PAUSES.get_or_init(|| {
        // The fastest of a few timings: one stretched by an interrupt or a
        // preemption says nothing about the pause.
        let fastest = (0..5)
            .map(|_| {
                let started = Instant::now();
                for _ in 0..CALIBRATION_PAUSES {
                    std::hint::spin_loop();
                }
                started.elapsed()
            })
            .min()
            .unwrap_or_default();
        pauses_for(fastest, CALIBRATION_PAUSES)
    })
}

#[cfg(target_os = "linux")]
/// How many pauses take about [`CHECK_INTERVAL`], given that `pauses` of
/// them took `took`; rounded, and within 1 to [`MAX_CHECK_PAUSES`].
fn pauses_for(took: Duration, pauses: u32) -> u32 {
    let took = took.as_nanos();
    if took == 0 {
        return MAX_CHECK_PAUSES;
    }
    let wanted = CHECK_INTERVAL.as_nanos() * u128::from(pauses);
    let n = (wanted + took / 2) / took;
    n.clamp(1, u128::from(MAX_CHECK_PAUSES)) as u32
}

/// How a spin ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spun {
    /// The message came while pausing.
    Paused,
    /// It came within the first [`SAME_CPU_YIELDS`] yields.
    Yielded,
    /// It came, after more yields than that.
    YieldedLate,
    /// It did not come within the budget.
    Futile,
    /// The wait turned out to be for a sleeping peer, which is known to
    /// wake slowly: it stopped spinning to block.
    Skipped,
}

/// How a spin ended, and what its clock said.
#[derive(Debug, Clone, Copy)]
struct SpinEnd {
    how: Spun,
    /// When the clock was read first, if it was: a wait that ends before
    /// costs no clock read.
    started: Option<Instant>,
    /// How long the spin took from then, when the message came.
    took: Option<Duration>,
    /// Whether the wait found the peer quiet for [`QUIET_GAP`].
    quiet: bool,
}

/// Spinning policy and recent history of one waiter.
#[derive(Debug, Clone)]
pub(crate) struct Spinner {
    budget: Duration,
    /// Consecutive waits that spun their whole budget in vain.
    futile: u32,
    /// Waits left before spinning is tried again.
    cold: u32,
    /// Waits served within [`SAME_CPU_YIELDS`] yields since the last sign of
    /// a peer on another CPU (first-look arrivals count neither way).
    after_yield: u32,
    /// Waits left that yield at once instead of pausing first.
    yield_first: u32,
    /// Consecutive waits served only after a yield, with no message found
    /// at a first look in between.
    yielded_streak: u32,
    /// Consecutive waits for a woken peer that were slow (see
    /// [`SLOW_WOKEN`]); kept at its maximum until a fast one.
    slow_woken: u32,
    /// Waits for woken peers left that block at once.
    block_woken: u32,
    /// When the last message came, if the wait that saw it read the clock
    /// (a wait served before that says the exchange is busy: `None`).
    last_arrival: Option<Instant>,
    /// Whether a wait that finds the peer quiet for [`QUIET_GAP`] takes it
    /// to be asleep (a socket's waiter, which cannot tell otherwise).
    watch_quiet: bool,
}

impl Spinner {
    /// A waiter with `budget`, primed by what the process's other waiters
    /// have learned (see [`IDLE_PEERS_SEEN`] and [`SLOW_WAKEUPS_SEEN`]).
    pub(crate) fn new(budget: Duration) -> Self {
        Self::with_hints(
            budget,
            IDLE_PEERS_SEEN.load(Ordering::Relaxed),
            SLOW_WAKEUPS_SEEN.load(Ordering::Relaxed),
        )
    }

    /// A waiter with `budget`, one futile spin from going cold if
    /// `idle_peers`, and one slow wait for a woken peer from blocking at
    /// once for them if `slow_wakeups`.
    fn with_hints(budget: Duration, idle_peers: bool, slow_wakeups: bool) -> Self {
        let primed = |hint: bool, max: u32| if hint { max - 1 } else { 0 };
        Self {
            budget,
            futile: primed(idle_peers, FUTILE_SPINS_MAX),
            cold: 0,
            after_yield: 0,
            yield_first: 0,
            yielded_streak: 0,
            slow_woken: primed(slow_wakeups, SLOW_WOKEN_MAX),
            block_woken: 0,
            last_arrival: None,
            watch_quiet: false,
        }
    }

    /// This waiter, taking a peer quiet for [`QUIET_GAP`] to be asleep (a
    /// socket's: shared memory knows from its wakes).
    #[cfg(unix)]
    pub(crate) fn watching_quiet(mut self) -> Self {
        self.watch_quiet = true;
        self
    }

    pub(crate) fn set_budget(&mut self, budget: Duration) {
        self.budget = budget;
    }

    /// This spinner, with the budget of `other` (for a second kind of wait
    /// of the same endpoint, which keeps its own history).
    #[cfg(unix)]
    pub(crate) fn with_budget_of(&mut self, other: &Spinner) -> &mut Self {
        self.budget = other.budget;
        self
    }

    /// Whether waits currently yield at once (the peer shares this CPU):
    /// callers then skip any pause-based checks of their own.
    #[cfg(any(target_os = "linux", test))]
    pub(crate) fn yielding(&self) -> bool {
        self.yield_first > 0
    }

    /// Whether waits skip spinning for now (the peer has been idle): a
    /// caller then skips any checks of its own too.
    #[cfg(any(target_os = "linux", test))]
    pub(crate) fn cold(&self) -> bool {
        self.cold > 0
    }

    /// Notes a message found by a caller's own checks: at the first look
    /// (it was waiting already, which says nothing about where the peer
    /// runs), or after some pausing (the peer answered from another CPU).
    pub(crate) fn note_arrival(&mut self, first_look: bool) {
        self.arrived(first_look);
        // Found by the caller's checks: the exchange is busy, not quiet.
        self.last_arrival = None;
    }

    /// What [`Self::note_arrival`] notes of where the peer runs.
    fn arrived(&mut self, first_look: bool) {
        self.futile = 0;
        self.yielded_streak = 0;
        if !first_look {
            self.after_yield = 0;
        }
    }

    /// Notes a message that came while the caller blocked after spinning
    /// (or instead of it): for the socket's measure of quiet.
    #[cfg(unix)]
    pub(crate) fn note_blocked_arrival(&mut self) {
        self.last_arrival = Some(clock::now());
    }

    /// Polls `ready` until it says yes or the budget runs out; whether it
    /// said yes. `ready` is called first of all, before any pause or yield,
    /// unless spinning is off.
    pub(crate) fn spin(&mut self, ready: impl FnMut() -> bool) -> bool {
        self.spin_with(ready, false, std::thread::yield_now)
    }

    /// [`Self::spin`] for a waiter that has just woken its peer: the peer
    /// needs to be scheduled before it can answer, so the wait yields
    /// between checks from the start instead of pausing first. Pausing
    /// would keep a peer that shares this CPU from running, and a peer on
    /// another CPU takes a wake-up latency, far longer than a yield, to
    /// answer anyway.
    #[cfg(target_os = "linux")]
    pub(crate) fn spin_after_wake(&mut self, ready: impl FnMut() -> bool) -> bool {
        self.spin_with(ready, true, std::thread::yield_now)
    }

    /// [`Self::spin`], yielding at once if `woke_peer`, with `yield_now`
    /// to give the CPU away.
    fn spin_with(
        &mut self,
        mut ready: impl FnMut() -> bool,
        woke_peer: bool,
        mut yield_now: impl FnMut(),
    ) -> bool {
        if self.budget.is_zero() {
            return false;
        }
        if self.cold > 0 {
            self.cold -= 1;
            return false;
        }
        // A peer that had to be woken, and that wakes slowly: block at once.
        if woke_peer && self.block_woken > 0 {
            self.block_woken -= 1;
            return false;
        }
        // Look once before pausing or yielding, unless the peer shares our
        // CPU and the last messages all came only after a yield (strict
        // ping-pong): then the message cannot be there yet, and with a
        // socket the look is a syscall. Pipelined messages, which wait
        // already, break such a streak, and so does an answer found by the
        // look that a streak still takes now and then.
        let skip_look = self.yield_first > 0
            && self.yielded_streak >= PING_PONG_STREAK
            && !streak_looks(self.yielded_streak);
        if !skip_look && ready() {
            self.note_arrival(true);
            return true;
        }
        let yield_at_once = if self.yield_first > 0 {
            self.yield_first -= 1;
            true
        } else {
            woke_peer
        };
        // A socket's peer quiet for long is asleep: this wait is for a
        // woken peer, found out when the clock is first read.
        let quiet_since = if woke_peer || !self.watch_quiet {
            None
        } else {
            self.last_arrival
        };
        // Arrivals are timed (one clock read more) only where the time is
        // learned from: waits for a woken peer, and a socket's quiet.
        let timed = woke_peer || self.watch_quiet;
        let end = spin_for(
            self.budget,
            yield_at_once,
            (quiet_since, self.block_woken > 0, timed),
            &mut ready,
            &mut yield_now,
        );
        let outcome = end.how;
        self.learn_woken(woke_peer || end.quiet, &end);
        match outcome {
            // The peer answered from another CPU.
            Spun::Paused | Spun::YieldedLate => self.arrived(false),
            Spun::Yielded => {
                self.futile = 0;
                // At the counter's end, back to the widest gap's first look
                // (a counter stuck at its end would never look again).
                self.yielded_streak = self.yielded_streak.checked_add(1).unwrap_or(STREAK_LOOK_MAX);
                self.after_yield += 1;
                if self.after_yield >= YIELD_ARRIVALS_MAX && self.yield_first == 0 {
                    self.after_yield = 0;
                    self.yield_first = YIELD_FIRST_WAITS;
                }
            }
            Spun::Futile => {
                self.yielded_streak = 0;
                self.after_yield = 0;
                self.futile += 1;
                if self.futile >= FUTILE_SPINS_MAX {
                    // Once cold, one futile spin after the cold waits
                    // makes it cold again: a peer that idled this long
                    // most likely still does (a message resets the count).
                    self.futile = FUTILE_SPINS_MAX - 1;
                    self.cold = COLD_WAITS;
                    set_hint(&IDLE_PEERS_SEEN);
                }
            }
            Spun::Skipped => {}
        }
        outcome != Spun::Futile && outcome != Spun::Skipped
    }

    /// Learns from a wait that ended `end`, whether its peer had to be
    /// woken (`woken`), how fast woken peers answer; and when the message
    /// came, if the clock says.
    fn learn_woken(&mut self, woken: bool, end: &SpinEnd) {
        self.last_arrival = match (end.started, end.took) {
            (Some(started), Some(took)) => Some(started + took),
            _ => None,
        };
        if end.how == Spun::Skipped {
            self.block_woken = self.block_woken.saturating_sub(1);
            return;
        }
        if !woken {
            return;
        }
        let slow = end.how == Spun::Futile || end.took.is_some_and(|t| t > SLOW_WOKEN);
        if !slow {
            self.slow_woken = 0;
            return;
        }
        self.slow_woken = (self.slow_woken + 1).min(SLOW_WOKEN_MAX);
        if self.slow_woken >= SLOW_WOKEN_MAX {
            self.block_woken = BLOCK_WOKEN_WAITS;
            set_hint(&SLOW_WAKEUPS_SEEN);
        }
    }
}

/// Whether a wait that comes `streak` waits into a ping-pong streak takes
/// its first look anyway: the 16th, 32nd, 64th, 128th and 256th do, then
/// every 256th.
fn streak_looks(streak: u32) -> bool {
    // The largest power of two not above `streak`, within the gaps' bounds.
    let gap = streak.checked_ilog2().map_or(0, |bits| 1u32 << bits);
    streak.is_multiple_of(gap.clamp(STREAK_LOOK_FIRST, STREAK_LOOK_MAX))
}

/// Spins until `ready` or the budget runs out. The third argument says
/// when the last message came (if known), whether a wait that finds the
/// peer quiet since then for [`QUIET_GAP`] is to stop and block (the peer
/// is asleep, and known to wake slowly; looked at when the clock is first
/// read), and whether an arrival after the clock started is timed.
fn spin_for(
    budget: Duration,
    yield_at_once: bool,
    (quiet_since, block_quiet, timed): (Option<Instant>, bool, bool),
    ready: &mut impl FnMut() -> bool,
    yield_now: &mut impl FnMut(),
) -> SpinEnd {
    // The clock starts at the first look at it, so a message that comes
    // at the first checks (the common case) costs no clock read; the budget
    // only grows by the pause runs or the yield before that look.
    let mut end = SpinEnd {
        how: Spun::Futile,
        started: None,
        took: None,
        quiet: false,
    };
    // Whether the budget has run out, or the wait is to block at once.
    let out_of = |end: &mut SpinEnd, budget: Duration| {
        let started = match end.started {
            Some(started) => started,
            None => {
                let now = clock::now();
                end.started = Some(now);
                end.quiet = quiet_since.is_some_and(|last| now.saturating_duration_since(last) > QUIET_GAP);
                if end.quiet && block_quiet {
                    end.how = Spun::Skipped;
                    return true;
                }
                now
            }
        };
        clock::now().saturating_duration_since(started) >= budget
    };
    // The message came: how, and when (if the clock was read, and the
    // time is wanted).
    let arrived = |mut end: SpinEnd, how: Spun| {
        end.took = end
            .started
            .filter(|_| timed)
            .map(|s| clock::now().saturating_duration_since(s));
        end.how = how;
        end
    };
    if !yield_at_once {
        // Pause between checks, in runs that double up to a cap, for a
        // fifth of the budget: a peer on another CPU answers within it, and
        // a check of an unchanged word costs only a cache hit.
        let pause_budget = budget / 5;
        let mut pauses = 1;
        loop {
            for _ in 0..pauses {
                std::hint::spin_loop();
            }
            if ready() {
                return arrived(end, Spun::Paused);
            }
            if pauses < MAX_PAUSE_RUN {
                pauses *= 2;
            } else if out_of(&mut end, pause_budget) {
                if end.how == Spun::Skipped {
                    return end;
                }
                break;
            }
        }
    }
    // Then give the CPU away between checks, in case the peer needs it.
    let mut yields = 0;
    loop {
        yield_now();
        yields += 1;
        if ready() {
            let how = if yields <= SAME_CPU_YIELDS {
                Spun::Yielded
            } else {
                Spun::YieldedLate
            };
            return arrived(end, how);
        }
        if out_of(&mut end, budget) {
            return end;
        }
    }
}

/// The clock of the spin budgets. The unit tests below count time in clock
/// reads instead (a microsecond each), plus what a test lets pass with
/// [`clock::advance`] (a slow peer), so that a test thread the machine
/// deschedules in the middle of a spin still sees it end as it would have.
mod clock {
    use std::time::Instant;

    #[cfg(not(test))]
    #[inline]
    pub(super) fn now() -> Instant {
        Instant::now()
    }

    #[cfg(test)]
    std::thread_local! {
        static START: Instant = Instant::now();
        static MICROS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }

    #[cfg(test)]
    pub(super) fn now() -> Instant {
        advance(std::time::Duration::from_micros(1));
        START.with(|start| *start + std::time::Duration::from_micros(MICROS.with(|m| m.get())))
    }

    /// Lets `by` pass on this thread's clock.
    #[cfg(test)]
    pub(super) fn advance(by: std::time::Duration) {
        MICROS.with(|m| m.set(m.get() + by.as_micros() as u64));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A waiter that knows nothing of the process's other waiters (the
    /// hints are process-wide, and tests run side by side).
    fn fresh(budget: Duration) -> Spinner {
        Spinner::with_hints(budget, false, false)
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn checks_are_spaced_by_as_many_pauses_as_make_the_interval() {
        let ns = Duration::from_nanos;
        // 256 pauses of 11.9 ns: four make 48 ns.
        assert_eq!(pauses_for(ns(3046), 256), 4);
        // 40 ns pauses: one is nearest to 50 ns.
        assert_eq!(pauses_for(ns(10_240), 256), 1);
        // Slower than the interval still checks after one pause.
        assert_eq!(pauses_for(ns(100_000), 256), 1);
        // Nearly free pauses, or a clock too coarse to time them: the cap.
        assert_eq!(pauses_for(ns(100), 256), MAX_CHECK_PAUSES);
        assert_eq!(pauses_for(Duration::ZERO, 256), MAX_CHECK_PAUSES);
        let measured = pauses_per_check();
        assert!((1..=MAX_CHECK_PAUSES).contains(&measured));
        assert_eq!(pauses_per_check(), measured, "timed once per process");
    }

    /// Long enough that a test thread stalled by its neighbours does not
    /// run out of budget before its check turns true.
    const BUDGET: Duration = Duration::from_millis(20);

    /// A check that says yes from its `n`-th call on (1-based).
    fn ready_from(n: u32) -> impl FnMut() -> bool {
        let mut calls = 0;
        move || {
            calls += 1;
            calls >= n
        }
    }

    #[test]
    fn a_waiting_message_is_taken_at_the_first_look() {
        let mut s = fresh(BUDGET);
        let mut calls = 0;
        assert!(s.spin(|| {
            calls += 1;
            true
        }));
        assert_eq!(calls, 1);
        assert_eq!((s.after_yield, s.yielded_streak, s.yield_first), (0, 0, 0));
    }

    /// A yielder that counts its yields, and a check that turns true once
    /// `n` yields were made (never while pausing).
    fn after_yields(n: u32) -> (impl FnMut() -> bool, impl FnMut()) {
        let yields = std::rc::Rc::new(std::cell::Cell::new(0));
        let seen = yields.clone();
        (move || seen.get() >= n, move || yields.set(yields.get() + 1))
    }

    #[test]
    fn messages_that_need_a_yield_switch_to_yielding_first() {
        let mut s = fresh(BUDGET);
        // Each wait: no message at the first look, nor during the pause
        // phase; it is there right after the first yield.
        for _ in 0..YIELD_ARRIVALS_MAX {
            assert!(!s.yielding());
            let (ready, yielder) = after_yields(1);
            assert!(s.spin_with(ready, false, yielder));
        }
        assert!(s.yielding());
        assert_eq!(s.yielded_streak, YIELD_ARRIVALS_MAX);
    }

    #[test]
    fn messages_that_need_many_yields_come_from_another_cpu() {
        // Waits that yield at once (as after a wake), so that no pause
        // phase busy-spins for milliseconds, which a loaded test machine
        // may stretch past the budget.
        let mut s = fresh(LONG);
        // A peer on another CPU that was late (say, descheduled by the
        // host): its message comes only after many yields.
        for _ in 0..3 * YIELD_ARRIVALS_MAX {
            let (ready, yielder) = after_yields(SAME_CPU_YIELDS + 5);
            assert!(s.spin_with(ready, true, yielder), "{s:?}");
            assert_eq!(s.after_yield, 0);
        }
        assert!(!s.yielding(), "late messages never switch to yielding first");
        // One that needed a yield or two still counts.
        let (ready, yielder) = after_yields(SAME_CPU_YIELDS);
        assert!(s.spin_with(ready, true, yielder));
        assert_eq!(s.after_yield, 1);
    }

    #[test]
    fn waiting_messages_do_not_break_the_yield_count() {
        let mut s = fresh(BUDGET);
        for _ in 0..YIELD_ARRIVALS_MAX {
            let (ready, yielder) = after_yields(1);
            assert!(s.spin_with(ready, false, yielder));
            // A pipelined message, there at the first look.
            assert!(s.spin(|| true));
        }
        assert!(
            s.yielding(),
            "first-look arrivals say nothing about the peer's CPU"
        );
    }

    #[test]
    fn a_message_that_comes_while_pausing_resets_the_yield_count() {
        let mut s = fresh(BUDGET);
        let (ready, yielder) = after_yields(1);
        assert!(s.spin_with(ready, false, yielder));
        assert_eq!(s.after_yield, 1);
        assert!(s.spin(ready_from(3)));
        assert_eq!(s.after_yield, 0);
    }

    #[test]
    fn strict_ping_pong_skips_the_first_look() {
        let mut s = fresh(BUDGET);
        s.yield_first = YIELD_FIRST_WAITS;
        s.yielded_streak = PING_PONG_STREAK;
        // Ready at the first call: had the first look been taken, this would
        // count as a waiting message and end the streak.
        assert!(s.spin(ready_from(1)));
        assert_eq!(s.yielded_streak, PING_PONG_STREAK + 1);
        // Below the streak the first look is taken.
        s.yielded_streak = PING_PONG_STREAK - 1;
        assert!(s.spin(ready_from(1)));
        assert_eq!(s.yielded_streak, 0);
    }

    #[test]
    fn a_streak_still_looks_first_now_and_then() {
        let mut s = fresh(BUDGET);
        s.yield_first = YIELD_FIRST_WAITS;
        // Strict ping-pong: nothing at any first look, the message right
        // after the first yield. Waits that yield at once check in vain
        // only at their first look: count those checks.
        let mut first_looks = 0;
        for _ in 0..STREAK_LOOK_MAX * 4 {
            let (mut ready, yielder) = after_yields(1);
            let counted = || {
                let here = ready();
                first_looks += u32::from(!here);
                here
            };
            assert!(s.spin_with(counted, false, yielder));
        }
        // The first PING_PONG_STREAK waits look first while the streak
        // builds; then the 16th, 32nd, 64th and 128th of the streak do,
        // and the 256th, 512th and 768th.
        assert_eq!(first_looks, PING_PONG_STREAK + 4 + 3);
        // A look that finds the answer waiting (the peer answered while we
        // sent) ends the streak: the next waits look first again.
        s.yielded_streak = STREAK_LOOK_MAX * 5;
        assert!(s.spin(ready_from(1)));
        assert_eq!(s.yielded_streak, 0);
    }

    #[test]
    fn streak_looks_spread_out_up_to_the_widest_gap() {
        let looks: Vec<u32> = (PING_PONG_STREAK..2048).filter(|&n| streak_looks(n)).collect();
        assert_eq!(looks, [16, 32, 64, 128, 256, 512, 768, 1024, 1280, 1536, 1792]);
        assert!(!streak_looks(u32::MAX));
    }

    #[test]
    fn a_streak_past_the_counters_end_still_looks() {
        let mut s = fresh(BUDGET);
        s.yield_first = YIELD_FIRST_WAITS;
        s.yielded_streak = u32::MAX;
        // No look at the counter's end: the message comes after the yield.
        let (ready, yielder) = after_yields(1);
        assert!(s.spin_with(ready, false, yielder));
        assert_eq!(s.yielded_streak, STREAK_LOOK_MAX);
        // The next wait looks, and a waiting answer ends the streak.
        assert!(s.spin(ready_from(1)));
        assert_eq!(s.yielded_streak, 0);
    }

    /// Spins once for a message that comes right after the first yield;
    /// how many checks that took.
    fn checks_until_first_yield_arrival(s: &mut Spinner, woke_peer: bool) -> u32 {
        let checks = std::cell::Cell::new(0);
        let (mut ready, yielder) = after_yields(1);
        let counted = || {
            checks.set(checks.get() + 1);
            ready()
        };
        assert!(s.spin_with(counted, woke_peer, yielder));
        checks.get()
    }

    #[test]
    fn a_waiter_that_woke_its_peer_yields_at_once() {
        let mut s = fresh(BUDGET);
        // The first look, then the check after the first yield: no pause
        // phase in between.
        assert_eq!(checks_until_first_yield_arrival(&mut s, true), 2);
        assert!(!s.yielding(), "one such wait does not switch modes");
    }

    #[test]
    fn a_waiter_that_did_not_wake_its_peer_pauses_first() {
        let mut s = fresh(BUDGET);
        let checks = checks_until_first_yield_arrival(&mut s, false);
        assert!(checks > 2, "checks between pauses come before any yield");
    }

    #[test]
    fn futile_spins_suspend_spinning() {
        let mut s = fresh(Duration::from_micros(20));
        for _ in 0..FUTILE_SPINS_MAX {
            assert!(!s.spin(|| false));
        }
        let mut calls = 0;
        assert!(!s.spin(|| {
            calls += 1;
            true
        }));
        assert_eq!(calls, 0, "a cold waiter goes straight to its blocking wait");
        assert_eq!(s.cold, COLD_WAITS - 1);
        // After the cold waits, one futile spin makes it cold again; a
        // message in between starts the count anew.
        for _ in 1..COLD_WAITS {
            assert!(!s.spin(|| true));
        }
        assert!(!s.spin(|| false));
        assert_eq!(s.cold, COLD_WAITS);
        s.cold = 0;
        assert!(s.spin(|| true));
        assert!(!s.spin(|| false));
        assert_eq!((s.cold, s.futile), (0, 1));
    }

    #[test]
    fn no_budget_means_no_spinning() {
        let mut s = fresh(Duration::ZERO);
        assert!(!s.spin(|| true));
    }

    /// A budget that no stall of a loaded test machine exhausts, for waits
    /// that yield at once (no pause phase burns it).
    const LONG: Duration = Duration::from_secs(5);

    /// A yielder that sleeps `each` per yield and counts its yields, and a
    /// check that turns true once `n` yields were made.
    fn slow_yields(n: u32, each: Duration) -> (impl FnMut() -> bool, impl FnMut()) {
        let yields = std::rc::Rc::new(std::cell::Cell::new(0));
        let seen = yields.clone();
        (
            move || seen.get() >= n,
            move || {
                clock::advance(each);
                yields.set(yields.get() + 1)
            },
        )
    }

    #[test]
    fn woken_peers_that_answer_slowly_are_waited_for_blocking() {
        let mut s = fresh(LONG);
        // Each answer comes after three yields of a millisecond: later than
        // a sleep and a wake-up of our own would take.
        for _ in 0..SLOW_WOKEN_MAX {
            let (ready, yielder) = slow_yields(3, Duration::from_millis(1));
            assert!(s.spin_with(ready, true, yielder));
        }
        assert_eq!(s.block_woken, BLOCK_WOKEN_WAITS);
        // The next waits for a woken peer block at once: no check at all.
        for _ in 0..BLOCK_WOKEN_WAITS {
            let mut calls = 0;
            assert!(!s.spin_with(
                || {
                    calls += 1;
                    true
                },
                true,
                || {}
            ));
            assert_eq!(calls, 0);
        }
        // Waits for a peer that is awake still spin.
        assert!(s.spin(ready_from(3)));
        // Then one spins again, to see: slow still, so blocking resumes.
        let (ready, yielder) = slow_yields(3, Duration::from_millis(1));
        assert!(s.spin_with(ready, true, yielder));
        assert_eq!(s.block_woken, BLOCK_WOKEN_WAITS);
    }

    #[test]
    fn woken_peers_that_answer_at_once_keep_the_spin() {
        let mut s = fresh(LONG);
        // A peer on this CPU, woken by our message, answers once we yield.
        for _ in 0..4 * SLOW_WOKEN_MAX {
            let (ready, yielder) = after_yields(1);
            assert!(s.spin_with(ready, true, yielder));
        }
        assert_eq!((s.slow_woken, s.block_woken), (0, 0));
        // One fast answer among slow ones starts the count again.
        let mut s = fresh(LONG);
        for _ in 0..SLOW_WOKEN_MAX - 1 {
            let (ready, yielder) = slow_yields(3, Duration::from_millis(1));
            assert!(s.spin_with(ready, true, yielder));
        }
        let (ready, yielder) = after_yields(1);
        assert!(s.spin_with(ready, true, yielder));
        assert_eq!((s.slow_woken, s.block_woken), (0, 0));
    }

    #[test]
    fn a_socket_quiet_for_long_waits_for_a_woken_peer() {
        let mut s = fresh(LONG).watching_quiet();
        s.block_woken = 2;
        // The last message came long ago: the peer is asleep, and known to
        // wake slowly, so the wait stops at its first look at the clock.
        s.last_arrival = clock::now().checked_sub(QUIET_GAP * 10);
        let mut checks = 0;
        assert!(!s.spin(|| {
            checks += 1;
            false
        }));
        assert!(checks < 64, "{checks} checks");
        assert_eq!(s.block_woken, 1);
        // A message that came just now is no quiet: the wait spins.
        s.last_arrival = Some(clock::now());
        assert!(s.spin(ready_from(50)));
        // With nothing learned, a quiet wait spins, and counts if slow: a
        // message that comes at the 20th check, each a tenth of a
        // millisecond from the clock's start on.
        let mut s = fresh(Duration::from_secs(10)).watching_quiet();
        s.last_arrival = clock::now().checked_sub(QUIET_GAP * 10);
        let mut checks = 0;
        let slow_checks = || {
            checks += 1;
            if checks > 5 {
                clock::advance(Duration::from_micros(100));
            }
            checks >= 20
        };
        assert!(s.spin(slow_checks));
        assert_eq!(s.slow_woken, 1);
        assert!(s.last_arrival.is_some(), "a timed arrival is noted");
        // A message found at the first look says the exchange is busy.
        assert!(s.spin(|| true));
        assert!(s.last_arrival.is_none());
        // Shared memory's waiters do not guess: a wait after a long quiet
        // spins.
        let mut s = fresh(LONG);
        s.block_woken = 2;
        s.last_arrival = clock::now().checked_sub(QUIET_GAP * 10);
        assert!(s.spin(ready_from(50)));
        assert_eq!(s.block_woken, 2);
    }

    #[test]
    fn a_primed_waiter_learns_in_one_wait() {
        let mut s = Spinner::with_hints(Duration::from_micros(20), true, true);
        assert!(!s.spin(|| false));
        assert!(s.cold(), "one futile spin made it cold");
        let mut s = Spinner::with_hints(LONG, true, true);
        let (ready, yielder) = slow_yields(3, Duration::from_millis(1));
        assert!(s.spin_with(ready, true, yielder));
        assert_eq!(s.block_woken, BLOCK_WOKEN_WAITS);
    }
}

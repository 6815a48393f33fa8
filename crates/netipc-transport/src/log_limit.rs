//! A limit on log lines of one kind, so that a hostile or broken peer
//! cannot flood the application's log.
//!
//! Each kind of event (a refused session, a failed handshake, ...) has one
//! [`LogLimit`]: the first `burst` lines of each interval are written, the
//! rest are counted, and the next line written after them says how many
//! were left out. Nothing is counted, and no clock is read, while the
//! application has no logger that would take the line.
//!
//! The limiter is a few atomics, shared by every thread of the process; at
//! the turn of an interval two threads may both write a line beyond the
//! burst, which is the only imprecision.

use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The instant intervals are counted from: the first use of any limiter.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// The log lines of one kind of event: at most `burst` per interval, then
/// a count of those left out.
///
/// ```
/// use netipc::transport::LogLimit;
/// use std::time::Duration;
/// static REFUSED: LogLimit = LogLimit::new("refused session", 2, Duration::from_secs(60));
/// // With a logger installed, the first two lines of a minute are written.
/// REFUSED.log(log::Level::Warn, module_path!(), format_args!("refused pid {}", 42));
/// ```
#[derive(Debug)]
pub struct LogLimit {
    kind: &'static str,
    burst: u32,
    interval: Duration,
    /// The interval being counted, plus one (zero: none yet).
    window: AtomicU64,
    /// Lines admitted in that interval.
    count: AtomicU32,
    /// Lines left out since the last one written.
    suppressed: AtomicU64,
}

impl LogLimit {
    /// A limiter of `burst` lines per `interval` for events of `kind` (a
    /// short name, used in the line that reports what was left out). An
    /// interval under a millisecond counts as one millisecond.
    pub const fn new(kind: &'static str, burst: u32, interval: Duration) -> Self {
        Self {
            kind,
            burst,
            interval,
            window: AtomicU64::new(0),
            count: AtomicU32::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    fn current_window(&self) -> u64 {
        let ms = self.interval.as_millis().max(1);
        (epoch().elapsed().as_millis() / ms) as u64 + 1
    }

    /// Whether a line may be written now: `Some(n)` when it may, `n` being
    /// the lines left out since the last one written; `None` when it is
    /// to be left out (it is counted).
    pub fn admit(&self) -> Option<u64> {
        let now = self.current_window();
        let seen = self.window.load(Ordering::Relaxed);
        if seen != now
            && self
                .window
                .compare_exchange(seen, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.count.store(0, Ordering::Relaxed);
        }
        if self.count.load(Ordering::Relaxed) < self.burst
            && self.count.fetch_add(1, Ordering::Relaxed) < self.burst
        {
            Some(self.suppressed.swap(0, Ordering::Relaxed))
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            None
        }
    }

    /// Writes `args` at `level` to `target` through the `log` facade,
    /// within the limit; a line written after some were left out is
    /// preceded by one that counts them. Does nothing, not even count,
    /// when no logger takes lines of `level` from `target`.
    pub fn log(&self, level: log::Level, target: &str, args: fmt::Arguments<'_>) {
        if !log::log_enabled!(target: target, level) {
            return;
        }
        if let Some(left_out) = self.admit() {
            if left_out > 0 {
                log::log!(
                    target: target,
                    level,
                    "{left_out} more '{}' lines were suppressed (at most {} per {:?})",
                    self.kind,
                    self.burst,
                    self.interval
                );
            }
            log::log!(target: target, level, "{args}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_lines_are_counted_until_the_next_interval() {
        let limit = LogLimit::new("test", 3, Duration::from_millis(200));
        // Start at the beginning of an interval, so the burst is not split.
        let start = limit.current_window();
        while limit.current_window() == start {
            std::thread::yield_now();
        }
        let window = limit.current_window();
        let verdicts: Vec<_> = (0..10).map(|_| limit.admit()).collect();
        if limit.current_window() != window {
            // The machine stalled for a whole interval: nothing to judge.
            return;
        }
        assert_eq!(&verdicts[..3], &[Some(0), Some(0), Some(0)]);
        assert!(verdicts[3..].iter().all(Option::is_none), "{verdicts:?}");
        while limit.current_window() == window {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(limit.admit(), Some(7), "the next line reports the seven left out");
        assert_eq!(limit.admit(), Some(0));
    }

    #[test]
    fn a_zero_burst_suppresses_everything() {
        let limit = LogLimit::new("never", 0, Duration::from_secs(3600));
        assert_eq!(limit.admit(), None);
        assert_eq!(limit.admit(), None);
        assert_eq!(limit.suppressed.load(Ordering::Relaxed), 2);
    }
}

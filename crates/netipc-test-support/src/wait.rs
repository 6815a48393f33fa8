//! Waits with a deadline, for things that happen without a signal to wait
//! on (a count that settles, a thread that finishes).
//!
//! A deadline here only keeps a broken test from hanging: it is far beyond
//! any delay a loaded machine shows, and a test never asserts that
//! something happened *soon*. What ended a wait (an error kind, a signal, a
//! handler still held) is checked instead.

use std::time::{Duration, Instant};

/// How long a test waits for something that is bound to happen before it
/// gives up and fails.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Calls `cond` until it returns true (then true) or `limit` has passed
/// (then false). Yields between calls, and after a while sleeps a
/// millisecond, so that a long wait leaves the CPU to the others.
pub fn poll_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    let mut polls = 0u32;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        polls += 1;
        if polls < 1000 {
            std::thread::yield_now();
        } else {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Calls `cond` until it returns true; panics, naming `what`, if that does
/// not happen within [`PATIENCE`].
pub fn wait_until(what: &str, cond: impl FnMut() -> bool) {
    assert!(poll_until(PATIENCE, cond), "{what}: not after {PATIENCE:?}");
}

/// Runs `f` on a thread and returns what it returns; panics, naming
/// `what`, if it is still running after `limit` (the thread is left
/// behind), or if it panicked.
pub fn finishes_within<T: Send + 'static>(
    limit: Duration,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let t = std::thread::spawn(f);
    assert!(
        poll_until(limit, || t.is_finished()),
        "{what}: still blocked after {limit:?}"
    );
    t.join()
        .unwrap_or_else(|_| panic!("{what}: panicked (see above)"))
}

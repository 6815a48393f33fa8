//! The only place that turns mapped bytes into atomics, and the futex calls
//! on them. Everything else in the SHM transport goes through [`Words`].

use std::sync::atomic::{AtomicU32, AtomicU64};
use std::time::Duration;

/// Offsets of the atomic fields of the 64-byte region header.
pub(super) const OFF_REQ_SEQ: usize = 32;
pub(super) const OFF_RESP_SEQ: usize = 40;
pub(super) const OFF_REQ_LEN: usize = 48;
pub(super) const OFF_RESP_LEN: usize = 52;
pub(super) const OFF_REQ_SIGNAL: usize = 56;
pub(super) const OFF_RESP_SIGNAL: usize = 60;

/// One direction's words: sequence, length and futex signal.
#[derive(Debug, Clone, Copy)]
pub(super) struct Lane {
    pub seq: usize,
    pub len: usize,
    pub signal: usize,
}

pub(super) const REQUEST: Lane = Lane {
    seq: OFF_REQ_SEQ,
    len: OFF_REQ_LEN,
    signal: OFF_REQ_SIGNAL,
};
pub(super) const RESPONSE: Lane = Lane {
    seq: OFF_RESP_SEQ,
    len: OFF_RESP_LEN,
    signal: OFF_RESP_SIGNAL,
};

/// Atomic access to the header words of a live mapping.
///
/// Holds the mapping's base address; the owner of the mapping keeps it
/// mapped for as long as this value exists (both live in one struct).
#[derive(Debug)]
pub(super) struct Words {
    base: *mut u8,
}

// SAFETY: the words are accessed only through atomics and futex calls, which
// are designed for concurrent use from any thread (and process).
unsafe impl Send for Words {}

impl Words {
    /// # Safety
    /// `base` must point to a page-aligned shared mapping of at least 64
    /// bytes that stays mapped for the lifetime of the returned value.
    pub(super) unsafe fn new(base: *mut u8) -> Self {
        Self { base }
    }

    fn u64(&self, off: usize) -> &AtomicU64 {
        debug_assert!(off.is_multiple_of(8) && off + 8 <= 64);
        // SAFETY: `off` is one of the 8-aligned header offsets, inside the
        // live mapping (see `new`); the mapping is page aligned.
        unsafe { AtomicU64::from_ptr(self.base.add(off).cast()) }
    }

    fn u32(&self, off: usize) -> &AtomicU32 {
        debug_assert!(off.is_multiple_of(4) && off + 4 <= 64);
        // SAFETY: as for `u64`, with 4-byte alignment.
        unsafe { AtomicU32::from_ptr(self.base.add(off).cast()) }
    }

    /// Publishes a message of `len` bytes already written to the lane's area:
    /// length, then sequence (both release), then the signal bump. The
    /// futex wake is the caller's, through [`Words::wake`].
    ///
    /// This side is the only writer of its lane's words, so plain stores of
    /// the next values do what an atomic increment would, without a locked
    /// instruction on a cache line the peer is polling.
    pub(super) fn publish(&self, lane: Lane, len: u32) {
        use std::sync::atomic::Ordering::{Relaxed, Release};
        self.u32(lane.len).store(len, Release);
        let seq = self.u64(lane.seq);
        seq.store(seq.load(Relaxed).wrapping_add(1), Release);
        let signal = self.u32(lane.signal);
        signal.store(signal.load(Relaxed).wrapping_add(1), Release);
    }

    /// Wakes every waiter sleeping on the lane's signal word; whether
    /// there was one.
    pub(super) fn wake(&self, lane: Lane) -> bool {
        futex_wake(self.u32(lane.signal))
    }

    /// The lane's sequence number (acquire).
    #[inline]
    pub(super) fn seq(&self, lane: Lane) -> u64 {
        self.u64(lane.seq).load(std::sync::atomic::Ordering::Acquire)
    }

    /// The lane's message length (acquire).
    #[inline]
    pub(super) fn len(&self, lane: Lane) -> u32 {
        self.u32(lane.len).load(std::sync::atomic::Ordering::Acquire)
    }

    /// The lane's signal word (acquire).
    #[inline]
    pub(super) fn signal(&self, lane: Lane) -> u32 {
        self.u32(lane.signal).load(std::sync::atomic::Ordering::Acquire)
    }

    /// Sleeps while the lane's signal word still equals `seen`, at most `max`.
    /// Returns early on a wake, a signal or a changed word.
    pub(super) fn wait(&self, lane: Lane, seen: u32, max: Duration) {
        futex_wait(self.u32(lane.signal), seen, max);
    }
}

/// Whether the wake found a sleeper.
fn futex_wake(word: &AtomicU32) -> bool {
    // SAFETY: FUTEX_WAKE on a valid, aligned u32 in shared memory; no other
    // memory is touched. Not FUTEX_PRIVATE: the peer is another process.
    let woken = unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE,
            i32::MAX,
            0usize,
            0usize,
            0u32,
        )
    };
    woken > 0
}

fn futex_wait(word: &AtomicU32, expected: u32, max: Duration) {
    let ts = libc::timespec {
        tv_sec: max.as_secs().min(i32::MAX as u64) as libc::time_t,
        tv_nsec: max.subsec_nanos() as libc::c_long,
    };
    // SAFETY: FUTEX_WAIT reads the aligned u32 and sleeps at most `ts`
    // (a relative timeout); it writes no memory of ours.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            &ts as *const libc::timespec,
            0usize,
            0u32,
        );
    }
}

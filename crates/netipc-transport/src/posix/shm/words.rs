//! The only place that turns mapped bytes into atomics, and the futex calls
//! on them. Everything else in the SHM transport goes through [`Words`].
//!
//! The peer process reads and writes the header while we do, so no
//! reference to header memory is ever made: every field is reached through
//! an atomic made from a raw pointer (`AtomicU32::from_ptr`), which is what
//! both processes use on these words.

use crate::region_layout::AreaFields;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicU16, AtomicU32, AtomicU64};
use std::time::Duration;

/// Offsets of the set-up fields of the 64-byte region header.
const OFF_MAGIC: usize = 0;
const OFF_VERSION: usize = 4;
const OFF_HEADER_LEN: usize = 6;
const OFF_OWNER_PID: usize = 8;
const OFF_OWNER_GENERATION: usize = 12;
const OFF_REQ_OFFSET: usize = 16;
const OFF_REQ_CAPACITY: usize = 20;
const OFF_RESP_OFFSET: usize = 24;
const OFF_RESP_CAPACITY: usize = 28;
/// Offsets of the atomic fields of the 64-byte region header.
pub(super) const OFF_REQ_SEQ: usize = 32;
pub(super) const OFF_RESP_SEQ: usize = 40;
pub(super) const OFF_REQ_LEN: usize = 48;
pub(super) const OFF_RESP_LEN: usize = 52;
pub(super) const OFF_REQ_SIGNAL: usize = 56;
pub(super) const OFF_RESP_SIGNAL: usize = 60;

/// The header fields the creator writes once, before the region is
/// announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SetUp {
    pub magic: u32,
    pub version: u16,
    pub header_len: u16,
    pub owner_pid: i32,
    pub owner_generation: u32,
    pub areas: AreaFields,
}

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
// SAFETY: as for `Send`: every access through `&Words` is an atomic load,
// store or futex call, safe from several threads at once.
unsafe impl Sync for Words {}

impl Words {
    /// # Safety
    /// `base` must point to a page-aligned shared mapping of at least 64
    /// bytes that stays mapped, and backed by its file (not truncated: see
    /// the module docs of `shm` on SIGBUS), for the lifetime of the
    /// returned value.
    pub(super) unsafe fn new(base: *mut u8) -> Self {
        Self { base }
    }

    fn u64(&self, off: usize) -> &AtomicU64 {
        debug_assert!(off.is_multiple_of(8) && off + 8 <= 64);
        // SAFETY: `off` is one of the 8-aligned header offsets, inside the
        // live mapping (see `new`); the mapping is page aligned. The other
        // process writes these bytes too, only atomically (the reference
        // implementations use atomics on the same words), and we never make
        // a plain reference to them: sharing them through an atomic is
        // sound. The `&AtomicU64` lives no longer than `self`.
        unsafe { AtomicU64::from_ptr(self.base.add(off).cast()) }
    }

    fn u32(&self, off: usize) -> &AtomicU32 {
        debug_assert!(off.is_multiple_of(4) && off + 4 <= 64);
        // SAFETY: as for `u64`, with 4-byte alignment.
        unsafe { AtomicU32::from_ptr(self.base.add(off).cast()) }
    }

    fn u16(&self, off: usize) -> &AtomicU16 {
        debug_assert!(off.is_multiple_of(2) && off + 2 <= 64);
        // SAFETY: as for `u64`, with 2-byte alignment.
        unsafe { AtomicU16::from_ptr(self.base.add(off).cast()) }
    }

    /// Writes the set-up fields into a zeroed header: the magic last, with
    /// a release store, so that whoever sees the magic (acquire, in
    /// [`Words::read_set_up`]) sees every other field too.
    pub(super) fn write_set_up(&self, s: &SetUp) {
        self.u16(OFF_VERSION).store(s.version, Relaxed);
        self.u16(OFF_HEADER_LEN).store(s.header_len, Relaxed);
        self.u32(OFF_OWNER_PID).store(s.owner_pid as u32, Relaxed);
        self.u32(OFF_OWNER_GENERATION).store(s.owner_generation, Relaxed);
        self.u32(OFF_REQ_OFFSET).store(s.areas.req_off, Relaxed);
        self.u32(OFF_REQ_CAPACITY).store(s.areas.req_cap, Relaxed);
        self.u32(OFF_RESP_OFFSET).store(s.areas.resp_off, Relaxed);
        self.u32(OFF_RESP_CAPACITY).store(s.areas.resp_cap, Relaxed);
        self.u32(OFF_MAGIC).store(s.magic, Release);
    }

    /// Reads the set-up fields, the magic first (acquire). A creator that
    /// writes its magic last with release (ours) is then seen whole; one
    /// that writes it first (the specification lists it first) is ordered
    /// by the handshake instead, see [`ShmRegion::attach`](super::ShmRegion::attach).
    pub(super) fn read_set_up(&self) -> SetUp {
        let magic = self.u32(OFF_MAGIC).load(Acquire);
        SetUp {
            magic,
            version: self.u16(OFF_VERSION).load(Relaxed),
            header_len: self.u16(OFF_HEADER_LEN).load(Relaxed),
            owner_pid: self.u32(OFF_OWNER_PID).load(Relaxed) as i32,
            owner_generation: self.u32(OFF_OWNER_GENERATION).load(Relaxed),
            areas: AreaFields {
                req_off: self.u32(OFF_REQ_OFFSET).load(Relaxed),
                req_cap: self.u32(OFF_REQ_CAPACITY).load(Relaxed),
                resp_off: self.u32(OFF_RESP_OFFSET).load(Relaxed),
                resp_cap: self.u32(OFF_RESP_CAPACITY).load(Relaxed),
            },
        }
    }

    /// Publishes a message of `len` bytes already written to the lane's area:
    /// length, then sequence (both release), then the signal bump. The
    /// futex wake is the caller's, through [`Words::wake`].
    ///
    /// This side is the only writer of its lane's words, so plain stores of
    /// the next values do what an atomic increment would, without a locked
    /// instruction on a cache line the peer is polling.
    pub(super) fn publish(&self, lane: Lane, len: u32) {
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
        self.u64(lane.seq).load(Acquire)
    }

    /// The lane's message length (acquire).
    #[inline]
    pub(super) fn len(&self, lane: Lane) -> u32 {
        self.u32(lane.len).load(Acquire)
    }

    /// The lane's signal word (acquire).
    #[inline]
    pub(super) fn signal(&self, lane: Lane) -> u32 {
        self.u32(lane.signal).load(Acquire)
    }

    /// Sleeps while the lane's signal word still equals `seen`, at most `max`.
    /// Returns early on a wake, a signal or a changed word.
    pub(super) fn wait(&self, lane: Lane, seen: u32, max: Duration) {
        futex_wait(self.u32(lane.signal), seen, max);
    }

    /// Like [`Words::wait`], returning early too when `other` (a word of
    /// this process, such as an abort signal's) no longer equals
    /// `other_seen` or is woken. Returns `false`, having not slept, where
    /// the system cannot wait on two words (Linux before 5.16).
    pub(super) fn wait_or(
        &self,
        lane: Lane,
        seen: u32,
        other: &AtomicU32,
        other_seen: u32,
        max: Duration,
    ) -> bool {
        futex_waitv(
            [(self.u32(lane.signal), seen, false), (other, other_seen, true)],
            max,
        )
    }
}

/// Whether the system has `futex_waitv`: 0 unknown, 1 yes, 2 no.
static WAITV: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Whether waits on two words are possible (see [`Words::wait_or`]); known
/// once one was tried.
pub(super) fn can_wait_on_two() -> bool {
    WAITV.load(Relaxed) != 2
}

/// One entry of `futex_waitv`'s array (`struct futex_waitv`).
#[repr(C)]
struct FutexWaitv {
    val: u64,
    uaddr: u64,
    flags: u32,
    reserved: u32,
}

/// The kernel's 64-bit `struct __kernel_timespec`, which `futex_waitv`
/// takes on every architecture (`libc::timespec` has a 32-bit `tv_sec` on
/// some 32-bit ones).
#[repr(C)]
struct KernelTimespec {
    tv_sec: i64,
    tv_nsec: i64,
}

/// A 32-bit futex word (`FUTEX2_SIZE_U32`).
const FUTEX2_SIZE_U32: u32 = 0x02;
/// A word of this process only (`FUTEX2_PRIVATE`).
const FUTEX2_PRIVATE: u32 = 128;

/// Sleeps while every `(word, expected, private)` still holds its value,
/// at most `max`, until one is woken; `false` where `futex_waitv` is
/// missing (nothing slept).
fn futex_waitv(words: [(&AtomicU32, u32, bool); 2], max: Duration) -> bool {
    if WAITV.load(Relaxed) == 2 {
        return false;
    }
    let entries = words.map(|(word, expected, private)| FutexWaitv {
        val: u64::from(expected),
        uaddr: word.as_ptr() as usize as u64,
        flags: FUTEX2_SIZE_U32 | if private { FUTEX2_PRIVATE } else { 0 },
        reserved: 0,
    });
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    let until = Duration::new(now.tv_sec as u64, now.tv_nsec as u32).saturating_add(max);
    let timeout = KernelTimespec {
        tv_sec: until.as_secs().min(i64::MAX as u64) as i64,
        tv_nsec: i64::from(until.subsec_nanos()),
    };
    // SAFETY: futex_waitv reads `entries` (two initialised entries, each
    // naming an aligned u32 that stays valid while we sleep: a word of the
    // live mapping and one of this process) and the absolute timeout; it
    // writes no memory of ours.
    let r = unsafe {
        libc::syscall(
            libc::SYS_futex_waitv,
            entries.as_ptr(),
            entries.len() as libc::c_uint,
            0u32,
            &timeout as *const KernelTimespec,
            libc::CLOCK_MONOTONIC,
        )
    };
    if r < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ENOSYS) {
        WAITV.store(2, Relaxed);
        return false;
    }
    WAITV.store(1, Relaxed);
    true
}

/// Wakes every thread of this process sleeping on `word` (a private
/// futex, such as an abort signal's).
pub(crate) fn wake_private(word: &AtomicU32) {
    // SAFETY: FUTEX_WAKE on an aligned u32 of this process; no memory is
    // touched.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            i32::MAX,
            0usize,
            0usize,
            0u32,
        );
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

//! Linux shared-memory data plane (profile SHM_HYBRID).
//!
//! One region per session, `{run_dir}/{service}-{session_id:016x}.ipcshm`:
//! a 64-byte header, then a request area and a response area (64-aligned).
//! Each direction has one message in flight, published by a release store
//! of its length and sequence, and announced with a futex wake. Receivers
//! spin for a while, then sleep on the futex with a deadline.
//!
//! A wake is owed for every publication. [`ShmRegion::send`] pays it at
//! once. A session's exchange (a message sent, then the next one received)
//! may hold it back briefly: if the peer's answer arrives first, the peer
//! has read our message and so is not asleep waiting for it, and the wake
//! could only have been spurious. Otherwise the wake goes out after a short
//! grace, and always before this side yields or sleeps. A wake that finds
//! the peer asleep makes the rest of the wait yield between checks: the
//! peer has to be scheduled before it can answer, maybe on this CPU.
//!
//! # Access to the mapping
//!
//! The peer process reads and writes the region while we do, so the
//! mapping is held as a raw one ([`memmap2::MmapRaw`]) and no `&[u8]` or
//! `&mut [u8]` over it is ever made. The header words are reached only
//! through atomics (in `words`); message bytes are copied in and out with
//! `ptr::copy_nonoverlapping`, at offsets checked once at set-up
//! (`region_layout`) and lengths checked against the area's capacity on
//! every message.
//!
//! # SIGBUS
//!
//! Touching a page of a file mapping that lies past the end of the file,
//! or that the file system cannot back, raises SIGBUS. The server
//! allocates every block of the file with `fallocate` before it maps it
//! (a full disk or quota fails the set-up instead), and never shrinks the
//! file; the client maps the file at the length it has when it attaches,
//! after the server allocated it, and every area it uses was checked to
//! end within that length. What nothing here can prevent is a process
//! that shrinks the file after we mapped it: the peer, which has the file
//! open for writing, or anyone else with write access to the file (the
//! same user). The next access to a cut page then kills this process with
//! SIGBUS. Sealing the size is possible only for memfd files, not for the
//! named file the protocol uses, and a SIGBUS handler would be
//! process-wide state that a library must not take over. A peer that can
//! write the file can also make any message say anything: the region
//! trusts its peer not to be hostile in that way.

mod setup;
mod stale;
mod words;

pub use stale::{Staleness, cleanup_stale, reclaim_if_stale};

use crate::abort::AbortHandle;
use crate::error::{Limit, Result, TransportError};
use crate::region_layout::Areas;
use crate::spin::{Spinner, pauses_per_check};
use memmap2::MmapRaw;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
pub(crate) use words::wake_private;
use words::{Lane, REQUEST, RESPONSE, Words, can_wait_on_two};

/// Region magic ("NSHM").
const REGION_MAGIC: u32 = 0x4E53_484D;
/// Region layout version.
const REGION_VERSION: u16 = 3;
/// Size of the region header.
const REGION_HEADER_LEN: usize = 64;
/// Spin iterations of the reference implementation; our default.
const SPIN_TRIES_DEFAULT: u32 = crate::config::SHM_SPIN_TRIES_DEFAULT;
/// Default longest futex sleep before the receiver checks peer liveness.
pub(crate) const WAIT_SLICE: Duration = Duration::from_millis(100);
/// Longest sleep of a server's wait that has seen nothing for a while:
/// each slice that passes in silence makes the next four times as long, up
/// to this. An idle session then checks its client every few seconds
/// instead of ten times a second, which for a thousand idle sessions is the
/// difference between a tenth of a CPU and a few thousandths. An abort
/// still ends the sleep at once (the wait sleeps on the abort signal's
/// word too), and a client that dies while its session is idle is noticed
/// within this. A client's waits (for an answer) keep their slices: a
/// server that dies mid-call is noticed within one.
const IDLE_SLICE_MAX: Duration = Duration::from_millis(6400);
/// Checks (about [`CHECK_INTERVAL`](crate::spin::CHECK_INTERVAL) apart, so
/// about 3.2 µs in all) for the peer's answer before an owed wake is sent:
/// a peer that is awake answers within them; one that does not may be
/// asleep and gets its wake.
const WAKE_GRACE_CHECKS: u32 = 64;

/// Owed wakes in a row that found the peer asleep after which the wake
/// goes out with the message instead (the grace only delays a peer that
/// sleeps between messages, as one does when calls are sparse).
const ASLEEP_WAKES_MAX: u32 = 4;

/// Futex wakes a region has sent, and those it skipped because the peer's
/// answer arrived first (see the module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WakeCounts {
    /// `FUTEX_WAKE` calls made after publications.
    pub sent: u64,
    /// Publications whose wake was skipped.
    pub elided: u64,
}

/// Derives `{run_dir}/{service}-{session_id:016x}.ipcshm`.
pub fn region_path(run_dir: &Path, service: &str, session_id: u64) -> PathBuf {
    run_dir.join(format!("{service}-{session_id:016x}.ipcshm"))
}

/// Which side of a region this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// Writes requests, reads responses.
    Client,
    /// Reads requests, writes responses; owns (and removes) the file.
    Server,
}

/// A mapped per-session region: the Level 1 shared-memory primitive.
///
/// Sessions negotiated with SHM_HYBRID use one internally; it is public for
/// callers that set up regions themselves (and for interop testing).
#[derive(Debug)]
pub struct ShmRegion {
    words: Words,
    // Field order matters: `words` points into `map`. Watches
    // ([`ShmRegion::watch`]) share the mapping and keep it mapped.
    map: Arc<MmapRaw>,
    _file: File,
    path: PathBuf,
    side: Side,
    /// Checked at set-up to lie inside `map`.
    areas: Areas,
    /// Last sequence consumed from the incoming lane.
    seen_seq: u64,
    spin_tries: u32,
    /// Pauses between two checks of the fixed spin.
    check_pauses: u32,
    spinner: Spinner,
    /// Longest single futex sleep before liveness and abort are checked.
    wait_slice: Duration,
    /// Whether the wake for our last publication is still to be sent.
    wake_owed: bool,
    /// Consecutive owed wakes that found the peer asleep.
    asleep_wakes: u32,
    /// Whether the wake sent with our last publication found the peer
    /// asleep (the wait that follows is for a woken peer).
    woke_at_send: bool,
    /// Wakes sent and skipped so far.
    wakes: WakeCounts,
}

impl ShmRegion {
    /// Sets the number of spin iterations before sleeping.
    pub fn set_spin_tries(&mut self, tries: u32) {
        self.spin_tries = tries;
    }

    /// Sets the longest single futex sleep; between sleeps the receiver
    /// checks whether the peer is gone or the wait was aborted.
    pub fn set_wait_slice(&mut self, slice: Duration) {
        self.wait_slice = slice.max(Duration::from_micros(100));
    }

    /// Sets how long a receiver keeps spinning, with backoff, after its
    /// first `spin_tries` checks, before it sleeps on the futex.
    pub fn set_spin_budget(&mut self, budget: Duration) {
        self.spinner.set_budget(budget);
        self.check_pauses = check_pauses(budget);
    }

    fn lanes(&self) -> (Lane, usize, usize, Lane, usize, usize) {
        let a = &self.areas;
        match self.side {
            Side::Client => (REQUEST, a.req_off, a.req_cap, RESPONSE, a.resp_off, a.resp_cap),
            Side::Server => (RESPONSE, a.resp_off, a.resp_cap, REQUEST, a.req_off, a.req_cap),
        }
    }

    /// Publishes one message made of `head` and `body` (the two parts are
    /// written back to back) and wakes the peer.
    pub fn send(&mut self, head: &[u8], body: &[u8]) -> Result<()> {
        self.write(head, body)?;
        self.wake();
        Ok(())
    }

    /// Publishes like [`ShmRegion::send`] but leaves the wake owed, for the
    /// receive that must follow at once: [`ShmRegion::receive`] skips the
    /// wake if the peer's answer arrives within a short grace (about 3 µs of
    /// checks), and sends it otherwise; [`ShmRegion::try_receive`] skips it
    /// when it finds the answer; [`ShmRegion::flush_wake`] sends it. A
    /// caller that stops looking for the answer must flush it first, or the
    /// peer may sleep on the message (dropping the region sends it too).
    ///
    /// The answer vouches for the peer only if it is the answer to this
    /// message: when something unread is already waiting, the wake goes out
    /// now.
    pub fn send_quiet(&mut self, head: &[u8], body: &[u8]) -> Result<()> {
        self.write(head, body)?;
        let (.., incoming, _, _) = self.lanes();
        if self.words.seq(incoming) != self.seen_seq {
            self.wake();
        } else if self.asleep_wakes >= ASLEEP_WAKES_MAX {
            // The peer sleeps between messages: wake it now, not after a
            // grace it cannot use.
            self.woke_at_send = self.wake_noting();
        } else {
            self.wake_owed = true;
        }
        Ok(())
    }

    /// The wakes this side has sent and skipped so far.
    pub fn wake_counts(&self) -> WakeCounts {
        self.wakes
    }

    /// Copies the message into our outgoing area and publishes it (no wake).
    fn write(&mut self, head: &[u8], body: &[u8]) -> Result<()> {
        let (lane, off, cap, ..) = self.lanes();
        let len = head.len() + body.len();
        if len == 0 || len > cap {
            return Err(TransportError::LimitExceeded {
                what: Limit::ShmMessage,
                value: Some(len as u64),
                limit: Some(cap as u64),
            });
        }
        let base = self.map.as_mut_ptr();
        // SAFETY: `off + len ≤ off + cap`, inside the live mapping (checked
        // at set-up, see `region_layout`), which stays backed (module docs,
        // SIGBUS). The area is ours to write until we publish and the
        // peer's to read only after; a peer that reads it early gets torn
        // bytes, not memory of ours. `head` and `body` are our own memory,
        // so they cannot overlap the mapping. No reference to the mapping
        // is made.
        unsafe {
            std::ptr::copy_nonoverlapping(head.as_ptr(), base.add(off), head.len());
            std::ptr::copy_nonoverlapping(body.as_ptr(), base.add(off + head.len()), body.len());
        }
        self.words.publish(lane, len as u32);
        Ok(())
    }

    /// Wakes the peer on our outgoing lane; whether it was asleep.
    fn wake(&mut self) -> bool {
        let (lane, ..) = self.lanes();
        self.wakes.sent += 1;
        self.wake_owed = false;
        self.words.wake(lane)
    }

    /// Wakes the peer as [`Self::wake`] does, and counts whether the wake
    /// found it asleep; whether it did.
    fn wake_noting(&mut self) -> bool {
        let asleep = self.wake();
        self.asleep_wakes = if asleep {
            self.asleep_wakes.saturating_add(1)
        } else {
            0
        };
        asleep
    }

    /// Sends the owed wake, if any; whether it found the peer asleep.
    fn pay_owed_wake(&mut self) -> bool {
        self.wake_owed && self.wake_noting()
    }

    /// The reference's fixed spin (`spin_tries` checks; ours are
    /// [`CHECK_INTERVAL`](crate::spin::CHECK_INTERVAL) apart, see
    /// [`pauses_per_check`]), then the
    /// adaptive one; whether message `want` arrived. An owed wake
    /// is skipped if the message comes within [`WAKE_GRACE_CHECKS`] checks
    /// (or the fixed spin, if shorter), and sent otherwise, before any
    /// yield; a caller that goes on to sleep owes nothing. When that wake
    /// finds the peer asleep, the rest of the wait yields between checks.
    fn spin_until(&mut self, lane: Lane, want: u64) -> bool {
        let mut woke_sleeper = std::mem::take(&mut self.woke_at_send);
        // With the peer on our CPU, pausing only delays it: yield at once.
        // A peer woken with our message cannot answer within the checks,
        // and one that stays idle (the spinner has gone cold) will not.
        let tries = if self.spinner.yielding() || self.spinner.cold() || woke_sleeper {
            0
        } else {
            self.spin_tries
        };
        let grace = tries.min(WAKE_GRACE_CHECKS);
        for i in 0..tries {
            if self.words.seq(lane) >= want {
                self.spinner.note_arrival(i == 0);
                if self.wake_owed {
                    // The peer answered: it read our message, so it is not
                    // asleep waiting for it.
                    self.wake_owed = false;
                    self.wakes.elided += 1;
                    self.asleep_wakes = 0;
                }
                return true;
            }
            if i + 1 == grace {
                woke_sleeper = self.pay_owed_wake();
                if woke_sleeper {
                    break;
                }
            }
            for _ in 0..self.check_pauses {
                std::hint::spin_loop();
            }
        }
        woke_sleeper |= self.pay_owed_wake();
        let words = &self.words;
        if woke_sleeper {
            // The peer was asleep: it answers only once it is scheduled,
            // which may need this CPU.
            self.spinner.spin_after_wake(|| words.seq(lane) >= want)
        } else {
            self.spinner.spin(|| words.seq(lane) >= want)
        }
    }

    /// Sleeps on the futex, in slices, until message `want` arrives; asks
    /// `peer_gone` once per slice of wall time. On the server side, a slice
    /// that passes with nothing makes the next four times as long, up to
    /// [`IDLE_SLICE_MAX`], where `abort` (if any) can end a sleep at once;
    /// else slices stay at the region's wait slice.
    ///
    /// The check is due by the clock, not by a sleep that lasted a whole
    /// slice: a process that takes signals more often than once a slice
    /// has every sleep cut short (`EINTR`), and would otherwise never see
    /// its peer go.
    fn sleep_until(
        &self,
        lane: Lane,
        want: u64,
        deadline: Option<Instant>,
        peer_gone: &mut impl FnMut() -> bool,
        abort: Option<&AbortHandle>,
    ) -> Result<()> {
        let mut checked = Instant::now();
        let mut slice_len = self.wait_slice;
        loop {
            let seen = self.words.signal(lane);
            if self.words.seq(lane) >= want {
                return Ok(());
            }
            // Read before the flag: an abort after this read changes it,
            // and the wait below does not start.
            let abort_seen = abort.map(|a| a.futex_word().load(std::sync::atomic::Ordering::Acquire));
            if abort.is_some_and(AbortHandle::is_aborted) {
                return Err(TransportError::Aborted);
            }
            let now = Instant::now();
            let mut slice = slice_len.saturating_sub(now - checked);
            if slice.is_zero() {
                if peer_gone() {
                    return Err(TransportError::PeerClosed);
                }
                checked = now;
                if self.side == Side::Server && (abort.is_none() || can_wait_on_two()) {
                    slice_len = slice_len
                        .saturating_mul(4)
                        .min(IDLE_SLICE_MAX.max(self.wait_slice));
                }
                slice = slice_len;
            }
            if let Some(d) = deadline {
                let left = d.saturating_duration_since(now);
                if left.is_zero() {
                    return Err(TransportError::Timeout);
                }
                slice = slice.min(left);
            }
            match (abort, abort_seen) {
                (Some(a), Some(a_seen)) => {
                    if !self.words.wait_or(lane, seen, a.futex_word(), a_seen, slice) {
                        // No waits on two words here: short slices, so
                        // that the abort is seen soon.
                        slice_len = self.wait_slice;
                        self.words.wait(lane, seen, slice.min(self.wait_slice));
                    }
                }
                _ => self.words.wait(lane, seen, slice),
            }
        }
    }

    /// Waits for the next message until `deadline` and copies it into `out`
    /// (grown to fit); returns its length.
    pub fn receive(&mut self, out: &mut Vec<u8>, deadline: Option<Instant>) -> Result<usize> {
        self.receive_watching(out, deadline, || false, None)
    }

    /// Like [`ShmRegion::receive`]; `peer_gone` is asked between sleeps, and
    /// when it says the peer is gone the wait ends with `PeerClosed`; an
    /// abort of `abort` ends it with `Aborted`, at once.
    pub(crate) fn receive_watching(
        &mut self,
        out: &mut Vec<u8>,
        deadline: Option<Instant>,
        mut peer_gone: impl FnMut() -> bool,
        abort: Option<&AbortHandle>,
    ) -> Result<usize> {
        let (_, _, _, lane, ..) = self.lanes();
        let want = self.seen_seq + 1;
        if !self.spin_until(lane, want) {
            self.sleep_until(lane, want, deadline, &mut peer_gone, abort)?;
        }
        self.take(out)
    }

    /// Copies the next message into `out` (grown to fit) if it has arrived,
    /// without waiting; returns its length, or `None` when nothing new is
    /// there. Wait for one with a [`ShmWatch`].
    pub fn try_receive(&mut self, out: &mut Vec<u8>) -> Result<Option<usize>> {
        let (_, _, _, lane, ..) = self.lanes();
        if self.words.seq(lane) <= self.seen_seq {
            return Ok(None);
        }
        if self.wake_owed {
            // The peer answered: it read our message, so it is not asleep
            // waiting for it.
            self.wake_owed = false;
            self.wakes.elided += 1;
        }
        self.take(out).map(Some)
    }

    /// Sends the wake still owed for our last publication (see
    /// [`ShmRegion::send_quiet`]), if any: before this side stops looking
    /// for the peer's answer without waking it.
    pub fn flush_wake(&mut self) {
        self.pay_owed_wake();
    }

    /// Whether the next incoming message has arrived (one load).
    pub fn try_receive_ready(&self) -> bool {
        let (_, _, _, lane, ..) = self.lanes();
        self.words.seq(lane) > self.seen_seq
    }

    /// The sequence number the next incoming message will carry.
    pub fn awaited(&self) -> u64 {
        self.seen_seq + 1
    }

    /// A watch on this side's incoming lane, for another thread to wait on.
    pub fn watch(&self) -> ShmWatch {
        let (_, _, _, lane, ..) = self.lanes();
        // SAFETY: the base of the same live mapping, which the watch keeps
        // mapped through its `Arc` for as long as it lives.
        let words = unsafe { Words::new(self.map.as_mut_ptr()) };
        ShmWatch {
            words,
            _map: Arc::clone(&self.map),
            lane,
        }
    }

    /// Consumes the incoming message that has arrived: checks its length
    /// and copies it into `out`.
    fn take(&mut self, out: &mut Vec<u8>) -> Result<usize> {
        let (_, _, _, lane, off, cap) = self.lanes();
        self.seen_seq += 1;
        let len = self.words.len(lane) as usize;
        if len == 0 {
            return Err(TransportError::Protocol("shared memory message of length 0"));
        }
        if len > cap {
            return Err(TransportError::Protocol(
                "shared memory message longer than its area",
            ));
        }
        if out.len() < len {
            out.resize(len, 0);
        }
        // SAFETY: `off + len ≤ off + cap`, inside the live mapping (checked
        // at set-up, see `region_layout`), which stays backed (module docs,
        // SIGBUS); `out` holds at least `len` bytes of our own memory. The
        // peer published this message and by the protocol does not write
        // the area again until we answer; one that does anyway can only
        // change the bytes we copy, which the caller decodes as untrusted
        // input. No reference to the mapping is made.
        unsafe { std::ptr::copy_nonoverlapping(self.map.as_ptr().add(off), out.as_mut_ptr(), len) };
        Ok(len)
    }
}

/// Watches the incoming lane of one side of a region from any thread: an
/// event loop's waiter thread sleeps here and wakes the task that waits
/// for the message, while the task itself never blocks.
///
/// A watch holds the mapping: it stays mapped while any watch of it lives,
/// even after its region was dropped, so a waiter still asleep then
/// touches no freed memory (it wakes at its next timeout, or at once with
/// [`ShmWatch::interrupt`]).
#[derive(Debug)]
pub struct ShmWatch {
    words: Words,
    // Field order matters: `words` points into the mapping.
    _map: Arc<MmapRaw>,
    lane: Lane,
}

impl ShmWatch {
    /// Whether message `seq` (see [`ShmRegion::awaited`]) has arrived.
    pub fn arrived(&self, seq: u64) -> bool {
        self.words.seq(self.lane) >= seq
    }

    /// Sleeps until message `seq` arrives, [`ShmWatch::interrupt`] is
    /// called, or `max` passes (a signal may also end it early); returns
    /// whether the message has arrived.
    pub fn wait(&self, seq: u64, max: Duration) -> bool {
        let seen = self.words.signal(self.lane);
        if self.arrived(seq) {
            return true;
        }
        self.words.wait(self.lane, seen, max);
        self.arrived(seq)
    }

    /// Wakes every thread of this process sleeping in [`ShmWatch::wait`] on
    /// this lane, to look again (after a deadline or a shutdown of its own).
    /// The peer never sleeps on this lane, so it is not disturbed.
    pub fn interrupt(&self) {
        self.words.wake(self.lane);
    }
}

/// Pauses between two checks of the fixed spin, given the spin budget: one
/// (the reference's spacing) where spinning is off, as on a machine with
/// one CPU, since there the checks only delay the peer.
fn check_pauses(spin_budget: Duration) -> u32 {
    if spin_budget.is_zero() {
        1
    } else {
        pauses_per_check()
    }
}

impl Drop for ShmRegion {
    fn drop(&mut self) {
        self.pay_owed_wake();
        if self.side == Side::Server {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A private run dir, removed on drop.
    struct Dir(PathBuf);

    impl Dir {
        fn new() -> Self {
            static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let p = std::env::temp_dir().join(format!("netipc-shm-unit-{}-{n}", std::process::id()));
            std::fs::create_dir_all(&p).unwrap();
            Self(p)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn pair(dir: &Dir) -> (ShmRegion, ShmRegion) {
        let server = ShmRegion::create(&dir.0, "svc", 1, 256, 256).unwrap();
        let client = ShmRegion::attach(&dir.0, "svc", 1).unwrap();
        (server, client)
    }

    /// The region file's header, read with `pread` (not through a mapping).
    fn header_of(dir: &Dir, id: u64) -> [u8; 64] {
        use std::os::unix::fs::FileExt;
        let mut h = [0u8; 64];
        let file = File::open(region_path(&dir.0, "svc", id)).unwrap();
        file.read_exact_at(&mut h, 0).unwrap();
        h
    }

    fn u32_at(h: &[u8], off: usize) -> u32 {
        u32::from_ne_bytes(h[off..off + 4].try_into().unwrap())
    }

    #[test]
    fn the_region_header_has_the_contract_layout() {
        let dir = Dir::new();
        let server = ShmRegion::create(&dir.0, "svc", 9, 1000 + 32, 5000 + 32).unwrap();
        let h = header_of(&dir, 9);
        assert_eq!(u32_at(&h, 0), 0x4E53_484D, "magic");
        assert_eq!(u16::from_ne_bytes([h[4], h[5]]), 3, "version");
        assert_eq!(u16::from_ne_bytes([h[6], h[7]]), 64, "header_len");
        assert_eq!(u32_at(&h, 8), std::process::id(), "owner_pid");
        assert_ne!(u32_at(&h, 12), 0, "owner_generation");
        assert_eq!((u32_at(&h, 16), u32_at(&h, 20)), (64, 1088), "request area");
        assert_eq!(
            (u32_at(&h, 24), u32_at(&h, 28)),
            (64 + 1088, 5056),
            "response area"
        );
        assert!(
            h[32..].iter().all(|&b| b == 0),
            "sequence, length and signal words start at 0"
        );
        let len = std::fs::metadata(region_path(&dir.0, "svc", 9)).unwrap().len();
        assert_eq!(len, 64 + 1088 + 5056);
        drop(server);
    }

    #[test]
    fn forged_area_fields_are_refused_at_attach() {
        use std::os::unix::fs::FileExt;
        let dir = Dir::new();
        let _server = ShmRegion::create(&dir.0, "svc", 4, 256, 256).unwrap();
        let path = region_path(&dir.0, "svc", 4);
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        let honest = header_of(&dir, 4);
        let size = std::fs::metadata(&path).unwrap().len() as u32;
        // Each passes a check done with 32-bit sums by wrapping, or lies
        // past the file, or breaks an alignment or ordering rule.
        for (off, forged) in [
            (20, 0xFFFF_FFC0u32),
            (24, 0xFFFF_FFC0),
            (28, 0xFFFF_FFC0),
            (28, size),
            (16, 0),
            (20, 100),
            (24, 64),
        ] {
            file.write_all_at(&forged.to_ne_bytes(), off).unwrap();
            let err = ShmRegion::attach(&dir.0, "svc", 4).unwrap_err();
            assert!(
                matches!(err, TransportError::Protocol(_)),
                "field at {off} = {forged:#x}: {err:?}"
            );
            file.write_all_at(&honest[16..32], 16).unwrap();
        }
        // A zero capacity reads as a header still being written.
        file.write_all_at(&0u32.to_ne_bytes(), 28).unwrap();
        let err = ShmRegion::attach(&dir.0, "svc", 4).unwrap_err();
        assert!(matches!(err, TransportError::ShmNotReady(_)), "{err:?}");
        file.write_all_at(&honest[16..32], 16).unwrap();
        assert!(ShmRegion::attach(&dir.0, "svc", 4).is_ok());
    }

    #[test]
    fn a_region_too_large_for_its_u32_fields_is_refused() {
        let dir = Dir::new();
        for (req, resp) in [(u32::MAX as usize, 64), (64, usize::MAX), (1 << 31, 1 << 31)] {
            let err = ShmRegion::create(&dir.0, "svc", 5, req, resp).unwrap_err();
            assert!(
                matches!(
                    err,
                    TransportError::LimitExceeded {
                        what: Limit::ShmRegion,
                        ..
                    }
                ),
                "{err:?}"
            );
        }
        assert!(!region_path(&dir.0, "svc", 5).exists(), "no file is left behind");
    }

    #[test]
    fn an_owed_wake_is_sent_before_the_receiver_gives_up() {
        let dir = Dir::new();
        let (_server, mut client) = pair(&dir);
        client.send_quiet(b"request", b"").unwrap();
        assert!(client.wake_owed);
        let r = client.receive(&mut Vec::new(), Some(Instant::now() + Duration::from_millis(20)));
        assert!(matches!(r, Err(TransportError::Timeout)));
        assert!(!client.wake_owed);
        assert_eq!(client.wake_counts(), WakeCounts { sent: 1, elided: 0 });
    }

    #[test]
    fn an_answer_already_waiting_cannot_vouch_for_the_peer() {
        let dir = Dir::new();
        let (mut server, mut client) = pair(&dir);
        // Something unread is already in the incoming lane: it was written
        // before our message, so it says nothing about the peer reading it.
        server.send(b"earlier", b"").unwrap();
        client.send_quiet(b"request", b"").unwrap();
        assert!(!client.wake_owed);
        assert_eq!(client.wake_counts(), WakeCounts { sent: 1, elided: 0 });
    }

    #[test]
    fn a_wake_says_whether_the_peer_was_asleep() {
        let dir = Dir::new();
        let (mut server, mut client) = pair(&dir);
        assert!(!client.wake(), "nobody waits on the request lane yet");
        // A server that does not spin sleeps on the futex at once.
        server.set_spin_tries(0);
        server.set_spin_budget(Duration::ZERO);
        let receiver = std::thread::spawn(move || {
            let mut out = Vec::new();
            server.receive(&mut out, Some(Instant::now() + Duration::from_secs(10)))
        });
        // Until the server thread is asleep, a wake finds nobody; a wake
        // that finds it returns it to its wait, since nothing was sent.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !client.wake() {
            assert!(Instant::now() < deadline, "the server never slept");
            std::thread::yield_now();
        }
        client.send(b"request", b"").unwrap();
        assert_eq!(receiver.join().unwrap().unwrap(), b"request".len());
    }

    /// A waiter watching an abort sleeps longer and longer while nothing
    /// comes, yet an abort ends its sleep at once.
    #[test]
    fn an_abort_ends_a_long_idle_sleep_at_once() {
        let dir = Dir::new();
        let (mut server, _client) = pair(&dir);
        server.set_spin_tries(0);
        server.set_spin_budget(Duration::ZERO);
        let abort = AbortHandle::new().unwrap();
        let watched = abort.clone();
        let waiter = std::thread::spawn(move || {
            let started = Instant::now();
            let r = server.receive_watching(&mut Vec::new(), None, || false, Some(&watched));
            (r, started.elapsed())
        });
        // Idle long enough for the sleeps to have grown past a second
        // (where the system can wait on two words).
        std::thread::sleep(Duration::from_millis(700));
        let aborted = Instant::now();
        abort.abort();
        let (r, _) = waiter.join().unwrap();
        assert!(matches!(r, Err(TransportError::Aborted)), "{r:?}");
        assert!(
            aborted.elapsed() < Duration::from_millis(150),
            "took {:?}",
            aborted.elapsed()
        );
    }

    /// Owed wakes that find the peer asleep are counted, and an answer
    /// within the grace (a peer awake) resets the count; from a few in a
    /// row on, the wake goes out with the message instead of after the
    /// grace, which only delays a peer that sleeps between messages.
    #[test]
    fn a_peer_that_sleeps_between_messages_is_woken_at_once() {
        let dir = Dir::new();
        let (mut server, mut client) = pair(&dir);
        server.set_spin_tries(0);
        server.set_spin_budget(Duration::ZERO);
        let sleeper = std::thread::spawn(move || {
            server.receive(&mut Vec::new(), Some(Instant::now() + Duration::from_secs(10)))
        });
        // Until the server sleeps, an owed wake finds nobody (and resets
        // the count); one that finds it counts, and returns it to its wait.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            client.wake_owed = true;
            if client.pay_owed_wake() {
                break;
            }
            assert_eq!(client.asleep_wakes, 0);
            assert!(Instant::now() < deadline, "the server never slept");
            std::thread::yield_now();
        }
        assert_eq!(client.asleep_wakes, 1);
        // Below the count, the wake of a message is owed.
        client.send_quiet(b"first", b"").unwrap();
        assert!(client.wake_owed);
        client.pay_owed_wake();
        assert_eq!(sleeper.join().unwrap().unwrap(), b"first".len());
        // At it, it goes out with the message.
        client.wake_owed = false;
        client.asleep_wakes = ASLEEP_WAKES_MAX;
        let sent = client.wake_counts().sent;
        client.send_quiet(b"second", b"").unwrap();
        assert!(!client.wake_owed);
        assert_eq!(client.wake_counts().sent, sent + 1);
    }

    /// An answer within the grace says the peer is awake: the count of
    /// sleeping peers starts again.
    #[test]
    fn an_answer_within_the_grace_resets_the_count_of_sleeping_peers() {
        let dir = Dir::new();
        let (mut server, mut client) = pair(&dir);
        client.asleep_wakes = ASLEEP_WAKES_MAX - 1;
        client.send_quiet(b"request", b"").unwrap();
        server.receive(&mut Vec::new(), None).unwrap();
        server.send(b"answer", b"").unwrap();
        client.receive(&mut Vec::new(), None).unwrap();
        assert_eq!(client.asleep_wakes, 0);
    }

    #[test]
    fn an_answer_within_the_grace_skips_the_wake() {
        let dir = Dir::new();
        let (mut server, mut client) = pair(&dir);
        client.send_quiet(b"request", b"").unwrap();
        // The peer answers before we look: it has read our message.
        server.receive(&mut Vec::new(), None).unwrap();
        server.send(b"answer", b"").unwrap();
        let mut out = Vec::new();
        let n = client.receive(&mut out, None).unwrap();
        assert_eq!(&out[..n], b"answer");
        assert_eq!(client.wake_counts(), WakeCounts { sent: 0, elided: 1 });
    }
}

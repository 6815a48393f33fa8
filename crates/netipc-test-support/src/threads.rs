//! The scheduler's view of a thread of this process (Linux, from
//! `/proc/self/task`): whether it is asleep, and how often it went to sleep.
//!
//! A test that needs a thread to be blocked before it acts (sends an
//! abort, kills a peer) waits until the thread is asleep instead of
//! sleeping for a while and hoping; and a thread that stays asleep without
//! going to sleep again is blocked in one wait, not polling.

use crate::wait::wait_until;

/// The id of the calling thread, as `/proc/self/task` names it.
pub fn current_tid() -> i32 {
    // SAFETY: gettid has no preconditions and cannot fail.
    unsafe { libc::gettid() }
}

/// What the scheduler says of a thread at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadState {
    /// Asleep in an interruptible wait (state `S`): blocked in a system
    /// call such as `poll` or a futex wait, not running or runnable.
    pub asleep: bool,
    /// How many times it has gone to sleep (given up the CPU to wait).
    pub voluntary_switches: u64,
}

/// The status file of one thread of this process, open for reading again
/// and again. Reading it allocates nothing, so that a thread can read its
/// own state right after a wait without going to sleep on the way (on a
/// lock of the allocator, say).
#[derive(Debug)]
pub struct StatusFile {
    file: std::fs::File,
    tid: i32,
}

impl StatusFile {
    /// Opens the status of thread `tid`; `None` if there is no such thread.
    pub fn open(tid: i32) -> Option<Self> {
        let file = std::fs::File::open(format!("/proc/self/task/{tid}/status")).ok()?;
        Some(Self { file, tid })
    }

    /// The state of the thread now; `None` once it has exited.
    pub fn read(&self) -> Option<ThreadState> {
        use std::os::unix::fs::FileExt;
        let mut buf = [0u8; 8192];
        let n = self.file.read_at(&mut buf, 0).ok()?;
        assert!(n < buf.len(), "the status of thread {} does not fit", self.tid);
        let status = std::str::from_utf8(&buf[..n]).expect("a UTF-8 status");
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(str::trim)
                .unwrap_or_else(|| panic!("no {name} in the status of thread {}", self.tid))
        };
        Some(ThreadState {
            asleep: field("State:").starts_with('S'),
            voluntary_switches: field("voluntary_ctxt_switches:")
                .parse()
                .expect("a count of context switches"),
        })
    }
}

/// The state of thread `tid` of this process; `None` if there is no such
/// thread (any more).
pub fn thread_state(tid: i32) -> Option<ThreadState> {
    StatusFile::open(tid)?.read()
}

/// Waits until thread `tid` is asleep and returns its state then; panics,
/// naming `what`, if it is not within [`crate::PATIENCE`] (or has exited).
pub fn wait_until_asleep(tid: i32, what: &str) -> ThreadState {
    let mut seen = None;
    wait_until(what, || {
        seen = thread_state(tid).filter(|s| s.asleep);
        seen.is_some()
    });
    seen.expect("an asleep state")
}

//! A sticky abort signal that wakes blocked receives on other threads.

use crate::error::{Result, TransportError};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Once [`AbortHandle::abort`] is called, every receive that watches this
/// handle returns [`TransportError::Aborted`], now and later. Clones share
/// the signal; it is safe to use from any thread.
///
/// It is a pipe whose read end becomes readable for good when one byte is
/// written, so it wakes `poll` at once and costs nothing until then.
#[derive(Debug, Clone)]
pub struct AbortHandle {
    inner: Arc<Pipe>,
}

#[derive(Debug)]
struct Pipe {
    read: OwnedFd,
    write: OwnedFd,
    /// Mirrors the pipe's state, so checking costs no syscall.
    raised: AtomicBool,
    /// Bumped and woken on abort: a shared-memory wait sleeps on it too,
    /// so that an abort ends the wait at once however long it sleeps.
    #[cfg(target_os = "linux")]
    word: std::sync::atomic::AtomicU32,
}

impl AbortHandle {
    /// A new, unsignalled handle.
    pub fn new() -> Result<Self> {
        let (read, write) = crate::posix::descriptors::pipe_nonblocking()
            .map_err(|e| TransportError::io("pipe", std::io::Error::from(e)))?;
        Ok(Self {
            inner: Arc::new(Pipe {
                read,
                write,
                raised: AtomicBool::new(false),
                #[cfg(target_os = "linux")]
                word: std::sync::atomic::AtomicU32::new(0),
            }),
        })
    }

    /// Signals abort. Idempotent.
    pub fn abort(&self) {
        self.inner.raised.store(true, Ordering::Release);
        #[cfg(target_os = "linux")]
        {
            self.inner.word.fetch_add(1, Ordering::AcqRel);
            crate::posix::shm::wake_private(&self.inner.word);
        }
        // A full pipe (after many calls) still reads as signalled: ignore EAGAIN.
        let _ = nix::unistd::write(&self.inner.write, &[1u8]);
    }

    /// Clears the signal, so later receives are no longer aborted.
    pub fn clear(&self) {
        self.inner.raised.store(false, Ordering::Release);
        let mut buf = [0u8; 64];
        while matches!(nix::unistd::read(&self.inner.read, &mut buf), Ok(n) if n > 0) {}
    }

    /// Whether abort was signalled. Reads a flag: no syscall, so receives
    /// can check it on every call.
    pub fn is_aborted(&self) -> bool {
        self.inner.raised.load(Ordering::Acquire)
    }

    /// The word an abort bumps and wakes, for a futex wait that an abort
    /// must end. Read it before [`Self::is_aborted`]: an abort after the
    /// read then changes it, and the wait does not start.
    #[cfg(target_os = "linux")]
    pub(crate) fn futex_word(&self) -> &std::sync::atomic::AtomicU32 {
        &self.inner.word
    }
}

impl AsFd for AbortHandle {
    /// The read end: readable once abort was signalled.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.read.as_fd()
    }
}

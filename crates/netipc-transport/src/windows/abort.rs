//! The sticky abort signal on Windows: a manual-reset event.

use super::win32::unnamed_event;
use crate::error::Result;
use std::os::windows::io::{AsRawHandle, OwnedHandle, RawHandle};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use windows_sys::Win32::System::Threading::{ResetEvent, SetEvent};

/// Once [`AbortHandle::abort`] is called, every wait that watches this
/// handle ends with
/// [`TransportError::Aborted`](crate::TransportError::Aborted), now and
/// later, until [`AbortHandle::clear`]. Clones share the signal.
#[derive(Debug, Clone)]
pub struct AbortHandle {
    inner: Arc<Signal>,
}

#[derive(Debug)]
struct Signal {
    event: OwnedHandle,
    raised: AtomicBool,
}

impl AbortHandle {
    /// A new, unsignalled handle.
    pub fn new() -> Result<Self> {
        let event = unnamed_event()?;
        Ok(Self {
            inner: Arc::new(Signal {
                event,
                raised: AtomicBool::new(false),
            }),
        })
    }

    /// Signals abort. Idempotent.
    pub fn abort(&self) {
        self.inner.raised.store(true, Ordering::Release);
        // SAFETY: sets an event handle we own.
        unsafe { SetEvent(self.inner.event.as_raw_handle() as _) };
    }

    /// Clears the signal.
    pub fn clear(&self) {
        self.inner.raised.store(false, Ordering::Release);
        // SAFETY: resets an event handle we own.
        unsafe { ResetEvent(self.inner.event.as_raw_handle() as _) };
    }

    /// Whether abort was signalled (an atomic load).
    pub fn is_aborted(&self) -> bool {
        self.inner.raised.load(Ordering::Acquire)
    }

    /// The event, for waits.
    pub(crate) fn event(&self) -> RawHandle {
        self.inner.event.as_raw_handle()
    }
}

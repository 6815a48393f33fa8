//! The sticky abort signal on Windows: a manual-reset event.

use crate::error::{Result, TransportError};
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle, RawHandle};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use windows_sys::Win32::System::Threading::{CreateEventW, ResetEvent, SetEvent};

/// Once [`AbortHandle::abort`] is called, every wait that watches this
/// handle ends with [`TransportError::Aborted`], now and later, until
/// [`AbortHandle::clear`]. Clones share the signal.
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
        // SAFETY: creates an unnamed manual-reset event, initially clear;
        // null attributes and name are allowed.
        let raw = unsafe { CreateEventW(std::ptr::null(), 1, 0, std::ptr::null()) };
        if raw.is_null() {
            return Err(TransportError::io(
                "CreateEventW",
                std::io::Error::last_os_error(),
            ));
        }
        // SAFETY: CreateEventW returned a new handle that nothing else owns.
        let event = unsafe { OwnedHandle::from_raw_handle(raw as RawHandle) };
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

//! Small Win32 helpers shared by the Windows transports: wide names, owned
//! handles, unnamed events, and waits that also watch the abort event.

use super::AbortHandle;
use crate::error::{Result, TransportError};
use std::os::windows::io::{FromRawHandle, OwnedHandle, RawHandle};
use std::time::Duration;
use windows_sys::Win32::Foundation::{HANDLE, INVALID_HANDLE_VALUE};
use windows_sys::Win32::System::Threading::{CreateEventW, INFINITE, WaitForMultipleObjects};

/// `s` as a NUL-terminated UTF-16 string.
pub(super) fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

/// The calling thread's last Win32 error.
pub(super) fn last_error() -> std::io::Error {
    std::io::Error::last_os_error()
}

/// `op` failed with the calling thread's last Win32 error.
pub(super) fn os_error(op: &'static str) -> TransportError {
    TransportError::io(op, last_error())
}

/// Takes ownership of a handle `op` just returned; null or
/// `INVALID_HANDLE_VALUE` is `op`'s failure.
pub(super) fn own(raw: HANDLE, op: &'static str) -> Result<OwnedHandle> {
    if raw.is_null() || raw == INVALID_HANDLE_VALUE {
        return Err(os_error(op));
    }
    // SAFETY: a handle the OS just returned to us, owned by nobody else.
    Ok(unsafe { OwnedHandle::from_raw_handle(raw as RawHandle) })
}

/// A new unnamed manual-reset event, initially clear.
pub(super) fn unnamed_event() -> Result<OwnedHandle> {
    // SAFETY: null attributes and name are allowed.
    own(
        unsafe { CreateEventW(std::ptr::null(), 1, 0, std::ptr::null()) },
        "CreateEventW",
    )
}

/// `d` in whole milliseconds, rounded up (a wait must not end early) and
/// kept below `INFINITE`.
pub(super) fn millis_ceil(d: Duration) -> u32 {
    d.as_micros().div_ceil(1000).min((INFINITE - 1) as u128) as u32
}

/// Waits up to `ms` for `event` or, when given, the abort event. Returns
/// the raw result: `WAIT_OBJECT_0` for `event`, `WAIT_OBJECT_0 + 1` for
/// abort, `WAIT_TIMEOUT`, or a failure.
pub(super) fn wait_event_or_abort(event: HANDLE, abort: Option<&AbortHandle>, ms: u32) -> u32 {
    let events: [HANDLE; 2] = [event, abort.map_or(std::ptr::null_mut(), |a| a.event() as HANDLE)];
    let count = if abort.is_some() { 2 } else { 1 };
    // SAFETY: waits on one or two live event handles.
    unsafe { WaitForMultipleObjects(count, events.as_ptr(), 0, ms) }
}

//! Overlapped I/O on one pipe handle: every read, write and connect waits
//! for its completion, a deadline or the abort event.

use crate::error::{Result, TransportError};
use crate::framing::PacketIo;
use crate::windows::AbortHandle;
use crate::windows::win32::{last_error, millis_ceil, unnamed_event, wait_event_or_abort};
use std::os::windows::io::{AsRawHandle, OwnedHandle};
use std::time::Instant;
use windows_sys::Win32::Foundation::{
    ERROR_BROKEN_PIPE, ERROR_IO_PENDING, ERROR_MORE_DATA, ERROR_NO_DATA, ERROR_PIPE_NOT_CONNECTED, HANDLE,
    WAIT_OBJECT_0, WAIT_TIMEOUT,
};
use windows_sys::Win32::Storage::FileSystem::{ReadFile, WriteFile};
use windows_sys::Win32::System::IO::{CancelIoEx, GetOverlappedResult, OVERLAPPED};
use windows_sys::Win32::System::Pipes::PeekNamedPipe;
use windows_sys::Win32::System::Threading::INFINITE;

/// Whether an I/O error means that the peer closed its end of the pipe.
pub(super) fn is_peer_gone(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error().map(|c| c as u32),
        Some(ERROR_BROKEN_PIPE | ERROR_NO_DATA | ERROR_PIPE_NOT_CONNECTED)
    )
}

/// One overlapped operation's bookkeeping: the OVERLAPPED block and its
/// event. The block must not move while an operation is pending, so every
/// operation waits for completion (or cancellation) before returning.
pub(super) struct Op {
    pub(super) ov: OVERLAPPED,
}

impl Op {
    pub(super) fn new(event: &OwnedHandle) -> Self {
        // SAFETY: OVERLAPPED is plain data; all-zero is its initial state.
        let mut ov: OVERLAPPED = unsafe { std::mem::zeroed() };
        ov.hEvent = event.as_raw_handle() as HANDLE;
        Self { ov }
    }
}

/// Waits for the pending operation on `handle` to finish, the deadline, or
/// the abort event; returns the bytes transferred.
pub(super) fn finish(
    handle: HANDLE,
    op: &mut Op,
    deadline: Option<Instant>,
    abort: Option<&AbortHandle>,
) -> Result<u32> {
    let rc = loop {
        let ms = deadline.map_or(INFINITE, |d| {
            millis_ceil(d.saturating_duration_since(Instant::now()))
        });
        let rc = wait_event_or_abort(op.ov.hEvent, abort, ms);
        // A coarse timer may still wake us early: wait out the rest.
        if rc == WAIT_TIMEOUT && deadline.is_some_and(|d| Instant::now() < d) {
            continue;
        }
        break rc;
    };
    let mut n = 0u32;
    if rc == WAIT_OBJECT_0 {
        // SAFETY: the operation completed; reads its result.
        if unsafe { GetOverlappedResult(handle, &op.ov, &mut n, 0) } == 0 {
            let e = last_error();
            if e.raw_os_error().map(|c| c as u32) == Some(ERROR_MORE_DATA) {
                return Err(TransportError::Protocol(
                    "packet larger than the negotiated packet size",
                ));
            }
            return Err(if is_peer_gone(&e) {
                TransportError::PeerClosed
            } else {
                TransportError::io("pipe I/O", e)
            });
        }
        return Ok(n);
    }
    // Timeout, abort or a failed wait: cancel, then wait for the operation
    // to end so the OVERLAPPED block is free again.
    // SAFETY: cancels our own operation, then waits for its completion.
    unsafe {
        CancelIoEx(handle, &op.ov);
        GetOverlappedResult(handle, &op.ov, &mut n, 1);
    }
    Err(match rc {
        WAIT_TIMEOUT => TransportError::Timeout,
        r if r == WAIT_OBJECT_0 + 1 => TransportError::Aborted,
        _ => TransportError::io("WaitForMultipleObjects", last_error()),
    })
}

/// The pipe side of a session.
#[derive(Debug)]
pub(super) struct Pipe {
    handle: OwnedHandle,
    event: OwnedHandle,
    pub(super) abort: Option<AbortHandle>,
    /// One contiguous buffer per message: pipes take no scatter/gather.
    scratch: Vec<u8>,
}

impl Pipe {
    pub(super) fn new(handle: OwnedHandle) -> Result<Self> {
        Ok(Self {
            handle,
            event: unnamed_event()?,
            abort: None,
            scratch: Vec::new(),
        })
    }

    fn raw(&self) -> HANDLE {
        self.handle.as_raw_handle() as HANDLE
    }

    /// Reads one pipe message into `buf`; returns its length. A message
    /// longer than `buf` is drained and reported as a protocol violation.
    fn read_message(&self, buf: &mut [u8], deadline: Option<Instant>) -> Result<usize> {
        if self.abort.as_ref().is_some_and(AbortHandle::is_aborted) {
            return Err(TransportError::Aborted);
        }
        let cap = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        let mut op = Op::new(&self.event);
        // SAFETY: reads at most `cap` bytes into `buf`, which outlives the
        // operation: `finish` waits for completion (or cancellation) first.
        let ok = unsafe {
            ReadFile(
                self.raw(),
                buf.as_mut_ptr(),
                cap,
                std::ptr::null_mut(),
                &mut op.ov,
            )
        };
        if ok == 0 {
            let e = last_error();
            match e.raw_os_error().map(|c| c as u32) {
                Some(ERROR_IO_PENDING) => {}
                Some(ERROR_MORE_DATA) => {
                    // Longer than `buf`: the session cannot go on. Let the
                    // operation end before its OVERLAPPED block goes away.
                    let _ = finish(self.raw(), &mut op, deadline, None);
                    return Err(TransportError::Protocol(
                        "packet larger than the negotiated packet size",
                    ));
                }
                _ if is_peer_gone(&e) => return Err(TransportError::PeerClosed),
                _ => return Err(TransportError::io("ReadFile", e)),
            }
        }
        match finish(self.raw(), &mut op, deadline, self.abort.as_ref())? {
            0 => Err(TransportError::PeerClosed),
            n => Ok(n as usize),
        }
    }

    /// Whether the peer has closed the pipe (checked without blocking).
    pub(super) fn peer_gone(&self) -> bool {
        let mut avail = 0u32;
        // SAFETY: peeks zero bytes of our own pipe; only counts are written.
        let ok = unsafe {
            PeekNamedPipe(
                self.raw(),
                std::ptr::null_mut(),
                0,
                std::ptr::null_mut(),
                &mut avail,
                std::ptr::null_mut(),
            )
        };
        ok == 0 && is_peer_gone(&last_error())
    }
}

impl PacketIo for Pipe {
    fn send_packet(&mut self, head: &[u8], body: &[u8], deadline: Option<Instant>) -> Result<()> {
        self.scratch.clear();
        self.scratch.extend_from_slice(head);
        self.scratch.extend_from_slice(body);
        let mut op = Op::new(&self.event);
        let len = self.scratch.len() as u32;
        // SAFETY: writes our buffer; `finish` waits for completion before
        // the buffer or the OVERLAPPED block can move or be dropped.
        let ok = unsafe {
            WriteFile(
                self.raw(),
                self.scratch.as_ptr(),
                len,
                std::ptr::null_mut(),
                &mut op.ov,
            )
        };
        if ok == 0 {
            let e = last_error();
            if e.raw_os_error().map(|c| c as u32) != Some(ERROR_IO_PENDING) {
                return Err(if is_peer_gone(&e) {
                    TransportError::PeerClosed
                } else {
                    TransportError::io("WriteFile", e)
                });
            }
        }
        let n = finish(self.raw(), &mut op, deadline, self.abort.as_ref())?;
        if n != len {
            return Err(TransportError::Protocol("short pipe write"));
        }
        Ok(())
    }

    fn recv_packet(
        &mut self,
        head: &mut [u8; 32],
        body: &mut [u8],
        deadline: Option<Instant>,
    ) -> Result<usize> {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.resize(head.len() + body.len(), 0);
        let got = self.read_message(&mut scratch, deadline);
        if let Ok(n) = got {
            let h = n.min(head.len());
            head[..h].copy_from_slice(&scratch[..h]);
            if n > head.len() {
                body[..n - head.len()].copy_from_slice(&scratch[head.len()..n]);
            }
        }
        self.scratch = scratch;
        got
    }

    /// Reads the message straight into `buf`: no copy through `scratch`.
    fn recv_whole_packet(&mut self, buf: &mut [u8], deadline: Option<Instant>) -> Result<usize> {
        self.read_message(buf, deadline)
    }
}

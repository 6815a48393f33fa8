//! Overlapped I/O on one pipe handle: every read, write and connect goes
//! through [`overlapped`], which waits for its completion, a deadline or
//! the abort event, and never returns while the system may still write
//! the operation's OVERLAPPED block or buffer.

use crate::error::{Result, TransportError};
use crate::framing::PacketIo;
use crate::windows::AbortHandle;
use crate::windows::win32::{last_error, millis_ceil, unnamed_event, wait_event_or_abort};
use std::os::windows::io::{AsRawHandle, OwnedHandle};
use std::time::Instant;
use windows_sys::Win32::Foundation::{
    ERROR_BROKEN_PIPE, ERROR_IO_INCOMPLETE, ERROR_IO_PENDING, ERROR_MORE_DATA, ERROR_NO_DATA,
    ERROR_PIPE_CONNECTED, ERROR_PIPE_NOT_CONNECTED, HANDLE, WAIT_OBJECT_0, WAIT_TIMEOUT,
};
use windows_sys::Win32::Storage::FileSystem::{ReadFile, WriteFile};
use windows_sys::Win32::System::IO::{CancelIoEx, GetOverlappedResult, OVERLAPPED};
use windows_sys::Win32::System::Pipes::PeekNamedPipe;
use windows_sys::Win32::System::Threading::INFINITE;
use windows_sys::core::BOOL;

/// Whether an I/O error means that the peer closed its end of the pipe.
pub(super) fn is_peer_gone(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error().map(|c| c as u32),
        Some(ERROR_BROKEN_PIPE | ERROR_NO_DATA | ERROR_PIPE_NOT_CONNECTED)
    )
}

/// `op` failed with `e`, as the transport reports it.
fn failure(op: &'static str, e: std::io::Error) -> TransportError {
    if e.raw_os_error().map(|c| c as u32) == Some(ERROR_MORE_DATA) {
        TransportError::Protocol("packet larger than the negotiated packet size")
    } else if is_peer_gone(&e) {
        TransportError::PeerClosed
    } else {
        TransportError::io(op, e)
    }
}

/// One overlapped operation on a pipe handle, from the call that starts it
/// until the system is done with it.
///
/// Until an operation completes, the system may write its OVERLAPPED block
/// (and, for a read, its buffer), so neither may move or be freed before.
/// While `pending`, `Drop` cancels the operation and waits for it to end,
/// whichever way the operation's owner leaves: a result, an error, a
/// timeout, an abort, or a panic. A value lives only inside
/// [`overlapped`], which never moves it after the start and cannot lose it
/// without dropping it.
struct Overlapped<'h> {
    handle: &'h OwnedHandle,
    ov: OVERLAPPED,
    /// Whether the system may still write `ov` or the operation's buffer.
    pending: bool,
}

impl Overlapped<'_> {
    pub(super) fn raw(&self) -> HANDLE {
        self.handle.as_raw_handle() as HANDLE
    }

    /// Waits for the operation to complete, the deadline or the abort
    /// event; the bytes transferred. On a timeout or an abort the
    /// operation is still pending, and `Drop` ends it.
    fn wait(&mut self, deadline: Option<Instant>, abort: Option<&AbortHandle>) -> Result<u32> {
        loop {
            let ms = deadline.map_or(INFINITE, |d| {
                millis_ceil(d.saturating_duration_since(Instant::now()))
            });
            match wait_event_or_abort(self.ov.hEvent, abort, ms) {
                WAIT_OBJECT_0 => {}
                // A coarse timer may wake us early: wait out the rest.
                WAIT_TIMEOUT if deadline.is_some_and(|d| Instant::now() < d) => continue,
                WAIT_TIMEOUT => return Err(TransportError::Timeout),
                r if r == WAIT_OBJECT_0 + 1 => return Err(TransportError::Aborted),
                _ => return Err(TransportError::io("WaitForMultipleObjects", last_error())),
            }
            let mut n = 0u32;
            // SAFETY: asks, without waiting, for the result of our own
            // operation on a handle that is open (borrowed for 'h); writes
            // only `n`.
            if unsafe { GetOverlappedResult(self.raw(), &self.ov, &mut n, 0) } != 0 {
                self.pending = false;
                return Ok(n);
            }
            let e = last_error();
            if e.raw_os_error().map(|c| c as u32) == Some(ERROR_IO_INCOMPLETE) {
                // The event was set, yet the operation is not over: nothing
                // else uses the event, so this should not happen. The
                // operation stays pending, for `Drop` to end.
                return Err(TransportError::io("GetOverlappedResult", e));
            }
            self.pending = false;
            return Err(failure("pipe I/O", e));
        }
    }
}

impl Drop for Overlapped<'_> {
    fn drop(&mut self) {
        if self.pending {
            let mut n = 0u32;
            // SAFETY: cancels our own operation on a handle that is still
            // open (borrowed for 'h), then waits until the system is done
            // with `ov` and the buffer: after this, neither is written.
            unsafe {
                CancelIoEx(self.raw(), &self.ov);
                GetOverlappedResult(self.raw(), &self.ov, &mut n, 1);
            }
        }
    }
}

/// Runs one overlapped operation on `handle` and returns the bytes it
/// transferred. `start` issues it (ReadFile, WriteFile, ConnectNamedPipe)
/// with the OVERLAPPED block it is given, whose completion event is
/// `event`; then this waits for its completion, `deadline`, or `abort`.
///
/// Whatever the outcome, this returns only once the system is done with
/// the operation (a pending one is cancelled and waited for first), so a
/// buffer that `start` passed to the system need only outlive this call.
/// `op` names the call in errors. ConnectNamedPipe's "a client is already
/// connected" counts as a success of 0 bytes.
pub(super) fn overlapped(
    handle: &OwnedHandle,
    event: &OwnedHandle,
    op: &'static str,
    deadline: Option<Instant>,
    abort: Option<&AbortHandle>,
    start: impl FnOnce(HANDLE, *mut OVERLAPPED) -> BOOL,
) -> Result<u32> {
    let mut io = Overlapped {
        handle,
        // SAFETY: OVERLAPPED is plain data; all-zero is its initial state.
        ov: unsafe { std::mem::zeroed() },
        pending: false,
    };
    io.ov.hEvent = event.as_raw_handle() as HANDLE;
    let raw = io.raw();
    if start(raw, &mut io.ov) == 0 {
        let e = last_error();
        match e.raw_os_error().map(|c| c as u32) {
            // Queued, or (a message longer than the buffer) completed with
            // a warning that the wait reports again: the system has the
            // block either way.
            Some(ERROR_IO_PENDING | ERROR_MORE_DATA) => {}
            Some(ERROR_PIPE_CONNECTED) => return Ok(0),
            // Refused: nothing was queued, the block is ours again.
            _ => return Err(failure(op, e)),
        }
    }
    io.pending = true;
    io.wait(deadline, abort)
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

    pub(super) fn raw(&self) -> HANDLE {
        self.handle.as_raw_handle() as HANDLE
    }

    /// The pipe handle.
    pub(super) fn as_handle(&self) -> std::os::windows::io::BorrowedHandle<'_> {
        std::os::windows::io::AsHandle::as_handle(&self.handle)
    }

    /// Reads one pipe message into `buf`; returns its length. A message
    /// longer than `buf` is drained and reported as a protocol violation.
    fn read_message(&self, buf: &mut [u8], deadline: Option<Instant>) -> Result<usize> {
        if self.abort.as_ref().is_some_and(AbortHandle::is_aborted) {
            return Err(TransportError::Aborted);
        }
        let cap = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        let ptr = buf.as_mut_ptr();
        let n = overlapped(
            &self.handle,
            &self.event,
            "ReadFile",
            deadline,
            self.abort.as_ref(),
            |h, ov| {
                // SAFETY: reads at most `cap` bytes into `buf`, which is
                // borrowed for the whole call of `overlapped`, and that
                // returns only once the read is over.
                unsafe { ReadFile(h, ptr, cap, std::ptr::null_mut(), ov) }
            },
        )?;
        match n {
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
        let len = u32::try_from(self.scratch.len())
            .map_err(|_| TransportError::Protocol("pipe message longer than u32::MAX"))?;
        let ptr = self.scratch.as_ptr();
        let n = overlapped(
            &self.handle,
            &self.event,
            "WriteFile",
            deadline,
            self.abort.as_ref(),
            |h, ov| {
                // SAFETY: writes `len` bytes of `scratch`, which is not
                // touched during the whole call of `overlapped`, and that
                // returns only once the write is over.
                unsafe { WriteFile(h, ptr, len, std::ptr::null_mut(), ov) }
            },
        )?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::windows::win32::{own, wide};
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;
    use windows_sys::Win32::Foundation::{GENERIC_READ, GENERIC_WRITE};
    use windows_sys::Win32::Storage::FileSystem::{
        CreateFileW, FILE_FLAG_OVERLAPPED, OPEN_EXISTING, PIPE_ACCESS_DUPLEX,
    };
    use windows_sys::Win32::System::Pipes::{
        CreateNamedPipeW, PIPE_READMODE_MESSAGE, PIPE_TYPE_MESSAGE, PIPE_WAIT,
    };

    /// Both ends of a new message-mode pipe, connected.
    fn pipe_pair() -> (Pipe, Pipe) {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = wide(&format!(
            r"\\.\pipe\netipc-io-unit-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        // SAFETY: creates a pipe instance by a NUL-terminated wide name.
        let server = unsafe {
            CreateNamedPipeW(
                name.as_ptr(),
                PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED,
                PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT,
                1,
                4096,
                4096,
                0,
                std::ptr::null(),
            )
        };
        let server = own(server, "CreateNamedPipeW").unwrap();
        // SAFETY: opens the pipe by a NUL-terminated wide name.
        let client = unsafe {
            CreateFileW(
                name.as_ptr(),
                GENERIC_READ | GENERIC_WRITE,
                0,
                std::ptr::null(),
                OPEN_EXISTING,
                FILE_FLAG_OVERLAPPED,
                std::ptr::null_mut(),
            )
        };
        let client = own(client, "CreateFileW").unwrap();
        let event = unnamed_event().unwrap();
        let soon = Some(Instant::now() + Duration::from_secs(10));
        // SAFETY: waits for the client that already opened the pipe.
        let connected = overlapped(&server, &event, "ConnectNamedPipe", soon, None, |h, ov| unsafe {
            windows_sys::Win32::System::Pipes::ConnectNamedPipe(h, ov)
        });
        assert_eq!(connected.unwrap(), 0);
        (Pipe::new(server).unwrap(), Pipe::new(client).unwrap())
    }

    #[test]
    fn a_read_that_times_out_is_over_before_its_buffer_goes() {
        let (mut server, client) = pipe_pair();
        {
            let mut buf = vec![0u8; 64];
            let started = Instant::now();
            let err = client
                .read_message(&mut buf, Some(started + Duration::from_millis(50)))
                .unwrap_err();
            assert!(matches!(err, TransportError::Timeout), "{err:?}");
            assert!(started.elapsed() >= Duration::from_millis(50));
            // `buf` is freed here: the cancelled read must not fill it later.
        }
        server.send_packet(b"after", b" the timeout", None).unwrap();
        // The message went to no cancelled read: this one gets it whole.
        let mut buf = vec![0u8; 64];
        let n = client
            .read_message(&mut buf, Some(Instant::now() + Duration::from_secs(10)))
            .unwrap();
        assert_eq!(&buf[..n], b"after the timeout");
    }

    #[test]
    fn an_aborted_read_is_cancelled_and_the_pipe_goes_on() {
        let (mut server, client) = pipe_pair();
        let abort = AbortHandle::new().unwrap();
        abort.abort();
        {
            let mut buf = vec![0u8; 64];
            let (ptr, cap) = (buf.as_mut_ptr(), buf.len() as u32);
            // Started, then aborted at once by the raised handle: the read is
            // pending when the wait ends, and must be cancelled before
            // `overlapped` returns and `buf` goes.
            let err = overlapped(
                &client.handle,
                &client.event,
                "ReadFile",
                None,
                Some(&abort),
                |h, ov| {
                    // SAFETY: `buf` outlives the call, which ends the read.
                    unsafe { ReadFile(h, ptr, cap, std::ptr::null_mut(), ov) }
                },
            )
            .unwrap_err();
            assert!(matches!(err, TransportError::Aborted), "{err:?}");
        }
        server.send_packet(b"next", b"", None).unwrap();
        let mut buf = vec![0u8; 64];
        let n = client
            .read_message(&mut buf, Some(Instant::now() + Duration::from_secs(10)))
            .unwrap();
        assert_eq!(&buf[..n], b"next");
    }

    #[test]
    fn a_refused_start_leaves_nothing_pending() {
        let (server, client) = pipe_pair();
        drop(server);
        let mut buf = vec![0u8; 64];
        let err = client
            .read_message(&mut buf, Some(Instant::now() + Duration::from_secs(10)))
            .unwrap_err();
        assert!(matches!(err, TransportError::PeerClosed), "{err:?}");
    }
}

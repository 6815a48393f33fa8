//! A handshake-complete Named Pipe session, and the client's connect.

use super::io::Pipe;
use super::{IMPLEMENTED_PROFILES, packet_size_or_default};
use crate::config::ClientConfig;
use crate::error::{Result, TransportError};
use crate::framing::{Framer, Role};
use crate::handshake::{self, SessionParams};
use crate::names::{pipe_name, shm_object_names};
use crate::windows::AbortHandle;
use crate::windows::shm::{WinShm, is_shm_profile};
use crate::windows::win32::{last_error, millis_ceil, wide};
use netipc_codec::Header;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle, RawHandle};
use std::path::Path;
use std::time::Instant;
use windows_sys::Win32::Foundation::{
    ERROR_FILE_NOT_FOUND, ERROR_PIPE_BUSY, GENERIC_READ, GENERIC_WRITE, HANDLE, INVALID_HANDLE_VALUE,
};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, FILE_FLAG_OVERLAPPED, OPEN_EXISTING, SECURITY_IDENTIFICATION, SECURITY_SQOS_PRESENT,
};
use windows_sys::Win32::System::Pipes::{PIPE_READMODE_MESSAGE, SetNamedPipeHandleState, WaitNamedPipeW};

/// How long a client waits for a busy pipe to offer an instance.
const BUSY_WAIT_MS: u32 = 1000;

/// A handshake-complete Named Pipe session, client or server side.
#[derive(Debug)]
pub struct NpSession {
    pub(super) pipe: Pipe,
    /// Who is at the other end (known on a server's session; a client's
    /// knows nothing of its server).
    pub(super) peer: crate::PeerCredentials,
    pub(super) framer: Framer,
    /// The data plane, when a shared-memory profile was negotiated; the
    /// pipe then stays open for liveness.
    pub(super) shm: Option<WinShm>,
}

impl NpSession {
    /// Connects to the service's pipe and performs the handshake.
    pub fn connect(run_dir: impl AsRef<Path>, service: &str, cfg: &ClientConfig) -> Result<Self> {
        crate::names::validate_run_dir(run_dir.as_ref())?;
        let name = wide(&pipe_name(&run_dir.as_ref().to_string_lossy(), service)?);
        let deadline = crate::deadline_after(cfg.effective_handshake_timeout());
        // A process that got the pipe name first (a squatter) would be the
        // server we talk to: it may learn who we are (identification) but
        // may not act as us (impersonation). Without SECURITY_SQOS_PRESENT
        // the default is full impersonation.
        let flags = FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION;
        let handle = loop {
            // SAFETY: opens the pipe by a NUL-terminated wide name.
            let h = unsafe {
                CreateFileW(
                    name.as_ptr(),
                    GENERIC_READ | GENERIC_WRITE,
                    0,
                    std::ptr::null(),
                    OPEN_EXISTING,
                    flags,
                    std::ptr::null_mut(),
                )
            };
            if h != INVALID_HANDLE_VALUE {
                // SAFETY: a new handle that nothing else owns.
                break unsafe { OwnedHandle::from_raw_handle(h as RawHandle) };
            }
            let e = last_error();
            match e.raw_os_error().map(|c| c as u32) {
                Some(ERROR_FILE_NOT_FOUND) => {
                    return Err(TransportError::NotFound {
                        path: String::from_utf16_lossy(&name[..name.len() - 1]),
                        source: e,
                    });
                }
                Some(ERROR_PIPE_BUSY) => {
                    // Every instance is taken: wait for one, until the deadline.
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(TransportError::Timeout);
                    }
                    // SAFETY: waits for a free instance of the named pipe.
                    unsafe { WaitNamedPipeW(name.as_ptr(), millis_ceil(left).min(BUSY_WAIT_MS)) };
                }
                _ => {
                    return Err(TransportError::io_at(
                        "open the pipe",
                        String::from_utf16_lossy(&name[..name.len() - 1]),
                        e,
                    ));
                }
            }
        };
        let mode = PIPE_READMODE_MESSAGE;
        // SAFETY: sets the read mode of the handle we just opened.
        if unsafe {
            SetNamedPipeHandleState(
                handle.as_raw_handle() as HANDLE,
                &mode,
                std::ptr::null(),
                std::ptr::null(),
            )
        } == 0
        {
            return Err(TransportError::io("SetNamedPipeHandleState", last_error()));
        }
        let mut cfg = cfg.clone();
        cfg.supported_profiles = cfg.effective_supported_profiles() & IMPLEMENTED_PROFILES;
        cfg.preferred_profiles &= IMPLEMENTED_PROFILES;
        let packet_size = packet_size_or_default(cfg.packet_size);
        let mut pipe = Pipe::new(handle)?;
        let hello = handshake::client_hello(&cfg, packet_size);
        let params = handshake::client_exchange(&mut pipe, &hello, deadline)?;
        let shm = if is_shm_profile(params.selected_profile) {
            let names = shm_object_names(
                &run_dir.as_ref().to_string_lossy(),
                service,
                cfg.auth_token,
                params.selected_profile,
                params.session_id,
            )?;
            // No same-session fallback: the caller reconnects without SHM.
            let shm = WinShm::attach(&names, params.selected_profile)
                .map_err(|e| TransportError::ShmUnavailable(Box::new(e)))?;
            Some(shm)
        } else {
            None
        };
        Ok(Self {
            pipe,
            peer: crate::PeerCredentials::default(),
            framer: Framer::new(params, Role::Client),
            shm,
        })
    }

    /// Who is at the other end: on a server's session, the client's process
    /// id and user SID where the API gave them; on a client's session,
    /// nothing (all fields `None`).
    pub fn peer_credentials(&self) -> &crate::PeerCredentials {
        &self.peer
    }

    /// Whether the peer has closed the pipe (checked without blocking).
    pub fn peer_closed(&self) -> bool {
        self.pipe.peer_gone()
    }

    /// Whether messages travel over shared memory (SHM_HYBRID or SHM_BUSYWAIT).
    pub fn is_shm(&self) -> bool {
        self.shm.is_some()
    }

    /// The values negotiated for this session.
    pub fn params(&self) -> &SessionParams {
        &self.framer.params
    }

    /// Watches `abort` in every wait from now on.
    pub fn set_abort(&mut self, abort: Option<AbortHandle>) {
        self.pipe.abort = abort;
    }

    /// Sends one message (chunked as needed). While the peer reads nothing
    /// and the pipe cannot take more, waits, watching the abort signal.
    pub fn send(&mut self, header: &Header, payload: &[u8]) -> Result<()> {
        self.send_inner(header, payload, None)
    }

    /// Like [`NpSession::send`], but gives up with `Timeout` at `deadline`
    /// if the peer does not make room; the deadline covers every chunk. A
    /// session whose send timed out may have sent part of a message: close
    /// it.
    pub fn send_until(&mut self, header: &Header, payload: &[u8], deadline: Instant) -> Result<()> {
        self.send_inner(header, payload, Some(deadline))
    }

    fn send_inner(&mut self, header: &Header, payload: &[u8], deadline: Option<Instant>) -> Result<()> {
        if let Some(shm) = self.shm.as_mut() {
            return self.framer.send_whole(header, payload, |h, p| shm.send(h, p));
        }
        self.framer.send(&mut self.pipe, header, payload, deadline)
    }

    /// Sends several messages in order, each checked and framed as
    /// [`NpSession::send`] does; the same contract as the POSIX session's
    /// `send_many`. A pipe takes one write per packet, so this exists for
    /// one API on every platform. Shared memory holds one message per
    /// direction, so there a client can send only one.
    ///
    /// On error, the messages before the failing one have been sent, and
    /// none after it; the ids of those not sent are free again.
    pub fn send_many<'p>(&mut self, messages: impl IntoIterator<Item = (Header, &'p [u8])>) -> Result<()> {
        if let Some(shm) = self.shm.as_mut() {
            return self.framer.send_whole_each(messages, |h, p| shm.send(h, p));
        }
        self.framer.send_many(&mut self.pipe, messages, None)
    }

    /// Sends one message, then receives the next one (before `deadline`,
    /// when given, which covers the send too). Windows shared memory
    /// signals only a peer that said it waits, so this is a send followed
    /// by a receive; it exists so that callers can use one API on every
    /// platform.
    pub fn exchange(
        &mut self,
        header: &Header,
        payload: &[u8],
        deadline: Option<Instant>,
    ) -> Result<(Header, &[u8])> {
        self.send_inner(header, payload, deadline)?;
        self.receive_inner(deadline)
    }

    /// Receives one message; the payload borrows the session until the next receive.
    pub fn receive(&mut self) -> Result<(Header, &[u8])> {
        self.receive_inner(None)
    }

    /// Receives one message before `deadline`; the deadline covers every chunk.
    pub fn receive_until(&mut self, deadline: Instant) -> Result<(Header, &[u8])> {
        self.receive_inner(Some(deadline))
    }

    fn receive_inner(&mut self, deadline: Option<Instant>) -> Result<(Header, &[u8])> {
        if let Some(shm) = self.shm.as_mut() {
            let pipe = &self.pipe;
            return self
                .framer
                .receive_whole(|buf| shm.receive(buf, deadline, pipe.abort.as_ref(), || pipe.peer_gone()));
        }
        self.framer.receive(&mut self.pipe, deadline)
    }

    /// The payload of the last message received successfully.
    pub fn last_payload(&self) -> &[u8] {
        self.framer.last_payload()
    }

    /// Hands over the buffer that holds the last message received, for a
    /// caller that keeps the payload instead of copying it: exchanges the
    /// session's receive buffer with `buf`, and returns where in `buf` the
    /// payload now is (an empty range when nothing was received). Later
    /// messages are received into the buffer `buf` held, grown as needed,
    /// so handing the same buffers back and forth allocates nothing once
    /// they are large enough. [`Self::last_payload`] is empty afterwards.
    pub fn swap_received(&mut self, buf: &mut Vec<u8>) -> std::ops::Range<usize> {
        self.framer.swap_received(buf)
    }
}

impl std::os::windows::io::AsHandle for NpSession {
    /// The pipe: an event loop may wait on it to learn that the peer went
    /// away. Messages never need it; the session reads and writes it.
    fn as_handle(&self) -> std::os::windows::io::BorrowedHandle<'_> {
        self.pipe.as_handle()
    }
}

impl AsRawHandle for NpSession {
    fn as_raw_handle(&self) -> RawHandle {
        self.pipe.as_handle().as_raw_handle()
    }
}

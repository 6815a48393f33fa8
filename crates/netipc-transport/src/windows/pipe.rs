//! The Windows baseline transport: a Named Pipe in message mode.
//!
//! The endpoint is `\\.\pipe\netipc-{fnv1a64(run_dir):016x}-{service}`.
//! Every packet is one pipe message; the framing (limits, chunking,
//! correlation) is the same as on POSIX. All I/O is overlapped, so a wait
//! can watch a deadline and an abort event at the same time.

use super::AbortHandle;
use super::shm::{WinShm, is_shm_profile};
use super::win32::{last_error, millis_ceil, unnamed_event, wait_event_or_abort, wide};
use crate::config::{ClientConfig, ServerConfig};
use crate::error::{Result, TransportError};
use crate::framing::{Framer, PacketIo, Role};
use crate::handshake::{self, Decision, SessionParams};
use crate::names::{pipe_name, shm_object_names};
use netipc_codec::{
    HEADER_LEN, HELLO_ACK_LEN, Header, PROFILE_BASELINE, PROFILE_SHM_BUSYWAIT, PROFILE_SHM_HYBRID,
};
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle, RawHandle};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use windows_sys::Win32::Foundation::{
    ERROR_ACCESS_DENIED, ERROR_BROKEN_PIPE, ERROR_FILE_NOT_FOUND, ERROR_IO_PENDING, ERROR_MORE_DATA,
    ERROR_NO_DATA, ERROR_PIPE_BUSY, ERROR_PIPE_CONNECTED, ERROR_PIPE_NOT_CONNECTED, GENERIC_READ,
    GENERIC_WRITE, HANDLE, INVALID_HANDLE_VALUE, WAIT_OBJECT_0, WAIT_TIMEOUT,
};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, FILE_FLAG_FIRST_PIPE_INSTANCE, FILE_FLAG_OVERLAPPED, OPEN_EXISTING, PIPE_ACCESS_DUPLEX,
    ReadFile, WriteFile,
};
use windows_sys::Win32::System::IO::{CancelIoEx, GetOverlappedResult, OVERLAPPED};
use windows_sys::Win32::System::Pipes::{
    ConnectNamedPipe, CreateNamedPipeW, PIPE_READMODE_MESSAGE, PIPE_REJECT_REMOTE_CLIENTS, PIPE_TYPE_MESSAGE,
    PIPE_UNLIMITED_INSTANCES, PIPE_WAIT, PeekNamedPipe, SetNamedPipeHandleState, WaitNamedPipeW,
};
use windows_sys::Win32::System::Threading::INFINITE;

/// The profiles this transport carries.
const IMPLEMENTED_PROFILES: u32 = PROFILE_BASELINE | PROFILE_SHM_HYBRID | PROFILE_SHM_BUSYWAIT;

/// Packet size when none is configured.
pub const PIPE_PACKET_SIZE_DEFAULT: u32 = 65536;
/// The configured packet size, or [`PIPE_PACKET_SIZE_DEFAULT`] for 0.
fn packet_size_or_default(configured: u32) -> u32 {
    if configured == 0 {
        PIPE_PACKET_SIZE_DEFAULT
    } else {
        configured
    }
}

/// How long a client waits for a busy pipe to offer an instance.
const BUSY_WAIT_MS: u32 = 1000;

fn is_peer_gone(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error().map(|c| c as u32),
        Some(ERROR_BROKEN_PIPE | ERROR_NO_DATA | ERROR_PIPE_NOT_CONNECTED)
    )
}

/// One overlapped operation's bookkeeping: the OVERLAPPED block and its
/// event. The block must not move while an operation is pending, so every
/// operation waits for completion (or cancellation) before returning.
struct Op {
    ov: OVERLAPPED,
}

impl Op {
    fn new(event: &OwnedHandle) -> Self {
        // SAFETY: OVERLAPPED is plain data; all-zero is its initial state.
        let mut ov: OVERLAPPED = unsafe { std::mem::zeroed() };
        ov.hEvent = event.as_raw_handle() as HANDLE;
        Self { ov }
    }
}

/// Waits for the pending operation on `handle` to finish, the deadline, or
/// the abort event; returns the bytes transferred.
fn finish(
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
struct Pipe {
    handle: OwnedHandle,
    event: OwnedHandle,
    abort: Option<AbortHandle>,
    /// One contiguous buffer per message: pipes take no scatter/gather.
    scratch: Vec<u8>,
}

impl Pipe {
    fn new(handle: OwnedHandle) -> Result<Self> {
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
    fn peer_gone(&self) -> bool {
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
    fn send_packet(&mut self, head: &[u8], body: &[u8]) -> Result<()> {
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
        let n = finish(self.raw(), &mut op, None, self.abort.as_ref())?;
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

/// A handshake-complete Named Pipe session, client or server side.
#[derive(Debug)]
pub struct NpSession {
    pipe: Pipe,
    framer: Framer,
    /// The data plane, when a shared-memory profile was negotiated; the
    /// pipe then stays open for liveness.
    shm: Option<WinShm>,
}

impl NpSession {
    /// Connects to the service's pipe and performs the handshake.
    pub fn connect(run_dir: impl AsRef<Path>, service: &str, cfg: &ClientConfig) -> Result<Self> {
        let name = wide(&pipe_name(&run_dir.as_ref().to_string_lossy(), service)?);
        let deadline = Instant::now() + cfg.effective_handshake_timeout();
        let handle = loop {
            // SAFETY: opens the pipe by a NUL-terminated wide name.
            let h = unsafe {
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
                Some(ERROR_PIPE_BUSY) if Instant::now() < deadline => {
                    // SAFETY: waits for a free instance of the named pipe.
                    unsafe { WaitNamedPipeW(name.as_ptr(), BUSY_WAIT_MS) };
                }
                _ => return Err(TransportError::io("CreateFileW", e)),
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
            framer: Framer::new(params, Role::Client),
            shm,
        })
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

    /// Sends one message (chunked as needed).
    pub fn send(&mut self, header: &Header, payload: &[u8]) -> Result<()> {
        if let Some(shm) = self.shm.as_mut() {
            return self.framer.send_whole(header, payload, |h, p| shm.send(h, p));
        }
        self.framer.send(&mut self.pipe, header, payload)
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
            for (header, payload) in messages {
                self.framer.send_whole(&header, payload, |h, p| shm.send(h, p))?;
            }
            return Ok(());
        }
        self.framer.send_many(&mut self.pipe, messages)
    }

    /// Sends one message, then receives the next one (before `deadline`,
    /// when given). Windows shared memory signals only a peer that said it
    /// waits, so this is [`NpSession::send`] followed by a receive; it
    /// exists so that callers can use one API on every platform.
    pub fn exchange(
        &mut self,
        header: &Header,
        payload: &[u8],
        deadline: Option<Instant>,
    ) -> Result<(Header, &[u8])> {
        self.send(header, payload)?;
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
}

/// A Named Pipe endpoint: one instance waiting for the next client at a time.
#[derive(Debug)]
pub struct NpListener {
    name: Vec<u16>,
    run_dir: String,
    service: String,
    cfg: ServerConfig,
    next: Mutex<Option<OwnedHandle>>,
    next_session: Arc<AtomicU64>,
}

impl NpListener {
    /// Creates the service's pipe. Another server owning the name gives
    /// [`TransportError::AddressInUse`].
    pub fn bind(run_dir: impl AsRef<Path>, service: &str, cfg: ServerConfig) -> Result<Self> {
        let name = wide(&pipe_name(&run_dir.as_ref().to_string_lossy(), service)?);
        let first = create_instance(&name, true, &cfg)?;
        Ok(Self {
            name,
            run_dir: run_dir.as_ref().to_string_lossy().into_owned(),
            service: service.to_string(),
            cfg,
            next: Mutex::new(Some(first)),
            next_session: Arc::new(AtomicU64::new(1)),
        })
    }

    /// Waits for a client (or `abort`) without handshaking yet, so a slow
    /// client does not hold up the acceptor. Call [`NpPending::handshake`].
    pub fn accept_connection(&self, abort: Option<&AbortHandle>) -> Result<NpPending> {
        let instance = match self.next.lock().unwrap_or_else(|p| p.into_inner()).take() {
            Some(h) => h,
            None => create_instance(&self.name, false, &self.cfg)?,
        };
        let event = unnamed_event()?;
        let mut op = Op::new(&event);
        let raw = instance.as_raw_handle() as HANDLE;
        // SAFETY: waits for a client on our instance; `finish` waits for the
        // operation to end before `op` goes away.
        let ok = unsafe { ConnectNamedPipe(raw, &mut op.ov) };
        if ok == 0 {
            let e = last_error();
            match e.raw_os_error().map(|c| c as u32) {
                Some(ERROR_PIPE_CONNECTED) => {}
                Some(ERROR_IO_PENDING) => {
                    if let Err(e) = finish(raw, &mut op, None, abort) {
                        *self.next.lock().unwrap_or_else(|p| p.into_inner()) = Some(instance);
                        return Err(e);
                    }
                }
                _ => return Err(TransportError::io("ConnectNamedPipe", e)),
            }
        }
        // The next client gets a fresh instance.
        if let Ok(h) = create_instance(&self.name, false, &self.cfg) {
            *self.next.lock().unwrap_or_else(|p| p.into_inner()) = Some(h);
        }
        Ok(NpPending {
            pipe: Pipe::new(instance)?,
            cfg: self.cfg.clone(),
            next_session: Arc::clone(&self.next_session),
            run_dir: self.run_dir.clone(),
            service: self.service.clone(),
        })
    }

    /// Waits for a client (or `abort`), then performs the handshake.
    pub fn accept(&self, abort: Option<&AbortHandle>) -> Result<NpSession> {
        self.accept_connection(abort)?.handshake()
    }
}

/// A pipe client connected but not yet handshaken.
#[derive(Debug)]
pub struct NpPending {
    pipe: Pipe,
    cfg: ServerConfig,
    next_session: Arc<AtomicU64>,
    run_dir: String,
    service: String,
}

impl NpPending {
    /// The configuration this handshake will apply; a managed server may
    /// adjust it (for example, payload ceilings it has learned) first.
    pub fn config_mut(&mut self) -> &mut ServerConfig {
        &mut self.cfg
    }

    /// Reads the client's HELLO, decides, answers, and returns the session.
    /// A rejected client gets its HELLO_ACK status, then the pipe closes.
    pub fn handshake(self) -> Result<NpSession> {
        let Self {
            mut pipe,
            mut cfg,
            next_session,
            run_dir,
            service,
        } = self;
        let deadline = Instant::now() + cfg.effective_handshake_timeout();
        let (packet, n) = handshake::recv_control(&mut pipe, deadline)?;
        cfg.supported_profiles = cfg.effective_supported_profiles() & IMPLEMENTED_PROFILES;
        let packet_size = packet_size_or_default(cfg.packet_size);
        let mut decision = handshake::negotiate(&packet[..n], &cfg, packet_size, 0);
        let mut shm = None;
        if let Decision::Accept(a) = &mut decision {
            a.session_id = next_session.fetch_add(1, Ordering::Relaxed);
            if is_shm_profile(a.selected_profile) {
                // The region must exist before a successful ACK names it.
                let spin = cfg.effective_shm_spin_tries();
                let created = shm_object_names(
                    &run_dir,
                    &service,
                    cfg.auth_token,
                    a.selected_profile,
                    a.session_id,
                )
                .and_then(|names| {
                    WinShm::create(
                        &names,
                        a.selected_profile,
                        a.agreed_max_request_payload_bytes as usize + HEADER_LEN,
                        a.agreed_max_response_payload_bytes as usize + HEADER_LEN,
                        spin,
                    )
                });
                match created {
                    Ok(r) => shm = Some(r),
                    Err(_) => {
                        // No SHM for this session: decide again without it;
                        // the session runs over the pipe.
                        let id = a.session_id;
                        cfg.supported_profiles &= !(PROFILE_SHM_HYBRID | PROFILE_SHM_BUSYWAIT);
                        decision = handshake::negotiate(&packet[..n], &cfg, packet_size, id);
                    }
                }
            }
        }
        let ack = handshake::ack_packet(&decision);
        let sent = pipe.send_packet(&ack[..HEADER_LEN], &ack[HEADER_LEN..HEADER_LEN + HELLO_ACK_LEN]);
        match decision {
            Decision::Accept(a) => {
                sent?;
                Ok(NpSession {
                    pipe,
                    framer: Framer::new(SessionParams::from(&a), Role::Server),
                    shm,
                })
            }
            Decision::Reject(status, why) => Err(handshake::rejection_error(status, why, &cfg)),
        }
    }
}

fn create_instance(name: &[u16], first: bool, cfg: &ServerConfig) -> Result<OwnedHandle> {
    let packet = packet_size_or_default(cfg.packet_size);
    let open_mode =
        PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | if first { FILE_FLAG_FIRST_PIPE_INSTANCE } else { 0 };
    // SAFETY: creates a pipe instance by a NUL-terminated wide name.
    let h = unsafe {
        CreateNamedPipeW(
            name.as_ptr(),
            open_mode,
            PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS,
            PIPE_UNLIMITED_INSTANCES,
            packet,
            packet,
            0,
            std::ptr::null(),
        )
    };
    if h == INVALID_HANDLE_VALUE {
        let e = last_error();
        if e.raw_os_error().map(|c| c as u32) == Some(ERROR_ACCESS_DENIED) {
            return Err(TransportError::AddressInUse {
                path: String::from_utf16_lossy(&name[..name.len() - 1]),
            });
        }
        return Err(TransportError::io("CreateNamedPipeW", e));
    }
    // SAFETY: a new handle that nothing else owns.
    Ok(unsafe { OwnedHandle::from_raw_handle(h as RawHandle) })
}

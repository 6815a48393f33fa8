//! The baseline POSIX transport: `AF_UNIX` / `SOCK_SEQPACKET`.
//!
//! The endpoint is `{run_dir}/{service}.sock`. One packet per SEQPACKET
//! message; messages over the packet size are chunked by [`crate::framing`].

#[cfg(target_os = "linux")]
use super::shm::ShmRegion;
use crate::abort::AbortHandle;
use crate::config::{ClientConfig, ServerConfig};
use crate::error::{Result, TransportError};
use crate::framing::{Framer, PacketIo, Role};
use crate::handshake::{self, Decision, SessionParams};
use crate::spin::{Spinner, auto_spin_budget};
use netipc_codec::{HEADER_LEN, HELLO_ACK_LEN, Header, PROFILE_BASELINE};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::{
    AddressFamily, Backlog, MsgFlags, SockFlag, SockType, UnixAddr, accept4, bind, connect, getsockopt,
    listen, recvmsg, sendmsg, socket, sockopt,
};
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Profiles this platform can run: the baseline, and SHM_HYBRID on Linux.
#[cfg(target_os = "linux")]
const IMPLEMENTED_PROFILES: u32 = PROFILE_BASELINE | netipc_codec::PROFILE_SHM_HYBRID;
#[cfg(not(target_os = "linux"))]
const IMPLEMENTED_PROFILES: u32 = PROFILE_BASELINE;

/// How long a client retries attaching a region the server announced.
#[cfg(target_os = "linux")]
const SHM_ATTACH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Packet size when `SO_SNDBUF` cannot be read.
pub const PACKET_SIZE_FALLBACK: u32 = 65536;

/// Checks a service name and derives `{run_dir}/{service}.sock`.
pub fn endpoint_path(run_dir: &Path, service: &str) -> Result<PathBuf> {
    validate_service_name(service)?;
    let path = run_dir.join(format!("{service}.sock"));
    // sun_path holds the path and its NUL.
    let max = 108 - 1;
    let len = path.as_os_str().len();
    if len > max {
        return Err(TransportError::PathTooLong { len, max });
    }
    Ok(path)
}

/// Service names are a single path component without NUL.
pub fn validate_service_name(service: &str) -> Result<()> {
    let reason = if service.is_empty() {
        "empty"
    } else if service.contains('/') {
        "contains '/'"
    } else if service.contains('\0') {
        "contains NUL"
    } else if service == "." || service == ".." {
        "is a directory name"
    } else {
        return Ok(());
    };
    Err(TransportError::InvalidServiceName(reason))
}

fn seqpacket() -> Result<OwnedFd> {
    socket(
        AddressFamily::Unix,
        SockType::SeqPacket,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| TransportError::io("socket", e))
}

/// Bytes of `SO_SNDBUF` a single SEQPACKET message cannot use: Linux
/// refuses (EMSGSIZE) a message longer than the send buffer minus 32.
const SNDBUF_RESERVE: usize = 64;

/// The packet size this side proposes: the configured one, or the largest
/// message the socket's send buffer accepts.
fn packet_size_of(fd: &OwnedFd, configured: u32) -> u32 {
    if configured != 0 {
        return configured;
    }
    match getsockopt(fd, sockopt::SndBuf) {
        Ok(n) if n > SNDBUF_RESERVE + HEADER_LEN => (n - SNDBUF_RESERVE).min(u32::MAX as usize) as u32,
        _ => PACKET_SIZE_FALLBACK,
    }
}

/// Waits until `fd` is readable, the deadline passes, or abort is signalled.
fn wait_readable(fd: BorrowedFd<'_>, abort: Option<&AbortHandle>, deadline: Option<Instant>) -> Result<()> {
    loop {
        let timeout = match deadline {
            None => PollTimeout::NONE,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(TransportError::Timeout);
                }
                // Round up so a sub-millisecond remainder still waits.
                let ms = left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
                PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)
            }
        };
        let mut fds = [
            PollFd::new(fd, PollFlags::POLLIN),
            PollFd::new(fd, PollFlags::empty()),
        ];
        if let Some(a) = abort {
            fds[1] = PollFd::new(a.as_fd(), PollFlags::POLLIN);
        }
        let nfds = if abort.is_some() { 2 } else { 1 };
        match poll(&mut fds[..nfds], timeout) {
            Ok(0) => continue,
            Ok(_) => {
                if nfds == 2 && fds[1].revents().is_some_and(|r| !r.is_empty()) {
                    return Err(TransportError::Aborted);
                }
                return Ok(());
            }
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(TransportError::io("poll", e)),
        }
    }
}

/// The socket side of a session.
#[derive(Debug)]
struct Socket {
    fd: OwnedFd,
    abort: Option<AbortHandle>,
    /// Busy-polls a non-blocking receive before blocking in the kernel.
    spinner: Spinner,
}

impl Socket {
    fn new(fd: OwnedFd) -> Self {
        Self {
            fd,
            abort: None,
            spinner: Spinner::new(Duration::ZERO),
        }
    }
}

/// One `recvmsg` of a packet into `head` and `body`; `None` when nothing is
/// there yet (with `MSG_DONTWAIT`).
fn recv_once(fd: &OwnedFd, head: &mut [u8; 32], body: &mut [u8], flags: MsgFlags) -> Option<Result<usize>> {
    let mut iov = [IoSliceMut::new(head), IoSliceMut::new(body)];
    loop {
        return match recvmsg::<()>(fd.as_raw_fd(), &mut iov, None, flags | MsgFlags::MSG_CMSG_CLOEXEC) {
            Ok(m) if m.flags.contains(MsgFlags::MSG_TRUNC) => Some(Err(TransportError::Protocol(
                "packet larger than the negotiated packet size",
            ))),
            Ok(m) if m.bytes == 0 => Some(Err(TransportError::PeerClosed)),
            Ok(m) => Some(Ok(m.bytes)),
            Err(Errno::EINTR) => continue,
            Err(Errno::EAGAIN) => None,
            Err(Errno::ECONNRESET) => Some(Err(TransportError::PeerClosed)),
            Err(e) => Some(Err(TransportError::io("recvmsg", e))),
        };
    }
}

impl PacketIo for Socket {
    fn send_packet(&mut self, head: &[u8], body: &[u8]) -> Result<()> {
        let iov = [IoSlice::new(head), IoSlice::new(body)];
        loop {
            match sendmsg::<()>(self.fd.as_raw_fd(), &iov, &[], MsgFlags::MSG_NOSIGNAL, None) {
                Ok(n) if n == head.len() + body.len() => return Ok(()),
                Ok(_) => return Err(TransportError::Protocol("short SEQPACKET send")),
                Err(Errno::EINTR) => continue,
                Err(Errno::EPIPE | Errno::ECONNRESET | Errno::ENOTCONN) => {
                    return Err(TransportError::PeerClosed);
                }
                Err(e) => return Err(TransportError::io("sendmsg", e)),
            }
        }
    }

    fn recv_packet(
        &mut self,
        head: &mut [u8; 32],
        body: &mut [u8],
        deadline: Option<Instant>,
    ) -> Result<usize> {
        if self.abort.as_ref().is_some_and(AbortHandle::is_aborted) {
            return Err(TransportError::Aborted);
        }
        // Busy-poll first: a packet that comes within the spin budget costs
        // no sleep and no wake-up on either side.
        let mut got = None;
        let fd = &self.fd;
        let spun = self.spinner.spin(|| {
            got = recv_once(fd, head, body, MsgFlags::MSG_DONTWAIT);
            got.is_some()
        });
        if let (true, Some(r)) = (spun, got) {
            return r;
        }
        if deadline.is_some() || self.abort.is_some() {
            wait_readable(self.fd.as_fd(), self.abort.as_ref(), deadline)?;
        }
        loop {
            if let Some(r) = recv_once(&self.fd, head, body, MsgFlags::empty()) {
                return r;
            }
        }
    }
}

/// One handshake-complete UDS session, client or server side.
///
/// When the handshake selected SHM_HYBRID, messages travel through the
/// session's shared-memory region and the socket only tells liveness;
/// otherwise they travel over the socket. Either way the API is the same.
///
/// Sessions are not `Sync`: one thread sends and receives at a time. The
/// [`AbortHandle`] given to [`UdsSession::set_abort`] can stop a blocked
/// receive from any thread.
#[derive(Debug)]
pub struct UdsSession {
    sock: Socket,
    framer: Framer,
    #[cfg(target_os = "linux")]
    shm: Option<ShmRegion>,
}

/// Whether the peer has hung up the socket (without blocking).
fn peer_gone(fd: BorrowedFd<'_>) -> bool {
    #[cfg(target_os = "linux")]
    let events = PollFlags::from_bits_retain(libc::POLLRDHUP);
    #[cfg(not(target_os = "linux"))]
    let events = PollFlags::POLLHUP;
    let mut fds = [PollFd::new(fd, events)];
    matches!(poll(&mut fds, PollTimeout::ZERO), Ok(n) if n > 0)
}

impl UdsSession {
    /// Connects to `{run_dir}/{service}.sock` and performs the handshake.
    pub fn connect(run_dir: impl AsRef<Path>, service: &str, cfg: &ClientConfig) -> Result<Self> {
        let path = endpoint_path(run_dir.as_ref(), service)?;
        let fd = seqpacket()?;
        let addr = UnixAddr::new(&path).map_err(|e| TransportError::io("sockaddr", e))?;
        loop {
            match connect(fd.as_raw_fd(), &addr) {
                Ok(()) => break,
                Err(Errno::EINTR) => continue,
                Err(e @ (Errno::ENOENT | Errno::ECONNREFUSED | Errno::ENOTDIR)) => {
                    return Err(TransportError::NotFound {
                        path: path.display().to_string(),
                        source: e.into(),
                    });
                }
                Err(e) => return Err(TransportError::io("connect", e)),
            }
        }
        let mut cfg = cfg.clone();
        cfg.supported_profiles = cfg.effective_supported_profiles() & IMPLEMENTED_PROFILES;
        if cfg.supported_profiles == 0 {
            return Err(TransportError::Unsupported);
        }
        let packet_size = packet_size_of(&fd, cfg.packet_size);
        let mut sock = Socket::new(fd);
        let hello = handshake::client_hello(&cfg, packet_size);
        let pkt = handshake::hello_packet(&hello);
        sock.send_packet(&pkt[..HEADER_LEN], &pkt[HEADER_LEN..])?;
        let deadline = Instant::now() + cfg.effective_handshake_timeout();
        let mut head = [0u8; 32];
        let mut body = [0u8; 256];
        let n = sock.recv_packet(&mut head, &mut body, Some(deadline))?;
        let mut packet = [0u8; HEADER_LEN + 256];
        packet[..HEADER_LEN].copy_from_slice(&head);
        packet[HEADER_LEN..].copy_from_slice(&body);
        if n < HEADER_LEN {
            return Err(TransportError::Protocol("HELLO_ACK shorter than a header"));
        }
        let params = handshake::read_ack(&packet[..n])?;
        if params.selected_profile & cfg.supported_profiles == 0 {
            return Err(TransportError::Incompatible(
                "server selected a profile we did not offer",
            ));
        }
        #[cfg(target_os = "linux")]
        let shm = if params.selected_profile == netipc_codec::PROFILE_SHM_HYBRID {
            let mut region = attach_with_retry(run_dir.as_ref(), service, params.session_id)?;
            region.set_spin_tries(cfg.effective_shm_spin_tries());
            if let Some(budget) = cfg.shm_spin_budget {
                region.set_spin_budget(budget);
            }
            Some(region)
        } else {
            None
        };
        sock.spinner
            .set_budget(cfg.socket_spin_budget.unwrap_or_else(auto_spin_budget));
        Ok(Self {
            sock,
            framer: Framer::new(params, Role::Client),
            #[cfg(target_os = "linux")]
            shm,
        })
    }

    /// Whether the peer has closed the connection (one non-blocking poll).
    pub fn peer_closed(&self) -> bool {
        peer_gone(self.sock.fd.as_fd())
    }

    /// Whether messages travel through shared memory.
    pub fn is_shm(&self) -> bool {
        #[cfg(target_os = "linux")]
        return self.shm.is_some();
        #[cfg(not(target_os = "linux"))]
        return false;
    }

    /// The values negotiated for this session.
    pub fn params(&self) -> &SessionParams {
        &self.framer.params
    }

    /// Watches `abort` in every receive from now on.
    pub fn set_abort(&mut self, abort: Option<AbortHandle>) {
        self.sock.abort = abort;
    }

    /// Sends one message (chunked as needed). `payload_len` is set for you.
    pub fn send(&mut self, header: &Header, payload: &[u8]) -> Result<()> {
        #[cfg(target_os = "linux")]
        if let Some(shm) = self.shm.as_mut() {
            return self.framer.send_whole(header, payload, |h, p| shm.send(h, p));
        }
        self.framer.send(&mut self.sock, header, payload)
    }

    /// The payload of the last message received successfully (empty after
    /// a failed receive). Lets callers keep a borrow across other work.
    pub fn last_payload(&self) -> &[u8] {
        self.framer.last_payload()
    }

    /// Receives one message, blocking until it arrives. The payload borrows
    /// the session's buffer until the next receive.
    pub fn receive(&mut self) -> Result<(Header, &[u8])> {
        self.receive_inner(None)
    }

    /// Receives one message before `deadline`; the deadline covers every chunk.
    pub fn receive_until(&mut self, deadline: Instant) -> Result<(Header, &[u8])> {
        self.receive_inner(Some(deadline))
    }

    fn receive_inner(&mut self, deadline: Option<Instant>) -> Result<(Header, &[u8])> {
        #[cfg(target_os = "linux")]
        if let Some(shm) = self.shm.as_mut() {
            let sock = &self.sock;
            return self.framer.receive_whole(|buf| {
                shm.receive_watching(buf, deadline, || {
                    peer_gone(sock.fd.as_fd()) || sock.abort.as_ref().is_some_and(AbortHandle::is_aborted)
                })
                .map_err(|e| match e {
                    TransportError::PeerClosed
                        if sock.abort.as_ref().is_some_and(AbortHandle::is_aborted) =>
                    {
                        TransportError::Aborted
                    }
                    e => e,
                })
            });
        }
        self.framer.receive(&mut self.sock, deadline)
    }
}

impl AsFd for UdsSession {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.fd.as_fd()
    }
}

impl AsRawFd for UdsSession {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.fd.as_raw_fd()
    }
}

/// A bound, listening UDS endpoint. Dropping it removes the socket file.
#[derive(Debug)]
pub struct UdsListener {
    fd: OwnedFd,
    path: PathBuf,
    shared: Arc<Endpoint>,
    cfg: ServerConfig,
}

/// What pending sessions need of their listener.
#[derive(Debug)]
struct Endpoint {
    run_dir: PathBuf,
    service: String,
    next_session: AtomicU64,
}

/// What the probe found at an existing endpoint path.
enum Probe {
    Live,
    Unknown,
    Stale,
    Absent,
}

fn probe(path: &Path, addr: &UnixAddr) -> Probe {
    let fd = match seqpacket() {
        Ok(fd) => fd,
        Err(TransportError::Io { ref source, .. })
            if matches!(source.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) =>
        {
            return Probe::Unknown;
        }
        Err(_) => return Probe::Unknown,
    };
    match connect(fd.as_raw_fd(), addr) {
        Ok(()) => Probe::Live,
        Err(Errno::ENOENT) if !path.exists() => Probe::Absent,
        Err(_) => Probe::Stale,
    }
}

impl UdsListener {
    /// Binds `{run_dir}/{service}.sock`, recovering a stale endpoint.
    ///
    /// A live server at the path gives [`TransportError::AddressInUse`]; so
    /// does an fd shortage that prevents the liveness probe. Anything else at
    /// the path is removed. The socket file is made owner-only (0600) before
    /// the listener starts accepting, without touching the process umask.
    pub fn bind(run_dir: impl AsRef<Path>, service: &str, cfg: ServerConfig) -> Result<Self> {
        let path = endpoint_path(run_dir.as_ref(), service)?;
        let addr = UnixAddr::new(&path).map_err(|e| TransportError::io("sockaddr", e))?;
        if std::fs::symlink_metadata(&path).is_ok() {
            match probe(&path, &addr) {
                Probe::Live | Probe::Unknown => {
                    return Err(TransportError::AddressInUse {
                        path: path.display().to_string(),
                    });
                }
                Probe::Stale => match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(TransportError::io("unlink stale endpoint", e)),
                },
                Probe::Absent => {}
            }
        }
        #[cfg(target_os = "linux")]
        if cfg.effective_supported_profiles() & netipc_codec::PROFILE_SHM_HYBRID != 0 {
            super::shm::cleanup_stale(run_dir.as_ref(), service);
        }
        let fd = seqpacket()?;
        match bind(fd.as_raw_fd(), &addr) {
            Ok(()) => {}
            Err(Errno::EADDRINUSE) => {
                return Err(TransportError::AddressInUse {
                    path: path.display().to_string(),
                });
            }
            Err(e) => return Err(TransportError::io("bind", e)),
        }
        let owned = Self {
            fd,
            path,
            shared: Arc::new(Endpoint {
                run_dir: run_dir.as_ref().to_path_buf(),
                service: service.to_string(),
                next_session: AtomicU64::new(1),
            }),
            cfg,
        };
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&owned.path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| TransportError::io("chmod endpoint", e))?;
        let backlog = Backlog::new(owned.cfg.effective_backlog().min(i32::MAX as u32) as i32)
            .unwrap_or(Backlog::MAXCONN);
        listen(&owned.fd, backlog).map_err(|e| TransportError::io("listen", e))?;
        Ok(owned)
    }

    /// The endpoint path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Accepts one connection without handshaking yet (so a slow client
    /// does not hold up the acceptor). Call [`PendingSession::handshake`].
    pub fn accept_connection(&self) -> Result<PendingSession> {
        loop {
            match accept4(self.fd.as_raw_fd(), SockFlag::SOCK_CLOEXEC) {
                Ok(raw) => {
                    // SAFETY: accept4 just returned this descriptor; nothing else owns it.
                    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
                    return Ok(PendingSession {
                        fd,
                        endpoint: Arc::clone(&self.shared),
                        cfg: self.cfg.clone(),
                    });
                }
                Err(Errno::EINTR | Errno::ECONNABORTED) => continue,
                Err(e) => return Err(TransportError::io("accept4", e)),
            }
        }
    }

    /// Waits until a connection can be accepted, `abort` is signalled, or
    /// the deadline passes.
    pub fn wait_acceptable(&self, abort: Option<&AbortHandle>, deadline: Option<Instant>) -> Result<()> {
        wait_readable(self.fd.as_fd(), abort, deadline)
    }

    /// Accepts one connection and performs the handshake.
    pub fn accept(&self) -> Result<UdsSession> {
        self.accept_connection()?.handshake()
    }
}

impl AsFd for UdsListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for UdsListener {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl Drop for UdsListener {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A connection accepted but not yet handshaken.
#[derive(Debug)]
pub struct PendingSession {
    fd: OwnedFd,
    endpoint: Arc<Endpoint>,
    cfg: ServerConfig,
}

impl PendingSession {
    /// The configuration this handshake will apply; a managed server may
    /// adjust it (for example, payload ceilings it has learned) first.
    pub fn config_mut(&mut self) -> &mut ServerConfig {
        &mut self.cfg
    }

    /// Reads the client's HELLO, decides, answers, and returns the session.
    /// A rejected client gets its HELLO_ACK status, then the connection closes.
    pub fn handshake(self) -> Result<UdsSession> {
        let l = &*self.endpoint;
        let mut sock = Socket::new(self.fd);
        let deadline = Instant::now() + self.cfg.effective_handshake_timeout();
        let mut head = [0u8; 32];
        let mut body = [0u8; 256];
        let n = sock.recv_packet(&mut head, &mut body, Some(deadline))?;
        let mut packet = [0u8; HEADER_LEN + 256];
        packet[..HEADER_LEN].copy_from_slice(&head);
        packet[HEADER_LEN..].copy_from_slice(&body);
        let mut cfg = self.cfg;
        cfg.supported_profiles = cfg.effective_supported_profiles() & IMPLEMENTED_PROFILES;
        let packet_size = packet_size_of(&sock.fd, cfg.packet_size);
        let mut decision = handshake::negotiate(&packet[..n], &cfg, packet_size, 0);
        #[cfg(target_os = "linux")]
        let mut region = None;
        if let Decision::Accept(a) = &mut decision {
            a.session_id = l.next_session.fetch_add(1, Ordering::Relaxed);
            #[cfg(target_os = "linux")]
            if a.selected_profile == netipc_codec::PROFILE_SHM_HYBRID {
                // The region must be ready before a successful ACK names it.
                let req = a.agreed_max_request_payload_bytes as usize + HEADER_LEN;
                let resp = a.agreed_max_response_payload_bytes as usize + HEADER_LEN;
                match ShmRegion::create(&l.run_dir, &l.service, a.session_id, req, resp) {
                    Ok(mut r) => {
                        r.set_spin_tries(cfg.effective_shm_spin_tries());
                        if let Some(budget) = cfg.shm_spin_budget {
                            r.set_spin_budget(budget);
                        }
                        region = Some(r);
                    }
                    Err(_) => {
                        // No SHM for this session (ENOSPC, quota, ...): decide
                        // again without it; the session runs on the baseline.
                        let id = a.session_id;
                        cfg.supported_profiles &= !netipc_codec::PROFILE_SHM_HYBRID;
                        decision = handshake::negotiate(&packet[..n], &cfg, packet_size, id);
                    }
                }
            }
        }
        let ack = handshake::ack_packet(&decision);
        let sent = sock.send_packet(&ack[..HEADER_LEN], &ack[HEADER_LEN..HEADER_LEN + HELLO_ACK_LEN]);
        match decision {
            Decision::Accept(a) => {
                sent?;
                sock.spinner
                    .set_budget(cfg.socket_spin_budget.unwrap_or_else(auto_spin_budget));
                Ok(UdsSession {
                    sock,
                    framer: Framer::new(SessionParams::from(&a), Role::Server),
                    #[cfg(target_os = "linux")]
                    shm: region,
                })
            }
            Decision::Reject(status, why) => Err(match status {
                netipc_codec::STATUS_AUTH_FAILED => TransportError::AuthFailed,
                netipc_codec::STATUS_UNSUPPORTED => TransportError::Unsupported,
                netipc_codec::STATUS_INCOMPATIBLE => TransportError::Incompatible(why),
                netipc_codec::STATUS_LIMIT_EXCEEDED => TransportError::LimitExceeded {
                    what: "proposed request payload",
                    value: 0,
                    limit: cfg.effective_max_request_payload_bytes() as u64,
                },
                _ => TransportError::Protocol(why),
            }),
        }
    }
}

/// Attaches the region the server announced, retrying while it is not
/// ready, until a deadline.
#[cfg(target_os = "linux")]
fn attach_with_retry(run_dir: &Path, service: &str, session_id: u64) -> Result<ShmRegion> {
    let deadline = Instant::now() + SHM_ATTACH_TIMEOUT;
    loop {
        match ShmRegion::attach(run_dir, service, session_id) {
            Ok(r) => return Ok(r),
            Err(TransportError::ShmNotReady(_)) if Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            Err(e) => return Err(TransportError::ShmUnavailable(Box::new(e))),
        }
    }
}

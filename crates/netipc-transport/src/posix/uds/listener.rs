//! The listening endpoint: stale recovery, accept, and the server side of
//! the handshake.

use super::UdsSession;
use super::socket::{Socket, packet_size_of, seqpacket, seqpacket_with, try_recv_control, wait_readable};
use super::{IMPLEMENTED_PROFILES, endpoint_path};
use crate::abort::AbortHandle;
use crate::config::ServerConfig;
use crate::error::{Result, TransportError};
use crate::framing::{Framer, Role};
use crate::handshake::{self, Decision, SessionParams};
#[cfg(target_os = "linux")]
use crate::log_limit::LogLimit;
#[cfg(target_os = "linux")]
use crate::peer::EndpointMode;
use crate::peer::PeerCredentials;
use crate::posix::descriptors;
use crate::posix::peer_cred::{check_run_dir, peer_credentials};
#[cfg(target_os = "linux")]
use crate::posix::shm::ShmRegion;
use crate::spin::auto_spin_budget;
#[cfg(target_os = "linux")]
use netipc_codec::HEADER_LEN;
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use nix::sys::socket::{Backlog, UnixAddr, bind, connect, listen};
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Log lines about shared-memory set-ups that failed (at most 10 a minute).
#[cfg(target_os = "linux")]
static SHM_FALLBACK_LOG: LogLimit = LogLimit::new("shared memory fallback", 10, Duration::from_secs(60));

/// A bound, listening UDS endpoint. Dropping it removes the socket file.
#[derive(Debug)]
pub struct UdsListener {
    fd: OwnedFd,
    path: PathBuf,
    /// Device and inode of the socket file we bound, so that dropping the
    /// listener removes that file and not one another server put there.
    file_id: Option<(u64, u64)>,
    shared: Arc<Endpoint>,
    cfg: ServerConfig,
}

/// Device and inode of the file at `path` (not following a symlink).
fn file_id(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// What pending sessions need of their listener.
#[derive(Debug)]
struct Endpoint {
    /// Where, and under which name, shared-memory sessions put their
    /// region files.
    #[cfg(target_os = "linux")]
    run_dir: PathBuf,
    #[cfg(target_os = "linux")]
    service: String,
    /// Permissions of the region files.
    #[cfg(target_os = "linux")]
    mode: EndpointMode,
    next_session: AtomicU64,
}

/// What the probe found at an existing endpoint path.
enum Probe {
    Live,
    Unknown,
    Stale,
    Absent,
}

/// Connects to the endpoint without waiting: a server whose backlog is full
/// (`EAGAIN`) is as alive as one that takes the connection. A platform
/// without SEQPACKET sockets cannot probe, nor serve: that error is
/// passed on.
fn probe(path: &Path, addr: &UnixAddr) -> Result<Probe> {
    let fd = match seqpacket_with(true) {
        Ok(fd) => fd,
        Err(e @ TransportError::PlatformUnsupported { .. }) => return Err(e),
        // EMFILE, ENFILE, ...: liveness cannot be told.
        Err(_) => return Ok(Probe::Unknown),
    };
    Ok(match connect(fd.as_raw_fd(), addr) {
        Ok(()) | Err(Errno::EAGAIN) => Probe::Live,
        Err(Errno::ENOENT) if !path.exists() => Probe::Absent,
        Err(_) => Probe::Stale,
    })
}

/// How long a server waits for another process's endpoint setup in the same
/// run dir before it goes on without the lock.
const SETUP_LOCK_WAIT: Duration = Duration::from_secs(2);

/// Takes the run dir's setup lock: an exclusive `flock` on the directory
/// itself, so no file is added to it. Held from the liveness probe to
/// `listen`, it makes a server that starts at the same moment as another
/// wait, rather than probe the other's socket between its `bind` and its
/// `listen`, find it refusing, and remove it as stale. Best effort: where
/// the directory cannot be locked, or another process holds the lock for
/// longer than [`SETUP_LOCK_WAIT`], setup goes on without it.
fn lock_run_dir(run_dir: &Path) -> Option<Flock<File>> {
    let mut dir = File::open(run_dir).ok()?;
    let deadline = Instant::now() + SETUP_LOCK_WAIT;
    loop {
        match Flock::lock(dir, FlockArg::LockExclusiveNonblock) {
            Ok(held) => return Some(held),
            Err((d, Errno::EWOULDBLOCK | Errno::EINTR)) if Instant::now() < deadline => {
                dir = d;
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(_) => return None,
        }
    }
}

impl UdsListener {
    /// Binds `{run_dir}/{service}.sock`, recovering a stale endpoint.
    ///
    /// A live server at the path gives [`TransportError::AddressInUse`]; so
    /// does an fd shortage that prevents the liveness probe. Anything else at
    /// the path (a dead server's socket, a file, a symlink, an empty
    /// directory) is removed; a directory with files in it also gives
    /// `AddressInUse`. The socket file gets the configured
    /// [`EndpointMode`] (owner only, 0600, by default) before the listener
    /// starts accepting, without touching the process umask. A run dir
    /// that every user may write to and that lacks the sticky bit is
    /// refused ([`TransportError::UnsafeRunDir`]) unless the configuration
    /// allows it.
    /// Servers of this library starting at the same moment in one run dir
    /// take turns (an `flock` on the directory): exactly one of them binds.
    pub fn bind(run_dir: impl AsRef<Path>, service: &str, cfg: ServerConfig) -> Result<Self> {
        let path = endpoint_path(run_dir.as_ref(), service)?;
        check_run_dir(run_dir.as_ref(), cfg.allow_unsafe_run_dir)?;
        let addr = UnixAddr::new(&path)
            .map_err(|e| TransportError::io_at("make a socket address of", path.display(), e))?;
        // Released when this function returns: the endpoint is listening
        // (or was not created) by then.
        let _setup = lock_run_dir(run_dir.as_ref());
        if std::fs::symlink_metadata(&path).is_ok() {
            match probe(&path, &addr)? {
                Probe::Live | Probe::Unknown => {
                    return Err(TransportError::AddressInUse {
                        path: path.display().to_string(),
                    });
                }
                Probe::Stale => match crate::posix::remove_endpoint_entry(&path) {
                    Ok(()) => log::info!(
                        "removed the stale endpoint {} (no server listened)",
                        path.display()
                    ),
                    // A directory with files in it is not ours to empty.
                    Err(e) if e.kind() == std::io::ErrorKind::DirectoryNotEmpty => {
                        return Err(TransportError::AddressInUse {
                            path: path.display().to_string(),
                        });
                    }
                    Err(e) => {
                        return Err(TransportError::io_at(
                            "remove the stale endpoint",
                            path.display(),
                            e,
                        ));
                    }
                },
                Probe::Absent => {}
            }
        }
        #[cfg(target_os = "linux")]
        if cfg.effective_supported_profiles() & netipc_codec::PROFILE_SHM_HYBRID != 0 {
            let removed = crate::posix::shm::cleanup_stale(run_dir.as_ref(), service);
            if removed > 0 {
                log::info!(
                    "removed {removed} stale shared memory region file(s) of {service} in {}",
                    run_dir.as_ref().display()
                );
            }
        }
        let fd = seqpacket()?;
        match bind(fd.as_raw_fd(), &addr) {
            Ok(()) => {}
            Err(Errno::EADDRINUSE) => {
                return Err(TransportError::AddressInUse {
                    path: path.display().to_string(),
                });
            }
            Err(e) => return Err(TransportError::io_at("bind", path.display(), e)),
        }
        let owned = Self {
            fd,
            file_id: file_id(&path),
            path,
            shared: Arc::new(Endpoint {
                #[cfg(target_os = "linux")]
                run_dir: run_dir.as_ref().to_path_buf(),
                #[cfg(target_os = "linux")]
                service: service.to_string(),
                #[cfg(target_os = "linux")]
                mode: cfg.endpoint_mode,
                next_session: AtomicU64::new(1),
            }),
            cfg,
        };
        use std::os::unix::fs::PermissionsExt;
        let mode = owned.cfg.endpoint_mode.bits();
        std::fs::set_permissions(&owned.path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| TransportError::io_at("chmod", owned.path.display(), e))?;
        let backlog = Backlog::new(owned.cfg.effective_backlog().min(i32::MAX as u32) as i32)
            .unwrap_or(Backlog::MAXCONN);
        listen(&owned.fd, backlog)
            .map_err(|e| TransportError::io_at("listen on", owned.path.display(), e))?;
        Ok(owned)
    }

    /// The endpoint path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Accepts one connection without handshaking yet (so a slow client
    /// does not hold up the acceptor), and reads its peer's credentials.
    /// Call [`PendingSession::handshake`].
    pub fn accept_connection(&self) -> Result<PendingSession> {
        loop {
            match descriptors::accept(self.fd.as_raw_fd()) {
                Ok(fd) => {
                    return Ok(PendingSession {
                        peer: peer_credentials(&fd),
                        fd,
                        endpoint: Arc::clone(&self.shared),
                        cfg: self.cfg.clone(),
                        hello: None,
                    });
                }
                Err(Errno::EINTR | Errno::ECONNABORTED) => continue,
                Err(e) => return Err(TransportError::io("accept", e)),
            }
        }
    }

    /// Makes [`UdsListener::try_accept_connection`] (and
    /// [`UdsListener::accept_connection`]) return at once when no
    /// connection is waiting, as an event loop that accepts on readiness
    /// needs; or makes them wait again.
    pub fn set_nonblocking(&self, nonblocking: bool) -> Result<()> {
        use nix::fcntl::{FcntlArg, OFlag, fcntl};
        let flags = fcntl(&self.fd, FcntlArg::F_GETFL).map_err(|e| TransportError::io("fcntl F_GETFL", e))?;
        let mut flags = OFlag::from_bits_retain(flags);
        flags.set(OFlag::O_NONBLOCK, nonblocking);
        fcntl(&self.fd, FcntlArg::F_SETFL(flags)).map_err(|e| TransportError::io("fcntl F_SETFL", e))?;
        Ok(())
    }

    /// Accepts one connection if one is waiting, without waiting on a
    /// non-blocking listener ([`UdsListener::set_nonblocking`]); `None`
    /// when none is. The handshake is still to do
    /// ([`PendingSession::handshake`], which waits for the client's HELLO).
    pub fn try_accept_connection(&self) -> Result<Option<PendingSession>> {
        loop {
            match descriptors::accept(self.fd.as_raw_fd()) {
                Ok(fd) => {
                    return Ok(Some(PendingSession {
                        peer: peer_credentials(&fd),
                        fd,
                        endpoint: Arc::clone(&self.shared),
                        cfg: self.cfg.clone(),
                        hello: None,
                    }));
                }
                Err(Errno::EAGAIN) => return Ok(None),
                Err(Errno::EINTR | Errno::ECONNABORTED) => continue,
                Err(e) => return Err(TransportError::io("accept", e)),
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
    /// Removes the socket file, if it is still the one this listener bound.
    fn drop(&mut self) {
        if self.file_id.is_none() || file_id(&self.path) == self.file_id {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A connection accepted but not yet handshaken.
#[derive(Debug)]
pub struct PendingSession {
    fd: OwnedFd,
    endpoint: Arc<Endpoint>,
    cfg: ServerConfig,
    /// The client's HELLO, once [`PendingSession::try_receive_hello`] took it.
    hello: Option<Box<([u8; handshake::CONTROL_ROOM], usize)>>,
    /// Who connected, as the kernel reported it at accept.
    peer: PeerCredentials,
}

impl PendingSession {
    /// Who connected, as the kernel reported it at accept.
    pub fn peer(&self) -> &PeerCredentials {
        &self.peer
    }

    /// The configuration this handshake will apply; a managed server may
    /// adjust it (for example, payload ceilings it has learned) first.
    pub fn config_mut(&mut self) -> &mut ServerConfig {
        &mut self.cfg
    }

    /// How long the handshake may take: an event loop that receives the
    /// HELLO itself gives up on the client after this.
    pub fn handshake_timeout(&self) -> std::time::Duration {
        self.cfg.effective_handshake_timeout()
    }

    /// Takes the client's HELLO if it has come, without waiting; `true`
    /// once it has (then [`PendingSession::complete_handshake`]). For an
    /// event loop that waits for the socket to be readable in between,
    /// giving up after [`PendingSession::handshake_timeout`].
    pub fn try_receive_hello(&mut self) -> Result<bool> {
        if self.hello.is_some() {
            return Ok(true);
        }
        self.hello = try_recv_control(&self.fd)?.map(Box::new);
        Ok(self.hello.is_some())
    }

    /// Decides on the HELLO that [`PendingSession::try_receive_hello`]
    /// took, answers, and returns the session, without waiting (the
    /// answer is one short packet on a fresh socket). A rejected client
    /// gets its HELLO_ACK status, then the connection closes.
    pub fn complete_handshake(mut self) -> Result<UdsSession> {
        let Some(hello) = self.hello.take() else {
            return Err(TransportError::Protocol("no HELLO received yet"));
        };
        let (packet, n) = *hello;
        let deadline = crate::deadline_after(self.cfg.effective_handshake_timeout());
        Self::answer_hello(
            &self.endpoint,
            self.cfg,
            self.peer,
            Socket::new(self.fd),
            &packet,
            n,
            deadline,
        )
    }

    /// Reads the client's HELLO, decides, answers, and returns the session.
    /// A rejected client gets its HELLO_ACK status, then the connection
    /// closes. A peer the access policy refuses is answered AUTH_FAILED
    /// and reported as [`TransportError::PeerRefused`].
    pub fn handshake(self) -> Result<UdsSession> {
        let peer = self.peer;
        let mut sock = Socket::new(self.fd);
        let deadline = crate::deadline_after(self.cfg.effective_handshake_timeout());
        let (packet, n) = match self.hello {
            Some(hello) => *hello,
            None => handshake::recv_control(&mut sock, deadline)?,
        };
        Self::answer_hello(&self.endpoint, self.cfg, peer, sock, &packet, n, deadline)
    }

    /// Decides on the HELLO in `packet[..n]` from `peer`, answers it on
    /// `sock`, and returns the session.
    fn answer_hello(
        l: &Endpoint,
        cfg: ServerConfig,
        peer: PeerCredentials,
        mut sock: Socket,
        packet: &[u8],
        n: usize,
        deadline: Instant,
    ) -> Result<UdsSession> {
        let mut cfg = cfg;
        if !cfg.access.allows(&peer) {
            let _ = handshake::send_ack(&mut sock, &handshake::refusal(), deadline);
            return Err(TransportError::PeerRefused { peer });
        }
        cfg.supported_profiles = cfg.effective_supported_profiles() & IMPLEMENTED_PROFILES;
        cfg.preferred_profiles &= IMPLEMENTED_PROFILES;
        let packet_size = packet_size_of(&sock.fd, cfg.packet_size)?;
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
                match ShmRegion::create_with_mode(&l.run_dir, &l.service, a.session_id, req, resp, l.mode) {
                    Ok(mut r) => {
                        r.set_spin_tries(cfg.effective_shm_spin_tries());
                        if let Some(budget) = cfg.shm_spin_budget {
                            r.set_spin_budget(budget);
                        }
                        region = Some(r);
                    }
                    Err(e) => {
                        // No SHM for this session (ENOSPC, quota, ...): decide
                        // again without it; the session runs on the baseline.
                        SHM_FALLBACK_LOG.log(
                            log::Level::Warn,
                            module_path!(),
                            format_args!(
                                "session {} of {} ({peer}) runs over the socket: {e}",
                                a.session_id, l.service
                            ),
                        );
                        let id = a.session_id;
                        cfg.supported_profiles &= !netipc_codec::PROFILE_SHM_HYBRID;
                        decision = handshake::negotiate(&packet[..n], &cfg, packet_size, id);
                    }
                }
            }
        }
        let sent = handshake::send_ack(&mut sock, &decision, deadline);
        match decision {
            Decision::Accept(a) => {
                sent?;
                sock.spinner
                    .set_budget(cfg.socket_spin_budget.unwrap_or_else(auto_spin_budget));
                Ok(UdsSession {
                    sock,
                    peer,
                    framer: Framer::new(SessionParams::from(&a), Role::Server),
                    #[cfg(target_os = "linux")]
                    shm: region,
                })
            }
            Decision::Reject(status, why) => Err(handshake::rejection_error(status, why, &cfg)),
        }
    }
}

impl AsFd for PendingSession {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for PendingSession {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

//! A handshake-complete session, client or server side.

#[cfg(target_os = "linux")]
use super::SHM_ATTACH_TIMEOUT;
use super::socket::{Socket, connect_until, packet_size_of, seqpacket};
use super::{IMPLEMENTED_PROFILES, endpoint_path};
use crate::abort::AbortHandle;
use crate::config::ClientConfig;
use crate::error::{Result, TransportError};
use crate::framing::{Framer, Role, SendProgress};
use crate::handshake::{self, SessionParams};
#[cfg(target_os = "linux")]
use crate::posix::shm::ShmRegion;
use crate::spin::auto_spin_budget;
use netipc_codec::Header;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::UnixAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::path::Path;
use std::time::Instant;

/// Futex sleep slice of a client watching an abort signal over shared memory.
#[cfg(target_os = "linux")]
const ABORTABLE_WAIT_SLICE: std::time::Duration = std::time::Duration::from_millis(2);

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
    pub(super) sock: Socket,
    /// Who is at the other end, as the kernel reported it.
    pub(super) peer: crate::PeerCredentials,
    pub(super) framer: Framer,
    #[cfg(target_os = "linux")]
    pub(super) shm: Option<ShmRegion>,
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
        let addr = UnixAddr::new(&path)
            .map_err(|e| TransportError::io_at("make a socket address of", path.display(), e))?;
        // One deadline for the whole connection: the connect (a server's
        // full backlog makes it wait) and the handshake.
        let deadline = crate::deadline_after(cfg.effective_handshake_timeout());
        connect_until(&fd, &addr, &path, deadline)?;
        let mut cfg = cfg.clone();
        cfg.supported_profiles = cfg.effective_supported_profiles() & IMPLEMENTED_PROFILES;
        cfg.preferred_profiles &= IMPLEMENTED_PROFILES;
        if cfg.supported_profiles == 0 {
            return Err(TransportError::Unsupported);
        }
        let packet_size = packet_size_of(&fd, cfg.packet_size)?;
        let mut sock = Socket::new(fd);
        let hello = handshake::client_hello(&cfg, packet_size);
        let params = handshake::client_exchange(&mut sock, &hello, deadline)?;
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
            peer: crate::posix::peer_cred::peer_credentials(&sock.fd),
            sock,
            framer: Framer::new(params, Role::Client),
            #[cfg(target_os = "linux")]
            shm,
        })
    }

    /// Who is at the other end: on a server's session, the client as the
    /// kernel reported it at accept; on a client's, the server (the
    /// process that bound the endpoint, as it was at `listen`).
    pub fn peer_credentials(&self) -> &crate::PeerCredentials {
        &self.peer
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
        // A client waiting on shared memory checks its abort signal between
        // futex sleeps: keep them short while a signal is watched. (Servers
        // keep the long slices: their sessions idle between requests.)
        #[cfg(target_os = "linux")]
        if let Some(shm) = self.shm.as_mut() {
            let client = self.framer.role() == Role::Client;
            shm.set_wait_slice(if abort.is_some() && client {
                ABORTABLE_WAIT_SLICE
            } else {
                crate::posix::shm::WAIT_SLICE
            });
        }
        self.sock.abort = abort;
    }

    /// Sends one message (chunked as needed). `payload_len` is set for you.
    /// While the peer reads nothing and the socket cannot queue more, waits
    /// for room, watching the abort signal.
    pub fn send(&mut self, header: &Header, payload: &[u8]) -> Result<()> {
        self.send_inner(header, payload, None)
    }

    /// Like [`UdsSession::send`], but gives up with `Timeout` at `deadline`
    /// if the peer does not make room; the deadline covers every chunk. A
    /// session whose send timed out may have sent part of a message: close
    /// it.
    pub fn send_until(&mut self, header: &Header, payload: &[u8], deadline: Instant) -> Result<()> {
        self.send_inner(header, payload, Some(deadline))
    }

    fn send_inner(&mut self, header: &Header, payload: &[u8], deadline: Option<Instant>) -> Result<()> {
        #[cfg(target_os = "linux")]
        if let Some(shm) = self.shm.as_mut() {
            return self.framer.send_whole(header, payload, |h, p| shm.send(h, p));
        }
        self.framer.send(&mut self.sock, header, payload, deadline)
    }

    /// Sends several messages in order, each checked and framed as
    /// [`UdsSession::send`] does: a client pipelines its requests with it,
    /// a server answers several at once.
    ///
    /// Over the socket, on Linux, their packets go out together, up to 32
    /// in one `sendmmsg`: one system call instead of one per packet. Shared
    /// memory holds one message per direction, so there a client can send
    /// only one.
    ///
    /// On error, the messages before the failing one have been sent, and
    /// none after it; the ids of those not sent are free again.
    ///
    /// ```no_run
    /// use netipc::transport::ClientConfig;
    /// use netipc::protocol::{Header, Kind, METHOD_INCREMENT, increment};
    /// use netipc::transport::posix::UdsSession;
    ///
    /// let mut session = UdsSession::connect("/run/agent", "increment", &ClientConfig::default())?;
    /// let payloads: Vec<[u8; 8]> = (0..16).map(increment::encode).collect();
    /// session.send_many(
    ///     payloads
    ///         .iter()
    ///         .zip(1..)
    ///         .map(|(p, id)| (Header::new(Kind::Request, METHOD_INCREMENT, id, 0), &p[..])),
    /// )?;
    /// for _ in 0..16 {
    ///     let (header, answer) = session.receive()?;
    ///     assert_eq!(increment::decode(answer)?, header.message_id);
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send_many<'p>(&mut self, messages: impl IntoIterator<Item = (Header, &'p [u8])>) -> Result<()> {
        #[cfg(target_os = "linux")]
        if let Some(shm) = self.shm.as_mut() {
            return self.framer.send_whole_each(messages, |h, p| shm.send(h, p));
        }
        self.framer.send_many(&mut self.sock, messages, None)
    }

    /// Sends one message, then receives the next one (before `deadline`,
    /// when given, which covers the send too): a call, on the client side;
    /// on the server side, an answer and the wait for the next request.
    ///
    /// The same as [`UdsSession::send`] followed by a receive, except that
    /// over shared memory the peer's futex wake is held back for a moment
    /// and skipped when the peer's answer arrives first (the peer then has
    /// read the message, so it is not asleep waiting for it). Between two
    /// busy processes that saves a system call per message.
    ///
    /// ```no_run
    /// use netipc::transport::ClientConfig;
    /// use netipc::protocol::{Header, Kind, METHOD_INCREMENT, increment};
    /// use netipc::transport::posix::UdsSession;
    /// use std::time::{Duration, Instant};
    ///
    /// let mut session = UdsSession::connect("/run/agent", "increment", &ClientConfig::default())?;
    /// let request = Header::new(Kind::Request, METHOD_INCREMENT, 1, 0);
    /// let deadline = Instant::now() + Duration::from_secs(1);
    /// let (_, answer) = session.exchange(&request, &increment::encode(41), Some(deadline))?;
    /// assert_eq!(increment::decode(answer)?, 42);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn exchange(
        &mut self,
        header: &Header,
        payload: &[u8],
        deadline: Option<Instant>,
    ) -> Result<(Header, &[u8])> {
        #[cfg(target_os = "linux")]
        if let Some(shm) = self.shm.as_mut() {
            self.framer
                .send_whole(header, payload, |h, p| shm.send_quiet(h, p))?;
            return self.receive_inner(deadline);
        }
        self.send_inner(header, payload, deadline)?;
        self.receive_inner(deadline)
    }

    /// Starts sending one message without waiting, for an event loop: checks
    /// it against the session's rules, records its id, and returns its
    /// progress for [`UdsSession::try_send`].
    ///
    /// Over shared memory the message is published (and the peer woken)
    /// at once: the progress comes back done. Over the socket nothing is
    /// sent yet.
    ///
    /// ```no_run
    /// use netipc::protocol::{Header, Kind, METHOD_INCREMENT, increment};
    /// use netipc::transport::ClientConfig;
    /// use netipc::transport::posix::UdsSession;
    ///
    /// let mut session = UdsSession::connect("/run/agent", "increment", &ClientConfig::default())?;
    /// let payload = increment::encode(41);
    /// let mut progress = session.start_send(&Header::new(Kind::Request, METHOD_INCREMENT, 1, 0), &payload)?;
    /// while !session.try_send(&mut progress, &payload)? {
    ///     // The socket is full: wait until it is writable (poll, epoll,
    ///     // mio, an async runtime), then try again.
    /// }
    /// let answer = loop {
    ///     if let Some((_, payload)) = session.try_receive()? {
    ///         break increment::decode(payload)?;
    ///     }
    ///     // Nothing yet: wait until the socket is readable (or, over
    ///     // shared memory, on a `shm_watch`), then try again.
    /// };
    /// assert_eq!(answer, 42);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn start_send(&mut self, header: &Header, payload: &[u8]) -> Result<SendProgress> {
        #[cfg(target_os = "linux")]
        if let Some(shm) = self.shm.as_mut() {
            self.framer.send_whole(header, payload, |h, p| shm.send(h, p))?;
            return Ok(SendProgress::sent(*header));
        }
        self.framer.start_send(header, payload)
    }

    /// Like [`UdsSession::start_send`], for a message whose answer the
    /// caller looks for at once: over shared memory the peer's wake is
    /// held back, skipped if the answer arrives first (the peer then read
    /// the message, so it is not asleep), and owed until then. The caller
    /// must call [`UdsSession::flush_wake`] before it stops looking for the
    /// answer without having it (before it sleeps, or hands the wait to
    /// another thread); dropping the session pays it too.
    pub fn start_send_quiet(&mut self, header: &Header, payload: &[u8]) -> Result<SendProgress> {
        #[cfg(target_os = "linux")]
        if let Some(shm) = self.shm.as_mut() {
            self.framer
                .send_whole(header, payload, |h, p| shm.send_quiet(h, p))?;
            return Ok(SendProgress::sent(*header));
        }
        self.framer.start_send(header, payload)
    }

    /// Sends the peer's wake that [`UdsSession::start_send_quiet`] held
    /// back, if it is still owed (nothing over the socket).
    pub fn flush_wake(&mut self) {
        #[cfg(target_os = "linux")]
        if let Some(shm) = self.shm.as_mut() {
            shm.flush_wake();
        }
    }

    /// Sends as much of a started message as the socket takes now, without
    /// waiting; `true` once all of it is out, `false` when the socket is
    /// full (wait until it is writable, then call again). `payload` must be
    /// the one given to [`UdsSession::start_send`]. A message left part-way
    /// leaves a cut message on the wire: close the session then.
    pub fn try_send(&mut self, progress: &mut SendProgress, payload: &[u8]) -> Result<bool> {
        if progress.is_done() {
            return Ok(true);
        }
        self.framer.try_send(&mut self.sock, progress, payload)
    }

    /// Receives the next message if it is there, without waiting; `None`
    /// otherwise. Over the socket, the packets of a chunked message that
    /// came so far are kept until the rest comes; wait until the socket is
    /// readable, then call again. Over shared memory, wait on
    /// [`UdsSession::shm_watch`] for message [`UdsSession::shm_awaited`]
    /// (and watch the socket, which turns readable when the peer hangs up).
    pub fn try_receive(&mut self) -> Result<Option<(Header, &[u8])>> {
        #[cfg(target_os = "linux")]
        if let Some(shm) = self.shm.as_mut() {
            return self.framer.try_receive_whole(|buf| shm.try_receive(buf));
        }
        self.framer.try_receive(&mut self.sock)
    }

    /// Whether the next message over shared memory has arrived (one load;
    /// `false` over the socket, which tells by readiness instead).
    pub fn shm_has_message(&self) -> bool {
        #[cfg(target_os = "linux")]
        if let Some(shm) = self.shm.as_ref() {
            return shm.try_receive_ready();
        }
        false
    }

    /// Over shared memory, a watch on the incoming lane that another thread
    /// can sleep on (see [`ShmWatch`](crate::posix::shm::ShmWatch)); `None`
    /// over the socket.
    #[cfg(target_os = "linux")]
    pub fn shm_watch(&self) -> Option<crate::posix::shm::ShmWatch> {
        self.shm.as_ref().map(ShmRegion::watch)
    }

    /// Over shared memory, the sequence number of the next incoming message
    /// (what to wait for on [`UdsSession::shm_watch`]).
    #[cfg(target_os = "linux")]
    pub fn shm_awaited(&self) -> Option<u64> {
        self.shm.as_ref().map(ShmRegion::awaited)
    }

    /// Futex wakes sent and skipped by this side of a shared-memory session
    /// (`None` when messages travel over the socket).
    #[cfg(target_os = "linux")]
    pub fn shm_wake_counts(&self) -> Option<crate::posix::shm::WakeCounts> {
        self.shm.as_ref().map(ShmRegion::wake_counts)
    }

    /// The payload of the last message received successfully (empty after
    /// a failed receive). Lets callers keep a borrow across other work.
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
                shm.receive_watching(
                    buf,
                    deadline,
                    || peer_gone(sock.fd.as_fd()) || sock.abort.as_ref().is_some_and(AbortHandle::is_aborted),
                    sock.abort.as_ref(),
                )
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

//! A session driven by tokio's reactor: the socket through `AsyncFd`,
//! shared memory through a short spin and the session's waiter thread.

use crate::abort::AbortHandle;
#[cfg(target_os = "linux")]
use crate::shm_waiter::ShmWaiter;
use crate::wait::Waits;
use netipc_service::transport::codec::Header;
use netipc_service::transport::handshake::SessionParams;
use netipc_service::transport::posix::{PendingSession, UdsSession};
use netipc_service::transport::{self, TransportError};
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::unix::AsyncFd;

/// How long a client's task spins for an answer before it waits (on the
/// socket's readiness, or through the shared-memory waiter thread): a
/// server that is busy answering answers within it, with no sleep and no
/// wake-up on either side.
pub(crate) const CLIENT_SPIN: Duration = Duration::from_micros(5);

/// How long a server session's task spins for the next request: long
/// enough to cover a client's wake-up on another CPU (tens of
/// microseconds under a hypervisor), as the blocking server's spin does.
/// A client that calls again as soon as it has its answer then finds its
/// server spinning, and both stay awake; were both spins shorter than a
/// wake-up, each side would always find the other asleep once it had
/// been, and every call would pay two wake-ups.
pub(crate) const SERVER_SPIN: Duration = Duration::from_micros(50);

/// Waits of a session that start further apart than this are not a
/// ping-pong, and do not yield: a yield hands the runtime's thread to
/// whatever else is runnable on its CPU, which for sparse calls is rarely
/// the peer and often other processes' threads, and the runtime's other
/// tasks would wait for them.
const PING_PONG_GAP: Duration = Duration::from_micros(200);

/// How long a shared-memory wait spins before it yields: a peer busy on
/// another CPU answers within it (a round trip there takes well under a
/// microsecond), sparing the yield's system call and the wake held back
/// for it. A peer that shares our CPU cannot answer while we spin, so
/// there these spins miss, and `SpinPolicy` soon skips nearly all of them.
#[cfg(target_os = "linux")]
const QUICK_SPIN: Duration = Duration::from_micros(2);

/// A handshake-complete session registered with the runtime.
#[derive(Debug)]
pub(crate) struct AsyncSession {
    io: AsyncFd<UdsSession>,
    /// Started by the first shared-memory wait that outlasts the spin.
    #[cfg(target_os = "linux")]
    waiter: Option<ShmWaiter>,
    /// How long a wait spins ([`CLIENT_SPIN`] or [`SERVER_SPIN`]).
    spin_budget: Duration,
    /// When spins stop paying, waits skip them for a while (see `SpinPolicy`).
    spin: SpinPolicy,
    /// Likewise for the yield a wait makes before it spins.
    yields: SpinPolicy,
    /// Likewise for the quick spin a shared-memory wait makes before it
    /// yields.
    #[cfg(target_os = "linux")]
    quick: SpinPolicy,
    /// When the last wait that could yield started.
    last_wait: Option<std::time::Instant>,
}

/// Whether a wait spins (or yields) first. A spin pays when the peer
/// answers within it (a busy peer on another CPU); it costs the CPU that
/// other tasks, and the peer itself, could use when it does not (a peer
/// that sleeps, or shares this CPU, or many sessions at once). After a
/// spin that missed, the next waits skip theirs, twice as many after each
/// miss in a row (up to 64), then one spins again to look. A yield pays
/// when the peer shares this CPU: it runs then, and its answer is there
/// when the yield returns.
#[derive(Debug, Default)]
struct SpinPolicy {
    /// Waits left to skip the spin.
    skip: u32,
    /// Spins missed in a row.
    misses: u32,
}

impl SpinPolicy {
    /// Whether this wait spins.
    fn spins(&mut self) -> bool {
        if self.skip > 0 {
            self.skip -= 1;
            return false;
        }
        true
    }

    /// Notes how a spin went.
    fn spun(&mut self, hit: bool) {
        if hit {
            self.misses = 0;
        } else {
            self.misses = (self.misses + 1).min(6);
            self.skip = 1 << self.misses;
        }
    }
}

fn io_error(op: &'static str, source: std::io::Error) -> TransportError {
    TransportError::Io {
        op,
        path: None,
        source,
    }
}

/// Runs a blocking transport step (a connect, a handshake) on the
/// runtime's blocking pool.
async fn blocking<T: Send + 'static>(
    step: impl FnOnce() -> Result<T, TransportError> + Send + 'static,
) -> Result<T, TransportError> {
    match tokio::task::spawn_blocking(step).await {
        Ok(r) => r,
        Err(e) => Err(io_error(
            "run on the runtime's blocking pool",
            std::io::Error::other(e),
        )),
    }
}

impl AsyncSession {
    /// Registers a handshake-complete session with the runtime; its waits
    /// spin for `spin_budget`.
    pub(crate) fn new(session: UdsSession, spin_budget: Duration) -> Result<Self, TransportError> {
        // SAFETY: a `UdsSession` owns its socket (an `OwnedFd`) from its
        // creation to its drop, never replaces it, and `as_raw_fd` always
        // returns that descriptor: it is valid, open and the same for as
        // long as the `AsyncFd` holds the session.
        let io = unsafe { AsyncFd::register(session) }
            .map_err(|e| io_error("register the socket with the runtime", e.into_parts().1))?;
        Ok(Self {
            io,
            #[cfg(target_os = "linux")]
            waiter: None,
            spin_budget,
            spin: SpinPolicy::default(),
            yields: SpinPolicy::default(),
            #[cfg(target_os = "linux")]
            quick: SpinPolicy::default(),
            last_wait: None,
        })
    }

    /// Connects and handshakes on the blocking pool (a connect waits for
    /// the server's answer, and attaching a region may retry), then
    /// registers the session. A connect whose future is dropped finishes
    /// there and its session is closed.
    pub(crate) async fn connect(
        run_dir: PathBuf,
        service: String,
        cfg: transport::ClientConfig,
    ) -> Result<Self, TransportError> {
        let session = blocking(move || UdsSession::connect(&run_dir, &service, &cfg)).await?;
        Self::new(session, CLIENT_SPIN)
    }

    /// A server's side of the handshake: the client's HELLO is awaited on
    /// the runtime (until the handshake timeout, or `stop`), then the
    /// decision and the answer (which may create a shared-memory region)
    /// run on the blocking pool, never waiting on the client there. So
    /// clients connecting from the same runtime, whose connects occupy
    /// blocking-pool threads until answered, cannot starve the answers.
    pub(crate) async fn accept(pending: PendingSession, stop: &AbortHandle) -> Result<Self, TransportError> {
        let timeout = pending.handshake_timeout();
        let waits = Waits {
            deadline: Some(tokio::time::Instant::from_std(transport::deadline_after(timeout))),
            abort: Some(stop),
        };
        // SAFETY: a `PendingSession` owns its socket (an `OwnedFd`) until it
        // is handshaken or dropped, never replaces it, and `as_raw_fd`
        // always returns it.
        let mut io = unsafe { AsyncFd::register_with_interest(pending, tokio::io::Interest::READABLE) }
            .map_err(|e| io_error("register the socket with the runtime", e.into_parts().1))?;
        let hello = waits
            .race(async {
                loop {
                    let mut ready = io
                        .readable_mut()
                        .await
                        .map_err(|e| io_error("wait for the socket", e))?;
                    if ready.get_inner_mut().try_receive_hello()? {
                        return Ok(());
                    }
                    ready.clear_ready();
                }
            })
            .await;
        let pending = io.into_inner();
        hello?;
        let session = blocking(move || pending.complete_handshake()).await?;
        Self::new(session, SERVER_SPIN)
    }

    /// The values negotiated for the session.
    pub(crate) fn params(&self) -> SessionParams {
        *self.io.get_ref().params()
    }

    /// Whether messages travel through shared memory.
    pub(crate) fn is_shm(&self) -> bool {
        self.io.get_ref().is_shm()
    }

    /// Whether the peer has hung up (one non-blocking poll).
    pub(crate) fn peer_closed(&self) -> bool {
        self.io.get_ref().peer_closed()
    }

    /// The payload of the last message received.
    pub(crate) fn last_payload(&self) -> &[u8] {
        self.io.get_ref().last_payload()
    }

    /// Exchanges the buffer holding the last message received with `buf`
    /// (see `UdsSession::swap_received`).
    pub(crate) fn swap_received(&mut self, buf: &mut Vec<u8>) -> std::ops::Range<usize> {
        self.io.get_mut().swap_received(buf)
    }

    /// Sends one message. `sent` turns true once the message is checked
    /// and its first byte may be on its way: from then on, abandoning the
    /// send (dropping this future) leaves the session unusable.
    pub(crate) async fn send(
        &mut self,
        header: &Header,
        payload: &[u8],
        waits: &Waits<'_>,
        sent: &mut bool,
    ) -> Result<(), TransportError> {
        self.send_as(header, payload, waits, sent, false).await
    }

    /// Sends one message; `quiet` holds a shared-memory wake back for the
    /// receive that follows (see `UdsSession::start_send_quiet`).
    async fn send_as(
        &mut self,
        header: &Header,
        payload: &[u8],
        waits: &Waits<'_>,
        sent: &mut bool,
        quiet: bool,
    ) -> Result<(), TransportError> {
        let session = self.io.get_mut();
        let mut progress = if quiet {
            session.start_send_quiet(header, payload)?
        } else {
            session.start_send(header, payload)?
        };
        *sent = true;
        if self.io.get_mut().try_send(&mut progress, payload)? {
            return Ok(());
        }
        let io = &mut self.io;
        waits
            .race(async {
                loop {
                    let mut ready = io
                        .writable_mut()
                        .await
                        .map_err(|e| io_error("wait for the socket", e))?;
                    if ready.get_inner_mut().try_send(&mut progress, payload)? {
                        return Ok(());
                    }
                    ready.clear_ready();
                }
            })
            .await
    }

    /// Whether this wait starts within [`PING_PONG_GAP`] of the last one
    /// that got this far (notes when it starts).
    fn in_ping_pong(&mut self) -> bool {
        let now = std::time::Instant::now();
        let busy = self
            .last_wait
            .is_some_and(|last| now.saturating_duration_since(last) < PING_PONG_GAP);
        self.last_wait = Some(now);
        busy
    }

    /// Receives one message; its payload is [`AsyncSession::last_payload`].
    pub(crate) async fn receive(&mut self, waits: &Waits<'_>) -> Result<Header, TransportError> {
        #[cfg(target_os = "linux")]
        if self.is_shm() {
            return self.receive_shm(waits).await;
        }
        if let Some((h, _)) = self.io.get_mut().try_receive()? {
            return Ok(h);
        }
        // A peer on this CPU, woken by our message, answers while we yield.
        if self.in_ping_pong() && self.yields.spins() {
            std::thread::yield_now();
            let got = self.io.get_mut().try_receive()?.map(|(h, _)| h);
            self.yields.spun(got.is_some());
            if let Some(h) = got {
                return Ok(h);
            }
        }
        // A short spin of non-blocking receives: an answer within it costs
        // no trip through the runtime's poller.
        if self.spin.spins() {
            let mut got = None;
            let io = self.io.get_mut();
            let hit = spin_for(self.spin_budget, 1, || match io.try_receive() {
                Ok(Some((h, _))) => {
                    got = Some(Ok(h));
                    true
                }
                Ok(None) => false,
                Err(e) => {
                    got = Some(Err(e));
                    true
                }
            });
            self.spin.spun(hit);
            if let Some(r) = got {
                return r;
            }
        }
        let io = &mut self.io;
        waits
            .race(async {
                loop {
                    let mut ready = io
                        .readable_mut()
                        .await
                        .map_err(|e| io_error("wait for the socket", e))?;
                    if let Some((h, _)) = ready.get_inner_mut().try_receive()? {
                        return Ok(h);
                    }
                    ready.clear_ready();
                }
            })
            .await
    }

    /// Sends one message and receives the next (a client's call).
    pub(crate) async fn exchange(
        &mut self,
        header: &Header,
        payload: &[u8],
        waits: &Waits<'_>,
        sent: &mut bool,
    ) -> Result<Header, TransportError> {
        self.send_as(header, payload, waits, sent, true).await?;
        self.receive(waits).await
    }

    /// Receives one message over shared memory: a quick spin, a yield, a
    /// short spin, then the waiter thread, while the socket is watched for the peer's
    /// hang-up.
    #[cfg(target_os = "linux")]
    async fn receive_shm(&mut self, waits: &Waits<'_>) -> Result<Header, TransportError> {
        let session = self.io.get_ref();
        let arrived = session.shm_has_message()
            || (self.quick.spins() && {
                let hit = spin_for(QUICK_SPIN, 32, || session.shm_has_message());
                self.quick.spun(hit);
                hit
            })
            || (self.in_ping_pong() && self.yields.spins() && {
                // A peer on this CPU may sleep on the futex: it needs the
                // wake held back for it to run while we yield.
                self.io.get_mut().flush_wake();
                std::thread::yield_now();
                let hit = self.io.get_ref().shm_has_message();
                self.yields.spun(hit);
                hit
            });
        let session = self.io.get_ref();
        let arrived = arrived
            || (self.spin.spins() && {
                let hit = spin_for(self.spin_budget, 32, || session.shm_has_message());
                self.spin.spun(hit);
                hit
            });
        if !arrived {
            // The peer did not answer at once: it may be asleep.
            self.io.get_mut().flush_wake();
            self.wait_shm(waits).await?;
        }
        match self.io.get_mut().try_receive()? {
            Some((h, _)) => Ok(h),
            None => Err(TransportError::Protocol("shared memory message vanished")),
        }
    }

    /// Waits until the next shared-memory message has arrived.
    #[cfg(target_os = "linux")]
    async fn wait_shm(&mut self, waits: &Waits<'_>) -> Result<(), TransportError> {
        let session = self.io.get_ref();
        let (Some(seq), Some(watch)) = (session.shm_awaited(), session.shm_watch()) else {
            return Err(TransportError::Protocol("not a shared-memory session"));
        };
        if self.waiter.is_none() {
            self.waiter = Some(ShmWaiter::start(watch).map_err(|e| io_error("start the waiter thread", e))?);
        }
        let (Some(waiter), io) = (&self.waiter, &self.io) else {
            return Err(TransportError::Protocol("no waiter thread"));
        };
        waits
            .race(std::future::poll_fn(|cx| {
                if waiter.poll_arrived(seq, cx).is_ready() {
                    return std::task::Poll::Ready(Ok(()));
                }
                // Nothing but a hang-up is due on the socket meanwhile.
                loop {
                    match io.poll_read_ready(cx) {
                        std::task::Poll::Ready(Ok(mut ready)) => {
                            if ready.get_inner().peer_closed() {
                                return std::task::Poll::Ready(Err(TransportError::PeerClosed));
                            }
                            ready.clear_ready();
                        }
                        std::task::Poll::Ready(Err(e)) => {
                            return std::task::Poll::Ready(Err(io_error("wait for the socket", e)));
                        }
                        std::task::Poll::Pending => return std::task::Poll::Pending,
                    }
                }
            }))
            .await
    }
}

/// Spins until `ready` or `budget` has passed, reading the clock every
/// `per_clock` checks (one per check when a check is a system call);
/// whether it got ready.
fn spin_for(budget: Duration, per_clock: u32, mut ready: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    loop {
        for _ in 0..per_clock {
            std::hint::spin_loop();
            if ready() {
                return true;
            }
        }
        if start.elapsed() >= budget {
            return false;
        }
    }
}

//! The managed server: one listener, one acceptor, at most N sessions each
//! on its own thread with its own buffers, one typed handler.

use crate::config::ServerConfig;
use crate::driver::{ResponseSizing, SessionCore};
use crate::endpoint::Endpoint;
use crate::error::{Result, ServiceError};
use crate::platform::{self, Listener, Next, Pending};
use crate::server_log;
use crate::stats::{ServerCounters, ServerStats};
use crate::transport::codec::{BatchBuilder, STATUS_INTERNAL_ERROR, STATUS_LIMIT_EXCEEDED};
use crate::transport::{AbortHandle, TransportError};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What a handler made of one request item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dispatch {
    /// The response payload is in the output buffer.
    Done,
    /// The handler reported failure: INTERNAL_ERROR, then the session closes.
    Failed,
    /// The request did not decode: BAD_ENVELOPE, then the session closes.
    BadRequest,
    /// The response did not fit the session's budget: LIMIT_EXCEEDED, then
    /// the session closes and later sessions get a larger budget.
    Overflow,
}

/// A typed handler for one service kind. Implemented by each service
/// module's `Handler`; the managed server is generic over it.
pub trait ServiceHandler: Send + Sync + 'static {
    /// The method code this endpoint serves; others get UNSUPPORTED.
    const METHOD: u16;

    /// Whether an answer is built up to the server's response ceiling
    /// rather than the session's budget. Right for methods whose answer has
    /// no item-level overflow outcome (snapshots, string reversal): an
    /// answer larger than the session allows is then measured, answered
    /// LIMIT_EXCEEDED, and the next session is offered room for exactly it
    /// (rounded up to a power of two), so the client's first reconnect
    /// succeeds however large the answer is. Lookups answer the keys that do
    /// not fit with `PAYLOAD_EXCEEDED` items instead, so they are built
    /// within the session's budget.
    const BUILDS_TO_CEILING: bool = false;

    /// Handles one request item: decodes `request`, calls the user's
    /// handler, and writes the response payload into `out` (cleared first)
    /// within `limit` bytes.
    fn dispatch(&self, request: &[u8], out: &mut Vec<u8>, limit: usize) -> Dispatch;

    /// Handles one item of a batch request, appending its answer to
    /// `batch`. The default goes through [`ServiceHandler::dispatch`] and
    /// `scratch`; fixed-size services may write straight into the batch.
    fn dispatch_batch_item(
        &self,
        request: &[u8],
        scratch: &mut Vec<u8>,
        batch: &mut BatchBuilder<'_>,
        limit: usize,
    ) -> Dispatch {
        match self.dispatch(request, scratch, limit) {
            Dispatch::Done => match batch.add(scratch) {
                Ok(()) => Dispatch::Done,
                Err(_) => Dispatch::Overflow,
            },
            other => other,
        }
    }
}

/// A managed server for the service kind of handler `H`.
///
/// `run()` blocks, serving; `stop()` (from any thread) ends it; `drain()`
/// lets in-flight requests finish first. Share it with `Arc` or scoped
/// threads to stop it from elsewhere.
#[derive(Debug)]
pub struct ManagedServer<H: ServiceHandler> {
    endpoint: Endpoint,
    config: ServerConfig,
    handler: Arc<H>,
    shared: Arc<Shared>,
}

/// State shared by the acceptor, the sessions and the controlling threads.
#[derive(Debug)]
struct Shared {
    stop_accepting: Option<AbortHandle>,
    stop_sessions: Option<AbortHandle>,
    stopping: AtomicBool,
    running: AtomicBool,
    active: Mutex<usize>,
    slot_freed: Condvar,
    in_flight: AtomicUsize,
    /// Signalled when the last request in flight is answered while
    /// stopping, for [`ManagedServer::drain`].
    drained: Condvar,
    drained_lock: Mutex<()>,
    /// The response size sessions are offered, learned from answers.
    sizing: ResponseSizing,
    /// Where the server serves, for its log lines.
    endpoint: Endpoint,
    counters: Arc<ServerCounters>,
}

/// Decrements the session count when a session thread ends, even by panic.
struct SessionSlot(Arc<Shared>);

impl Drop for SessionSlot {
    fn drop(&mut self) {
        let mut n = self.0.active.lock().unwrap_or_else(|p| p.into_inner());
        *n -= 1;
        self.0.slot_freed.notify_all();
    }
}

/// Counts a request as in flight while it is handled.
struct InFlight<'a>(&'a Shared);

impl<'a> InFlight<'a> {
    fn new(sh: &'a Shared) -> Self {
        sh.in_flight.fetch_add(1, Ordering::SeqCst);
        Self(sh)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let sh = self.0;
        // The last answer while draining wakes `drain`. Sequentially
        // consistent with `drain`'s store of `stopping` and load of the
        // count: one of the two sides sees the other's write, so the
        // wake-up is not lost. Otherwise this costs one load per answer.
        if sh.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 && sh.stopping.load(Ordering::SeqCst) {
            let _held = sh.drained_lock.lock().unwrap_or_else(|p| p.into_inner());
            sh.drained.notify_all();
        }
    }
}

/// Pause after a failed accept.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(10);
/// How often a full acceptor re-checks for stop while waiting for a slot.
const SLOT_POLL: Duration = Duration::from_millis(50);

impl<H: ServiceHandler> ManagedServer<H> {
    /// A server for `{run_dir}/{service}`; nothing is bound until `run()`.
    pub fn new(run_dir: impl AsRef<Path>, service: &str, config: ServerConfig, handler: H) -> Self {
        let shared = Shared {
            stop_accepting: AbortHandle::new().ok(),
            stop_sessions: AbortHandle::new().ok(),
            stopping: AtomicBool::new(false),
            running: AtomicBool::new(false),
            active: Mutex::new(0),
            slot_freed: Condvar::new(),
            in_flight: AtomicUsize::new(0),
            drained: Condvar::new(),
            drained_lock: Mutex::new(()),
            sizing: ResponseSizing::new(&config),
            endpoint: Endpoint::new(run_dir, service),
            counters: Arc::default(),
        };
        Self {
            endpoint: shared.endpoint.clone(),
            config,
            handler: Arc::new(handler),
            shared: Arc::new(shared),
        }
    }

    /// Like [`ManagedServer::new`], refusing at once a run dir or a
    /// service name that cannot name an endpoint
    /// ([`ServiceError::InvalidEndpoint`]), which `new` leaves to `run()`.
    pub fn try_new(
        run_dir: impl AsRef<Path>,
        service: &str,
        config: ServerConfig,
        handler: H,
    ) -> Result<Self> {
        let server = Self::new(run_dir, service, config, handler);
        server.check_endpoint()?;
        Ok(server)
    }

    /// Where the server serves.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    fn check_endpoint(&self) -> Result<()> {
        self.endpoint
            .validate()
            .map_err(|source| ServiceError::InvalidEndpoint {
                endpoint: self.endpoint.clone(),
                source,
            })
    }

    /// Like [`ManagedServer::new`], serving at most `workers` sessions at
    /// once (each on its own thread); `0` keeps `config.max_sessions`.
    /// The reference implementation's constructor of the same name.
    pub fn with_workers(
        run_dir: impl AsRef<Path>,
        service: &str,
        mut config: ServerConfig,
        handler: H,
        workers: usize,
    ) -> Self {
        if workers != 0 {
            config.max_sessions = workers;
        }
        Self::new(run_dir, service, config, handler)
    }

    /// Binds the endpoint and serves until [`ManagedServer::stop`]. Returns
    /// after every session has ended and the endpoint has been removed.
    ///
    /// A server runs once. After `stop()`, even one made before `run()` (a
    /// shutdown that raced the start is not lost), `run()` returns `Ok` at
    /// once without binding; serve again with a new `ManagedServer`.
    ///
    /// `stop()` interrupts every wait of the server's own, but not a
    /// handler: `run()` returns once every handler call in progress has
    /// returned, so a handler that may block should watch a stop signal of
    /// its own.
    pub fn run(&self) -> Result<()> {
        self.run_notify(|| {})
    }

    /// Like [`ManagedServer::run`], calling `bound` once the endpoint is
    /// bound and accepting (for readiness signals).
    pub fn run_notify(&self, bound: impl FnOnce()) -> Result<()> {
        let sh = &self.shared;
        let (Some(stop_accepting), Some(_)) = (&sh.stop_accepting, &sh.stop_sessions) else {
            return Err(ServiceError::Serve {
                endpoint: self.endpoint.clone(),
                source: TransportError::Io {
                    op: "create the stop signal",
                    path: None,
                    source: std::io::Error::other("no pipe available"),
                },
            });
        };
        if sh.stopping.load(Ordering::Acquire) {
            return Ok(());
        }
        self.check_endpoint()?;
        let listener = Listener::bind(
            self.endpoint.run_dir(),
            self.endpoint.service(),
            self.config.to_transport(),
        )
        .map_err(|source| ServiceError::Serve {
            endpoint: self.endpoint.clone(),
            source,
        })?;
        sh.running.store(true, Ordering::Release);
        bound();
        let mut threads: Vec<JoinHandle<()>> = Vec::new();
        let result = loop {
            if sh.stopping.load(Ordering::Acquire) {
                break Ok(());
            }
            if !self.wait_for_slot() {
                break Ok(());
            }
            let pending = match platform::next_connection(&listener, stop_accepting) {
                Ok(Next::Connection(p)) => *p,
                Ok(Next::Transient) => {
                    // Out of descriptors, or the client already left: the
                    // listener is still good. Pause so a persistent
                    // shortage does not spin the acceptor.
                    std::thread::sleep(ACCEPT_ERROR_PAUSE);
                    continue;
                }
                Err(TransportError::Aborted) => break Ok(()),
                Err(source) => {
                    break Err(ServiceError::Serve {
                        endpoint: self.endpoint.clone(),
                        source,
                    });
                }
            };
            *sh.active.lock().unwrap_or_else(|p| p.into_inner()) += 1;
            let slot = SessionSlot(Arc::clone(sh));
            let handler = Arc::clone(&self.handler);
            threads.retain(|t| !t.is_finished());
            let spawned = std::thread::Builder::new()
                .name(format!("netipc-{}", self.endpoint.service()))
                .spawn(move || serve_session(pending, &*handler, slot));
            match spawned {
                Ok(t) => threads.push(t),
                Err(_) => continue, // the slot was dropped with the closure
            }
        };
        drop(listener);
        if let Some(s) = &sh.stop_sessions {
            s.abort();
        }
        for t in threads {
            let _ = t.join();
        }
        sh.running.store(false, Ordering::Release);
        result
    }

    /// Waits until fewer than `max_sessions` are active; false when stopping.
    fn wait_for_slot(&self) -> bool {
        let sh = &self.shared;
        let max = self.config.max_sessions();
        let mut active = sh.active.lock().unwrap_or_else(|p| p.into_inner());
        while *active >= max {
            if sh.stopping.load(Ordering::Acquire) {
                return false;
            }
            active = sh
                .slot_freed
                .wait_timeout(active, SLOT_POLL)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        !sh.stopping.load(Ordering::Acquire)
    }

    /// Stops the server: no more accepts, every session ends. Safe from any
    /// thread; `run()` returns once everything is cleaned up.
    pub fn stop(&self) {
        let sh = &self.shared;
        sh.stopping.store(true, Ordering::Release);
        for s in [&sh.stop_accepting, &sh.stop_sessions].into_iter().flatten() {
            s.abort();
        }
        sh.slot_freed.notify_all();
    }

    /// Stops accepting, waits up to `timeout` for requests being handled to
    /// be answered, then stops. Returns whether everything in flight finished.
    pub fn drain(&self, timeout: Duration) -> bool {
        let sh = &self.shared;
        sh.stopping.store(true, Ordering::SeqCst);
        if let Some(a) = &sh.stop_accepting {
            a.abort();
        }
        sh.slot_freed.notify_all();
        let deadline = crate::transport::deadline_after(timeout);
        let mut held = sh.drained_lock.lock().unwrap_or_else(|p| p.into_inner());
        let drained = loop {
            if sh.in_flight.load(Ordering::SeqCst) == 0 {
                break true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break false;
            }
            held = sh
                .drained
                .wait_timeout(held, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        };
        drop(held);
        self.stop();
        drained
    }

    /// Whether `run()` is serving.
    pub fn is_running(&self) -> bool {
        self.shared.running.load(Ordering::Acquire)
    }

    /// Sessions being served right now.
    pub fn active_sessions(&self) -> usize {
        *self.shared.active.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A snapshot of the server's counters: sessions open, opened, refused
    /// and failed, calls by outcome, bytes in and out. Counting costs a
    /// call no lock (see [`ServerStats`]); reading takes a short one.
    pub fn stats(&self) -> ServerStats {
        self.shared.counters.snapshot()
    }
}

fn serve_session<H: ServiceHandler>(mut pending: Pending, handler: &H, slot: SessionSlot) {
    let sh = &slot.0;
    pending.config_mut().max_response_payload_bytes = sh.sizing.offer();
    let peer = pending.peer().clone();
    let mut session = match pending.handshake() {
        Ok(s) => s,
        Err(e) => {
            sh.counters.handshake_failed(&e);
            server_log::handshake_failed(&sh.endpoint, &peer, &e);
            return;
        }
    };
    let counters = sh.counters.open(session.is_shm());
    server_log::accepted(&sh.endpoint, &peer, session.is_shm());
    session.set_abort(sh.stop_sessions.clone());
    let mut core = SessionCore::new::<H>(session.params(), &sh.sizing);
    core.set_peer(peer);
    let mut next = session.receive();
    loop {
        let (header, request) = match next {
            Ok(m) => m,
            Err(TransportError::ReceivedOverLimit { header, .. }) => {
                // A request larger than the session allows: it is answered
                // LIMIT_EXCEEDED before the session closes, so the client
                // learns why (as the reference's C server does).
                counters.call(0, STATUS_LIMIT_EXCEEDED, 0);
                let _ = session.send(&SessionCore::over_limit(&header), &[]);
                return;
            }
            Err(_) => return,
        };
        let busy = InFlight::new(sh);
        let request_len = request.len();
        let answer = core.answer(handler, &sh.sizing, &header, request);
        if let Some(panic) = &answer.panic {
            counters.panicked();
            server_log::handler_panicked(&sh.endpoint, &**panic);
        }
        counters.call(request_len, answer.header.transport_status, answer.payload.len());
        if answer.close {
            if answer.header.transport_status == STATUS_INTERNAL_ERROR && answer.panic.is_none() {
                server_log::handler_failed(&sh.endpoint, header.code);
            }
            let _ = session.send(&answer.header, &[]);
            return;
        }
        if sh.stopping.load(Ordering::Acquire) {
            // Stopping: this answer is the session's last. A client that
            // keeps calling would otherwise keep a shared-memory wait from
            // ever running out and seeing the stop signal.
            let _ = session.send(&answer.header, answer.payload);
            return;
        }
        next = if session.is_shm() {
            // Publishing to shared memory neither blocks nor stops: the
            // answer is out once the exchange starts.
            drop(busy);
            session.exchange(&answer.header, answer.payload, None)
        } else {
            // A chunked answer may block on the socket: it stays in flight
            // (and `drain` waits for it) until it is sent.
            let sent = session.send(&answer.header, answer.payload);
            drop(busy);
            sent.and_then(|()| session.receive())
        };
    }
}

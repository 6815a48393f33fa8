//! The async managed server: one listener on the runtime, each session a
//! task, one typed handler, the same answers as the blocking server's
//! (`netipc_service::driver::SessionCore` makes them).

use crate::abort::AbortHandle;
use crate::session::AsyncSession;
use crate::wait::Waits;
use netipc_service::driver::{ResponseSizing, SessionCore, listener_config, session_limit};
use netipc_service::transport::TransportError;
use netipc_service::transport::posix::{PendingSession, UdsListener};
use netipc_service::{Endpoint, Result, ServerConfig, ServiceError, ServiceHandler};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::sync::Notify;

/// Pause after a failed accept (out of descriptors, say).
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(10);

/// Where a handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HandlerMode {
    /// On the session's task, inline: the cheapest, for handlers that do
    /// not block (they hold a runtime worker while they run).
    #[default]
    Inline,
    /// On the runtime's blocking pool: for handlers that block or wait
    /// (one that must await something can use
    /// `tokio::runtime::Handle::block_on` there). Costs a copy of the
    /// request and a hand-off per request.
    Blocking,
}

/// An async managed server for the service kind of handler `H`: the same
/// handlers as the blocking `ManagedServer`, served by tasks.
///
/// [`ManagedServer::run`] serves until [`ManagedServer::stop`] (callable
/// from any thread or task); [`ManagedServer::drain`] lets requests in
/// flight finish first. Share it with an `Arc` to stop it from elsewhere.
/// Each session is a task; the acceptor is the `run` future itself. The
/// runtime must have its I/O and time drivers enabled.
#[derive(Debug)]
pub struct ManagedServer<H: ServiceHandler> {
    endpoint: Endpoint,
    config: ServerConfig,
    handler: Arc<H>,
    shared: Arc<Shared>,
}

/// State shared by the acceptor, the sessions and the controlling tasks.
#[derive(Debug)]
struct Shared {
    /// Ends every session's waits.
    stop_sessions: AbortHandle,
    /// Ends the acceptor's waits.
    stop_accepting: AbortHandle,
    stopping: AtomicBool,
    running: AtomicBool,
    active: AtomicUsize,
    slot_freed: Notify,
    in_flight: AtomicUsize,
    drained: Notify,
    sizing: ResponseSizing,
    mode: HandlerMode,
}

/// Counts a session while its task lives.
struct Slot(Arc<Shared>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::AcqRel);
        self.0.slot_freed.notify_waiters();
    }
}

/// Counts a request as in flight while it is answered.
struct InFlight<'a>(&'a Shared);

impl<'a> InFlight<'a> {
    fn new(sh: &'a Shared) -> Self {
        sh.in_flight.fetch_add(1, Ordering::SeqCst);
        Self(sh)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 && self.0.stopping.load(Ordering::SeqCst) {
            self.0.drained.notify_waiters();
        }
    }
}

impl<H: ServiceHandler> ManagedServer<H> {
    /// A server for `{run_dir}/{service}`; nothing is bound until `run()`.
    pub fn new(run_dir: impl AsRef<Path>, service: &str, config: ServerConfig, handler: H) -> Self {
        Self::with_mode(run_dir, service, config, handler, HandlerMode::Inline)
    }

    /// Like [`ManagedServer::new`], running the handler as `mode` says.
    pub fn with_mode(
        run_dir: impl AsRef<Path>,
        service: &str,
        config: ServerConfig,
        handler: H,
        mode: HandlerMode,
    ) -> Self {
        let shared = Shared {
            stop_sessions: AbortHandle::new(),
            stop_accepting: AbortHandle::new(),
            stopping: AtomicBool::new(false),
            running: AtomicBool::new(false),
            active: AtomicUsize::new(0),
            slot_freed: Notify::new(),
            in_flight: AtomicUsize::new(0),
            drained: Notify::new(),
            sizing: ResponseSizing::new(&config),
            mode,
        };
        Self {
            endpoint: Endpoint::new(run_dir, service),
            config,
            handler: Arc::new(handler),
            shared: Arc::new(shared),
        }
    }

    /// Like [`ManagedServer::new`], refusing at once a run dir or a
    /// service name that cannot name an endpoint.
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

    fn serve_error(&self, source: TransportError) -> ServiceError {
        ServiceError::Serve {
            endpoint: self.endpoint.clone(),
            source,
        }
    }

    /// Binds the endpoint and serves until [`ManagedServer::stop`]. Returns
    /// after every session has ended and the endpoint has been removed.
    ///
    /// As with the blocking server, a server runs once, and a stop made
    /// before `run()` makes it return `Ok` at once.
    ///
    /// Cancel safe: dropping the future stops accepting, ends every
    /// session (their tasks are aborted) and removes the endpoint.
    pub async fn run(&self) -> Result<()> {
        self.run_notify(|| {}).await
    }

    /// Like [`ManagedServer::run`], calling `bound` once the endpoint is
    /// bound and accepting.
    pub async fn run_notify(&self, bound: impl FnOnce()) -> Result<()> {
        let sh = &self.shared;
        if sh.stopping.load(Ordering::Acquire) {
            return Ok(());
        }
        self.check_endpoint()?;
        let (run_dir, service) = (
            self.endpoint.run_dir().to_path_buf(),
            self.endpoint.service().to_string(),
        );
        let cfg = listener_config(&self.config);
        let listener = tokio::task::spawn_blocking(move || UdsListener::bind(&run_dir, &service, cfg))
            .await
            .map_err(|e| {
                self.serve_error(TransportError::Io {
                    op: "bind on the runtime's blocking pool",
                    path: None,
                    source: std::io::Error::other(e),
                })
            })?
            .map_err(|e| self.serve_error(e))?;
        listener.set_nonblocking(true).map_err(|e| self.serve_error(e))?;
        // SAFETY: a `UdsListener` owns its socket (an `OwnedFd`) from bind
        // to drop, never replaces it, and `as_raw_fd` always returns it.
        let listener =
            unsafe { AsyncFd::register_with_interest(listener, Interest::READABLE) }.map_err(|e| {
                self.serve_error(TransportError::Io {
                    op: "register the listener with the runtime",
                    path: None,
                    source: e.into_parts().1,
                })
            })?;
        sh.running.store(true, Ordering::Release);
        // Ends the sessions however `run` ends, even by being dropped.
        let mut sessions = Sessions(tokio::task::JoinSet::new(), Arc::clone(sh));
        bound();
        let result = self.accept_loop(&listener, &mut sessions.0).await;
        drop(listener);
        sh.stop_sessions.abort();
        while sessions.0.join_next().await.is_some() {}
        sh.running.store(false, Ordering::Release);
        result
    }

    async fn accept_loop(
        &self,
        listener: &AsyncFd<UdsListener>,
        sessions: &mut tokio::task::JoinSet<()>,
    ) -> Result<()> {
        let sh = &self.shared;
        let waits = Waits {
            deadline: None,
            abort: Some(&sh.stop_accepting),
        };
        let max = session_limit(&self.config);
        loop {
            while sessions.try_join_next().is_some() {}
            if sh.stopping.load(Ordering::Acquire) {
                return Ok(());
            }
            let slot = waits
                .race(async {
                    loop {
                        let freed = sh.slot_freed.notified();
                        let mut freed = std::pin::pin!(freed);
                        freed.as_mut().enable();
                        if sh.active.load(Ordering::Acquire) < max {
                            return Ok(());
                        }
                        freed.await;
                    }
                })
                .await;
            if slot.is_err() {
                return Ok(());
            }
            let accepted = waits
                .race(async {
                    loop {
                        let mut ready = listener.readable().await.map_err(|source| TransportError::Io {
                            op: "wait for the listener",
                            path: None,
                            source,
                        })?;
                        match ready.get_inner().try_accept_connection() {
                            Ok(Some(p)) => return Ok(Some(p)),
                            Ok(None) => ready.clear_ready(),
                            // Out of descriptors, or the client already
                            // left: the listener is still good.
                            Err(_) => return Ok(None),
                        }
                    }
                })
                .await;
            match accepted {
                Ok(Some(pending)) => {
                    sh.active.fetch_add(1, Ordering::AcqRel);
                    let slot = Slot(Arc::clone(sh));
                    let handler = Arc::clone(&self.handler);
                    sessions.spawn(serve_session(pending, handler, slot));
                }
                Ok(None) => tokio::time::sleep(ACCEPT_ERROR_PAUSE).await,
                Err(TransportError::Aborted) => return Ok(()),
                Err(e) => return Err(self.serve_error(e)),
            }
        }
    }

    /// Stops the server: no more accepts, every session ends. Safe from any
    /// thread or task; `run()` returns once everything is cleaned up.
    pub fn stop(&self) {
        let sh = &self.shared;
        sh.stopping.store(true, Ordering::SeqCst);
        sh.stop_accepting.abort();
        sh.stop_sessions.abort();
    }

    /// Stops accepting, waits up to `timeout` for requests being handled to
    /// be answered, then stops. Returns whether everything in flight
    /// finished.
    pub async fn drain(&self, timeout: Duration) -> bool {
        let sh = &self.shared;
        sh.stopping.store(true, Ordering::SeqCst);
        sh.stop_accepting.abort();
        let drained = tokio::time::timeout(timeout, async {
            loop {
                let done = sh.drained.notified();
                let mut done = std::pin::pin!(done);
                done.as_mut().enable();
                if sh.in_flight.load(Ordering::SeqCst) == 0 {
                    return;
                }
                done.await;
            }
        })
        .await
        .is_ok();
        self.stop();
        drained
    }

    /// Whether `run()` is serving.
    pub fn is_running(&self) -> bool {
        self.shared.running.load(Ordering::Acquire)
    }

    /// Sessions being served right now.
    pub fn active_sessions(&self) -> usize {
        self.shared.active.load(Ordering::Acquire)
    }
}

/// The session tasks, aborted when `run` ends or is dropped.
struct Sessions(tokio::task::JoinSet<()>, Arc<Shared>);

impl Drop for Sessions {
    fn drop(&mut self) {
        self.1.stop_sessions.abort();
        self.0.abort_all();
        self.1.running.store(false, Ordering::Release);
    }
}

/// One session: handshake (on the blocking pool), then requests and
/// answers until the client leaves, a terminal answer, or stop.
async fn serve_session<H: ServiceHandler>(mut pending: PendingSession, handler: Arc<H>, slot: Slot) {
    let sh = &*slot.0;
    pending.config_mut().max_response_payload_bytes = sh.sizing.offer();
    let waits = Waits {
        deadline: None,
        abort: Some(&sh.stop_sessions),
    };
    let peer = pending.peer().clone();
    let Ok(mut session) = AsyncSession::accept(pending, &sh.stop_sessions).await else {
        return;
    };
    let mut core = SessionCore::new::<H>(&session.params(), &sh.sizing);
    core.set_peer(peer);
    let mut sent = false;
    loop {
        let header = match session.receive(&waits).await {
            Ok(h) => h,
            Err(TransportError::ReceivedOverLimit { header, .. }) => {
                // Answered LIMIT_EXCEEDED before the session closes, so the
                // client learns why.
                let _ = session
                    .send(&SessionCore::over_limit(&header), &[], &waits, &mut sent)
                    .await;
                return;
            }
            Err(_) => return,
        };
        let busy = InFlight::new(sh);
        let (answer, close) = match sh.mode {
            HandlerMode::Inline => {
                let a = core.answer(&*handler, &sh.sizing, &header, session.last_payload());
                (a.header, a.close)
            }
            HandlerMode::Blocking => {
                let request = session.last_payload().to_vec();
                let (handler, shared) = (Arc::clone(&handler), Arc::clone(&slot.0));
                let answered = tokio::task::spawn_blocking(move || {
                    let a = core.answer(&*handler, &shared.sizing, &header, &request);
                    let parts = (a.header, a.close);
                    (core, parts)
                })
                .await;
                let Ok((back, parts)) = answered else {
                    return;
                };
                core = back;
                parts
            }
        };
        let payload = if close { &[][..] } else { core.payload_of(&answer) };
        let r = session.send(&answer, payload, &waits, &mut sent).await;
        drop(busy);
        if close || r.is_err() {
            return;
        }
    }
}

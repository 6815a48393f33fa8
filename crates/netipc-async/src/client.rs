//! The async driver of the client's policy: the untyped core of every
//! async typed client.

use crate::abort::AbortHandle;
use crate::session::AsyncSession;
use crate::wait::Waits;
use netipc_service::driver::{CallSpec, ClientCore, Connect, SessionInfo, Step};
use netipc_service::transport::TransportError;
use netipc_service::transport::codec::Header;
use netipc_service::{ClientConfig, Result};
use std::path::Path;
use std::time::{Duration, Instant};

/// A [`ClientCore`], its session on the runtime, and the abort signal.
///
/// Cancellation: `dirty` is raised once a call's request may be on its way
/// and lowered when its answer is in. A call future dropped in between
/// leaves it raised, and the next call or refresh drops that session and
/// connects again, so a later call can never read an earlier call's
/// answer (every answer's message id is checked too). Likewise
/// `connecting` is raised while a connect runs: a call dropped while it
/// reconnected leaves it raised, and the next call connects again.
#[derive(Debug)]
pub(crate) struct RawClient {
    pub(crate) core: ClientCore,
    session: Option<AsyncSession>,
    abort: AbortHandle,
    dirty: bool,
    connecting: bool,
}

impl RawClient {
    pub(crate) fn new(run_dir: impl AsRef<Path>, service: &str, config: ClientConfig) -> Self {
        Self::with_core(ClientCore::new(run_dir, service, config))
    }

    pub(crate) fn try_new(run_dir: impl AsRef<Path>, service: &str, config: ClientConfig) -> Result<Self> {
        Ok(Self::with_core(ClientCore::try_new(run_dir, service, config)?))
    }

    fn with_core(core: ClientCore) -> Self {
        Self {
            core,
            session: None,
            abort: AbortHandle::new(),
            dirty: false,
            connecting: false,
        }
    }

    pub(crate) fn abort_handle(&self) -> AbortHandle {
        self.abort.clone()
    }

    /// Drops the session when the core no longer wants one.
    fn sync(&mut self) {
        if !self.core.has_session() {
            self.session = None;
            self.dirty = false;
        }
    }

    /// Drops a session that an abandoned call left part-way, or notes a
    /// connect that was abandoned; whether either happened.
    fn drop_abandoned(&mut self) -> bool {
        if !self.dirty && !self.connecting {
            return false;
        }
        self.session = None;
        self.dirty = false;
        self.connecting = false;
        self.core.abandon();
        true
    }

    /// Connects when not ready; notices a peer that went away when ready.
    /// Returns whether the state changed.
    pub(crate) async fn refresh(&mut self) -> bool {
        let before = self.core.state();
        self.drop_abandoned();
        let session = &self.session;
        let connect = self
            .core
            .refresh_needs_connect(|| session.as_ref().is_none_or(AsyncSession::peer_closed));
        self.sync();
        if connect {
            self.connect().await;
        }
        self.core.state() != before
    }

    pub(crate) fn close(&mut self) {
        self.core.close();
        self.sync();
    }

    /// Connects, as the core decides.
    async fn connect(&mut self) {
        self.core.start_connect();
        self.session = None;
        self.dirty = false;
        self.connecting = true;
        self.connect_attempts().await;
        self.connecting = false;
    }

    async fn connect_attempts(&mut self) {
        loop {
            let endpoint = self.core.endpoint();
            let connected = AsyncSession::connect(
                endpoint.run_dir().to_path_buf(),
                endpoint.service().to_string(),
                self.core.connect_config().clone(),
            )
            .await;
            let e = match connected {
                Ok(s) => {
                    self.core.connected(SessionInfo {
                        params: s.params(),
                        shm: s.is_shm(),
                    });
                    self.session = Some(s);
                    return;
                }
                Err(e) => e,
            };
            if self.core.connect_failed(e) == Connect::Failed {
                return;
            }
        }
    }

    /// One call of the request in the core's buffer, within `timeout`
    /// (zero: the client's call timeout).
    pub(crate) async fn call(&mut self, spec: CallSpec, timeout: Duration) -> Result<Header> {
        let deadline = self.core.deadline_for(timeout);
        self.call_within(spec, deadline, false).await
    }

    /// Like [`RawClient::call`], bounded by `deadline`.
    pub(crate) async fn call_until(&mut self, spec: CallSpec, deadline: Instant) -> Result<Header> {
        self.call_within(spec, deadline, true).await
    }

    async fn call_within(
        &mut self,
        spec: CallSpec,
        deadline: Instant,
        may_have_passed: bool,
    ) -> Result<Header> {
        if self.drop_abandoned() {
            self.connect().await;
        }
        let aborted = self.abort.is_aborted();
        let mut call = match self.core.begin_call(spec, deadline, may_have_passed, aborted) {
            Ok(c) => c,
            Err(e) => {
                self.sync();
                return Err(e);
            }
        };
        let mut step = call.start(&mut self.core, aborted);
        loop {
            step = match step {
                Step::Send(header) => {
                    let waits = Waits::call(deadline, &self.abort);
                    let result = match self.session.as_mut() {
                        Some(s) => {
                            let r = s
                                .exchange(&header, self.core.request(), &waits, &mut self.dirty)
                                .await;
                            if r.is_ok() {
                                self.dirty = false;
                            }
                            r
                        }
                        None => Err(TransportError::PeerClosed),
                    };
                    call.answered(&mut self.core, result)
                }
                Step::Reconnect => {
                    self.connect().await;
                    let aborted = self.abort.is_aborted();
                    call.reconnected(&mut self.core, aborted)
                }
                Step::Done(h) => return Ok(h),
                Step::Failed(e) => {
                    self.sync();
                    return Err(e);
                }
            };
        }
    }

    /// The payload of the last successful call.
    pub(crate) fn payload(&self) -> &[u8] {
        self.session.as_ref().map_or(&[], AsyncSession::last_payload)
    }

    /// Exchanges the buffer holding the last payload with `buf`; where the
    /// payload is in `buf`.
    pub(crate) fn swap_received(&mut self, buf: &mut Vec<u8>) -> std::ops::Range<usize> {
        self.session.as_mut().map_or(0..0, |s| s.swap_received(buf))
    }
}

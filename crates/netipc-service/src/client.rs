//! The client context shared by every typed client: the blocking driver of
//! the client's policy ([`ClientCore`]: connection state, caller-driven
//! reconnects, at-least-once retry and overflow regrowth).

use crate::config::ClientConfig;
use crate::driver::{CallSpec, ClientCore, Connect, SessionInfo, Step};
use crate::endpoint::Endpoint;
use crate::error::{Result, ServiceError};
use crate::platform::Session;
use crate::transport::codec::{CodecError, Header};
use crate::transport::{AbortHandle, TransportError};
use std::path::Path;
use std::time::{Duration, Instant};

/// Connection state of a client context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientState {
    /// Not connected; `refresh()` will try.
    Disconnected,
    /// A connection attempt is under way.
    Connecting,
    /// Connected and handshaken: calls can proceed.
    Ready,
    /// No server listens at the endpoint.
    NotFound,
    /// The server refused the auth token.
    AuthFailed,
    /// Profiles, versions or limits cannot work together, or this platform
    /// lacks the protocol's socket (macOS).
    Incompatible,
    /// Was ready, then the connection broke.
    Broken,
}

impl std::fmt::Display for ClientState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ClientState::Disconnected => "disconnected",
            ClientState::Connecting => "connecting",
            ClientState::Ready => "ready",
            ClientState::NotFound => "no server",
            ClientState::AuthFailed => "the server refused the auth token",
            ClientState::Incompatible => "incompatible",
            ClientState::Broken => "the connection broke",
        })
    }
}

/// Diagnostics of a client context (not for hot paths).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientStatus {
    /// Current state.
    pub state: ClientState,
    /// Successful connects, first one included.
    pub connect_count: u64,
    /// Reconnects made by calls (retry and regrowth).
    pub reconnect_count: u64,
    /// Calls that succeeded.
    pub call_count: u64,
    /// Calls that failed after they were attempted (a call made while not
    /// connected is counted in `failed.not_ready` only).
    pub error_count: u64,
    /// Whether the current session uses shared memory.
    pub shm: bool,
    /// Requests sent again on a new connection after the first one broke
    /// (the at-least-once retry).
    pub retry_count: u64,
    /// Failed calls by reason.
    pub failed: crate::FailedClientCalls,
    /// Bytes of requests sent in calls that got an answer (32-byte header
    /// and payload; the handshake is not counted).
    pub bytes_sent: u64,
    /// Bytes of the answers received.
    pub bytes_received: u64,
}

/// The untyped core of every typed client: the policy ([`ClientCore`]),
/// the session it decides about, and the abort signal.
#[derive(Debug)]
pub(crate) struct RawClient {
    pub(crate) core: ClientCore,
    session: Option<Session>,
    abort: Option<AbortHandle>,
}

impl RawClient {
    pub(crate) fn new(run_dir: impl AsRef<Path>, service: &str, config: ClientConfig) -> Self {
        Self {
            core: ClientCore::new(run_dir, service, config),
            session: None,
            abort: AbortHandle::new().ok(),
        }
    }

    /// Like [`RawClient::new`], refusing a run dir or service name that
    /// cannot name an endpoint.
    pub(crate) fn try_new(run_dir: impl AsRef<Path>, service: &str, config: ClientConfig) -> Result<Self> {
        Ok(Self {
            core: ClientCore::try_new(run_dir, service, config)?,
            session: None,
            abort: AbortHandle::new().ok(),
        })
    }

    /// Where the client connects.
    pub(crate) fn endpoint(&self) -> &Endpoint {
        self.core.endpoint()
    }

    pub(crate) fn state(&self) -> ClientState {
        self.core.state()
    }

    pub(crate) fn ready(&self) -> bool {
        self.core.ready()
    }

    pub(crate) fn status(&self) -> ClientStatus {
        self.core.status()
    }

    /// The session, for an event loop's readiness registration.
    pub(crate) fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    pub(crate) fn abort_handle(&self) -> Option<AbortHandle> {
        self.abort.clone()
    }

    pub(crate) fn clear_abort(&self) {
        if let Some(a) = &self.abort {
            a.clear();
        }
    }

    fn aborted(&self) -> bool {
        self.abort.as_ref().is_some_and(AbortHandle::is_aborted)
    }

    /// Drops the session when the core no longer wants one.
    fn sync(&mut self) {
        if !self.core.has_session() {
            self.session = None;
        }
    }

    /// Connects when not ready; notices a peer that went away when ready.
    /// Returns whether the state changed.
    pub(crate) fn refresh(&mut self) -> bool {
        let before = self.state();
        let session = &self.session;
        let connect = self
            .core
            .refresh_needs_connect(|| session.as_ref().is_none_or(Session::peer_closed));
        self.sync();
        if connect {
            self.connect();
        }
        self.state() != before
    }

    pub(crate) fn close(&mut self) {
        self.core.close();
        self.sync();
    }

    /// Connects, as the core decides (a failed attempt may be made again
    /// with another configuration).
    fn connect(&mut self) {
        self.core.start_connect();
        self.session = None;
        loop {
            let e = match Session::connect(
                self.core.endpoint().run_dir(),
                self.core.endpoint().service(),
                self.core.connect_config(),
            ) {
                Ok(mut s) => {
                    s.set_abort(self.abort.clone());
                    self.core.connected(SessionInfo {
                        params: *s.params(),
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

    /// Why the last connection attempt failed, if it did.
    pub(crate) fn connect_error(&self) -> Option<&TransportError> {
        self.core.connect_error()
    }

    /// Sends the request buffer as one message and waits for its response,
    /// with the retry rules of Level 2, within `timeout` (zero: the
    /// client's call timeout). On success the response payload is
    /// available from [`RawClient::payload`].
    pub(crate) fn call(&mut self, spec: CallSpec, timeout: Duration) -> Result<Header> {
        let deadline = self.core.deadline_for(timeout);
        // A deadline made from the clock just now (nothing before the first
        // attempt blocks) has not passed: one clock read less per call.
        self.call_within(spec, deadline, false)
    }

    /// Sets the client's call timeout (zero: [`crate::CALL_TIMEOUT_DEFAULT`]).
    pub(crate) fn set_call_timeout(&mut self, timeout: Duration) {
        self.core.set_call_timeout(timeout);
    }

    /// Like [`RawClient::call`], bounded by `deadline` instead: the cycles
    /// of one logical call share the deadline of the whole.
    pub(crate) fn call_until(&mut self, spec: CallSpec, deadline: Instant) -> Result<Header> {
        self.call_within(spec, deadline, true)
    }

    /// The body of [`RawClient::call`] and [`RawClient::call_until`]: the
    /// core's plan, driven with blocking I/O.
    fn call_within(&mut self, spec: CallSpec, deadline: Instant, may_have_passed: bool) -> Result<Header> {
        let aborted = self.aborted();
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
                    let result = match self.session.as_mut() {
                        Some(s) => s
                            .exchange(&header, self.core.request(), Some(deadline))
                            .map(|(h, _)| h),
                        None => Err(TransportError::PeerClosed),
                    };
                    call.answered(&mut self.core, result)
                }
                Step::Reconnect => {
                    self.session = None;
                    self.connect();
                    let aborted = self.aborted();
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
        self.session.as_ref().map_or(&[], Session::last_payload)
    }

    /// Exchanges the buffer holding the last payload with `buf`; where the
    /// payload is in `buf` (see `Session::swap_received`).
    pub(crate) fn swap_received(&mut self, buf: &mut Vec<u8>) -> std::ops::Range<usize> {
        self.session.as_mut().map_or(0..0, |s| s.swap_received(buf))
    }

    /// A response payload that did not decode.
    pub(crate) fn malformed(&self, source: CodecError) -> ServiceError {
        self.core.malformed(source)
    }
}

//! The client's policy without its I/O: connection state, the decisions
//! after a connect attempt, and the plan of one call (send, reconnect and
//! resend, grow and reconnect, or fail).

use crate::client::{ClientState, ClientStatus};
use crate::client_log;
use crate::client_stats::FailedClientCalls;
use crate::config::{ClientConfig, OVERFLOW_RETRIES_MAX};
use crate::endpoint::Endpoint;
use crate::error::{LimitKind, Result, ServiceError};
use crate::transport::codec::{
    CodecError, HEADER_LEN, Header, Kind, PROFILE_SHM_FUTEX, PROFILE_SHM_HYBRID, STATUS_LIMIT_EXCEEDED,
    STATUS_OK,
};
use crate::transport::handshake::SessionParams;
use crate::transport::{self, Limit, TransportError};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a driver tells the core of a session it connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionInfo {
    /// The values negotiated for the session.
    pub params: SessionParams,
    /// Whether its messages travel through shared memory.
    pub shm: bool,
}

/// The state and policy of a typed client, with no session of its own.
///
/// A driver (the blocking clients of this crate, the async ones of
/// `netipc-async`) owns the session and does the I/O; the core decides
/// what comes next and keeps the counters. The driver holds a session
/// exactly while [`ClientCore::has_session`] says so: after every call
/// into the core that may disconnect, it drops its session when that
/// turned false.
#[derive(Debug)]
pub struct ClientCore {
    endpoint: Endpoint,
    config: ClientConfig,
    transport: transport::ClientConfig,
    session: Option<SessionInfo>,
    state: ClientState,
    /// The encoded request of the current call, kept for resends.
    request: Vec<u8>,
    next_id: u64,
    /// Set when a response did not decode; the session is dropped at the
    /// next call or refresh (a view of it may still be borrowed now).
    poisoned: std::cell::Cell<bool>,
    connect_count: u64,
    reconnect_count: u64,
    call_count: u64,
    error_count: u64,
    retry_count: u64,
    failed: FailedClientCalls,
    bytes_sent: u64,
    bytes_received: u64,
    /// The state a connection attempt started from, for the log line of
    /// its outcome.
    connect_from: ClientState,
    /// Why the last connection attempt failed; `None` after a success.
    /// Shared with the errors that report it.
    connect_error: Option<Arc<TransportError>>,
    /// Set when the driver dropped a session a call had left part-way; the
    /// next connect counts as a reconnect.
    abandoned: bool,
}

/// What a connect attempt leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connect {
    /// Connect again at once, with the configuration
    /// [`ClientCore::connect_config`] gives now (it was adjusted).
    Again,
    /// No session: the state says why.
    Failed,
}

impl ClientCore {
    /// A core for `{run_dir}/{service}`; nothing is checked yet.
    pub fn new(run_dir: impl AsRef<Path>, service: &str, config: ClientConfig) -> Self {
        Self {
            endpoint: Endpoint::new(run_dir, service),
            transport: config.to_transport(),
            config,
            session: None,
            state: ClientState::Disconnected,
            request: Vec::new(),
            next_id: 0,
            poisoned: std::cell::Cell::new(false),
            connect_count: 0,
            reconnect_count: 0,
            call_count: 0,
            error_count: 0,
            retry_count: 0,
            failed: FailedClientCalls::default(),
            bytes_sent: 0,
            bytes_received: 0,
            connect_from: ClientState::Disconnected,
            connect_error: None,
            abandoned: false,
        }
    }

    /// Like [`ClientCore::new`], refusing a run dir or service name that
    /// cannot name an endpoint.
    pub fn try_new(run_dir: impl AsRef<Path>, service: &str, config: ClientConfig) -> Result<Self> {
        let core = Self::new(run_dir, service, config);
        match core.endpoint.validate() {
            Ok(()) => Ok(core),
            Err(source) => Err(ServiceError::InvalidEndpoint {
                endpoint: core.endpoint,
                source,
            }),
        }
    }

    /// Where the client connects; errors name it.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The client's configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The connection state (a poisoned session reads as broken).
    pub fn state(&self) -> ClientState {
        if self.poisoned.get() {
            ClientState::Broken
        } else {
            self.state
        }
    }

    /// Whether calls can proceed.
    pub fn ready(&self) -> bool {
        self.state() == ClientState::Ready
    }

    /// Whether the driver should hold a session now.
    pub fn has_session(&self) -> bool {
        self.session.is_some()
    }

    /// Counters and state.
    pub fn status(&self) -> ClientStatus {
        ClientStatus {
            state: self.state(),
            connect_count: self.connect_count,
            reconnect_count: self.reconnect_count,
            call_count: self.call_count,
            error_count: self.error_count,
            shm: self.session.is_some_and(|s| s.shm),
            retry_count: self.retry_count,
            failed: self.failed,
            bytes_sent: self.bytes_sent,
            bytes_received: self.bytes_received,
        }
    }

    /// Applies a pending poison: forgets the session that sent a bad
    /// response (the driver then drops it).
    pub fn settle(&mut self) {
        if self.poisoned.replace(false) {
            self.error_count += 1;
            self.failed.bad_response += 1;
            self.disconnect(ClientState::Broken);
        }
    }

    /// The first half of a refresh: applies a pending poison, and forgets
    /// a ready session whose peer went away (`peer_closed`, asked only
    /// then). Returns whether the driver must connect now
    /// ([`ClientCore::start_connect`], then attempts until
    /// [`ClientCore::connected`] or [`Connect::Failed`]).
    pub fn refresh_needs_connect(&mut self, peer_closed: impl FnOnce() -> bool) -> bool {
        self.settle();
        if self.state == ClientState::Ready && (self.session.is_none() || peer_closed()) {
            self.disconnect(ClientState::Broken);
        }
        self.state != ClientState::Ready
    }

    /// Marks a connection attempt under way.
    pub fn start_connect(&mut self) {
        if self.state != ClientState::Connecting {
            self.connect_from = self.state;
        }
        self.session = None;
        self.state = ClientState::Connecting;
    }

    /// The configuration of the next connection attempt.
    pub fn connect_config(&self) -> &transport::ClientConfig {
        &self.transport
    }

    /// Records a session the driver connected with
    /// [`ClientCore::connect_config`].
    pub fn connected(&mut self, info: SessionInfo) {
        self.session = Some(info);
        self.state = ClientState::Ready;
        client_log::state_changed(&self.endpoint, self.connect_from, self.state, info.shm, None);
        self.connect_count += 1;
        if std::mem::take(&mut self.abandoned) {
            self.reconnect_count += 1;
        }
        self.connect_error = None;
    }

    /// Records that the driver dropped its session because a call left it
    /// part-way (an async call whose future was dropped after its request
    /// went out): its answer may still come, so the session cannot carry
    /// another call. The state turns broken; the driver connects again,
    /// and that connect counts as a reconnect.
    pub fn abandon(&mut self) {
        self.abandoned = true;
        self.disconnect(ClientState::Broken);
    }

    /// Decides after a failed connection attempt: connect again with an
    /// adjusted configuration, or stay without a session (the state says
    /// why, and [`ClientCore::connect_error`] gives the detail).
    pub fn connect_failed(&mut self, e: TransportError) -> Connect {
        let state = match &e {
            TransportError::ShmUnavailable(_) => {
                // No same-session fallback: a new session, without SHM.
                self.transport.supported_profiles &= !(PROFILE_SHM_HYBRID | PROFILE_SHM_FUTEX);
                self.transport.preferred_profiles &= !(PROFILE_SHM_HYBRID | PROFILE_SHM_FUTEX);
                if self.transport.supported_profiles != 0 {
                    return Connect::Again;
                }
                ClientState::Incompatible
            }
            TransportError::LimitExceeded { .. }
                if self.transport.max_request_payload_bytes > self.config.initial_request() =>
            {
                // A grown request size refused: the server accepts no
                // requests that large (or came back with smaller limits).
                // Start over from the configured size, so that the calls
                // that fit go on; larger ones grow it again, and fail.
                self.transport.max_request_payload_bytes = self.config.initial_request();
                return Connect::Again;
            }
            TransportError::NotFound { .. } => ClientState::NotFound,
            TransportError::AuthFailed => ClientState::AuthFailed,
            // No SEQPACKET sockets (macOS): no retry will find them.
            TransportError::Unsupported
            | TransportError::Incompatible(_)
            | TransportError::LimitExceeded { .. }
            // An endpoint the name rules or the platform refuse: no retry
            // makes it work, and the connect error says why.
            | TransportError::InvalidServiceName(_)
            | TransportError::InvalidRunDir(_)
            | TransportError::PathTooLong { .. }
            | TransportError::PlatformUnsupported { .. } => ClientState::Incompatible,
            _ => ClientState::Disconnected,
        };
        self.session = None;
        self.state = state;
        client_log::state_changed(&self.endpoint, self.connect_from, state, false, Some(&e));
        self.connect_error = Some(Arc::new(e));
        Connect::Failed
    }

    /// Why the last connection attempt failed, if it did.
    pub fn connect_error(&self) -> Option<&TransportError> {
        self.connect_error.as_deref()
    }

    /// Forgets the session: `refresh` may connect again.
    pub fn close(&mut self) {
        self.disconnect(ClientState::Disconnected);
    }

    fn disconnect(&mut self, state: ClientState) {
        self.session = None;
        self.state = state;
    }

    /// The error of a call made while not connected.
    fn not_ready(&self) -> ServiceError {
        ServiceError::NotReady {
            endpoint: self.endpoint.clone(),
            state: self.state(),
            cause: self.connect_error.clone(),
        }
    }

    /// A transport failure of a call, as the service reports it.
    fn call_error(&self, e: TransportError) -> ServiceError {
        let endpoint = self.endpoint.clone();
        match e {
            TransportError::Timeout => ServiceError::Timeout { endpoint },
            TransportError::Aborted => ServiceError::Aborted { endpoint },
            source => ServiceError::Call {
                endpoint,
                source,
                reconnect: None,
            },
        }
    }

    /// A response that broke the method's contract.
    pub fn bad_response(&self, what: &'static str) -> ServiceError {
        ServiceError::BadResponse {
            endpoint: self.endpoint.clone(),
            what,
        }
    }

    /// A response payload that did not decode.
    pub fn malformed(&self, source: CodecError) -> ServiceError {
        ServiceError::Malformed {
            endpoint: self.endpoint.clone(),
            source,
        }
    }

    /// A caller's input that cannot be encoded as a request.
    pub fn invalid_request(&self, what: &'static str, source: Option<CodecError>) -> ServiceError {
        ServiceError::InvalidRequest {
            endpoint: self.endpoint.clone(),
            what,
            source,
        }
    }

    /// A limit of the client's that refused a call.
    pub fn limit(&self, limit: LimitKind, needed: Option<u64>, allowed: u64) -> ServiceError {
        ServiceError::LimitExceeded {
            endpoint: self.endpoint.clone(),
            limit,
            needed,
            allowed,
        }
    }

    fn capacities(&self) -> (u32, u32) {
        self.session.map_or((0, 0), |s| {
            (
                s.params.max_request_payload_bytes,
                s.params.max_response_payload_bytes,
            )
        })
    }

    /// When a call starting now, given `timeout` (zero: the client's call
    /// timeout), must be over.
    pub fn deadline_for(&self, timeout: Duration) -> Instant {
        let timeout = if timeout.is_zero() {
            self.config.call_timeout()
        } else {
            timeout
        };
        crate::transport::deadline_after(timeout)
    }

    /// Sets the client's call timeout (zero: [`crate::CALL_TIMEOUT_DEFAULT`]).
    pub fn set_call_timeout(&mut self, timeout: Duration) {
        self.config.call_timeout = timeout;
    }

    /// The request buffer: a call's request payload is encoded here before
    /// [`ClientCore::begin_call`], and sent from here by every attempt.
    pub fn request(&self) -> &[u8] {
        &self.request
    }

    /// The request buffer, to encode the next request into.
    pub fn request_mut(&mut self) -> &mut Vec<u8> {
        &mut self.request
    }

    /// The request payload budget of the current session (or of the next
    /// one, from the configuration, when not connected).
    pub fn request_budget(&self) -> usize {
        self.session
            .map_or(self.transport.max_request_payload_bytes, |s| {
                s.params.max_request_payload_bytes
            }) as usize
    }

    /// The response payload budget of the current session (or the
    /// configured hint when not connected).
    pub fn response_budget(&self) -> usize {
        self.session
            .map_or(self.transport.max_response_payload_bytes, |s| {
                s.params.max_response_payload_bytes
            }) as usize
    }

    /// Marks the session broken after a response that did not decode; it
    /// is dropped at the next call or refresh.
    pub fn poison(&self) {
        self.poisoned.set(true);
    }

    /// Decodes `payload`, the answer of the last call, with `decode`; a
    /// failure poisons the session.
    pub fn decode<'a, T>(
        &self,
        payload: &'a [u8],
        decode: impl FnOnce(&'a [u8]) -> core::result::Result<T, CodecError>,
    ) -> Result<T> {
        decode(payload).map_err(|source| {
            self.poison();
            self.malformed(source)
        })
    }

    /// Starts a call whose request is in the request buffer, to be over by
    /// `deadline`. `may_have_passed` says whether the deadline must be
    /// checked first (one made from the clock just now has not passed);
    /// `aborted` whether the driver's abort signal is raised.
    ///
    /// On success the driver follows [`Call::start`] and the steps after
    /// it; on failure the call is over (drop the session if
    /// [`ClientCore::has_session`] turned false).
    pub fn begin_call(
        &mut self,
        spec: CallSpec,
        deadline: Instant,
        may_have_passed: bool,
        aborted: bool,
    ) -> Result<Call> {
        self.settle();
        if self.state != ClientState::Ready {
            self.failed.not_ready += 1;
            return Err(self.not_ready());
        }
        if aborted {
            let e = ServiceError::Aborted {
                endpoint: self.endpoint.clone(),
            };
            return Err(self.fail(e));
        }
        if may_have_passed && Instant::now() >= deadline {
            let e = ServiceError::Timeout {
                endpoint: self.endpoint.clone(),
            };
            return Err(self.fail(e));
        }
        Ok(Call {
            spec,
            deadline,
            overflow_retries: 0,
            retried: false,
            before: (0, 0),
            id: 0,
            pending: None,
        })
    }

    /// Ends a call in failure: the session is dropped.
    fn fail(&mut self, e: ServiceError) -> ServiceError {
        self.disconnect(ClientState::Broken);
        self.error_count += 1;
        self.failed.count(&e);
        client_log::call_failed(&e);
        e
    }
}

/// The header fields of one call's request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallSpec {
    /// The method code.
    pub method: u16,
    /// Header flags (`FLAG_BATCH` for a batch).
    pub flags: u16,
    /// Items in the request (1 unless a batch).
    pub item_count: u32,
}

impl CallSpec {
    /// A single-item request of `method`.
    pub const fn single(method: u16) -> Self {
        Self {
            method,
            flags: 0,
            item_count: 1,
        }
    }
}

/// What the driver does next in a call.
#[derive(Debug)]
pub enum Step {
    /// Send the request buffer with this header on the current session and
    /// receive its answer (by the call's deadline), then report the outcome
    /// with [`Call::answered`].
    Send(Header),
    /// Drop the session and connect again (as a refresh does, from
    /// [`ClientCore::start_connect`]), then report with [`Call::reconnected`].
    Reconnect,
    /// The call succeeded: the answer's header. Its payload is the one the
    /// last receive returned.
    Done(Header),
    /// The call failed; drop the session if [`ClientCore::has_session`]
    /// turned false.
    Failed(ServiceError),
}

/// Which way a message did not fit.
#[derive(Debug, Clone, Copy)]
enum Direction {
    Request,
    Response,
}

/// What went wrong in one attempt of a call, before the plan decides.
enum AttemptError {
    /// A payload did not fit the session; capacities were noted for growth.
    Overflow(Direction),
    /// Refused before anything was sent; the session is intact.
    Refused(ServiceError),
    /// Anything else.
    Failed(ServiceError),
}

/// The plan of one call: at least once (one reconnect and resend after a
/// failure, since the client was ready), and overflow regrowth (at most
/// [`OVERFLOW_RETRIES_MAX`] reconnects with larger capacities).
#[derive(Debug)]
pub struct Call {
    spec: CallSpec,
    deadline: Instant,
    overflow_retries: u32,
    retried: bool,
    /// Session capacities when the last attempt started.
    before: (u32, u32),
    /// The message id of the last attempt.
    id: u64,
    /// Why the last attempt failed, while the driver reconnects.
    pending: Option<(Pending, ServiceError)>,
}

/// Why a call reconnects.
#[derive(Debug, Clone, Copy)]
enum Pending {
    Overflow(Direction),
    Retry,
}

impl Call {
    /// When the call must be over.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// The message id of the attempt under way (0 before the first).
    pub fn message_id(&self) -> u64 {
        self.id
    }

    /// The first attempt: `aborted` says whether the driver's abort signal
    /// is raised now.
    pub fn start(&mut self, core: &mut ClientCore, aborted: bool) -> Step {
        match self.attempt(core, aborted) {
            Ok(h) => Step::Send(h),
            Err(e) => self.after(core, e),
        }
    }

    fn attempt(&mut self, core: &mut ClientCore, aborted: bool) -> Result<Header, AttemptError> {
        if aborted {
            return Err(AttemptError::Failed(ServiceError::Aborted {
                endpoint: core.endpoint.clone(),
            }));
        }
        if core.session.is_none() {
            return Err(AttemptError::Failed(core.not_ready()));
        }
        self.before = core.capacities();
        core.next_id += 1;
        self.id = core.next_id;
        Ok(Header {
            flags: self.spec.flags,
            item_count: self.spec.item_count,
            ..Header::new(Kind::Request, self.spec.method, self.id, 0)
        })
    }

    /// Reports the outcome of a [`Step::Send`]: the answer's header, or the
    /// transport's error.
    pub fn answered(
        &mut self,
        core: &mut ClientCore,
        result: core::result::Result<Header, TransportError>,
    ) -> Step {
        match self.judge(core, result) {
            Ok(h) => {
                core.call_count += 1;
                Step::Done(h)
            }
            Err(e) => self.after(core, e),
        }
    }

    fn judge(
        &mut self,
        core: &mut ClientCore,
        result: core::result::Result<Header, TransportError>,
    ) -> Result<Header, AttemptError> {
        let h = match result {
            Ok(h) => {
                core.bytes_sent += (HEADER_LEN + core.request.len()) as u64;
                core.bytes_received += u64::from(h.payload_len) + HEADER_LEN as u64;
                h
            }
            Err(TransportError::LimitExceeded {
                what: Limit::Payload, ..
            }) => {
                let len = core.request.len();
                let need = len.min(u32::MAX as usize) as u32;
                let ceiling = core.config.request_ceiling();
                if need > ceiling {
                    return Err(AttemptError::Refused(core.limit(
                        LimitKind::RequestCeiling,
                        Some(len as u64),
                        u64::from(ceiling),
                    )));
                }
                core.transport.max_request_payload_bytes =
                    need.checked_next_power_of_two().unwrap_or(need).min(ceiling);
                return Err(AttemptError::Overflow(Direction::Request));
            }
            Err(TransportError::ReceivedOverLimit {
                what: Limit::Payload,
                value,
                ..
            }) => {
                // A server that sent more than the session allows: ask for
                // room for that much on the next session.
                let want = value.checked_next_power_of_two().unwrap_or(value);
                core.transport.max_response_payload_bytes =
                    core.transport.max_response_payload_bytes.max(want);
                return Err(AttemptError::Overflow(Direction::Response));
            }
            Err(e) => return Err(AttemptError::Failed(core.call_error(e))),
        };
        if h.code != self.spec.method || h.message_id != self.id {
            return Err(AttemptError::Failed(
                core.bad_response("response code or message_id differs from the request"),
            ));
        }
        match h.transport_status {
            STATUS_OK => Ok(h),
            STATUS_LIMIT_EXCEEDED => {
                let current = core.capacities().1;
                core.transport.max_response_payload_bytes = current.saturating_mul(2);
                Err(AttemptError::Overflow(Direction::Response))
            }
            status => Err(AttemptError::Failed(ServiceError::ServerStatus {
                endpoint: core.endpoint.clone(),
                status,
            })),
        }
    }

    /// The plan after a failed attempt.
    fn after(&mut self, core: &mut ClientCore, e: AttemptError) -> Step {
        match e {
            AttemptError::Failed(e @ (ServiceError::Timeout { .. } | ServiceError::Aborted { .. })) => {
                Step::Failed(core.fail(e))
            }
            AttemptError::Refused(e) => {
                core.error_count += 1;
                core.failed.count(&e);
                Step::Failed(e)
            }
            AttemptError::Overflow(direction) => {
                self.overflow_retries += 1;
                if self.overflow_retries > OVERFLOW_RETRIES_MAX {
                    let e = core.limit(LimitKind::Reconnects, None, u64::from(OVERFLOW_RETRIES_MAX));
                    return Step::Failed(core.fail(e));
                }
                self.pending = Some((Pending::Overflow(direction), core.not_ready()));
                core.disconnect(ClientState::Broken);
                Step::Reconnect
            }
            AttemptError::Failed(e) => {
                // At least once: one reconnect and one resend, since we were READY.
                if self.retried {
                    return Step::Failed(core.fail(e));
                }
                self.pending = Some((Pending::Retry, e));
                core.disconnect(ClientState::Broken);
                Step::Reconnect
            }
        }
    }

    /// Reports the end of a [`Step::Reconnect`] (the core's state says
    /// whether a session came of it); `aborted` as for [`Call::start`].
    pub fn reconnected(&mut self, core: &mut ClientCore, aborted: bool) -> Step {
        let Some((why, e)) = self.pending.take() else {
            return Step::Failed(core.fail(core.not_ready()));
        };
        if core.state != ClientState::Ready {
            let e = match (why, e) {
                (Pending::Overflow(_), _) => core.not_ready(),
                (Pending::Retry, mut e) => {
                    if let ServiceError::Call { reconnect, .. } = &mut e {
                        *reconnect = core.connect_error.clone();
                    }
                    e
                }
            };
            return Step::Failed(core.fail(e));
        }
        core.reconnect_count += 1;
        match why {
            Pending::Overflow(direction) => {
                let after = core.capacities();
                if after.0 <= self.before.0 && after.1 <= self.before.1 {
                    let e = match direction {
                        Direction::Request => core.limit(
                            LimitKind::Request,
                            Some(core.request.len() as u64),
                            u64::from(after.0),
                        ),
                        Direction::Response => core.limit(LimitKind::Response, None, u64::from(after.1)),
                    };
                    return Step::Failed(core.fail(e));
                }
            }
            Pending::Retry => {
                self.retried = true;
                core.retry_count += 1;
            }
        }
        self.start(core, aborted)
    }
}

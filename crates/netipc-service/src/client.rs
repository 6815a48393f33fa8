//! The client context shared by every typed client: connection state,
//! caller-driven reconnects, at-least-once retry and overflow regrowth.

use crate::config::{ClientConfig, OVERFLOW_RETRIES_MAX};
use crate::error::{Result, ServiceError};
use crate::platform::Session;
use crate::transport::codec::{
    Header, Kind, PROFILE_SHM_FUTEX, PROFILE_SHM_HYBRID, STATUS_LIMIT_EXCEEDED, STATUS_OK,
};
use crate::transport::{self, AbortHandle, Limit, TransportError};
use std::path::{Path, PathBuf};
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
    /// Calls that failed.
    pub error_count: u64,
    /// Whether the current session uses shared memory.
    pub shm: bool,
}

/// What went wrong in one attempt of a call.
enum AttemptError {
    /// A payload did not fit the session; capacities were noted for growth.
    Overflow,
    /// Refused before anything was sent; the session is intact.
    Refused(ServiceError),
    /// Anything else.
    Failed(ServiceError),
}

impl From<TransportError> for AttemptError {
    fn from(e: TransportError) -> Self {
        AttemptError::Failed(e.into())
    }
}

/// The untyped core of every typed client.
#[derive(Debug)]
pub(crate) struct RawClient {
    run_dir: PathBuf,
    service: String,
    config: ClientConfig,
    transport: transport::ClientConfig,
    session: Option<Session>,
    state: ClientState,
    abort: Option<AbortHandle>,
    /// The encoded request of the current call, kept for resends.
    pub(crate) request: Vec<u8>,
    next_id: u64,
    /// Set when a response did not decode; the session is dropped at the
    /// next call or refresh (a view of it may still be borrowed now).
    poisoned: std::cell::Cell<bool>,
    connect_count: u64,
    reconnect_count: u64,
    call_count: u64,
    error_count: u64,
    /// Why the last connection attempt failed; `None` after a success.
    connect_error: Option<TransportError>,
}

impl RawClient {
    pub(crate) fn new(run_dir: impl AsRef<Path>, service: &str, config: ClientConfig) -> Self {
        Self {
            run_dir: run_dir.as_ref().to_path_buf(),
            service: service.to_string(),
            transport: config.to_transport(),
            config,
            session: None,
            state: ClientState::Disconnected,
            abort: AbortHandle::new().ok(),
            request: Vec::new(),
            next_id: 0,
            poisoned: std::cell::Cell::new(false),
            connect_count: 0,
            reconnect_count: 0,
            call_count: 0,
            error_count: 0,
            connect_error: None,
        }
    }

    pub(crate) fn state(&self) -> ClientState {
        if self.poisoned.get() {
            ClientState::Broken
        } else {
            self.state
        }
    }

    pub(crate) fn ready(&self) -> bool {
        self.state() == ClientState::Ready
    }

    /// Applies a pending poison: drops the session that sent a bad response.
    fn settle(&mut self) {
        if self.poisoned.replace(false) {
            self.error_count += 1;
            self.disconnect(ClientState::Broken);
        }
    }

    pub(crate) fn status(&self) -> ClientStatus {
        ClientStatus {
            state: self.state(),
            connect_count: self.connect_count,
            reconnect_count: self.reconnect_count,
            call_count: self.call_count,
            error_count: self.error_count,
            shm: self.session.as_ref().is_some_and(Session::is_shm),
        }
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

    /// Connects when not ready; notices a peer that went away when ready.
    /// Returns whether the state changed.
    pub(crate) fn refresh(&mut self) -> bool {
        let before = self.state();
        self.settle();
        if self.state == ClientState::Ready && self.session_lost() {
            self.disconnect(ClientState::Broken);
        }
        if self.state != ClientState::Ready {
            self.state = ClientState::Connecting;
            self.state = self.connect();
        }
        self.state != before
    }

    fn session_lost(&self) -> bool {
        self.session.as_ref().is_none_or(Session::peer_closed)
    }

    pub(crate) fn close(&mut self) {
        self.disconnect(ClientState::Disconnected);
    }

    fn disconnect(&mut self, state: ClientState) {
        self.session = None;
        self.state = state;
    }

    fn connect(&mut self) -> ClientState {
        let e = match Session::connect(&self.run_dir, &self.service, &self.transport) {
            Ok(mut s) => {
                s.set_abort(self.abort.clone());
                self.session = Some(s);
                self.connect_count += 1;
                self.connect_error = None;
                return ClientState::Ready;
            }
            Err(e) => e,
        };
        let state = match &e {
            TransportError::ShmUnavailable(_) => {
                // No same-session fallback: a new session, without SHM.
                self.transport.supported_profiles &= !(PROFILE_SHM_HYBRID | PROFILE_SHM_FUTEX);
                self.transport.preferred_profiles &= !(PROFILE_SHM_HYBRID | PROFILE_SHM_FUTEX);
                if self.transport.supported_profiles != 0 {
                    return self.connect();
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
                return self.connect();
            }
            TransportError::NotFound { .. } => ClientState::NotFound,
            TransportError::AuthFailed => ClientState::AuthFailed,
            // No SEQPACKET sockets (macOS): no retry will find them.
            TransportError::Unsupported
            | TransportError::Incompatible(_)
            | TransportError::LimitExceeded { .. }
            | TransportError::PlatformUnsupported { .. } => ClientState::Incompatible,
            _ => ClientState::Disconnected,
        };
        self.connect_error = Some(e);
        state
    }

    /// Why the last connection attempt failed, if it did.
    pub(crate) fn connect_error(&self) -> Option<&TransportError> {
        self.connect_error.as_ref()
    }

    fn reconnect(&mut self) -> bool {
        self.disconnect(ClientState::Broken);
        self.state = self.connect();
        if self.state == ClientState::Ready {
            self.reconnect_count += 1;
            true
        } else {
            false
        }
    }

    fn capacities(&self) -> (u32, u32) {
        self.session.as_ref().map_or((0, 0), |s| {
            (
                s.params().max_request_payload_bytes,
                s.params().max_response_payload_bytes,
            )
        })
    }

    /// Sends `self.request` as one message and waits for its response,
    /// with the retry rules of Level 2, within `timeout` (zero: the
    /// client's call timeout). On success the response payload is
    /// available from [`RawClient::payload`].
    pub(crate) fn call(
        &mut self,
        method: u16,
        flags: u16,
        item_count: u32,
        timeout: Duration,
    ) -> Result<Header> {
        let deadline = self.deadline_for(timeout);
        // A deadline made from the clock just now (nothing before the first
        // attempt blocks) has not passed: one clock read less per call.
        self.call_within(method, flags, item_count, deadline, false)
    }

    /// When a call starting now, given `timeout` (zero: the client's call
    /// timeout), must be over.
    pub(crate) fn deadline_for(&self, timeout: Duration) -> Instant {
        let timeout = if timeout.is_zero() {
            self.config.call_timeout()
        } else {
            timeout
        };
        crate::transport::deadline_after(timeout)
    }

    /// Sets the client's call timeout (zero: [`crate::CALL_TIMEOUT_DEFAULT`]).
    pub(crate) fn set_call_timeout(&mut self, timeout: Duration) {
        self.config.call_timeout = timeout;
    }

    /// Like [`RawClient::call`], bounded by `deadline` instead: the cycles
    /// of one logical call share the deadline of the whole.
    pub(crate) fn call_until(
        &mut self,
        method: u16,
        flags: u16,
        item_count: u32,
        deadline: Instant,
    ) -> Result<Header> {
        self.call_within(method, flags, item_count, deadline, true)
    }

    /// The body of [`RawClient::call`] and [`RawClient::call_until`];
    /// `may_have_passed` says whether `deadline` must be checked before
    /// the first attempt.
    fn call_within(
        &mut self,
        method: u16,
        flags: u16,
        item_count: u32,
        deadline: Instant,
        may_have_passed: bool,
    ) -> Result<Header> {
        self.settle();
        if self.state != ClientState::Ready {
            return Err(ServiceError::NotReady(self.state));
        }
        if self.aborted() {
            return self.fail(ServiceError::Aborted);
        }
        if may_have_passed && Instant::now() >= deadline {
            return self.fail(ServiceError::Timeout);
        }
        let mut overflow_retries = 0;
        let mut retried = false;
        loop {
            let before = self.capacities();
            match self.attempt(method, flags, item_count, deadline) {
                Ok(h) => {
                    self.call_count += 1;
                    return Ok(h);
                }
                Err(AttemptError::Failed(e @ (ServiceError::Timeout | ServiceError::Aborted))) => {
                    return self.fail(e);
                }
                Err(AttemptError::Refused(e)) => {
                    self.error_count += 1;
                    return Err(e);
                }
                Err(AttemptError::Overflow) => {
                    overflow_retries += 1;
                    if overflow_retries > OVERFLOW_RETRIES_MAX || !self.reconnect() {
                        return self.fail(ServiceError::LimitExceeded("capacities could not grow enough"));
                    }
                    let after = self.capacities();
                    if after.0 <= before.0 && after.1 <= before.1 {
                        return self.fail(ServiceError::LimitExceeded(
                            "the server would not grow its limits",
                        ));
                    }
                }
                Err(AttemptError::Failed(e)) => {
                    // At least once: one reconnect and one resend, since we were READY.
                    if retried || !self.reconnect() {
                        return self.fail(e);
                    }
                    retried = true;
                }
            }
        }
    }

    fn fail<T>(&mut self, e: ServiceError) -> Result<T> {
        self.disconnect(ClientState::Broken);
        self.error_count += 1;
        Err(e)
    }

    fn attempt(
        &mut self,
        method: u16,
        flags: u16,
        item_count: u32,
        deadline: Instant,
    ) -> Result<Header, AttemptError> {
        if self.aborted() {
            return Err(AttemptError::Failed(ServiceError::Aborted));
        }
        self.next_id += 1;
        let id = self.next_id;
        let Some(session) = self.session.as_mut() else {
            return Err(AttemptError::Failed(ServiceError::NotReady(self.state)));
        };
        let header = Header {
            flags,
            item_count,
            ..Header::new(Kind::Request, method, id, 0)
        };
        let h = match session.exchange(&header, &self.request, Some(deadline)) {
            Ok((h, _)) => h,
            Err(TransportError::LimitExceeded {
                what: Limit::Payload, ..
            }) => {
                let need = self.request.len().min(u32::MAX as usize) as u32;
                let ceiling = self.config.request_ceiling();
                if need > ceiling {
                    return Err(AttemptError::Refused(ServiceError::LimitExceeded(
                        "request larger than the configured ceiling",
                    )));
                }
                self.transport.max_request_payload_bytes =
                    need.checked_next_power_of_two().unwrap_or(need).min(ceiling);
                return Err(AttemptError::Overflow);
            }
            Err(TransportError::ReceivedOverLimit {
                what: Limit::Payload,
                value,
                ..
            }) => {
                // A server that sent more than the session allows: ask for
                // room for that much on the next session.
                let want = value.checked_next_power_of_two().unwrap_or(value);
                self.transport.max_response_payload_bytes =
                    self.transport.max_response_payload_bytes.max(want);
                return Err(AttemptError::Overflow);
            }
            Err(e) => return Err(e.into()),
        };
        if h.code != method || h.message_id != id {
            return Err(AttemptError::Failed(ServiceError::BadResponse(
                "response code or message_id differs from the request",
            )));
        }
        match h.transport_status {
            STATUS_OK => Ok(h),
            STATUS_LIMIT_EXCEEDED => {
                let current = session.params().max_response_payload_bytes;
                self.transport.max_response_payload_bytes = current.saturating_mul(2);
                Err(AttemptError::Overflow)
            }
            other => Err(AttemptError::Failed(ServiceError::ServerStatus(other))),
        }
    }

    /// The request payload budget of the current session (or of the next
    /// one, from the configuration, when not connected).
    pub(crate) fn request_budget(&self) -> usize {
        self.session
            .as_ref()
            .map_or(self.transport.max_request_payload_bytes, |s| {
                s.params().max_request_payload_bytes
            }) as usize
    }

    /// The response payload budget of the current session (or the
    /// configured hint when not connected).
    pub(crate) fn response_budget(&self) -> usize {
        self.session
            .as_ref()
            .map_or(self.transport.max_response_payload_bytes, |s| {
                s.params().max_response_payload_bytes
            }) as usize
    }

    pub(crate) fn config(&self) -> &ClientConfig {
        &self.config
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

    /// Marks the session broken after a response that did not decode.
    pub(crate) fn poison(&self) {
        self.poisoned.set(true);
    }

    /// Decodes the last payload with `decode`; a failure poisons the session.
    pub(crate) fn decode<'a, T>(
        &'a self,
        decode: impl FnOnce(&'a [u8]) -> Result<T, crate::transport::codec::CodecError>,
    ) -> Result<T> {
        decode(self.payload()).map_err(|e| {
            self.poison();
            ServiceError::Malformed(e)
        })
    }
}

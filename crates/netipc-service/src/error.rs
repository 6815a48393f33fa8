//! The one error type of the typed service layer.

use crate::client::ClientState;
use crate::endpoint::Endpoint;
use crate::transport::TransportError;
use crate::transport::codec::{CodecError, status_name};
use std::fmt;
use std::sync::Arc;

/// Why a typed call or a server failed, and on which endpoint.
///
/// Every message says what was attempted, where (the run dir and the
/// service), and the cause down to the OS error where there is one, so
/// printing it with `{}` is enough; [`std::error::Error::source`] still
/// gives the underlying error for reporters that walk the chain.
///
/// Timeout, abort, a client that is not connected (with its state: no
/// server, auth refused, incompatible), an exceeded limit and a transport
/// failure (a peer that closed, an OS error) are distinct variants.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// The run dir or the service name cannot name an endpoint: refused
    /// when the client or server is made (`try_new`), or by its first
    /// connect or `run()`.
    #[error("cannot use {endpoint}: {source}")]
    InvalidEndpoint {
        /// The endpoint.
        endpoint: Endpoint,
        /// What is wrong with it.
        #[source]
        source: TransportError,
    },
    /// The client is not connected; `refresh()` first. `state` says what
    /// kind of failure the last connect met, `cause` what exactly.
    #[error("{endpoint} is not ready ({state}){}", Because(cause.as_deref()))]
    NotReady {
        /// The endpoint.
        endpoint: Endpoint,
        /// The client's state.
        state: ClientState,
        /// Why the last connect failed, if one did.
        #[source]
        cause: Option<Arc<TransportError>>,
    },
    /// The call's deadline passed. Not retried.
    #[error("call to {endpoint} timed out")]
    Timeout {
        /// The endpoint.
        endpoint: Endpoint,
    },
    /// The client's abort signal was raised. Not retried.
    #[error("call to {endpoint} was aborted")]
    Aborted {
        /// The endpoint.
        endpoint: Endpoint,
    },
    /// A message did not fit, even after growing capacities, or a
    /// configured ceiling of the client refused it.
    #[error("{endpoint}: {}", LimitText(*limit, *needed, *allowed))]
    LimitExceeded {
        /// The endpoint.
        endpoint: Endpoint,
        /// Which limit refused it.
        limit: LimitKind,
        /// The size or count that was needed, when known.
        needed: Option<u64>,
        /// The limit that refused it.
        allowed: u64,
    },
    /// The server answered with a non-OK transport status.
    #[error(
        "{endpoint} answered with transport status {status} ({name})",
        name = status_name(*.status).unwrap_or("not a defined status")
    )]
    ServerStatus {
        /// The endpoint.
        endpoint: Endpoint,
        /// The status.
        status: u16,
    },
    /// The response broke the method's contract.
    #[error("{endpoint} sent a bad response: {what}")]
    BadResponse {
        /// The endpoint.
        endpoint: Endpoint,
        /// What was wrong.
        what: &'static str,
    },
    /// A response payload did not decode.
    #[error("{endpoint} sent a malformed response: {source}")]
    Malformed {
        /// The endpoint.
        endpoint: Endpoint,
        /// What the codec refused.
        #[source]
        source: CodecError,
    },
    /// The caller's input cannot be encoded as a request.
    #[error("invalid request to {endpoint}: {what}{}", Because(source.as_ref()))]
    InvalidRequest {
        /// The endpoint.
        endpoint: Endpoint,
        /// What is wrong with it.
        what: &'static str,
        /// What the codec refused, where it did.
        #[source]
        source: Option<CodecError>,
    },
    /// The server cannot serve: binding its endpoint failed, or its
    /// listener did.
    #[error("cannot serve {endpoint}: {source}")]
    Serve {
        /// The endpoint.
        endpoint: Endpoint,
        /// The transport's failure.
        #[source]
        source: TransportError,
    },
    /// A call failed in the transport (the peer closed, an OS error, a
    /// protocol violation), and so did the one retry the client makes on
    /// a new session, or the reconnect before it (`reconnect`).
    #[error(
        "call to {endpoint} failed: {source}{}",
        Reconnect(reconnect.as_deref())
    )]
    Call {
        /// The endpoint.
        endpoint: Endpoint,
        /// The transport's failure.
        #[source]
        source: TransportError,
        /// Why reconnecting after it failed, where it did.
        reconnect: Option<Arc<TransportError>>,
    },
}

impl ServiceError {
    /// The endpoint the error happened on.
    pub fn endpoint(&self) -> &Endpoint {
        match self {
            ServiceError::InvalidEndpoint { endpoint, .. }
            | ServiceError::NotReady { endpoint, .. }
            | ServiceError::Timeout { endpoint }
            | ServiceError::Aborted { endpoint }
            | ServiceError::LimitExceeded { endpoint, .. }
            | ServiceError::ServerStatus { endpoint, .. }
            | ServiceError::BadResponse { endpoint, .. }
            | ServiceError::Malformed { endpoint, .. }
            | ServiceError::InvalidRequest { endpoint, .. }
            | ServiceError::Serve { endpoint, .. }
            | ServiceError::Call { endpoint, .. } => endpoint,
        }
    }
}

/// Which limit a [`ServiceError::LimitExceeded`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LimitKind {
    /// A request over the client's `request_payload_ceiling`; refused
    /// before it was sent.
    RequestCeiling,
    /// A request over what the server accepts, which it would not grow.
    Request,
    /// A response over what the server offers the session, which it would
    /// not grow (its response ceiling).
    Response,
    /// Capacities still too small after every reconnect one call may make
    /// (`OVERFLOW_RETRIES_MAX`).
    Reconnects,
    /// Keys of a lookup call over `lookup_max_items`.
    LookupKeys,
    /// Request/response cycles of a lookup call over `lookup_max_subcalls`.
    LookupSubcalls,
    /// The stitched answer of a lookup call over `lookup_max_stitched_bytes`.
    LookupStitchedBytes,
}

/// The text of a [`ServiceError::LimitExceeded`].
struct LimitText(LimitKind, Option<u64>, u64);

impl fmt::Display for LimitText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let LimitText(kind, needed, allowed) = *self;
        let needed = |f: &mut fmt::Formatter<'_>, unit: &str| match needed {
            Some(n) => write!(f, "{n} {unit}"),
            None => write!(f, "more {unit}"),
        };
        match kind {
            LimitKind::RequestCeiling => {
                f.write_str("a request of ")?;
                needed(f, "bytes")?;
                write!(
                    f,
                    " is over the client's request_payload_ceiling of {allowed} bytes"
                )
            }
            LimitKind::Request => {
                f.write_str("a request of ")?;
                needed(f, "bytes")?;
                write!(
                    f,
                    " does not fit the {allowed} bytes the server accepts, and it would not grow that"
                )
            }
            LimitKind::Response => write!(
                f,
                "the response needs more than the {allowed} bytes the server offers, and it would not grow \
                 that (its response ceiling)"
            ),
            LimitKind::Reconnects => write!(
                f,
                "capacities were still too small after {allowed} reconnects (the most one call makes)"
            ),
            LimitKind::LookupKeys => {
                needed(f, "keys")?;
                write!(f, " are over the client's lookup_max_items of {allowed}")
            }
            LimitKind::LookupSubcalls => write!(
                f,
                "the lookup needs more than the client's lookup_max_subcalls of {allowed} request/response cycles"
            ),
            LimitKind::LookupStitchedBytes => write!(
                f,
                "the stitched lookup answer is over the client's lookup_max_stitched_bytes of {allowed}"
            ),
        }
    }
}

/// `: {cause}` where there is a cause, as text.
struct Because<'a, E>(Option<&'a E>);

impl<E: fmt::Display> fmt::Display for Because<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(e) => write!(f, ": {e}"),
            None => Ok(()),
        }
    }
}

/// `; reconnecting failed: {error}` where reconnecting failed, as text.
struct Reconnect<'a>(Option<&'a TransportError>);

impl fmt::Display for Reconnect<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(e) => write!(f, "; reconnecting failed: {e}"),
            None => Ok(()),
        }
    }
}

/// Short form for results of this crate.
pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> Endpoint {
        Endpoint::new("/run/netdata", "cgroups-snapshot")
    }

    #[test]
    fn a_server_status_is_named_in_the_message() {
        let msg = ServiceError::ServerStatus {
            endpoint: at(),
            status: 6,
        }
        .to_string();
        assert_eq!(
            msg,
            "cgroups-snapshot in /run/netdata answered with transport status 6 (INTERNAL_ERROR)"
        );
        let msg = ServiceError::ServerStatus {
            endpoint: at(),
            status: 40,
        }
        .to_string();
        assert_eq!(
            msg,
            "cgroups-snapshot in /run/netdata answered with transport status 40 (not a defined status)"
        );
    }

    /// Each limit says what was needed, where known, and which limit
    /// refused it.
    #[test]
    fn a_limit_names_the_size_needed_and_the_limit() {
        let limit = |limit, needed, allowed| {
            ServiceError::LimitExceeded {
                endpoint: at(),
                limit,
                needed,
                allowed,
            }
            .to_string()
        };
        assert_eq!(
            limit(LimitKind::RequestCeiling, Some(2_000_000), 1_048_576),
            "cgroups-snapshot in /run/netdata: a request of 2000000 bytes is over the client's \
             request_payload_ceiling of 1048576 bytes"
        );
        assert_eq!(
            limit(LimitKind::Response, None, 65_536),
            "cgroups-snapshot in /run/netdata: the response needs more than the 65536 bytes the server \
             offers, and it would not grow that (its response ceiling)"
        );
        assert_eq!(
            limit(LimitKind::LookupKeys, Some(70_000), 65_536),
            "cgroups-snapshot in /run/netdata: 70000 keys are over the client's lookup_max_items of 65536"
        );
        assert!(limit(LimitKind::Request, None, 1024).contains("a request of more bytes does not fit"));
    }

    /// The cause of a failure is in the message, and still the source.
    #[test]
    fn causes_are_printed_and_chained() {
        use std::error::Error;
        let cause = Arc::new(TransportError::AuthFailed);
        let e = ServiceError::NotReady {
            endpoint: at(),
            state: ClientState::AuthFailed,
            cause: Some(Arc::clone(&cause)),
        };
        assert_eq!(
            e.to_string(),
            "cgroups-snapshot in /run/netdata is not ready (the server refused the auth token): \
             authentication failed"
        );
        assert_eq!(e.source().unwrap().to_string(), "authentication failed");
        let e = ServiceError::Call {
            endpoint: at(),
            source: TransportError::PeerClosed,
            reconnect: Some(cause),
        };
        assert_eq!(
            e.to_string(),
            "call to cgroups-snapshot in /run/netdata failed: peer closed the connection; reconnecting \
             failed: authentication failed"
        );
        assert_eq!(e.endpoint(), &at());
    }
}

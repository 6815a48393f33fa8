//! The one error type of the typed service layer.

use crate::client::ClientState;
use crate::transport::TransportError;
use crate::transport::codec::{CodecError, status_name};

/// Why a typed call or a server failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// The client is not connected; call `refresh()` first.
    #[error("client is not ready (state {0:?})")]
    NotReady(ClientState),
    /// The call's deadline passed. Not retried.
    #[error("call timed out")]
    Timeout,
    /// The client's abort signal was raised. Not retried.
    #[error("call aborted")]
    Aborted,
    /// No server listens at the endpoint.
    #[error("service not found")]
    NotFound,
    /// The server refused the auth token.
    #[error("authentication failed")]
    AuthFailed,
    /// Profiles, versions or limits cannot work together.
    #[error("incompatible peer")]
    Incompatible,
    /// A payload did not fit, even after growing capacities.
    #[error("payload limit exceeded: {0}")]
    LimitExceeded(&'static str),
    /// The server answered with a non-OK transport status.
    #[error(
        "server answered with transport status {0} ({name})",
        name = status_name(*.0).unwrap_or("not a defined status")
    )]
    ServerStatus(u16),
    /// The response broke the method's contract.
    #[error("bad response: {0}")]
    BadResponse(&'static str),
    /// A response payload did not decode.
    #[error("malformed response")]
    Malformed(#[from] CodecError),
    /// The caller's input cannot be encoded.
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
    /// The transport failed.
    #[error("transport failure")]
    Transport(#[source] TransportError),
}

impl From<TransportError> for ServiceError {
    fn from(e: TransportError) -> Self {
        match e {
            TransportError::Timeout => ServiceError::Timeout,
            TransportError::Aborted => ServiceError::Aborted,
            TransportError::AuthFailed => ServiceError::AuthFailed,
            TransportError::NotFound { .. } => ServiceError::NotFound,
            TransportError::Unsupported | TransportError::Incompatible(_) => ServiceError::Incompatible,
            other => ServiceError::Transport(other),
        }
    }
}

/// Short form for results of this crate.
pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_status_is_named_in_the_message() {
        let msg = ServiceError::ServerStatus(6).to_string();
        assert_eq!(msg, "server answered with transport status 6 (INTERNAL_ERROR)");
        let msg = ServiceError::ServerStatus(40).to_string();
        assert_eq!(
            msg,
            "server answered with transport status 40 (not a defined status)"
        );
    }
}

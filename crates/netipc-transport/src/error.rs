//! The one error type of the transport layer.

use netipc_codec::CodecError;
use std::io;

/// What went wrong with a connection, a handshake or a message.
///
/// Timeout, abort, peer-closed, not-found, auth-failed, incompatible and
/// limit-exceeded are distinct variants, so callers can decide what to retry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The service name cannot name an endpoint.
    #[error("invalid service name: {0}")]
    InvalidServiceName(&'static str),
    /// `{run_dir}/{service}.sock` does not fit in `sun_path`.
    #[error("endpoint path is {len} bytes; the platform allows {max}")]
    PathTooLong {
        /// Path length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// No server listens at the endpoint.
    #[error("no server at {path}")]
    NotFound {
        /// The endpoint path.
        path: String,
        /// The OS cause.
        #[source]
        source: io::Error,
    },
    /// A live server already owns the endpoint (or its liveness cannot be checked).
    #[error("endpoint {path} is in use")]
    AddressInUse {
        /// The endpoint path.
        path: String,
    },
    /// The deadline passed before the operation completed.
    #[error("timed out")]
    Timeout,
    /// The abort handle was signalled.
    #[error("aborted")]
    Aborted,
    /// The peer closed the connection.
    #[error("peer closed the connection")]
    PeerClosed,
    /// The server refused the auth token.
    #[error("authentication failed")]
    AuthFailed,
    /// Client and server share no transport profile.
    #[error("no common transport profile")]
    Unsupported,
    /// Versions or packet sizes cannot work together.
    #[error("incompatible peer: {0}")]
    Incompatible(&'static str),
    /// A size or count limit was exceeded (handshake proposal, or a message to send).
    #[error("limit exceeded: {what} is {value}, the limit is {limit}")]
    LimitExceeded {
        /// What was too large.
        what: &'static str,
        /// Its value.
        value: u64,
        /// The limit.
        limit: u64,
    },
    /// The server rejected the handshake with another transport status.
    #[error(
        "handshake rejected with transport status {0} ({name})",
        name = netipc_codec::status_name(*.0).unwrap_or("not a defined status")
    )]
    Rejected(u16),
    /// The server announced a shared-memory session whose region this
    /// client cannot attach. Reconnect without SHM profiles.
    #[error("shared memory region unavailable")]
    ShmUnavailable(#[source] Box<TransportError>),
    /// A shared-memory region is not there or not initialised yet; retry.
    #[error("shared memory region not ready")]
    ShmNotReady(#[source] Box<TransportError>),
    /// The peer broke the protocol; the session is over.
    #[error("protocol violation: {0}")]
    Protocol(&'static str),
    /// The peer sent bytes the codec refuses; the session is over.
    #[error("malformed message: {0}")]
    Malformed(#[from] CodecError),
    /// An operating-system call failed.
    #[error("{op} failed")]
    Io {
        /// The operation.
        op: &'static str,
        /// The OS cause.
        #[source]
        source: io::Error,
    },
}

impl TransportError {
    /// Wraps an OS error from `op`.
    pub(crate) fn io(op: &'static str, source: impl Into<io::Error>) -> Self {
        TransportError::Io {
            op,
            source: source.into(),
        }
    }

    /// Whether the session that produced this error is unusable.
    ///
    /// A timeout or an abort may leave part of a message unread, so they
    /// break the session too; only caller-side errors (invalid input, a
    /// message over the limit before anything was sent) leave it intact.
    pub fn breaks_session(&self) -> bool {
        !matches!(
            self,
            TransportError::InvalidServiceName(_)
                | TransportError::PathTooLong { .. }
                | TransportError::LimitExceeded { .. }
        )
    }
}

/// Short form for results of this crate.
pub type Result<T, E = TransportError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejection_names_its_status() {
        let msg = TransportError::Rejected(netipc_codec::STATUS_UNSUPPORTED).to_string();
        assert_eq!(msg, "handshake rejected with transport status 4 (UNSUPPORTED)");
        let msg = TransportError::Rejected(99).to_string();
        assert_eq!(
            msg,
            "handshake rejected with transport status 99 (not a defined status)"
        );
    }
}

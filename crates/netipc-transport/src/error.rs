//! The one error type of the transport layer.

use netipc_codec::{CodecError, Header};
use std::{fmt, io};

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
    /// The run dir cannot hold an endpoint (it is empty).
    #[error("invalid run dir: {0}")]
    InvalidRunDir(&'static str),
    /// An endpoint name does not fit: `{run_dir}/{service}.sock` in
    /// `sun_path`, or a Windows pipe or kernel object name in
    /// [`MAX_OBJECT_NAME`](crate::names::MAX_OBJECT_NAME) characters.
    #[error("endpoint path is {len} bytes; the platform allows {max}")]
    PathTooLong {
        /// Path length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// No server listens at the endpoint.
    #[error("no server at {path}: {source}")]
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
    /// The server refused the auth token, or refused this client by its
    /// access policy (the protocol answers both with AUTH_FAILED).
    #[error("authentication failed")]
    AuthFailed,
    /// Server side: the access policy refused the peer, which was answered
    /// AUTH_FAILED.
    #[error("the access policy refuses the peer ({peer})")]
    PeerRefused {
        /// Who the peer is, as far as the platform says.
        peer: crate::PeerCredentials,
    },
    /// The run dir is writable by every user and lacks the sticky bit:
    /// any local user could remove or replace the endpoint. Fix the
    /// directory's mode (`chmod o-w` or `chmod +t`), or, where that is
    /// intended, set `allow_unsafe_run_dir` in the server's configuration.
    #[error(
        "run dir {path} is writable by every user (mode {mode:04o}) without the sticky bit, so any user \
         could replace the endpoint; make it owner- or group-writable, or set allow_unsafe_run_dir"
    )]
    UnsafeRunDir {
        /// The run dir.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// Client and server share no transport profile.
    #[error("no common transport profile")]
    Unsupported,
    /// The platform's sockets lack something the protocol needs: `AF_UNIX`
    /// sockets of type `SOCK_SEQPACKET` (macOS has none), or packets of the
    /// negotiated size. netipc never falls back to another socket type:
    /// peers of the protocol could not read its messages.
    #[error("this platform's sockets lack {needed}, which the protocol requires: {source}")]
    PlatformUnsupported {
        /// What the protocol needs and the platform does not give.
        needed: &'static str,
        /// The OS cause.
        #[source]
        source: io::Error,
    },
    /// Versions or packet sizes cannot work together.
    #[error("incompatible peer: {0}")]
    Incompatible(&'static str),
    /// A size or count limit was exceeded (handshake proposal, or a message to send).
    #[error("limit exceeded: {what}{}", Amounts(*.value, *.limit))]
    LimitExceeded {
        /// What was too large.
        what: Limit,
        /// Its size or count, when known.
        value: Option<u64>,
        /// The limit, when known (a server refusing a handshake proposal
        /// does not say its limit).
        limit: Option<u64>,
    },
    /// The peer sent a message over a limit of the session: a payload or
    /// an item count larger than the handshake agreed for its direction.
    /// The rest of the message is left unread, so the session is over;
    /// `header` lets a server answer the request with LIMIT_EXCEEDED first.
    #[error("received a message over the session's limit: {what} is {value}, the limit is {limit}")]
    ReceivedOverLimit {
        /// What was too large.
        what: Limit,
        /// Its size or count.
        value: u32,
        /// The session's limit.
        limit: u32,
        /// The message's header.
        header: Header,
    },
    /// The server rejected the handshake with another transport status.
    #[error(
        "handshake rejected with transport status {0} ({name})",
        name = netipc_codec::status_name(*.0).unwrap_or("not a defined status")
    )]
    Rejected(u16),
    /// The server announced a shared-memory session whose region this
    /// client cannot attach. Reconnect without SHM profiles.
    #[error("shared memory region unavailable: {0}")]
    ShmUnavailable(#[source] Box<TransportError>),
    /// A shared-memory region is not there or not initialised yet; retry.
    #[error("shared memory region not ready: {0}")]
    ShmNotReady(#[source] Box<TransportError>),
    /// The peer broke the protocol; the session is over.
    #[error("protocol violation: {0}")]
    Protocol(&'static str),
    /// The peer sent bytes the codec refuses; the session is over.
    #[error("malformed message: {0}")]
    Malformed(#[from] CodecError),
    /// An operating-system call failed: `op` on `path` (an endpoint's
    /// socket, pipe or region, where the call concerned one).
    #[error("cannot {op}{}: {source}", At(path.as_deref()))]
    Io {
        /// The operation.
        op: &'static str,
        /// The endpoint path or name the operation concerned, if any.
        path: Option<String>,
        /// The OS cause.
        #[source]
        source: io::Error,
    },
}

/// Which limit a [`TransportError::LimitExceeded`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Limit {
    /// A message's payload, against the session's limit for its direction.
    Payload,
    /// A batch's item count, against the session's limit for its direction.
    BatchItems,
    /// The request payload ceiling a client proposes in its handshake,
    /// against the server's maximum.
    ProposedRequestPayload,
    /// A message, against the shared-memory area of its direction.
    ShmMessage,
    /// The size of a shared-memory region.
    ShmRegion,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Limit::Payload => "payload",
            Limit::BatchItems => "batch items",
            Limit::ProposedRequestPayload => "proposed request payload",
            Limit::ShmMessage => "shared memory message",
            Limit::ShmRegion => "shared memory region",
        })
    }
}

/// ` {path}` where there is a path, as text.
struct At<'a>(Option<&'a str>);

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(path) => write!(f, " {path}"),
            None => Ok(()),
        }
    }
}

/// The known amounts of a [`TransportError::LimitExceeded`], as text.
struct Amounts(Option<u64>, Option<u64>);

impl fmt::Display for Amounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0, self.1) {
            (Some(value), Some(limit)) => write!(f, " is {value}, the limit is {limit}"),
            (Some(value), None) => write!(f, " is {value}"),
            (None, Some(limit)) => write!(f, " is over the limit of {limit}"),
            (None, None) => f.write_str(" is over the peer's limit"),
        }
    }
}

impl TransportError {
    /// Wraps an OS error from `op`.
    pub(crate) fn io(op: &'static str, source: impl Into<io::Error>) -> Self {
        TransportError::Io {
            op,
            path: None,
            source: source.into(),
        }
    }

    /// Wraps an OS error from `op` on the endpoint file or name `path`.
    pub(crate) fn io_at(
        op: &'static str,
        path: impl std::fmt::Display,
        source: impl Into<io::Error>,
    ) -> Self {
        TransportError::Io {
            op,
            path: Some(path.to_string()),
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
                | TransportError::InvalidRunDir(_)
                | TransportError::UnsafeRunDir { .. }
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

    #[test]
    fn a_limit_names_only_the_amounts_it_knows() {
        let msg = |what, value, limit| TransportError::LimitExceeded { what, value, limit }.to_string();
        assert_eq!(
            msg(Limit::Payload, Some(1025), Some(1024)),
            "limit exceeded: payload is 1025, the limit is 1024"
        );
        assert_eq!(
            msg(Limit::BatchItems, Some(9), None),
            "limit exceeded: batch items is 9"
        );
        assert_eq!(
            msg(Limit::ShmRegion, None, Some(u32::MAX as u64)),
            "limit exceeded: shared memory region is over the limit of 4294967295"
        );
        assert_eq!(
            msg(Limit::ProposedRequestPayload, None, None),
            "limit exceeded: proposed request payload is over the peer's limit"
        );
        assert_eq!(Limit::ShmMessage.to_string(), "shared memory message");
        let received = TransportError::ReceivedOverLimit {
            what: Limit::Payload,
            value: 4097,
            limit: 4096,
            header: Header::new(netipc_codec::Kind::Request, 1, 7, 4097),
        };
        assert_eq!(
            received.to_string(),
            "received a message over the session's limit: payload is 4097, the limit is 4096"
        );
        assert!(received.breaks_session());
    }
}

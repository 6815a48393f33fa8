//! What a client counts beside its calls: failures by reason, retries,
//! bytes. Plain integers: a client is used by one thread at a time.

use crate::error::ServiceError;

/// Calls of a client that failed, by reason ([`ClientStatus::failed`](crate::ClientStatus::failed)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FailedClientCalls {
    /// Made while not connected (nothing was sent).
    pub not_ready: u64,
    /// The deadline passed.
    pub timeout: u64,
    /// The abort handle was raised.
    pub aborted: u64,
    /// The connection broke and the one retry did not save the call.
    pub connection: u64,
    /// The server answered with an error status (INTERNAL_ERROR,
    /// BAD_ENVELOPE, UNSUPPORTED, ...).
    pub server_status: u64,
    /// The answer broke the method's contract or did not decode.
    pub bad_response: u64,
    /// A limit refused the call (request ceiling, regrowth reconnects, a
    /// lookup's keys or size).
    pub limit: u64,
    /// Anything else.
    pub other: u64,
}

impl FailedClientCalls {
    /// Counts one failed call.
    pub(crate) fn count(&mut self, e: &ServiceError) {
        let c = match e {
            ServiceError::NotReady { .. } => &mut self.not_ready,
            ServiceError::Timeout { .. } => &mut self.timeout,
            ServiceError::Aborted { .. } => &mut self.aborted,
            ServiceError::Call { .. } => &mut self.connection,
            ServiceError::ServerStatus { .. } => &mut self.server_status,
            ServiceError::BadResponse { .. } | ServiceError::Malformed { .. } => &mut self.bad_response,
            ServiceError::LimitExceeded { .. } => &mut self.limit,
            _ => &mut self.other,
        };
        *c += 1;
    }

    /// All of them.
    pub fn total(&self) -> u64 {
        self.not_ready
            + self.timeout
            + self.aborted
            + self.connection
            + self.server_status
            + self.bad_response
            + self.limit
            + self.other
    }
}

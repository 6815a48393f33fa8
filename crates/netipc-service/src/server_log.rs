//! What a managed server logs, through the `log` facade and within rate
//! limits: whatever a peer can make happen at will is limited to a few
//! lines a minute per kind, then counted (see
//! [`LogLimit`](crate::transport::LogLimit)).

use crate::endpoint::Endpoint;
use crate::transport::{LogLimit, PeerCredentials, TransportError};
use log::Level;
use std::time::Duration;

const MINUTE: Duration = Duration::from_secs(60);

static ACCEPTED: LogLimit = LogLimit::new("session accepted", 20, MINUTE);
static REFUSED: LogLimit = LogLimit::new("session refused", 10, MINUTE);
static HANDSHAKE: LogLimit = LogLimit::new("handshake failed", 10, MINUTE);
static HANDLER_FAILED: LogLimit = LogLimit::new("handler failed", 10, MINUTE);
static PANICKED: LogLimit = LogLimit::new("handler panicked", 10, MINUTE);

/// The log target of the server's lines.
const TARGET: &str = "netipc_service::server";

/// A session accepted (debug: routine).
pub(crate) fn accepted(endpoint: &Endpoint, peer: &PeerCredentials, shm: bool) {
    let over = if shm { "shared memory" } else { "the socket" };
    ACCEPTED.log(
        Level::Debug,
        TARGET,
        format_args!("{endpoint}: session accepted from {peer}, over {over}"),
    );
}

/// A handshake that did not open a session: a refusal (warning), or another
/// failure (info: a client that gives up or speaks another version).
pub(crate) fn handshake_failed(endpoint: &Endpoint, peer: &PeerCredentials, e: &TransportError) {
    match e {
        TransportError::PeerRefused { .. } => REFUSED.log(
            Level::Warn,
            TARGET,
            format_args!("{endpoint}: session refused: {e}"),
        ),
        TransportError::AuthFailed => REFUSED.log(
            Level::Warn,
            TARGET,
            format_args!("{endpoint}: session refused to {peer}: wrong auth token"),
        ),
        _ => HANDSHAKE.log(
            Level::Info,
            TARGET,
            format_args!("{endpoint}: handshake with {peer} failed: {e}"),
        ),
    }
}

/// A handler that reported failure (answered INTERNAL_ERROR).
pub(crate) fn handler_failed(endpoint: &Endpoint, method: u16) {
    HANDLER_FAILED.log(
        Level::Warn,
        TARGET,
        format_args!("{endpoint}: the handler failed a request of method {method}"),
    );
}

/// A handler that panicked, with the panic's message where it has one.
pub(crate) fn handler_panicked(endpoint: &Endpoint, panic: &(dyn std::any::Any + Send)) {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    PANICKED.log(
        Level::Error,
        TARGET,
        format_args!("{endpoint}: the handler panicked: {message}; answered INTERNAL_ERROR"),
    );
}

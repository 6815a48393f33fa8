//! What a client logs, through the `log` facade: its changes of state,
//! with their cause, and calls that dropped the connection. A server that
//! flaps cannot flood the log: each kind is limited to a few lines a
//! minute per process, then counted.

use crate::client::ClientState;
use crate::endpoint::Endpoint;
use crate::error::ServiceError;
use crate::transport::{LogLimit, TransportError};
use log::Level;
use std::time::Duration;

const MINUTE: Duration = Duration::from_secs(60);

static STATE: LogLimit = LogLimit::new("client state change", 30, MINUTE);
static DROPPED: LogLimit = LogLimit::new("client call failed", 10, MINUTE);

/// The log target of the client's lines.
const TARGET: &str = "netipc_service::client";

/// A change of state: info when the client becomes ready (or closes),
/// warning when it loses or cannot get a connection, with the cause.
pub(crate) fn state_changed(
    endpoint: &Endpoint,
    from: ClientState,
    to: ClientState,
    shm: bool,
    cause: Option<&TransportError>,
) {
    if from == to {
        return;
    }
    match (to, cause) {
        (ClientState::Ready, _) => {
            let over = if shm { "shared memory" } else { "the socket" };
            STATE.log(
                Level::Info,
                TARGET,
                format_args!("{endpoint}: {from} -> ready, over {over}"),
            )
        }
        (_, Some(cause)) => STATE.log(
            Level::Warn,
            TARGET,
            format_args!("{endpoint}: {from} -> {to}: {cause}"),
        ),
        (_, None) => STATE.log(Level::Info, TARGET, format_args!("{endpoint}: {from} -> {to}")),
    }
}

/// A call that failed and left the client without its connection.
pub(crate) fn call_failed(e: &ServiceError) {
    DROPPED.log(
        Level::Warn,
        TARGET,
        format_args!("{e}; the connection is dropped, the next refresh reconnects"),
    );
}

//! Level 2 typed services of netipc: clients with caller-driven reconnect
//! and at-least-once retry, and managed servers with typed handlers.
//!
//! One module per service kind: [`cgroups`] (CGROUPS_SNAPSHOT),
//! [`lookup::cgroups`] (CGROUPS_LOOKUP), [`lookup::apps`] (APPS_LOOKUP),
//! [`increment`] and [`string_reverse`] (test methods). Each has a client, a
//! `Handler` and a `ManagedServer`. Callers never see transports, buffers
//! or wire bytes; responses are views that borrow the client until its next
//! call.
//!
//! Servers know their peers: [`ServerConfig::access`] decides who may open
//! a session, and a handler asks [`peer()`] who is calling.
//! [`ManagedServer::stats`] and [`ClientStatus`] count sessions, calls and
//! bytes. Both sides log through the `log` facade (nothing is written
//! unless the application installs a logger): sessions accepted and
//! refused, failed handshakes, failing and panicking handlers, a client's
//! changes of state with their cause; lines a peer can cause are rate
//! limited.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use netipc_transport as transport;

pub mod cgroups;
mod client;
mod client_api;
mod client_log;
mod client_stats;
mod config;
mod endpoint;
mod error;
pub mod increment;
pub mod lookup;
mod peer;
mod platform;
mod server;
mod server_log;
mod stats;
pub mod string_reverse;

pub use client::{ClientState, ClientStatus};
pub use client_stats::FailedClientCalls;
pub use config::{
    CALL_TIMEOUT_DEFAULT, ClientConfig, LOOKUP_MAX_ITEMS_DEFAULT, LOOKUP_MAX_STITCHED_BYTES_DEFAULT,
    LOOKUP_MAX_SUBCALLS_DEFAULT, MAX_SESSIONS_DEFAULT, OVERFLOW_RETRIES_MAX,
    RESPONSE_PAYLOAD_CEILING_DEFAULT, ServerConfig,
};
pub use endpoint::Endpoint;
pub use error::{LimitKind, Result, ServiceError};
pub use peer::peer;
pub use server::{Dispatch, ManagedServer, ServiceHandler};
pub use stats::{FailedCalls, ServerStats};
pub use transport::{AccessPolicy, EndpointMode, PeerCredentials};

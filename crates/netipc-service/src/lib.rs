//! Level 2 typed services of netipc: clients with caller-driven reconnect
//! and at-least-once retry, and managed servers with typed handlers.
//!
//! One module per service kind: [`cgroups`] (CGROUPS_SNAPSHOT),
//! [`lookup::cgroups`] (CGROUPS_LOOKUP), [`lookup::apps`] (APPS_LOOKUP),
//! [`increment`] and [`string_reverse`] (test methods). Each has a client, a
//! `Handler` and a `ManagedServer`. Callers never see transports, buffers
//! or wire bytes; responses are views that borrow the client until its next
//! call.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use netipc_transport as transport;

pub mod cgroups;
mod client;
mod client_api;
mod config;
mod endpoint;
mod error;
pub mod increment;
pub mod lookup;
mod platform;
mod server;
pub mod string_reverse;

pub use client::{ClientState, ClientStatus};
pub use config::{
    CALL_TIMEOUT_DEFAULT, ClientConfig, LOOKUP_MAX_ITEMS_DEFAULT, LOOKUP_MAX_STITCHED_BYTES_DEFAULT,
    LOOKUP_MAX_SUBCALLS_DEFAULT, MAX_SESSIONS_DEFAULT, OVERFLOW_RETRIES_MAX,
    RESPONSE_PAYLOAD_CEILING_DEFAULT, ServerConfig,
};
pub use endpoint::Endpoint;
pub use error::{LimitKind, Result, ServiceError};
pub use server::{Dispatch, ManagedServer, ServiceHandler};

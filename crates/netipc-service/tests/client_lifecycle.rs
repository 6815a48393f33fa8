//! A typed client and a managed server over a session's whole life: calls
//! and client states, retries, timeouts and aborts, how the server treats
//! its sessions, payload and batch limits, and servers that break the
//! contract. One file per topic, in `client_lifecycle/`; the helpers they
//! share are here.

mod common;

/// The topics, with this file's helpers in scope. (This file is the crate
/// root, so `mod common` above is the `tests/common/` of the other suites;
/// the topics' files are found under this inline module's name.)
mod client_lifecycle {
    use super::*;

    mod broken_servers;
    mod calls;
    mod limits;
    mod retries;
    mod server_sessions;
}

use common::*;
use netipc_service::cgroups::{self, CgroupsClient};
use netipc_service::increment::{self, IncrementClient};
use netipc_service::transport::codec::{STATUS_INTERNAL_ERROR, STATUS_UNSUPPORTED};
use netipc_service::{ClientState, ServiceError};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

// The platform's raw Level 1 endpoints, for hand-written peers.
#[cfg(unix)]
use netipc_service::transport::posix::{UdsListener as RawListener, UdsSession as RawSession};
#[cfg(windows)]
use netipc_service::transport::windows::{NpListener as RawListener, NpSession as RawSession};

/// Accepts one session on a raw listener.
fn raw_accept(listener: &RawListener) -> RawSession {
    #[cfg(unix)]
    let session = listener.accept();
    #[cfg(windows)]
    let session = listener.accept(None);
    session.unwrap()
}

fn plus_one() -> increment::Handler {
    increment::Handler {
        handle: Some(Box::new(|v| Some(v + 1))),
    }
}

/// Adds one to each value, once `gate` lets the call through.
fn gated(gate: &Arc<Gate>) -> increment::Handler {
    let gate = Arc::clone(gate);
    increment::Handler {
        handle: Some(Box::new(move |v| {
            gate.pass();
            Some(v + 1)
        })),
    }
}

/// Waits until the server has closed `s`; fails after [`PATIENCE`].
fn wait_closed(s: &RawSession) {
    netipc_test_support::wait_until("the server closing the session", || s.peer_closed());
}

/// A raw Level 1 server of 1 KiB payloads and batches of up to 16 items.
fn raw_batch_server_config() -> netipc_service::transport::ServerConfig {
    netipc_service::transport::ServerConfig {
        max_request_payload_bytes: 1024,
        max_response_payload_bytes: 1024,
        max_request_batch_items: 16,
        max_response_batch_items: 16,
        auth_token: TOKEN,
        ..netipc_service::transport::ServerConfig::default()
    }
}

/// A raw Level 1 client of 1 KiB payloads and batches of up to 16 items.
fn raw_batch_config() -> netipc_service::transport::ClientConfig {
    netipc_service::transport::ClientConfig {
        max_request_payload_bytes: 1024,
        max_response_payload_bytes: 1024,
        max_request_batch_items: 16,
        max_response_batch_items: 16,
        auth_token: TOKEN,
        ..netipc_service::transport::ClientConfig::default()
    }
}

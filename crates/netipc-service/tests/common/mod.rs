//! Helpers shared by the service tests; the generic ones (run dirs, child
//! processes, waits) come from `netipc-test-support`, re-exported here.
#![allow(dead_code)] // Each test binary uses a part of it.

#[cfg(any(target_os = "linux", windows))]
pub mod counts;
#[cfg(target_os = "linux")]
pub mod raw;

#[allow(unused_imports)] // Each test binary uses a part of them.
pub use netipc_test_support::{
    Gate, PATIENCE, RunDir, count_panics, finishes_within, poll_until, proptest_cases, wait_until,
};

use netipc_service::{ClientConfig, ManagedServer, ServerConfig, ServiceHandler};
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;

pub const TOKEN: u64 = 0x5EED;

pub fn server_config(max_payload: u32) -> ServerConfig {
    ServerConfig {
        max_request_payload_bytes: max_payload,
        max_response_payload_bytes: max_payload,
        max_request_batch_items: 1000,
        max_response_batch_items: 1000,
        auth_token: TOKEN,
        ..ServerConfig::default()
    }
}

pub fn client_config(max_payload: u32) -> ClientConfig {
    ClientConfig {
        max_request_payload_bytes: max_payload,
        max_response_payload_bytes: max_payload,
        max_request_batch_items: 1000,
        max_response_batch_items: 1000,
        auth_token: TOKEN,
        ..ClientConfig::default()
    }
}

/// A running managed server; stopped and joined on drop.
pub struct Running<H: ServiceHandler> {
    pub server: Arc<ManagedServer<H>>,
    thread: Option<JoinHandle<()>>,
}

impl<H: ServiceHandler> Running<H> {
    pub fn start(dir: &Path, service: &str, config: ServerConfig, handler: H) -> Self {
        Self::serve(ManagedServer::new(dir, service, config, handler))
    }

    /// Runs `server` until this value is dropped.
    pub fn serve(server: ManagedServer<H>) -> Self {
        let server = Arc::new(server);
        let (tx, rx) = std::sync::mpsc::channel();
        let s = Arc::clone(&server);
        let thread = std::thread::spawn(move || {
            s.run_notify(move || tx.send(()).unwrap()).unwrap();
        });
        rx.recv_timeout(PATIENCE).expect("server bound in time");
        Self {
            server,
            thread: Some(thread),
        }
    }

    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.server.stop();
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

impl<H: ServiceHandler> Drop for Running<H> {
    fn drop(&mut self) {
        self.halt();
    }
}

/// A STRING_REVERSE handler that answers each string reversed.
pub fn reverser() -> netipc_service::string_reverse::Handler {
    netipc_service::string_reverse::Handler {
        handle: Some(Box::new(|s, out| {
            out.extend(s.iter().rev());
            true
        })),
    }
}

/// Calls `refresh` until it says the client is ready (then true), for at
/// most [`PATIENCE`] (then false).
pub fn connect(refresh: impl FnMut() -> bool) -> bool {
    poll_until(PATIENCE, refresh)
}

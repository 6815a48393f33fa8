//! Helpers shared by the service tests.
#![allow(dead_code)]

#[cfg(any(target_os = "linux", windows))]
pub mod counts;
#[path = "../../../../tests/support/launch.rs"]
pub mod launch;
#[cfg(target_os = "linux")]
pub mod raw;

use netipc_service::{ClientConfig, ManagedServer, ServerConfig, ServiceHandler};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub const TOKEN: u64 = 0x5EED;

/// A private run dir, removed on drop.
pub struct RunDir(PathBuf);

impl RunDir {
    pub fn new(tag: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "netipc-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

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
        rx.recv_timeout(Duration::from_secs(10))
            .expect("server bound in time");
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

/// Calls `refresh` until `ready` or the deadline.
pub fn connect(mut refresh: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if refresh() {
            return true;
        }
        std::thread::yield_now();
    }
    false
}

/// Cases of a property test: `default`, or more when `PROPTEST_CASES`
/// asks for more.
pub fn proptest_cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
        .max(default)
}

/// Counts every panic of this test binary from now on, in any thread (a
/// panic a server catches too; the default hook still reports each one).
pub fn count_panics() -> &'static std::sync::atomic::AtomicUsize {
    static PANICS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let default_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            default_hook(info);
        }));
    });
    &PANICS
}

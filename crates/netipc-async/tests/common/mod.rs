//! Helpers shared by the async tests: configurations, handlers of every
//! service kind, and servers (blocking or async) that stop on drop.
#![allow(dead_code)] // Each test binary uses a part of it.

#[allow(unused_imports)] // Each test binary uses a part of them.
pub use netipc_test_support::{PATIENCE, RunDir, count_panics, poll_until, proptest_cases};

use netipc::protocol::{PROFILE_BASELINE, PROFILE_SHM_HYBRID};
use netipc::service::lookup::{apps, cgroups as cgroups_lookup};
use netipc::service::{ClientConfig, ServerConfig, ServiceHandler, cgroups, increment, string_reverse};
use std::path::Path;
use std::sync::Arc;

pub const TOKEN: u64 = 0xA5C;
/// The socket only.
pub const UDS: u32 = PROFILE_BASELINE;
/// Shared memory, where the platform has it (the socket elsewhere).
pub const SHM: u32 = PROFILE_BASELINE | PROFILE_SHM_HYBRID;

/// A server of 4 KiB sessions (answers grow past it), offering `profiles`,
/// with small packets so that messages of a few KiB are chunked.
pub fn server_config(profiles: u32) -> ServerConfig {
    ServerConfig {
        supported_profiles: profiles,
        preferred_profiles: profiles,
        max_request_payload_bytes: 1 << 20,
        max_response_payload_bytes: 4096,
        response_payload_ceiling: 1 << 20,
        max_request_batch_items: 1000,
        max_response_batch_items: 1000,
        auth_token: TOKEN,
        packet_size: 1024,
        max_sessions: 2000,
        // Quiet servers: their sessions sleep at once rather than spin.
        shm_spin_budget: Some(std::time::Duration::ZERO),
        shm_spin_tries: 1,
        socket_spin_budget: Some(std::time::Duration::ZERO),
        ..ServerConfig::default()
    }
}

/// A client proposing 4 KiB, offering `profiles`.
pub fn client_config(profiles: u32) -> ClientConfig {
    ClientConfig {
        supported_profiles: profiles,
        preferred_profiles: profiles,
        max_request_payload_bytes: 4096,
        max_response_payload_bytes: 4096,
        max_request_batch_items: 1000,
        max_response_batch_items: 1000,
        auth_token: TOKEN,
        packet_size: 1024,
        ..ClientConfig::default()
    }
}

pub fn incrementer() -> increment::Handler {
    increment::Handler {
        handle: Some(Box::new(|v| Some(v.wrapping_add(1)))),
    }
}

pub fn reverser() -> string_reverse::Handler {
    string_reverse::Handler {
        handle: Some(Box::new(|s, out| {
            out.extend(s.iter().rev());
            true
        })),
    }
}

/// Items of the test snapshot: enough to need about 30 KiB, past the
/// 4 KiB sessions start with.
pub const SNAPSHOT_ITEMS: u32 = 300;

pub fn snapshotter() -> cgroups::Handler {
    cgroups::Handler {
        handle: Some(Box::new(|_, b| {
            b.set_header(1, 77);
            (0..SNAPSHOT_ITEMS).all(|i| {
                let name = format!("cg-{i}");
                let path = format!("/sys/fs/cgroup/machine.slice/cg-{i}");
                b.add(i, 0, 1, name.as_bytes(), path.as_bytes()).is_ok()
            })
        })),
    }
}

/// Answers each path with its own bytes as the name.
pub fn cgroups_looker() -> cgroups_lookup::Handler {
    cgroups_lookup::Handler {
        handle: Some(Box::new(|r| {
            r.set_generation(5);
            while let Some(p) = r.next_key() {
                let name = p.as_bytes().to_vec();
                if r.known(cgroups_lookup::Orchestrator::K8S, &name, &[]).is_err() {
                    return false;
                }
            }
            true
        })),
    }
}

/// Knows even PIDs (their command is the PID in decimal).
pub fn apps_looker() -> apps::Handler {
    apps::Handler {
        handle: Some(Box::new(|r| {
            r.set_generation(6);
            while let Some(pid) = r.next_key() {
                let comm = pid.to_string();
                let placed = if pid % 2 == 0 {
                    r.answer(&apps::AppsLookupEntry {
                        pid,
                        status: apps::AppsLookupStatus::Known,
                        cgroup_status: apps::CgroupStatus::Known,
                        orchestrator: apps::Orchestrator::SYSTEMD,
                        ppid: 1,
                        uid: 0,
                        starttime: 1,
                        comm: comm.as_bytes(),
                        cgroup_path: b"/sys/fs/cgroup/a",
                        cgroup_name: b"a",
                        labels: &[],
                    })
                } else {
                    r.not_known(apps::AppsLookupStatus::Unknown)
                };
                if placed.is_err() {
                    return false;
                }
            }
            true
        })),
    }
}

/// Something serving until dropped.
pub trait Serving: Send {
    /// Sessions being served now.
    fn active(&self) -> usize;
}

/// A blocking managed server on its own thread; stopped on drop.
pub struct Blocking<H: ServiceHandler> {
    pub server: Arc<netipc::service::ManagedServer<H>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl<H: ServiceHandler> Blocking<H> {
    pub fn start(dir: &Path, service: &str, config: ServerConfig, handler: H) -> Self {
        let server = Arc::new(netipc::service::ManagedServer::new(dir, service, config, handler));
        let (tx, rx) = std::sync::mpsc::channel();
        let s = Arc::clone(&server);
        let thread = std::thread::spawn(move || s.run_notify(move || tx.send(()).unwrap()).unwrap());
        rx.recv_timeout(PATIENCE).expect("server bound in time");
        Self {
            server,
            thread: Some(thread),
        }
    }
}

impl<H: ServiceHandler> Serving for Blocking<H> {
    fn active(&self) -> usize {
        self.server.active_sessions()
    }
}

impl<H: ServiceHandler> Drop for Blocking<H> {
    fn drop(&mut self) {
        self.server.stop();
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

/// An async managed server on a runtime of its own (two workers); stopped
/// on drop.
pub struct Async<H: ServiceHandler> {
    pub server: Arc<netipc::tokio::ManagedServer<H>>,
    runtime: Option<tokio::runtime::Runtime>,
    task: Option<tokio::task::JoinHandle<netipc::service::Result<()>>>,
}

impl<H: ServiceHandler> Async<H> {
    pub fn start(dir: &Path, service: &str, config: ServerConfig, handler: H) -> Self {
        Self::serve(netipc::tokio::ManagedServer::new(dir, service, config, handler))
    }

    pub fn serve(server: netipc::tokio::ManagedServer<H>) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let server = Arc::new(server);
        let (tx, rx) = std::sync::mpsc::channel();
        let s = Arc::clone(&server);
        let task = runtime.spawn(async move { s.run_notify(move || tx.send(()).unwrap()).await });
        rx.recv_timeout(PATIENCE).expect("server bound in time");
        Self {
            server,
            runtime: Some(runtime),
            task: Some(task),
        }
    }
}

impl<H: ServiceHandler> Serving for Async<H> {
    fn active(&self) -> usize {
        self.server.active_sessions()
    }
}

impl<H: ServiceHandler> Drop for Async<H> {
    fn drop(&mut self) {
        self.server.stop();
        if let (Some(rt), Some(task)) = (self.runtime.take(), self.task.take()) {
            let served = rt.block_on(task);
            // A panicking test is unwinding already: report nothing more.
            if !std::thread::panicking() {
                served.expect("the server task ended").expect("the server ran");
            }
        }
    }
}

/// A server of every service kind in one run dir: `inc`, `rev`, `snap`,
/// `cgl`, `apl`.
pub struct Fleet {
    pub dir: RunDir,
    pub profiles: u32,
    pub servers: Vec<Box<dyn Serving>>,
}

impl Fleet {
    /// Blocking servers (`blocking`) or async ones, offering `profiles`.
    pub fn start(tag: &str, blocking: bool, profiles: u32) -> Self {
        let dir = RunDir::new(tag);
        let cfg = || server_config(profiles);
        let d = dir.path();
        let servers: Vec<Box<dyn Serving>> = if blocking {
            vec![
                Box::new(Blocking::start(d, "inc", cfg(), incrementer())),
                Box::new(Blocking::start(d, "rev", cfg(), reverser())),
                Box::new(Blocking::start(d, "snap", cfg(), snapshotter())),
                Box::new(Blocking::start(d, "cgl", cfg(), cgroups_looker())),
                Box::new(Blocking::start(d, "apl", cfg(), apps_looker())),
            ]
        } else {
            vec![
                Box::new(Async::start(d, "inc", cfg(), incrementer())),
                Box::new(Async::start(d, "rev", cfg(), reverser())),
                Box::new(Async::start(d, "snap", cfg(), snapshotter())),
                Box::new(Async::start(d, "cgl", cfg(), cgroups_looker())),
                Box::new(Async::start(d, "apl", cfg(), apps_looker())),
            ]
        };
        Self {
            dir,
            profiles,
            servers,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Sessions still open, per server, after waiting up to [`PATIENCE`]
    /// for them to end.
    pub fn wait_idle(&self) -> Vec<usize> {
        poll_until(PATIENCE, || self.servers.iter().all(|s| s.active() == 0));
        self.servers.iter().map(|s| s.active()).collect()
    }
}

/// A current-thread runtime with I/O and time.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

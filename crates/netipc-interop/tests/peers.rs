//! The interop peers against each other, as child processes, and an L2
//! client surviving a killed and restarted server process.
#![cfg(unix)]

use netipc::service::cgroups::{CgroupsClient, ClientConfig};
use netipc::service::{ClientState, ServiceError};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

struct RunDir(PathBuf);

impl RunDir {
    fn new() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "netipc-peers-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
    fn str(&self) -> &str {
        self.0.to_str().unwrap()
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A server child, stopped with SIGTERM on drop (if still running).
struct Server(Child);

impl Server {
    fn start(bin: &str, profile: &str, args: &[&str]) -> Self {
        let mut child = Command::new(bin)
            .args(args)
            .env("NIPC_PROFILE", profile)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(out).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(20)).expect("READY in time");
        assert_eq!(line.trim(), "READY");
        Server(child)
    }

    fn terminate(mut self) -> std::process::ExitStatus {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.0.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        self.0.wait().unwrap()
    }

    fn kill(mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn client(bin: &str, profile: &str, args: &[&str]) -> String {
    let out = Command::new(bin)
        .args(args)
        .env("NIPC_PROFILE", profile)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        out.status.success(),
        "{stdout} / {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn pair(bin: &str, profile: &str) {
    let dir = RunDir::new();
    let server = Server::start(bin, profile, &["server", dir.str(), "svc"]);
    assert_eq!(client(bin, profile, &["client", dir.str(), "svc"]), "PASS");
    assert!(server.terminate().success());
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "the server left {left:?}");
}

#[test]
fn interop_service_baseline() {
    pair(env!("CARGO_BIN_EXE_interop_service"), "");
}

#[test]
fn interop_service_shm() {
    pair(env!("CARGO_BIN_EXE_interop_service"), "shm");
}

#[test]
fn interop_cache_baseline() {
    pair(env!("CARGO_BIN_EXE_interop_cache"), "");
}

#[test]
fn interop_cache_shm() {
    pair(env!("CARGO_BIN_EXE_interop_cache"), "shm");
}

#[test]
fn a_client_reconnects_after_the_server_process_is_killed_and_restarted() {
    let bin = env!("CARGO_BIN_EXE_interop_service");
    let dir = RunDir::new();
    let cfg = ClientConfig {
        max_response_payload_bytes: 65536,
        auth_token: netipc_interop::AUTH_TOKEN,
        ..ClientConfig::default()
    };
    let mut c = CgroupsClient::new(dir.path(), "svc", cfg);
    let server = Server::start(bin, "", &["server", dir.str(), "svc"]);
    c.refresh();
    assert_eq!(c.call_snapshot().unwrap().item_count, 3);

    server.kill();
    // The retry cannot reconnect: the call fails, and the endpoint is stale.
    assert!(c.call_snapshot().is_err());
    assert_ne!(c.state(), ClientState::Ready);
    c.refresh();
    assert_eq!(c.state(), ClientState::NotFound);
    assert!(matches!(c.call_snapshot(), Err(ServiceError::NotReady(_))));

    // A new server recovers the stale endpoint; the client's loop reconnects.
    let server = Server::start(bin, "", &["server", dir.str(), "svc"]);
    assert!(c.refresh());
    assert_eq!(c.call_snapshot().unwrap().generation, 42);
    assert!(server.terminate().success());
}

fn lookup_pair(mode: &str, profile: &str) {
    let bin = env!("CARGO_BIN_EXE_interop_service");
    let dir = RunDir::new();
    let server = Server::start(bin, profile, &[&format!("{mode}-server"), dir.str(), "lookup"]);
    assert_eq!(
        client(bin, profile, &[&format!("{mode}-client"), dir.str(), "lookup"]),
        "PASS"
    );
    assert!(server.terminate().success());
}

#[test]
fn interop_lookup_modes_baseline() {
    for mode in ["apps", "cgroups", "apps-mixed", "cgroups-mixed"] {
        lookup_pair(mode, "");
    }
}

#[test]
fn interop_lookup_modes_shm() {
    for mode in ["apps", "cgroups", "apps-mixed", "cgroups-mixed"] {
        lookup_pair(mode, "shm");
    }
}

//! `netipc` against other implementations' servers: it speaks only the
//! wire protocol, so it lists, probes, calls, cleans after and benchmarks
//! them as it does ours.
//!
//! `NETIPC_PEERS` names the implementations as space-separated `NAME=DIR`
//! entries, each `DIR` holding that implementation's builds of the shared
//! interop peers (as for crates/netipc-interop's `foreign_peers`), for
//! example `NETIPC_PEERS="c=/opt/ipc-c/bin go=/opt/ipc-go/bin"`. A peer
//! missing from a directory is reported and skipped. Without
//! `NETIPC_PEERS` the test prints a notice and checks nothing.
#![cfg(any(target_os = "linux", target_os = "freebsd"))]

mod support;

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use support::*;

/// The token of the interop matrix.
const TOKEN: &str = "0xDEADBEEFCAFEBABE";

/// The implementations named by `NETIPC_PEERS`, as (name, directory).
fn implementations() -> Vec<(String, PathBuf)> {
    let Ok(spec) = std::env::var("NETIPC_PEERS") else {
        eprintln!("NETIPC_PEERS is not set: netipc not tried against other implementations");
        return Vec::new();
    };
    spec.split_whitespace()
        .map(|entry| {
            let (name, dir) = entry
                .split_once('=')
                .unwrap_or_else(|| panic!("NETIPC_PEERS entry {entry:?}: expected NAME=DIR"));
            let dir = PathBuf::from(dir);
            assert!(dir.is_dir(), "NETIPC_PEERS entry {entry:?}: no such directory");
            (name.to_string(), dir)
        })
        .collect()
}

/// Another implementation's server, started and awaited on its `READY`;
/// stopped with SIGTERM (and reaped) on drop.
struct Peer(Child);

impl Peer {
    fn start(bin: &Path, profile: &str, args: &[&str]) -> Self {
        let mut child = Command::new(bin)
            .args(args)
            .env("NIPC_PROFILE", profile)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("{bin:?}: {e}"));
        let out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(out).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(PATIENCE).expect("READY in time");
        assert_eq!(line.trim(), "READY", "{bin:?} {args:?}");
        Peer(child)
    }

    /// Stops it and waits for it to exit.
    fn stop(mut self) {
        self.terminate();
    }

    fn terminate(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let pid = nix::unistd::Pid::from_raw(self.0.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            let deadline = std::time::Instant::now() + PATIENCE;
            while std::time::Instant::now() < deadline && matches!(self.0.try_wait(), Ok(None)) {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// The entry named `name` of `ls --json` output.
fn entry<'v>(listing: &'v Value, name: &str) -> &'v Value {
    listing["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {listing}"))
}

/// `call --json` with the matrix's token and `profile`; the answer.
fn call(dir: &RunDir, service: &str, profile: &str, method: &[&str]) -> Value {
    let mut args = vec!["call", dir.str(), service];
    args.extend_from_slice(method);
    args.extend_from_slice(&["--token", TOKEN, "--profile", profile]);
    let v = json_ok(&args);
    assert_eq!(v["transport"], profile, "{v}");
    v["answer"].clone()
}

/// Lists, probes and calls the snapshot fixture server of `bin`.
fn snapshot_server(name: &str, bin: &Path) {
    for profile in profiles() {
        let dir = RunDir::new();
        let nipc = if profile == "shm" { "shm" } else { "" };
        let peer = Peer::start(bin, nipc, &["server", dir.str(), "snap"]);
        // Without the token it refuses; with it, it answers the handshake.
        let v = json_ok(&["ls", dir.str()]);
        assert_eq!(entry(&v, "snap.sock")["state"], "refusing", "{name}: {v}");
        let v = json_ok(&["ls", dir.str(), "--token", TOKEN]);
        let e = entry(&v, "snap.sock");
        assert_eq!(e["state"], "alive", "{name}: {v}");
        let offered = e["handshake"]["profiles"].as_array().unwrap();
        assert_eq!(
            offered.iter().any(|p| p == "shm-hybrid"),
            profile == "shm",
            "{name}: {e}"
        );
        let a = call(&dir, "snap", profile, &["snapshot"]);
        assert_eq!(
            (a["item_count"].as_u64(), a["generation"].as_u64()),
            (Some(3), Some(42)),
            "{name}: {a}"
        );
        assert_eq!(a["items"][0]["name"], "docker-abc123", "{name}: {a}");
        run(&["--json", "call", dir.str(), "snap", "snapshot"]).failed(1, "auth-rejected");
        peer.stop();
        // Some implementations leave their socket behind when stopped:
        // then it is stale, and clean takes it (once old enough).
        if dir.join("snap.sock").exists() {
            let v = json_ok(&["ls", dir.str()]);
            assert_eq!(entry(&v, "snap.sock")["state"], "stale", "{name}: {v}");
        }
    }
    eprintln!("{name}: snapshot server listed, probed and called");
}

/// Calls the mixed lookup fixture servers of `bin`.
fn lookup_servers(name: &str, bin: &Path) {
    let dir = RunDir::new();
    let _apps = Peer::start(bin, "", &["apps-mixed-server", dir.str(), "apps"]);
    let a = call(&dir, "apps", "uds", &["apps-lookup", "1001", "1003"]);
    assert_eq!(a["generation"], 19, "{name}: {a}");
    assert_eq!(a["items"][0]["status"], "known", "{name}: {a}");
    assert_eq!(a["items"][0]["comm"], "known", "{name}: {a}");
    assert_eq!(a["items"][0]["orchestrator"], "docker", "{name}: {a}");
    assert_eq!(a["items"][0]["labels"][0]["value"], "api", "{name}: {a}");
    assert_eq!(a["items"][1]["status"], "unknown", "{name}: {a}");
    let _cgroups = Peer::start(bin, "", &["cgroups-mixed-server", dir.str(), "cg"]);
    let a = call(&dir, "cg", "uds", &["cgroups-lookup", "/known", "/permanent"]);
    assert_eq!(a["generation"], 17, "{name}: {a}");
    assert_eq!(a["items"][0]["name"], "pod-a", "{name}: {a}");
    assert_eq!(a["items"][0]["orchestrator"], "k8s", "{name}: {a}");
    assert_eq!(a["items"][1]["status"], "unknown-permanent", "{name}: {a}");
    eprintln!("{name}: lookup servers called");
}

/// One scenario with `bin` as the server driver, ours as the client.
fn bench_server(name: &str, bin: &Path) {
    let v = json_ok(&[
        "bench",
        "uds-ping-pong",
        "--duration",
        "1s",
        "--server-driver",
        bin.to_str().unwrap(),
        "--client-driver",
        our_bench_driver().to_str().unwrap(),
    ]);
    assert!(
        v["results"][0]["throughput"].as_f64().unwrap() > 0.0,
        "{name}: {v}"
    );
    eprintln!("{name}: bench_posix served our bench client");
}

/// Where our bench_posix is when a workspace build made it: beside the
/// binary under test.
fn our_bench_driver() -> PathBuf {
    Path::new(NETIPC).with_file_name("bench_posix")
}

#[test]
fn netipc_works_against_other_implementations() {
    for (name, dir) in implementations() {
        let service = dir.join("interop_service");
        if service.is_file() {
            snapshot_server(&name, &service);
            lookup_servers(&name, &service);
        } else {
            eprintln!("{name}: no {} (skipped)", service.display());
        }
        let bench = dir.join("bench_posix");
        if bench.is_file() && our_bench_driver().is_file() {
            bench_server(&name, &bench);
        } else {
            eprintln!("{name}: no bench_posix pair (skipped)");
        }
    }
}

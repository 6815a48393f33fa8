//! The async benchmark driver pairs with itself and with `bench_posix` in
//! both roles, over the socket and shared memory, and prints
//! `bench_posix`'s CSV line; a scenario it does not drive is refused.
#![cfg(unix)]

use netipc_test_support::{PATIENCE, RunDir};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const ASYNC: &str = env!("CARGO_BIN_EXE_bench_async");
const POSIX: &str = env!("CARGO_BIN_EXE_bench_posix");

/// A short run of `scenario` between `server_bin` and `client_bin`; checks
/// the client's CSV line (`driver` in its client column) and that the
/// server, told to stop, reports its CPU time.
fn pair(server_bin: &str, client_bin: &str, scenario: &str, driver: &str) {
    let dir = RunDir::new("bench-async");
    let d = dir.str();
    let mut server = Command::new(server_bin)
        .args([&format!("{scenario}-server"), d, "b", "30"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(server.stdout.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = Vec::new();
        let mut line = String::new();
        while out.read_line(&mut line).unwrap_or(0) > 0 {
            if line.trim() == "READY" {
                let _ = tx.send(None);
            }
            lines.push(std::mem::take(&mut line));
        }
        let _ = tx.send(Some(lines));
    });
    assert_eq!(rx.recv_timeout(PATIENCE).unwrap(), None, "READY");
    // bench_posix's client takes whole seconds; ours a fraction too.
    let duration = if client_bin == ASYNC { "0.2" } else { "1" };
    let client = Command::new(client_bin)
        .args([&format!("{scenario}-client"), d, "b", duration, "0"])
        .output()
        .unwrap();
    assert!(
        client.status.success(),
        "{client_bin} against {server_bin}: {}",
        String::from_utf8_lossy(&client.stderr)
    );
    let stdout = String::from_utf8_lossy(&client.stdout);
    let line = stdout.lines().last().unwrap();
    let f: Vec<&str> = line.split(',').collect();
    assert_eq!(f.len(), 10, "{line}");
    assert_eq!((f[0], f[1]), (scenario, driver), "{line}");
    assert!(f[3].parse::<f64>().unwrap() > 0.0, "{line}");
    for v in &f[4..] {
        v.parse::<f64>().unwrap_or_else(|_| panic!("{line}"));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let lines = rx.recv_timeout(PATIENCE).unwrap().unwrap();
    assert!(server.wait().unwrap().success());
    assert!(
        lines.iter().any(|l| l.starts_with("SERVER_CPU_SEC=")),
        "{lines:?}"
    );
    assert!(dir.entries().is_empty(), "{server_bin} left {:?}", dir.entries());
}

#[test]
fn async_pairs() {
    pair(ASYNC, ASYNC, "uds-ping-pong", "netipc-async");
    #[cfg(target_os = "linux")]
    pair(ASYNC, ASYNC, "shm-ping-pong", "netipc-async");
}

#[test]
fn async_client_with_the_blocking_server() {
    pair(POSIX, ASYNC, "uds-ping-pong", "netipc-async");
    #[cfg(target_os = "linux")]
    pair(POSIX, ASYNC, "shm-ping-pong", "netipc-async");
}

#[test]
fn blocking_client_with_the_async_server() {
    pair(ASYNC, POSIX, "uds-ping-pong", "netipc");
    #[cfg(target_os = "linux")]
    pair(ASYNC, POSIX, "shm-ping-pong", "netipc");
}

#[test]
fn the_server_stops_by_itself_after_its_duration() {
    let dir = RunDir::new("bench-async");
    let out = Command::new(ASYNC)
        .args(["uds-ping-pong-server", dir.str(), "b", "0.1"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("READY\n"), "{stdout}");
    assert!(stdout.contains("SERVER_CPU_SEC="), "{stdout}");
}

#[test]
fn other_scenarios_and_bad_command_lines_are_refused() {
    for (args, code) in [
        (&["snapshot-client", "/nonexistent", "b", "1", "0"][..], 1),
        (&["uds-batch-ping-pong-server", "/nonexistent", "b"][..], 1),
        (&["uds-ping-pong-client", "/nonexistent", "b"][..], 2),
        (&["lookup-bench", "1"][..], 2),
        (&[][..], 2),
    ] {
        let out = Command::new(ASYNC).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(code), "{args:?}");
    }
}

//! The benchmark driver runs every scenario and prints well-formed CSV; so
//! does the floor driver, for the scenarios it mirrors.
#![cfg(unix)]

use netipc_test_support::{PATIENCE, RunDir};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_bench_posix");
#[cfg(target_os = "linux")]
const FLOOR: &str = env!("CARGO_BIN_EXE_bench_floor");

fn check_csv(line: &str, scenario: &str) {
    let f: Vec<&str> = line.trim().split(',').collect();
    assert_eq!(f.len(), 10, "{line}");
    assert_eq!(f[0], scenario, "{line}");
    let throughput: f64 = f[3].parse().unwrap();
    assert!(throughput > 0.0, "{line}");
    // The floor takes no latencies and prints `-` for them.
    let latencies_taken = f[1] != "floor";
    for (i, v) in f.iter().enumerate().skip(4) {
        if (4..7).contains(&i) && !latencies_taken {
            assert_eq!(*v, "-", "{line}");
        } else {
            v.parse::<f64>().unwrap_or_else(|_| panic!("{line}"));
        }
    }
}

fn pair(server_mode: &str, client_mode: &str, extra: &[&str], scenario: &str) {
    pair_of(BIN, server_mode, client_mode, extra, scenario);
}

fn pair_of(bin: &str, server_mode: &str, client_mode: &str, extra: &[&str], scenario: &str) {
    pair_waiting(bin, server_mode, client_mode, extra, scenario, ["", ""]);
}

/// [`pair_of`] with `NETIPC_FLOOR_WAIT` set to `waits[0]` for the server
/// and `waits[1]` for the client (unset where empty).
fn pair_waiting(
    bin: &str,
    server_mode: &str,
    client_mode: &str,
    extra: &[&str],
    scenario: &str,
    waits: [&str; 2],
) {
    let dir = RunDir::new("bench-driver");
    let d = dir.str();
    let with_wait = |cmd: &mut Command, wait: &str| {
        if !wait.is_empty() {
            cmd.env("NETIPC_FLOOR_WAIT", wait);
        }
    };
    let mut server = Command::new(bin);
    with_wait(&mut server, waits[0]);
    let mut server = server
        .args([&format!("{server_mode}-server"), d, "b", "1"])
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
    let mut args = vec![
        format!("{client_mode}-client"),
        d.into(),
        "b".into(),
        "1".into(),
        "0".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut client = Command::new(bin);
    with_wait(&mut client, waits[1]);
    let client = client.args(&args).output().unwrap();
    assert!(
        client.status.success(),
        "{}",
        String::from_utf8_lossy(&client.stderr)
    );
    check_csv(
        String::from_utf8_lossy(&client.stdout).lines().last().unwrap(),
        scenario,
    );
    // The server stops by itself (the floor's when the client says so, the
    // driver's after its duration) and reports its CPU.
    let lines = rx.recv_timeout(PATIENCE).unwrap().unwrap();
    assert!(server.wait().unwrap().success());
    assert!(
        lines.iter().any(|l| l.starts_with("SERVER_CPU_SEC=")),
        "{lines:?}"
    );
}

#[test]
fn ping_pong_and_snapshot_scenarios() {
    pair("uds-ping-pong", "uds-ping-pong", &[], "uds-ping-pong");
    pair("snapshot", "snapshot", &[], "snapshot-baseline");
    #[cfg(target_os = "linux")]
    {
        pair("shm-ping-pong", "shm-ping-pong", &[], "shm-ping-pong");
        pair("snapshot-shm", "snapshot-shm", &[], "snapshot-shm");
    }
}

#[test]
fn batch_and_pipeline_scenarios() {
    pair(
        "uds-batch-ping-pong",
        "uds-batch-ping-pong",
        &[],
        "uds-batch-ping-pong",
    );
    #[cfg(target_os = "linux")]
    pair(
        "shm-batch-ping-pong",
        "shm-batch-ping-pong",
        &[],
        "shm-batch-ping-pong",
    );
    pair("uds-ping-pong", "uds-pipeline", &["4"], "uds-pipeline-d4");
    pair(
        "uds-batch-ping-pong",
        "uds-pipeline-batch",
        &["4"],
        "uds-pipeline-batch-d4",
    );
}

/// Runs an agent-scale scenario's server and client for a second; the
/// client line has `fields` fields, numbers after the pair's names. The
/// server, which would serve longer, is stopped with SIGTERM.
fn scale_pair(scenario: &str, rps: &str, fields: usize, name: &str) {
    let dir = std::env::temp_dir().join(format!(
        "netipc-bench-scale-{}-{scenario}-{rps}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let d = dir.to_str().unwrap();
    let mut server = Command::new(BIN)
        .args([&format!("{scenario}-server"), d, "b", "1"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(server.stdout.take().unwrap());
    let mut line = String::new();
    while out.read_line(&mut line).unwrap() > 0 && line.trim() != "READY" {
        line.clear();
    }
    assert_eq!(line.trim(), "READY");
    let client = Command::new(BIN)
        .args([&format!("{scenario}-client"), d, "b", "1", rps])
        .env("BENCH_SERVER_PID", server.id().to_string())
        .output()
        .unwrap();
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    assert!(server.wait().unwrap().success());
    assert!(
        client.status.success(),
        "{}",
        String::from_utf8_lossy(&client.stderr)
    );
    check_scale_line(
        String::from_utf8_lossy(&client.stdout).lines().last().unwrap(),
        name,
        fields,
    );
    let _ = std::fs::remove_dir_all(dir);
}

fn check_scale_line(line: &str, name: &str, fields: usize) {
    let f: Vec<&str> = line.trim().split(',').collect();
    assert_eq!((f.len(), f[0]), (fields, name), "{line}");
    assert!(f[3].parse::<f64>().unwrap() > 0.0, "{line}");
    for v in &f[4..] {
        v.parse::<f64>().unwrap_or_else(|_| panic!("{line}"));
    }
}

/// The agent-scale scenarios, in short forms: a big snapshot refreshed
/// into the cache, many sessions calling as fast as they can and at a
/// cadence, the in-process form, and the copy that is a refresh's limit.
#[test]
fn agent_scale_scenarios() {
    scale_pair("cache-refresh-2000", "0", 12, "cache-refresh-2000");
    scale_pair("sessions-uds-8", "0", 17, "sessions-uds-8");
    #[cfg(target_os = "linux")]
    {
        scale_pair("cache-refresh-shm-2000", "0", 12, "cache-refresh-shm-2000");
        scale_pair("sessions-shm-8", "20", 17, "sessions-shm-8-at-20");
    }
    let out = Command::new(BIN)
        .args(["payload-copy", "2000", "1"])
        .output()
        .unwrap();
    assert!(out.status.success());
    check_scale_line(
        String::from_utf8_lossy(&out.stdout).lines().last().unwrap(),
        "payload-copy-2000",
        12,
    );
    let out = Command::new(BIN)
        .args(["sessions-inproc-uds-4", "1", "20"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    check_scale_line(
        String::from_utf8_lossy(&out.stdout).lines().last().unwrap(),
        "sessions-inproc-uds-4-at-20",
        17,
    );
}

#[test]
fn in_process_scenarios() {
    let out = Command::new(BIN).args(["lookup-bench", "1"]).output().unwrap();
    assert!(out.status.success());
    check_csv(
        String::from_utf8_lossy(&out.stdout).lines().last().unwrap(),
        "lookup",
    );
    for s in [
        "cgroups-lookup-known-16",
        "apps-lookup-mixed-64",
        "cgroups-lookup-unknown-8",
    ] {
        let out = Command::new(BIN)
            .args(["lookup-method-bench", "1", s, "0"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{s}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        check_csv(String::from_utf8_lossy(&out.stdout).lines().last().unwrap(), s);
    }
    let bad = Command::new(BIN)
        .args(["lookup-method-bench", "1", "nonsense", "0"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
}

#[cfg(target_os = "linux")]
#[test]
fn floor_scenarios() {
    for (mode, scenario) in [
        ("uds-ping-pong", "uds-ping-pong"),
        ("snapshot", "snapshot-baseline"),
        ("uds-batch-ping-pong", "uds-batch-ping-pong"),
        ("shm-ping-pong", "shm-ping-pong"),
    ] {
        pair_of(FLOOR, mode, mode, &[], scenario);
    }
    // A floor runs as fast as possible, and only the scenarios it mirrors.
    for args in [
        &["uds-ping-pong-client", "/nonexistent", "b", "1", "100"][..],
        &["shm-batch-ping-pong-server", "/nonexistent", "b"][..],
        &[][..],
    ] {
        let out = Command::new(FLOOR).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn floor_blocking_waits() {
    for waits in [["block", "block"], ["block", "yield"], ["yield", "block"]] {
        pair_waiting(
            FLOOR,
            "uds-ping-pong",
            "uds-ping-pong",
            &[],
            "uds-ping-pong",
            waits,
        );
    }
    pair_waiting(
        FLOOR,
        "snapshot",
        "snapshot",
        &[],
        "snapshot-baseline",
        ["block", "block"],
    );
    // A wait it does not know is refused, not taken for the default.
    let dir = RunDir::new("floor-wait");
    let mut server = Command::new(FLOOR)
        .env("NETIPC_FLOOR_WAIT", "spin")
        .args(["uds-ping-pong-server", dir.str(), "w", "1"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    let client = Command::new(FLOOR)
        .args(["uds-ping-pong-client", dir.str(), "w", "1", "0"])
        .output()
        .unwrap();
    let status = server.wait().unwrap();
    assert_eq!(ready.trim(), "READY");
    assert!(
        !status.success(),
        "a server told NETIPC_FLOOR_WAIT=spin must fail"
    );
    assert!(!client.status.success(), "its client sees the connection end");
}

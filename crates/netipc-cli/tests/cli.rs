//! The `netipc` binary against live servers of ours (every service kind,
//! over the socket and shared memory), a stale socket, a server with
//! another token, things that are not endpoints and a missing run dir:
//! its output (`--json` parsed), its one-line errors and its exit codes.
// SEQPACKET sockets: Linux and FreeBSD (macOS has none; Windows has pipes).
#![cfg(any(target_os = "linux", target_os = "freebsd"))]

mod support;

use serde_json::Value;
use support::*;

/// The first demo cgroup's name and path (`serve --demo`).
const FIRST_NAME: &str = "system.slice/demo-0000.service";
const FIRST_PATH: &str = "/sys/fs/cgroup/system.slice/demo-0000.service";

/// `call --json` against `service` with `profile`; checks the transport
/// and returns the answer.
fn call(dir: &RunDir, service: &str, profile: &str, method: &[&str], extra: &[&str]) -> Value {
    let mut args = vec!["call", dir.str(), service];
    args.extend_from_slice(method);
    args.extend_from_slice(&["--profile", profile]);
    args.extend_from_slice(extra);
    let v = json_ok(&args);
    assert_eq!(v["transport"], profile, "{v}");
    assert_eq!(v["method"], method[0], "{v}");
    assert!(
        v["call_us"].as_u64().is_some() && v["connect_us"].as_u64().is_some(),
        "{v}"
    );
    v["answer"].clone()
}

#[test]
fn a_snapshot_is_called_over_each_transport() {
    let dir = RunDir::new();
    let _server = serve(&dir, "cgroups-snapshot", 25, &[]);
    for profile in profiles() {
        let a = call(&dir, "cgroups-snapshot", profile, &["snapshot"], &[]);
        assert_eq!(a["item_count"], 25, "{a}");
        assert_eq!(a["generation"], 1);
        let items = a["items"].as_array().unwrap();
        assert_eq!(items.len(), 25);
        assert_eq!(items[0]["name"], FIRST_NAME);
        assert_eq!(items[0]["path"], FIRST_PATH);
        assert_eq!(
            items[0]["hash"],
            netipc::service::cgroups::simple_hash(FIRST_NAME.as_bytes())
        );
    }
    // The table for people: the transport, the time, the first rows.
    let r = run(&[
        "call",
        dir.str(),
        "cgroups-snapshot",
        "snapshot",
        "--limit",
        "3",
        "--profile",
        "uds",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("over UDS SEQPACKET: connect "), "{}", r.stdout);
    assert!(
        r.stdout.contains("generation 1, systemd_enabled 1, 25 items"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains(FIRST_PATH), "{}", r.stdout);
    assert!(r.stdout.contains("… 22 more"), "{}", r.stdout);
}

#[test]
fn a_cgroups_lookup_answers_known_and_unknown_paths() {
    let dir = RunDir::new();
    let _server = serve(&dir, "cgroups-lookup", 10, &[]);
    for profile in profiles() {
        let a = call(
            &dir,
            "cgroups-lookup",
            profile,
            &["cgroups-lookup", FIRST_PATH, "/no/such"],
            &[],
        );
        let items = a["items"].as_array().unwrap();
        assert_eq!(items.len(), 2, "{a}");
        assert_eq!(items[0]["status"], "known");
        assert_eq!(items[0]["name"], FIRST_NAME);
        assert_eq!(items[0]["orchestrator"], "systemd");
        assert_eq!(items[0]["labels"][0]["key"], "unit");
        assert_eq!(items[1]["status"], "unknown-permanent");
        assert_eq!(items[1]["path"], "/no/such");
    }
}

#[test]
fn an_apps_lookup_answers_known_and_unknown_pids() {
    let dir = RunDir::new();
    // A service name that names no kind: the kind is given.
    let _server = serve(&dir, "pids", 4, &["--kind", "apps-lookup"]);
    for profile in profiles() {
        let a = call(&dir, "pids", profile, &["apps-lookup", "1002", "77"], &[]);
        let items = a["items"].as_array().unwrap();
        assert_eq!(items[0]["pid"], 1002, "{a}");
        assert_eq!(items[0]["status"], "known");
        assert_eq!(items[0]["comm"], "demo-2");
        assert_eq!(items[0]["cgroup_status"], "known");
        assert_eq!(items[1]["status"], "unknown");
        assert_eq!(items[1]["uid"], Value::Null);
    }
}

#[test]
fn the_test_methods_answer() {
    let dir = RunDir::new();
    let _inc = serve(&dir, "increment", 0, &[]);
    let _rev = serve(&dir, "string-reverse", 0, &[]);
    for profile in profiles() {
        let a = call(&dir, "increment", profile, &["increment", "41"], &[]);
        assert_eq!(a["value"], 42);
        let a = call(
            &dir,
            "string-reverse",
            profile,
            &["string-reverse", "héllo, world"],
            &[],
        );
        assert_eq!(a["text"], "dlrow ,olléh");
    }
    let r = run(&["call", dir.str(), "increment", "increment", "1"]);
    assert_eq!((r.code, r.stdout.lines().nth(1)), (0, Some("2")), "{r:?}");
}

#[test]
fn a_token_is_needed_where_the_server_has_one() {
    let dir = RunDir::new();
    let _server = serve(&dir, "increment", 0, &["--token", "0xDEADBEEF"]);
    run(&["--json", "call", dir.str(), "increment", "increment", "1"]).failed(1, "auth-rejected");
    let a = call(
        &dir,
        "increment",
        "uds",
        &["increment", "1"],
        &["--token", "0xdeadbeef"],
    );
    assert_eq!(a["value"], 2);
    let a = call(
        &dir,
        "increment",
        "uds",
        &["increment", "1"],
        &["--token", "3735928559"],
    );
    assert_eq!(a["value"], 2);
    // The environment gives the default token.
    let out = netipc()
        .args([
            "--json",
            "call",
            dir.str(),
            "increment",
            "increment",
            "5",
            "--profile",
            "uds",
        ])
        .env("NETIPC_TOKEN", "0xdeadbeef")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn failures_are_one_line_with_a_hint_and_their_exit_code() {
    let dir = RunDir::new();
    let missing = dir.join("missing");
    let missing = missing.to_str().unwrap();
    let r = run(&["--json", "call", missing, "svc", "snapshot"]);
    r.failed(1, "run-dir-missing");
    assert!(r.stderr.contains("does not exist"), "{r:?}");
    run(&["--json", "ls", missing]).failed(1, "run-dir-missing");
    run(&["--json", "clean", missing]).failed(1, "run-dir-missing");
    run(&["--json", "watch", missing, "svc", "--count", "1"]).failed(1, "run-dir-missing");

    let r = run(&["--json", "call", dir.str(), "nobody", "snapshot"]);
    r.failed(1, "no-server");
    assert!(
        r.stderr.contains("no server at") && r.stderr.contains("nobody.sock"),
        "{r:?}"
    );

    // A service of another kind answers UNSUPPORTED.
    let _server = serve(&dir, "cgroups-snapshot", 3, &[]);
    let r = run(&["--json", "call", dir.str(), "cgroups-snapshot", "increment", "1"]);
    r.failed(1, "call-failed");
    assert!(
        r.stderr.contains("UNSUPPORTED") && r.stderr.contains("another kind"),
        "{r:?}"
    );

    // Usage errors: exit code 2.
    for args in [
        &["call", dir.str(), "bad/name", "snapshot"][..],
        &["call", dir.str(), "svc", "teleport"],
        &["call", dir.str(), "svc", "increment", "x"],
        &["call", dir.str(), "svc", "snapshot", "--timeout", "soon"],
        &["call", dir.str(), "svc", "snapshot", "--token", "0xZZ"],
        &["serve", dir.str(), "no-kind-here"],
        &["bench", "warp-speed"],
        &["frobnicate"],
    ] {
        let r = run(args);
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn shared_memory_only_fails_against_a_socket_only_server() {
    let dir = RunDir::new();
    let _server = serve(&dir, "increment", 0, &["--profile", "uds"]);
    let r = run(&[
        "--json",
        "call",
        dir.str(),
        "increment",
        "increment",
        "1",
        "--profile",
        "shm",
    ]);
    r.failed(1, "incompatible");
    assert!(r.stderr.contains("--profile auto"), "{r:?}");
    // Offered both, it falls back to the socket.
    let a = call(&dir, "increment", "uds", &["increment", "1"], &[]);
    assert_eq!(a["value"], 2);
}

/// A SEQPACKET socket that is listening but never accepts: connections
/// wait in its backlog and no handshake is ever answered.
fn silent_listener(path: &std::path::Path) -> std::os::fd::OwnedFd {
    use nix::sys::socket::{AddressFamily, Backlog, SockFlag, SockType, UnixAddr, bind, listen, socket};
    use std::os::fd::AsRawFd;
    let fd = socket(AddressFamily::Unix, SockType::SeqPacket, SockFlag::empty(), None).unwrap();
    bind(fd.as_raw_fd(), &UnixAddr::new(path).unwrap()).unwrap();
    listen(&fd, Backlog::new(8).unwrap()).unwrap();
    fd
}

#[test]
fn a_server_that_never_answers_times_out() {
    let dir = RunDir::new();
    let _listener = silent_listener(&dir.join("mute.sock"));
    let started = std::time::Instant::now();
    let r = run(&[
        "--json",
        "call",
        dir.str(),
        "mute",
        "snapshot",
        "--timeout",
        "300ms",
    ]);
    r.failed(1, "timeout");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let v = json_ok(&["ls", dir.str(), "--timeout", "200ms"]);
    assert_eq!(v["entries"][0]["state"], "unknown", "{v}");
}

/// The entry of `ls --json` output named `name`.
fn entry<'v>(listing: &'v Value, name: &str) -> &'v Value {
    listing["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {listing}"))
}

/// A region header: magic, version 3, header length 64, the owner's PID
/// and generation, and 4 KiB areas.
fn region_header(magic: u32, pid: i32, generation: u32) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&magic.to_ne_bytes());
    h.extend_from_slice(&3u16.to_ne_bytes());
    h.extend_from_slice(&64u16.to_ne_bytes());
    h.extend_from_slice(&pid.to_ne_bytes());
    h.extend_from_slice(&generation.to_ne_bytes());
    for v in [64u32, 4096, 4160, 4096] {
        h.extend_from_slice(&v.to_ne_bytes());
    }
    h.resize(64, 0);
    h
}

const REGION_MAGIC: u32 = 0x4E53_484D;

/// A run dir with one of everything `ls` tells apart; returns what keeps
/// its live parts alive.
fn busy_run_dir(dir: &RunDir) -> (Running, Running, std::os::unix::net::UnixListener) {
    let open = serve(dir, "open", 0, &["--kind", "increment"]);
    let locked = serve(dir, "locked", 0, &["--kind", "increment", "--token", "42"]);
    // A server killed outright leaves its socket: stale.
    let mut gone = serve(dir, "gone", 0, &["--kind", "increment"]);
    gone.kill();
    assert!(dir.join("gone.sock").exists());
    // Not ours: a file at an endpoint name, a stream socket, a file.
    std::fs::write(dir.join("file.sock"), b"").unwrap();
    let stream = std::os::unix::net::UnixListener::bind(dir.join("stream.sock")).unwrap();
    std::fs::write(dir.join("notes.txt"), b"hello").unwrap();
    // Regions: one whose owner lives (this test), one whose owner is gone,
    // one never initialised, one that is not a region.
    let me = std::process::id() as i32;
    let region = |name: &str, bytes: Vec<u8>| std::fs::write(dir.join(name), bytes).unwrap();
    region("open-0000000000000001.ipcshm", region_header(REGION_MAGIC, me, 1));
    region(
        "gone-0000000000000002.ipcshm",
        region_header(REGION_MAGIC, i32::MAX, 1),
    );
    region("gone-0000000000000003.ipcshm", region_header(REGION_MAGIC, me, 0));
    region("open-0000000000000004.ipcshm", vec![7; 64]);
    (open, locked, stream)
}

#[test]
fn ls_tells_every_state_apart() {
    let dir = RunDir::new();
    let _live = busy_run_dir(&dir);
    let v = json_ok(&["ls", dir.str()]);
    assert_eq!(v["run_dir"], dir.str());
    let state = |name: &str| entry(&v, name)["state"].as_str().unwrap().to_string();
    assert_eq!(state("open.sock"), "alive");
    assert_eq!(state("locked.sock"), "refusing");
    assert!(
        entry(&v, "locked.sock")["detail"]
            .as_str()
            .unwrap()
            .contains("auth")
    );
    assert_eq!(state("gone.sock"), "stale");
    assert_eq!(state("file.sock"), "not-ours");
    assert_eq!(state("stream.sock"), "not-ours");
    assert_eq!(state("open-0000000000000001.ipcshm"), "alive");
    assert_eq!(state("gone-0000000000000002.ipcshm"), "stale");
    assert_eq!(state("gone-0000000000000003.ipcshm"), "stale");
    assert_eq!(state("open-0000000000000004.ipcshm"), "not-ours");
    // Plain files are listed only with --all.
    assert!(
        v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["name"] != "notes.txt")
    );
    // The live server's handshake: its profiles and limits, its owner and mode.
    let open = entry(&v, "open.sock");
    let profiles = open["handshake"]["profiles"].as_array().unwrap();
    assert_eq!(profiles[0], "baseline", "{open}");
    assert_eq!(profiles.iter().any(|p| p == "shm-hybrid"), SHM, "{open}");
    assert_eq!(open["handshake"]["max_response_payload_bytes"], 1024, "{open}");
    assert_eq!(open["mode"], "0600");
    assert_eq!(open["kind"], "socket");
    assert_eq!(open["service"], "open");
    assert!(open["uid"].is_u64());
    assert_eq!(
        entry(&v, "open-0000000000000001.ipcshm")["owner_pid"],
        std::process::id()
    );

    // With the right token, the other server is alive and this one refuses.
    let v = json_ok(&["ls", dir.str(), "--token", "42", "--all"]);
    assert_eq!(entry(&v, "locked.sock")["state"], "alive");
    assert_eq!(entry(&v, "open.sock")["state"], "refusing");
    assert_eq!(entry(&v, "notes.txt")["state"], "not-ours");

    // The table for people.
    let r = run(&["ls", dir.str()]);
    assert_eq!(r.code, 0, "{r:?}");
    let line = r.stdout.lines().find(|l| l.contains("gone.sock")).unwrap();
    assert!(line.contains("stale") && line.contains("rw"), "{line}");
}

#[test]
fn ls_and_clean_use_the_run_dir_of_the_environment() {
    let dir = RunDir::new();
    let out = netipc()
        .args(["--json", "ls"])
        .env("NETIPC_RUN_DIR", dir.str())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["run_dir"], dir.str());
    assert_eq!(v["entries"].as_array().unwrap().len(), 0);
}

/// Sets a file's modification time `secs` seconds back, without opening
/// it (sockets cannot be opened).
fn age(path: &std::path::Path, secs: i64) {
    use nix::sys::time::TimeVal;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let secs = nix::libc::time_t::try_from(now - secs).expect("a time that fits time_t");
    let then = TimeVal::new(secs, 0);
    nix::sys::stat::lutimes(path, &then, &then).unwrap();
}

#[test]
fn clean_removes_only_what_is_stale() {
    let dir = RunDir::new();
    let _live = busy_run_dir(&dir);
    // A refusing socket younger than two seconds may be a server between
    // its bind and its listen: kept, until it is older.
    age(&dir.join("gone.sock"), 0);
    let v = json_ok(&["clean", dir.str(), "--dry-run"]);
    let action = |v: &Value, name: &str| -> String {
        v["actions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == name)
            .map_or_else(
                || "untouched".into(),
                |a| a["action"].as_str().unwrap().to_string(),
            )
    };
    assert_eq!(action(&v, "gone.sock"), "kept", "{v}");
    age(&dir.join("gone.sock"), 60);
    let v = json_ok(&["clean", dir.str(), "--dry-run"]);
    assert_eq!(v["dry_run"], true);
    for name in [
        "gone.sock",
        "gone-0000000000000002.ipcshm",
        "gone-0000000000000003.ipcshm",
    ] {
        assert_eq!(action(&v, name), "would-remove", "{name}: {v}");
        assert!(dir.join(name).exists(), "{name}");
    }
    let v = json_ok(&["clean", dir.str()]);
    for name in [
        "gone.sock",
        "gone-0000000000000002.ipcshm",
        "gone-0000000000000003.ipcshm",
    ] {
        assert_eq!(action(&v, name), "removed", "{name}: {v}");
        assert!(!dir.join(name).exists(), "{name}");
    }
    for name in [
        "open.sock",
        "locked.sock",
        "file.sock",
        "stream.sock",
        "notes.txt",
        "open-0000000000000001.ipcshm",
        "open-0000000000000004.ipcshm",
    ] {
        assert_eq!(action(&v, name), "untouched", "{name}: {v}");
        assert!(dir.join(name).exists(), "{name}");
    }
    assert_eq!(v["untouched"]["alive"], 2, "{v}");
    // The live server still serves.
    let a = call(&dir, "open", "uds", &["increment", "1"], &[]);
    assert_eq!(a["value"], 2);
    // Nothing stale is left.
    let r = run(&["clean", dir.str()]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("nothing stale"), "{r:?}");
}

#[test]
fn a_stale_socket_is_named_as_such_with_clean_as_the_hint() {
    let dir = RunDir::new();
    let mut gone = serve(&dir, "cgroups-snapshot", 1, &[]);
    gone.kill();
    let r = run(&["--json", "call", dir.str(), "cgroups-snapshot", "snapshot"]);
    r.failed(1, "stale");
    assert!(r.stderr.contains("netipc clean"), "{r:?}");
}

#[test]
fn serve_refuses_an_endpoint_a_live_server_holds_and_cleans_up_when_stopped() {
    let dir = RunDir::new();
    let mut first = serve(&dir, "increment", 0, &[]);
    let r = run(&["--json", "serve", dir.str(), "increment", "--for", "5s"]);
    r.failed(1, "failed");
    assert!(r.stderr.contains("in use"), "{r:?}");
    assert_eq!(first.stop(), 0);
    assert!(!dir.join("increment.sock").exists());
}

#[test]
fn watch_prints_changes_and_keeps_the_last_view_when_the_provider_goes() {
    let dir = RunDir::new();
    let mut server = serve(&dir, "cgroups-snapshot", 6, &["--change-every", "150ms"]);
    // Over the socket: a server's shared-memory session that is called
    // more often than its wait slice (100 ms) outlasts a stop.
    let mut watch = Running::start(&[
        "--json",
        "watch",
        dir.str(),
        "cgroups-snapshot",
        "--every",
        "50ms",
        "--profile",
        "uds",
    ]);
    let connected = watch.next_event("connected");
    assert!(connected["items"].as_u64().unwrap() >= 6, "{connected}");
    let changed = watch.next_event("changed");
    let (before, after) = (
        changed["previous_generation"].as_u64().unwrap(),
        changed["generation"].as_u64().unwrap(),
    );
    assert!(after > before, "{changed}");
    assert!(
        !changed["diff"]["added"].as_array().unwrap().is_empty(),
        "{changed}"
    );
    assert!(
        !changed["diff"]["changed"].as_array().unwrap().is_empty(),
        "{changed}"
    );

    assert_eq!(server.stop(), 0);
    let lost = watch.next_event("lost");
    assert_eq!(lost["reason"]["kind"], "no-server", "{lost}");
    assert!(lost["kept_items"].as_u64().unwrap() >= 6, "{lost}");
    let kept = lost["kept_generation"].as_u64().unwrap();
    assert!(kept >= after, "{lost}");

    // A provider back under the same name: the watch says so.
    let _again = serve(&dir, "cgroups-snapshot", 6, &[]);
    let back = watch.next_event("back");
    assert_eq!(back["generation"], 1, "{back}");

    // Ctrl-C ends it, with a summary.
    watch.signal(nix::sys::signal::Signal::SIGINT);
    let stopped = watch.next_event("stopped");
    assert!(stopped["refreshes"].as_u64().unwrap() >= 3, "{stopped}");
    assert_eq!(watch.wait(), 0);
}

#[test]
fn watch_that_never_reaches_its_provider_fails() {
    let dir = RunDir::new();
    let r = run(&[
        "--json",
        "watch",
        dir.str(),
        "nobody",
        "--every",
        "10ms",
        "--count",
        "3",
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    let events: Vec<Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events[0]["event"], "waiting", "{r:?}");
    assert_eq!(events[0]["reason"]["kind"], "no-server");
    assert_eq!(events.last().unwrap()["ok"], false, "{r:?}");
}

#[test]
fn every_subcommand_help_has_an_example() {
    for sub in ["ls", "call", "watch", "serve", "bench", "clean"] {
        let r = run(&[sub, "--help"]);
        assert_eq!(r.code, 0, "{sub}: {r:?}");
        assert!(r.stdout.contains("Examples:"), "{sub}: {}", r.stdout);
        assert!(r.stdout.contains(&format!("netipc {sub}")), "{sub}: {}", r.stdout);
    }
    let r = run(&["--help"]);
    assert!(r.stdout.contains("Exit codes: 0"), "{}", r.stdout);
}

/// A stand-in for a bench driver, with the drivers' command line: the
/// server prints READY and, when stopped, its CPU; the client prints one
/// CSV line.
fn fake_driver(dir: &RunDir) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("fake_bench");
    let script = r#"#!/bin/sh
case "$1" in
  *-server) trap 'echo SERVER_CPU_SEC=0.500000; exit 0' TERM; echo READY; while :; do sleep 0.05; done ;;
  *-client) echo "${1%-client},fake,-,1000,3,4,5,50.0,0.0,50.0" ;;
  *) exit 2 ;;
esac
"#;
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn bench_runs_each_scenario_through_the_driver_and_sums_them_up() {
    let dir = RunDir::new();
    let driver = fake_driver(&dir);
    let v = json_ok(&[
        "bench",
        "uds-ping-pong",
        "uds-pipeline",
        "--duration",
        "1s",
        "--driver",
        driver.to_str().unwrap(),
    ]);
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{v}");
    assert_eq!(results[1]["scenario"], "uds-pipeline");
    assert_eq!(results[0]["throughput"], 1000.0);
    assert_eq!(results[0]["p99_us"], 5.0);
    assert_eq!(results[0]["server_cpu_sec"], 0.5);
    // 1000 requests; 0.5 s of client CPU and 0.5 s of the server's.
    assert_eq!(results[0]["cpu_us_per_request"], 1000.0);
}

/// Our bench_posix: beside the binary under test (a workspace build makes
/// it), or built now.
fn bench_posix() -> std::path::PathBuf {
    let exe = std::path::Path::new(NETIPC);
    let beside = exe.with_file_name("bench_posix");
    if beside.is_file() {
        return beside;
    }
    // `cargo test -p netipc-cli` alone does not build the interop crate's
    // binaries: build it into the same target dir (and for the same
    // target, when the build names one).
    let profile_dir = exe.parent().unwrap();
    let above = profile_dir.parent().unwrap();
    let mut cargo = std::process::Command::new(env!("CARGO"));
    cargo.args(["build", "-q", "-p", "netipc-interop", "--bin", "bench_posix"]);
    if above.join("CACHEDIR.TAG").exists() {
        cargo.env("CARGO_TARGET_DIR", above);
    } else {
        cargo
            .env("CARGO_TARGET_DIR", above.parent().unwrap())
            .args(["--target", above.file_name().unwrap().to_str().unwrap()]);
    }
    assert!(cargo.status().unwrap().success(), "building bench_posix");
    assert!(beside.is_file(), "{beside:?}");
    beside
}

#[test]
fn bench_measures_with_our_driver() {
    let driver = bench_posix();
    let v = json_ok(&[
        "bench",
        "uds-ping-pong",
        "--duration",
        "1s",
        "--driver",
        driver.to_str().unwrap(),
    ]);
    let r = &v["results"][0];
    assert!(r["throughput"].as_f64().unwrap() > 0.0, "{v}");
    assert!(r["server_cpu_sec"].as_f64().unwrap() > 0.0, "{v}");
    assert!(r["cpu_us_per_request"].as_f64().unwrap() > 0.0, "{v}");
}

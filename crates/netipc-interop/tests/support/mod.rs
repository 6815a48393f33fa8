//! Child processes for the peer tests: a server started and awaited on its
//! `READY` line, a client run to completion, and the exchanges the interop
//! peers share. (Run dirs and process starts come from
//! `netipc-test-support`.)
#![allow(dead_code)] // Each test binary uses a part of it.

pub use netipc_test_support::RunDir;
use netipc_test_support::{PATIENCE, poll_until, started};
use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};

/// A server child, killed on drop if still running.
pub struct Server {
    child: Child,
    /// Our servers stop when this closes on Windows (see `Termination` in
    /// the crate).
    stdin: Option<ChildStdin>,
}

impl Server {
    /// Starts `bin args` with `NIPC_PROFILE=profile` and waits for `READY`.
    pub fn start(bin: &str, profile: &str, args: &[&str]) -> Self {
        let mut child = started(bin, || {
            Command::new(bin)
                .args(args)
                .env("NIPC_PROFILE", profile)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
        });
        let stdin = child.stdin.take();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(out).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(PATIENCE).expect("READY in time");
        assert_eq!(line.trim(), "READY", "{bin} {args:?}");
        Server { child, stdin }
    }

    /// Asks the server to stop the way our interop servers expect (SIGTERM;
    /// on Windows, closing its standard input) and waits for it to exit.
    pub fn terminate(mut self) -> ExitStatus {
        #[cfg(unix)]
        if self.child.try_wait().unwrap().is_none() {
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(self.child.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            )
            .unwrap();
        }
        self.stdin = None;
        self.wait()
    }

    /// Waits for the server to exit by itself, within [`PATIENCE`].
    pub fn wait(mut self) -> ExitStatus {
        let mut status = None;
        let exited = poll_until(PATIENCE, || {
            status = self.child.try_wait().unwrap();
            status.is_some()
        });
        assert!(exited, "the server did not exit");
        status.unwrap()
    }

    /// Kills the server (if still running) and reaps it.
    pub fn kill(mut self) {
        self.reap();
    }

    fn reap(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.reap();
    }
}

/// Runs a client to completion with `NIPC_PROFILE=profile`; returns its
/// trimmed stdout after checking that it exited successfully.
pub fn client(bin: &str, profile: &str, args: &[&str]) -> String {
    let out = started(bin, || {
        Command::new(bin).args(args).env("NIPC_PROFILE", profile).output()
    });
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        out.status.success(),
        "{bin} {args:?}: {stdout} / {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// One exchange of an interop peer: `{mode}server` and `{mode}client`, with
/// the shared arguments `<run_dir> <service> extra...`, under each profile.
pub struct Case {
    /// The peer binary's name, the same in every implementation.
    pub peer: &'static str,
    pub mode: &'static str,
    pub extra: &'static [&'static str],
    /// `NIPC_PROFILE` values: "" is the baseline.
    pub profiles: &'static [&'static str],
    /// The server exits by itself once its client is served (the others
    /// run until SIGTERM).
    pub exits_when_served: bool,
}

const BASELINE: &[&str] = &[""];
const BOTH: &[&str] = &["", "shm"];

impl Case {
    /// A Level 1 exchange: baseline only, the server exits when served.
    fn once(peer: &'static str, mode: &'static str, extra: &'static [&'static str]) -> Self {
        Self {
            peer,
            mode,
            extra,
            profiles: BASELINE,
            exits_when_served: true,
        }
    }

    /// A typed exchange: over the socket and over shared memory, the server
    /// runs until stopped.
    fn typed(peer: &'static str, mode: &'static str) -> Self {
        Self {
            peer,
            mode,
            extra: &[],
            profiles: BOTH,
            exits_when_served: false,
        }
    }
}

/// Every exchange the interop peers share, on this platform.
pub fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    if cfg!(unix) {
        cases.push(Case::once("interop_uds", "", &[]));
        cases.push(Case::once("interop_uds", "pipeline-", &["100"]));
    }
    if cfg!(windows) {
        // The other implementations' pipe peers have no pipeline modes.
        cases.push(Case::once("interop_named_pipe", "", &[]));
        cases.push(Case::once("interop_win_shm", "", &[]));
    }
    if cfg!(target_os = "linux") {
        cases.push(Case::once("interop_shm", "", &[]));
    }
    for mode in ["", "apps-", "cgroups-", "apps-mixed-", "cgroups-mixed-"] {
        cases.push(Case::typed("interop_service", mode));
    }
    cases.push(Case::typed("interop_cache", ""));
    cases
}

/// Runs `case` under `profile`, the server from `server_bin`, the client
/// from `client_bin`, and checks the client's `PASS`. When `ours_serve`, the
/// server must also exit cleanly when asked and leave the run dir empty;
/// another implementation's server is killed.
pub fn exchange(case: &Case, profile: &str, server_bin: &str, client_bin: &str, ours_serve: bool) {
    let dir = RunDir::new("peers");
    let with = |role: &str| {
        let mut args = vec![
            format!("{}{role}", case.mode),
            dir.str().to_string(),
            "svc".to_string(),
        ];
        args.extend(case.extra.iter().map(|s| s.to_string()));
        args
    };
    let (server_args, client_args) = (with("server"), with("client"));
    let server = Server::start(server_bin, profile, &as_strs(&server_args));
    let verdict = client(client_bin, profile, &as_strs(&client_args));
    assert_eq!(
        verdict, "PASS",
        "{client_bin} {client_args:?} against {server_bin} ({profile:?})"
    );
    if !ours_serve {
        server.kill();
        return;
    }
    let status = if case.exits_when_served {
        server.wait()
    } else {
        server.terminate()
    };
    assert!(status.success(), "{server_bin} {server_args:?}: {status}");
    assert!(dir.entries().is_empty(), "{server_bin} left {:?}", dir.entries());
}

/// The file name of `peer` in another implementation's build: on Windows
/// the typed peers are named `..._win.exe`.
pub fn foreign_file(peer: &str) -> String {
    match peer {
        "interop_service" | "interop_cache" if cfg!(windows) => format!("{peer}_win.exe"),
        _ if cfg!(windows) => format!("{peer}.exe"),
        _ => peer.to_string(),
    }
}

/// Our build of the interop peer named `peer`.
pub fn ours(peer: &str) -> &'static str {
    match peer {
        "interop_uds" => env!("CARGO_BIN_EXE_interop_uds"),
        "interop_named_pipe" => env!("CARGO_BIN_EXE_interop_named_pipe"),
        "interop_win_shm" => env!("CARGO_BIN_EXE_interop_win_shm"),
        "interop_shm" => env!("CARGO_BIN_EXE_interop_shm"),
        "interop_service" => env!("CARGO_BIN_EXE_interop_service"),
        "interop_service_async" => env!("CARGO_BIN_EXE_interop_service_async"),
        "interop_cache" => env!("CARGO_BIN_EXE_interop_cache"),
        "interop_cache_async" => env!("CARGO_BIN_EXE_interop_cache_async"),
        other => panic!("no interop peer named {other}"),
    }
}

/// Our async (tokio) twins of the typed peers, as (peer, twin): the same
/// command line and exchanges, on the async clients and servers.
pub const ASYNC_TWINS: [(&str, &str); 2] = [
    ("interop_service", "interop_service_async"),
    ("interop_cache", "interop_cache_async"),
];

fn as_strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

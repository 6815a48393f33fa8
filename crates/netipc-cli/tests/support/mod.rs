//! Running the `netipc` binary from tests: a run dir removed on drop, one
//! command run to completion (its exit code, output, and `--json` parsed),
//! and long-running commands (`serve`, `watch`) read line by line.
#![allow(dead_code)] // Each test binary uses a part of it.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a child may take to say it is ready, or to exit when told.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The binary under test.
pub const NETIPC: &str = env!("CARGO_BIN_EXE_netipc");

/// A fresh run directory, removed with its contents on drop.
pub struct RunDir(PathBuf);

impl RunDir {
    /// A directory no other test (of any process) uses.
    pub fn new() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "netipc-cli-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }

    pub fn str(&self) -> &str {
        self.0.to_str().unwrap()
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The binary, with the environment it reads cleared.
pub fn netipc() -> Command {
    let mut c = Command::new(NETIPC);
    c.env_remove("NETIPC_TOKEN").env_remove("NETIPC_RUN_DIR");
    c
}

/// A finished command.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Standard output as one JSON value.
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }

    /// Checks a failure: its exit code, one line on stderr with a hint,
    /// and the kind in the JSON error (when run with --json).
    pub fn failed(&self, code: i32, kind: &str) -> &Self {
        assert_eq!(self.code, code, "{self:?}");
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line on stderr: {self:?}");
        assert!(lines[0].starts_with("netipc: error: "), "{self:?}");
        if code == 1 {
            assert!(lines[0].contains("; hint: "), "{self:?}");
        }
        if !kind.is_empty() {
            let v = self.json();
            assert_eq!(v["ok"], false, "{self:?}");
            assert_eq!(v["error"]["kind"], kind, "{self:?}");
        }
        self
    }
}

/// Runs `netipc args...` to completion.
pub fn run(args: &[&str]) -> Run {
    let out = netipc().args(args).stdin(Stdio::null()).output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `netipc --json args...`, checks that it succeeded, and returns its
/// output parsed.
pub fn json_ok(args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let r = run(&all);
    assert_eq!(r.code, 0, "{args:?}: {r:?}");
    let v = r.json();
    assert_eq!(v["ok"], true, "{v}");
    v
}

/// A long-running `netipc` child whose standard output is read line by
/// line; stopped with SIGTERM and reaped on drop.
pub struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Running {
    /// Starts `netipc args...`.
    pub fn start(args: &[&str]) -> Self {
        let mut child = netipc()
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    /// The next line of output, within [`PATIENCE`]; `None` at its end.
    pub fn next_line(&self) -> Option<String> {
        match self.lines.recv_timeout(PATIENCE) {
            Ok(l) => Some(l),
            Err(mpsc::RecvTimeoutError::Disconnected) => None,
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("no output in {PATIENCE:?}"),
        }
    }

    /// The next JSON line whose `event` is `event` (earlier lines are
    /// skipped), within [`PATIENCE`].
    pub fn next_event(&self, event: &str) -> Value {
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            let line = self
                .next_line()
                .unwrap_or_else(|| panic!("the output ended before a `{event}` event"));
            let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            if v["event"] == event {
                return v;
            }
        }
        panic!("no `{event}` event in {PATIENCE:?}");
    }

    /// Sends `signal` to the child.
    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.child.id() as i32), signal).unwrap();
    }

    /// Waits for the child to exit by itself, within [`PATIENCE`]; its
    /// exit code.
    pub fn wait(&mut self) -> i32 {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(Instant::now() < deadline, "the child did not exit");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Stops the child with SIGTERM and waits for it; its exit code.
    pub fn stop(&mut self) -> i32 {
        if self.child.try_wait().unwrap().is_none() {
            self.signal(nix::sys::signal::Signal::SIGTERM);
        }
        self.wait()
    }

    /// Kills the child (SIGKILL: nothing is cleaned up) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.signal(nix::sys::signal::Signal::SIGTERM);
            let deadline = Instant::now() + PATIENCE;
            while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        self.kill();
    }
}

/// A demo server: `netipc serve dir service --demo n --json` with `extra`
/// arguments, once it listens.
pub fn serve(dir: &RunDir, service: &str, n: u32, extra: &[&str]) -> Running {
    let n = n.to_string();
    let mut args = vec![
        "serve",
        dir.str(),
        service,
        "--demo",
        &n,
        "--json",
        "--for",
        "120s",
    ];
    args.extend_from_slice(extra);
    let s = Running::start(&args);
    let v = s.next_event("listening");
    assert_eq!(v["service"], service, "{v}");
    s
}

/// Whether this platform has the shared-memory transport.
pub const SHM: bool = cfg!(target_os = "linux");

/// The profiles to try: the socket, and shared memory where there is one.
pub fn profiles() -> Vec<&'static str> {
    if SHM { vec!["uds", "shm"] } else { vec!["uds"] }
}

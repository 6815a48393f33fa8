//! Child processes: this test binary started again to run one test alone,
//! or another program, with Wine's transient start failures retried.

use crate::wait::PATIENCE;
use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

/// Runs `launch` (a process start), again if Wine failed it with its rare
/// transient `ERROR_INTERNAL_ERROR` (1359), most often on a loaded machine:
/// 3 tries in all. Any other error panics, naming `what`.
pub fn started<T>(what: &str, mut launch: impl FnMut() -> std::io::Result<T>) -> T {
    const ERROR_INTERNAL_ERROR: i32 = 1359;
    let mut tries = 0;
    loop {
        tries += 1;
        match launch() {
            Ok(t) => return t,
            Err(e) if cfg!(windows) && e.raw_os_error() == Some(ERROR_INTERNAL_ERROR) && tries < 3 => {
                eprintln!("{what}: {e}; starting it again");
            }
            Err(e) => panic!("{what}: {e}"),
        }
    }
}

/// Spawns `cmd`, as [`started`] does.
pub fn spawn_child(cmd: &mut Command) -> Child {
    let what = format!("{:?}", cmd.get_program());
    started(&what, || cmd.spawn())
}

/// The arguments that make a test binary run its (ignored) test `name`
/// alone, on one thread, with its output uncaptured.
pub fn child_test_args(name: &str) -> [&str; 5] {
    ["--ignored", "--exact", name, "--nocapture", "--test-threads=1"]
}

/// A command running this test binary again for its test `name` only: the
/// child half of the calling test, marked
/// `#[ignore = "child process of <parent>"]` so that a normal run leaves
/// it out.
pub fn child_test(name: &str) -> Command {
    let exe = std::env::current_exe().expect("the path of this test binary");
    let mut cmd = Command::new(exe);
    cmd.args(child_test_args(name));
    cmd
}

/// The value of `var`, which the parent of a child entry point sets for
/// it. Panics when it is unset: the entry point was run by hand (with
/// `--ignored`), and has nothing to check without its parent.
pub fn child_env(var: &str) -> OsString {
    std::env::var_os(var).unwrap_or_else(|| {
        panic!("{var} is not set: this is the child half of another test, which starts it with its setting")
    })
}

/// A child whose standard output is watched for a line ending in `READY`
/// (a test harness may write the test's name before it on the same line).
#[derive(Debug)]
pub struct ReadyChild {
    /// The process.
    pub child: Child,
    ready: mpsc::Receiver<()>,
}

impl ReadyChild {
    /// Starts `cmd` with its standard output piped and watched.
    pub fn spawn(cmd: &mut Command) -> Self {
        let mut child = spawn_child(cmd.stdout(Stdio::piped()));
        let out = child.stdout.take().expect("a piped standard output");
        let (tx, ready) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if line.trim_end().ends_with("READY") {
                    let _ = tx.send(());
                }
            }
        });
        Self { child, ready }
    }

    /// Waits until the child has printed `READY`, for at most [`PATIENCE`]
    /// (killing it and panicking after that, or if it exited first).
    pub fn wait_ready(mut self) -> Child {
        if self.ready.recv_timeout(PATIENCE).is_err() {
            let _ = self.child.kill();
            let status = self.child.wait();
            panic!("a child process never printed READY ({status:?})");
        }
        self.child
    }
}

/// Starts `cmd` and waits until it prints `READY`, as
/// [`ReadyChild::wait_ready`] does.
pub fn spawn_ready(cmd: &mut Command) -> Child {
    ReadyChild::spawn(cmd).wait_ready()
}

//! Starting child processes from tests. The test suites of several crates
//! start children under Wine; each includes this one file with `#[path]`.
#![allow(dead_code)] // Each suite uses a part of it.

use std::process::{Child, Command};

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

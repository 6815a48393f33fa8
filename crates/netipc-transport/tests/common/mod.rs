//! Helpers shared by the transport integration tests.
#![allow(dead_code)]

#[path = "../../../../tests/support/launch.rs"]
pub mod launch;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

/// A private run dir, removed on drop.
pub struct RunDir(PathBuf);

impl RunDir {
    pub fn new(tag: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "netipc-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn str(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Starts `cmd` with piped stdout and waits, with a deadline, until it
/// prints a line equal to `READY` (other lines, such as a test harness's,
/// are skipped).
pub fn spawn_ready(mut cmd: Command) -> Child {
    let mut child = launch::spawn_child(cmd.stdout(Stdio::piped()).stderr(Stdio::inherit()));
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if line.trim() == "READY" {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("child printed READY in time");
    child
}

/// Maps a region file the way a peer of another implementation (or a
/// hostile one) would, to read and write its words by hand.
#[cfg(target_os = "linux")]
pub fn raw_map(path: &Path) -> memmap2::MmapMut {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    // SAFETY: a test-owned file, mapped shared to play the peer's part.
    unsafe { memmap2::MmapMut::map_mut(&f).unwrap() }
}

/// A run directory string unique to this process and call, for the Windows
/// transports: their pipe and kernel object names derive from it, and
/// nothing is created under it, so tests in parallel (and concurrent CI
/// runs) never share a name.
pub fn windows_run_dir() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "C:\\netipc-test\\{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

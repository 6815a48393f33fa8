//! What a process holds that a session could leak: descriptors (handles
//! on Windows), shared-memory mappings, files in a run dir; and a wait for
//! a count to come back.

use netipc_test_support::{PATIENCE, entries_of, poll_until};
use std::path::Path;

/// Open descriptors of this process.
#[cfg(target_os = "linux")]
pub fn open_handles() -> Option<usize> {
    Some(std::fs::read_dir("/proc/self/fd").unwrap().count())
}

/// Open handles of this process; `None` where the system does not count
/// them (Wine answers 0, which no live process has).
#[cfg(windows)]
pub fn open_handles() -> Option<usize> {
    use windows_sys::Win32::System::Threading::{GetCurrentProcess, GetProcessHandleCount};
    let mut n = 0u32;
    // SAFETY: the pseudo handle of this process and a valid out pointer.
    let ok = unsafe { GetProcessHandleCount(GetCurrentProcess(), &mut n) };
    assert_ne!(ok, 0, "GetProcessHandleCount");
    (n != 0).then_some(n as usize)
}

/// Shared-memory regions mapped into this process (Linux: by file name;
/// Windows maps named sections, which the handle count covers).
pub fn mapped_regions() -> usize {
    #[cfg(target_os = "linux")]
    return std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .filter(|l| l.ends_with(".ipcshm"))
        .count();
    #[cfg(windows)]
    0
}

/// Waits until `now()` gives `want`; fails with the last value otherwise.
pub fn settles<T: PartialEq + std::fmt::Debug>(what: &str, now: impl Fn() -> T, want: T) {
    if !poll_until(PATIENCE, || now() == want) {
        let got = now();
        assert_eq!(got, want, "{what}: not settled after {PATIENCE:?}");
    }
}

/// What the process holds at one moment, of what a session could leak.
#[derive(Debug, Clone, PartialEq)]
pub struct Holdings {
    handles: Option<usize>,
    regions: usize,
    files: Vec<String>,
}

impl Holdings {
    /// The process's handles and mappings, and the files of `dir`, now.
    pub fn now(dir: &Path) -> Self {
        Self {
            handles: open_handles(),
            regions: mapped_regions(),
            files: entries_of(dir),
        }
    }

    /// Waits until `sessions()` is 0 and the process holds what it held
    /// when `self` was taken; fails naming what did not come back.
    pub fn settles_back(&self, dir: &Path, sessions: impl Fn() -> usize) {
        settles("sessions", sessions, 0);
        settles("handles", open_handles, self.handles);
        settles("mapped regions", mapped_regions, self.regions);
        settles("run dir", || entries_of(dir), self.files.clone());
    }
}

//! Stale regions: the rules that tell a dead server's region from a live
//! one, and the startup scan that removes what is stale.

use super::{REGION_HEADER_LEN, REGION_MAGIC};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

fn pid_alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Ok(()) => true,
        Err(e) => e == nix::errno::Errno::EPERM,
    }
}

/// What a stale check found at a region path.
#[derive(Debug, PartialEq, Eq)]
pub enum Staleness {
    /// Nothing there.
    Absent,
    /// A live server's region, or liveness could not be checked (fd shortage).
    Live,
    /// Dead owner, zero generation, junk: removed.
    Removed,
}

/// Applies the stale-region rules to `path`, removing what is stale.
pub fn reclaim_if_stale(path: &Path) -> Staleness {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Staleness::Absent,
        Err(e) if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) => return Staleness::Live,
        Err(_) => return remove(path),
    };
    let mut hdr = [0u8; REGION_HEADER_LEN];
    let regular = file.metadata().map(|m| m.file_type().is_file()).unwrap_or(false);
    let ok = regular && std::os::unix::fs::FileExt::read_exact_at(&file, &mut hdr, 0).is_ok();
    if ok && u32::from_ne_bytes(hdr[0..4].try_into().unwrap_or_default()) == REGION_MAGIC {
        let pid = i32::from_ne_bytes(hdr[8..12].try_into().unwrap_or_default());
        let generation = u32::from_ne_bytes(hdr[12..16].try_into().unwrap_or_default());
        if generation != 0 && pid_alive(pid) {
            return Staleness::Live;
        }
    }
    remove(path)
}

fn remove(path: &Path) -> Staleness {
    match std::fs::remove_file(path) {
        Ok(()) => Staleness::Removed,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Staleness::Removed,
        Err(_) => Staleness::Live,
    }
}

/// Startup scan: removes stale `{service}-*.ipcshm` files of `run_dir`.
/// Returns how many were removed.
pub fn cleanup_stale(run_dir: &Path, service: &str) -> usize {
    let prefix = format!("{service}-");
    let Ok(entries) = std::fs::read_dir(run_dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with(&prefix) && name.ends_with(".ipcshm") && {
                let mid = &name[prefix.len()..name.len() - ".ipcshm".len()];
                mid.len() == 16 && mid.bytes().all(|b| b.is_ascii_hexdigit())
            }
        })
        .filter(|e| {
            e.file_type()
                .map(|t| !t.is_dir() || t.is_symlink() || t.is_fifo())
                .unwrap_or(true)
        })
        .filter(|e| reclaim_if_stale(&e.path()) == Staleness::Removed)
        .count()
}

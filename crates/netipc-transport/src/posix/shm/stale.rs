//! Stale regions: the rules that tell a dead server's region from a live
//! one, and the startup scan that removes what is stale.

use super::{REGION_HEADER_LEN, REGION_MAGIC};
use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
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
    /// A live server's region, or an entry that could not be checked or
    /// removed (fd shortage, a directory with files in it, an entry
    /// replaced while it was checked): kept.
    Live,
    /// Dead owner, zero generation, junk: removed.
    Removed,
}

/// Applies the stale-region rules to `path`, removing what is stale.
///
/// The entry is opened without following a symlink (a symlink at a region
/// name is junk, whatever it points to) and without waiting (a FIFO there
/// has no writer). An entry is removed only if it is still the one that
/// was checked (same device and inode).
pub fn reclaim_if_stale(path: &Path) -> Staleness {
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Staleness::Absent,
        Err(e) if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) => return Staleness::Live,
        Err(_) => return remove(path),
    };
    let Ok(meta) = file.metadata() else {
        return Staleness::Live;
    };
    let mut hdr = [0u8; REGION_HEADER_LEN];
    let ok =
        meta.file_type().is_file() && std::os::unix::fs::FileExt::read_exact_at(&file, &mut hdr, 0).is_ok();
    if ok && u32::from_ne_bytes(hdr[0..4].try_into().unwrap_or_default()) == REGION_MAGIC {
        let pid = i32::from_ne_bytes(hdr[8..12].try_into().unwrap_or_default());
        let generation = u32::from_ne_bytes(hdr[12..16].try_into().unwrap_or_default());
        if generation != 0 && pid_alive(pid) {
            return Staleness::Live;
        }
    }
    match std::fs::symlink_metadata(path) {
        Ok(now) if (now.dev(), now.ino()) == (meta.dev(), meta.ino()) => remove(path),
        Ok(_) => Staleness::Live,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Staleness::Removed,
        Err(_) => Staleness::Live,
    }
}

fn remove(path: &Path) -> Staleness {
    match crate::posix::remove_endpoint_entry(path) {
        Ok(()) => Staleness::Removed,
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
        .filter(|e| reclaim_if_stale(&e.path()) == Staleness::Removed)
        .count()
}

//! Helpers of the transport tests that know the transport's own formats;
//! the generic ones (run dirs, child processes, waits) are in
//! `netipc-test-support`.
#![cfg(target_os = "linux")]

use std::path::Path;

/// Maps a region file the way a peer of another implementation (or a
/// hostile one) would, to read and write its words by hand.
pub fn raw_map(path: &Path) -> memmap2::MmapMut {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    // SAFETY: a test-owned file, mapped shared to play the peer's part.
    unsafe { memmap2::MmapMut::map_mut(&f).unwrap() }
}

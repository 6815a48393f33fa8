//! What the self-contained examples share.

use std::path::{Path, PathBuf};

/// A private run directory under the system's temporary directory,
/// removed with everything in it when dropped, so a failed run leaves
/// nothing behind either.
pub struct RunDir(PathBuf);

impl RunDir {
    /// Creates `<tmp>/netipc-<tag>-<pid>`.
    pub fn create(tag: &str) -> std::io::Result<Self> {
        let path = std::env::temp_dir().join(format!("netipc-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&path)?;
        Ok(Self(path))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

//! What the self-contained examples share.

use std::path::{Path, PathBuf};

/// A private run directory under the system's temporary directory,
/// removed with everything in it when dropped, so a failed run leaves
/// nothing behind either.
pub struct RunDir(PathBuf);

impl RunDir {
    /// Creates `<tmp>/netipc-<tag>-<pid>`, writable by its owner only
    /// whatever the umask (a server refuses a run dir anyone may write to).
    pub fn create(tag: &str) -> std::io::Result<Self> {
        let path = std::env::temp_dir().join(format!("netipc-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&path)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
        }
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

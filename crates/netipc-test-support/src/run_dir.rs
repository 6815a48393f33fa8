//! Private run directories.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A new name for each call in this process: with the process id, names
/// no two tests share, in this process or another.
fn unique() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A fresh directory under the system's temporary directory that no other
/// test uses, removed with its contents on drop.
#[derive(Debug)]
pub struct RunDir(PathBuf);

impl RunDir {
    /// Creates `netipc-<tag>-<pid>-<n>`; panics if it cannot. On Unix its
    /// mode is 0755 whatever the umask: a server refuses a run dir that
    /// every user may write to (without the sticky bit), which a umask of
    /// 0 would otherwise make.
    pub fn new(tag: &str) -> Self {
        let path = std::env::temp_dir().join(format!("netipc-{tag}-{}", unique()));
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create the run dir {}: {e}", path.display()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .unwrap_or_else(|e| panic!("cannot chmod the run dir {}: {e}", path.display()));
        }
        Self(path)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The directory as a string (for command lines); panics if it is not
    /// UTF-8.
    pub fn str(&self) -> &str {
        self.0.to_str().expect("a UTF-8 temporary directory")
    }

    /// The names in the directory, sorted.
    pub fn entries(&self) -> Vec<String> {
        entries_of(&self.0)
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The names in `dir`, sorted; panics if it cannot be read.
pub fn entries_of(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A run directory string of its own for the Windows transports: their pipe
/// and kernel object names derive from it, and nothing is created under
/// it, so tests in parallel (and concurrent runs) never share a name.
pub fn windows_run_dir() -> String {
    format!("C:\\netipc-test\\{}", unique())
}

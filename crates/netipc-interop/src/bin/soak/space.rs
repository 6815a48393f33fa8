//! Where the soak's run dir lives: in a small tmpfs of a private mount
//! namespace where the machine allows it (root), so that the soak can fill
//! it and make shared-memory set-up fail (ENOSPC); in a plain temporary
//! directory otherwise.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Size of the tmpfs: room for the regions of every session many times over.
const TMPFS_SIZE: &str = "16m";

/// The soak's directories.
pub struct Space {
    /// Where the soak keeps its logs (outside the tmpfs).
    pub base: PathBuf,
    /// The run dir of the provider and the consumers.
    pub run_dir: PathBuf,
    /// The file that fills the tmpfs, when the soak can fill it.
    pub filler: Option<PathBuf>,
    /// Why the filesystem cannot be filled, when it cannot.
    pub no_fill: Option<String>,
}

fn run(cmd: &mut Command) -> Result<(), String> {
    match cmd.output() {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!("{cmd:?}: {}", String::from_utf8_lossy(&o.stderr).trim())),
        Err(e) => Err(format!("{cmd:?}: {e}")),
    }
}

fn mkdir(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path).unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755));
}

/// Makes the soak's directories. Call it before any thread starts: the
/// mount namespace is the calling thread's, and children inherit it.
pub fn prepare() -> Space {
    let base = std::env::temp_dir().join(format!("netipc-soak-{}", std::process::id()));
    mkdir(&base);
    let mnt = base.join("fs");
    mkdir(&mnt);
    let attempt = || -> Result<(), String> {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)
            .map_err(|e| format!("unshare(CLONE_NEWNS): {e} (needs root)"))?;
        run(Command::new("mount").args(["--make-rprivate", "/"]))?;
        run(Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("size={TMPFS_SIZE},mode=0755"))
            .arg("tmpfs")
            .arg(&mnt))
    };
    match attempt() {
        Ok(()) => {
            let run_dir = mnt.join("run");
            mkdir(&run_dir);
            Space {
                filler: Some(mnt.join("filler")),
                base,
                run_dir,
                no_fill: None,
            }
        }
        Err(why) => {
            let run_dir = base.join("run");
            mkdir(&run_dir);
            Space {
                base,
                run_dir,
                filler: None,
                no_fill: Some(why),
            }
        }
    }
}

impl Space {
    /// Fills the tmpfs to the last page, and keeps it full (taking back
    /// whatever is freed) until the returned guard drops: the killed
    /// provider's regions are freed as its consumers let go of them and as
    /// the next provider removes them as stale, and that room must not
    /// reach the next provider's sessions.
    pub fn keep_full(&self) -> Option<Full> {
        let path = self.filler.clone()?;
        let mut f = OpenOptions::new().create(true).append(true).open(path).ok()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let topper = std::thread::spawn(move || {
            let page = [0u8; 4096];
            while !flag.load(Ordering::Acquire) {
                while let Ok(1..) = f.write(&page) {}
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        });
        Some(Full {
            stop,
            topper: Some(topper),
        })
    }

    /// Frees the tmpfs again.
    pub fn unfill(&self) {
        if let Some(path) = &self.filler {
            let _ = std::fs::remove_file(path);
        }
    }

    /// Unmounts the tmpfs (if any) and removes the soak's directories.
    pub fn remove(&self) {
        if self.filler.is_some() {
            let _ = run(Command::new("umount").arg(self.base.join("fs")));
        }
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

/// Keeps the tmpfs full until dropped (see [`Space::keep_full`]).
pub struct Full {
    stop: Arc<AtomicBool>,
    topper: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Full {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.topper.take() {
            let _ = t.join();
        }
    }
}

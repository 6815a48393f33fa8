//! A shared-memory region that cannot be allocated (`ENOSPC`) leaves no
//! file behind. The test runs its child half in a 64 KiB tmpfs, mounted in
//! a private mount namespace (`unshare --mount`), which takes privileges a
//! machine may not grant: there the test checks nothing and reports itself
//! ignored, with the reason. That is why this target has `harness = false`
//! (the standard harness cannot ignore a test at run time). Elsewhere than
//! on Linux it holds no test.

use netipc_test_support::harness::{self, Trial};

fn main() {
    harness::run(trials());
}

#[cfg(not(target_os = "linux"))]
fn trials() -> Vec<Trial> {
    Vec::new()
}

#[cfg(target_os = "linux")]
fn trials() -> Vec<Trial> {
    vec![
        harness::trial("enospc_leaves_no_file", linux::enospc_leaves_no_file),
        harness::child_trial("child_enospc", linux::child_enospc),
    ]
}

#[cfg(target_os = "linux")]
mod linux {
    use netipc_test_support::harness::Ran;
    use netipc_test_support::{RunDir, child_env, child_test_args};
    use netipc_transport::TransportError;
    use netipc_transport::posix::shm::ShmRegion;
    use std::path::Path;
    use std::process::Command;

    const DIR_ENV: &str = "NETIPC_CHILD_ENOSPC_DIR";

    /// Child half of `enospc_leaves_no_file`: runs inside the tiny tmpfs.
    pub fn child_enospc() {
        let dir = child_env(DIR_ENV);
        let dir = Path::new(&dir);
        match ShmRegion::create(dir, "svc", 1, 1 << 20, 1 << 20) {
            Err(TransportError::Io {
                op: "fallocate",
                source,
                ..
            }) => {
                assert_eq!(source.raw_os_error(), Some(libc::ENOSPC));
            }
            other => panic!("expected an allocation error, got {other:?}"),
        }
        let left: Vec<_> = std::fs::read_dir(dir).unwrap().collect();
        assert!(left.is_empty(), "files left behind: {left:?}");
        println!("ENOSPC-OK");
    }

    pub fn enospc_leaves_no_file() -> Ran {
        let dir = RunDir::new("shm-enospc");
        let exe = std::env::current_exe().unwrap();
        let script = format!(
            "mount -t tmpfs -o size=64k netipc-test '{}' && exec '{}' {}",
            dir.str(),
            exe.display(),
            child_test_args("child_enospc").join(" ")
        );
        let out = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c", &script])
            .env(DIR_ENV, dir.path())
            .output();
        let out = match out {
            Ok(o) => o,
            Err(e) => return Ran::Lacking(format!("cannot run unshare: {e}")),
        };
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success()
            && (stderr.contains("Operation not permitted") || stderr.contains("permission denied"))
        {
            return Ran::Lacking(format!(
                "mount namespaces are not permitted here: {}",
                stderr.trim()
            ));
        }
        assert!(stdout.contains("ENOSPC-OK"), "child failed: {stdout}\n{stderr}");
        Ran::Checked
    }
}

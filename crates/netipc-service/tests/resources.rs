//! Nothing is left behind: after many sessions come and go (closed, dropped,
//! or never past the handshake), the process's descriptors and mappings and
//! the run dir's files are back where they were, and after the server stops
//! the run dir is empty. Linux only (it reads `/proc/self`). The counts are
//! process-wide, so this file holds one test.
#![cfg(target_os = "linux")]

mod common;

use common::*;
use netipc_service::increment::{self, IncrementClient};
use netipc_service::transport::codec::{PROFILE_BASELINE, PROFILE_SHM_HYBRID};
use std::path::Path;
use std::time::{Duration, Instant};

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn mapped_regions() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .filter(|l| l.ends_with(".ipcshm"))
        .count()
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Waits until `now()` gives `want`; fails with the last value otherwise.
fn settles<T: PartialEq + std::fmt::Debug>(what: &str, now: impl Fn() -> T, want: T) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = now();
        if got == want {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: {got:?}, expected {want:?}");
        std::thread::yield_now();
    }
}

#[test]
fn sessions_that_come_and_go_leave_nothing_behind() {
    for profiles in [PROFILE_BASELINE, PROFILE_BASELINE | PROFILE_SHM_HYBRID] {
        let dir = RunDir::new("res");
        let fds_before = open_fds();
        let regions_before = mapped_regions();
        let srv = Running::start(
            dir.path(),
            "res",
            netipc_service::ServerConfig {
                supported_profiles: profiles,
                preferred_profiles: profiles,
                ..server_config(4096)
            },
            increment::Handler {
                handle: Some(Box::new(|v| Some(v + 1))),
            },
        );
        let fds_serving = open_fds();
        let client_cfg = netipc_service::ClientConfig {
            supported_profiles: profiles,
            preferred_profiles: profiles,
            ..client_config(4096)
        };
        for i in 0..120u64 {
            if i % 10 == 3 {
                // Connects and hangs up before its HELLO.
                drop(raw::connect(&dir.path().join("res.sock")));
                continue;
            }
            let mut c = IncrementClient::new(dir.path(), "res", client_cfg.clone());
            c.refresh();
            assert_eq!(c.status().shm, profiles != PROFILE_BASELINE);
            assert_eq!(c.call(i).unwrap(), i + 1);
            if i % 2 == 0 {
                c.close();
            } // else dropped as it is, mid-session
        }
        settles("sessions", || srv.server.active_sessions(), 0);
        settles("descriptors while serving", open_fds, fds_serving);
        settles("mapped regions while serving", mapped_regions, regions_before);
        settles(
            "run dir while serving",
            || files_in(dir.path()),
            vec!["res.sock".to_string()],
        );
        srv.stop();
        settles("descriptors after stop", open_fds, fds_before);
        assert!(files_in(dir.path()).is_empty(), "{:?}", files_in(dir.path()));
    }
}

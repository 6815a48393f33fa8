//! Nothing is left behind: after many sessions come and go (closed, dropped,
//! or never past the handshake), the process's descriptors (handles on
//! Windows) and shared-memory mappings and the run dir's files are back
//! where they were, and after the server stops the run dir is empty. The
//! counts are process-wide, so this file holds one test.
#![cfg(any(target_os = "linux", windows))]

mod common;

use common::counts::*;
use common::*;
use netipc_service::increment::{self, IncrementClient};
use netipc_service::transport::codec::{PROFILE_BASELINE, PROFILE_SHM_HYBRID};
use std::path::Path;

/// Connects to the endpoint and hangs up before sending a HELLO.
fn hang_up_early(dir: &Path, service: &str) {
    #[cfg(target_os = "linux")]
    drop(raw::connect(&dir.join(format!("{service}.sock"))));
    #[cfg(windows)]
    {
        use std::time::{Duration, Instant};
        let name = netipc_service::transport::names::pipe_name(dir.to_str().unwrap(), service).unwrap();
        // The pipe may be between instances for a moment: retry briefly.
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&name)
            .is_err()
        {
            assert!(Instant::now() < deadline, "the pipe never took a client");
            std::thread::yield_now();
        }
    }
}

#[test]
fn sessions_that_come_and_go_leave_nothing_behind() {
    for profiles in [PROFILE_BASELINE, PROFILE_BASELINE | PROFILE_SHM_HYBRID] {
        let dir = RunDir::new("res");
        let before = Holdings::now(dir.path());
        if open_handles().is_none() {
            eprintln!("notice: this system does not count handles; that check is skipped");
        }
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
        let serving = Holdings::now(dir.path());
        let client_cfg = netipc_service::ClientConfig {
            supported_profiles: profiles,
            preferred_profiles: profiles,
            ..client_config(4096)
        };
        for i in 0..120u64 {
            if i % 10 == 3 {
                hang_up_early(dir.path(), "res");
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
        serving.settles_back(dir.path(), || srv.server.active_sessions());
        srv.stop();
        before.settles_back(dir.path(), || 0);
    }
}

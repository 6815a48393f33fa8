//! No descriptor of ours leaks into a program the process starts.
//!
//! Plugins start helper programs. Every descriptor the transport opens (the
//! listening socket, accepted and connected sockets, the shared-memory file,
//! the abort pipe) must be close-on-exec, or a child would keep a session
//! or an endpoint alive after its owner closed it. This file holds one test
//! so that no other test opens descriptors while it compares the process's
//! descriptor table before and after.
#![cfg(target_os = "linux")]

use netipc_test_support::RunDir;
use netipc_transport::codec::{PROFILE_BASELINE, PROFILE_SHM_HYBRID};
use netipc_transport::posix::{UdsListener, UdsSession};
use netipc_transport::{AbortHandle, ClientConfig, ServerConfig};
use std::collections::BTreeSet;

const SHM: u32 = PROFILE_BASELINE | PROFILE_SHM_HYBRID;

fn open_fds() -> BTreeSet<i32> {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect()
}

/// Whether `fd` is still open and lacks `FD_CLOEXEC`.
fn inheritable(fd: i32) -> bool {
    // SAFETY: F_GETFD only reads the descriptor's flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    flags >= 0 && flags & libc::FD_CLOEXEC == 0
}

#[test]
fn every_descriptor_is_close_on_exec() {
    let dir = RunDir::new("cloexec");
    let before = open_fds();

    let server_cfg = ServerConfig {
        supported_profiles: SHM,
        preferred_profiles: PROFILE_SHM_HYBRID,
        auth_token: 7,
        ..ServerConfig::default()
    };
    let client_cfg = ClientConfig {
        supported_profiles: SHM,
        preferred_profiles: PROFILE_SHM_HYBRID,
        auth_token: 7,
        ..ClientConfig::default()
    };
    let listener = UdsListener::bind(dir.path(), "svc", server_cfg).unwrap();
    let (server, client) = std::thread::scope(|s| {
        let accepting = s.spawn(|| listener.accept().unwrap());
        let client = UdsSession::connect(dir.path(), "svc", &client_cfg).unwrap();
        (accepting.join().unwrap(), client)
    });
    assert!(server.is_shm() && client.is_shm());
    let abort = AbortHandle::new().unwrap();

    let opened: Vec<i32> = open_fds().difference(&before).copied().collect();
    // The listener, two sockets and the abort pipe's two ends at least.
    assert!(opened.len() >= 5, "only {opened:?} opened");
    let leaking: Vec<i32> = opened.into_iter().filter(|&fd| inheritable(fd)).collect();
    assert!(leaking.is_empty(), "descriptors without FD_CLOEXEC: {leaking:?}");

    // And a started program sees none of them.
    let out = std::process::Command::new("ls")
        .arg("-l")
        .arg("/proc/self/fd")
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(!listing.contains("socket:"), "a socket was inherited:\n{listing}");
    assert!(
        !listing.contains(".ipcshm"),
        "the region was inherited:\n{listing}"
    );
    drop((server, client, abort, listener));
}

//! Linux shared-memory data plane: negotiation, echo, hostile lengths,
//! peer death and stale regions. (A region that cannot be allocated is
//! `shm_enospc.rs`.)
#![cfg(target_os = "linux")]

mod common;

use common::raw_map;
use netipc_test_support::threads::{current_tid, wait_until_asleep};
use netipc_test_support::{PATIENCE, RunDir, child_env, child_test, spawn_ready};
use netipc_transport::codec::*;
use netipc_transport::posix::shm::{ShmRegion, cleanup_stale, region_path};
use netipc_transport::posix::{UdsListener, UdsSession};
use netipc_transport::{ClientConfig, Limit, ServerConfig, TransportError};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

const TOKEN: u64 = 0xABCD;
const SHM: u32 = PROFILE_BASELINE | PROFILE_SHM_HYBRID;

fn server_cfg() -> ServerConfig {
    ServerConfig {
        supported_profiles: SHM,
        preferred_profiles: PROFILE_SHM_HYBRID,
        max_request_payload_bytes: 65536,
        max_response_payload_bytes: 65536,
        max_request_batch_items: 16,
        auth_token: TOKEN,
        ..ServerConfig::default()
    }
}

fn client_cfg() -> ClientConfig {
    ClientConfig {
        supported_profiles: SHM,
        preferred_profiles: PROFILE_SHM_HYBRID,
        max_request_payload_bytes: 65536,
        max_response_payload_bytes: 65536,
        max_request_batch_items: 16,
        max_response_batch_items: 16,
        auth_token: TOKEN,
        ..ClientConfig::default()
    }
}

/// Writes a region header by hand: magic, version, pid and generation.
fn fake_region(path: &Path, pid: i32, generation: u32) {
    let mut b = vec![0u8; 4096];
    b[0..4].copy_from_slice(&0x4E53_484Du32.to_ne_bytes());
    b[4..6].copy_from_slice(&3u16.to_ne_bytes());
    b[6..8].copy_from_slice(&64u16.to_ne_bytes());
    b[8..12].copy_from_slice(&pid.to_ne_bytes());
    b[12..16].copy_from_slice(&generation.to_ne_bytes());
    std::fs::write(path, b).unwrap();
}

fn dead_pid() -> i32 {
    let mut c = Command::new("true").spawn().unwrap();
    let pid = c.id() as i32;
    c.wait().unwrap();
    pid
}

#[test]
fn shm_is_negotiated_and_carries_messages() {
    let dir = RunDir::new("shm");
    let listener = UdsListener::bind(dir.path(), "svc", server_cfg()).unwrap();
    let server = thread::spawn(move || {
        let mut s = listener.accept().unwrap();
        assert!(s.is_shm());
        while let Ok((h, p)) = s.receive() {
            let p = p.to_vec();
            s.send(
                &Header {
                    kind: Kind::Response,
                    ..h
                },
                &p,
            )
            .unwrap();
        }
        // The session is over: dropping it removes the region.
    });
    let mut c = UdsSession::connect(dir.path(), "svc", &client_cfg()).unwrap();
    assert!(c.is_shm());
    assert_eq!(c.params().selected_profile, PROFILE_SHM_HYBRID);
    let region = region_path(dir.path(), "svc", c.params().session_id);
    assert_eq!(
        std::fs::metadata(&region).unwrap().permissions().mode() & 0o777,
        0o600
    );
    for (i, n) in [0usize, 1, 8, 255, 4096, 65536].into_iter().enumerate() {
        let payload: Vec<u8> = (0..n).map(|j| (j ^ i) as u8).collect();
        c.send(
            &Header::new(Kind::Request, METHOD_STRING_REVERSE, i as u64 + 1, 0),
            &payload,
        )
        .unwrap();
        let (h, got) = c.receive_until(Instant::now() + Duration::from_secs(10)).unwrap();
        assert_eq!(h.message_id, i as u64 + 1);
        assert!(got == payload.as_slice(), "size {n}");
    }
    // One message in flight per direction: `send_many` sends the first
    // request and refuses the second.
    let requests = [98, 99].map(|id| {
        (
            Header::new(Kind::Request, METHOD_STRING_REVERSE, id, 0),
            &b"ab"[..],
        )
    });
    let r = c.send_many(requests);
    assert!(matches!(r, Err(TransportError::Protocol(_))), "{r:?}");
    let (h, got) = c.receive_until(Instant::now() + Duration::from_secs(10)).unwrap();
    assert_eq!((h.message_id, got), (98, &b"ab"[..]));
    // Over the negotiated limit: refused before anything is published.
    let r = c.send(
        &Header::new(Kind::Request, METHOD_STRING_REVERSE, 99, 0),
        &vec![0u8; 65537],
    );
    assert!(matches!(
        r,
        Err(TransportError::LimitExceeded {
            what: Limit::Payload,
            ..
        })
    ));
    drop(c);
    server.join().unwrap();
    assert!(
        !region.exists(),
        "the server removes the region when the session ends"
    );
}

#[test]
fn a_region_that_cannot_be_created_falls_back_to_baseline() {
    let dir = RunDir::new("shm");
    let listener = UdsListener::bind(dir.path(), "svc", server_cfg()).unwrap();
    // A live region squats the path of session 1.
    let squat = region_path(dir.path(), "svc", 1);
    fake_region(&squat, std::process::id() as i32, 7);
    let server = thread::spawn(move || {
        let mut s = listener.accept().unwrap();
        let shm = s.is_shm();
        let (h, p) = s.receive().unwrap();
        let p = p.to_vec();
        s.send(
            &Header {
                kind: Kind::Response,
                ..h
            },
            &p,
        )
        .unwrap();
        shm
    });
    let mut c = UdsSession::connect(dir.path(), "svc", &client_cfg()).unwrap();
    assert!(!c.is_shm());
    assert_eq!(c.params().selected_profile, PROFILE_BASELINE);
    c.send(
        &Header::new(Kind::Request, METHOD_INCREMENT, 1, 8),
        &increment::encode(1),
    )
    .unwrap();
    assert_eq!(c.receive().unwrap().0.message_id, 1);
    assert!(!server.join().unwrap());
    assert!(squat.exists(), "a live region is never deleted");
}

#[test]
fn stale_regions_are_reclaimed_and_live_ones_kept() {
    let dir = RunDir::new("shm");
    let stale = region_path(dir.path(), "svc", 5);
    fake_region(&stale, dead_pid(), 3);
    let mut r = ShmRegion::create(dir.path(), "svc", 5, 1024, 1024).unwrap();
    drop(r);
    assert!(!stale.exists());

    let zero_gen = region_path(dir.path(), "svc", 6);
    fake_region(&zero_gen, std::process::id() as i32, 0);
    r = ShmRegion::create(dir.path(), "svc", 6, 1024, 1024).unwrap();
    drop(r);

    let junk = region_path(dir.path(), "svc", 7);
    std::fs::write(&junk, b"not a region").unwrap();
    drop(ShmRegion::create(dir.path(), "svc", 7, 1024, 1024).unwrap());

    let live = region_path(dir.path(), "svc", 8);
    fake_region(&live, std::process::id() as i32, 9);
    assert!(matches!(
        ShmRegion::create(dir.path(), "svc", 8, 1024, 1024),
        Err(TransportError::AddressInUse { .. })
    ));
    assert!(live.exists());
}

#[test]
fn startup_scan_removes_only_stale_regions() {
    let dir = RunDir::new("shm");
    let stale = region_path(dir.path(), "svc", 0x10);
    let live = region_path(dir.path(), "svc", 0x11);
    let other = region_path(dir.path(), "other", 0x12);
    fake_region(&stale, dead_pid(), 1);
    fake_region(&live, std::process::id() as i32, 1);
    fake_region(&other, dead_pid(), 1);
    assert_eq!(cleanup_stale(dir.path(), "svc"), 1);
    assert!(!stale.exists() && live.exists() && other.exists());
    // Binding an SHM-capable listener runs the same scan.
    fake_region(&stale, dead_pid(), 1);
    let _l = UdsListener::bind(dir.path(), "svc", server_cfg()).unwrap();
    assert!(!stale.exists() && live.exists());
}

#[test]
fn junk_at_a_region_name_is_reclaimed_without_following_it() {
    use netipc_transport::posix::shm::{Staleness, reclaim_if_stale};
    let dir = RunDir::new("shm");
    // A symlink is junk even when it points at a live region, which stays.
    let live = region_path(dir.path(), "svc", 0x20);
    fake_region(&live, std::process::id() as i32, 1);
    let link = region_path(dir.path(), "svc", 0x21);
    std::os::unix::fs::symlink(&live, &link).unwrap();
    assert_eq!(reclaim_if_stale(&link), Staleness::Removed);
    assert!(std::fs::symlink_metadata(&link).is_err() && live.exists());
    // A dangling symlink, an empty directory and a FIFO (opening one for
    // reading would wait for a writer) go too.
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &link).unwrap();
    assert_eq!(reclaim_if_stale(&link), Staleness::Removed);
    let empty_dir = region_path(dir.path(), "svc", 0x22);
    std::fs::create_dir(&empty_dir).unwrap();
    assert_eq!(reclaim_if_stale(&empty_dir), Staleness::Removed);
    assert!(!empty_dir.exists());
    let fifo = region_path(dir.path(), "svc", 0x23);
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    assert_eq!(reclaim_if_stale(&fifo), Staleness::Removed);
    assert!(std::fs::symlink_metadata(&fifo).is_err());
    // A directory with something in it is not ours to empty.
    let full_dir = region_path(dir.path(), "svc", 0x24);
    std::fs::create_dir(&full_dir).unwrap();
    std::fs::write(full_dir.join("keep"), b"x").unwrap();
    assert_eq!(reclaim_if_stale(&full_dir), Staleness::Live);
    assert!(matches!(
        ShmRegion::create(dir.path(), "svc", 0x24, 1024, 1024),
        Err(TransportError::AddressInUse { .. })
    ));
    assert!(full_dir.join("keep").exists());
    // The startup scan applies the same rules to every name of the service.
    std::fs::create_dir(&empty_dir).unwrap();
    std::os::unix::fs::symlink(&live, &link).unwrap();
    assert_eq!(cleanup_stale(dir.path(), "svc"), 2);
    assert!(!empty_dir.exists() && std::fs::symlink_metadata(&link).is_err());
    assert!(live.exists() && full_dir.exists());
}

fn publish_raw(map: &mut memmap2::MmapMut, len: u32) {
    use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
    let base = map.as_mut_ptr();
    // SAFETY: offsets 48 (req_len) and 32 (req_seq) are aligned words of
    // the 64-byte header inside the mapping.
    unsafe {
        AtomicU32::from_ptr(base.add(48).cast()).store(len, Ordering::Release);
        AtomicU64::from_ptr(base.add(32).cast()).fetch_add(1, Ordering::Release);
    }
}

#[test]
fn hostile_lengths_are_refused() {
    let dir = RunDir::new("shm");
    let mut server = ShmRegion::create(dir.path(), "svc", 1, 1024, 1024).unwrap();
    let mut map = raw_map(&region_path(dir.path(), "svc", 1));
    let mut buf = Vec::new();
    let deadline = Some(Instant::now() + Duration::from_secs(5));
    publish_raw(&mut map, 1025);
    assert!(matches!(
        server.receive(&mut buf, deadline),
        Err(TransportError::Protocol(_))
    ));
    publish_raw(&mut map, u32::MAX);
    assert!(matches!(
        server.receive(&mut buf, deadline),
        Err(TransportError::Protocol(_))
    ));
    publish_raw(&mut map, 0);
    assert!(matches!(
        server.receive(&mut buf, deadline),
        Err(TransportError::Protocol(_))
    ));
    assert!(buf.len() <= 1024, "nothing was read past the area");
    // A message at the capacity is fine.
    publish_raw(&mut map, 1024);
    assert_eq!(server.receive(&mut buf, deadline).unwrap(), 1024);
}

#[test]
fn receive_times_out_without_a_message() {
    let dir = RunDir::new("shm");
    let mut server = ShmRegion::create(dir.path(), "svc", 1, 1024, 1024).unwrap();
    let started = Instant::now();
    let r = server.receive(&mut Vec::new(), Some(started + Duration::from_millis(150)));
    assert!(matches!(r, Err(TransportError::Timeout)), "{r:?}");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(150),
        "not before the deadline: {waited:?}"
    );
}

#[test]
fn attach_reports_not_ready_for_a_missing_or_empty_region() {
    let dir = RunDir::new("shm");
    assert!(matches!(
        ShmRegion::attach(dir.path(), "svc", 3),
        Err(TransportError::ShmNotReady(_))
    ));
    std::fs::write(region_path(dir.path(), "svc", 3), b"").unwrap();
    assert!(matches!(
        ShmRegion::attach(dir.path(), "svc", 3),
        Err(TransportError::ShmNotReady(_))
    ));
}

/// Child half of `peer_killed_mid_wait`: an SHM server that never answers.
#[test]
#[ignore = "child process of peer_killed_mid_wait"]
fn child_mute_server() {
    let dir = child_env("NETIPC_CHILD_MUTE_DIR");
    let listener = UdsListener::bind(Path::new(&dir), "mute", server_cfg()).unwrap();
    println!("READY");
    let mut s = listener.accept().unwrap();
    let _ = s.receive();
    // Holds the session, unanswered, until the parent kills this process
    // (or for a minute, should the parent be gone).
    std::thread::sleep(Duration::from_secs(60));
}

/// The server process dies while its client waits for the answer over
/// shared memory: the client's liveness check ends the wait with
/// `PeerClosed` (a wait that missed the death would end at its deadline,
/// with `Timeout`).
#[test]
fn peer_killed_mid_wait() {
    let dir = RunDir::new("shm");
    let mut child = spawn_ready(child_test("child_mute_server").env("NETIPC_CHILD_MUTE_DIR", dir.path()));
    let mut c = UdsSession::connect(dir.path(), "mute", &client_cfg()).unwrap();
    assert!(c.is_shm());
    c.send(
        &Header::new(Kind::Request, METHOD_INCREMENT, 1, 8),
        &increment::encode(1),
    )
    .unwrap();
    let pid = child.id();
    let client = current_tid();
    let killer = thread::spawn(move || {
        // Once the client is asleep, waiting for the answer.
        wait_until_asleep(client, "the client's wait for the answer");
        // SAFETY: sending SIGKILL to our own child process.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    });
    let r = c.receive_until(Instant::now() + PATIENCE);
    assert!(matches!(r, Err(TransportError::PeerClosed)), "{r:?}");
    killer.join().unwrap();
    let _ = child.wait();
}

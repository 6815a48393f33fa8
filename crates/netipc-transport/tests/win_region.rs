//! The Windows shared-memory region used on its own (run under Wine in CI).
#![cfg(windows)]

use netipc_test_support::windows_run_dir;
use netipc_transport::TransportError;
use netipc_transport::codec::{PROFILE_BASELINE, PROFILE_SHM_BUSYWAIT, PROFILE_SHM_HYBRID};
use netipc_transport::windows::WinShmRegion;
use std::time::{Duration, Instant};

const TOKEN: u64 = 0x5eed;

fn soon() -> Option<Instant> {
    Some(Instant::now() + Duration::from_secs(10))
}

fn exchange(profile: u32) {
    let dir = windows_run_dir();
    let mut server = WinShmRegion::create(&dir, "svc", TOKEN, 7, profile, 4096, 4096).unwrap();
    let mut client = WinShmRegion::attach(&dir, "svc", TOKEN, 7, profile).unwrap();
    let answer = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let n = server.receive(&mut buf, soon()).unwrap();
        server.send(b"re:", &buf[..n]).unwrap();
        server
    });
    client.send(b"ping", b"-pong").unwrap();
    let mut buf = Vec::new();
    let n = client.receive(&mut buf, soon()).unwrap();
    assert_eq!(&buf[..n], b"re:ping-pong");
    let server = answer.join().unwrap();
    // A side that is dropped says so to the other.
    drop(server);
    assert!(matches!(
        client.receive(&mut buf, soon()),
        Err(TransportError::PeerClosed)
    ));
}

#[test]
fn a_hybrid_region_carries_a_message_each_way() {
    exchange(PROFILE_SHM_HYBRID);
}

#[test]
fn a_busywait_region_carries_a_message_each_way() {
    exchange(PROFILE_SHM_BUSYWAIT);
}

#[test]
fn attaching_before_the_server_created_the_region_is_not_ready() {
    let err = WinShmRegion::attach(&windows_run_dir(), "svc", TOKEN, 1, PROFILE_SHM_HYBRID).unwrap_err();
    assert!(matches!(err, TransportError::ShmNotReady(_)), "{err:?}");
}

#[test]
fn a_region_is_named_by_token_and_session() {
    let dir = windows_run_dir();
    let _server = WinShmRegion::create(&dir, "svc", TOKEN, 1, PROFILE_SHM_HYBRID, 4096, 4096).unwrap();
    for (token, session) in [(TOKEN + 1, 1), (TOKEN, 2)] {
        let err = WinShmRegion::attach(&dir, "svc", token, session, PROFILE_SHM_HYBRID).unwrap_err();
        assert!(matches!(err, TransportError::ShmNotReady(_)), "{err:?}");
    }
    // The name is taken while the server holds it.
    let err = WinShmRegion::create(&dir, "svc", TOKEN, 1, PROFILE_SHM_HYBRID, 4096, 4096).unwrap_err();
    assert!(matches!(err, TransportError::AddressInUse { .. }), "{err:?}");
}

#[test]
fn only_shared_memory_profiles_make_a_region() {
    let dir = windows_run_dir();
    let err = WinShmRegion::create(&dir, "svc", TOKEN, 1, PROFILE_BASELINE, 4096, 4096).unwrap_err();
    assert!(matches!(err, TransportError::Unsupported), "{err:?}");
    let err = WinShmRegion::attach(&dir, "svc", TOKEN, 1, PROFILE_BASELINE).unwrap_err();
    assert!(matches!(err, TransportError::Unsupported), "{err:?}");
}

#[test]
fn a_message_larger_than_its_area_is_refused() {
    let dir = windows_run_dir();
    let _server = WinShmRegion::create(&dir, "svc", TOKEN, 1, PROFILE_SHM_HYBRID, 64, 64).unwrap();
    let mut client = WinShmRegion::attach(&dir, "svc", TOKEN, 1, PROFILE_SHM_HYBRID).unwrap();
    let err = client.send(&[0; 40], &[0; 40]).unwrap_err();
    assert!(matches!(err, TransportError::LimitExceeded { .. }), "{err:?}");
}

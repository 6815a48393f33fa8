//! CGROUPS_SNAPSHOT over the managed server: overflow regrowth, SHM.

mod common;

use common::*;
use netipc_service::ServiceError;
use netipc_service::cgroups::{CgroupsClient, Handler};
#[cfg(any(target_os = "linux", windows))]
use netipc_service::transport::codec::{PROFILE_BASELINE, PROFILE_SHM_HYBRID};

/// A snapshot of `n` items whose names and paths make it `~n * 100` bytes.
fn big_handler(n: u32) -> Handler {
    Handler {
        handle: Some(Box::new(move |_, b| {
            b.set_header(1, 77);
            (0..n).all(|i| {
                let name = format!("system.slice/unit-{i:08}.service");
                let path = format!("/sys/fs/cgroup/system.slice/unit-{i:08}.service");
                b.add(i, 0, 1, name.as_bytes(), path.as_bytes()).is_ok()
            })
        })),
    }
}

#[test]
fn a_5_mb_snapshot_reaches_a_client_configured_for_64_kib() {
    let dir = RunDir::new("snap");
    let items = 40_000; // ~5.3 MB
    let server_cfg = netipc_service::ServerConfig {
        max_response_payload_bytes: 65536,
        response_payload_ceiling: 16 << 20,
        ..server_config(65536)
    };
    let _srv = Running::start(dir.path(), "big", server_cfg, big_handler(items));
    let mut c = CgroupsClient::new(dir.path(), "big", client_config(65536));
    c.refresh();
    let view = c.call_snapshot().unwrap();
    assert_eq!(view.item_count, items);
    assert!(view.iter().count() == items as usize);
    let last = view.item(items - 1).unwrap();
    assert_eq!(
        last.name,
        format!("system.slice/unit-{:08}.service", items - 1).as_str()
    );
    // The first answer is measured: one reconnect gets a session that
    // holds it, however many doublings 64 KiB is away from 5 MB.
    assert_eq!(c.status().reconnect_count, 1);
    // The next session starts with the learned budget: no more regrowth.
    let mut again = CgroupsClient::new(dir.path(), "big", client_config(65536));
    again.refresh();
    assert_eq!(again.call_snapshot().unwrap().item_count, items);
    assert_eq!(again.status().reconnect_count, 0);
}

#[test]
fn a_snapshot_over_the_growth_ceiling_fails_cleanly() {
    let dir = RunDir::new("snap");
    let _srv = Running::start(dir.path(), "capped", server_config(65536), big_handler(5_000));
    let mut c = CgroupsClient::new(dir.path(), "capped", client_config(65536));
    c.refresh();
    assert!(matches!(
        c.call_snapshot(),
        Err(ServiceError::LimitExceeded { .. })
    ));
    // An answer over the ceiling is not grown towards: one reconnect shows
    // the client that the server offers no more.
    assert_eq!(c.status().reconnect_count, 1);
}

#[cfg(any(target_os = "linux", windows))]
#[test]
fn snapshots_travel_over_shared_memory() {
    let dir = RunDir::new("snap");
    let shm = PROFILE_BASELINE | PROFILE_SHM_HYBRID;
    let server_cfg = netipc_service::ServerConfig {
        supported_profiles: shm,
        preferred_profiles: shm,
        ..server_config(1 << 20)
    };
    let _srv = Running::start(dir.path(), "shm", server_cfg, big_handler(1000));
    let mut c = CgroupsClient::new(
        dir.path(),
        "shm",
        netipc_service::ClientConfig {
            supported_profiles: shm,
            preferred_profiles: shm,
            ..client_config(1 << 20)
        },
    );
    c.refresh();
    assert!(c.status().shm);
    for _ in 0..3 {
        assert_eq!(c.call_snapshot().unwrap().item_count, 1000);
    }
}

/// A server that selects SHM in its HELLO_ACK but never creates the region:
/// the client must close that session and reconnect without SHM.
#[cfg(target_os = "linux")]
#[test]
fn an_unattachable_region_makes_the_client_reconnect_without_shm() {
    use netipc_service::cgroups::CgroupsClient;
    use netipc_service::transport::codec::{CgroupsBuilder, HEADER_LEN, Header, Hello, Kind};
    use netipc_service::transport::handshake::{Decision, ack_packet, negotiate};
    use std::os::fd::AsRawFd;

    let dir = RunDir::new("snap");
    let shm = PROFILE_BASELINE | PROFILE_SHM_HYBRID;
    let listener = raw::listen(&dir.path().join("liar.sock"));
    let server = std::thread::spawn(move || {
        // First session: claim SHM, create nothing.
        let c1 = raw::accept(listener.as_raw_fd());
        let hello = raw::recv(c1.as_raw_fd());
        let offered = Hello::decode(&hello[HEADER_LEN..]).unwrap();
        assert_ne!(offered.supported_profiles & PROFILE_SHM_HYBRID, 0);
        let lie = netipc_service::transport::codec::HelloAck {
            server_supported_profiles: offered.supported_profiles,
            intersection_profiles: offered.supported_profiles,
            selected_profile: PROFILE_SHM_HYBRID,
            agreed_max_request_payload_bytes: offered.max_request_payload_bytes,
            agreed_max_request_batch_items: 1,
            agreed_max_response_payload_bytes: 65536,
            agreed_max_response_batch_items: 1,
            agreed_packet_size: 4096,
            session_id: 77,
        };
        raw::send(c1.as_raw_fd(), &ack_packet(&Decision::Accept(lie)));
        // Second session: an honest baseline answer and one snapshot.
        let c2 = raw::accept(listener.as_raw_fd());
        let hello = raw::recv(c2.as_raw_fd());
        let retry = Hello::decode(&hello[HEADER_LEN..]).unwrap();
        let cfg = netipc_service::transport::ServerConfig {
            max_response_payload_bytes: 65536,
            auth_token: TOKEN,
            max_request_payload_bytes: 65536,
            ..Default::default()
        };
        let decision = negotiate(&hello, &cfg, 4096, 78);
        raw::send(c2.as_raw_fd(), &ack_packet(&decision));
        let req = raw::recv(c2.as_raw_fd());
        let h = Header::decode(&req).unwrap();
        let mut out = Vec::new();
        let mut b = CgroupsBuilder::new(&mut out, 65536);
        b.set_header(0, 5);
        let n = b.finish();
        let mut pkt = Header {
            kind: Kind::Response,
            payload_len: n as u32,
            ..h
        }
        .encode()
        .to_vec();
        pkt.extend_from_slice(&out[..n]);
        raw::send(c2.as_raw_fd(), &pkt);
        let _ = raw::recv(c2.as_raw_fd());
        retry.supported_profiles
    });
    let cfg = netipc_service::ClientConfig {
        supported_profiles: shm,
        preferred_profiles: shm,
        ..client_config(65536)
    };
    let mut c = CgroupsClient::new(dir.path(), "liar", cfg);
    c.refresh();
    assert!(c.ready(), "{:?}", c.state());
    assert!(!c.status().shm);
    assert_eq!(c.call_snapshot().unwrap().generation, 5);
    drop(c);
    let second_offer = server.join().unwrap();
    assert_eq!(second_offer & PROFILE_SHM_HYBRID, 0, "the retry offers no SHM");
}

//! CGROUPS_SNAPSHOT over the managed server: overflow regrowth, SHM.
#![cfg(unix)]

mod common;

use common::*;
use netipc_service::ServiceError;
use netipc_service::cgroups::{CgroupsClient, Handler};
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
    let reconnects = c.status().reconnect_count;
    assert!(
        (1..=8).contains(&reconnects),
        "grew through {reconnects} reconnects"
    );
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
    assert!(matches!(c.call_snapshot(), Err(ServiceError::LimitExceeded(_))));
    assert!(c.status().reconnect_count <= 8);
}

#[cfg(target_os = "linux")]
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

//! Our interop peers against each other, as child processes, in every
//! exchange they share with the other implementations; our async twins
//! against the blocking peers and each other; and an L2 client surviving a
//! killed and restarted server process.

mod support;

use support::{cases, exchange, ours};

/// Every exchange of `peer`, our server against our client.
fn self_pairs(peer: &str) {
    for case in cases().iter().filter(|c| c.peer == peer) {
        for profile in case.profiles {
            exchange(case, profile, ours(peer), ours(peer), true);
        }
    }
}

#[cfg(unix)]
#[test]
fn interop_uds_pairs() {
    self_pairs("interop_uds");
}

#[cfg(windows)]
#[test]
fn interop_named_pipe_pairs() {
    self_pairs("interop_named_pipe");
}

#[cfg(windows)]
#[test]
fn interop_win_shm_pairs() {
    self_pairs("interop_win_shm");
}

#[cfg(target_os = "linux")]
#[test]
fn interop_shm_pairs() {
    self_pairs("interop_shm");
}

#[test]
fn interop_service_pairs() {
    self_pairs("interop_service");
}

#[test]
fn interop_cache_pairs() {
    self_pairs("interop_cache");
}

/// Every exchange of `peer` between the blocking peer and its async twin,
/// each serving in turn, and between two async twins.
#[cfg(unix)]
fn async_pairs(peer: &str) {
    let (_, twin) = support::ASYNC_TWINS
        .into_iter()
        .find(|(p, _)| *p == peer)
        .expect("an async twin");
    for case in cases().iter().filter(|c| c.peer == peer) {
        for profile in case.profiles {
            exchange(case, profile, ours(twin), ours(peer), true);
            exchange(case, profile, ours(peer), ours(twin), true);
            exchange(case, profile, ours(twin), ours(twin), true);
        }
    }
}

#[cfg(unix)]
#[test]
fn interop_service_async_pairs() {
    async_pairs("interop_service");
}

#[cfg(unix)]
#[test]
fn interop_cache_async_pairs() {
    async_pairs("interop_cache");
}

#[cfg(unix)]
#[test]
fn a_client_reconnects_after_the_server_process_is_killed_and_restarted() {
    use netipc::service::cgroups::{CgroupsClient, ClientConfig};
    use netipc::service::{ClientState, ServiceError};
    use support::{RunDir, Server};
    let bin = env!("CARGO_BIN_EXE_interop_service");
    let dir = RunDir::new("peers");
    let cfg = ClientConfig {
        max_response_payload_bytes: 65536,
        auth_token: netipc_interop::AUTH_TOKEN,
        ..ClientConfig::default()
    };
    let mut c = CgroupsClient::new(dir.path(), "svc", cfg);
    let server = Server::start(bin, "", &["server", dir.str(), "svc"]);
    c.refresh();
    assert_eq!(c.call_snapshot().unwrap().item_count, 3);

    server.kill();
    // The retry cannot reconnect: the call fails, and the endpoint is stale.
    assert!(c.call_snapshot().is_err());
    assert_ne!(c.state(), ClientState::Ready);
    c.refresh();
    assert_eq!(c.state(), ClientState::NotFound);
    assert!(matches!(c.call_snapshot(), Err(ServiceError::NotReady { .. })));

    // A new server recovers the stale endpoint; the client's loop reconnects.
    let server = Server::start(bin, "", &["server", dir.str(), "svc"]);
    assert!(c.refresh());
    assert_eq!(c.call_snapshot().unwrap().generation, 42);
    assert!(server.terminate().success());
}

//! Async clients against blocking servers, blocking clients against async
//! servers, and async against async, over the socket and shared memory:
//! every service kind, batches, messages chunked over the socket, answers
//! that outgrow the session (regrowth), and the same counters.
#![cfg(unix)]

mod common;

use common::*;
use netipc::service::lookup::{apps, cgroups as cgroups_lookup};
use netipc::service::{cgroups, increment, string_reverse};
use netipc::tokio as nt;

/// A string long enough to be chunked at 1 KiB packets.
fn long_string() -> Vec<u8> {
    (0..5000u32).map(|i| b'a' + (i % 26) as u8).collect()
}

/// Every async client kind, against the fleet.
async fn async_clients(fleet: &Fleet, first: bool) {
    let (d, cfg) = (fleet.path(), || client_config(fleet.profiles));
    let shm = fleet.profiles == SHM && cfg!(target_os = "linux");

    let mut c = nt::increment::IncrementClient::new(d, "inc", cfg());
    assert!(c.refresh().await);
    assert!(c.ready());
    assert_eq!(c.status().shm, shm);
    for v in [0, 41, u64::MAX] {
        assert_eq!(c.call(v).await.unwrap(), v.wrapping_add(1));
    }
    let values: Vec<u64> = (0..200).collect();
    let want: Vec<u64> = values.iter().map(|v| v + 1).collect();
    assert_eq!(c.call_batch(&values).await.unwrap(), want);
    assert_eq!(c.status().call_count, 4);

    let mut c = nt::string_reverse::StringReverseClient::new(d, "rev", cfg());
    c.refresh().await;
    assert_eq!(c.call(b"abc").await.unwrap().as_bytes(), b"cba");
    let long = long_string();
    let mut reversed = long.clone();
    reversed.reverse();
    // Over 4 KiB: the request outgrows the session, and both directions
    // are chunked over the socket.
    assert_eq!(c.call(&long).await.unwrap().as_bytes(), &reversed[..]);
    assert_eq!(
        c.call_batch(&[b"ab", b"xyz"]).await.unwrap(),
        vec![b"ba".to_vec(), b"zyx".to_vec()]
    );

    let mut c = nt::cgroups::CgroupsClient::new(d, "snap", cfg());
    c.refresh().await;
    let view = c.call_snapshot().await.unwrap();
    assert_eq!((view.generation, view.item_count), (77, SNAPSHOT_ITEMS));
    let last = view.item(SNAPSHOT_ITEMS - 1).unwrap();
    assert_eq!(
        last.name.as_bytes(),
        format!("cg-{}", SNAPSHOT_ITEMS - 1).as_bytes()
    );
    if first {
        // Later sessions are offered the size the server learned.
        assert!(
            c.status().reconnect_count >= 1,
            "the answer outgrew the first session"
        );
    }

    let mut cache = nt::cgroups::CgroupsCache::new(d, "snap", cfg());
    assert!(cache.refresh().await);
    assert_eq!(cache.len(), SNAPSHOT_ITEMS as usize);
    assert_eq!(
        cache.lookup(7, "cg-7").unwrap().path,
        "/sys/fs/cgroup/machine.slice/cg-7"
    );
    assert!(cache.lookup_name("cg-299").is_some());
    let reader = cache.reader();
    assert_eq!(reader.guard().len(), SNAPSHOT_ITEMS as usize);

    let mut c = nt::lookup::cgroups::CgroupsLookupClient::new(d, "cgl", cfg());
    c.refresh().await;
    let paths: Vec<String> = (0..400).map(|i| format!("/sys/fs/cgroup/k8s/pod-{i}")).collect();
    let view = c.call(&paths).await.unwrap();
    assert_eq!((view.generation, view.item_count), (5, 400));
    for (item, p) in view.iter().zip(&paths) {
        assert_eq!(item.name.as_bytes(), p.as_bytes());
    }

    let mut c = nt::lookup::apps::AppsLookupClient::new(d, "apl", cfg());
    c.refresh().await;
    let pids: Vec<u32> = (1..=600).collect();
    let view = c.call(&pids).await.unwrap();
    assert_eq!((view.generation, view.item_count), (6, 600));
    for (item, pid) in view.iter().zip(&pids) {
        assert_eq!(item.pid, *pid);
        let known = item.status == apps::AppsLookupStatus::Known;
        assert_eq!(known, pid % 2 == 0);
        if known {
            assert_eq!(item.comm.as_bytes(), pid.to_string().as_bytes());
        }
    }
}

/// Every blocking client kind, against the fleet.
fn blocking_clients(fleet: &Fleet) {
    let (d, cfg) = (fleet.path(), || client_config(fleet.profiles));
    let shm = fleet.profiles == SHM && cfg!(target_os = "linux");

    let mut c = increment::IncrementClient::new(d, "inc", cfg());
    c.refresh();
    assert_eq!(c.status().shm, shm);
    assert_eq!(c.call(41).unwrap(), 42);
    let values: Vec<u64> = (0..200).collect();
    assert_eq!(c.call_batch(&values).unwrap()[199], 200);

    let mut c = string_reverse::StringReverseClient::new(d, "rev", cfg());
    c.refresh();
    let long = long_string();
    let mut reversed = long.clone();
    reversed.reverse();
    assert_eq!(c.call(&long).unwrap().as_bytes(), &reversed[..]);

    let mut c = cgroups::CgroupsClient::new(d, "snap", cfg());
    c.refresh();
    assert_eq!(c.call_snapshot().unwrap().item_count, SNAPSHOT_ITEMS);

    let mut c = cgroups_lookup::CgroupsLookupClient::new(d, "cgl", cfg());
    c.refresh();
    let paths: Vec<String> = (0..400).map(|i| format!("/p/{i}")).collect();
    let view = c.call(&paths).unwrap();
    assert_eq!(view.item_count, 400);
    assert_eq!(view.iter().last().unwrap().name.as_bytes(), b"/p/399");

    let mut c = apps::AppsLookupClient::new(d, "apl", cfg());
    c.refresh();
    assert_eq!(c.call(&[2, 3]).unwrap().item_count, 2);
}

fn async_against(blocking_servers: bool, profiles: u32) {
    let fleet = Fleet::start("async-pairs", blocking_servers, profiles);
    runtime().block_on(async_clients(&fleet, true));
    // The same on a runtime with several workers (waiter wakes come from
    // another thread).
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(async_clients(&fleet, false));
    assert_eq!(fleet.wait_idle(), vec![0; 5], "sessions left open");
}

#[test]
fn async_clients_against_blocking_servers_over_the_socket() {
    async_against(true, UDS);
}

#[test]
fn async_clients_against_blocking_servers_over_shared_memory() {
    async_against(true, SHM);
}

#[test]
fn async_clients_against_async_servers_over_the_socket() {
    async_against(false, UDS);
}

#[test]
fn async_clients_against_async_servers_over_shared_memory() {
    async_against(false, SHM);
}

#[test]
fn blocking_clients_against_async_servers_over_the_socket() {
    let fleet = Fleet::start("async-pairs", false, UDS);
    blocking_clients(&fleet);
    assert_eq!(fleet.wait_idle(), vec![0; 5], "sessions left open");
}

#[test]
fn blocking_clients_against_async_servers_over_shared_memory() {
    let fleet = Fleet::start("async-pairs", false, SHM);
    blocking_clients(&fleet);
    assert_eq!(fleet.wait_idle(), vec![0; 5], "sessions left open");
}

/// A client of a server that is not there: typed errors that name the
/// endpoint, then it connects once the server comes.
#[test]
fn a_missing_server_is_a_typed_error_until_it_comes() {
    let dir = RunDir::new("async-missing");
    runtime().block_on(async {
        let mut c = nt::increment::IncrementClient::new(dir.path(), "inc", client_config(UDS));
        assert!(c.refresh().await, "disconnected to not found");
        assert_eq!(c.state(), netipc::service::ClientState::NotFound);
        let e = c.call(1).await.unwrap_err();
        assert!(matches!(e, netipc::service::ServiceError::NotReady { .. }), "{e}");
        assert!(e.to_string().contains("inc"), "{e}");
        let _server = Blocking::start(dir.path(), "inc", server_config(UDS), incrementer());
        c.refresh().await;
        assert_eq!(c.call(1).await.unwrap(), 2);
    });
}

/// A server that goes away: the call fails with a typed error (after its
/// one reconnect fails), and a new server is found by the next refresh.
#[test]
fn a_server_that_goes_away_fails_the_call_and_is_found_again() {
    for profiles in [UDS, SHM] {
        let dir = RunDir::new("async-gone");
        let rt = runtime();
        let mut c = nt::increment::IncrementClient::new(dir.path(), "inc", client_config(profiles));
        let server = Async::start(dir.path(), "inc", server_config(profiles), incrementer());
        rt.block_on(async {
            c.refresh().await;
            assert_eq!(c.call(1).await.unwrap(), 2);
        });
        drop(server);
        rt.block_on(async {
            let e = c.call(2).await.unwrap_err();
            assert!(matches!(e, netipc::service::ServiceError::Call { .. }), "{e}");
            assert!(!c.ready());
        });
        let _server = Async::start(dir.path(), "inc", server_config(profiles), incrementer());
        rt.block_on(async {
            c.refresh().await;
            assert_eq!(c.call(3).await.unwrap(), 4);
        });
    }
}

//! Typed calls and the server's dispatch allocate nothing per call once
//! warm: counted by a global allocator across all threads of the process
//! (client and server sessions alike).

mod common;

use common::*;
use netipc_service::cgroups::{self, CgroupsClient};
use netipc_service::increment::{self, IncrementClient};
use netipc_service::transport::codec::PROFILE_BASELINE;
#[cfg(any(target_os = "linux", windows))]
use netipc_service::transport::codec::PROFILE_SHM_HYBRID;
use netipc_test_support::alloc_count::{CountingAllocator, allocations, exclusive};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn increment_calls(profiles: u32) {
    let _one = exclusive();
    let dir = RunDir::new("noalloc");
    let cfg = netipc_service::ServerConfig {
        supported_profiles: profiles,
        preferred_profiles: profiles,
        ..server_config(65536)
    };
    let handler = increment::Handler {
        handle: Some(Box::new(|v| Some(v + 1))),
    };
    let _srv = Running::start(dir.path(), "inc", cfg, handler);
    let ccfg = netipc_service::ClientConfig {
        supported_profiles: profiles,
        preferred_profiles: profiles,
        ..client_config(65536)
    };
    let mut c = IncrementClient::new(dir.path(), "inc", ccfg);
    c.refresh();
    let values: Vec<u64> = (0..500).collect();
    let mut out = Vec::with_capacity(500);
    for i in 0..200 {
        c.call(i).unwrap();
        c.call_batch_into(&values, &mut out).unwrap();
    }
    let n = allocations(|| {
        for i in 0..1000 {
            assert_eq!(c.call(i).unwrap(), i + 1);
            c.call_batch_into(&values, &mut out).unwrap();
        }
    });
    assert_eq!(n, 0, "{n} allocations in 2000 calls");
}

#[test]
fn increment_calls_over_uds_allocate_nothing() {
    increment_calls(PROFILE_BASELINE);
}

#[cfg(any(target_os = "linux", windows))]
#[test]
fn increment_calls_over_shm_allocate_nothing() {
    increment_calls(PROFILE_BASELINE | PROFILE_SHM_HYBRID);
}

#[test]
fn string_reverse_calls_allocate_nothing() {
    use netipc_service::string_reverse::StringReverseClient;
    let _one = exclusive();
    let dir = RunDir::new("noalloc");
    let _srv = Running::start(dir.path(), "rev", server_config(65536), reverser());
    let mut c = StringReverseClient::new(dir.path(), "rev", client_config(65536));
    c.refresh();
    let text: Vec<u8> = (0..1000u32).map(|i| b'a' + (i % 26) as u8).collect();
    for n in 0..200 {
        c.call(&text[..n * 5]).unwrap();
    }
    let n = allocations(|| {
        for n in 0..1000 {
            let len = c.call(&text[..n % 200 * 5]).unwrap().len();
            assert_eq!(len, n % 200 * 5);
        }
    });
    assert_eq!(n, 0, "{n} allocations in 1000 calls");
}

#[test]
fn snapshot_calls_allocate_nothing() {
    let _one = exclusive();
    let dir = RunDir::new("noalloc");
    let handler = cgroups::Handler {
        handle: Some(Box::new(|_, b| {
            b.set_header(1, 1);
            (0..100u32).all(|i| {
                b.add(
                    i,
                    0,
                    1,
                    b"system.slice/unit.service",
                    b"/sys/fs/cgroup/system.slice/unit.service",
                )
                .is_ok()
            })
        })),
    };
    let _srv = Running::start(dir.path(), "cg", server_config(65536), handler);
    let mut c = CgroupsClient::new(dir.path(), "cg", client_config(65536));
    c.refresh();
    for _ in 0..100 {
        c.call_snapshot().unwrap();
    }
    let n = allocations(|| {
        for _ in 0..500 {
            let v = c.call_snapshot().unwrap();
            assert_eq!(v.iter().count(), 100);
        }
    });
    assert_eq!(n, 0, "{n} allocations in 500 snapshot calls");
}

#[test]
fn lookup_calls_allocate_nothing() {
    use netipc_service::lookup::cgroups::{CgroupsLookupClient, Handler, Orchestrator};
    let _one = exclusive();
    let dir = RunDir::new("noalloc");
    let handler = Handler {
        handle: Some(Box::new(|r| {
            r.set_generation(3);
            let labels: [(&[u8], &[u8]); 1] = [(b"app", b"web")];
            while r.next_key().is_some() {
                if r.known(Orchestrator::K8S, b"pod", &labels).is_err() {
                    return false;
                }
            }
            true
        })),
    };
    let _srv = Running::start(dir.path(), "lk", server_config(65536), handler);
    let mut c = CgroupsLookupClient::new(dir.path(), "lk", client_config(65536));
    c.refresh();
    let paths: Vec<String> = (0..256).map(|i| format!("/kubepods/pod-{i:04}")).collect();
    for _ in 0..50 {
        c.call(&paths).unwrap();
    }
    let n = allocations(|| {
        for _ in 0..200 {
            assert_eq!(c.call(&paths).unwrap().item_count, 256);
        }
    });
    assert_eq!(n, 0, "{n} allocations in 200 lookup calls");
}

//! Once its buffers have grown, a cache refresh allocates nothing, even for
//! a snapshot of 10,000 cgroups: counted by a global allocator across all
//! threads of the process (the client, the cache and the server's session
//! alike). Lookups by hash and by name (which builds a name index per
//! snapshot) allocate nothing either. A snapshot a reader holds is never
//! refilled: the refresh then builds a new one beside it.

use netipc_cache::service::cgroups::{Handler, ManagedServer, simple_hash};
use netipc_cache::service::transport::codec::PROFILE_BASELINE;
#[cfg(any(target_os = "linux", windows))]
use netipc_cache::service::transport::codec::PROFILE_SHM_HYBRID;
use netipc_cache::service::{ClientConfig, ServerConfig};
use netipc_cache::{CgroupsCache, CgroupsItem};
use netipc_test_support::RunDir;
use netipc_test_support::alloc_count::{CountingAllocator, allocations, exclusive};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

const TOKEN: u64 = 0xA110C;
/// Items of the snapshot: the agent's scale.
const ITEMS: u32 = 10_000;

/// Item `i` of generation `g`: a 64-byte name, a 128-byte path that
/// names the generation.
fn item(i: u32, g: u64) -> CgroupsItem {
    let name = format!("{:0>64}", format!("pod-{i}"));
    let path = format!("/sys/fs/cgroup/gen-{g:06}/{name:0>102}");
    assert_eq!((name.len(), path.len()), (64, 128));
    CgroupsItem {
        hash: simple_hash(name.as_bytes()),
        options: i % 3,
        enabled: i % 2,
        name: name.into(),
        path: path.into(),
    }
}

/// Serves `ITEMS` items whose paths name a generation that counts calls;
/// the strings are made once, and the generation is written into a copy
/// of each path kept by the handler, so serving allocates nothing.
fn handler() -> Handler {
    let names: Vec<CgroupsItem> = (0..ITEMS).map(|i| item(i, 0)).collect();
    let generation = AtomicU64::new(0);
    let path = std::sync::Mutex::new(Vec::with_capacity(256));
    Handler {
        handle: Some(Box::new(move |_, b| {
            let g = generation.fetch_add(1, Ordering::Relaxed) + 1;
            b.set_header(1, g);
            let mut path = path.lock().unwrap();
            let mut stamp = [b'0'; 6];
            for (digit, at) in stamp.iter_mut().rev().zip(0..) {
                *digit += (g / 10u64.pow(at) % 10) as u8;
            }
            names.iter().all(|it| {
                path.clear();
                path.extend_from_slice(it.path.as_bytes());
                path[19..25].copy_from_slice(&stamp);
                b.add(it.hash, it.options, it.enabled, it.name.as_bytes(), &path)
                    .is_ok()
            })
        })),
    }
}

fn refreshes_allocate_nothing(profiles: u32) {
    let _one = exclusive();
    let dir = RunDir::new("noalloc");
    let server_config = ServerConfig {
        supported_profiles: profiles,
        preferred_profiles: profiles,
        auth_token: TOKEN,
        ..ServerConfig::default()
    };
    let client_config = ClientConfig {
        supported_profiles: profiles,
        preferred_profiles: profiles,
        auth_token: TOKEN,
        ..ClientConfig::default()
    };
    let server = ManagedServer::new(dir.path(), "cg", server_config, handler());
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::channel();
        let srv = &server;
        s.spawn(move || srv.run_notify(move || tx.send(()).unwrap()));
        struct Stop<'a>(&'a ManagedServer);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                self.0.stop();
            }
        }
        let _stop = Stop(&server);
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
        let mut cache = CgroupsCache::new(dir.path(), "cg", client_config);
        let keys: Vec<CgroupsItem> = (0..ITEMS).step_by(397).map(|i| item(i, 0)).collect();
        // Checks the current snapshot: its generation's paths, found by
        // hash and name and by name alone.
        let check = |cache: &CgroupsCache| {
            let g = cache.status().generation;
            assert_eq!(cache.len(), ITEMS as usize);
            for want in &keys {
                let got = cache.lookup(want.hash, want.name.as_bytes()).unwrap();
                assert_eq!(got.name.as_bytes(), want.name.as_bytes());
                assert_eq!((got.options, got.enabled), (want.options, want.enabled));
                let path = got.path.as_bytes();
                assert_eq!(&path[19..25], format!("{g:06}").as_bytes());
                let by_name = cache.lookup_name(want.name.as_bytes()).unwrap();
                assert_eq!(by_name, got);
            }
        };
        // Warm: the sessions and every buffer (the client's, and the two
        // snapshots' the cache alternates) reach the data's size.
        for _ in 0..4 {
            assert!(cache.refresh(), "{:?}", cache.last_error());
            check(&cache);
        }
        let n = allocations(|| {
            for _ in 0..10 {
                assert!(cache.refresh(), "{:?}", cache.last_error());
                let g = cache.status().generation;
                for want in &keys {
                    let got = cache.lookup(want.hash, want.name.as_bytes()).unwrap();
                    let by_name = cache.lookup_name(want.name.as_bytes()).unwrap();
                    assert!(got == by_name && got.path.as_bytes()[24] == b'0' + (g % 10) as u8);
                }
            }
        });
        assert_eq!(n, 0, "{n} allocations in 10 refreshes of {ITEMS} items");
        // A snapshot held by a reader is left alone: the refreshes after
        // it build beside it, and it keeps its items and generation.
        let held = cache.snapshot();
        let held_generation = held.generation();
        let held_items: Vec<CgroupsItem> = held.items().map(|i| i.to_owned()).collect();
        let guard = cache.reader().guard();
        for _ in 0..3 {
            assert!(cache.refresh());
            check(&cache);
        }
        assert!(cache.status().generation > held_generation);
        assert_eq!(held.generation(), held_generation);
        assert!(held.items().map(|i| i.to_owned()).eq(held_items));
        assert_eq!(guard.generation(), held_generation);
        drop((held, guard));
        // Released, the snapshots are reused again.
        for _ in 0..3 {
            assert!(cache.refresh());
        }
        let n = allocations(|| assert!(cache.refresh()));
        assert_eq!(n, 0, "{n} allocations in a refresh after the readers let go");
    });
}

#[test]
fn refreshes_over_the_socket_allocate_nothing() {
    refreshes_allocate_nothing(PROFILE_BASELINE);
}

#[cfg(any(target_os = "linux", windows))]
#[test]
fn refreshes_over_shared_memory_allocate_nothing() {
    refreshes_allocate_nothing(PROFILE_BASELINE | PROFILE_SHM_HYBRID);
}

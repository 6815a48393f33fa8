//! Snapshots at an agent's scale load on the first refresh with the default
//! configuration: 10,000 and 100,000 cgroups with 64-byte names and
//! 128-byte paths (2.4 MB and 24 MB of payload), over the socket and over
//! shared memory. The server starts every session small; the first answer
//! that does not fit is measured, and the client's one reconnect gets a
//! session with room for it.

use netipc_cache::service::cgroups::{Handler, ManagedServer};
use netipc_cache::service::transport::codec::PROFILE_BASELINE;
use netipc_cache::service::{ClientConfig, ServerConfig};
use netipc_cache::{CgroupsCache, CgroupsItem};
use netipc_test_support::RunDir;
use std::time::Duration;

const TOKEN: u64 = 0x5CA1E;

/// Item `i`: a 64-byte name and a 128-byte path, both unique.
fn item(i: u32) -> CgroupsItem {
    let name = format!("{:0>64}", format!("pod-{i}"));
    let path = format!("/sys/fs/cgroup/kubepods.slice/{:0>98}", name);
    assert_eq!((name.len(), path.len()), (64, 128));
    CgroupsItem {
        hash: i.wrapping_mul(2_654_435_761),
        options: i % 3,
        enabled: i % 2,
        name: name.into(),
        path: path.into(),
    }
}

fn handler(n: u32) -> Handler {
    let items: Vec<CgroupsItem> = (0..n).map(item).collect();
    Handler {
        handle: Some(Box::new(move |_, b| {
            b.set_header(1, u64::from(n));
            items.iter().all(|it| {
                b.add(
                    it.hash,
                    it.options,
                    it.enabled,
                    it.name.as_bytes(),
                    it.path.as_bytes(),
                )
                .is_ok()
            })
        })),
    }
}

/// Serves `n` items with the default server configuration (but `profiles`
/// and the token), then checks that a cache with the default client
/// configuration (likewise) loads them on its first refresh, and so does
/// a second cache, which finds sessions already sized for them.
fn loads_on_the_first_refresh(n: u32, profiles: u32) {
    let dir = RunDir::new("scale");
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
    let server = ManagedServer::new(dir.path(), "cgroups-snapshot", server_config, handler(n));
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::channel();
        let srv = &server;
        let running = s.spawn(move || srv.run_notify(move || tx.send(()).unwrap()));
        // Stops the server however this scope ends, a failed check included.
        struct Stop<'a>(&'a ManagedServer);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                self.0.stop();
            }
        }
        let stop = Stop(&server);
        rx.recv_timeout(Duration::from_secs(10))
            .expect("the server is listening");
        let check = |cache: &mut CgroupsCache| {
            assert!(
                cache.refresh(),
                "first refresh of {n} items: {:?}",
                cache.last_error()
            );
            assert_eq!(cache.len(), n as usize);
            assert_eq!(cache.status().generation, u64::from(n));
            assert_eq!(
                cache.status().shm,
                profiles != PROFILE_BASELINE,
                "shared memory negotiated as configured (a full run dir filesystem \
                 makes the server fall back to the socket)"
            );
            for i in (0..n).step_by(997).chain([n - 1]) {
                let want = item(i);
                assert_eq!(
                    cache
                        .lookup(want.hash, want.name.as_bytes())
                        .map(|v| v.to_owned()),
                    Some(want.clone()),
                    "item {i}"
                );
                assert_eq!(
                    cache.lookup_name(want.name.as_bytes()).map(|v| v.to_owned()),
                    Some(want.clone()),
                    "item {i} by name"
                );
            }
        };
        let mut first = CgroupsCache::new(dir.path(), "cgroups-snapshot", client_config.clone());
        check(&mut first);
        let mut second = CgroupsCache::new(dir.path(), "cgroups-snapshot", client_config.clone());
        check(&mut second);
        assert!(second.refresh(), "a later refresh: {:?}", second.last_error());
        first.close();
        second.close();
        drop(stop);
        running.join().unwrap().unwrap();
    });
}

#[test]
fn ten_thousand_items_over_the_socket() {
    loads_on_the_first_refresh(10_000, PROFILE_BASELINE);
}

#[test]
fn a_hundred_thousand_items_over_the_socket() {
    loads_on_the_first_refresh(100_000, PROFILE_BASELINE);
}

#[cfg(any(target_os = "linux", windows))]
mod shm {
    use super::*;
    use netipc_cache::service::transport::codec::PROFILE_SHM_HYBRID;

    #[test]
    fn ten_thousand_items_over_shared_memory() {
        loads_on_the_first_refresh(10_000, PROFILE_BASELINE | PROFILE_SHM_HYBRID);
    }

    #[test]
    fn a_hundred_thousand_items_over_shared_memory() {
        loads_on_the_first_refresh(100_000, PROFILE_BASELINE | PROFILE_SHM_HYBRID);
    }
}

//! The Level 3 cache: population, lookups, preservation on failure, guarded
//! readers during refreshes, and a large snapshot. On Windows they run
//! over the Named Pipe.

use netipc_cache::service::cgroups::{Handler, ManagedServer};
use netipc_cache::service::{ServerConfig, ServiceError};
use netipc_cache::{CgroupsCache, ClientConfig};
use netipc_test_support::{Gate, PATIENCE, RunDir};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

const TOKEN: u64 = 77;

fn client_cfg(max: u32) -> ClientConfig {
    ClientConfig {
        max_response_payload_bytes: max,
        auth_token: TOKEN,
        ..ClientConfig::default()
    }
}

fn server_cfg(max: u32) -> ServerConfig {
    ServerConfig {
        max_response_payload_bytes: max,
        auth_token: TOKEN,
        ..ServerConfig::default()
    }
}

fn djb2(s: &str) -> u32 {
    s.bytes()
        .fold(5381u32, |h, b| h.wrapping_mul(33).wrapping_add(b as u32))
}

/// A handler publishing `n` items named `cg-<generation>-<i>`; the
/// generation increases on every call.
fn counting_handler(n: u32, generation: Arc<AtomicU64>) -> Handler {
    Handler {
        handle: Some(Box::new(move |_, b| {
            let g = generation.fetch_add(1, Ordering::SeqCst) + 1;
            b.set_header(1, g);
            (0..n).all(|i| {
                let name = format!("cg-{i}");
                let path = format!("/sys/fs/cgroup/gen-{g}/cg-{i}");
                b.add(djb2(&name), 0, 1, name.as_bytes(), path.as_bytes()).is_ok()
            })
        })),
    }
}

fn serve<R>(dir: &Path, service: &str, cfg: ServerConfig, handler: Handler, body: impl FnOnce() -> R) -> R {
    let server = ManagedServer::new(dir, service, cfg, handler);
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::channel();
        let srv = &server;
        s.spawn(move || srv.run_notify(move || tx.send(()).unwrap()).unwrap());
        rx.recv_timeout(PATIENCE).expect("the server bound in time");
        struct Stop<'a>(&'a ManagedServer);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                self.0.stop();
            }
        }
        let _stop = Stop(&server);
        body()
    })
}

#[test]
fn an_empty_cache_without_a_server() {
    let dir = RunDir::new("cache");
    let mut cache = CgroupsCache::new(dir.path(), "none", client_cfg(65536));
    assert!(!cache.refresh());
    assert!(!cache.ready());
    assert!(cache.is_empty());
    assert!(cache.lookup(1, "x").is_none());
    assert!(matches!(cache.last_error(), Some(ServiceError::NotReady { .. })));
    assert!(matches!(
        cache.last_connect_error(),
        Some(netipc_cache::service::transport::TransportError::NotFound { .. })
    ));
    assert_eq!(cache.status().refresh_failure, 1);
}

#[test]
fn refresh_builds_and_rebuilds_the_cache() {
    let dir = RunDir::new("cache");
    let generation = Arc::new(AtomicU64::new(0));
    serve(
        dir.path(),
        "cg",
        server_cfg(65536),
        counting_handler(50, Arc::clone(&generation)),
        || {
            let mut cache = CgroupsCache::new(dir.path(), "cg", client_cfg(65536));
            assert!(cache.refresh());
            assert!(cache.ready());
            assert_eq!(cache.len(), 50);
            let item = cache.lookup(djb2("cg-7"), "cg-7").unwrap();
            assert_eq!(item.path, "/sys/fs/cgroup/gen-1/cg-7");
            assert!(
                cache.lookup(djb2("cg-7"), "cg-8").is_none(),
                "same hash, other name"
            );
            assert!(cache.lookup(djb2("cg-999"), "cg-999").is_none());
            assert!(cache.refresh());
            assert_eq!(cache.status().generation, 2);
            assert_eq!(
                cache.lookup(djb2("cg-7"), "cg-7").unwrap().path,
                "/sys/fs/cgroup/gen-2/cg-7"
            );
            cache.close();
            assert!(!cache.ready() && cache.is_empty());
        },
    );
}

#[test]
fn the_cache_survives_a_server_restart_and_a_failed_refresh() {
    let dir = RunDir::new("cache");
    let generation = Arc::new(AtomicU64::new(0));
    let mut cache = CgroupsCache::new(dir.path(), "cg", client_cfg(65536));
    serve(
        dir.path(),
        "cg",
        server_cfg(65536),
        counting_handler(10, Arc::clone(&generation)),
        || {
            assert!(cache.refresh());
        },
    );
    // The server is gone: refresh fails, the cache stays.
    assert!(!cache.refresh());
    assert_eq!(cache.len(), 10);
    assert!(cache.lookup(djb2("cg-3"), "cg-3").is_some());
    assert!(cache.ready());
    // It comes back: the next refresh reconnects and rebuilds.
    serve(
        dir.path(),
        "cg",
        server_cfg(65536),
        counting_handler(12, Arc::clone(&generation)),
        || {
            assert!(cache.refresh());
            assert_eq!(cache.len(), 12);
        },
    );
}

/// A hand-written server: a good snapshot first, then a corrupt one.

#[test]
fn guarded_readers_keep_their_snapshot_during_refreshes() {
    let dir = RunDir::new("cache");
    let generation = Arc::new(AtomicU64::new(0));
    serve(
        dir.path(),
        "cg",
        server_cfg(1 << 20),
        counting_handler(200, Arc::clone(&generation)),
        || {
            let mut cache = CgroupsCache::new(dir.path(), "cg", client_cfg(1 << 20));
            assert!(cache.refresh());
            let reader = cache.reader();
            let done = AtomicBool::new(false);
            std::thread::scope(|s| {
                let checker = s.spawn(|| {
                    let mut checks = 0u64;
                    while !done.load(Ordering::Acquire) || checks == 0 {
                        let guard = reader.guard();
                        let g = guard.generation();
                        // Everything seen through one guard is of one generation,
                        // however many refreshes happen meanwhile.
                        for _ in 0..3 {
                            for i in 0..200 {
                                let name = format!("cg-{i}");
                                let item = guard.lookup(djb2(&name), name.as_bytes()).unwrap();
                                assert_eq!(item.path, format!("/sys/fs/cgroup/gen-{g}/cg-{i}").as_str());
                            }
                            std::thread::yield_now();
                        }
                        checks += 1;
                    }
                    checks
                });
                for _ in 0..30 {
                    assert!(cache.refresh());
                }
                done.store(true, Ordering::Release);
                assert!(checker.join().unwrap() > 0);
            });
            assert_eq!(reader.guard().generation(), cache.status().generation);
        },
    );
}

#[test]
fn a_100000_item_snapshot() {
    let dir = RunDir::new("cache");
    let generation = Arc::new(AtomicU64::new(0));
    let max = 16 << 20;
    serve(
        dir.path(),
        "big",
        server_cfg(max),
        counting_handler(100_000, generation),
        || {
            let mut cache = CgroupsCache::new(dir.path(), "big", client_cfg(max));
            assert!(cache.refresh(), "{:?}", cache.last_error());
            assert_eq!(cache.len(), 100_000);
            for i in (0..100_000).step_by(997) {
                let name = format!("cg-{i}");
                assert!(cache.lookup(djb2(&name), &name).is_some(), "{name}");
            }
        },
    );
}

/// A hand-written server that answers garbage (POSIX listener).
#[cfg(unix)]
mod malformed {
    use super::*;
    use netipc_cache::service::transport::codec::{Header, Kind, STATUS_OK};
    use netipc_cache::service::transport::posix::UdsListener;

    #[test]
    fn a_malformed_response_keeps_the_previous_cache() {
        let dir = RunDir::new("cache");
        let listener = UdsListener::bind(
            dir.path(),
            "hostile",
            netipc_cache::service::transport::ServerConfig {
                max_response_payload_bytes: 65536,
                auth_token: TOKEN,
                ..Default::default()
            },
        )
        .unwrap();
        let server = std::thread::spawn(move || {
            let mut s = listener.accept().unwrap();
            let mut good = Vec::new();
            let mut b = netipc_cache::service::transport::codec::CgroupsBuilder::new(&mut good, 65536);
            b.set_header(1, 5);
            b.add(djb2("a"), 0, 1, b"a", b"/a").unwrap();
            let n = b.finish();
            good.truncate(n);
            for round in 0..2 {
                let (h, _) = s.receive().unwrap();
                let reply = Header {
                    kind: Kind::Response,
                    transport_status: STATUS_OK,
                    ..h
                };
                let mut payload = good.clone();
                if round == 1 {
                    payload[24 + 4] = 0xFF; // directory length of item 0
                }
                s.send(&reply, &payload).unwrap();
            }
        });
        let mut cache = CgroupsCache::new(dir.path(), "hostile", client_cfg(65536));
        assert!(cache.refresh());
        assert!(!cache.refresh());
        assert!(matches!(cache.last_error(), Some(ServiceError::Malformed { .. })));
        assert_eq!(cache.lookup(djb2("a"), "a").unwrap().path, "/a");
        assert_eq!(cache.status().generation, 5);
        // The session that sent it is given up: the next refresh reconnects.
        assert_eq!(cache.status().state, netipc_cache::ClientState::Broken);
        server.join().unwrap();
    }
}

/// An abort raised through the cache fails its refreshes (keeping the
/// snapshot) until it is cleared; a snapshot taken earlier stays valid.
#[test]
fn an_aborted_refresh_keeps_the_cache_until_the_abort_is_cleared() {
    let dir = RunDir::new("cache");
    let generation = Arc::new(AtomicU64::new(0));
    serve(
        dir.path(),
        "ab",
        server_cfg(65536),
        counting_handler(10, Arc::clone(&generation)),
        || {
            let mut cache = CgroupsCache::new(dir.path(), "ab", client_cfg(65536));
            assert!(cache.refresh());
            let before = cache.snapshot();
            cache.abort_handle().expect("an abort signal").abort();
            assert!(!cache.refresh());
            assert!(matches!(cache.last_error(), Some(ServiceError::Aborted { .. })));
            assert_eq!((cache.len(), cache.status().generation), (10, 1));
            cache.clear_abort();
            assert!(cache.refresh());
            assert_eq!(cache.status().generation, 2);
            assert_eq!(before.generation(), 1, "the old snapshot is unchanged");
            assert_eq!(
                before.lookup(djb2("cg-3"), b"cg-3").unwrap().path,
                "/sys/fs/cgroup/gen-1/cg-3"
            );
        },
    );
}

/// `abort()` on the cache itself, and a refresh timeout of its own: a
/// refresh whose answer is held back fails with `Timeout`, keeping the
/// cache; zero goes back to the default and the refresh succeeds.
#[test]
fn the_cache_aborts_itself_and_takes_a_refresh_timeout() {
    let dir = RunDir::new("cache");
    let generation = Arc::new(AtomicU64::new(0));
    let inner = counting_handler(10, Arc::clone(&generation));
    let slow_after_first = Arc::new(AtomicBool::new(false));
    let slow = Arc::clone(&slow_after_first);
    let gate = Gate::closed();
    let held = Arc::clone(&gate);
    let handler = Handler {
        handle: Some(Box::new(move |req, b| {
            if slow.load(Ordering::SeqCst) {
                held.pass();
            }
            (inner.handle.as_ref().unwrap())(req, b)
        })),
    };
    serve(dir.path(), "self", server_cfg(65536), handler, || {
        let mut cache = CgroupsCache::new(dir.path(), "self", client_cfg(65536));
        assert!(cache.refresh());
        cache.abort();
        assert!(!cache.refresh());
        assert!(matches!(cache.last_error(), Some(ServiceError::Aborted { .. })));
        cache.clear_abort();

        slow_after_first.store(true, Ordering::SeqCst);
        cache.set_call_timeout(Duration::from_millis(50));
        assert!(!cache.refresh());
        assert!(matches!(cache.last_error(), Some(ServiceError::Timeout { .. })));
        assert_eq!(cache.len(), 10, "the cache is kept");
        gate.open();
        cache.set_call_timeout(Duration::ZERO);
        assert!(cache.refresh(), "{:?}", cache.last_error());
    });
}

/// A snapshot that fills the negotiated response size to the byte, with
/// strings tens of kilobytes long, reaches the cache whole; one byte more
/// is over the size the server may grow to, and the cache keeps what it had.
#[test]
fn a_snapshot_at_the_negotiated_size_with_long_strings() {
    use netipc_cache::service::transport::codec::{CGROUPS_ITEM_HDR_LEN, CGROUPS_RESP_HDR_LEN};
    let dir = RunDir::new("cache");
    let max = 1 << 20;
    let extra = Arc::new(AtomicU64::new(0));
    let filled = Arc::new(AtomicBool::new(false));
    let handler = {
        let (extra, filled) = (Arc::clone(&extra), Arc::clone(&filled));
        Handler {
            handle: Some(Box::new(move |_, b| {
                b.set_header(1, 1 + extra.load(Ordering::SeqCst));
                let name = "n".repeat(4000);
                let mut count = 0;
                while b.limit() - b.len() > 100_000 {
                    let path = format!("/{count}/{}", "p".repeat(60_000));
                    if b.add(count, 0, 1, name.as_bytes(), path.as_bytes()).is_err() {
                        return false;
                    }
                    count += 1;
                }
                // The last item takes the room left exactly: its directory
                // entry, the padding after the item before it, and itself.
                let packed = b.len() - CGROUPS_RESP_HDR_LEN - count as usize * 8;
                let pad = (8 - packed % 8) % 8;
                let room = b.limit() - b.len() + extra.load(Ordering::SeqCst) as usize;
                let path_len = room - 8 - pad - CGROUPS_ITEM_HDR_LEN - "last".len() - 2;
                let added = b.add(u32::MAX, 0, 1, b"last", "q".repeat(path_len).as_bytes());
                filled.store(added.is_ok() && b.len() == b.limit(), Ordering::SeqCst);
                added.is_ok()
            })),
        }
    };
    serve(dir.path(), "full", server_cfg(max), handler, || {
        let mut cache = CgroupsCache::new(dir.path(), "full", client_cfg(max));
        assert!(cache.refresh(), "{:?}", cache.last_error());
        assert!(filled.load(Ordering::SeqCst), "the answer filled the limit");
        let last = cache.lookup(u32::MAX, "last").expect("the last item");
        let count = cache.len() - 1;
        assert!(count >= 10, "{count} long items");
        assert_eq!(last.path.len(), max as usize - cache_payload_without_last(count));
        let first = cache.lookup(0, "n".repeat(4000)).unwrap();
        assert_eq!(first.path.len(), 60_003);

        extra.store(1, Ordering::SeqCst);
        assert!(!cache.refresh());
        assert!(matches!(
            cache.last_error(),
            Some(ServiceError::LimitExceeded { .. })
        ));
        assert_eq!((cache.len(), cache.status().generation), (count + 1, 1));
    });
}

/// The payload of the snapshot above without the last item's path bytes:
/// header, directory, and `count` items of a 4000-byte name and a path of
/// 60 003 bytes, each padded to 8, then the last item's fixed part.
fn cache_payload_without_last(count: usize) -> usize {
    use netipc_cache::service::transport::codec::{CGROUPS_ITEM_HDR_LEN, CGROUPS_RESP_HDR_LEN};
    let long = |digits: usize| CGROUPS_ITEM_HDR_LEN + 4001 + 60_002 + digits + 1;
    let items: usize = (0..count)
        .map(|i| long(i.to_string().len()).next_multiple_of(8))
        .sum();
    CGROUPS_RESP_HDR_LEN + (count + 1) * 8 + items + CGROUPS_ITEM_HDR_LEN + "last".len() + 2
}

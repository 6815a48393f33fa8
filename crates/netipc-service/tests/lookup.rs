//! Lookup services: split and stitch at scale, PAYLOAD_EXCEEDED rounds,
//! OVERSIZED_ITEM, generation changes, ceilings, hostile echoes, probes.

mod common;

use common::*;
use netipc_service::lookup::apps::{self, AppsLookupClient};
use netipc_service::lookup::cgroups::{self, CgroupsLookupClient, Orchestrator};
use netipc_service::transport::codec::lookup::{AppsLookupStatus, CgroupsLookupStatus};
use netipc_service::transport::codec::{PROFILE_BASELINE, PROFILE_SHM_HYBRID};
use netipc_service::{ClientConfig, ServerConfig, ServiceError};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

fn lookup_server(profiles: u32, response: u32) -> ServerConfig {
    ServerConfig {
        supported_profiles: profiles,
        preferred_profiles: profiles,
        max_request_payload_bytes: 8192,
        max_response_payload_bytes: response,
        response_payload_ceiling: response,
        auth_token: TOKEN,
        ..ServerConfig::default()
    }
}

fn lookup_client(profiles: u32, items: u32) -> ClientConfig {
    ClientConfig {
        supported_profiles: profiles,
        preferred_profiles: profiles,
        max_request_payload_bytes: 8192,
        max_response_payload_bytes: 65536,
        auth_token: TOKEN,
        lookup_max_items: items,
        ..ClientConfig::default()
    }
}

/// Answers every path KNOWN with its own path as name, generation 7.
fn echo_names() -> cgroups::Handler {
    cgroups::Handler {
        handle: Some(Box::new(|r| {
            r.set_generation(7);
            while let Some(p) = r.next_key() {
                let name = p.as_bytes().to_vec();
                if r.known(Orchestrator::K8S, &name, &[]).is_err() {
                    return false;
                }
            }
            true
        })),
    }
}

/// Answers every path KNOWN with a name of `name_len` bytes, generation 3,
/// after sleeping `delay` per request.
fn named(name_len: usize, delay: std::time::Duration) -> cgroups::Handler {
    cgroups::Handler {
        handle: Some(Box::new(move |r| {
            std::thread::sleep(delay);
            r.set_generation(3);
            let name = vec![b'n'; name_len];
            while r.next_key().is_some() {
                if r.known(Orchestrator::DOCKER, &name, &[]).is_err() {
                    return false;
                }
            }
            true
        })),
    }
}

fn pid_handler(generation: Arc<AtomicU64>, bump: bool) -> apps::Handler {
    apps::Handler {
        handle: Some(Box::new(move |r| {
            let g = if bump {
                generation.fetch_add(1, Ordering::SeqCst)
            } else {
                generation.load(Ordering::SeqCst)
            };
            r.set_generation(g);
            while let Some(pid) = r.next_key() {
                let placed = if pid % 3 == 0 {
                    r.not_known(AppsLookupStatus::Unknown)
                } else {
                    r.answer(&apps::AppsLookupEntry {
                        pid,
                        status: AppsLookupStatus::Known,
                        cgroup_status: apps::CgroupStatus::Known,
                        orchestrator: Orchestrator::DOCKER,
                        ppid: 1,
                        uid: pid,
                        starttime: 42,
                        comm: b"proc",
                        cgroup_path: b"/docker/x",
                        cgroup_name: b"x",
                        labels: &[],
                    })
                };
                if placed.is_err() {
                    return false;
                }
            }
            true
        })),
    }
}

/// A baseline `cgroups-lookup` server with 8 KiB responses answering with
/// `handler`, and a client of it (up to 1000 keys per call, `cfg` applied
/// on top), connected. The run dir and server live as long as the tuple.
fn small_responses(
    handler: cgroups::Handler,
    cfg: impl FnOnce(ClientConfig) -> ClientConfig,
) -> (RunDir, Running<cgroups::Handler>, CgroupsLookupClient) {
    let dir = RunDir::new("lookup");
    let srv = Running::start(dir.path(), "cg", lookup_server(PROFILE_BASELINE, 8192), handler);
    let mut c = CgroupsLookupClient::new(dir.path(), "cg", cfg(lookup_client(PROFILE_BASELINE, 1000)));
    c.refresh();
    (dir, srv, c)
}

fn cgroups_at_scale(profiles: u32, n: u32) {
    let dir = RunDir::new("lookup");
    let _srv = Running::start(dir.path(), "cg", lookup_server(profiles, 65536), echo_names());
    let mut c = CgroupsLookupClient::new(dir.path(), "cg", lookup_client(profiles, n));
    c.refresh();
    assert_eq!(c.status().shm, profiles & PROFILE_SHM_HYBRID != 0);
    let paths: Vec<String> = (0..n).map(|i| format!("/cg/{i:05}")).collect();
    let v = c.call(&paths).unwrap();
    assert_eq!(v.item_count, n);
    assert_eq!(v.generation, 7);
    for (it, p) in v.iter().zip(&paths) {
        assert_eq!(it.status, CgroupsLookupStatus::Known);
        assert_eq!(it.path, p.as_str());
        assert_eq!(it.name, p.as_str());
    }
}

fn apps_at_scale(profiles: u32, n: u32) {
    let dir = RunDir::new("lookup");
    let generation = Arc::new(AtomicU64::new(9));
    let _srv = Running::start(
        dir.path(),
        "apps",
        lookup_server(profiles, 65536),
        pid_handler(generation, false),
    );
    let mut c = AppsLookupClient::new(dir.path(), "apps", lookup_client(profiles, n));
    c.refresh();
    let pids: Vec<u32> = (0..n).map(|i| 100_000 + i).collect();
    let v = c.call(&pids).unwrap();
    assert_eq!((v.item_count, v.generation), (n, 9));
    for (it, &pid) in v.iter().zip(&pids) {
        assert_eq!(it.pid, pid);
        assert_eq!(it.status == AppsLookupStatus::Known, pid % 3 != 0);
    }
}

#[test]
fn split_and_stitch_8192_over_uds() {
    cgroups_at_scale(PROFILE_BASELINE, 8192);
    apps_at_scale(PROFILE_BASELINE, 8192);
}

#[test]
fn split_and_stitch_65536_over_uds() {
    cgroups_at_scale(PROFILE_BASELINE, 65536);
    apps_at_scale(PROFILE_BASELINE, 65536);
}

#[cfg(any(target_os = "linux", windows))]
#[test]
fn split_and_stitch_over_shm() {
    let shm = PROFILE_BASELINE | PROFILE_SHM_HYBRID;
    for n in [8192, 65536] {
        cgroups_at_scale(shm, n);
        apps_at_scale(shm, n);
    }
}

#[test]
fn a_small_server_budget_forces_many_payload_exceeded_rounds() {
    let (_dir, _srv, mut c) = small_responses(named(200, std::time::Duration::ZERO), |c| c);
    let paths: Vec<String> = (0..1000).map(|i| format!("/p/{i}")).collect();
    let v = c.call(&paths).unwrap();
    assert_eq!(v.item_count, 1000);
    assert!(
        v.iter()
            .all(|i| i.status == CgroupsLookupStatus::Known && i.name.len() == 200)
    );
    // ~250 bytes per answer in 8 KiB responses: dozens of rounds, and the
    // client sizes its requests to the answers it has seen.
    let calls = c.status().call_count;
    assert!((30..=120).contains(&calls), "{calls} subcalls");
}

/// A first answer far larger than the not-known answers the client sized
/// its request by still fits: a request leaves half the response to its
/// first key, since a first answer that does not fit comes back
/// OVERSIZED_ITEM, which is final.
#[test]
fn a_large_first_answer_is_not_lost() {
    let (_dir, _srv, mut c) = small_responses(named(3000, std::time::Duration::ZERO), |c| c);
    // 300 keys: their not-known answers alone would fill the response.
    let paths: Vec<String> = (0..300).map(|i| format!("/cg/{i:04}")).collect();
    let v = c.call(&paths).unwrap();
    assert_eq!(v.item_count, 300);
    for (i, it) in v.iter().enumerate() {
        assert_eq!(it.status, CgroupsLookupStatus::Known, "key {i}");
        assert_eq!(it.name.as_bytes().len(), 3000);
    }
}

/// Not-known answers first, then large known ones: a large answer deferred
/// (PAYLOAD_EXCEEDED) after small ones leads the next request, which was
/// sized by small answers only, and still has room there.
#[test]
fn a_large_answer_after_small_ones_is_not_lost() {
    let handler = cgroups::Handler {
        handle: Some(Box::new(|r| {
            r.set_generation(5);
            let name = vec![b'k'; 2000];
            while let Some(p) = r.next_key() {
                let placed = if p.as_bytes().starts_with(b"/new/") {
                    r.not_known(CgroupsLookupStatus::UnknownRetryLater)
                } else {
                    r.known(Orchestrator::K8S, &name, &[])
                };
                if placed.is_err() {
                    return false;
                }
            }
            true
        })),
    };
    let (_dir, _srv, mut c) = small_responses(handler, |c| c);
    let mut paths: Vec<String> = (0..200).map(|i| format!("/new/{i:04}")).collect();
    paths.extend((0..300).map(|i| format!("/old/{i:04}")));
    let v = c.call(&paths).unwrap();
    assert_eq!(v.item_count, 500);
    for (i, it) in v.iter().enumerate() {
        let want = if i < 200 {
            CgroupsLookupStatus::UnknownRetryLater
        } else {
            CgroupsLookupStatus::Known
        };
        assert_eq!(it.status, want, "key {i}");
    }
}

/// The same for PIDs.
#[test]
fn a_large_first_pid_answer_is_not_lost() {
    let dir = RunDir::new("lookup");
    let big = apps::Handler {
        handle: Some(Box::new(|r| {
            r.set_generation(4);
            let path = vec![b'p'; 3000];
            while let Some(pid) = r.next_key() {
                let e = apps::AppsLookupEntry {
                    pid,
                    status: AppsLookupStatus::Known,
                    cgroup_status: apps::CgroupStatus::Known,
                    orchestrator: Orchestrator::DOCKER,
                    ppid: 1,
                    uid: 0,
                    starttime: 1,
                    comm: b"big",
                    cgroup_path: &path,
                    cgroup_name: b"x",
                    labels: &[],
                };
                if r.answer(&e).is_err() {
                    return false;
                }
            }
            true
        })),
    };
    let _srv = Running::start(dir.path(), "bigpid", lookup_server(PROFILE_BASELINE, 8192), big);
    let mut c = AppsLookupClient::new(dir.path(), "bigpid", lookup_client(PROFILE_BASELINE, 1000));
    c.refresh();
    let pids: Vec<u32> = (1..=300).collect();
    let v = c.call(&pids).unwrap();
    assert_eq!(v.item_count, 300);
    for (i, it) in v.iter().enumerate() {
        assert_eq!(it.status, AppsLookupStatus::Known, "pid {}", i + 1);
    }
}

/// The cycles of one logical lookup call share its call timeout: dozens of
/// quick cycles that together take longer than the timeout end in
/// `Timeout`, though each one alone would fit many times over.
#[test]
fn one_timeout_bounds_the_whole_logical_call() {
    let slow_fat = named(200, std::time::Duration::from_millis(20));
    let (_dir, _srv, mut c) = small_responses(slow_fat, |c| ClientConfig {
        call_timeout: std::time::Duration::from_millis(300),
        ..c
    });
    let paths: Vec<String> = (0..1000).map(|i| format!("/p/{i}")).collect();
    // About 30 cycles of 20 ms or more: over 600 ms in all.
    let err = match c.call(&paths) {
        Ok(v) => panic!("all {} items answered past the deadline", v.item_count),
        Err(e) => e,
    };
    assert!(matches!(err, ServiceError::Timeout { .. }), "{err:?}");
    let cycles = c.status().call_count;
    assert!(cycles < 30, "{cycles} cycles answered before the deadline");
}

/// A lookup's own timeout bounds all its cycles the same way, and zero
/// means the client's call timeout.
#[test]
fn a_per_call_timeout_bounds_the_whole_logical_call() {
    let slow_fat = named(200, std::time::Duration::from_millis(20));
    let (_dir, _srv, mut c) = small_responses(slow_fat, |c| ClientConfig {
        call_timeout: std::time::Duration::from_secs(30),
        ..c
    });
    let paths: Vec<String> = (0..1000).map(|i| format!("/p/{i}")).collect();
    let err = match c.call_with_timeout(&paths, std::time::Duration::from_millis(300)) {
        Ok(v) => panic!("all {} items answered past the deadline", v.item_count),
        Err(e) => e,
    };
    assert!(matches!(err, ServiceError::Timeout { .. }), "{err:?}");
    assert!(c.refresh());
    let few = &paths[..3];
    let view = c.call_with_timeout(few, std::time::Duration::ZERO).unwrap();
    assert_eq!(view.item_count, 3);
}

/// The apps lookup takes a per-call timeout too.
#[test]
fn an_apps_lookup_with_a_timeout() {
    let dir = RunDir::new("lookup");
    // Holds each call until the test lets it through.
    let gate = Gate::closed();
    let held = Arc::clone(&gate);
    let slow = apps::Handler {
        handle: Some(Box::new(move |r| {
            held.pass();
            r.set_generation(1);
            while r.next_key().is_some() {
                if r.not_known(AppsLookupStatus::Unknown).is_err() {
                    return false;
                }
            }
            true
        })),
    };
    let _srv = Running::start(
        dir.path(),
        "apps-slow",
        lookup_server(PROFILE_BASELINE, 65536),
        slow,
    );
    let mut c = AppsLookupClient::new(dir.path(), "apps-slow", lookup_client(PROFILE_BASELINE, 100));
    assert!(c.refresh());
    let err = c
        .call_with_timeout(&[1, 2], std::time::Duration::from_millis(50))
        .unwrap_err();
    assert!(matches!(err, ServiceError::Timeout { .. }), "{err:?}");
    gate.open();
    assert!(c.refresh());
    assert_eq!(c.call(&[1, 2]).unwrap().item_count, 2);
}

#[test]
fn oversized_items_in_the_middle_of_a_call() {
    let dir = RunDir::new("lookup");
    let handler = cgroups::Handler {
        handle: Some(Box::new(|r| {
            let huge = vec![b'h'; 10_000];
            while let Some(p) = r.next_key() {
                let name: &[u8] = if p.as_bytes() == b"/huge" { &huge } else { b"ok" };
                if r.known(Orchestrator::K8S, name, &[]).is_err() {
                    return false;
                }
            }
            true
        })),
    };
    let _srv = Running::start(dir.path(), "ov", lookup_server(PROFILE_BASELINE, 4096), handler);
    let mut c = CgroupsLookupClient::new(dir.path(), "ov", lookup_client(PROFILE_BASELINE, 100));
    c.refresh();
    // A path too long for any request is answered OVERSIZED_ITEM locally.
    let too_long = format!("/{}", "x".repeat(9000));
    let paths = ["/a", "/huge", "/b", too_long.as_str(), "/c"];
    let v = c.call(&paths).unwrap();
    let st: Vec<_> = v.iter().map(|i| i.status).collect();
    use CgroupsLookupStatus::*;
    assert_eq!(st, [Known, OversizedItem, Known, OversizedItem, Known]);
    assert!(v.iter().zip(paths).all(|(i, p)| i.path == p));
}

#[test]
fn a_generation_change_mid_call_rejects_the_call() {
    let dir = RunDir::new("lookup");
    let generation = Arc::new(AtomicU64::new(1));
    let _srv = Running::start(
        dir.path(),
        "gen",
        lookup_server(PROFILE_BASELINE, 65536),
        pid_handler(generation, true),
    );
    let mut c = AppsLookupClient::new(dir.path(), "gen", lookup_client(PROFILE_BASELINE, 10_000));
    c.refresh();
    let pids: Vec<u32> = (1..=5000).collect();
    assert!(matches!(c.call(&pids), Err(ServiceError::BadResponse { .. })));
    // One subcall needs no agreement.
    c.refresh();
    assert_eq!(c.call(&[1, 2, 3]).unwrap().item_count, 3);
}

#[test]
fn each_ceiling_is_enforced() {
    let dir = RunDir::new("lookup");
    let _srv = Running::start(
        dir.path(),
        "cap",
        lookup_server(PROFILE_BASELINE, 65536),
        echo_names(),
    );
    let paths: Vec<String> = (0..5000).map(|i| format!("/cg/{i:05}")).collect();

    let mut items = CgroupsLookupClient::new(dir.path(), "cap", lookup_client(PROFILE_BASELINE, 4999));
    items.refresh();
    assert!(matches!(
        items.call(&paths),
        Err(ServiceError::LimitExceeded { .. })
    ));

    let cfg = ClientConfig {
        lookup_max_subcalls: 2,
        ..lookup_client(PROFILE_BASELINE, 5000)
    };
    let mut subcalls = CgroupsLookupClient::new(dir.path(), "cap", cfg);
    subcalls.refresh();
    assert!(matches!(
        subcalls.call(&paths),
        Err(ServiceError::LimitExceeded { .. })
    ));

    let cfg = ClientConfig {
        lookup_max_stitched_bytes: 10_000,
        ..lookup_client(PROFILE_BASELINE, 5000)
    };
    let mut bytes = CgroupsLookupClient::new(dir.path(), "cap", cfg);
    bytes.refresh();
    assert!(matches!(
        bytes.call(&paths),
        Err(ServiceError::LimitExceeded { .. })
    ));
    // Within the ceilings, the same call works.
    assert_eq!(bytes.call(&paths[..10]).unwrap().item_count, 10);
}

#[test]
fn a_zero_item_probe() {
    let dir = RunDir::new("lookup");
    let _srv = Running::start(
        dir.path(),
        "probe",
        lookup_server(PROFILE_BASELINE, 65536),
        echo_names(),
    );
    let mut c = CgroupsLookupClient::new(dir.path(), "probe", lookup_client(PROFILE_BASELINE, 10));
    c.refresh();
    let none: [&str; 0] = [];
    let v = c.call(&none).unwrap();
    assert_eq!((v.item_count, v.generation), (0, 7));
    assert!(matches!(c.call(&[""]), Err(ServiceError::InvalidRequest { .. })));
}

/// Hand-written servers that answer wrongly (POSIX listener).
#[cfg(unix)]
mod hostile_echoes {
    use super::*;
    use netipc_service::transport::codec::lookup::{
        AppsLookupEntry, AppsLookupResponseBuilder, CgroupsLookupEntry, CgroupsLookupRequestView,
        CgroupsLookupResponseBuilder,
    };
    use netipc_service::transport::codec::{Header, Kind};
    use netipc_service::transport::posix::UdsListener;
    use std::thread::JoinHandle;

    /// A raw listener for `service`, with the clients' budgets.
    fn bind(dir: &RunDir, service: &str) -> UdsListener {
        UdsListener::bind(
            dir.path(),
            service,
            netipc_service::transport::ServerConfig {
                max_request_payload_bytes: 8192,
                max_response_payload_bytes: 65536,
                auth_token: TOKEN,
                ..Default::default()
            },
        )
        .unwrap()
    }

    /// Calls `service` for `paths`: the call fails with `BadResponse` and
    /// leaves the client not ready. Then waits for the server.
    fn assert_rejected(dir: &RunDir, service: &str, paths: &[&str], server: JoinHandle<()>) {
        let mut c = CgroupsLookupClient::new(dir.path(), service, lookup_client(PROFILE_BASELINE, 10));
        c.refresh();
        let err = c.call(paths).unwrap_err();
        assert!(matches!(err, ServiceError::BadResponse { .. }), "{err:?}");
        assert!(!c.ready());
        drop(c);
        server.join().unwrap();
    }

    /// Serves one session: answers its first request with the payload that
    /// `answer` writes (returning its length), then waits for the client to
    /// leave.
    fn answer_once(
        dir: &RunDir,
        service: &str,
        answer: impl FnOnce(&mut Vec<u8>) -> usize + Send + 'static,
    ) -> JoinHandle<()> {
        let listener = bind(dir, service);
        std::thread::spawn(move || {
            let mut s = listener.accept().unwrap();
            let (h, _) = s.receive().unwrap();
            let mut out = Vec::new();
            let n = answer(&mut out);
            let response = Header {
                kind: Kind::Response,
                ..h
            };
            s.send(&response, &out[..n]).unwrap();
            let _ = s.receive();
        })
    }

    #[test]
    fn a_server_echoing_a_wrong_key_is_rejected() {
        let dir = RunDir::new("lookup");
        let server = answer_once(&dir, "liar", |out| {
            let mut b = CgroupsLookupResponseBuilder::new(out, 1, 65536);
            let e = CgroupsLookupEntry::known(b"/not-asked", Orchestrator::K8S, b"x", &[]);
            b.add(&e).unwrap();
            b.finish()
        });
        assert_rejected(&dir, "liar", &["/asked"], server);
    }

    #[test]
    fn a_server_echoing_a_wrong_pid_is_rejected() {
        let dir = RunDir::new("lookup");
        let server = answer_once(&dir, "pid-liar", |out| {
            let mut b = AppsLookupResponseBuilder::new(out, 1, 65536);
            b.add(&AppsLookupEntry::not_known(43, AppsLookupStatus::Unknown))
                .unwrap();
            b.finish()
        });
        let mut c = AppsLookupClient::new(dir.path(), "pid-liar", lookup_client(PROFILE_BASELINE, 10));
        c.refresh();
        assert!(matches!(c.call(&[42]), Err(ServiceError::BadResponse { .. })));
        assert!(!c.ready());
        drop(c);
        server.join().unwrap();
    }

    #[test]
    fn a_response_with_another_item_count_is_rejected() {
        let dir = RunDir::new("lookup");
        let server = answer_once(&dir, "short", |out| {
            let mut b = CgroupsLookupResponseBuilder::new(out, 1, 65536);
            b.add(&CgroupsLookupEntry::known(b"/a", Orchestrator::K8S, b"x", &[]))
                .unwrap();
            b.finish()
        });
        assert_rejected(&dir, "short", &["/a", "/b"], server);
    }

    #[test]
    fn an_answer_after_payload_exceeded_is_rejected() {
        // The server must mark every item after the first PAYLOAD_EXCEEDED
        // the same way: a later answer breaks the contract.
        let dir = RunDir::new("lookup");
        let server = answer_once(&dir, "gap", |out| {
            let mut b = CgroupsLookupResponseBuilder::new(out, 1, 65536);
            b.add(&CgroupsLookupEntry::known(b"/a", Orchestrator::K8S, b"a", &[]))
                .unwrap();
            b.add(&CgroupsLookupEntry::unknown(
                b"/b",
                CgroupsLookupStatus::PayloadExceeded,
            ))
            .unwrap();
            b.add(&CgroupsLookupEntry::known(b"/c", Orchestrator::K8S, b"c", &[]))
                .unwrap();
            b.finish()
        });
        assert_rejected(&dir, "gap", &["/a", "/b", "/c"], server);
    }

    #[test]
    fn an_oversized_first_answer_is_final() {
        // OVERSIZED_ITEM, then PAYLOAD_EXCEEDED: the client keeps the first
        // outcome and asks again for the second key only.
        let dir = RunDir::new("lookup");
        let listener = bind(&dir, "big");
        let server = std::thread::spawn(move || {
            let mut s = listener.accept().unwrap();
            let mut asked = Vec::new();
            for round in 0..2 {
                let (h, request) = s.receive().unwrap();
                let keys: Vec<String> = CgroupsLookupRequestView::decode(request)
                    .unwrap()
                    .iter()
                    .map(|k| String::from_utf8(k.as_bytes().to_vec()).unwrap())
                    .collect();
                let mut out = Vec::new();
                let mut b = CgroupsLookupResponseBuilder::new(&mut out, 1, 65536);
                for (i, k) in keys.iter().enumerate() {
                    let e = match (round, i) {
                        (0, 0) => {
                            CgroupsLookupEntry::unknown(k.as_bytes(), CgroupsLookupStatus::OversizedItem)
                        }
                        (0, _) => {
                            CgroupsLookupEntry::unknown(k.as_bytes(), CgroupsLookupStatus::PayloadExceeded)
                        }
                        _ => CgroupsLookupEntry::known(k.as_bytes(), Orchestrator::K8S, b"n", &[]),
                    };
                    b.add(&e).unwrap();
                }
                let n = b.finish();
                asked.push(keys);
                let response = Header {
                    kind: Kind::Response,
                    ..h
                };
                s.send(&response, &out[..n]).unwrap();
            }
            let _ = s.receive();
            asked
        });
        let mut c = CgroupsLookupClient::new(dir.path(), "big", lookup_client(PROFILE_BASELINE, 10));
        c.refresh();
        let v = c.call(&["/a", "/b"]).unwrap();
        let got: Vec<_> = v
            .iter()
            .map(|i| (String::from_utf8(i.path.as_bytes().to_vec()).unwrap(), i.status))
            .collect();
        assert_eq!(
            got,
            [
                ("/a".to_owned(), CgroupsLookupStatus::OversizedItem),
                ("/b".to_owned(), CgroupsLookupStatus::Known)
            ]
        );
        drop(c);
        assert_eq!(server.join().unwrap(), [vec!["/a", "/b"], vec!["/b"]]);
    }

    #[test]
    fn a_response_that_answers_no_key_is_rejected_not_retried() {
        // Every key PAYLOAD_EXCEEDED, the first one too: a client that
        // retried would ask forever.
        let dir = RunDir::new("lookup");
        let server = answer_once(&dir, "stall", |out| {
            let mut b = CgroupsLookupResponseBuilder::new(out, 1, 65536);
            for path in [&b"/a"[..], b"/b"] {
                let e = CgroupsLookupEntry::unknown(path, CgroupsLookupStatus::PayloadExceeded);
                b.add(&e).unwrap();
            }
            b.finish()
        });
        assert_rejected(&dir, "stall", &["/a", "/b"], server);
    }
}

/// A lookup callback that reports failure fails that call with the
/// server's INTERNAL_ERROR; the client reconnects and the next call works.
#[test]
fn a_failing_lookup_handler_fails_only_its_call() {
    use netipc_service::transport::codec::STATUS_INTERNAL_ERROR;
    let dir = RunDir::new("lookup");
    let picky_cgroups = cgroups::Handler {
        handle: Some(Box::new(|r| {
            // Every key answered, and still a failure: the answer must not
            // go out.
            while r.next_key().is_some() {
                if r.not_known(CgroupsLookupStatus::UnknownPermanent).is_err() {
                    return false;
                }
            }
            r.key_count() != 3
        })),
    };
    let picky_apps = apps::Handler {
        handle: Some(Box::new(|r| {
            // Every key answered, and still a failure: the answer must not
            // go out.
            while r.next_key().is_some() {
                if r.not_known(AppsLookupStatus::Unknown).is_err() {
                    return false;
                }
            }
            r.key_count() != 3
        })),
    };
    let server = || lookup_server(PROFILE_BASELINE, 65536);
    let _cg = Running::start(dir.path(), "pcg", server(), picky_cgroups);
    let _apps = Running::start(dir.path(), "papps", server(), picky_apps);
    let failed = |e: ServiceError| {
        matches!(
            e,
            ServiceError::ServerStatus {
                status: STATUS_INTERNAL_ERROR,
                ..
            }
        )
    };

    let mut c = CgroupsLookupClient::new(dir.path(), "pcg", lookup_client(PROFILE_BASELINE, 16));
    c.refresh();
    assert!(failed(c.call(&["/a", "/b", "/c"]).unwrap_err()));
    c.refresh();
    let v = c.call(&["/a", "/b"]).unwrap();
    assert_eq!(v.item_count, 2);
    assert!(
        v.iter()
            .all(|i| i.status == CgroupsLookupStatus::UnknownPermanent)
    );

    let mut a = AppsLookupClient::new(dir.path(), "papps", lookup_client(PROFILE_BASELINE, 16));
    a.refresh();
    assert!(failed(a.call(&[1, 2, 3]).unwrap_err()));
    a.refresh();
    let v = a.call(&[1, 2]).unwrap();
    assert_eq!(v.item_count, 2);
    assert!(v.iter().all(|i| i.status == AppsLookupStatus::Unknown));
}

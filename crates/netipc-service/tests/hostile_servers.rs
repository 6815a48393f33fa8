//! Typed clients of every service kind against a server that answers from
//! a random script: raw bytes, silence, hang-ups, and answers built from
//! the real request (right or wrong values, any status, any budget, so
//! lookups meet PAYLOAD_EXCEEDED rounds) with byte flips. Each call ends
//! within its timeout with a result or a typed error, no client code
//! panics (a panic hook counts them), and a lookup that succeeds has one
//! item per key.
#![cfg(target_os = "linux")]

mod common;

use common::*;
use netipc_service::lookup::{apps, cgroups as cgroups_lookup};
use netipc_service::string_reverse::StringReverseClient;
use netipc_service::transport::codec::lookup::{
    AppsLookupEntry, AppsLookupRequestView, AppsLookupResponder, AppsLookupStatus, CgroupsLookupRequestView,
    CgroupsLookupResponder, CgroupsLookupStatus, Orchestrator,
};
use netipc_service::transport::codec::{
    self, BatchBuilder, BatchView, CgroupsBuilder, HEADER_LEN, Header, Kind, METHOD_APPS_LOOKUP,
    METHOD_CGROUPS_LOOKUP, METHOD_CGROUPS_SNAPSHOT, METHOD_INCREMENT, METHOD_STRING_REVERSE, STATUS_OK,
};
use netipc_service::transport::handshake::{ack_packet, negotiate};
use netipc_service::{cgroups, increment};
use proptest::prelude::*;
use std::collections::VecDeque;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CALL_TIMEOUT: Duration = Duration::from_millis(300);

/// How the server answers one request.
#[derive(Debug, Clone)]
enum Answer {
    /// Any bytes at all.
    Raw(Vec<u8>),
    /// No answer: the client's call times out.
    Silent,
    /// The session ends.
    HangUp,
    /// An answer built from the request: `choices` pick each key's outcome
    /// (and values), the payload budget is `budget`, then `status`, an id
    /// off by one and byte flips spoil it or not.
    Built {
        choices: Vec<u8>,
        budget: usize,
        status: Option<u16>,
        other_id: bool,
        flips: Vec<(usize, u8)>,
    },
}

fn answer() -> impl Strategy<Value = Answer> {
    prop_oneof![
        2 => prop::collection::vec(any::<u8>(), 0..120).prop_map(Answer::Raw),
        1 => Just(Answer::Silent),
        2 => Just(Answer::HangUp),
        15 => (
            prop::collection::vec(any::<u8>(), 1..16),
            prop_oneof![Just(65536usize), 16usize..2000],
            prop::option::weighted(0.1, any::<u16>()),
            prop::bool::weighted(0.05),
            prop::collection::vec((any::<usize>(), 1u8..), 0..2),
        )
            .prop_map(|(choices, budget, status, other_id, flips)| Answer::Built {
                choices,
                budget,
                status,
                other_id,
                flips,
            }),
    ]
}

/// One typed call a client makes.
#[derive(Debug, Clone)]
enum Call {
    Increment(u64),
    IncrementBatch(Vec<u64>),
    Reverse(Vec<u8>),
    ReverseBatch(Vec<Vec<u8>>),
    Snapshot,
    CgroupsLookup(Vec<Vec<u8>>),
    AppsLookup(Vec<u32>),
}

fn call() -> impl Strategy<Value = Call> {
    let path = prop::collection::vec(b'a'..=b'z', 1..30);
    prop_oneof![
        any::<u64>().prop_map(Call::Increment),
        prop::collection::vec(any::<u64>(), 2..20).prop_map(Call::IncrementBatch),
        prop::collection::vec(any::<u8>(), 0..100).prop_map(Call::Reverse),
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..20), 2..10).prop_map(Call::ReverseBatch),
        Just(Call::Snapshot),
        prop::collection::vec(path, 1..200).prop_map(Call::CgroupsLookup),
        prop::collection::vec(1u32..100_000, 1..300).prop_map(Call::AppsLookup),
    ]
}

/// The `i`th choice, cycling.
fn pick(choices: &[u8], i: usize) -> u8 {
    choices[i % choices.len()]
}

/// A payload for `request`, as an honest or careless server might build it.
fn payload_for(h: &Header, request: &[u8], choices: &[u8], budget: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let one = |out: &mut Vec<u8>, item: &[u8], n: usize| match h.code {
        METHOD_INCREMENT => {
            let v = codec::increment::decode(item).unwrap_or(0);
            out.extend_from_slice(&codec::increment::encode(
                v.wrapping_add(u64::from(pick(choices, n) % 2)),
            ));
        }
        _ => {
            let text = codec::string_reverse::decode(item).map_or(&[][..], |v| v.as_bytes());
            let mut s: Vec<u8> = text.iter().rev().copied().collect();
            s.truncate(s.len().saturating_sub(usize::from(pick(choices, n) % 2)));
            let _ = codec::string_reverse::encode(&s, out);
        }
    };
    match h.code {
        METHOD_INCREMENT | METHOD_STRING_REVERSE if h.is_batch() => {
            let Ok(items) = BatchView::decode(request, h.item_count) else {
                return out;
            };
            // Now and then one item short.
            let short = pick(choices, 0) % 2 == 1 && choices.len() > 3;
            let count = h.item_count.saturating_sub(u32::from(short));
            let mut b = BatchBuilder::new(&mut out, count, budget);
            let mut item = Vec::new();
            for (n, x) in items.iter().take(count as usize).enumerate() {
                item.clear();
                one(&mut item, x, n);
                let _ = b.add(&item);
            }
            let (len, _) = b.finish();
            out.truncate(len);
        }
        METHOD_INCREMENT | METHOD_STRING_REVERSE => one(&mut out, request, 0),
        METHOD_CGROUPS_SNAPSHOT => {
            let mut b = CgroupsBuilder::new(&mut out, budget);
            b.set_header(1, u64::from(pick(choices, 0)));
            for (n, &c) in choices.iter().enumerate() {
                let name = vec![b'n'; usize::from(c % 40) + 1];
                let _ = b.add(n as u32, 0, 1, &name, b"/p");
            }
            let len = b.finish();
            out.truncate(len);
        }
        METHOD_CGROUPS_LOOKUP => {
            let Ok(req) = CgroupsLookupRequestView::decode(request) else {
                return out;
            };
            let Ok(mut r) = CgroupsLookupResponder::new(&mut out, req, 3, budget) else {
                return Vec::new();
            };
            let mut n = 0;
            while r.next_key().is_some() {
                let _ = match pick(choices, n) % 4 {
                    0 => r.not_known(CgroupsLookupStatus::UnknownRetryLater),
                    1 => r.not_known(CgroupsLookupStatus::OversizedItem),
                    _ => r.known(Orchestrator::K8S, b"name", &[]),
                };
                n += 1;
            }
            let len = r.finish().unwrap_or(0);
            out.truncate(len);
        }
        METHOD_APPS_LOOKUP => {
            let Ok(req) = AppsLookupRequestView::decode(request) else {
                return out;
            };
            let Ok(mut r) = AppsLookupResponder::new(&mut out, req, 3, budget) else {
                return Vec::new();
            };
            let mut n = 0;
            while let Some(pid) = r.next_key() {
                let _ = match pick(choices, n) % 3 {
                    0 => r.not_known(AppsLookupStatus::Unknown),
                    1 => r.not_known(AppsLookupStatus::OversizedItem),
                    _ => r.answer(&AppsLookupEntry {
                        comm: b"proc",
                        cgroup_path: b"/x",
                        cgroup_name: b"x",
                        status: AppsLookupStatus::Known,
                        ..AppsLookupEntry::not_known(pid, AppsLookupStatus::Known)
                    }),
                };
                n += 1;
            }
            let len = r.finish().unwrap_or(0);
            out.truncate(len);
        }
        _ => {}
    }
    out
}

/// The packet answering `request` under `a`; `None` hangs up, empty stays
/// silent.
fn respond(a: &Answer, h: &Header, request: &[u8]) -> Option<Vec<u8>> {
    match a {
        Answer::Raw(b) => Some(b.clone()),
        Answer::Silent => Some(Vec::new()),
        Answer::HangUp => None,
        Answer::Built {
            choices,
            budget,
            status,
            other_id,
            flips,
        } => {
            let payload = payload_for(h, request, choices, *budget);
            let out = Header {
                kind: Kind::Response,
                transport_status: status.unwrap_or(STATUS_OK),
                message_id: h.message_id + u64::from(*other_id),
                payload_len: payload.len() as u32,
                ..*h
            };
            let mut b = [&out.encode()[..], &payload].concat();
            let n = b.len();
            for &(at, x) in flips {
                b[at % n] ^= x;
            }
            Some(b)
        }
    }
}

/// Serves one session by the script; returns when it ends.
fn serve_session(fd: &OwnedFd, session: u64, script: &Mutex<VecDeque<Answer>>) {
    let cfg = netipc_service::transport::ServerConfig {
        max_request_payload_bytes: 8192,
        max_response_payload_bytes: 65536,
        max_request_batch_items: 64,
        max_response_batch_items: 64,
        auth_token: TOKEN,
        ..Default::default()
    };
    let hello = raw::recv(fd.as_raw_fd());
    if !raw::try_send(
        fd.as_raw_fd(),
        &ack_packet(&negotiate(&hello, &cfg, 65536, session)),
    ) {
        return;
    }
    loop {
        let request = raw::recv(fd.as_raw_fd());
        let Ok(h) = Header::decode(&request) else {
            return;
        };
        // Past the script, answers are honest.
        let a = script.lock().unwrap().pop_front().unwrap_or(Answer::Built {
            choices: vec![2],
            budget: 65536,
            status: None,
            other_id: false,
            flips: Vec::new(),
        });
        match respond(&a, &h, &request[HEADER_LEN..]) {
            None => return,
            Some(p) if p.is_empty() => {}
            Some(p) => {
                if !raw::try_send(fd.as_raw_fd(), &p) {
                    return;
                }
            }
        }
    }
}

/// Makes `c`'s call; checks what it can of a result.
fn run(dir: &Path, c: &Call) -> Result<(), TestCaseError> {
    let cfg = netipc_service::ClientConfig {
        call_timeout: CALL_TIMEOUT,
        max_request_payload_bytes: 8192,
        ..client_config(65536)
    };
    let started = Instant::now();
    let svc = "liar";
    match c {
        Call::Increment(v) => {
            let mut cl = increment::IncrementClient::new(dir, svc, cfg);
            cl.refresh();
            let _ = cl.call(*v);
        }
        Call::IncrementBatch(vs) => {
            let mut cl = increment::IncrementClient::new(dir, svc, cfg);
            cl.refresh();
            if let Ok(out) = cl.call_batch(vs) {
                prop_assert_eq!(out.len(), vs.len());
            }
        }
        Call::Reverse(s) => {
            let mut cl = StringReverseClient::new(dir, svc, cfg);
            cl.refresh();
            let _ = cl.call(s).map(|v| v.as_bytes().len());
        }
        Call::ReverseBatch(items) => {
            let mut cl = StringReverseClient::new(dir, svc, cfg);
            cl.refresh();
            let items: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
            if let Ok(out) = cl.call_batch(&items) {
                prop_assert_eq!(out.len(), items.len());
            }
        }
        Call::Snapshot => {
            let mut cl = cgroups::CgroupsClient::new(dir, svc, cfg);
            cl.refresh();
            let _ = cl.call_snapshot().map(|v| v.iter().count());
        }
        Call::CgroupsLookup(paths) => {
            let mut cl = cgroups_lookup::CgroupsLookupClient::new(dir, svc, cfg);
            cl.refresh();
            if let Ok(v) = cl.call(paths) {
                prop_assert_eq!(v.item_count as usize, paths.len());
            }
        }
        Call::AppsLookup(pids) => {
            let mut cl = apps::AppsLookupClient::new(dir, svc, cfg);
            cl.refresh();
            if let Ok(v) = cl.call(pids) {
                prop_assert_eq!(v.item_count as usize, pids.len());
            }
        }
    }
    // A stall guard, not a measure of speed: one deadline covers a call's
    // resends and subcalls, and a call that lost it would wait for the
    // client's 30 s default or for ever.
    let took = started.elapsed();
    prop_assert!(
        took < netipc_service::CALL_TIMEOUT_DEFAULT / 2,
        "{c:?} stalled: {took:?}"
    );
    Ok(())
}

fn case(script: Vec<Answer>, calls: &[Call]) -> Result<(), TestCaseError> {
    let dir = RunDir::new("liar");
    let listener = raw::listen(&dir.path().join("liar.sock"));
    let stop = Arc::new(AtomicBool::new(false));
    let script = Arc::new(Mutex::new(VecDeque::from(script)));
    let server = {
        let (stop, script) = (Arc::clone(&stop), Arc::clone(&script));
        std::thread::spawn(move || {
            let mut session = 0;
            while !stop.load(Ordering::SeqCst) {
                let fd = raw::accept(listener.as_raw_fd());
                session += 1;
                serve_session(&fd, session, &script);
            }
        })
    };
    let result = calls.iter().try_for_each(|c| run(dir.path(), c));
    stop.store(true, Ordering::SeqCst);
    // Wakes the server's accept; it may have seen the flag already.
    drop(raw::try_connect(&dir.path().join("liar.sock")));
    server.join().unwrap();
    result
}

#[test]
fn hostile_servers_never_panic_or_stall_a_client() {
    let panics = count_panics();
    let config = ProptestConfig {
        cases: proptest_cases(192),
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let strategy = (
        prop::collection::vec(answer(), 0..8),
        prop::collection::vec(call(), 1..4),
    );
    proptest::test_runner::TestRunner::new(config)
        .run(&strategy, |(script, calls)| case(script, &calls))
        .unwrap();
    assert_eq!(panics.load(Ordering::SeqCst), 0, "client code panicked");
}

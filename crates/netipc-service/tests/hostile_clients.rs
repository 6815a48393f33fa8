//! Live managed servers of every service kind against clients that send
//! arbitrary bytes: random packets, and well-framed requests of the right
//! method whose payloads, flags and counts are random or corrupted. No
//! server code may panic (a handler's panic would be caught and answered,
//! so a panic hook counts them), every answer is a well-formed response,
//! every session ends, and honest clients are served afterwards. Over the
//! socket, and over shared memory; blocking servers, and the async ones
//! of `netipc-async` (sessions as tasks).
#![cfg(target_os = "linux")]

mod common;

use common::*;
use netipc_service::lookup::{apps, cgroups as cgroups_lookup};
use netipc_service::transport::TransportError;
use netipc_service::transport::codec;
use netipc_service::transport::codec::lookup::{AppsLookupRequestBuilder, CgroupsLookupRequestBuilder};
use netipc_service::transport::codec::{
    BatchBuilder, CODE_HELLO_ACK, FLAG_BATCH, HEADER_LEN, Header, Kind, METHOD_APPS_LOOKUP,
    METHOD_CGROUPS_LOOKUP, METHOD_CGROUPS_SNAPSHOT, METHOD_INCREMENT, METHOD_STRING_REVERSE,
    PROFILE_BASELINE, PROFILE_SHM_HYBRID, encode_cgroups_request, string_reverse,
};
use netipc_service::transport::handshake::{client_hello, hello_packet, read_ack};
use netipc_service::transport::posix::shm::ShmRegion;
use netipc_service::{cgroups, increment};
use proptest::prelude::*;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// The profiles of the shared-memory attack.
const SHM: u32 = PROFILE_BASELINE | PROFILE_SHM_HYBRID;

/// The services under attack, as (service name, method).
const SERVICES: [(&str, u16); 5] = [
    ("inc", METHOD_INCREMENT),
    ("rev", METHOD_STRING_REVERSE),
    ("snap", METHOD_CGROUPS_SNAPSHOT),
    ("cgl", METHOD_CGROUPS_LOOKUP),
    ("apl", METHOD_APPS_LOOKUP),
];

/// One packet a hostile client sends after its handshake.
#[derive(Debug, Clone)]
enum Packet {
    /// Any bytes at all.
    Raw(Vec<u8>),
    /// A valid request of the service's method made of `keys` (one item
    /// per key in a batch, else from the first key), then byte flips over
    /// the whole packet.
    Valid {
        keys: Vec<Vec<u8>>,
        batch: bool,
        flips: Vec<(usize, u8)>,
    },
    /// A request header of the service's method with these fields, then
    /// any payload (payload_len says its length unless `lie` replaces it),
    /// then byte flips over the whole packet.
    Request {
        batch: bool,
        item_count: u32,
        payload: Vec<u8>,
        lie: Option<u32>,
        flips: Vec<(usize, u8)>,
    },
}

fn flips() -> impl Strategy<Value = Vec<(usize, u8)>> {
    prop::collection::vec((any::<usize>(), 1u8..), 0..3)
}

fn packet() -> impl Strategy<Value = Packet> {
    let keys = prop::collection::vec(prop::collection::vec(any::<u8>(), 1..40), 1..6);
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..200).prop_map(Packet::Raw),
        4 => (keys, any::<bool>(), flips())
            .prop_map(|(keys, batch, flips)| Packet::Valid { keys, batch, flips }),
        2 => (
            any::<bool>(),
            prop_oneof![Just(1u32), 0u32..40],
            prop::collection::vec(any::<u8>(), 0..600),
            prop::option::weighted(0.1, any::<u32>()),
            flips(),
        )
            .prop_map(|(batch, item_count, payload, lie, flips)| Packet::Request {
                batch,
                item_count,
                payload,
                lie,
                flips,
            }),
    ]
}

/// A request payload of `method` made from one key.
fn request_payload(method: u16, key: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match method {
        METHOD_INCREMENT => {
            let mut v = [0u8; 8];
            for (d, s) in v.iter_mut().zip(key) {
                *d = *s;
            }
            out.extend_from_slice(&codec::increment::encode(u64::from_ne_bytes(v)));
        }
        METHOD_STRING_REVERSE => {
            let _ = string_reverse::encode(key, &mut out);
        }
        METHOD_CGROUPS_SNAPSHOT => out.extend_from_slice(&encode_cgroups_request()),
        METHOD_CGROUPS_LOOKUP => {
            let mut b = CgroupsLookupRequestBuilder::new(&mut out, 4096);
            let _ = b.add(key);
            let n = b.finish();
            out.truncate(n);
        }
        _ => {
            let mut b = AppsLookupRequestBuilder::new(&mut out, 4096);
            for pid in key.chunks(4) {
                let _ = b.add(pid.iter().fold(0, |v, &x| v << 8 | u32::from(x)));
            }
            let n = b.finish();
            out.truncate(n);
        }
    }
    out
}

/// Flips bytes of a packet in place.
fn flip(b: &mut [u8], flips: &[(usize, u8)]) {
    let n = b.len();
    for &(at, x) in flips {
        b[at % n] ^= x;
    }
}

/// The bytes of `p` for a service of `method`; message ids count up.
fn encode(p: &Packet, method: u16, id: u64) -> Vec<u8> {
    let request = Header::new(Kind::Request, method, id, 0);
    let (h, payload, flips) = match p {
        Packet::Raw(b) => return b.clone(),
        Packet::Valid {
            keys,
            batch: false,
            flips,
        } => {
            let payload = request_payload(method, &keys[0]);
            let h = Header {
                payload_len: payload.len() as u32,
                ..request
            };
            (h, payload, flips)
        }
        Packet::Valid {
            keys,
            batch: true,
            flips,
        } => {
            let mut out = Vec::new();
            let mut b = BatchBuilder::new(&mut out, keys.len() as u32, 4096);
            for k in keys {
                let _ = b.add(&request_payload(method, k));
            }
            let (len, item_count) = b.finish();
            out.truncate(len);
            let h = Header {
                flags: FLAG_BATCH,
                item_count,
                payload_len: len as u32,
                ..request
            };
            (h, out, flips)
        }
        Packet::Request {
            batch,
            item_count,
            payload,
            lie,
            flips,
        } => {
            let h = Header {
                flags: if *batch { FLAG_BATCH } else { 0 },
                item_count: *item_count,
                payload_len: lie.unwrap_or(payload.len() as u32),
                ..request
            };
            (h, payload.clone(), flips)
        }
    };
    let mut b = [&h.encode()[..], &payload].concat();
    flip(&mut b, flips);
    b
}

/// Servers of 4 KiB and 64 items, offering `profiles`.
fn servers_config(profiles: u32) -> netipc_service::ServerConfig {
    netipc_service::ServerConfig {
        supported_profiles: profiles,
        preferred_profiles: profiles,
        max_request_batch_items: 64,
        max_response_batch_items: 64,
        ..server_config(4096)
    }
}

/// The Level 1 proposal of the hostile clients: 4 KiB, 64 items.
fn hostile_hello(profiles: u32) -> [u8; HEADER_LEN + 44] {
    let cfg = netipc_service::transport::ClientConfig {
        supported_profiles: profiles,
        preferred_profiles: profiles,
        max_request_payload_bytes: 4096,
        max_response_payload_bytes: 4096,
        max_request_batch_items: 64,
        max_response_batch_items: 64,
        auth_token: TOKEN,
        ..Default::default()
    };
    hello_packet(&client_hello(&cfg, 65536))
}

/// Receives until the server closes the session, checking that each
/// answer is a HELLO_ACK (first) or a response; fails on a session that
/// stays open 10 s after the client stopped sending.
fn drain_answers(fd: &OwnedFd, handshaken: bool) -> Result<(), TestCaseError> {
    let mut first = true;
    loop {
        let answer = match raw::recv_result(fd.as_raw_fd()) {
            Ok(a) if a.is_empty() => return Ok(()),
            Ok(a) => a,
            // The server reset the session: it ended.
            Err(e) if e.raw_os_error() == Some(libc::ECONNRESET) => return Ok(()),
            Err(e) => return Err(TestCaseError::fail(format!("the session stayed open: {e}"))),
        };
        let h = Header::decode(&answer)
            .map_err(|e| TestCaseError::fail(format!("an answer that does not decode: {e}")))?;
        if first && !handshaken {
            prop_assert_eq!((h.kind, h.code), (Kind::Control, CODE_HELLO_ACK));
        } else {
            prop_assert_eq!(h.kind, Kind::Response);
            prop_assert_eq!(h.payload_len as usize, answer.len() - HEADER_LEN);
        }
        first = false;
    }
}

fn attack(dir: &Path, service: usize, handshake: bool, packets: &[Packet]) -> Result<(), TestCaseError> {
    let (name, method) = SERVICES[service];
    let fd = raw::connect(&dir.join(format!("{name}.sock")));
    raw::set_recv_timeout(fd.as_raw_fd(), Duration::from_secs(10));
    if handshake {
        raw::send(fd.as_raw_fd(), &hostile_hello(PROFILE_BASELINE));
        let ack = raw::recv(fd.as_raw_fd());
        prop_assert!(!ack.is_empty(), "the HELLO was refused");
    }
    for (i, p) in packets.iter().enumerate() {
        // The server may have closed the session already: a refused send
        // is part of the game.
        raw::try_send(fd.as_raw_fd(), &encode(p, method, i as u64 + 1));
    }
    raw::shutdown_write(fd.as_raw_fd());
    drain_answers(&fd, handshake)
}

/// Waits until `active` reads 0; fails after 10 s.
fn wait_idle(active: impl Fn() -> usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(10);
    while active() != 0 && Instant::now() < deadline {
        std::thread::yield_now();
    }
    active()
}

/// A blocking or an async managed server, stopped on drop.
enum Server<H: netipc_service::ServiceHandler> {
    Blocking(Running<H>),
    Async(AsyncRunning<H>),
}

impl<H: netipc_service::ServiceHandler> Server<H> {
    fn start(async_server: bool, dir: &Path, service: &str, cfg: netipc_service::ServerConfig, h: H) -> Self {
        if async_server {
            Server::Async(AsyncRunning::start(dir, service, cfg, h))
        } else {
            Server::Blocking(Running::start(dir, service, cfg, h))
        }
    }

    fn active_sessions(&self) -> usize {
        match self {
            Server::Blocking(r) => r.server.active_sessions(),
            Server::Async(r) => r.server.active_sessions(),
        }
    }
}

/// An async managed server on a runtime of its own (two workers).
struct AsyncRunning<H: netipc_service::ServiceHandler> {
    server: std::sync::Arc<netipc_async::ManagedServer<H>>,
    runtime: Option<tokio::runtime::Runtime>,
    task: Option<tokio::task::JoinHandle<netipc_service::Result<()>>>,
}

impl<H: netipc_service::ServiceHandler> AsyncRunning<H> {
    fn start(dir: &Path, service: &str, cfg: netipc_service::ServerConfig, handler: H) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let server = std::sync::Arc::new(netipc_async::ManagedServer::new(dir, service, cfg, handler));
        let (tx, rx) = std::sync::mpsc::channel();
        let s = std::sync::Arc::clone(&server);
        let task = runtime.spawn(async move { s.run_notify(move || tx.send(()).unwrap()).await });
        rx.recv_timeout(PATIENCE).expect("server bound in time");
        Self {
            server,
            runtime: Some(runtime),
            task: Some(task),
        }
    }
}

impl<H: netipc_service::ServiceHandler> Drop for AsyncRunning<H> {
    fn drop(&mut self) {
        self.server.stop();
        if let (Some(rt), Some(task)) = (self.runtime.take(), self.task.take()) {
            let served = rt.block_on(task);
            if !std::thread::panicking() {
                served.expect("the server task ended").expect("the server ran");
            }
        }
    }
}

/// A live server of each service kind, in one run dir.
struct Fleet {
    dir: RunDir,
    profiles: u32,
    inc: Server<increment::Handler>,
    rev: Server<netipc_service::string_reverse::Handler>,
    snap: Server<cgroups::Handler>,
    cgl: Server<cgroups_lookup::Handler>,
    apl: Server<apps::Handler>,
}

impl Fleet {
    fn start(profiles: u32) -> Self {
        Self::start_as(profiles, false)
    }

    /// The fleet of async servers.
    fn start_async(profiles: u32) -> Self {
        Self::start_as(profiles, true)
    }

    fn start_as(profiles: u32, a: bool) -> Self {
        let dir = RunDir::new("hostile");
        let cfg = || servers_config(profiles);
        let inc = increment::Handler {
            handle: Some(Box::new(|v| Some(v.wrapping_add(1)))),
        };
        let snap = cgroups::Handler {
            handle: Some(Box::new(|_, b| {
                b.set_header(1, 9);
                b.add(7, 0, 1, b"name", b"/path").is_ok()
            })),
        };
        let cgl = cgroups_lookup::Handler {
            handle: Some(Box::new(|r| {
                r.set_generation(1);
                while let Some(p) = r.next_key() {
                    let name = p.as_bytes().to_vec();
                    if r.known(cgroups_lookup::Orchestrator::K8S, &name, &[]).is_err() {
                        return false;
                    }
                }
                true
            })),
        };
        let apl = apps::Handler {
            handle: Some(Box::new(|r| {
                r.set_generation(1);
                while r.next_key().is_some() {
                    if r.not_known(apps::AppsLookupStatus::Unknown).is_err() {
                        return false;
                    }
                }
                true
            })),
        };
        Self {
            inc: Server::start(a, dir.path(), "inc", cfg(), inc),
            rev: Server::start(a, dir.path(), "rev", cfg(), reverser()),
            snap: Server::start(a, dir.path(), "snap", cfg(), snap),
            cgl: Server::start(a, dir.path(), "cgl", cfg(), cgl),
            apl: Server::start(a, dir.path(), "apl", cfg(), apl),
            dir,
            profiles,
        }
    }

    /// Every session has ended, and an honest client of each kind, on the
    /// fleet's profiles, is served.
    fn check_after_attack(&self) {
        let active = [
            wait_idle(|| self.inc.active_sessions()),
            wait_idle(|| self.rev.active_sessions()),
            wait_idle(|| self.snap.active_sessions()),
            wait_idle(|| self.cgl.active_sessions()),
            wait_idle(|| self.apl.active_sessions()),
        ];
        assert_eq!(active, [0; 5], "sessions left behind");
        let dir = self.dir.path();
        let cfg = || netipc_service::ClientConfig {
            supported_profiles: self.profiles,
            preferred_profiles: self.profiles,
            ..client_config(4096)
        };
        let mut c = increment::IncrementClient::new(dir, "inc", cfg());
        c.refresh();
        assert_eq!(c.call(41).unwrap(), 42);
        let mut c = netipc_service::string_reverse::StringReverseClient::new(dir, "rev", cfg());
        c.refresh();
        assert_eq!(c.call(b"abc").unwrap().as_bytes(), b"cba");
        let mut c = cgroups::CgroupsClient::new(dir, "snap", cfg());
        c.refresh();
        assert_eq!(c.call_snapshot().unwrap().generation, 9);
        let mut c = cgroups_lookup::CgroupsLookupClient::new(dir, "cgl", cfg());
        c.refresh();
        assert_eq!(c.call(&["/a"]).unwrap().item_count, 1);
        let mut c = apps::AppsLookupClient::new(dir, "apl", cfg());
        c.refresh();
        assert_eq!(c.call(&[1, 2]).unwrap().item_count, 2);
    }
}

fn attack_cases() -> (ProptestConfig, impl Strategy<Value = (usize, bool, Vec<Packet>)>) {
    let config = ProptestConfig {
        cases: proptest_cases(512),
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let strategy = (
        0..SERVICES.len(),
        prop::bool::weighted(0.9),
        prop::collection::vec(packet(), 1..5),
    );
    (config, strategy)
}

#[test]
fn hostile_clients_never_panic_or_stall_a_server() {
    let panics = count_panics();
    let fleet = Fleet::start(PROFILE_BASELINE);
    let (config, strategy) = attack_cases();
    proptest::test_runner::TestRunner::new(config)
        .run(&strategy, |(service, handshake, packets)| {
            attack(fleet.dir.path(), service, handshake, &packets)
        })
        .unwrap();
    assert_eq!(panics.load(Ordering::SeqCst), 0, "server code panicked");
    fleet.check_after_attack();
}

/// Waits for the server's answer in `region` and checks it is a response;
/// `Ok(false)` once the server has closed the session (`fd`) instead.
fn shm_answer(region: &mut ShmRegion, fd: &OwnedFd) -> Result<bool, TestCaseError> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut answer = Vec::new();
    loop {
        match region.receive(&mut answer, Some(Instant::now() + Duration::from_millis(2))) {
            Ok(n) => {
                let h = Header::decode(&answer[..n])
                    .map_err(|e| TestCaseError::fail(format!("an answer that does not decode: {e}")))?;
                prop_assert_eq!(h.kind, Kind::Response);
                prop_assert_eq!(h.payload_len as usize, n - HEADER_LEN);
                return Ok(true);
            }
            Err(TransportError::Timeout) => {
                if raw::closed(fd.as_raw_fd()) {
                    return Ok(false);
                }
                prop_assert!(Instant::now() < deadline, "neither an answer nor a close");
            }
            Err(e) => return Err(TestCaseError::fail(format!("receive: {e}"))),
        }
    }
}

/// The same attack over shared memory: each message is published in the
/// request area, and its answer (or the session's close) awaited.
fn attack_over_shm(dir: &Path, service: usize, packets: &[Packet]) -> Result<(), TestCaseError> {
    let (name, method) = SERVICES[service];
    let fd = raw::connect(&dir.join(format!("{name}.sock")));
    raw::send(fd.as_raw_fd(), &hostile_hello(SHM));
    let params = read_ack(&raw::recv(fd.as_raw_fd()))
        .map_err(|e| TestCaseError::fail(format!("the HELLO was refused: {e}")))?;
    prop_assert_eq!(params.selected_profile, PROFILE_SHM_HYBRID);
    let mut region = ShmRegion::attach(dir, name, params.session_id)
        .map_err(|e| TestCaseError::fail(format!("attach: {e}")))?;
    for (i, p) in packets.iter().enumerate() {
        let bytes = encode(p, method, i as u64 + 1);
        let (head, body) = bytes.split_at(bytes.len().min(HEADER_LEN));
        // An empty message, or one over the area, cannot be published.
        if region.send(head, body).is_err() {
            continue;
        }
        if !shm_answer(&mut region, &fd)? {
            break;
        }
    }
    Ok(())
}

#[test]
fn hostile_clients_over_shared_memory_never_panic_or_stall_a_server() {
    let panics = count_panics();
    let fleet = Fleet::start(SHM);
    let (mut config, strategy) = attack_cases();
    config.cases = proptest_cases(256);
    proptest::test_runner::TestRunner::new(config)
        .run(&strategy, |(service, _, packets)| {
            attack_over_shm(fleet.dir.path(), service, &packets)
        })
        .unwrap();
    assert_eq!(panics.load(Ordering::SeqCst), 0, "server code panicked");
    fleet.check_after_attack();
}

#[test]
fn hostile_clients_never_panic_or_stall_an_async_server() {
    let panics = count_panics();
    let fleet = Fleet::start_async(PROFILE_BASELINE);
    let (mut config, strategy) = attack_cases();
    config.cases = proptest_cases(256);
    proptest::test_runner::TestRunner::new(config)
        .run(&strategy, |(service, handshake, packets)| {
            attack(fleet.dir.path(), service, handshake, &packets)
        })
        .unwrap();
    assert_eq!(panics.load(Ordering::SeqCst), 0, "server code panicked");
    fleet.check_after_attack();
}

#[test]
fn hostile_clients_over_shared_memory_never_panic_or_stall_an_async_server() {
    let panics = count_panics();
    let fleet = Fleet::start_async(SHM);
    let (mut config, strategy) = attack_cases();
    config.cases = proptest_cases(128);
    proptest::test_runner::TestRunner::new(config)
        .run(&strategy, |(service, _, packets)| {
            attack_over_shm(fleet.dir.path(), service, &packets)
        })
        .unwrap();
    assert_eq!(panics.load(Ordering::SeqCst), 0, "server code panicked");
    fleet.check_after_attack();
}

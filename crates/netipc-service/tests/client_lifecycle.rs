//! Client states, retries, timeouts and aborts, and peers that break the
//! contract.

mod common;

use common::*;
use netipc_service::cgroups::{self, CgroupsClient};
use netipc_service::increment::{self, IncrementClient};
use netipc_service::transport::codec::{STATUS_INTERNAL_ERROR, STATUS_UNSUPPORTED};
use netipc_service::{ClientState, ServiceError};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

// The platform's raw Level 1 endpoints, for hand-written peers.
#[cfg(unix)]
use netipc_service::transport::posix::{UdsListener as RawListener, UdsSession as RawSession};
#[cfg(windows)]
use netipc_service::transport::windows::{NpListener as RawListener, NpSession as RawSession};

/// Accepts one session on a raw listener.
fn raw_accept(listener: &RawListener) -> RawSession {
    #[cfg(unix)]
    let session = listener.accept();
    #[cfg(windows)]
    let session = listener.accept(None);
    session.unwrap()
}

fn plus_one() -> increment::Handler {
    increment::Handler {
        handle: Some(Box::new(|v| Some(v + 1))),
    }
}

#[test]
fn lifecycle_without_a_server() {
    let dir = RunDir::new("svc");
    let mut c = IncrementClient::new(dir.path(), "absent", client_config(1024));
    assert_eq!(c.state(), ClientState::Disconnected);
    assert!(!c.ready());
    assert!(matches!(
        c.call(1),
        Err(ServiceError::NotReady(ClientState::Disconnected))
    ));
    assert!(c.refresh(), "state changed to NOT_FOUND");
    assert_eq!(c.state(), ClientState::NotFound);
    assert!(!c.refresh(), "still NOT_FOUND: no change");
    assert!(matches!(
        c.call(1),
        Err(ServiceError::NotReady(ClientState::NotFound))
    ));
    assert_eq!(c.status().call_count, 0);

    // The server appears later: the next refresh connects.
    let _srv = Running::start(dir.path(), "absent", server_config(1024), plus_one());
    assert!(c.refresh());
    assert!(c.ready());
    assert_eq!(c.call(41).unwrap(), 42);
    c.close();
    assert_eq!(c.state(), ClientState::Disconnected);
    // After close: calls fail at once, until a refresh connects again.
    assert!(matches!(
        c.call(1),
        Err(ServiceError::NotReady(ClientState::Disconnected))
    ));
    assert!(c.refresh() && c.ready());
    assert_eq!(c.call(1).unwrap(), 2);
}

#[test]
fn handshake_failures_map_to_states() {
    let dir = RunDir::new("svc");
    let _srv = Running::start(dir.path(), "inc", server_config(1024), plus_one());
    let mut bad_token = IncrementClient::new(
        dir.path(),
        "inc",
        netipc_service::ClientConfig {
            auth_token: 1,
            ..client_config(1024)
        },
    );
    bad_token.refresh();
    assert_eq!(bad_token.state(), ClientState::AuthFailed);
    let mut too_big = IncrementClient::new(dir.path(), "inc", client_config(4096));
    too_big.refresh();
    assert_eq!(too_big.state(), ClientState::Incompatible);
}

#[test]
fn typed_single_and_batch_calls() {
    let dir = RunDir::new("svc");
    let _srv = Running::start(dir.path(), "inc", server_config(65536), plus_one());
    let mut c = IncrementClient::new(dir.path(), "inc", client_config(65536));
    assert!(connect(|| {
        c.refresh();
        c.ready()
    }));
    assert_eq!(c.call(u64::MAX - 1).unwrap(), u64::MAX);
    let values: Vec<u64> = (0..1000).collect();
    let out = c.call_batch(&values).unwrap();
    assert_eq!(out, (1..=1000).collect::<Vec<u64>>());
    assert_eq!(c.call_batch(&[7]).unwrap(), vec![8]);
    assert_eq!(c.status().call_count, 3);
    assert_eq!(c.status().reconnect_count, 0);
}

#[test]
fn string_reverse_calls() {
    use netipc_service::string_reverse::StringReverseClient;
    let dir = RunDir::new("svc");
    let _srv = Running::start(dir.path(), "rev", server_config(65536), reverser());
    let mut c = StringReverseClient::new(dir.path(), "rev", client_config(65536));
    assert!(connect(|| {
        c.refresh();
        c.ready()
    }));
    assert_eq!(c.call(b"hello").unwrap().as_bytes(), b"olleh");
    assert_eq!(c.call(b"").unwrap().as_bytes(), b"");
    let got = c.call_batch(&[b"abc", b"", b"hello, world"]).unwrap();
    assert_eq!(got, vec![b"cba".to_vec(), vec![], b"dlrow ,olleh".to_vec()]);
}

/// A STRING_REVERSE server whose handler fails, is missing, or answers
/// more than the session allows: INTERNAL_ERROR for the first two; for the
/// third LIMIT_EXCEEDED, after which the client's next session has room.
#[test]
fn string_reverse_handler_failures() {
    use netipc_service::string_reverse::{Handler, StringReverseClient};
    use netipc_service::transport::codec::STATUS_INTERNAL_ERROR;
    let dir = RunDir::new("svc");
    let failing = Handler {
        handle: Some(Box::new(|_, _| false)),
    };
    let cases = [("fails", failing), ("none", Handler { handle: None })];
    for (service, handler) in cases {
        let _srv = Running::start(dir.path(), service, server_config(1024), handler);
        let mut c = StringReverseClient::new(dir.path(), service, client_config(1024));
        c.refresh();
        let r = c.call(b"abc").map(|s| s.as_bytes().to_vec());
        assert!(
            matches!(r, Err(ServiceError::ServerStatus(STATUS_INTERNAL_ERROR))),
            "{service}: {r:?}"
        );
    }
    // Ten copies of the input: 3 000 bytes out of a 1 KiB session.
    let tenfold = Handler {
        handle: Some(Box::new(|s, out| {
            for _ in 0..10 {
                out.extend_from_slice(s);
            }
            true
        })),
    };
    let cfg = netipc_service::ServerConfig {
        response_payload_ceiling: 1 << 16,
        ..server_config(1024)
    };
    let _srv = Running::start(dir.path(), "tenfold", cfg, tenfold);
    let mut c = StringReverseClient::new(dir.path(), "tenfold", client_config(1024));
    c.refresh();
    assert_eq!(c.call(&[b'x'; 300]).unwrap().as_bytes().len(), 3000);
    let st = c.status();
    assert_eq!((st.call_count, st.error_count), (1, 0));
    assert!(st.reconnect_count >= 1, "{st:?}");
}

#[test]
fn a_failed_call_is_retried_once_on_a_new_session() {
    let dir = RunDir::new("svc");
    let calls = Arc::new(AtomicU32::new(0));
    let seen = Arc::clone(&calls);
    // Fails the first request (INTERNAL_ERROR closes that session), then works.
    let handler = increment::Handler {
        handle: Some(Box::new(move |v| {
            (seen.fetch_add(1, Ordering::SeqCst) > 0).then_some(v + 1)
        })),
    };
    let srv = Running::start(dir.path(), "retry", server_config(1024), handler);
    let mut c = IncrementClient::new(dir.path(), "retry", client_config(1024));
    c.refresh();
    assert_eq!(c.call(1).unwrap(), 2);
    assert_eq!(calls.load(Ordering::SeqCst), 2, "the request was sent twice");
    assert_eq!(c.status().reconnect_count, 1);
    assert!(c.ready());
    drop(srv);
}

#[test]
fn a_retry_that_fails_again_reports_the_error() {
    let dir = RunDir::new("svc");
    let calls = Arc::new(AtomicU32::new(0));
    let seen = Arc::clone(&calls);
    let handler = increment::Handler {
        handle: Some(Box::new(move |_| {
            seen.fetch_add(1, Ordering::SeqCst);
            None
        })),
    };
    let _srv = Running::start(dir.path(), "fail", server_config(1024), handler);
    let mut c = IncrementClient::new(dir.path(), "fail", client_config(1024));
    c.refresh();
    assert!(matches!(
        c.call(1),
        Err(ServiceError::ServerStatus(STATUS_INTERNAL_ERROR))
    ));
    assert_eq!(calls.load(Ordering::SeqCst), 2, "exactly one retry");
    assert_eq!(c.state(), ClientState::Broken);
    assert_eq!(c.status().error_count, 1);
    // The caller's loop reconnects.
    assert!(c.refresh());
    assert!(c.ready());
}

#[test]
fn a_handler_panic_closes_only_that_session() {
    let dir = RunDir::new("svc");
    let handler = increment::Handler {
        handle: Some(Box::new(|v| {
            assert!(v != 13, "unlucky");
            Some(v + 1)
        })),
    };
    let _srv = Running::start(dir.path(), "panic", server_config(1024), handler);
    let mut c = IncrementClient::new(dir.path(), "panic", client_config(1024));
    c.refresh();
    assert!(matches!(
        c.call(13),
        Err(ServiceError::ServerStatus(STATUS_INTERNAL_ERROR))
    ));
    c.refresh();
    assert_eq!(c.call(1).unwrap(), 2, "the server still serves");
    let mut other = IncrementClient::new(dir.path(), "panic", client_config(1024));
    other.refresh();
    assert_eq!(other.call(5).unwrap(), 6);
}

#[test]
fn the_wrong_method_is_unsupported() {
    let dir = RunDir::new("svc");
    let handler = cgroups::Handler {
        handle: Some(Box::new(|_, _| true)),
    };
    let _srv = Running::start(dir.path(), "cg", server_config(1024), handler);
    let mut c = IncrementClient::new(dir.path(), "cg", client_config(1024));
    c.refresh();
    assert!(matches!(
        c.call(1),
        Err(ServiceError::ServerStatus(STATUS_UNSUPPORTED))
    ));
    let mut right = CgroupsClient::new(dir.path(), "cg", client_config(1024));
    right.refresh();
    assert_eq!(right.call_snapshot().unwrap().item_count, 0);
}

fn slow_handler(delay: Duration, calls: Arc<AtomicU32>) -> increment::Handler {
    increment::Handler {
        handle: Some(Box::new(move |v| {
            calls.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(delay);
            Some(v + 1)
        })),
    }
}

#[test]
fn timeout_is_not_retried() {
    let dir = RunDir::new("svc");
    let calls = Arc::new(AtomicU32::new(0));
    let _srv = Running::start(
        dir.path(),
        "slow",
        server_config(1024),
        slow_handler(Duration::from_millis(500), Arc::clone(&calls)),
    );
    let cfg = netipc_service::ClientConfig {
        call_timeout: Duration::from_millis(100),
        ..client_config(1024)
    };
    let mut c = IncrementClient::new(dir.path(), "slow", cfg);
    c.refresh();
    let started = Instant::now();
    assert!(matches!(c.call(1), Err(ServiceError::Timeout)));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(100) && took < Duration::from_millis(450),
        "{took:?}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(c.state(), ClientState::Broken);
}

#[test]
fn abort_from_another_thread_is_sticky_and_not_retried() {
    let dir = RunDir::new("svc");
    let calls = Arc::new(AtomicU32::new(0));
    let _srv = Running::start(
        dir.path(),
        "abort",
        server_config(1024),
        slow_handler(Duration::from_millis(400), Arc::clone(&calls)),
    );
    let mut c = IncrementClient::new(dir.path(), "abort", client_config(1024));
    c.refresh();
    let abort = c.abort_handle().unwrap();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        abort.abort();
    });
    let started = Instant::now();
    assert!(matches!(c.call(1), Err(ServiceError::Aborted)));
    assert!(started.elapsed() < Duration::from_millis(350));
    t.join().unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // Sticky until cleared.
    c.refresh();
    assert!(matches!(c.call(2), Err(ServiceError::Aborted)));
    c.clear_abort();
    c.refresh();
    assert_eq!(c.call(2).unwrap(), 3);
}

#[test]
fn sixteen_concurrent_clients() {
    let dir = RunDir::new("svc");
    let _srv = Running::start(dir.path(), "many", server_config(1024), plus_one());
    std::thread::scope(|s| {
        for k in 0..16u64 {
            let path = dir.path();
            s.spawn(move || {
                let mut c = IncrementClient::new(path, "many", client_config(1024));
                assert!(connect(|| {
                    c.refresh();
                    c.ready()
                }));
                for i in 0..200 {
                    assert_eq!(c.call(k * 1000 + i).unwrap(), k * 1000 + i + 1);
                }
            });
        }
    });
}

/// Starts a server whose handler takes `delay`, sends it INCREMENT(9) from
/// another thread, runs `f` once the handler has the request, and returns
/// the call's result. The server is stopped and its endpoint removed.
fn while_a_call_is_handled(
    delay: Duration,
    f: impl FnOnce(&netipc_service::ManagedServer<increment::Handler>),
) -> netipc_service::Result<u64> {
    let dir = RunDir::new("svc");
    let calls = Arc::new(AtomicU32::new(0));
    let srv = Running::start(
        dir.path(),
        "drain",
        server_config(1024),
        slow_handler(delay, Arc::clone(&calls)),
    );
    let mut c = IncrementClient::new(dir.path(), "drain", client_config(1024));
    c.refresh();
    let result = std::thread::scope(|s| {
        let caller = s.spawn(|| c.call(9));
        while calls.load(Ordering::SeqCst) == 0 {
            std::thread::yield_now();
        }
        f(&srv.server);
        caller.join().unwrap()
    });
    srv.stop();
    assert!(!dir.path().join("drain.sock").exists());
    result
}

#[test]
fn drain_lets_in_flight_calls_finish() {
    let answer = while_a_call_is_handled(Duration::from_millis(200), |server| {
        // Woken by the answer, not by the deadline.
        let started = Instant::now();
        assert!(server.drain(Duration::from_secs(60)));
        let took = started.elapsed();
        assert!(took < Duration::from_secs(30), "{took:?}");
    });
    assert_eq!(answer.unwrap(), 10);
}

#[test]
fn drain_gives_up_at_its_deadline() {
    // The server stops anyway; the call being handled still ends (with
    // its answer, or an error): it does not hang.
    let _ = while_a_call_is_handled(Duration::from_millis(500), |server| {
        assert!(
            !server.drain(Duration::from_millis(20)),
            "the handler was still busy"
        );
    });
}

/// Abort reaches a call waiting on shared memory quickly too.
#[cfg(any(target_os = "linux", windows))]
#[test]
fn abort_over_shared_memory() {
    use netipc_service::transport::codec::{PROFILE_BASELINE, PROFILE_SHM_HYBRID};
    let dir = RunDir::new("svc");
    let shm = PROFILE_BASELINE | PROFILE_SHM_HYBRID;
    let calls = Arc::new(AtomicU32::new(0));
    let scfg = netipc_service::ServerConfig {
        supported_profiles: shm,
        preferred_profiles: shm,
        ..server_config(1024)
    };
    let _srv = Running::start(
        dir.path(),
        "shm-abort",
        scfg,
        slow_handler(Duration::from_millis(800), Arc::clone(&calls)),
    );
    let ccfg = netipc_service::ClientConfig {
        supported_profiles: shm,
        preferred_profiles: shm,
        ..client_config(1024)
    };
    let mut c = IncrementClient::new(dir.path(), "shm-abort", ccfg);
    c.refresh();
    assert!(c.status().shm);
    let abort = c.abort_handle().unwrap();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        let fired = Instant::now();
        abort.abort();
        fired
    });
    assert!(matches!(c.call(1), Err(ServiceError::Aborted)));
    let returned = Instant::now();
    let fired = t.join().unwrap();
    let latency = returned.duration_since(fired);
    assert!(latency < Duration::from_millis(50), "aborted after {latency:?}");
}

/// A hand-written server (the platform's listener) whose answers break the
/// contract in turn: each is a typed error, never a panic or a wrong
/// value, and the client recovers on a new session.
#[test]
fn answers_that_break_the_contract_are_errors() {
    use netipc_service::transport::codec::{
        BatchBuilder, Header, Kind, METHOD_STRING_REVERSE, STATUS_OK, increment,
    };

    /// How the server answers the one request of a session.
    #[derive(Clone, Copy)]
    enum Answer {
        OtherId,
        OtherMethod,
        ShortPayload,
        FewerItems,
        Right,
    }
    let dir = RunDir::new("svc");
    let cfg = raw_batch_server_config();
    let listener = RawListener::bind(dir.path(), "liar", cfg).unwrap();
    use Answer::*;
    let script = [OtherId, OtherMethod, ShortPayload, FewerItems, Right];
    let server = std::thread::spawn(move || {
        for answer in script {
            let mut s = raw_accept(&listener);
            let (h, payload) = s.receive().unwrap();
            let value = if h.is_batch() {
                0
            } else {
                increment::decode(payload).unwrap()
            };
            let mut reply = Header {
                kind: Kind::Response,
                transport_status: STATUS_OK,
                ..h
            };
            let mut body = increment::encode(value + 1).to_vec();
            match answer {
                OtherId => reply.message_id += 1,
                OtherMethod => reply.code = METHOD_STRING_REVERSE,
                ShortPayload => body.truncate(3),
                FewerItems => {
                    // A well-formed batch, one item short.
                    reply.item_count -= 1;
                    let mut b = BatchBuilder::new(&mut body, reply.item_count, 1024);
                    for _ in 0..reply.item_count {
                        b.add(&increment::encode(7)).unwrap();
                    }
                    b.finish();
                }
                Right => {}
            }
            s.send(&reply, &body).unwrap();
            // Keep the session until the client leaves it.
            assert!(s.receive().is_err());
        }
    });
    let mut c = IncrementClient::new(dir.path(), "liar", client_config(1024));
    c.refresh();
    // A response to no request in flight, then (after the one resend on a
    // new session) one for another method: the second error is reported.
    let err = c.call(1).unwrap_err();
    assert!(matches!(err, ServiceError::BadResponse(_)), "{err:?}");
    assert_eq!(c.status().reconnect_count, 1);
    assert_eq!(c.state(), ClientState::Broken);
    // A payload that does not decode: not retried, and that session is
    // left at the next refresh.
    assert!(c.refresh());
    let err = c.call(2).unwrap_err();
    assert!(matches!(err, ServiceError::Malformed(_)), "{err:?}");
    assert!(c.refresh());
    let err = c.call_batch(&[1, 2, 3]).unwrap_err();
    assert!(matches!(err, ServiceError::BadResponse(_)), "{err:?}");
    assert!(c.refresh());
    assert_eq!(c.call(41).unwrap(), 42);
    assert_eq!(c.status().error_count, 3);
    c.close();
    server.join().unwrap();
}

/// A request that does not decode (a short INCREMENT) gets BAD_ENVELOPE
/// with an empty payload; a batch whose directory points past its payload
/// breaks Level 1, and the session ends unanswered. Either way the server
/// closes that session only: a typed client is served after.
/// Waits until the server has closed `s`; fails after 10 s.
fn wait_closed(s: &RawSession) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !s.peer_closed() {
        assert!(Instant::now() < deadline, "the server kept the session");
        std::thread::yield_now();
    }
}

/// A raw Level 1 server of 1 KiB payloads and batches of up to 16 items.
fn raw_batch_server_config() -> netipc_service::transport::ServerConfig {
    netipc_service::transport::ServerConfig {
        max_request_payload_bytes: 1024,
        max_response_payload_bytes: 1024,
        max_request_batch_items: 16,
        max_response_batch_items: 16,
        auth_token: TOKEN,
        ..netipc_service::transport::ServerConfig::default()
    }
}

/// A raw Level 1 client of 1 KiB payloads and batches of up to 16 items.
fn raw_batch_config() -> netipc_service::transport::ClientConfig {
    netipc_service::transport::ClientConfig {
        max_request_payload_bytes: 1024,
        max_response_payload_bytes: 1024,
        max_request_batch_items: 16,
        max_response_batch_items: 16,
        auth_token: TOKEN,
        ..netipc_service::transport::ClientConfig::default()
    }
}

#[test]
fn malformed_requests_close_their_session_only() {
    use netipc_service::transport::TransportError;
    use netipc_service::transport::codec::{FLAG_BATCH, Header, Kind, METHOD_INCREMENT, STATUS_BAD_ENVELOPE};

    let dir = RunDir::new("svc");
    let _srv = Running::start(dir.path(), "strict", server_config(1024), plus_one());
    let raw_cfg = raw_batch_config();
    let connect = || RawSession::connect(dir.path(), "strict", &raw_cfg).unwrap();
    let request = |flags, item_count| Header {
        flags,
        item_count,
        ..Header::new(Kind::Request, METHOD_INCREMENT, 7, 0)
    };

    let mut s = connect();
    let (h, body) = s.exchange(&request(0, 1), &[1, 2, 3], None).unwrap();
    assert_eq!(h.transport_status, STATUS_BAD_ENVELOPE);
    assert_eq!((h.message_id, h.payload_len, body.len()), (7, 0, 0));
    wait_closed(&s);

    // Two items; the second entry (offset 8, length 64) runs past the end.
    let mut bad_batch = vec![0u8; 16 + 8];
    bad_batch[4..8].copy_from_slice(&8u32.to_le_bytes());
    bad_batch[8..12].copy_from_slice(&8u32.to_le_bytes());
    bad_batch[12..16].copy_from_slice(&64u32.to_le_bytes());
    let mut s = connect();
    let err = s.exchange(&request(FLAG_BATCH, 2), &bad_batch, None).unwrap_err();
    assert!(matches!(err, TransportError::PeerClosed), "{err:?}");
    wait_closed(&s);

    let mut c = IncrementClient::new(dir.path(), "strict", client_config(1024));
    c.refresh();
    assert_eq!(c.call(1).unwrap(), 2);
}

/// A connection that never sends its HELLO holds its session slot only
/// until the server's handshake timeout: with one slot, the next client is
/// served once that has passed, and not before.
#[cfg(target_os = "linux")]
#[test]
fn a_silent_connection_frees_its_slot_at_the_handshake_timeout() {
    let dir = RunDir::new("svc");
    let timeout = Duration::from_millis(200);
    let cfg = netipc_service::ServerConfig {
        max_sessions: 1,
        handshake_timeout: timeout,
        ..server_config(1024)
    };
    let _srv = Running::start(dir.path(), "silent", cfg, plus_one());
    let started = Instant::now();
    let _silent = raw::connect(&dir.path().join("silent.sock"));
    let mut c = IncrementClient::new(dir.path(), "silent", client_config(1024));
    c.refresh();
    assert!(c.ready(), "{:?}", c.state());
    // Not before the timeout, and long before the 5 s default: the
    // configured timeout is the one applied.
    let waited = started.elapsed();
    assert!(
        waited >= timeout && waited < Duration::from_secs(4),
        "served after {waited:?}"
    );
    assert_eq!(c.call(1).unwrap(), 2);
}

/// A request for another method gets UNSUPPORTED and the session goes on,
/// as the reference servers do: the next request on it is answered. Over
/// the socket and over shared memory.
#[test]
fn another_method_is_unsupported_and_the_session_goes_on() {
    use netipc_service::transport::ClientConfig;
    use netipc_service::transport::codec::{
        Header, Kind, METHOD_INCREMENT, METHOD_STRING_REVERSE, PROFILE_BASELINE, STATUS_OK, increment,
    };
    #[cfg(any(target_os = "linux", windows))]
    let profiles = [
        PROFILE_BASELINE,
        netipc_service::transport::codec::PROFILE_SHM_HYBRID,
    ];
    #[cfg(not(any(target_os = "linux", windows)))]
    let profiles = [PROFILE_BASELINE];
    for profile in profiles {
        let dir = RunDir::new("svc");
        let cfg = netipc_service::ServerConfig {
            supported_profiles: PROFILE_BASELINE | profile,
            preferred_profiles: profile,
            ..server_config(1024)
        };
        let _srv = Running::start(dir.path(), "inc", cfg, plus_one());
        let raw_cfg = ClientConfig {
            supported_profiles: PROFILE_BASELINE | profile,
            preferred_profiles: profile,
            max_request_payload_bytes: 1024,
            max_response_payload_bytes: 1024,
            auth_token: TOKEN,
            ..ClientConfig::default()
        };
        let mut s = RawSession::connect(dir.path(), "inc", &raw_cfg).unwrap();
        assert_eq!(s.is_shm(), profile != PROFILE_BASELINE);
        let wrong = Header::new(Kind::Request, METHOD_STRING_REVERSE, 1, 0);
        let (h, body) = s.exchange(&wrong, b"abc", None).unwrap();
        assert_eq!(
            (h.transport_status, h.message_id, body.len()),
            (STATUS_UNSUPPORTED, 1, 0)
        );
        let right = Header::new(Kind::Request, METHOD_INCREMENT, 2, 0);
        let (h, body) = s.exchange(&right, &increment::encode(41), None).unwrap();
        assert_eq!((h.transport_status, h.message_id), (STATUS_OK, 2));
        assert_eq!(increment::decode(body).unwrap(), 42);
    }
}

/// A STRING_REVERSE server allowing 1 MiB, and a client that proposes
/// 1 KiB requests and grows them up to `ceiling` (0: the default).
fn small_request_client(
    service: &str,
    ceiling: u32,
) -> (
    RunDir,
    Running<netipc_service::string_reverse::Handler>,
    netipc_service::string_reverse::StringReverseClient,
) {
    let dir = RunDir::new("svc");
    let srv = Running::start(dir.path(), service, server_config(1 << 20), reverser());
    let cfg = netipc_service::ClientConfig {
        max_request_payload_bytes: 1024,
        request_payload_ceiling: ceiling,
        ..client_config(1 << 20)
    };
    let mut c = netipc_service::string_reverse::StringReverseClient::new(dir.path(), service, cfg);
    c.refresh();
    assert!(c.ready());
    (dir, srv, c)
}

/// A request over the session's size: the client proposes a larger
/// request size in a new handshake and sends it there, once.
#[test]
fn a_request_over_the_negotiated_size_grows_the_session() {
    let (_dir, _srv, mut c) = small_request_client("grow", 0);
    let long: Vec<u8> = (0..10_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let back = c.call(&long).unwrap().as_bytes().to_vec();
    assert_eq!(back, long.iter().rev().copied().collect::<Vec<u8>>());
    let st = c.status();
    assert_eq!((st.reconnect_count, st.call_count, st.error_count), (1, 1, 0));
    // The grown session serves requests of that size without regrowth.
    assert_eq!(c.call(&long).unwrap().as_bytes().len(), long.len());
    assert_eq!(c.status().reconnect_count, 1);
}

/// A request over the client's own ceiling is refused before it is sent;
/// the session stays up for the next call.
#[test]
fn a_request_over_the_ceiling_is_refused_and_the_session_kept() {
    let (_dir, _srv, mut c) = small_request_client("ceil", 4096);
    let r = c.call(&[b'x'; 5000]).map(|s| s.as_bytes().len());
    assert!(matches!(r, Err(ServiceError::LimitExceeded(_))), "{r:?}");
    let st = c.status();
    assert_eq!(
        (st.state, st.reconnect_count, st.error_count),
        (ClientState::Ready, 0, 1)
    );
    assert_eq!(c.call(b"abc").unwrap().as_bytes(), b"cba");
    // Up to the ceiling, the session grows as usual.
    assert_eq!(c.call(&[b'y'; 4000]).unwrap().as_bytes().len(), 4000);
    assert_eq!(c.status().reconnect_count, 1);
}

/// A batch with one failing item is answered INTERNAL_ERROR as a whole,
/// with an empty payload and one item, and its session is closed.
#[test]
fn a_batch_with_a_failing_item_fails_whole() {
    use netipc_service::transport::codec::{
        BatchBuilder, FLAG_BATCH, Header, Kind, METHOD_INCREMENT, increment as wire,
    };

    let dir = RunDir::new("svc");
    let handler = increment::Handler {
        handle: Some(Box::new(|v| (v != 13).then_some(v + 1))),
    };
    let _srv = Running::start(dir.path(), "unlucky", server_config(1024), handler);
    let raw_cfg = raw_batch_config();
    let mut s = RawSession::connect(dir.path(), "unlucky", &raw_cfg).unwrap();
    let mut payload = Vec::new();
    let mut b = BatchBuilder::new(&mut payload, 3, 1024);
    for v in [1u64, 13, 2] {
        b.add(&wire::encode(v)).unwrap();
    }
    let (_, items) = b.finish();
    let request = Header {
        flags: FLAG_BATCH,
        item_count: items,
        ..Header::new(Kind::Request, METHOD_INCREMENT, 9, 0)
    };
    let (h, body) = s.exchange(&request, &payload, None).unwrap();
    assert_eq!(h.transport_status, STATUS_INTERNAL_ERROR);
    assert_eq!((h.message_id, h.flags, h.item_count, body.len()), (9, 0, 1, 0));
    wait_closed(&s);
    // Through the typed client: the error, after its one retry.
    let mut c = IncrementClient::new(dir.path(), "unlucky", client_config(1024));
    c.refresh();
    assert!(matches!(
        c.call_batch(&[1, 13]),
        Err(ServiceError::ServerStatus(STATUS_INTERNAL_ERROR))
    ));
    c.refresh();
    assert_eq!(c.call_batch(&[1, 2]).unwrap(), vec![2, 3]);
}

/// A batch answer that outgrows the session's response size: the server
/// answers LIMIT_EXCEEDED and learns a larger size, the client reconnects
/// until the answer fits.
#[test]
fn a_batch_answer_over_the_response_size_grows_the_session() {
    let dir = RunDir::new("svc");
    let cfg = netipc_service::ServerConfig {
        max_response_payload_bytes: 64,
        response_payload_ceiling: 1 << 16,
        ..server_config(1 << 16)
    };
    let _srv = Running::start(dir.path(), "small", cfg, plus_one());
    let mut c = IncrementClient::new(dir.path(), "small", client_config(1 << 16));
    c.refresh();
    let values: Vec<u64> = (0..200).collect();
    assert_eq!(c.call_batch(&values).unwrap(), (1..=200).collect::<Vec<u64>>());
    let grew = c.status().reconnect_count;
    assert!((1..=8).contains(&grew), "{grew} reconnects");
    // The server remembers: a new client's first session is large enough.
    let mut next = IncrementClient::new(dir.path(), "small", client_config(1 << 16));
    next.refresh();
    assert_eq!(next.call_batch(&values).unwrap().len(), 200);
    assert_eq!(next.status().reconnect_count, 0);
}

/// `with_workers(.., 1)`: a second client is served only once the first
/// one's session has ended.
#[test]
fn with_one_worker_sessions_are_served_one_at_a_time() {
    let dir = RunDir::new("svc");
    let srv = Running::serve(netipc_service::ManagedServer::with_workers(
        dir.path(),
        "one",
        server_config(1024),
        plus_one(),
        1,
    ));
    let mut first = IncrementClient::new(dir.path(), "one", client_config(1024));
    first.refresh();
    assert_eq!(first.call(1).unwrap(), 2);
    let second = std::thread::spawn({
        let dir = dir.path().to_path_buf();
        move || {
            let mut c = IncrementClient::new(&dir, "one", client_config(1024));
            c.refresh();
            let answer = c.call(10);
            (answer, Instant::now())
        }
    });
    // While the first session lives, the second is not taken in.
    let hold = Duration::from_millis(300);
    let until = Instant::now() + hold;
    while Instant::now() < until {
        assert!(srv.server.active_sessions() <= 1);
        assert!(!second.is_finished(), "served beside the first session");
        std::thread::yield_now();
    }
    let closing = Instant::now();
    first.close();
    let (answer, answered) = second.join().unwrap();
    assert_eq!(answer.unwrap(), 11);
    // Measured from the close, not from the thread's start, which a busy
    // machine may delay past part of the hold.
    assert!(answered >= closing, "answered before the first session ended");
}

/// An error answer to a batch that keeps the request's batch flag and item
/// count, with no payload (as the reference's C server sends it), is read
/// as its status: the client reports INTERNAL_ERROR, not a malformed batch.
#[test]
fn an_error_answer_with_batch_fields_is_read_as_its_status() {
    use netipc_service::transport::codec::{Header, Kind};

    let dir = RunDir::new("svc");
    let cfg = raw_batch_server_config();
    let listener = RawListener::bind(dir.path(), "c-like", cfg).unwrap();
    // The call and its one resend, each on its own session.
    let server = std::thread::spawn(move || {
        for _ in 0..2 {
            let mut s = raw_accept(&listener);
            let (h, _) = s.receive().unwrap();
            assert!(h.is_batch() && h.item_count == 3);
            let reply = Header {
                kind: Kind::Response,
                transport_status: STATUS_INTERNAL_ERROR,
                ..h
            };
            s.send(&reply, &[]).unwrap();
        }
    });
    let mut c = IncrementClient::new(dir.path(), "c-like", client_config(1024));
    c.refresh();
    let err = c.call_batch(&[1, 2, 3]).unwrap_err();
    assert!(
        matches!(err, ServiceError::ServerStatus(STATUS_INTERNAL_ERROR)),
        "{err:?}"
    );
    server.join().unwrap();
}

/// A request over the session's limits (its payload, or its item count)
/// is answered LIMIT_EXCEEDED with an empty payload, and then the session
/// closes, as the reference's C server does. Sent by hand: our own client
/// refuses such a request before sending it.
#[cfg(target_os = "linux")]
#[test]
fn a_request_over_the_session_limits_is_answered_limit_exceeded() {
    use netipc_service::transport::codec::{
        FLAG_BATCH, Header, Kind, METHOD_INCREMENT, STATUS_LIMIT_EXCEEDED,
    };
    use netipc_service::transport::handshake::{client_hello, hello_packet, read_ack};
    use std::os::fd::AsRawFd;

    let dir = RunDir::new("svc");
    let _srv = Running::start(dir.path(), "over", server_config(1024), plus_one());
    let hello = client_hello(&raw_batch_config(), 65536);
    // (payload_len, item_count, flags, the bytes that follow the header)
    for (payload_len, item_count, flags, body) in [(1025, 1, 0, 8), (16, 17, FLAG_BATCH, 16)] {
        let fd = raw::connect(&dir.path().join("over.sock"));
        raw::send(fd.as_raw_fd(), &hello_packet(&hello));
        let params = read_ack(&raw::recv(fd.as_raw_fd())).unwrap();
        assert_eq!(
            (params.max_request_payload_bytes, params.max_request_batch_items),
            (1024, 16)
        );
        let request = Header {
            flags,
            item_count,
            ..Header::new(Kind::Request, METHOD_INCREMENT, 9, payload_len)
        };
        raw::send(fd.as_raw_fd(), &[&request.encode()[..], &vec![0; body]].concat());
        let answer = raw::recv(fd.as_raw_fd());
        let h = Header::decode(&answer).unwrap();
        assert_eq!(
            (h.kind, h.code, h.message_id, h.transport_status),
            (Kind::Response, METHOD_INCREMENT, 9, STATUS_LIMIT_EXCEEDED)
        );
        assert_eq!(
            (h.flags, h.item_count, h.payload_len, answer.len()),
            (0, 1, 0, 32)
        );
        assert!(raw::recv(fd.as_raw_fd()).is_empty(), "the session is closed");
    }
    // Other sessions are served as before.
    let mut c = IncrementClient::new(dir.path(), "over", client_config(1024));
    c.refresh();
    assert_eq!(c.call(1).unwrap(), 2);
}

/// The same over shared memory, for a batch of more items than agreed (a
/// payload over the limit would not fit the request area): the server
/// answers LIMIT_EXCEEDED in the region, then closes the session.
#[cfg(target_os = "linux")]
#[test]
fn a_request_over_the_session_limits_is_answered_over_shared_memory() {
    use netipc_service::transport::codec::{
        FLAG_BATCH, HEADER_LEN, Header, Kind, METHOD_INCREMENT, PROFILE_BASELINE, PROFILE_SHM_HYBRID,
        STATUS_LIMIT_EXCEEDED,
    };
    use netipc_service::transport::handshake::{client_hello, hello_packet, read_ack};
    use netipc_service::transport::posix::shm::ShmRegion;
    use std::os::fd::AsRawFd;

    let dir = RunDir::new("svc");
    let shm = PROFILE_BASELINE | PROFILE_SHM_HYBRID;
    let cfg = netipc_service::ServerConfig {
        supported_profiles: shm,
        preferred_profiles: PROFILE_SHM_HYBRID,
        ..server_config(1024)
    };
    let _srv = Running::start(dir.path(), "over", cfg, plus_one());
    let hello = client_hello(
        &netipc_service::transport::ClientConfig {
            supported_profiles: shm,
            preferred_profiles: PROFILE_SHM_HYBRID,
            ..raw_batch_config()
        },
        65536,
    );
    let fd = raw::connect(&dir.path().join("over.sock"));
    raw::send(fd.as_raw_fd(), &hello_packet(&hello));
    let params = read_ack(&raw::recv(fd.as_raw_fd())).unwrap();
    assert_eq!(params.selected_profile, PROFILE_SHM_HYBRID);
    let mut region = ShmRegion::attach(dir.path(), "over", params.session_id).unwrap();
    let request = Header {
        flags: FLAG_BATCH,
        item_count: 17,
        ..Header::new(Kind::Request, METHOD_INCREMENT, 9, 16)
    };
    region.send(&request.encode(), &[0; 16]).unwrap();
    let mut answer = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let n = region.receive(&mut answer, Some(deadline)).unwrap();
    let h = Header::decode(&answer[..n]).unwrap();
    assert_eq!(
        (h.kind, h.message_id, h.transport_status, h.item_count, n),
        (Kind::Response, 9, STATUS_LIMIT_EXCEEDED, 1, HEADER_LEN)
    );
    assert!(raw::recv(fd.as_raw_fd()).is_empty(), "the session is closed");
}

/// A server that answers with more than the session allows: the client
/// reads it as an overflow and proposes room for that much on a new
/// session, where the call succeeds (the reference's C client does the
/// same).
#[cfg(target_os = "linux")]
#[test]
fn a_response_over_the_session_limit_grows_the_next_session() {
    use netipc_service::transport::codec::{Header, Hello, Kind, STATUS_OK, increment};
    use netipc_service::transport::handshake::{ack_packet, negotiate};
    use std::os::fd::AsRawFd;

    let dir = RunDir::new("svc");
    let listener = raw::listen(&dir.path().join("big.sock"));
    let server = std::thread::spawn(move || {
        let cfg = netipc_service::transport::ServerConfig {
            max_request_payload_bytes: 1024,
            max_response_payload_bytes: 1024,
            auth_token: TOKEN,
            ..Default::default()
        };
        let mut proposed = Vec::new();
        for (session, oversized) in [(1, true), (2, false)] {
            let fd = raw::accept(listener.as_raw_fd());
            let hello = raw::recv(fd.as_raw_fd());
            proposed.push(Hello::decode(&hello[32..]).unwrap().max_response_payload_bytes);
            let cfg = netipc_service::transport::ServerConfig {
                max_response_payload_bytes: proposed[proposed.len() - 1].max(1024),
                ..cfg.clone()
            };
            raw::send(
                fd.as_raw_fd(),
                &ack_packet(&negotiate(&hello, &cfg, 65536, session)),
            );
            let request = Header::decode(&raw::recv(fd.as_raw_fd())).unwrap();
            let body = if oversized {
                vec![0; 1500]
            } else {
                increment::encode(8).to_vec()
            };
            let answer = Header {
                kind: Kind::Response,
                transport_status: STATUS_OK,
                payload_len: body.len() as u32,
                ..request
            };
            raw::send(fd.as_raw_fd(), &[&answer.encode()[..], &body].concat());
            let _ = raw::recv(fd.as_raw_fd());
        }
        proposed
    });
    let mut c = IncrementClient::new(dir.path(), "big", client_config(1024));
    c.refresh();
    assert_eq!(c.call(7).unwrap(), 8);
    let st = c.status();
    assert_eq!((st.reconnect_count, st.call_count, st.error_count), (1, 1, 0));
    drop(c);
    assert_eq!(server.join().unwrap(), [1024, 2048]);
}

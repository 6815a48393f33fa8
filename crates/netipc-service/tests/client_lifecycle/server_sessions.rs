//! How the managed server ends, drains and shares its sessions.

use super::*;

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
        Err(ServiceError::ServerStatus {
            status: STATUS_INTERNAL_ERROR,
            ..
        })
    ));
    c.refresh();
    assert_eq!(c.call(1).unwrap(), 2, "the server still serves");
    let mut other = IncrementClient::new(dir.path(), "panic", client_config(1024));
    other.refresh();
    assert_eq!(other.call(5).unwrap(), 6);
}

/// Starts a server whose handler holds each call at a gate, sends it
/// INCREMENT(9) from another thread, runs `f` once the handler holds the
/// request, then opens the gate and returns the call's result. The server
/// is stopped and its endpoint removed.
fn while_a_call_is_held(
    f: impl FnOnce(&Arc<netipc_service::ManagedServer<increment::Handler>>, &Gate),
) -> netipc_service::Result<u64> {
    let dir = RunDir::new("svc");
    let gate = Gate::closed();
    let srv = Running::start(dir.path(), "drain", server_config(1024), gated(&gate));
    let mut c = IncrementClient::new(dir.path(), "drain", client_config(1024));
    c.refresh();
    let result = std::thread::scope(|s| {
        let caller = s.spawn(|| c.call(9));
        gate.wait_reached(1);
        f(&srv.server, &gate);
        gate.open();
        caller.join().unwrap()
    });
    srv.stop();
    assert!(!dir.path().join("drain.sock").exists());
    result
}

/// A drain waits for the call being handled, and ends when it is
/// answered: its own deadline is an hour away.
#[test]
fn drain_lets_in_flight_calls_finish() {
    let answer = while_a_call_is_held(|server, gate| {
        #[cfg(target_os = "linux")]
        let (tx, rx) = std::sync::mpsc::channel();
        let draining = std::thread::spawn({
            let server = Arc::clone(server);
            move || {
                #[cfg(target_os = "linux")]
                tx.send(netipc_test_support::threads::current_tid()).unwrap();
                server.drain(Duration::from_secs(3600))
            }
        });
        // The answer goes out once the drain waits for it (seen asleep,
        // on Linux).
        #[cfg(target_os = "linux")]
        netipc_test_support::threads::wait_until_asleep(rx.recv().unwrap(), "the drain");
        assert!(!draining.is_finished(), "the drain ended with a call held");
        gate.open();
        assert!(
            poll_until(PATIENCE, || draining.is_finished()),
            "the drain went on after the call was answered"
        );
        assert!(draining.join().unwrap(), "everything in flight finished");
    });
    assert_eq!(answer.unwrap(), 10);
}

#[test]
fn drain_gives_up_at_its_deadline() {
    // The server stops anyway; the call being handled still ends (with
    // its answer, or an error) once let through: it does not hang.
    let _ = while_a_call_is_held(|server, _| {
        assert!(
            !server.drain(Duration::from_millis(20)),
            "the handler was still busy"
        );
    });
}

/// A request that does not decode (a short INCREMENT) gets BAD_ENVELOPE
/// with an empty payload; a batch whose directory points past its payload
/// breaks Level 1, and the session ends unanswered. Either way the server
/// closes that session only: a typed client is served after.
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
    use netipc_service::transport::HANDSHAKE_TIMEOUT_DEFAULT;
    let dir = RunDir::new("svc");
    let timeout = Duration::from_millis(100);
    let cfg = netipc_service::ServerConfig {
        max_sessions: 1,
        handshake_timeout: timeout,
        ..server_config(1024)
    };
    let _srv = Running::start(dir.path(), "silent", cfg, plus_one());
    let started = Instant::now();
    let _silent = raw::connect(&dir.path().join("silent.sock"));
    // The client waits for its session for half the default handshake
    // timeout: a server that kept the silent connection for the default
    // instead of its configured timeout would serve it too late.
    let ccfg = netipc_service::ClientConfig {
        handshake_timeout: HANDSHAKE_TIMEOUT_DEFAULT / 2,
        ..client_config(1024)
    };
    let mut c = IncrementClient::new(dir.path(), "silent", ccfg);
    c.refresh();
    assert!(c.ready(), "{:?}", c.state());
    let waited = started.elapsed();
    assert!(waited >= timeout, "served after {waited:?}, before the timeout");
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
        Err(ServiceError::ServerStatus {
            status: STATUS_INTERNAL_ERROR,
            ..
        })
    ));
    c.refresh();
    assert_eq!(c.call_batch(&[1, 2]).unwrap(), vec![2, 3]);
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

/// A stop that comes before `run()` is not lost: `run()` returns at once,
/// binding nothing. A stopped server does not run again.
#[test]
fn a_server_stopped_before_it_runs_never_binds() {
    let dir = RunDir::new("svc");
    let server = netipc_service::ManagedServer::new(dir.path(), "early", server_config(1024), plus_one());
    server.stop();
    server.run().unwrap();
    assert!(!server.is_running());
    assert!(!dir.path().join("early.sock").exists());

    let running = Running::start(dir.path(), "twice", server_config(1024), plus_one());
    let again = std::sync::Arc::clone(&running.server);
    running.stop();
    again.run().unwrap();
    assert!(!dir.path().join("twice.sock").exists());
}

/// A stop ends a shared-memory session even while its client keeps
/// calling: the waits for the next request then never run out, so the
/// session must see the stop between requests. The client's calls end,
/// with an answer or an error, and `run()` returns.
#[cfg(any(target_os = "linux", windows))]
#[test]
fn a_stop_ends_shared_memory_sessions_whose_client_keeps_calling() {
    use netipc_service::transport::codec::{PROFILE_BASELINE, PROFILE_SHM_HYBRID};
    use std::sync::atomic::AtomicBool;
    let dir = RunDir::new("svc");
    let shm = PROFILE_BASELINE | PROFILE_SHM_HYBRID;
    let config = netipc_service::ServerConfig {
        supported_profiles: shm,
        preferred_profiles: shm,
        ..server_config(1024)
    };
    let handler = increment::Handler {
        handle: Some(Box::new(|v| Some(v + 1))),
    };
    let mut srv = Some(Running::start(dir.path(), "busy", config, handler));
    let mut c = IncrementClient::new(
        dir.path(),
        "busy",
        netipc_service::ClientConfig {
            supported_profiles: shm,
            preferred_profiles: shm,
            ..client_config(1024)
        },
    );
    c.refresh();
    assert!(c.status().shm);
    let calls = AtomicU32::new(0);
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        let caller = s.spawn(|| {
            while !done.load(Ordering::Acquire) && c.call(1).is_ok() {
                calls.fetch_add(1, Ordering::Relaxed);
            }
        });
        // The caller stops however this scope ends, a failed check included.
        struct Done<'a>(&'a AtomicBool);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Release);
            }
        }
        let _done = Done(&done);
        wait_until("the client calls", || calls.load(Ordering::Relaxed) > 100);
        let running = srv.take().unwrap();
        finishes_within(
            PATIENCE,
            "stopping a server whose client keeps calling",
            move || running.stop(),
        );
        drop(_done);
        caller.join().unwrap();
    });
}

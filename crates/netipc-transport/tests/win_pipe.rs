//! Named Pipe transport on Windows (run under Wine in CI).
#![cfg(windows)]

use netipc_test_support::{child_env, child_test, spawn_ready, windows_run_dir};
use netipc_transport::codec::*;
use netipc_transport::windows::{NpListener, NpSession};
use netipc_transport::{AbortHandle, ClientConfig, ServerConfig, TransportError};
use std::io::Write;
use std::process::{Child, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const TOKEN: u64 = 0x5eed;

fn server_cfg(packet_size: u32, max_payload: u32) -> ServerConfig {
    ServerConfig {
        max_request_payload_bytes: max_payload,
        max_response_payload_bytes: max_payload,
        max_request_batch_items: 100,
        auth_token: TOKEN,
        packet_size,
        ..ServerConfig::default()
    }
}

fn client_cfg(packet_size: u32, max_payload: u32) -> ClientConfig {
    ClientConfig {
        max_request_payload_bytes: max_payload,
        max_response_payload_bytes: max_payload,
        max_request_batch_items: 100,
        max_response_batch_items: 100,
        auth_token: TOKEN,
        packet_size,
        ..ClientConfig::default()
    }
}

/// Answers the request `h` with `payload`.
fn reply(s: &mut NpSession, h: Header, payload: &[u8]) {
    s.send(
        &Header {
            kind: Kind::Response,
            ..h
        },
        payload,
    )
    .unwrap();
}

/// Answers every request with its own payload until the session ends.
fn echo_until_closed(s: &mut NpSession) {
    while let Ok((h, p)) = s.receive() {
        let p = p.to_vec();
        if s.send(
            &Header {
                kind: Kind::Response,
                ..h
            },
            &p,
        )
        .is_err()
        {
            break;
        }
    }
}

/// Serves one session, echoing every request as a response.
fn echo_one(listener: NpListener) -> thread::JoinHandle<u64> {
    thread::spawn(move || {
        let mut s = listener.accept(None).unwrap();
        let id = s.params().session_id;
        echo_until_closed(&mut s);
        id
    })
}

#[test]
fn round_trip_over_a_named_pipe() {
    let dir = windows_run_dir();
    let listener = NpListener::bind(&dir, "echo", server_cfg(0, 4096)).unwrap();
    let server = echo_one(listener);
    let mut c = NpSession::connect(&dir, "echo", &client_cfg(0, 4096)).unwrap();
    assert_eq!(c.params().selected_profile, PROFILE_BASELINE);
    assert_eq!(c.params().session_id, 1);
    assert!(!c.peer_closed() && !c.is_shm());
    for i in 0..50u64 {
        c.send(
            &Header::new(Kind::Request, METHOD_INCREMENT, i + 1, 8),
            &increment::encode(i),
        )
        .unwrap();
        let (h, p) = c.receive().unwrap();
        assert_eq!((h.kind, h.message_id), (Kind::Response, i + 1));
        assert_eq!(increment::decode(p).unwrap(), i);
    }
    drop(c);
    assert_eq!(server.join().unwrap(), 1);
}

/// `send_many` pipelines requests, chunked ones among them; the answers
/// come back intact and in order. The server reads every request before it
/// answers: the pipe buffers are one packet in size, so a server answering
/// while the client still sends would block both.
#[test]
fn send_many_pipelines_requests() {
    const N: usize = 12;
    let dir = windows_run_dir();
    let listener = NpListener::bind(&dir, "many", server_cfg(512, 4096)).unwrap();
    let server = thread::spawn(move || {
        let mut s = listener.accept(None).unwrap();
        let mut got = Vec::new();
        for _ in 0..N {
            let (h, p) = s.receive().unwrap();
            got.push((h, p.to_vec()));
        }
        for (h, p) in got {
            reply(&mut s, h, &p);
        }
    });
    let mut c = NpSession::connect(&dir, "many", &client_cfg(512, 4096)).unwrap();
    let payloads: Vec<Vec<u8>> = (0..N)
        .map(|i| (0..i * 100).map(|j| (i ^ j) as u8).collect())
        .collect();
    let requests = payloads
        .iter()
        .zip(1..)
        .map(|(p, id)| (Header::new(Kind::Request, METHOD_STRING_REVERSE, id, 0), &p[..]));
    c.send_many(requests).unwrap();
    for (id, p) in (1..).zip(&payloads) {
        let (h, got) = c.receive().unwrap();
        assert_eq!(h.message_id, id);
        assert_eq!(got, &p[..]);
    }
    drop(c);
    server.join().unwrap();
}

#[test]
fn large_messages_are_chunked_to_the_packet_size() {
    let dir = windows_run_dir();
    let listener = NpListener::bind(&dir, "big", server_cfg(512, 1 << 20)).unwrap();
    let server = echo_one(listener);
    let mut c = NpSession::connect(&dir, "big", &client_cfg(512, 1 << 20)).unwrap();
    assert_eq!(c.params().packet_size, 512);
    let payload: Vec<u8> = (0..100_000u32).map(|i| (i * 7) as u8).collect();
    c.send(&Header::new(Kind::Request, METHOD_STRING_REVERSE, 9, 0), &payload)
        .unwrap();
    let (h, p) = c.receive().unwrap();
    assert_eq!(h.message_id, 9);
    assert_eq!(p, &payload[..]);
    drop(c);
    server.join().unwrap();
}

#[test]
fn a_message_longer_than_the_packet_size_is_a_protocol_error() {
    let dir = windows_run_dir();
    let listener = NpListener::bind(&dir, "oversize", server_cfg(1024, 1 << 16)).unwrap();
    let server = thread::spawn(move || {
        let mut s = listener.accept(None).unwrap();
        s.receive().map(|(h, _)| h).unwrap_err()
    });
    // A hand-made client: the handshake as the library would send it, then
    // one pipe message four times the negotiated packet size.
    let name = netipc_transport::names::pipe_name(&dir, "oversize").unwrap();
    let mut raw = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&name)
        .unwrap();
    let hello = Hello {
        supported_profiles: PROFILE_BASELINE,
        preferred_profiles: PROFILE_BASELINE,
        max_request_payload_bytes: 1 << 16,
        max_request_batch_items: 1,
        max_response_payload_bytes: 1 << 16,
        max_response_batch_items: 1,
        auth_token: TOKEN,
        packet_size: 1024,
    };
    raw.write_all(&netipc_transport::handshake::hello_packet(&hello))
        .unwrap();
    let mut ack = [0u8; 256];
    let n = std::io::Read::read(&mut raw, &mut ack).unwrap();
    let ack = HelloAck::decode(&ack[HEADER_LEN..n]).unwrap();
    assert_eq!(ack.agreed_packet_size, 1024);
    let mut message = Header::new(Kind::Request, METHOD_STRING_REVERSE, 1, 4096)
        .encode()
        .to_vec();
    message.resize(HEADER_LEN + 4096, b'x');
    // The write may end early with a broken pipe: the server can refuse
    // the message and close while the writer still waits for pipe room.
    let _ = raw.write_all(&message);
    let err = server.join().unwrap();
    assert!(matches!(err, TransportError::Protocol(_)), "{err:?}");
}

#[test]
fn missing_service_is_not_found() {
    let err = NpSession::connect(windows_run_dir(), "absent", &client_cfg(0, 4096)).unwrap_err();
    assert!(matches!(err, TransportError::NotFound { .. }), "{err:?}");
}

#[test]
fn wrong_token_is_auth_failed_on_both_sides() {
    let dir = windows_run_dir();
    let listener = NpListener::bind(&dir, "auth", server_cfg(0, 4096)).unwrap();
    let server = thread::spawn(move || listener.accept(None).map(|_| ()));
    let cfg = ClientConfig {
        auth_token: TOKEN + 1,
        ..client_cfg(0, 4096)
    };
    let err = NpSession::connect(&dir, "auth", &cfg).unwrap_err();
    assert!(matches!(err, TransportError::AuthFailed), "{err:?}");
    assert!(matches!(server.join().unwrap(), Err(TransportError::AuthFailed)));
}

/// The server learns the client's process id (here, this process) and,
/// where the system lets it impersonate the client at identification
/// level, its user SID; a policy that lists another SID only refuses the
/// client with AUTH_FAILED, one that lists its SID lets it in.
#[test]
fn the_server_learns_its_client_and_applies_its_policy() {
    let dir = windows_run_dir();
    let listener = NpListener::bind(&dir, "peer", server_cfg(0, 4096)).unwrap();
    let server = thread::spawn(move || {
        let pending = listener.accept_connection(None).unwrap();
        let at_accept = pending.peer().clone();
        let session = pending.handshake().unwrap();
        (at_accept, session.peer_credentials().clone())
    });
    let client = NpSession::connect(&dir, "peer", &client_cfg(0, 4096)).unwrap();
    let (at_accept, peer) = server.join().unwrap();
    assert_eq!(at_accept.pid, Some(std::process::id()));
    assert_eq!(peer.pid, Some(std::process::id()));
    assert_eq!(
        (peer.uid, peer.gid),
        (None, None),
        "Windows has no user or group ids"
    );
    if let Some(sid) = &peer.sid {
        assert!(sid.starts_with("S-1-"), "{sid}");
    }
    assert!(
        client.peer_credentials().is_unknown(),
        "a client knows nothing of its server"
    );
    drop(client);

    let policy = |sids: Vec<String>| netipc_transport::AccessPolicy {
        allow_sids: sids,
        ..Default::default()
    };
    let refusing = ServerConfig {
        access: policy(vec!["S-1-5-21-0-0-0-4242".into()]),
        ..server_cfg(0, 4096)
    };
    let listener = NpListener::bind(&dir, "refused", refusing).unwrap();
    let server = thread::spawn(move || listener.accept(None).map(|_| ()));
    let err = NpSession::connect(&dir, "refused", &client_cfg(0, 4096)).unwrap_err();
    assert!(matches!(err, TransportError::AuthFailed), "{err:?}");
    assert!(matches!(
        server.join().unwrap(),
        Err(TransportError::PeerRefused { peer }) if peer.pid == Some(std::process::id())
    ));

    if let Some(sid) = peer.sid {
        let allowing = ServerConfig {
            access: policy(vec![sid.to_ascii_lowercase()]),
            ..server_cfg(0, 4096)
        };
        let listener = NpListener::bind(&dir, "allowed", allowing).unwrap();
        let server = thread::spawn(move || listener.accept(None).map(|_| ()));
        NpSession::connect(&dir, "allowed", &client_cfg(0, 4096)).unwrap();
        server.join().unwrap().unwrap();
    }
}

#[test]
fn receive_until_times_out_and_the_session_survives() {
    let dir = windows_run_dir();
    let listener = NpListener::bind(&dir, "slow", server_cfg(0, 4096)).unwrap();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let server = thread::spawn(move || {
        let mut s = listener.accept(None).unwrap();
        let (h, p) = s.receive().unwrap();
        let p = p.to_vec();
        go_rx.recv().unwrap();
        reply(&mut s, h, &p);
        let _ = s.receive();
    });
    let mut c = NpSession::connect(&dir, "slow", &client_cfg(0, 4096)).unwrap();
    c.send(
        &Header::new(Kind::Request, METHOD_INCREMENT, 1, 8),
        &increment::encode(5),
    )
    .unwrap();
    let start = Instant::now();
    let err = c.receive_until(start + Duration::from_millis(100)).unwrap_err();
    assert!(matches!(err, TransportError::Timeout), "{err:?}");
    assert!(
        start.elapsed() >= Duration::from_millis(100),
        "not before the deadline"
    );
    go_tx.send(()).unwrap();
    let (h, p) = c.receive_until(Instant::now() + Duration::from_secs(10)).unwrap();
    assert_eq!((h.message_id, increment::decode(p).unwrap()), (1, 5));
    drop(c);
    server.join().unwrap();
}

#[test]
fn abort_ends_a_blocked_receive_and_accept() {
    let dir = windows_run_dir();
    let listener = NpListener::bind(&dir, "abort", server_cfg(0, 4096)).unwrap();
    let abort = AbortHandle::new().unwrap();
    let a2 = abort.clone();
    let server = thread::spawn(move || {
        let mut s = listener.accept(None).unwrap();
        s.set_abort(Some(a2.clone()));
        let blocked = s.receive().map(|_| ()).unwrap_err();
        // The listener's accept watches the same (still raised) signal.
        let again = listener.accept(Some(&a2)).map(|_| ()).unwrap_err();
        (blocked, again)
    });
    let c = NpSession::connect(&dir, "abort", &client_cfg(0, 4096)).unwrap();
    abort.abort();
    let (blocked, again) = server.join().unwrap();
    assert!(matches!(blocked, TransportError::Aborted), "{blocked:?}");
    assert!(matches!(again, TransportError::Aborted), "{again:?}");
    drop(c);
}

#[test]
fn peer_close_is_reported() {
    let dir = windows_run_dir();
    let listener = NpListener::bind(&dir, "close", server_cfg(0, 4096)).unwrap();
    let server = thread::spawn(move || {
        let s = listener.accept(None).unwrap();
        drop(s);
    });
    let mut c = NpSession::connect(&dir, "close", &client_cfg(0, 4096)).unwrap();
    server.join().unwrap();
    let err = c
        .receive_until(Instant::now() + Duration::from_secs(10))
        .unwrap_err();
    assert!(matches!(err, TransportError::PeerClosed), "{err:?}");
}

#[test]
fn many_sessions_get_increasing_ids() {
    let dir = windows_run_dir();
    let listener = NpListener::bind(&dir, "many", server_cfg(0, 4096)).unwrap();
    let server = thread::spawn(move || {
        (0..3)
            .map(|_| listener.accept(None).unwrap().params().session_id)
            .collect::<Vec<_>>()
    });
    let ids: Vec<u64> = (0..3)
        .map(|_| {
            NpSession::connect(&dir, "many", &client_cfg(0, 4096))
                .unwrap()
                .params()
                .session_id
        })
        .collect();
    assert_eq!(server.join().unwrap(), vec![1, 2, 3]);
    assert_eq!(ids, vec![1, 2, 3]);
}

const CHILD_DIR_ENV: &str = "NETIPC_WIN_CHILD_DIR";
const CHILD_PROFILES_ENV: &str = "NETIPC_WIN_CHILD_PROFILES";

/// The server half of the cross-process tests, run in a child process by
/// [`spawn_child_server`].
#[test]
#[ignore = "child process of a_child_process_serves_over_the_pipe, a_killed_child_is_a_closed_peer and a_child_process_serves_over_shm_and_its_death_is_noticed"]
fn child_echo_server() {
    let dir = child_env(CHILD_DIR_ENV).into_string().unwrap();
    let profiles = std::env::var(CHILD_PROFILES_ENV).map_or(PROFILE_BASELINE, |p| p.parse().unwrap());
    let cfg = ServerConfig {
        supported_profiles: profiles,
        ..server_cfg(1024, 1 << 20)
    };
    let listener = NpListener::bind(&dir, "child", cfg).unwrap();
    println!("READY");
    std::io::stdout().flush().unwrap();
    let mut s = listener.accept(None).unwrap();
    echo_until_closed(&mut s);
}

/// Starts this test binary as a child serving `child_echo_server` in
/// `dir`, and waits (with a deadline) until it reports READY.
fn spawn_child_server(dir: &str, profiles: u32) -> Child {
    spawn_ready(
        child_test("child_echo_server")
            .env(CHILD_DIR_ENV, dir)
            .env(CHILD_PROFILES_ENV, profiles.to_string())
            .stderr(Stdio::null()),
    )
}

#[test]
fn a_child_process_serves_over_the_pipe() {
    let dir = windows_run_dir();
    let mut child = spawn_child_server(&dir, PROFILE_BASELINE);
    let mut c = NpSession::connect(&dir, "child", &client_cfg(1024, 1 << 20)).unwrap();
    assert_eq!(c.params().packet_size, 1024);
    for i in 0..20u64 {
        let payload: Vec<u8> = (0..(i as usize * 997)).map(|b| (b as u64 ^ i) as u8).collect();
        c.send(
            &Header::new(Kind::Request, METHOD_STRING_REVERSE, i + 1, 0),
            &payload,
        )
        .unwrap();
        let (h, p) = c.receive_until(Instant::now() + Duration::from_secs(30)).unwrap();
        assert_eq!(h.message_id, i + 1);
        assert_eq!(p, &payload[..]);
    }
    drop(c);
    assert!(child.wait().unwrap().success());
}

#[test]
fn a_killed_child_is_a_closed_peer() {
    let dir = windows_run_dir();
    let mut child = spawn_child_server(&dir, PROFILE_BASELINE);
    let mut c = NpSession::connect(&dir, "child", &client_cfg(1024, 1 << 20)).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let err = c
        .receive_until(Instant::now() + Duration::from_secs(30))
        .unwrap_err();
    assert!(matches!(err, TransportError::PeerClosed), "{err:?}");
    assert!(c.peer_closed());
}

fn shm_cfgs(profiles: u32) -> (ServerConfig, ClientConfig) {
    (
        ServerConfig {
            supported_profiles: profiles,
            ..server_cfg(0, 1 << 20)
        },
        ClientConfig {
            supported_profiles: profiles,
            ..client_cfg(0, 1 << 20)
        },
    )
}

fn shm_round_trips(profile: u32) {
    let dir = windows_run_dir();
    let (scfg, ccfg) = shm_cfgs(PROFILE_BASELINE | profile);
    let listener = NpListener::bind(&dir, "shm", scfg).unwrap();
    let server = echo_one(listener);
    let mut c = NpSession::connect(&dir, "shm", &ccfg).unwrap();
    assert_eq!(c.params().selected_profile, profile);
    assert!(c.is_shm());
    for i in 0..500u64 {
        c.send(
            &Header::new(Kind::Request, METHOD_INCREMENT, i + 1, 8),
            &increment::encode(i),
        )
        .unwrap();
        let (h, p) = c.receive_until(Instant::now() + Duration::from_secs(30)).unwrap();
        assert_eq!((h.message_id, increment::decode(p).unwrap()), (i + 1, i));
    }
    // A message far above the pipe packet size goes whole.
    let big: Vec<u8> = (0..(1 << 20) as u32).map(|i| (i % 251) as u8).collect();
    c.send(&Header::new(Kind::Request, METHOD_STRING_REVERSE, 9999, 0), &big)
        .unwrap();
    assert_eq!(c.receive().unwrap().1, &big[..]);
    drop(c);
    assert_eq!(server.join().unwrap(), 1);
}

#[test]
fn shm_hybrid_carries_the_session() {
    shm_round_trips(PROFILE_SHM_HYBRID);
}

#[test]
fn shm_busywait_carries_the_session() {
    shm_round_trips(PROFILE_SHM_BUSYWAIT);
}

#[test]
fn a_service_name_too_long_for_shm_object_names_runs_over_the_pipe() {
    let dir = windows_run_dir();
    // Fits a pipe name (up to 222), not the session's object names (193).
    let service = "s".repeat(200);
    let (scfg, ccfg) = shm_cfgs(PROFILE_BASELINE | PROFILE_SHM_HYBRID);
    let listener = NpListener::bind(&dir, &service, scfg).unwrap();
    let server = echo_one(listener);
    let mut c = NpSession::connect(&dir, &service, &ccfg).unwrap();
    assert_eq!(c.params().selected_profile, PROFILE_BASELINE);
    c.send(
        &Header::new(Kind::Request, METHOD_INCREMENT, 1, 8),
        &increment::encode(7),
    )
    .unwrap();
    assert_eq!(increment::decode(c.receive().unwrap().1).unwrap(), 7);
    drop(c);
    assert_eq!(server.join().unwrap(), 1);
    // One character more than a pipe name holds is refused on both sides.
    let too_long = "s".repeat(223);
    assert!(matches!(
        NpListener::bind(&dir, &too_long, server_cfg(0, 1024)),
        Err(TransportError::PathTooLong { .. })
    ));
    assert!(matches!(
        NpSession::connect(&dir, &too_long, &client_cfg(0, 1024)),
        Err(TransportError::PathTooLong { .. })
    ));
}

#[test]
fn shm_is_used_only_when_both_sides_offer_it() {
    let dir = windows_run_dir();
    let (_, ccfg) = shm_cfgs(PROFILE_BASELINE | PROFILE_SHM_HYBRID);
    let listener = NpListener::bind(&dir, "noshm", server_cfg(0, 1 << 20)).unwrap();
    let server = echo_one(listener);
    let c = NpSession::connect(&dir, "noshm", &ccfg).unwrap();
    assert_eq!(c.params().selected_profile, PROFILE_BASELINE);
    assert!(!c.is_shm());
    drop(c);
    server.join().unwrap();
}

#[test]
fn shm_timeout_abort_and_peer_close() {
    let dir = windows_run_dir();
    let (scfg, ccfg) = shm_cfgs(PROFILE_BASELINE | PROFILE_SHM_HYBRID);
    let listener = NpListener::bind(&dir, "shmwait", scfg).unwrap();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let server = thread::spawn(move || {
        let mut s = listener.accept(None).unwrap();
        assert!(s.is_shm());
        let (h, p) = s.receive().unwrap();
        let p = p.to_vec();
        go_rx.recv().unwrap();
        reply(&mut s, h, &p);
        go_rx.recv().unwrap();
        // Dropping the session raises the server's close flag.
    });
    let mut c = NpSession::connect(&dir, "shmwait", &ccfg).unwrap();
    c.send(
        &Header::new(Kind::Request, METHOD_INCREMENT, 1, 8),
        &increment::encode(1),
    )
    .unwrap();
    let start = Instant::now();
    let err = c.receive_until(start + Duration::from_millis(100)).unwrap_err();
    assert!(matches!(err, TransportError::Timeout), "{err:?}");
    assert!(start.elapsed() >= Duration::from_millis(100));
    let abort = AbortHandle::new().unwrap();
    c.set_abort(Some(abort.clone()));
    let a2 = abort.clone();
    let raiser = thread::spawn(move || a2.abort());
    let err = c.receive().unwrap_err();
    assert!(matches!(err, TransportError::Aborted), "{err:?}");
    raiser.join().unwrap();
    abort.clear();
    go_tx.send(()).unwrap();
    let (h, _) = c.receive_until(Instant::now() + Duration::from_secs(30)).unwrap();
    assert_eq!(h.message_id, 1);
    go_tx.send(()).unwrap();
    server.join().unwrap();
    c.send(
        &Header::new(Kind::Request, METHOD_INCREMENT, 2, 8),
        &increment::encode(2),
    )
    .unwrap();
    let err = c
        .receive_until(Instant::now() + Duration::from_secs(30))
        .unwrap_err();
    assert!(matches!(err, TransportError::PeerClosed), "{err:?}");
}

#[test]
fn a_child_process_serves_over_shm_and_its_death_is_noticed() {
    for profile in [PROFILE_SHM_HYBRID, PROFILE_SHM_BUSYWAIT] {
        let dir = windows_run_dir();
        let mut child = spawn_child_server(&dir, PROFILE_BASELINE | profile);
        let (_, ccfg) = shm_cfgs(PROFILE_BASELINE | profile);
        let mut c = NpSession::connect(&dir, "child", &ccfg).unwrap();
        assert_eq!(c.params().selected_profile, profile);
        for i in 0..100u64 {
            c.send(
                &Header::new(Kind::Request, METHOD_INCREMENT, i + 1, 8),
                &increment::encode(i),
            )
            .unwrap();
            let (h, p) = c.receive_until(Instant::now() + Duration::from_secs(30)).unwrap();
            assert_eq!((h.message_id, increment::decode(p).unwrap()), (i + 1, i));
        }
        // Killed: no close flag is raised; the pipe tells.
        child.kill().unwrap();
        child.wait().unwrap();
        c.send(
            &Header::new(Kind::Request, METHOD_INCREMENT, 500, 8),
            &increment::encode(1),
        )
        .unwrap();
        let err = c
            .receive_until(Instant::now() + Duration::from_secs(30))
            .unwrap_err();
        assert!(matches!(err, TransportError::PeerClosed), "{profile}: {err:?}");
    }
}

/// Sends 16 requests before reading any answer, then a batch of 100 items,
/// over the given profiles.
fn pipeline_and_batch(profiles: u32) {
    let dir = windows_run_dir();
    let (scfg, ccfg) = shm_cfgs(profiles);
    let listener = NpListener::bind(&dir, "pipeline", scfg).unwrap();
    let server = echo_one(listener);
    let mut c = NpSession::connect(&dir, "pipeline", &ccfg).unwrap();
    let depth = if c.is_shm() { 1 } else { 16 }; // SHM: one in flight per direction
    for round in 0..10u64 {
        for i in 0..depth {
            let id = round * 100 + i + 1;
            c.send(
                &Header::new(Kind::Request, METHOD_INCREMENT, id, 8),
                &increment::encode(id),
            )
            .unwrap();
        }
        for i in 0..depth {
            let (h, p) = c.receive_until(Instant::now() + Duration::from_secs(30)).unwrap();
            assert_eq!(h.message_id, round * 100 + i + 1, "answers keep their order");
            assert_eq!(increment::decode(p).unwrap(), h.message_id);
        }
    }
    let mut payload = Vec::new();
    let mut b = BatchBuilder::new(&mut payload, 100, 65536);
    for i in 0..100u64 {
        b.add(&increment::encode(i)).unwrap();
    }
    let (len, count) = b.finish();
    let h = Header {
        flags: FLAG_BATCH,
        item_count: count,
        ..Header::new(Kind::Request, METHOD_INCREMENT, 5000, 0)
    };
    c.send(&h, &payload[..len]).unwrap();
    let (rh, got) = c.receive().unwrap();
    let v = BatchView::decode(got, rh.item_count).unwrap();
    assert_eq!(v.iter().count(), 100);
    for (i, item) in v.iter().enumerate() {
        assert_eq!(increment::decode(item).unwrap(), i as u64);
    }
    drop(c);
    server.join().unwrap();
}

#[test]
fn pipelining_and_batches_over_the_pipe() {
    pipeline_and_batch(PROFILE_BASELINE);
}

#[test]
fn batches_over_shm() {
    pipeline_and_batch(PROFILE_BASELINE | PROFILE_SHM_HYBRID);
}

#[test]
fn a_hostile_client_does_not_disturb_the_listener() {
    let dir = windows_run_dir();
    let listener = NpListener::bind(&dir, "hostile", server_cfg(0, 4096)).unwrap();
    let server = thread::spawn(move || {
        let first = listener.accept(None).map(|_| ());
        let mut s = listener.accept(None).unwrap();
        let (h, p) = s.receive().unwrap();
        let p = p.to_vec();
        reply(&mut s, h, &p);
        first
    });
    let name = netipc_transport::names::pipe_name(&dir, "hostile").unwrap();
    let mut raw = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&name)
        .unwrap();
    raw.write_all(&[0xAA; 100]).unwrap();
    let mut c = NpSession::connect(&dir, "hostile", &client_cfg(0, 4096)).unwrap();
    c.send(
        &Header::new(Kind::Request, METHOD_INCREMENT, 1, 8),
        &increment::encode(41),
    )
    .unwrap();
    let (_, p) = c.receive_until(Instant::now() + Duration::from_secs(30)).unwrap();
    assert_eq!(increment::decode(p).unwrap(), 41);
    let first = server.join().unwrap().unwrap_err();
    assert!(
        !matches!(first, TransportError::Aborted | TransportError::Timeout),
        "{first:?}"
    );
    drop(raw);
}

#[test]
fn handshake_rejections_reach_both_sides() {
    let dir = windows_run_dir();
    // The server carries only shared memory: a baseline-only client has no
    // profile in common.
    let scfg = ServerConfig {
        supported_profiles: PROFILE_SHM_HYBRID,
        ..server_cfg(0, 4096)
    };
    let listener = NpListener::bind(&dir, "reject", scfg).unwrap();
    let server = thread::spawn(move || {
        (0..2)
            .map(|_| listener.accept(None).map(|_| ()))
            .collect::<Vec<_>>()
    });
    let too_big = ClientConfig {
        supported_profiles: PROFILE_SHM_HYBRID,
        ..client_cfg(0, 8192)
    };
    let err = NpSession::connect(&dir, "reject", &too_big).unwrap_err();
    assert!(matches!(err, TransportError::LimitExceeded { .. }), "{err:?}");
    let err = NpSession::connect(&dir, "reject", &client_cfg(0, 4096)).unwrap_err();
    assert!(matches!(err, TransportError::Unsupported), "{err:?}");
    let server_side = server.join().unwrap();
    assert!(
        matches!(server_side[0], Err(TransportError::LimitExceeded { .. })),
        "{server_side:?}"
    );
    assert!(
        matches!(server_side[1], Err(TransportError::Unsupported)),
        "{server_side:?}"
    );
}

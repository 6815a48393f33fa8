//! Payload and batch limits: growing a session, and answering over-limit requests.

use super::*;

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
    assert!(matches!(r, Err(ServiceError::LimitExceeded { .. })), "{r:?}");
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

/// A request larger than the server accepts at all (its configured
/// maximum, 1 KiB by default): the grown handshake is refused, the call
/// fails with `LimitExceeded`, and the client goes back to the session
/// size the server accepts, so that smaller calls keep working; before,
/// every later handshake proposed the refused size and the client stayed
/// `Incompatible`.
#[test]
fn a_request_the_server_never_accepts_leaves_the_client_usable() {
    let dir = RunDir::new("svc");
    let scfg = netipc_service::ServerConfig {
        max_request_payload_bytes: 0,
        ..server_config(1 << 20)
    };
    let _srv = Running::start(dir.path(), "small", scfg, reverser());
    let cfg = netipc_service::ClientConfig {
        max_request_payload_bytes: 0,
        ..client_config(1 << 20)
    };
    let mut c = netipc_service::string_reverse::StringReverseClient::new(dir.path(), "small", cfg);
    assert!(c.refresh());
    let r = c.call(&[b'x'; 3000]).map(|s| s.as_bytes().len());
    assert!(matches!(r, Err(ServiceError::LimitExceeded { .. })), "{r:?}");
    c.refresh();
    assert_eq!(c.state(), ClientState::Ready);
    assert_eq!(c.call(b"abc").unwrap().as_bytes(), b"cba");
    // And again: the refusal does not stick.
    assert!(c.call(&[b'x'; 3000]).is_err());
    c.refresh();
    assert_eq!(c.call(b"xyz").unwrap().as_bytes(), b"zyx");
}

/// A client whose request size grew against one server, and a server that
/// comes back with a smaller request maximum: the grown proposal is
/// refused, and the client connects again with its configured size.
#[test]
fn a_grown_request_size_is_dropped_for_a_server_with_smaller_limits() {
    let dir = RunDir::new("svc");
    let cfg = netipc_service::ClientConfig {
        max_request_payload_bytes: 0,
        ..client_config(1 << 20)
    };
    let mut c = netipc_service::string_reverse::StringReverseClient::new(dir.path(), "shrink", cfg);
    let big = Running::start(dir.path(), "shrink", server_config(1 << 20), reverser());
    assert!(c.refresh());
    assert_eq!(c.call(&[b'x'; 5000]).unwrap().as_bytes().len(), 5000);
    big.stop();
    let scfg = netipc_service::ServerConfig {
        max_request_payload_bytes: 0,
        ..server_config(1 << 20)
    };
    let _small = Running::start(dir.path(), "shrink", scfg, reverser());
    c.refresh();
    assert_eq!(c.state(), ClientState::Ready, "{:?}", c.last_connect_error());
    assert_eq!(c.call(b"abc").unwrap().as_bytes(), b"cba");
}

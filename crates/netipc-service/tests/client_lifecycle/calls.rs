//! Typed calls and the client's states.

use super::*;
use netipc_service::transport::TransportError;

#[test]
fn lifecycle_without_a_server() {
    let dir = RunDir::new("svc");
    let mut c = IncrementClient::new(dir.path(), "absent", client_config(1024));
    assert_eq!(c.state(), ClientState::Disconnected);
    assert!(!c.ready());
    assert!(matches!(
        c.call(1),
        Err(ServiceError::NotReady {
            state: ClientState::Disconnected,
            ..
        })
    ));
    assert!(c.last_connect_error().is_none(), "nothing tried yet");
    assert!(c.refresh(), "state changed to NOT_FOUND");
    assert_eq!(c.state(), ClientState::NotFound);
    match c.last_connect_error() {
        Some(TransportError::NotFound { path, source }) => {
            assert!(path.contains("absent"), "{path}");
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("{other:?}"),
    }
    assert!(!c.refresh(), "still NOT_FOUND: no change");
    assert!(matches!(
        c.call(1),
        Err(ServiceError::NotReady {
            state: ClientState::NotFound,
            ..
        })
    ));
    assert_eq!(c.status().call_count, 0);

    // The server appears later: the next refresh connects.
    let _srv = Running::start(dir.path(), "absent", server_config(1024), plus_one());
    assert!(c.refresh());
    assert!(c.ready());
    assert!(c.last_connect_error().is_none(), "cleared by the connect");
    assert_eq!(c.call(41).unwrap(), 42);
    c.close();
    assert_eq!(c.state(), ClientState::Disconnected);
    // After close: calls fail at once, until a refresh connects again.
    assert!(matches!(
        c.call(1),
        Err(ServiceError::NotReady {
            state: ClientState::Disconnected,
            ..
        })
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
    assert!(matches!(
        bad_token.last_connect_error(),
        Some(TransportError::AuthFailed)
    ));
    let mut too_big = IncrementClient::new(dir.path(), "inc", client_config(4096));
    too_big.refresh();
    assert_eq!(too_big.state(), ClientState::Incompatible);
    assert!(matches!(
        too_big.last_connect_error(),
        Some(TransportError::LimitExceeded { .. })
    ));
}

/// A server that accepts but never answers the HELLO: the client's state
/// says only `Disconnected`; its last connect error says why.
#[test]
fn a_handshake_that_times_out_is_reported() {
    let dir = RunDir::new("svc");
    let listener = RawListener::bind(dir.path(), "mute", raw_batch_server_config()).unwrap();
    let cfg = netipc_service::ClientConfig {
        handshake_timeout: Duration::from_millis(50),
        ..client_config(1024)
    };
    let mut c = IncrementClient::new(dir.path(), "mute", cfg);
    c.refresh();
    assert_eq!(c.state(), ClientState::Disconnected);
    assert!(matches!(c.last_connect_error(), Some(TransportError::Timeout)));
    drop(listener);
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
            matches!(
                r,
                Err(ServiceError::ServerStatus {
                    status: STATUS_INTERNAL_ERROR,
                    ..
                })
            ),
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
        Err(ServiceError::ServerStatus {
            status: STATUS_UNSUPPORTED,
            ..
        })
    ));
    let mut right = CgroupsClient::new(dir.path(), "cg", client_config(1024));
    right.refresh();
    assert_eq!(right.call_snapshot().unwrap().item_count, 0);
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

/// `Duration::MAX` as a timeout means no limit: every deadline saturates
/// instead of overflowing (which would panic).
#[test]
fn unlimited_timeouts_are_accepted() {
    let dir = RunDir::new("svc");
    let scfg = netipc_service::ServerConfig {
        handshake_timeout: Duration::MAX,
        ..server_config(1024)
    };
    let srv = Running::start(dir.path(), "forever", scfg, plus_one());
    let cfg = netipc_service::ClientConfig {
        call_timeout: Duration::MAX,
        handshake_timeout: Duration::MAX,
        ..client_config(1024)
    };
    let mut c = IncrementClient::new(dir.path(), "forever", cfg);
    assert!(c.refresh() && c.ready());
    assert_eq!(c.call(1).unwrap(), 2);
    assert_eq!(c.call_batch(&[1, 2]).unwrap(), vec![2, 3]);
    drop(c);
    assert!(srv.server.drain(Duration::MAX));
}

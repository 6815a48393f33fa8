//! Answers of a hand-written server that break the contract.

use super::*;

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
    assert!(matches!(err, ServiceError::BadResponse { .. }), "{err:?}");
    assert_eq!(c.status().reconnect_count, 1);
    assert_eq!(c.state(), ClientState::Broken);
    // A payload that does not decode: not retried, and that session is
    // left at the next refresh.
    assert!(c.refresh());
    let err = c.call(2).unwrap_err();
    assert!(matches!(err, ServiceError::Malformed { .. }), "{err:?}");
    assert!(c.refresh());
    let err = c.call_batch(&[1, 2, 3]).unwrap_err();
    assert!(matches!(err, ServiceError::BadResponse { .. }), "{err:?}");
    assert!(c.refresh());
    assert_eq!(c.call(41).unwrap(), 42);
    assert_eq!(c.status().error_count, 3);
    c.close();
    server.join().unwrap();
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
        matches!(
            err,
            ServiceError::ServerStatus {
                status: STATUS_INTERNAL_ERROR,
                ..
            }
        ),
        "{err:?}"
    );
    server.join().unwrap();
}

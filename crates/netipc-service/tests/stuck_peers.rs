//! Peers that stop reading: a client whose call cannot be sent, and a
//! server whose answers cannot be delivered.

mod common;

use common::*;
use netipc_service::increment;
use netipc_service::increment::IncrementClient;
use netipc_service::string_reverse::StringReverseClient;
use netipc_service::transport::codec::{Header, Kind, METHOD_INCREMENT};
#[cfg(unix)]
use netipc_service::transport::posix::{UdsListener as Listener, UdsSession as Session};
#[cfg(windows)]
use netipc_service::transport::windows::{NpListener as Listener, NpSession as Session};
use netipc_service::{ClientState, ServiceError};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[test]
fn a_call_to_a_server_that_stopped_reading_ends_at_its_timeout() {
    let dir = RunDir::new("stuck");
    let scfg = netipc_service::transport::ServerConfig {
        packet_size: 4096,
        max_request_payload_bytes: 1 << 22,
        max_response_payload_bytes: 1 << 22,
        auth_token: TOKEN,
        ..Default::default()
    };
    let listener = Listener::bind(dir.path(), "mute", scfg).unwrap();
    let path = dir.path().to_path_buf();
    let (took, result) = finishes_within(Duration::from_secs(20), "the call", move || {
        let cfg = netipc_service::ClientConfig {
            packet_size: 4096,
            call_timeout: Duration::from_millis(300),
            ..client_config(1 << 22)
        };
        let mut c = StringReverseClient::new(&path, "mute", cfg);
        let accepting = std::thread::spawn(move || {
            #[cfg(unix)]
            return listener.accept().unwrap();
            #[cfg(windows)]
            return listener.accept(None).unwrap();
        });
        assert!(c.refresh());
        // The server's session, open and never read, until the call ends.
        let mute = accepting.join().unwrap();
        let text = vec![b'x'; 1 << 21];
        let started = Instant::now();
        let r = c.call(&text).map(|v| v.as_bytes().len());
        let took = started.elapsed();
        drop(mute);
        (took, r)
    });
    // Without a bound it would wait for as long as the server lives.
    assert!(matches!(result, Err(ServiceError::Timeout { .. })), "{result:?}");
    assert!(
        took >= Duration::from_millis(300),
        "not before the deadline: {took:?}"
    );
}

/// A client sends requests and reads none of the answers: once its
/// receive queue is full, the server's worker waits to deliver the next
/// answer. `stop()` must still end that session and return.
#[test]
fn a_server_stops_while_a_client_reads_none_of_its_answers() {
    let dir = RunDir::new("stuck");
    let handled = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&handled);
    let handler = increment::Handler {
        handle: Some(Box::new(move |v| {
            counter.fetch_add(1, Ordering::Relaxed);
            Some(v + 1)
        })),
    };
    let srv = Running::start(dir.path(), "inc", server_config(1024), handler);
    let ccfg = netipc_service::transport::ClientConfig {
        auth_token: TOKEN,
        ..Default::default()
    };
    let mut s = Session::connect(dir.path(), "inc", &ccfg).unwrap();
    // Sends until the server stops taking requests (it is stuck on an
    // answer, and our send queue is full too), then until it hangs up.
    let sender = std::thread::spawn(move || {
        for id in 1.. {
            let h = Header::new(Kind::Request, METHOD_INCREMENT, id, 0);
            if s.send(&h, &id.to_ne_bytes()).is_err() {
                return id;
            }
        }
        unreachable!()
    });
    // The server is stuck once it handles no more requests.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = (0, Instant::now());
    loop {
        let now = handled.load(Ordering::Relaxed);
        if now != last.0 {
            last = (now, Instant::now());
        } else if now > 0 && last.1.elapsed() > Duration::from_millis(100) {
            break;
        }
        assert!(Instant::now() < deadline, "the server kept handling requests");
        std::thread::yield_now();
    }
    finishes_within(Duration::from_secs(5), "stop", move || srv.stop());
    // The server hung up: the sender's blocked send fails.
    let sent = finishes_within(Duration::from_secs(5), "the sender", move || {
        sender.join().unwrap()
    });
    assert!(sent > handled.load(Ordering::Relaxed));
}

/// A server that accepts nobody more (its one session slot is taken) and
/// whose listen backlog is full: a new client's connect waits in the kernel
/// for room in the backlog. `refresh` must still end within the handshake
/// timeout.
#[test]
fn a_refresh_against_a_full_backlog_ends_at_the_handshake_timeout() {
    let dir = RunDir::new("stuck");
    let handler = increment::Handler {
        handle: Some(Box::new(|v| Some(v + 1))),
    };
    let scfg = netipc_service::ServerConfig {
        max_sessions: 1,
        backlog: 1,
        ..server_config(1024)
    };
    let _srv = Running::start(dir.path(), "full", scfg, handler);
    let cfg = netipc_service::ClientConfig {
        handshake_timeout: Duration::from_millis(200),
        ..client_config(1024)
    };
    let mut first = IncrementClient::new(dir.path(), "full", cfg.clone());
    assert!(first.refresh() && first.ready());
    // Fill the backlog with clients that get no session.
    let path = dir.path().to_path_buf();
    let waiting: Vec<_> = (0..4)
        .map(|_| {
            let (path, cfg) = (path.clone(), cfg.clone());
            std::thread::spawn(move || {
                let mut c = IncrementClient::new(&path, "full", cfg);
                c.refresh();
                c.state()
            })
        })
        .collect();
    for w in waiting {
        // Without a bound it would wait for as long as the server lives.
        let state = finishes_within(Duration::from_secs(10), "refresh", move || w.join().unwrap());
        assert_ne!(state, ClientState::Ready);
    }
}

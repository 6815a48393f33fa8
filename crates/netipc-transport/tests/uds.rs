//! UDS SEQPACKET transport over real sockets, threads and child processes.
// macOS has no SEQPACKET sockets: tests/platform.rs covers what it does.
#![cfg(all(unix, not(target_vendor = "apple")))]

use netipc_test_support::{PATIENCE, RunDir, child_env, child_test, poll_until};
use netipc_transport::codec::*;
use netipc_transport::posix::{UdsListener, UdsSession};
use netipc_transport::{AbortHandle, ClientConfig, Limit, ServerConfig, TransportError};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

const TOKEN: u64 = 0x1234;

fn server_cfg(packet_size: u32, max_payload: u32) -> ServerConfig {
    ServerConfig {
        max_request_payload_bytes: max_payload,
        max_response_payload_bytes: max_payload,
        max_request_batch_items: 1000,
        auth_token: TOKEN,
        packet_size,
        ..ServerConfig::default()
    }
}

fn client_cfg(packet_size: u32, max_payload: u32) -> ClientConfig {
    ClientConfig {
        max_request_payload_bytes: max_payload,
        max_response_payload_bytes: max_payload,
        max_request_batch_items: 1000,
        max_response_batch_items: 1000,
        auth_token: TOKEN,
        packet_size,
        ..ClientConfig::default()
    }
}

/// Serves `sessions` sessions, echoing every request as a response.
fn echo_server(listener: UdsListener, sessions: usize) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        for _ in 0..sessions {
            let Ok(mut s) = listener.accept() else { continue };
            while let Ok((h, p)) = s.receive() {
                let p = p.to_vec();
                let reply = Header {
                    kind: Kind::Response,
                    ..h
                };
                if s.send(&reply, &p).is_err() {
                    break;
                }
            }
        }
    })
}

#[test]
fn handshake_assigns_sessions_from_one() {
    let dir = RunDir::new("uds");
    let listener = UdsListener::bind(dir.path(), "svc", server_cfg(0, 4096)).unwrap();
    let t = thread::spawn(move || {
        let a = listener.accept().unwrap();
        let b = listener.accept().unwrap();
        (a.params().session_id, b.params().session_id)
    });
    let c1 = UdsSession::connect(dir.path(), "svc", &client_cfg(0, 4096)).unwrap();
    let c2 = UdsSession::connect(dir.path(), "svc", &client_cfg(0, 4096)).unwrap();
    assert_eq!(t.join().unwrap(), (1, 2));
    assert_eq!((c1.params().session_id, c2.params().session_id), (1, 2));
    assert_eq!(c1.params().selected_profile, PROFILE_BASELINE);
    assert!(c1.params().packet_size > 32, "packet size from SO_SNDBUF");
}

#[test]
fn handshake_rejections_reach_both_sides() {
    let dir = RunDir::new("uds");
    let listener = UdsListener::bind(dir.path(), "svc", server_cfg(0, 4096)).unwrap();
    let t = thread::spawn(move || {
        (0..2)
            .map(|_| listener.accept().map(|_| ()).map_err(|e| e.to_string()))
            .collect::<Vec<_>>()
    });
    let bad_token = ClientConfig {
        auth_token: 1,
        ..client_cfg(0, 4096)
    };
    assert!(matches!(
        UdsSession::connect(dir.path(), "svc", &bad_token),
        Err(TransportError::AuthFailed)
    ));
    let too_big = client_cfg(0, 8192);
    assert!(matches!(
        UdsSession::connect(dir.path(), "svc", &too_big),
        Err(TransportError::LimitExceeded {
            what: Limit::ProposedRequestPayload,
            ..
        })
    ));
    let server_side = t.join().unwrap();
    assert!(server_side.iter().all(Result::is_err), "{server_side:?}");
}

#[test]
fn connect_without_server_is_not_found() {
    let dir = RunDir::new("uds");
    assert!(matches!(
        UdsSession::connect(dir.path(), "absent", &client_cfg(0, 1024)),
        Err(TransportError::NotFound { .. })
    ));
}

#[test]
fn service_names_are_checked() {
    let dir = RunDir::new("uds");
    // The same rule as every other implementation's: a name our server
    // took but their clients refuse would be a service nobody reaches.
    for bad in ["", "a/b", "..", ".", "x\0y", "a b", "svc:1", "café"] {
        assert!(
            matches!(
                UdsListener::bind(dir.path(), bad, ServerConfig::default()),
                Err(TransportError::InvalidServiceName(_))
            ),
            "{bad:?}"
        );
    }
    let long = "s".repeat(200);
    assert!(matches!(
        UdsListener::bind(dir.path(), &long, ServerConfig::default()),
        Err(TransportError::PathTooLong { .. })
    ));
}

#[test]
fn stale_endpoints_are_recovered_and_live_ones_kept() {
    use std::os::unix::fs::PermissionsExt;
    let dir = RunDir::new("uds");
    let path = dir.path().join("svc.sock");
    // A regular file squatting on the path is junk.
    std::fs::write(&path, b"junk").unwrap();
    let l = UdsListener::bind(dir.path(), "svc", server_cfg(0, 1024)).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // A live server keeps its endpoint.
    assert!(matches!(
        UdsListener::bind(dir.path(), "svc", server_cfg(0, 1024)),
        Err(TransportError::AddressInUse { .. })
    ));
    drop(l);
    assert!(!path.exists(), "a dropped listener removes its socket");
    // A socket file with no listener (a crashed server) is stale.
    let _dead = UnixDatagram::bind(&path).unwrap();
    drop(_dead);
    assert!(path.exists());
    let _l = UdsListener::bind(dir.path(), "svc", server_cfg(0, 1024)).unwrap();
}

#[test]
fn junk_at_the_socket_name_is_reclaimed_without_following_it() {
    let dir = RunDir::new("uds");
    let path = dir.path().join("svc.sock");
    // A symlink goes, not what it points at.
    let target = dir.path().join("target");
    std::fs::write(&target, b"keep").unwrap();
    std::os::unix::fs::symlink(&target, &path).unwrap();
    drop(UdsListener::bind(dir.path(), "svc", server_cfg(0, 1024)).unwrap());
    assert_eq!(std::fs::read(&target).unwrap(), b"keep");
    // An empty directory goes too.
    std::fs::create_dir(&path).unwrap();
    drop(UdsListener::bind(dir.path(), "svc", server_cfg(0, 1024)).unwrap());
    // A directory with something in it is not ours to empty.
    std::fs::create_dir(&path).unwrap();
    std::fs::write(path.join("keep"), b"x").unwrap();
    assert!(matches!(
        UdsListener::bind(dir.path(), "svc", server_cfg(0, 1024)),
        Err(TransportError::AddressInUse { .. })
    ));
    assert!(path.join("keep").exists());
}

fn roundtrip_sizes(packet_size: u32, sizes: &[usize]) {
    let dir = RunDir::new("uds");
    let max = *sizes.iter().max().unwrap() as u32;
    let listener = UdsListener::bind(dir.path(), "chunk", server_cfg(packet_size, max)).unwrap();
    let server = echo_server(listener, 1);
    let mut c = UdsSession::connect(dir.path(), "chunk", &client_cfg(packet_size, max)).unwrap();
    if packet_size != 0 {
        assert_eq!(c.params().packet_size, packet_size);
    }
    for (i, &n) in sizes.iter().enumerate() {
        let payload: Vec<u8> = (0..n).map(|j| (j * 31 + i) as u8).collect();
        let h = Header::new(Kind::Request, METHOD_STRING_REVERSE, i as u64 + 1, 0);
        c.send(&h, &payload).unwrap();
        let (rh, got) = c.receive().unwrap();
        assert_eq!(rh.message_id, i as u64 + 1);
        assert_eq!(rh.payload_len as usize, n);
        assert!(got == payload.as_slice(), "size {n} differs");
    }
    drop(c);
    server.join().unwrap();
}

#[test]
fn chunked_messages_small_packets() {
    roundtrip_sizes(64, &[0, 1, 31, 32, 33, 64, 1000, 4097, 65536]);
}

#[test]
fn chunked_messages_up_to_8_mib() {
    roundtrip_sizes(4096, &[1, 4064, 4065, 1 << 20, 8 << 20]);
}

/// With packet sizes derived from `SO_SNDBUF`, full-size packets must still
/// be accepted by the kernel (which reserves part of the buffer).
#[test]
fn chunked_messages_at_the_default_packet_size() {
    roundtrip_sizes(0, &[200_000, 212_992, 4 << 20]);
}

/// Packets up to 2048 bytes are joined and sent with `send`, longer ones
/// with `sendmsg` from their parts: messages whose single packet lands on
/// either side of that size arrive intact.
#[test]
fn single_packets_around_the_gather_size() {
    roundtrip_sizes(0, &[0, 1, 2015, 2016, 2017, 2048, 4096]);
}

/// A send to a session whose peer has gone is `PeerClosed`, for a short
/// packet (joined, `send`) and a long one (`sendmsg`) alike.
#[test]
fn sending_to_a_closed_peer_is_peer_closed() {
    for n in [8usize, 4096] {
        let dir = RunDir::new("uds");
        let listener = UdsListener::bind(dir.path(), "gone", server_cfg(0, 8192)).unwrap();
        let server = thread::spawn(move || drop(listener.accept().unwrap()));
        let mut c = UdsSession::connect(dir.path(), "gone", &client_cfg(0, 8192)).unwrap();
        server.join().unwrap();
        let h = Header::new(Kind::Request, METHOD_STRING_REVERSE, 1, 0);
        let err = c.send(&h, &vec![7u8; n]).unwrap_err();
        assert!(matches!(err, TransportError::PeerClosed), "size {n}: {err:?}");
    }
}

#[test]
fn pipeline_depth_64_out_of_order() {
    let dir = RunDir::new("uds");
    let listener = UdsListener::bind(dir.path(), "pipe", server_cfg(0, 4096)).unwrap();
    let server = thread::spawn(move || {
        let mut s = listener.accept().unwrap();
        let mut pending = Vec::new();
        for _ in 0..64 {
            let (h, p) = s.receive().unwrap();
            pending.push((h, p.to_vec()));
        }
        // Answer in reverse order.
        for (h, p) in pending.into_iter().rev() {
            let v = increment::decode(&p).unwrap() + 1;
            s.send(
                &Header {
                    kind: Kind::Response,
                    ..h
                },
                &increment::encode(v),
            )
            .unwrap();
        }
    });
    let mut c = UdsSession::connect(dir.path(), "pipe", &client_cfg(0, 4096)).unwrap();
    for i in 0..64u64 {
        c.send(
            &Header::new(Kind::Request, METHOD_INCREMENT, 100 + i, 8),
            &increment::encode(i),
        )
        .unwrap();
    }
    // A duplicate in-flight id is refused.
    assert!(
        c.send(
            &Header::new(Kind::Request, METHOD_INCREMENT, 100, 8),
            &increment::encode(0)
        )
        .is_err()
    );
    let mut seen = 0u64;
    for k in 0..64u64 {
        let (h, p) = c.receive().unwrap();
        assert_eq!(h.message_id, 163 - k);
        assert_eq!(increment::decode(p).unwrap(), h.message_id - 100 + 1);
        seen += 1;
    }
    assert_eq!(seen, 64);
    server.join().unwrap();
}

/// A client pipelines 40 requests with `send_many` (several `sendmmsg`
/// runs, chunked messages among them) and the server answers each run of
/// seven requests it has read with `send_many` too: everything arrives
/// intact and in order. (About 90 packets in all, so that neither side's
/// unread answers or requests can fill a socket buffer: the client reads
/// nothing until it has sent everything.)
#[test]
fn send_many_pipelines_requests_and_answers() {
    const N: usize = 40;
    let dir = RunDir::new("uds");
    let listener = UdsListener::bind(dir.path(), "many", server_cfg(128, 4096)).unwrap();
    let server = thread::spawn(move || {
        let mut s = listener.accept().unwrap();
        let (mut got, mut answered): (Vec<(Header, Vec<u8>)>, usize) = (Vec::new(), 0);
        while got.len() < N {
            let (h, p) = s.receive().unwrap();
            got.push((h, p.to_vec()));
            if got.len() - answered == 7 || got.len() == N {
                let answers = got[answered..].iter().map(|(h, p)| {
                    let h = Header {
                        kind: Kind::Response,
                        ..*h
                    };
                    (h, &p[..])
                });
                s.send_many(answers).unwrap();
                answered = got.len();
            }
        }
    });
    let mut c = UdsSession::connect(dir.path(), "many", &client_cfg(128, 4096)).unwrap();
    let payloads: Vec<Vec<u8>> = (0..N)
        .map(|i| (0..(i * 37) % 300).map(|j| (i + j) as u8).collect())
        .collect();
    let requests = payloads
        .iter()
        .zip(1..)
        .map(|(p, id)| (Header::new(Kind::Request, METHOD_STRING_REVERSE, id, 0), &p[..]));
    c.send_many(requests).unwrap();
    for (id, p) in (1..).zip(&payloads) {
        let (h, got) = c.receive_until(Instant::now() + Duration::from_secs(10)).unwrap();
        assert_eq!(h.message_id, id);
        assert!(got == p.as_slice(), "message {id} differs");
    }
    drop(c);
    server.join().unwrap();
}

/// `send_many` to a session whose peer has gone is `PeerClosed`.
#[test]
fn send_many_to_a_closed_peer_is_peer_closed() {
    let dir = RunDir::new("uds");
    let listener = UdsListener::bind(dir.path(), "gone", server_cfg(0, 8192)).unwrap();
    let server = thread::spawn(move || drop(listener.accept().unwrap()));
    let mut c = UdsSession::connect(dir.path(), "gone", &client_cfg(0, 8192)).unwrap();
    server.join().unwrap();
    let requests = (1..=4).map(|id| (Header::new(Kind::Request, METHOD_INCREMENT, id, 0), &[7u8; 8][..]));
    let err = c.send_many(requests).unwrap_err();
    assert!(matches!(err, TransportError::PeerClosed), "{err:?}");
}

#[test]
fn batch_of_1000_items() {
    let dir = RunDir::new("uds");
    let listener = UdsListener::bind(dir.path(), "batch", server_cfg(4096, 65536)).unwrap();
    let server = echo_server(listener, 1);
    let mut c = UdsSession::connect(dir.path(), "batch", &client_cfg(4096, 65536)).unwrap();
    let mut payload = Vec::new();
    let mut b = BatchBuilder::new(&mut payload, 1000, 65536);
    for i in 0..1000u64 {
        b.add(&increment::encode(i)).unwrap();
    }
    let (len, count) = b.finish();
    let h = Header {
        flags: FLAG_BATCH,
        item_count: count,
        ..Header::new(Kind::Request, METHOD_INCREMENT, 1, 0)
    };
    c.send(&h, &payload[..len]).unwrap();
    let (rh, got) = c.receive().unwrap();
    assert_eq!(rh.item_count, 1000);
    let v = BatchView::decode(got, rh.item_count).unwrap();
    for (i, item) in v.iter().enumerate() {
        assert_eq!(increment::decode(item).unwrap(), i as u64);
    }
    drop(c);
    server.join().unwrap();
}

#[test]
fn timeout_when_the_server_never_answers() {
    let dir = RunDir::new("uds");
    let listener = UdsListener::bind(dir.path(), "mute", server_cfg(0, 1024)).unwrap();
    let server = thread::spawn(move || {
        let mut s = listener.accept().unwrap();
        let _ = s.receive();
        // Hold the session open without answering until the client leaves.
        let _ = s.receive();
    });
    let mut c = UdsSession::connect(dir.path(), "mute", &client_cfg(0, 1024)).unwrap();
    c.send(
        &Header::new(Kind::Request, METHOD_INCREMENT, 1, 8),
        &increment::encode(1),
    )
    .unwrap();
    let started = Instant::now();
    let r = c.receive_until(Instant::now() + Duration::from_millis(100));
    assert!(matches!(r, Err(TransportError::Timeout)), "{r:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(100),
        "not before the deadline"
    );
    drop(c);
    server.join().unwrap();
}

/// An abort ends a receive blocked in the kernel, with `Aborted`. On Linux
/// the receiving thread is seen asleep first, in one wait that it leaves
/// only when the abort comes: it does not wake now and then to look for
/// the signal, and it is back without going to sleep again.
///
/// (A wait that polled would go to sleep again within the 50 ms it is
/// watched, each of three times; a single sleep on the way to the wait,
/// on a lock say, would show only once.)
#[test]
fn abort_wakes_a_blocked_receive() {
    let dir = RunDir::new("uds");
    let listener = UdsListener::bind(dir.path(), "abort", server_cfg(0, 1024)).unwrap();
    let server = thread::spawn(move || {
        let mut s = listener.accept().unwrap();
        let _ = s.receive();
        let _ = s.receive();
    });
    let mut c = UdsSession::connect(dir.path(), "abort", &client_cfg(0, 1024)).unwrap();
    let abort = AbortHandle::new().unwrap();
    c.set_abort(Some(abort.clone()));
    c.send(
        &Header::new(Kind::Request, METHOD_INCREMENT, 1, 8),
        &increment::encode(1),
    )
    .unwrap();
    #[cfg(target_os = "linux")]
    let tid = std::sync::Arc::new(std::sync::atomic::AtomicI32::new(0));
    #[cfg(target_os = "linux")]
    let told = std::sync::Arc::clone(&tid);
    let waiter = thread::spawn(move || {
        #[cfg(target_os = "linux")]
        let status = {
            use netipc_test_support::threads::{StatusFile, current_tid};
            let status = StatusFile::open(current_tid()).unwrap();
            told.store(current_tid(), std::sync::atomic::Ordering::Release);
            status
        };
        let r = c.receive();
        #[cfg(target_os = "linux")]
        let after = status.read().map(|s| s.voluntary_switches);
        #[cfg(not(target_os = "linux"))]
        let after = None::<()>;
        (r.map(|_| ()), after)
    });
    #[cfg(target_os = "linux")]
    let blocked = {
        use netipc_test_support::threads::{thread_state, wait_until_asleep};
        use netipc_test_support::wait_until;
        use std::sync::atomic::Ordering;
        wait_until("the receiving thread's id", || tid.load(Ordering::Acquire) != 0);
        let tid = tid.load(Ordering::Acquire);
        let mut seen = Vec::new();
        loop {
            let blocked = wait_until_asleep(tid, "the receive");
            // Room for a wait that polls to show itself. (Not a wait for
            // readiness: that was just above.)
            thread::sleep(Duration::from_millis(50));
            let still = thread_state(tid).unwrap();
            if still == blocked {
                break blocked;
            }
            seen.push((blocked, still));
            assert!(seen.len() < 3, "the blocked receive wakes by itself: {seen:?}");
        }
    };
    abort.abort();
    assert!(
        poll_until(PATIENCE, || waiter.is_finished()),
        "the abort did not end the receive"
    );
    let (r, after) = waiter.join().unwrap();
    assert!(matches!(r, Err(TransportError::Aborted)), "{r:?}");
    #[cfg(target_os = "linux")]
    assert_eq!(
        after,
        Some(blocked.voluntary_switches),
        "woken by the abort, back without another sleep"
    );
    #[cfg(not(target_os = "linux"))]
    let _ = after;
    assert!(abort.is_aborted(), "abort is sticky");
    server.join().unwrap();
}

/// A raw SEQPACKET client that completes a real handshake, then misbehaves.
fn hostile(dir: &Path, service: &str, bad: impl FnOnce(&mut Vec<u8>, &mut Vec<u8>)) -> Vec<Vec<u8>> {
    use std::os::fd::AsRawFd;
    // Handshake through our own session type, then write raw packets on its fd.
    let c = UdsSession::connect(dir, service, &client_cfg(128, 4096)).unwrap();
    let mut first = Header::new(Kind::Request, METHOD_INCREMENT, 7, 300)
        .encode()
        .to_vec();
    first.extend_from_slice(&[0u8; 96]);
    let mut second = ChunkHeader {
        message_id: 7,
        total_message_len: 332,
        chunk_index: 1,
        chunk_count: 4,
        chunk_payload_len: 96,
    }
    .encode()
    .to_vec();
    second.extend_from_slice(&[0u8; 96]);
    bad(&mut first, &mut second);
    for p in [&first, &second] {
        // SAFETY: writing a byte slice to a socket fd this test owns.
        let n = unsafe { libc::send(c.as_raw_fd(), p.as_ptr().cast(), p.len(), libc::MSG_NOSIGNAL) };
        if n < 0 {
            break;
        }
    }
    drop(c);
    vec![first, second]
}

#[test]
fn hostile_peers_end_only_their_own_session() {
    let dir = RunDir::new("uds");
    let listener = UdsListener::bind(dir.path(), "host", server_cfg(128, 4096)).unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let server = thread::spawn(move || {
        // Seven hostile sessions, then one good one.
        for _ in 0..8 {
            let mut s = listener.accept().unwrap();
            match s.receive() {
                Err(e) => tx.send(e.to_string()).unwrap(),
                Ok((h, p)) => {
                    let p = p.to_vec();
                    s.send(
                        &Header {
                            kind: Kind::Response,
                            ..h
                        },
                        &p,
                    )
                    .unwrap();
                    tx.send("served".into()).unwrap();
                }
            }
        }
    });
    type Breaker = Box<dyn FnOnce(&mut Vec<u8>, &mut Vec<u8>)>;
    let cases: Vec<(Breaker, &str)> = vec![
        (Box::new(|f, _| f[0] ^= 0xFF), "magic"),
        (Box::new(|f, _| f[4] = 9), "version"),
        (
            Box::new(|f, _| f[16..20].copy_from_slice(&100_000u32.to_ne_bytes())),
            "payload is 100000, the limit is 4096",
        ),
        (Box::new(|_, s| s[8] ^= 1), "message_id"),
        (Box::new(|_, s| s[20] = 2), "chunk_index"),
        // A first packet, then a continuation, 8 bytes over the negotiated 128.
        (Box::new(|f, _| f.extend_from_slice(&[0; 8])), "packet size"),
        (Box::new(|_, s| s.extend_from_slice(&[0; 8])), "packet size"),
    ];
    for (bad, word) in cases {
        hostile(dir.path(), "host", bad);
        let verdict = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert!(verdict.contains(word), "{word}: {verdict}");
    }
    let mut good = UdsSession::connect(dir.path(), "host", &client_cfg(128, 4096)).unwrap();
    good.send(
        &Header::new(Kind::Request, METHOD_INCREMENT, 1, 8),
        &increment::encode(5),
    )
    .unwrap();
    let (_, p) = good.receive().unwrap();
    assert_eq!(increment::decode(p).unwrap(), 5);
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), "served");
    server.join().unwrap();
}

#[test]
fn sending_over_the_limit_is_refused_locally() {
    let dir = RunDir::new("uds");
    let listener = UdsListener::bind(dir.path(), "lim", server_cfg(0, 1024)).unwrap();
    let server = echo_server(listener, 1);
    let mut c = UdsSession::connect(dir.path(), "lim", &client_cfg(0, 1024)).unwrap();
    let r = c.send(
        &Header::new(Kind::Request, METHOD_STRING_REVERSE, 1, 0),
        &[0u8; 1025],
    );
    assert!(matches!(
        r,
        Err(TransportError::LimitExceeded {
            what: Limit::Payload,
            value: Some(1025),
            limit: Some(1024),
        })
    ));
    // So is a batch of more items than the session agreed.
    let r = c.send(
        &Header {
            flags: FLAG_BATCH,
            item_count: 1001,
            ..Header::new(Kind::Request, METHOD_INCREMENT, 1, 0)
        },
        &[],
    );
    assert!(
        matches!(
            r,
            Err(TransportError::LimitExceeded {
                what: Limit::BatchItems,
                value: Some(1001),
                limit: Some(1000),
            })
        ),
        "{r:?}"
    );
    // The session still works.
    c.send(
        &Header::new(Kind::Request, METHOD_INCREMENT, 2, 8),
        &increment::encode(3),
    )
    .unwrap();
    assert_eq!(c.receive().unwrap().0.message_id, 2);
    drop(c);
    server.join().unwrap();
}

/// Child half of `an_fd_shortage_keeps_the_endpoint`: with no descriptor
/// left, liveness cannot be probed, so the endpoint must be kept.
#[test]
#[ignore = "child process of an_fd_shortage_keeps_the_endpoint"]
fn child_fd_shortage() {
    let dir = std::path::PathBuf::from(child_env("NETIPC_CHILD_EMFILE_DIR"));
    let path = dir.join("svc.sock");
    std::fs::write(&path, b"maybe a live server").unwrap();
    // Use up every descriptor under a small limit.
    let limit = libc::rlimit {
        rlim_cur: 64,
        rlim_max: 64,
    };
    // SAFETY: setrlimit with a valid struct; lowers this child's own limit.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
    let mut hold = Vec::new();
    while let Ok(f) = std::fs::File::open("/dev/null") {
        hold.push(f);
    }
    let r = UdsListener::bind(&dir, "svc", server_cfg(0, 1024));
    drop(hold);
    assert!(matches!(r, Err(TransportError::AddressInUse { .. })), "{r:?}");
    assert!(path.exists(), "the endpoint was kept");
    println!("EMFILE-OK");
}

#[test]
fn an_fd_shortage_keeps_the_endpoint() {
    let dir = RunDir::new("uds");
    let out = child_test("child_fd_shortage")
        .env("NETIPC_CHILD_EMFILE_DIR", dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("EMFILE-OK"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A connection that never sends its HELLO: the server's handshake ends
/// with a timeout at its deadline instead of waiting forever.
#[test]
fn a_silent_client_times_out_the_handshake() {
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, UnixAddr, connect, socket};
    use std::os::fd::AsRawFd;
    let dir = RunDir::new("uds");
    let cfg = ServerConfig {
        handshake_timeout: Duration::from_millis(100),
        ..server_cfg(0, 1024)
    };
    let listener = UdsListener::bind(dir.path(), "silent", cfg).unwrap();
    let fd = socket(
        AddressFamily::Unix,
        SockType::SeqPacket,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .unwrap();
    connect(
        fd.as_raw_fd(),
        &UnixAddr::new(&dir.path().join("silent.sock")).unwrap(),
    )
    .unwrap();
    let pending = listener.accept_connection().unwrap();
    let started = Instant::now();
    let err = pending.handshake().unwrap_err();
    assert!(matches!(err, TransportError::Timeout), "{err:?}");
    assert!(started.elapsed() >= Duration::from_millis(100));
    drop(fd);
}

/// Connects non-blocking sockets to `path` until the listener's backlog
/// takes no more; returns them (they hold the backlog full).
fn fill_backlog(path: &Path) -> Vec<std::os::fd::OwnedFd> {
    use nix::errno::Errno;
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, UnixAddr, connect, socket};
    use std::os::fd::AsRawFd;
    let addr = UnixAddr::new(path).unwrap();
    let mut held = Vec::new();
    loop {
        let fd = socket(
            AddressFamily::Unix,
            SockType::SeqPacket,
            SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
            None,
        )
        .unwrap();
        match connect(fd.as_raw_fd(), &addr) {
            Ok(()) => held.push(fd),
            Err(Errno::EAGAIN) => return held,
            Err(e) => panic!("connect: {e}"),
        }
        assert!(held.len() < 10_000, "the backlog never filled");
    }
}

/// A server that accepts nobody and whose backlog is full: a client's
/// connect ends with `Timeout` at the handshake deadline (it used to wait
/// for room in the kernel for as long as the server lived), and a second
/// server's liveness probe sees a live endpoint at once.
#[test]
fn a_full_backlog_times_out_connects_and_is_alive_to_a_probe() {
    let dir = RunDir::new("uds");
    let cfg = ServerConfig {
        backlog: 1,
        ..server_cfg(0, 1024)
    };
    let listener = UdsListener::bind(dir.path(), "full", cfg).unwrap();
    let held = fill_backlog(&dir.path().join("full.sock"));
    assert!(!held.is_empty());

    let path = dir.path().to_path_buf();
    let outcome = thread::spawn(move || {
        let ccfg = ClientConfig {
            handshake_timeout: Duration::from_millis(200),
            ..client_cfg(0, 1024)
        };
        let started = Instant::now();
        let r = UdsSession::connect(&path, "full", &ccfg).map(|_| ());
        let took = started.elapsed();
        let second = UdsListener::bind(&path, "full", server_cfg(0, 1024)).map(|_| ());
        (r, took, second)
    });
    // Without a bound, both would wait for as long as the server lives.
    assert!(
        poll_until(PATIENCE, || outcome.is_finished()),
        "connect or bind still waiting"
    );
    let (r, took, second) = outcome.join().unwrap();
    assert!(matches!(r, Err(TransportError::Timeout)), "{r:?}");
    assert!(
        took >= Duration::from_millis(200),
        "not before the deadline: {took:?}"
    );
    assert!(
        matches!(second, Err(TransportError::AddressInUse { .. })),
        "{second:?}"
    );
    drop((held, listener));
}

/// A server session that reads nothing: its client's sends fill the
/// socket and then wait for room, until the deadline (`send_until`) or the
/// abort signal (`send`, `send_many`), never in the kernel.
#[test]
fn sends_to_a_peer_that_reads_nothing_end_at_their_deadline_or_abort() {
    let dir = RunDir::new("uds");
    let listener = UdsListener::bind(dir.path(), "deaf", server_cfg(4096, 1 << 22)).unwrap();
    let accepting = thread::spawn(move || (0..2).map(|_| listener.accept().unwrap()).collect::<Vec<_>>());
    let cfg = client_cfg(4096, 1 << 22);
    let mut timed = UdsSession::connect(dir.path(), "deaf", &cfg).unwrap();
    let mut aborted = UdsSession::connect(dir.path(), "deaf", &cfg).unwrap();
    let deaf = accepting.join().unwrap();
    let big = vec![7u8; 1 << 22];

    let started = Instant::now();
    let r = timed.send_until(
        &Header::new(Kind::Request, METHOD_STRING_REVERSE, 1, 0),
        &big,
        started + Duration::from_millis(100),
    );
    assert!(matches!(r, Err(TransportError::Timeout)), "{r:?}");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(100),
        "not before the deadline: {took:?}"
    );

    let abort = AbortHandle::new().unwrap();
    aborted.set_abort(Some(abort.clone()));
    abort.abort();
    let r = aborted.send(&Header::new(Kind::Request, METHOD_STRING_REVERSE, 1, 0), &big);
    assert!(matches!(r, Err(TransportError::Aborted)), "{r:?}");
    // Many messages at once (sendmmsg on Linux) wait the same way.
    let small = vec![1u8; 2000];
    let r = aborted.send_many((2..200).map(|id| {
        (
            Header::new(Kind::Request, METHOD_STRING_REVERSE, id, 0),
            &small[..],
        )
    }));
    assert!(matches!(r, Err(TransportError::Aborted)), "{r:?}");
    drop(deaf);
}

/// Servers of one service starting at the same moment, over a stale
/// endpoint or none: exactly one binds, every other gets `AddressInUse`,
/// and the endpoint reaches the one that bound. Without the run dir's lock
/// a starter could take the winner's socket, bound but not yet listening,
/// for a stale one and remove it: two "running" servers, one unreachable.
#[test]
fn servers_starting_together_leave_exactly_one_reachable() {
    let dir = RunDir::new("uds");
    let path = dir.path().join("race.sock");
    for round in 0..200 {
        if round % 2 == 0 {
            // A crashed server's socket file.
            drop(UnixDatagram::bind(&path).unwrap());
        }
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
        let starters: Vec<_> = (0..4)
            .map(|_| {
                let (dir, barrier) = (dir.path().to_path_buf(), barrier.clone());
                thread::spawn(move || {
                    barrier.wait();
                    UdsListener::bind(&dir, "race", server_cfg(0, 1024))
                })
            })
            .collect();
        let results: Vec<_> = starters.into_iter().map(|t| t.join().unwrap()).collect();
        let mut bound: Vec<UdsListener> = Vec::new();
        for r in results {
            match r {
                Ok(l) => bound.push(l),
                Err(TransportError::AddressInUse { .. }) => {}
                Err(e) => panic!("round {round}: {e:?}"),
            }
        }
        assert_eq!(bound.len(), 1, "round {round}: {} servers bound", bound.len());
        let winner = bound.pop().unwrap();
        let client = thread::spawn({
            let dir = dir.path().to_path_buf();
            move || UdsSession::connect(&dir, "race", &client_cfg(0, 1024)).map(|_| ())
        });
        // The losers' liveness probes connected and hung up: skip them.
        let _served = loop {
            match winner.accept() {
                Ok(s) => break s,
                Err(TransportError::PeerClosed) => continue,
                Err(e) => panic!("round {round}: {e:?}"),
            }
        };
        client.join().unwrap().unwrap();
        drop(winner);
        assert!(!path.exists(), "round {round}: the winner left its socket behind");
    }
}

/// A server whose socket file was removed under it, and replaced by a new
/// server's: dropping the old listener leaves the new server's file alone.
#[test]
fn a_dropped_listener_removes_only_its_own_socket_file() {
    let dir = RunDir::new("uds");
    let path = dir.path().join("svc.sock");
    let old = UdsListener::bind(dir.path(), "svc", server_cfg(0, 1024)).unwrap();
    std::fs::remove_file(&path).unwrap();
    let new = UdsListener::bind(dir.path(), "svc", server_cfg(0, 1024)).unwrap();
    drop(old);
    assert!(path.exists(), "the old listener removed the new one's socket");
    let client = thread::spawn({
        let dir = dir.path().to_path_buf();
        move || UdsSession::connect(&dir, "svc", &client_cfg(0, 1024)).map(|_| ())
    });
    let _served = new.accept().unwrap();
    client.join().unwrap().unwrap();
    drop(new);
    assert!(!path.exists());
}

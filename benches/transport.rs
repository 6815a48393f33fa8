//! Transport benchmarks: UDS and SHM round trips between two threads, a
//! UDS pipeline sent with `send` and with `send_many`, one SHM publication
//! with nobody waiting, and a 1 MiB message chunked over UDS.

#[cfg(unix)]
mod posix {
    use criterion::{Criterion, Throughput, criterion_group};
    use netipc::protocol::{
        Header, Kind, METHOD_INCREMENT, METHOD_STRING_REVERSE, PROFILE_BASELINE, increment,
    };
    use netipc::transport::posix::{UdsListener, UdsSession};
    use netipc::transport::{ClientConfig, ServerConfig};
    use std::path::PathBuf;
    use std::thread;

    fn run_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("netipc-bench-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn configs(profiles: u32, max_payload: u32, packet: u32) -> (ServerConfig, ClientConfig) {
        let s = ServerConfig {
            supported_profiles: profiles,
            preferred_profiles: profiles,
            max_request_payload_bytes: max_payload,
            max_response_payload_bytes: max_payload,
            packet_size: packet,
            auth_token: 1,
            ..ServerConfig::default()
        };
        let c = ClientConfig {
            supported_profiles: profiles,
            preferred_profiles: profiles,
            max_request_payload_bytes: max_payload,
            max_response_payload_bytes: max_payload,
            packet_size: packet,
            auth_token: 1,
            ..ClientConfig::default()
        };
        (s, c)
    }

    /// Starts an echo server thread (INCREMENT answers value + 1) and connects.
    fn pair(
        tag: &str,
        profiles: u32,
        max_payload: u32,
        packet: u32,
    ) -> (UdsSession, thread::JoinHandle<()>, PathBuf) {
        let dir = run_dir(tag);
        let (scfg, ccfg) = configs(profiles, max_payload, packet);
        let listener = UdsListener::bind(&dir, tag, scfg).unwrap();
        // Answers and waits for the next request in one exchange, as the
        // managed server does.
        let server = thread::spawn(move || {
            let mut s = listener.accept().unwrap();
            let mut out = Vec::new();
            let mut next = s.receive().map(|(h, _)| h);
            while let Ok(h) = next {
                let p = s.last_payload();
                out.clear();
                if h.code == METHOD_INCREMENT {
                    out.extend_from_slice(&increment::encode(increment::decode(p).unwrap() + 1));
                } else {
                    out.extend_from_slice(p);
                }
                let answer = Header {
                    kind: Kind::Response,
                    ..h
                };
                next = s.exchange(&answer, &out, None).map(|(h, _)| h);
            }
        });
        let client = UdsSession::connect(&dir, tag, &ccfg).unwrap();
        (client, server, dir)
    }

    /// INCREMENT round trips: `send` then `receive` (the wake paid at once),
    /// and `exchange` (the wake skipped when the answer comes first).
    fn ping_pong(c: &mut Criterion, name: &str, profiles: u32) {
        let (mut client, server, dir) = pair(name, profiles, 4096, 0);
        let mut id = 0u64;
        c.bench_function(&format!("transport/{name}_round_trip"), |b| {
            b.iter(|| {
                id += 1;
                client
                    .send(
                        &Header::new(Kind::Request, METHOD_INCREMENT, id, 8),
                        &increment::encode(id),
                    )
                    .unwrap();
                let (_, p) = client.receive().unwrap();
                assert_eq!(increment::decode(p).unwrap(), id + 1);
            })
        });
        c.bench_function(&format!("transport/{name}_exchange"), |b| {
            b.iter(|| {
                id += 1;
                let request = Header::new(Kind::Request, METHOD_INCREMENT, id, 8);
                let (_, p) = client.exchange(&request, &increment::encode(id), None).unwrap();
                assert_eq!(increment::decode(p).unwrap(), id + 1);
            })
        });
        drop(client);
        server.join().unwrap();
        let _ = std::fs::remove_dir_all(dir);
    }

    fn round_trips(c: &mut Criterion) {
        ping_pong(c, "uds", PROFILE_BASELINE);
        #[cfg(target_os = "linux")]
        ping_pong(c, "shm", PROFILE_BASELINE | netipc::protocol::PROFILE_SHM_HYBRID);
    }

    fn chunked(c: &mut Criterion) {
        const MIB: usize = 1 << 20;
        let (mut client, server, dir) = pair("chunked", PROFILE_BASELINE, MIB as u32, 65536);
        let payload = vec![0x5Au8; MIB];
        let mut g = c.benchmark_group("transport");
        g.throughput(Throughput::Bytes(2 * MIB as u64));
        g.sample_size(20);
        let mut id = 0u64;
        g.bench_function("uds_1mib_echo_chunked_64k", |b| {
            b.iter(|| {
                id += 1;
                client
                    .send(
                        &Header::new(Kind::Request, METHOD_STRING_REVERSE, id, 0),
                        &payload,
                    )
                    .unwrap();
                let (_, p) = client.receive().unwrap();
                assert_eq!(p.len(), MIB);
            })
        });
        g.finish();
        drop(client);
        server.join().unwrap();
        let _ = std::fs::remove_dir_all(dir);
    }

    /// A 16-deep pipeline of INCREMENT calls over UDS: the requests sent
    /// one `send` each, or all with one `send_many` (one `sendmmsg`), then
    /// the 16 answers received.
    fn pipeline(c: &mut Criterion) {
        const DEPTH: u64 = 16;
        let (mut client, server, dir) = pair("pipeline", PROFILE_BASELINE, 4096, 0);
        let mut g = c.benchmark_group("transport");
        g.throughput(Throughput::Elements(DEPTH));
        let mut next_id = 0u64;
        let mut payloads = [[0u8; 8]; DEPTH as usize];
        for many in [false, true] {
            let name = if many {
                "uds_pipeline16_send_many"
            } else {
                "uds_pipeline16_send"
            };
            g.bench_function(name, |b| {
                b.iter(|| {
                    let first = next_id + 1;
                    next_id += DEPTH;
                    for (p, v) in payloads.iter_mut().zip(first..) {
                        *p = increment::encode(v);
                    }
                    let requests = payloads
                        .iter()
                        .zip(first..)
                        .map(|(p, id)| (Header::new(Kind::Request, METHOD_INCREMENT, id, 8), &p[..]));
                    if many {
                        client.send_many(requests).unwrap();
                    } else {
                        for (h, p) in requests {
                            client.send(&h, p).unwrap();
                        }
                    }
                    for _ in 0..DEPTH {
                        let (h, p) = client.receive().unwrap();
                        assert_eq!(increment::decode(p).unwrap(), h.message_id + 1);
                    }
                })
            });
        }
        g.finish();
        drop(client);
        server.join().unwrap();
        let _ = std::fs::remove_dir_all(dir);
    }

    /// One SHM publication with nobody waiting: the copy into the region,
    /// the release stores and the `FUTEX_WAKE` that `send` pays at once (an
    /// exchange skips it when the peer answers first).
    #[cfg(target_os = "linux")]
    fn shm_publish(c: &mut Criterion) {
        use netipc::transport::posix::shm::ShmRegion;
        let dir = run_dir("publish");
        let mut region = ShmRegion::create(&dir, "publish", 1, 4096, 4096).unwrap();
        let head = Header::new(Kind::Response, METHOD_INCREMENT, 1, 8).encode();
        let body = increment::encode(1);
        c.bench_function("transport/shm_publish_no_waiter", |b| {
            b.iter(|| region.send(&head, &body).unwrap())
        });
        drop(region);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[cfg(not(target_os = "linux"))]
    fn shm_publish(_: &mut Criterion) {}

    criterion_group!(benches, round_trips, pipeline, shm_publish, chunked);
}

#[cfg(unix)]
criterion::criterion_main!(posix::benches);

#[cfg(not(unix))]
fn main() {
    eprintln!("the transport benchmarks measure the POSIX transports");
}

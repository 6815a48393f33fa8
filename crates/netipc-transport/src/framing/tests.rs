//! Tests of the framer: what it sends, what it accepts, what it refuses.

use super::*;
use netipc_codec::{FLAG_BATCH, METHOD_INCREMENT, METHOD_STRING_REVERSE};

/// Records what is sent; fails the packet numbered `fail_at` (counted
/// over the whole test) with `PeerClosed`.
#[derive(Default)]
struct Recorder {
    packets: Vec<Vec<u8>>,
    /// Packets per `send_packets` call.
    calls: Vec<usize>,
    fail_at: Option<usize>,
}

impl PacketIo for Recorder {
    fn send_packet(&mut self, head: &[u8], body: &[u8], _: Option<Instant>) -> Result<()> {
        if self.fail_at == Some(self.packets.len()) {
            return Err(TransportError::PeerClosed);
        }
        self.packets.push([head, body].concat());
        Ok(())
    }

    fn recv_packet(&mut self, _: &mut [u8; 32], _: &mut [u8], _: Option<Instant>) -> Result<usize> {
        Err(TransportError::PeerClosed)
    }

    fn send_packets(
        &mut self,
        packets: &Staged<'_>,
        deadline: Option<Instant>,
    ) -> core::result::Result<(), (usize, TransportError)> {
        self.calls.push(packets.len());
        for (i, (head, body)) in packets.iter().enumerate() {
            self.send_packet(head, body, deadline).map_err(|e| (i, e))?;
        }
        Ok(())
    }
}

/// Hands out scripted packets as a SEQPACKET socket would: a packet
/// longer than the buffers is refused by `recv_packet` and cut by
/// `recv_whole_packet`; an empty script is a closed peer.
struct Script(std::collections::VecDeque<Vec<u8>>);

impl PacketIo for Script {
    fn send_packet(&mut self, _: &[u8], _: &[u8], _: Option<Instant>) -> Result<()> {
        Err(TransportError::PeerClosed)
    }

    fn recv_packet(&mut self, head: &mut [u8; 32], body: &mut [u8], _: Option<Instant>) -> Result<usize> {
        let p = self.0.pop_front().ok_or(TransportError::PeerClosed)?;
        if p.len() > head.len() + body.len() {
            return Err(TransportError::Protocol("packet larger than the buffers"));
        }
        let n = p.len().min(head.len());
        head[..n].copy_from_slice(&p[..n]);
        body[..p.len() - n].copy_from_slice(&p[n..]);
        Ok(p.len())
    }

    fn recv_whole_packet(&mut self, buf: &mut [u8], _: Option<Instant>) -> Result<usize> {
        let p = self.0.pop_front().ok_or(TransportError::PeerClosed)?;
        let n = p.len().min(buf.len());
        buf[..n].copy_from_slice(&p[..n]);
        Ok(n)
    }
}

fn params(packet_size: u32, max_payload: u32) -> SessionParams {
    SessionParams {
        selected_profile: 1,
        max_request_payload_bytes: max_payload,
        max_request_batch_items: 4,
        max_response_payload_bytes: max_payload,
        max_response_batch_items: 4,
        packet_size,
        session_id: 1,
    }
}

/// Messages as sent: header and payload.
type Messages = Vec<(Header, Vec<u8>)>;

/// The packets a `role` framer sends for messages of these sizes, ids
/// from 1, and the messages themselves.
fn stream(role: Role, packet_size: u32, max_payload: u32, sizes: &[usize]) -> (Vec<Vec<u8>>, Messages) {
    let kind = match role {
        Role::Client => Kind::Request,
        Role::Server => Kind::Response,
    };
    let (mut f, mut io) = (
        Framer::new(params(packet_size, max_payload), role),
        Recorder::default(),
    );
    let messages: Messages = sizes
        .iter()
        .zip(1u64..)
        .map(|(&n, id)| {
            let payload = (0..n)
                .map(|j| (j as u64).wrapping_mul(31) as u8 ^ id as u8)
                .collect::<Vec<u8>>();
            (Header::new(kind, METHOD_STRING_REVERSE, id, n as u32), payload)
        })
        .collect();
    for (h, p) in &messages {
        f.send(&mut io, h, p, None).unwrap();
    }
    (io.packets, messages)
}

/// A receiving framer of `role`; a client one has ids 1..=`sent` in
/// flight, as if it had sent those requests.
fn receiver(role: Role, packet_size: u32, max_payload: u32, sent: u64) -> Framer {
    let mut f = Framer::new(params(packet_size, max_payload), role);
    if role == Role::Client {
        for id in 1..=sent {
            f.send(&mut Recorder::default(), &request(id), b"", None).unwrap();
        }
    }
    f
}

proptest::proptest! {
    /// What one side sends, at any packet size and in any message
    /// sizes (chunked or not), the other side receives unchanged, in
    /// order; then the peer has closed.
    #[test]
    fn receive_reassembles_what_send_framed(
        to_server in proptest::bool::ANY,
        packet_size in 33u32..200,
        sizes in proptest::collection::vec(0usize..700, 0..12),
    ) {
        let (from, to) = if to_server { (Role::Client, Role::Server) } else { (Role::Server, Role::Client) };
        let (packets, messages) = stream(from, packet_size, 700, &sizes);
        let mut f = receiver(to, packet_size, 700, messages.len() as u64);
        let mut io = Script(packets.into());
        for (h, p) in &messages {
            let (got, payload) = f.receive(&mut io, None).unwrap();
            proptest::prop_assert_eq!(&got, h);
            proptest::prop_assert_eq!(payload, &p[..]);
            proptest::prop_assert_eq!(f.last_payload(), &p[..]);
        }
        proptest::prop_assert!(matches!(f.receive(&mut io, None), Err(TransportError::PeerClosed)));
    }

    /// A corrupted stream (bytes changed, packets cut, dropped,
    /// repeated or made up) never panics the receiver, even when it is
    /// asked again after an error, and whatever it accepts keeps the
    /// session's rules: the expected kind, a payload of `payload_len`
    /// bytes within the limit, and a buffer no larger than the limit
    /// allows.
    #[test]
    fn a_corrupted_stream_never_panics_the_receiver(
        to_server in proptest::bool::ANY,
        packet_size in 33u32..160,
        sizes in proptest::collection::vec(0usize..500, 1..6),
        edits in proptest::collection::vec(
            (0u8..5, proptest::num::usize::ANY, proptest::num::usize::ANY, proptest::num::u8::ANY),
            1..8,
        ),
        junk in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
    ) {
        let max_payload = 400;
        let (from, to) = if to_server { (Role::Client, Role::Server) } else { (Role::Server, Role::Client) };
        // Messages over the receiver's limit are sent with a larger one.
        let (mut packets, messages) = stream(from, packet_size, 500, &sizes);
        for (op, at, pos, byte) in edits {
            let i = at % packets.len().max(1);
            match op {
                0 if !packets.is_empty() => {
                    let len = packets[i].len();
                    if len > 0 {
                        packets[i][pos % len] ^= byte | 1;
                    }
                }
                1 if !packets.is_empty() => {
                    let len = packets[i].len();
                    packets[i].truncate(pos % (len + 1));
                }
                2 if !packets.is_empty() => {
                    packets.remove(i);
                }
                3 if !packets.is_empty() => {
                    let copy = packets[i].clone();
                    packets.insert(i, copy);
                }
                _ => packets.insert(i.min(packets.len()), junk.clone()),
            }
        }
        let mut f = receiver(to, packet_size, max_payload, messages.len() as u64);
        let want = match to {
            Role::Client => Kind::Response,
            Role::Server => Kind::Request,
        };
        let mut io = Script(packets.into());
        while !io.0.is_empty() {
            if let Ok((h, payload)) = f.receive(&mut io, None) {
                proptest::prop_assert_eq!(h.kind, want);
                proptest::prop_assert_eq!(payload.len(), h.payload_len as usize);
                proptest::prop_assert!(h.payload_len <= max_payload);
            }
            let bound = (packet_size as usize + 1).max(HEADER_LEN + max_payload as usize);
            proptest::prop_assert!(f.recv_buf.len() <= bound, "{} > {bound}", f.recv_buf.len());
        }
    }

    /// A whole message from shared memory: a valid header with bytes
    /// changed, or any bytes at all, never panics the receiver, and
    /// what it accepts keeps the session's rules.
    #[test]
    fn a_corrupted_whole_message_never_panics_the_receiver(
        to_server in proptest::bool::ANY,
        size in 0usize..500,
        flips in proptest::collection::vec((proptest::num::usize::ANY, 1u8..), 0..4),
        raw in proptest::option::of(proptest::collection::vec(proptest::num::u8::ANY, 0..600)),
    ) {
        let max_payload = 400;
        let (from, to) = if to_server { (Role::Client, Role::Server) } else { (Role::Server, Role::Client) };
        // One packet carries the whole message, as shared memory does.
        let (packets, _) = stream(from, 1024, 500, &[size]);
        let mut message = raw.unwrap_or_else(|| packets[0].clone());
        for (at, x) in flips {
            if !message.is_empty() {
                let n = message.len();
                message[at % n] ^= x;
            }
        }
        let mut f = receiver(to, 1024, max_payload, 1);
        let got = f.receive_whole(|buf| {
            buf.clear();
            buf.extend_from_slice(&message);
            Ok(message.len())
        });
        if let Ok((h, payload)) = got {
            proptest::prop_assert_eq!(payload.len(), h.payload_len as usize);
            proptest::prop_assert!(h.payload_len <= max_payload);
            proptest::prop_assert_eq!(payload, &message[HEADER_LEN..]);
        }
    }
}

/// One packet: `h` with its `payload_len` as given, then `body`.
fn packet(h: &Header, body: &[u8]) -> Vec<u8> {
    [&h.encode()[..], body].concat()
}

/// What a receiver of `role` (limits as in [`params`], 256-byte
/// packets, id 1 in flight) makes of `packets` from a socket.
fn via_socket(role: Role, packets: Vec<Vec<u8>>) -> Result<()> {
    let mut f = receiver(role, 256, 4096, 1);
    f.receive(&mut Script(packets.into()), None).map(|_| ())
}

/// The same, for `message` read whole from shared memory.
fn via_shm(role: Role, message: &[u8]) -> Result<()> {
    let mut f = receiver(role, 256, 4096, 1);
    f.receive_whole(|buf| {
        buf.clear();
        buf.extend_from_slice(message);
        Ok(message.len())
    })
    .map(|_| ())
}

/// Both paths, for one message: they must refuse alike.
fn received(role: Role, packets: Vec<Vec<u8>>) -> [Result<()>; 2] {
    let whole = packets.concat();
    [via_socket(role, packets), via_shm(role, &whole)]
}

/// Every rule a received message is held to, each broken alone,
/// refused with a protocol error that names it.
#[test]
fn each_receive_rule_refuses_the_message() {
    let req = Header::new(Kind::Request, METHOD_INCREMENT, 1, 8);
    let resp = Header::new(Kind::Response, METHOD_INCREMENT, 1, 8);
    type Case = (Role, Vec<Vec<u8>>, &'static str);
    let cases: Vec<Case> = vec![
        (
            Role::Server,
            vec![packet(&resp, &[0; 8])],
            "unexpected message kind",
        ),
        (
            Role::Client,
            vec![packet(&req, &[0; 8])],
            "unexpected message kind",
        ),
        (
            Role::Client,
            vec![packet(
                &Header {
                    message_id: 2,
                    ..resp
                },
                &[0; 8],
            )],
            "response to no request in flight",
        ),
        (
            Role::Server,
            vec![req.encode()[..31].to_vec()],
            "shorter than a header",
        ),
    ];
    for (role, packets, rule) in cases {
        for (path, r) in ["socket", "shm"].iter().zip(received(role, packets.clone())) {
            match r {
                Err(TransportError::Protocol(m)) => assert!(m.contains(rule), "{path}: {rule}: {m}"),
                other => panic!("{path}: {rule}: {other:?}"),
            }
        }
    }
    // Over a limit of the session: refused with the limit, the amounts and
    // the header (a server answers it). The socket path refuses a payload
    // on the first packet, the shared-memory path once the lengths agree.
    let over = Header {
        payload_len: 4097,
        ..req
    };
    let items = Header { item_count: 5, ..req };
    let cases = [
        (Role::Server, over, Limit::Payload, 4097, 4096),
        (Role::Server, items, Limit::BatchItems, 5, 4),
        (
            Role::Client,
            Header {
                kind: Kind::Response,
                ..over
            },
            Limit::Payload,
            4097,
            4096,
        ),
        (
            Role::Client,
            Header {
                kind: Kind::Response,
                ..items
            },
            Limit::BatchItems,
            5,
            4,
        ),
    ];
    for (role, h, limit_of, amount, max) in cases {
        let first = h.payload_len.min(8) as usize;
        for r in [
            via_socket(role, vec![packet(&h, &vec![0; first])]),
            via_shm(role, &packet(&h, &vec![0; h.payload_len as usize])),
        ] {
            match r {
                Err(TransportError::ReceivedOverLimit {
                    what,
                    value,
                    limit,
                    header,
                }) => {
                    assert_eq!((what, value, limit, header), (limit_of, amount, max, h));
                }
                other => panic!("{role:?} {limit_of:?}: {other:?}"),
            }
        }
    }
    // A batch whose item directory points past the payload: the codec's
    // rejection, on both paths.
    let dir = [0u32, 8, 8, 8]
        .iter()
        .flat_map(|w| w.to_ne_bytes())
        .collect::<Vec<u8>>();
    let batch = Header {
        flags: FLAG_BATCH,
        item_count: 2,
        payload_len: dir.len() as u32,
        ..req
    };
    for r in received(Role::Server, vec![packet(&batch, &dir)]) {
        assert!(matches!(r, Err(TransportError::Malformed(_))), "{r:?}");
    }
    // Lengths that disagree with the packet: one path each.
    let short = packet(&req, &[0; 4]);
    let r = via_socket(Role::Server, vec![short.clone()]);
    assert!(matches!(r, Err(TransportError::Protocol(m)) if m.contains("first packet length")));
    let r = via_shm(Role::Server, &short);
    assert!(matches!(r, Err(TransportError::Protocol(m)) if m.contains("differs from the message length")));
    let big = packet(
        &Header {
            payload_len: 300,
            ..req
        },
        &[0; 300],
    );
    let r = via_socket(Role::Server, vec![big]);
    assert!(matches!(r, Err(TransportError::Protocol(m)) if m.contains("larger than the negotiated packet")));
    // An error answer keeping the batch fields of its request, with no
    // payload: no directory to check, so it is received as it is.
    let failed = Header {
        flags: FLAG_BATCH,
        item_count: 3,
        payload_len: 0,
        transport_status: netipc_codec::STATUS_INTERNAL_ERROR,
        ..resp
    };
    for r in received(Role::Client, vec![packet(&failed, &[])]) {
        r.unwrap();
    }
    // The same messages, unbroken, are received on both paths.
    for (role, h) in [(Role::Server, req), (Role::Client, resp)] {
        for r in received(role, vec![packet(&h, &[7; 8])]) {
            r.unwrap();
        }
    }
}

fn client(packet_size: u32) -> Framer {
    Framer::new(
        SessionParams {
            selected_profile: 1,
            max_request_payload_bytes: 4096,
            max_request_batch_items: 1,
            max_response_payload_bytes: 4096,
            max_response_batch_items: 1,
            packet_size,
            session_id: 1,
        },
        Role::Client,
    )
}

fn request(id: u64) -> Header {
    Header::new(Kind::Request, METHOD_STRING_REVERSE, id, 0)
}

/// What `Framer::send` puts on the wire for the same messages.
fn one_by_one(packet_size: u32, messages: &[(Header, Vec<u8>)]) -> Vec<Vec<u8>> {
    let (mut f, mut io) = (client(packet_size), Recorder::default());
    for (h, p) in messages {
        f.send(&mut io, h, p, None).unwrap();
    }
    io.packets
}

proptest::proptest! {
    /// Any run of messages at any packet size: the bytes of `send`, in
    /// as few runs as 32 packets a run allow.
    #[test]
    fn send_many_is_send_in_runs(
        packet_size in 33u32..300,
        sizes in proptest::collection::vec(0usize..1200, 0..80),
    ) {
        let messages: Vec<(Header, Vec<u8>)> = sizes
            .iter()
            .zip(1..)
            .map(|(&n, id)| (request(id), (0..n).map(|j| (j as u64 ^ id) as u8).collect()))
            .collect();
        let (mut f, mut io) = (client(packet_size), Recorder::default());
        f.send_many(&mut io, messages.iter().map(|(h, p)| (*h, &p[..])), None).unwrap();
        let expected = one_by_one(packet_size, &messages);
        proptest::prop_assert_eq!(io.calls.iter().sum::<usize>(), expected.len());
        proptest::prop_assert_eq!(io.calls.len(), expected.len().div_ceil(STAGED_MAX));
        proptest::prop_assert_eq!(io.packets, expected);
    }
}

#[test]
fn send_many_puts_the_bytes_of_send_on_the_wire_in_runs_of_32() {
    // 40 single-packet messages, then one of 5 chunks, then 30 more:
    // 75 packets, staged 32 + 32 + 11.
    let mut messages: Vec<(Header, Vec<u8>)> = (0..40).map(|i| (request(i + 1), vec![i as u8; 8])).collect();
    messages.push((request(41), (0..150u32).map(|j| j as u8).collect()));
    messages.extend((0..30).map(|i| (request(42 + i), vec![0xA0; i as usize])));
    let (mut f, mut io) = (client(64), Recorder::default());
    f.send_many(&mut io, messages.iter().map(|(h, p)| (*h, &p[..])), None)
        .unwrap();
    assert_eq!(io.calls, [32, 32, 11]);
    assert_eq!(io.packets, one_by_one(64, &messages));
    // Every id is in flight: sending one again is refused.
    let again = f.send(&mut io, &request(41), b"x", None).unwrap_err();
    assert!(matches!(again, TransportError::Protocol(_)), "{again:?}");
}

#[test]
fn a_refused_message_stops_the_run_after_the_ones_before_it() {
    let (mut f, mut io) = (client(0x1_0000), Recorder::default());
    let big = vec![0u8; 4097];
    let messages = [
        (request(1), &b"ab"[..]),
        (request(2), &b"cd"[..]),
        (request(3), &big[..]),
        (request(4), &b"ef"[..]),
    ];
    let err = f.send_many(&mut io, messages, None).unwrap_err();
    assert!(matches!(err, TransportError::LimitExceeded { .. }), "{err:?}");
    assert_eq!(io.packets.len(), 2, "the two messages before it went out");
    assert_eq!(
        io.packets,
        one_by_one(
            0x1_0000,
            &[(request(1), b"ab".to_vec()), (request(2), b"cd".to_vec())]
        )
    );
    // 3 and 4 are not in flight; 1 and 2 are.
    f.send(&mut io, &request(3), b"x", None).unwrap();
    f.send(&mut io, &request(4), b"x", None).unwrap();
    assert!(f.send(&mut io, &request(2), b"x", None).is_err());
    // A wrong kind is refused the same way.
    let answer = Header::new(Kind::Response, METHOD_INCREMENT, 9, 0);
    let err = f
        .send_many(&mut io, [(request(5), &b""[..]), (answer, &b""[..])], None)
        .unwrap_err();
    assert!(matches!(err, TransportError::Protocol(_)), "{err:?}");
    assert!(
        f.send(&mut io, &request(5), b"x", None).is_err(),
        "5 went out before the refusal"
    );
}

#[test]
fn a_failed_send_frees_the_ids_of_the_messages_not_sent_whole() {
    // Packets: id 1 (0), id 2 in 3 chunks (1-3), id 3 (4). The 3rd
    // packet fails: 1 went out, 2 went out in part, 3 not at all.
    let (mut f, mut io) = (client(64), Recorder::default());
    io.fail_at = Some(2);
    let chunked = [1u8; 80];
    let messages = [
        (request(1), &b"a"[..]),
        (request(2), &chunked[..]),
        (request(3), &b"c"[..]),
    ];
    assert!(matches!(
        f.send_many(&mut io, messages, None),
        Err(TransportError::PeerClosed)
    ));
    io.fail_at = None;
    assert!(
        f.send(&mut io, &request(1), b"x", None).is_err(),
        "1 is in flight"
    );
    f.send(&mut io, &request(2), b"x", None).unwrap();
    f.send(&mut io, &request(3), b"x", None).unwrap();
}

#[test]
fn a_failure_in_a_later_run_keeps_the_earlier_runs_in_flight() {
    // A message of one packet, then 32 of two chunks: the first run of
    // 32 packets ends with the first chunk of id 17, and the second run
    // fails at once.
    let (mut f, mut io) = (client(64), Recorder::default());
    io.fail_at = Some(32);
    let payload = [2u8; 40];
    let messages = (1..=33).map(|id| (request(id), if id == 1 { &payload[..1] } else { &payload[..] }));
    assert!(f.send_many(&mut io, messages, None).is_err());
    io.fail_at = None;
    assert_eq!(io.calls, [32, 32]);
    for id in 1..=16 {
        assert!(
            f.send(&mut io, &request(id), b"x", None).is_err(),
            "{id} went out whole"
        );
    }
    for id in 17..=33 {
        f.send(&mut io, &request(id), b"x", None).unwrap();
    }
}

/// A socket for the non-blocking paths: takes at most `room` packets until
/// they are read, and has the packets sent so far to read.
#[cfg(unix)]
struct Pipe {
    queue: std::collections::VecDeque<Vec<u8>>,
    room: usize,
}

#[cfg(unix)]
impl TryPacketIo for Pipe {
    fn try_send_packet(&mut self, head: &[u8], body: &[u8]) -> Result<bool> {
        if self.queue.len() >= self.room {
            return Ok(false);
        }
        self.queue.push_back([head, body].concat());
        Ok(true)
    }

    fn try_recv_packet(&mut self, head: &mut [u8; 32], body: &mut [u8]) -> Result<Option<usize>> {
        let Some(p) = self.queue.pop_front() else {
            return Ok(None);
        };
        let n = p.len().min(head.len());
        head[..n].copy_from_slice(&p[..n]);
        body[..p.len() - n].copy_from_slice(&p[n..]);
        Ok(Some(p.len()))
    }

    fn try_recv_whole_packet(&mut self, buf: &mut [u8]) -> Result<Option<usize>> {
        let Some(p) = self.queue.pop_front() else {
            return Ok(None);
        };
        let n = p.len().min(buf.len());
        buf[..n].copy_from_slice(&p[..n]);
        Ok(Some(n))
    }
}

#[cfg(unix)]
proptest::proptest! {
    /// A chunked message sent and received without waiting, through a
    /// socket that holds only `room` packets at a time, so that both
    /// sides stop part-way and go on later: it arrives whole and
    /// unchanged, and the packets are the ones a blocking send makes.
    #[test]
    fn a_message_goes_through_part_by_part_without_waiting(
        packet_size in 40u32..200,
        len in 0usize..2000,
        room in 1usize..4,
    ) {
        let (blocking, messages) = stream(Role::Client, packet_size, 4096, &[len]);
        let (header, payload) = &messages[0];
        let mut client = Framer::new(params(packet_size, 4096), Role::Client);
        let mut server = Framer::new(params(packet_size, 4096), Role::Server);
        let mut io = Pipe { queue: Default::default(), room };
        let mut progress = client.start_send(header, payload).unwrap();
        let mut seen = Vec::new();
        let mut got = None;
        for _ in 0..blocking.len() * 2 + 2 {
            let done = client.try_send(&mut io, &mut progress, payload).unwrap();
            seen.extend(io.queue.iter().cloned());
            if let Some((h, p)) = server.try_receive(&mut io).unwrap() {
                got = Some((h, p.to_vec()));
            }
            if done && got.is_some() {
                break;
            }
        }
        proptest::prop_assert!(progress.is_done());
        proptest::prop_assert_eq!(seen, blocking);
        let (h, p) = got.expect("the message arrived");
        proptest::prop_assert_eq!(h.message_id, header.message_id);
        proptest::prop_assert_eq!(&p, payload);
        proptest::prop_assert!(server.try_receive(&mut io).unwrap().is_none());
    }
}

/// A payload other than the one the message started with is refused, and
/// the message's id leaves the in-flight set.
#[cfg(unix)]
#[test]
fn a_send_goes_on_only_with_its_own_payload() {
    let mut client = Framer::new(params(64, 4096), Role::Client);
    let mut io = Pipe {
        queue: Default::default(),
        room: 0,
    };
    let mut progress = client.start_send(&request(1), b"abc").unwrap();
    assert!(!client.try_send(&mut io, &mut progress, b"abc").unwrap());
    assert!(matches!(
        client.try_send(&mut io, &mut progress, b"abcd"),
        Err(TransportError::Protocol(_))
    ));
}

/// A session whose peer may send only small messages receives into a
/// buffer of that size, not of the packet size; a packet longer than any
/// message it may receive is refused as before, whole or cut.
#[test]
fn small_messages_need_no_packet_sized_buffer() {
    let req = Header::new(Kind::Request, METHOD_INCREMENT, 1, 8);
    // 200 KiB packets, 4 KiB requests: a server session's case.
    let mut f = receiver(Role::Server, 200 * 1024, 4096, 0);
    let (h, p) = f
        .receive(&mut Script(vec![packet(&req, &[7; 8])].into()), None)
        .unwrap();
    assert_eq!((h.message_id, p), (1, &[7u8; 8][..]));
    assert!(
        f.recv_buf.len() <= HEADER_LEN + 4096 + 1,
        "{} bytes",
        f.recv_buf.len()
    );
    // A request over the limit still reads as one.
    let big = Header::new(Kind::Request, METHOD_INCREMENT, 2, 5000);
    let err = f
        .receive(&mut Script(vec![packet(&big, &[1; 5000])].into()), None)
        .unwrap_err();
    assert!(matches!(err, TransportError::ReceivedOverLimit { .. }), "{err:?}");
    // One whose header understates its length is cut and refused.
    let liar = Header::new(Kind::Request, METHOD_INCREMENT, 3, 8);
    let lying = packet(&liar, &[1; 5000]);
    let err = f.receive(&mut Script(vec![lying].into()), None).unwrap_err();
    assert!(matches!(err, TransportError::Protocol(_)), "{err:?}");
    assert!(f.recv_buf.len() <= HEADER_LEN + 4096 + 1);
}

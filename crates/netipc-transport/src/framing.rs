//! Message framing over any packet transport: limits, chunking, reassembly,
//! correlation. Transports implement [`PacketIo`]; this module holds every
//! rule about what goes in the packets.

use crate::error::{Limit, Result, TransportError};
use crate::handshake::SessionParams;
use crate::inflight::InFlight;
use netipc_codec::{
    BatchView, CHUNK_HEADER_LEN, ChunkHeader, ChunkPlan, HEADER_LEN, Header, Kind, STATUS_OK,
};
use std::time::Instant;

/// Moves whole packets (message boundaries preserved).
pub(crate) trait PacketIo {
    /// Sends one packet made of `head` followed by `body`. While the peer
    /// reads nothing and the packet cannot be queued, waits until
    /// `deadline` (`Timeout`) or the abort signal (`Aborted`).
    fn send_packet(&mut self, head: &[u8], body: &[u8], deadline: Option<Instant>) -> Result<()>;
    /// Receives one packet: its first 32 bytes into `head`, the rest into
    /// `body`. Returns the packet length. A packet longer than
    /// `head.len() + body.len()` is a protocol violation.
    fn recv_packet(
        &mut self,
        head: &mut [u8; 32],
        body: &mut [u8],
        deadline: Option<Instant>,
    ) -> Result<usize>;

    /// Receives one packet whole into `buf` (its first 32 bytes at the
    /// start). Returns the packet length; a packet longer than `buf` is a
    /// protocol violation, or comes back cut to `buf.len()`, so a caller
    /// that must tell gives one byte more than the longest valid packet.
    /// Transports whose contiguous receive is cheaper override this.
    fn recv_whole_packet(&mut self, buf: &mut [u8], deadline: Option<Instant>) -> Result<usize> {
        let Some((head, body)) = buf.split_first_chunk_mut::<32>() else {
            return Err(TransportError::Protocol("receive buffer shorter than a header"));
        };
        self.recv_packet(head, body, deadline)
    }

    /// Sends the staged packets in order. On failure, also says how many
    /// went out before it. Transports that can send several packets in one
    /// system call override this.
    fn send_packets(
        &mut self,
        packets: &Staged<'_>,
        deadline: Option<Instant>,
    ) -> core::result::Result<(), (usize, TransportError)> {
        for (i, (head, body)) in packets.iter().enumerate() {
            self.send_packet(head, body, deadline).map_err(|e| (i, e))?;
        }
        Ok(())
    }
}

/// Moves whole packets without ever waiting: what an event loop's driver
/// calls once the descriptor is ready.
#[cfg(unix)]
pub(crate) trait TryPacketIo {
    /// Sends one packet made of `head` and `body`; `false` when the
    /// transport cannot queue it now (nothing was sent).
    fn try_send_packet(&mut self, head: &[u8], body: &[u8]) -> Result<bool>;
    /// As [`PacketIo::recv_packet`]; `None` when no packet is there.
    fn try_recv_packet(&mut self, head: &mut [u8; 32], body: &mut [u8]) -> Result<Option<usize>>;
    /// As [`PacketIo::recv_whole_packet`]; `None` when no packet is there.
    fn try_recv_whole_packet(&mut self, buf: &mut [u8]) -> Result<Option<usize>>;
}

/// A message on its way out, packet by packet, through a session's
/// non-blocking send (`UdsSession::try_send`): which packet goes next.
///
/// Made by the session's `start_send`, which checked the message and
/// recorded its id; pass it, with the same payload, to every `try_send`
/// until one returns `true`. A session whose message was left part-way
/// (its progress dropped before that) has a cut message on the wire:
/// close it.
#[cfg(unix)]
#[derive(Debug, Clone, Copy)]
pub struct SendProgress {
    /// The message header, `payload_len` set.
    header: Header,
    /// How the payload is cut; `None` once the whole message went out by
    /// another way (shared memory publishes it at once).
    plan: Option<ChunkPlan>,
    /// The next packet to send.
    next: u32,
}

#[cfg(unix)]
impl SendProgress {
    /// A message that is out already.
    #[cfg(target_os = "linux")]
    pub(crate) fn sent(header: Header) -> Self {
        Self {
            header,
            plan: None,
            next: 0,
        }
    }

    /// Whether the whole message has gone out.
    pub fn is_done(&self) -> bool {
        self.plan.is_none_or(|p| self.next >= p.count)
    }

    /// The message id of the message.
    pub fn message_id(&self) -> u64 {
        self.header.message_id
    }
}

/// A chunked message being received: its first packet is in, continuations
/// follow.
#[cfg(unix)]
#[derive(Debug, Clone, Copy)]
struct Partial {
    header: Header,
    plan: ChunkPlan,
    /// The next continuation expected.
    next: u32,
}

/// Most packets [`Framer::send_many`] stages for one [`PacketIo::send_packets`].
pub(crate) const STAGED_MAX: usize = 32;

/// Packets waiting to go out together: each an encoded 32-byte header
/// (message or chunk) and a body borrowed from the caller's payload.
pub(crate) struct Staged<'p> {
    heads: [[u8; HEADER_LEN]; STAGED_MAX],
    bodies: [&'p [u8]; STAGED_MAX],
    len: usize,
}

impl<'p> Staged<'p> {
    fn new() -> Self {
        Self {
            heads: [[0; HEADER_LEN]; STAGED_MAX],
            bodies: [&[]; STAGED_MAX],
            len: 0,
        }
    }

    /// Adds a packet; the caller sends the staged ones first when full.
    fn push(&mut self, head: [u8; HEADER_LEN], body: &'p [u8]) {
        self.heads[self.len] = head;
        self.bodies[self.len] = body;
        self.len += 1;
    }

    fn is_full(&self) -> bool {
        self.len == STAGED_MAX
    }

    /// Number of packets staged.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The staged packets in order: header, then body.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&[u8; HEADER_LEN], &'p [u8])> + '_ {
        self.heads[..self.len]
            .iter()
            .zip(self.bodies[..self.len].iter().copied())
    }
}

/// The ids of the messages [`Framer::send_many`] has staged and not yet
/// seen out whole, with the staged-packet count at which each ends.
struct Unsent {
    ended: [(u64, usize); STAGED_MAX],
    len: usize,
    /// The message being staged, whose last packet is not staged yet.
    open: Option<u64>,
}

/// Which side of a session this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Sends requests, receives responses.
    Client,
    /// Receives requests, sends responses.
    Server,
}

/// Per-session framing state: negotiated limits, the receive buffer, and
/// the client's in-flight message ids.
#[derive(Debug)]
pub(crate) struct Framer {
    pub(crate) params: SessionParams,
    role: Role,
    recv_buf: Vec<u8>,
    last: core::ops::Range<usize>,
    inflight: InFlight,
    /// A chunked message a non-blocking receive has started.
    #[cfg(unix)]
    partial: Option<Partial>,
    /// The header of the last whole message received through shared memory.
    #[cfg(any(target_os = "linux", windows, test))]
    last_header: Header,
}

impl Framer {
    pub(crate) fn new(params: SessionParams, role: Role) -> Self {
        Self {
            params,
            role,
            recv_buf: Vec::new(),
            last: 0..0,
            inflight: InFlight::default(),
            #[cfg(unix)]
            partial: None,
            #[cfg(any(target_os = "linux", windows, test))]
            last_header: Header::new(Kind::Response, 0, 0, 0),
        }
    }

    fn limits_out(&self) -> (u32, u32) {
        match self.role {
            Role::Client => (
                self.params.max_request_payload_bytes,
                self.params.max_request_batch_items,
            ),
            Role::Server => (
                self.params.max_response_payload_bytes,
                self.params.max_response_batch_items,
            ),
        }
    }

    fn limits_in(&self) -> (u32, u32) {
        match self.role {
            Role::Client => (
                self.params.max_response_payload_bytes,
                self.params.max_response_batch_items,
            ),
            Role::Server => (
                self.params.max_request_payload_bytes,
                self.params.max_request_batch_items,
            ),
        }
    }

    /// Which side of the session this is.
    #[cfg(target_os = "linux")]
    pub(crate) fn role(&self) -> Role {
        self.role
    }

    /// The payload of the last message received successfully.
    pub(crate) fn last_payload(&self) -> &[u8] {
        &self.recv_buf[self.last.clone()]
    }

    /// Exchanges the receive buffer with `buf`: `buf` then holds the last
    /// message received (its payload at the range returned; empty when
    /// there is none), and the session receives into what `buf` held,
    /// growing it as needed. The last payload is empty afterwards.
    pub(crate) fn swap_received(&mut self, buf: &mut Vec<u8>) -> core::ops::Range<usize> {
        std::mem::swap(&mut self.recv_buf, buf);
        std::mem::replace(&mut self.last, 0..0)
    }

    /// Checks an outgoing message against the session's rules and records
    /// its id; returns the header to put on the wire.
    fn prepare_send(&mut self, header: &Header, payload: &[u8]) -> Result<Header> {
        let (max_payload, max_items) = self.limits_out();
        let (want_kind, what) = match self.role {
            Role::Client => (Kind::Request, "a client sends requests only"),
            Role::Server => (Kind::Response, "a server sends responses only"),
        };
        if header.kind != want_kind {
            return Err(TransportError::Protocol(what));
        }
        if payload.len() > max_payload as usize {
            return Err(TransportError::LimitExceeded {
                what: Limit::Payload,
                value: Some(payload.len() as u64),
                limit: Some(max_payload as u64),
            });
        }
        if header.item_count > max_items.max(1) {
            return Err(TransportError::LimitExceeded {
                what: Limit::BatchItems,
                value: Some(header.item_count as u64),
                limit: Some(max_items as u64),
            });
        }
        if self.role == Role::Client && !self.inflight.insert(header.message_id) {
            return Err(TransportError::Protocol("message_id already in flight"));
        }
        let mut h = *header;
        h.payload_len = payload.len() as u32;
        Ok(h)
    }

    fn finish_send<T>(&mut self, id: u64, result: Result<T>) -> Result<T> {
        if result.is_err() && self.role == Role::Client {
            self.inflight.remove(id);
        }
        result
    }

    /// Sends one message as packets, chunked if it exceeds the packet size.
    /// The header's `payload_len` is set from `payload`. The deadline
    /// covers every packet.
    pub(crate) fn send(
        &mut self,
        io: &mut impl PacketIo,
        header: &Header,
        payload: &[u8],
        deadline: Option<Instant>,
    ) -> Result<()> {
        let h = self.prepare_send(header, payload)?;
        let result = ChunkPlan::new(self.params.packet_size as usize, payload.len())
            .map_err(TransportError::from)
            .and_then(|plan| {
                io.send_packet(&h.encode(), &payload[plan.range(0)], deadline)?;
                for i in 1..plan.count {
                    let head = plan.header(h.message_id, i).encode();
                    io.send_packet(&head, &payload[plan.range(i)], deadline)?;
                }
                Ok(())
            });
        self.finish_send(h.message_id, result)
    }

    /// Sends several messages, each checked and framed as [`Framer::send`]
    /// does, staging their packets so that a transport able to send many
    /// packets in one system call does. On error, the messages before the
    /// failing one have gone out, and none after it.
    pub(crate) fn send_many<'p>(
        &mut self,
        io: &mut impl PacketIo,
        messages: impl IntoIterator<Item = (Header, &'p [u8])>,
        deadline: Option<Instant>,
    ) -> Result<()> {
        let mut staged = Staged::new();
        let mut unsent = Unsent {
            ended: [(0, 0); STAGED_MAX],
            len: 0,
            open: None,
        };
        for (header, payload) in messages {
            let planned = self.prepare_send(&header, payload).and_then(|h| {
                let plan = ChunkPlan::new(self.params.packet_size as usize, payload.len());
                self.finish_send(
                    h.message_id,
                    plan.map(|plan| (h, plan)).map_err(TransportError::from),
                )
            });
            let (h, plan) = match planned {
                Ok(p) => p,
                Err(e) => {
                    // The messages staged before this one still go out.
                    self.flush_staged(io, &mut staged, &mut unsent, deadline)?;
                    return Err(e);
                }
            };
            unsent.open = Some(h.message_id);
            for i in 0..plan.count {
                if staged.is_full() {
                    self.flush_staged(io, &mut staged, &mut unsent, deadline)?;
                }
                let head = if i == 0 {
                    h.encode()
                } else {
                    plan.header(h.message_id, i).encode()
                };
                staged.push(head, &payload[plan.range(i)]);
            }
            unsent.open = None;
            unsent.ended[unsent.len] = (h.message_id, staged.len());
            unsent.len += 1;
        }
        self.flush_staged(io, &mut staged, &mut unsent, deadline)
    }

    /// Sends the staged packets. If they do not all go out, the messages
    /// not sent whole leave the in-flight set, as a failed [`Framer::send`]
    /// leaves it.
    fn flush_staged(
        &mut self,
        io: &mut impl PacketIo,
        staged: &mut Staged<'_>,
        unsent: &mut Unsent,
        deadline: Option<Instant>,
    ) -> Result<()> {
        let result = if staged.len() == 0 {
            Ok(())
        } else {
            io.send_packets(staged, deadline)
        };
        staged.len = 0;
        let ended = core::mem::take(&mut unsent.len);
        match result {
            Ok(()) => Ok(()),
            Err((sent, e)) => {
                if self.role == Role::Client {
                    for &(id, end) in &unsent.ended[..ended] {
                        if end > sent {
                            self.inflight.remove(id);
                        }
                    }
                    if let Some(id) = unsent.open.take() {
                        self.inflight.remove(id);
                    }
                }
                Err(e)
            }
        }
    }

    /// Sends one message through a whole-message transport (shared memory).
    /// Such a transport holds one message per direction, so a client sends
    /// its next request only once the last one is answered.
    #[cfg(any(target_os = "linux", windows))]
    pub(crate) fn send_whole(
        &mut self,
        header: &Header,
        payload: &[u8],
        put: impl FnOnce(&[u8], &[u8]) -> Result<()>,
    ) -> Result<()> {
        if self.role == Role::Client && !self.inflight.is_empty() {
            return Err(TransportError::Protocol(
                "shared memory carries one request at a time",
            ));
        }
        let h = self.prepare_send(header, payload)?;
        let result = put(&h.encode(), payload);
        self.finish_send(h.message_id, result)
    }

    /// Sends several messages in order through a whole-message transport,
    /// each as [`Framer::send_whole`] does; stops at the first failure.
    #[cfg(any(target_os = "linux", windows))]
    pub(crate) fn send_whole_each<'p>(
        &mut self,
        messages: impl IntoIterator<Item = (Header, &'p [u8])>,
        mut put: impl FnMut(&[u8], &[u8]) -> Result<()>,
    ) -> Result<()> {
        for (header, payload) in messages {
            self.send_whole(&header, payload, &mut put)?;
        }
        Ok(())
    }

    /// Receives one message from a whole-message transport: `get` fills
    /// the buffer with header and payload and returns the length.
    #[cfg(any(target_os = "linux", windows, test))]
    pub(crate) fn receive_whole(
        &mut self,
        get: impl FnOnce(&mut Vec<u8>) -> Result<usize>,
    ) -> Result<(Header, &[u8])> {
        let n = get(&mut self.recv_buf)?;
        let range = self.accept_whole(n)?;
        Ok((self.last_header, &self.recv_buf[range]))
    }

    /// Checks a whole message of `n` bytes at the start of the buffer.
    #[cfg(any(target_os = "linux", windows, test))]
    fn accept_whole(&mut self, n: usize) -> Result<core::ops::Range<usize>> {
        if n < HEADER_LEN {
            return Err(TransportError::Protocol("message shorter than a header"));
        }
        let header = Header::decode(&self.recv_buf[..HEADER_LEN])?;
        if header.payload_len as usize != n - HEADER_LEN {
            return Err(TransportError::Protocol(
                "payload_len differs from the message length",
            ));
        }
        self.validate_received(&header)?;
        self.accept_received(&header, HEADER_LEN..n)?;
        self.last = HEADER_LEN..n;
        self.last_header = header;
        Ok(HEADER_LEN..n)
    }

    fn validate_received(&self, header: &Header) -> Result<()> {
        let want = match self.role {
            Role::Client => Kind::Response,
            Role::Server => Kind::Request,
        };
        if header.kind != want {
            return Err(TransportError::Protocol("unexpected message kind"));
        }
        let (max_payload, max_items) = self.limits_in();
        let over = |what, value, limit| TransportError::ReceivedOverLimit {
            what,
            value,
            limit,
            header: *header,
        };
        if header.payload_len > max_payload {
            return Err(over(Limit::Payload, header.payload_len, max_payload));
        }
        if header.item_count > max_items.max(1) {
            return Err(over(Limit::BatchItems, header.item_count, max_items.max(1)));
        }
        Ok(())
    }

    fn accept_received(&mut self, header: &Header, payload: core::ops::Range<usize>) -> Result<()> {
        self.last = 0..0;
        // Only a message with status OK carries items. An error answer has
        // no payload to read, whatever its batch fields say: the reference's
        // C server keeps the request's batch flag and item count on it.
        if header.is_batch() && header.item_count > 1 && header.transport_status == STATUS_OK {
            BatchView::decode(&self.recv_buf[payload], header.item_count)?;
        }
        if self.role == Role::Client && !self.inflight.remove(header.message_id) {
            return Err(TransportError::Protocol("response to no request in flight"));
        }
        Ok(())
    }

    /// Makes room for the first packet of a message at the start of the
    /// buffer: header, then the payload, which continuations extend.
    /// Returns how much of the buffer a receive may fill: one byte more
    /// than a first packet may hold, which tells an oversized packet from a
    /// full one.
    ///
    /// No valid first packet is longer than a header and the largest
    /// payload the peer may send: a session whose messages are small (a
    /// server's requests, most often) keeps a small buffer, not one of the
    /// packet size (about 208 KiB on Linux), which a thousand sessions
    /// would pay a thousand times. A longer packet is cut at that length:
    /// its header then says too long a payload, or one that differs from
    /// the packet's length, and it is refused for it.
    fn first_packet_room(&mut self) -> usize {
        let packet = self.params.packet_size as usize;
        let (max_payload, _) = self.limits_in();
        let first_max = packet.min(HEADER_LEN.saturating_add(max_payload as usize));
        if self.recv_buf.len() <= first_max {
            self.recv_buf.resize(first_max + 1, 0);
        }
        first_max + 1
    }

    /// Checks the first packet of a message, `n` bytes at the start of the
    /// buffer, and makes room for the rest of a chunked one.
    fn first_packet(&mut self, n: usize) -> Result<(Header, ChunkPlan)> {
        let packet = self.params.packet_size as usize;
        if n > packet {
            return Err(TransportError::Protocol(
                "packet larger than the negotiated packet size",
            ));
        }
        if n < HEADER_LEN {
            return Err(TransportError::Protocol("packet shorter than a header"));
        }
        let header = Header::decode(&self.recv_buf[..HEADER_LEN])?;
        self.validate_received(&header)?;
        let total = header.payload_len as usize;
        let first = n - HEADER_LEN;
        let plan = ChunkPlan::new(packet, total)?;
        if first != plan.range(0).len() {
            return Err(TransportError::Protocol(
                "first packet length differs from payload_len",
            ));
        }
        if plan.is_chunked() && self.recv_buf.len() < HEADER_LEN + total {
            self.recv_buf.resize(HEADER_LEN + total, 0);
        }
        Ok((header, plan))
    }

    /// Checks continuation `i` of a message, `got` bytes with chunk header `ch`.
    fn continuation(header: &Header, plan: &ChunkPlan, i: u32, ch: &[u8; 32], got: usize) -> Result<()> {
        if got < CHUNK_HEADER_LEN {
            return Err(TransportError::Protocol(
                "continuation shorter than a chunk header",
            ));
        }
        let c = ChunkHeader::decode(ch)?;
        c.check_continuation(&plan.header(header.message_id, i), got - CHUNK_HEADER_LEN)?;
        Ok(())
    }

    /// The body range of continuation `i` in the receive buffer.
    fn continuation_range(plan: &ChunkPlan, i: u32) -> core::ops::Range<usize> {
        let range = plan.range(i);
        HEADER_LEN + range.start..HEADER_LEN + range.end
    }

    /// Completes a received message whose payload is in the buffer.
    fn complete(&mut self, header: &Header) -> Result<core::ops::Range<usize>> {
        let payload = HEADER_LEN..HEADER_LEN + header.payload_len as usize;
        self.accept_received(header, payload.clone())?;
        self.last = payload.clone();
        Ok(payload)
    }

    /// Receives one message; the payload borrows the session's buffer until
    /// the next receive. The deadline covers every chunk.
    pub(crate) fn receive(
        &mut self,
        io: &mut impl PacketIo,
        deadline: Option<Instant>,
    ) -> Result<(Header, &[u8])> {
        // The first packet lands whole at the start of the buffer: header,
        // then the payload, which continuations extend.
        let room = self.first_packet_room();
        let n = io.recv_whole_packet(&mut self.recv_buf[..room], deadline)?;
        let (header, plan) = self.first_packet(n)?;
        for i in 1..plan.count {
            let body = &mut self.recv_buf[Self::continuation_range(&plan, i)];
            let mut ch = [0u8; 32];
            let got = io.recv_packet(&mut ch, body, deadline)?;
            Self::continuation(&header, &plan, i, &ch, got)?;
        }
        let payload = self.complete(&header)?;
        Ok((header, &self.recv_buf[payload]))
    }

    /// Starts a message for [`Framer::try_send`]: checks it against the
    /// session's rules and records its id.
    #[cfg(unix)]
    pub(crate) fn start_send(&mut self, header: &Header, payload: &[u8]) -> Result<SendProgress> {
        let h = self.prepare_send(header, payload)?;
        let plan =
            ChunkPlan::new(self.params.packet_size as usize, payload.len()).map_err(TransportError::from);
        let plan = self.finish_send(h.message_id, plan)?;
        Ok(SendProgress {
            header: h,
            plan: Some(plan),
            next: 0,
        })
    }

    /// Sends as many packets of the message in `progress` as the
    /// transport takes now; `true` once the whole message is out.
    /// `payload` must be the one the message was started with.
    #[cfg(unix)]
    pub(crate) fn try_send(
        &mut self,
        io: &mut impl TryPacketIo,
        progress: &mut SendProgress,
        payload: &[u8],
    ) -> Result<bool> {
        let Some(plan) = progress.plan else {
            return Ok(true);
        };
        if payload.len() != progress.header.payload_len as usize {
            return Err(TransportError::Protocol(
                "the payload differs from the one the message started with",
            ));
        }
        let id = progress.header.message_id;
        while progress.next < plan.count {
            let i = progress.next;
            let head = if i == 0 {
                progress.header.encode()
            } else {
                plan.header(id, i).encode()
            };
            match io.try_send_packet(&head, &payload[plan.range(i)]) {
                Ok(true) => progress.next += 1,
                Ok(false) => return Ok(false),
                Err(e) => return self.finish_send(id, Err(e)),
            }
        }
        Ok(true)
    }

    /// Receives whatever packets of the next message are there, without
    /// waiting; the message once it is whole. The packets of a chunked
    /// message that came so far are kept for the next call.
    #[cfg(unix)]
    pub(crate) fn try_receive(&mut self, io: &mut impl TryPacketIo) -> Result<Option<(Header, &[u8])>> {
        let result = self.try_receive_inner(io);
        if result.is_err() {
            self.partial = None;
        }
        match result? {
            Some((header, payload)) => Ok(Some((header, &self.recv_buf[payload]))),
            None => Ok(None),
        }
    }

    #[cfg(unix)]
    fn try_receive_inner(
        &mut self,
        io: &mut impl TryPacketIo,
    ) -> Result<Option<(Header, core::ops::Range<usize>)>> {
        let mut partial = match self.partial.take() {
            Some(p) => p,
            None => {
                let room = self.first_packet_room();
                let Some(n) = io.try_recv_whole_packet(&mut self.recv_buf[..room])? else {
                    return Ok(None);
                };
                let (header, plan) = self.first_packet(n)?;
                Partial {
                    header,
                    plan,
                    next: 1,
                }
            }
        };
        while partial.next < partial.plan.count {
            let i = partial.next;
            let body = &mut self.recv_buf[Self::continuation_range(&partial.plan, i)];
            let mut ch = [0u8; 32];
            let Some(got) = io.try_recv_packet(&mut ch, body)? else {
                self.partial = Some(partial);
                return Ok(None);
            };
            Self::continuation(&partial.header, &partial.plan, i, &ch, got)?;
            partial.next += 1;
        }
        let payload = self.complete(&partial.header)?;
        Ok(Some((partial.header, payload)))
    }

    /// Like [`Framer::receive_whole`], without waiting: `get` returns
    /// `None` when no message is there.
    #[cfg(target_os = "linux")]
    pub(crate) fn try_receive_whole(
        &mut self,
        get: impl FnOnce(&mut Vec<u8>) -> Result<Option<usize>>,
    ) -> Result<Option<(Header, &[u8])>> {
        let Some(n) = get(&mut self.recv_buf)? else {
            return Ok(None);
        };
        let range = self.accept_whole(n)?;
        Ok(Some((self.last_header, &self.recv_buf[range])))
    }
}

#[cfg(test)]
mod tests;

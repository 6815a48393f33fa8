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
}

impl Framer {
    pub(crate) fn new(params: SessionParams, role: Role) -> Self {
        Self {
            params,
            role,
            recv_buf: Vec::new(),
            last: 0..0,
            inflight: InFlight::default(),
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
        Ok((header, &self.recv_buf[HEADER_LEN..n]))
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

    /// Receives one message; the payload borrows the session's buffer until
    /// the next receive. The deadline covers every chunk.
    pub(crate) fn receive(
        &mut self,
        io: &mut impl PacketIo,
        deadline: Option<Instant>,
    ) -> Result<(Header, &[u8])> {
        // The first packet lands whole at the start of the buffer: header,
        // then the payload, which continuations extend. One byte more than
        // a packet may hold tells an oversized packet from a full one. No
        // valid first packet is longer than a header and the largest
        // payload the peer may send: a session whose messages are small
        // (a server's requests, most often) keeps a small buffer, not one
        // of the packet size (about 208 KiB on Linux), which a thousand
        // sessions would pay a thousand times. A longer packet is cut at
        // that length: its header says too long a payload, or one that
        // differs from the packet's length, and is refused for it.
        let packet = self.params.packet_size as usize;
        let (max_payload, _) = self.limits_in();
        let first_max = packet.min(HEADER_LEN.saturating_add(max_payload as usize));
        if self.recv_buf.len() <= first_max {
            self.recv_buf.resize(first_max + 1, 0);
        }
        let n = io.recv_whole_packet(&mut self.recv_buf[..=first_max], deadline)?;
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
        let plan = ChunkPlan::new(self.params.packet_size as usize, total)?;
        if first != plan.range(0).len() {
            return Err(TransportError::Protocol(
                "first packet length differs from payload_len",
            ));
        }
        if plan.is_chunked() {
            if self.recv_buf.len() < HEADER_LEN + total {
                self.recv_buf.resize(HEADER_LEN + total, 0);
            }
            for i in 1..plan.count {
                let range = plan.range(i);
                let body = &mut self.recv_buf[HEADER_LEN + range.start..HEADER_LEN + range.end];
                let mut ch = [0u8; 32];
                let got = io.recv_packet(&mut ch, body, deadline)?;
                if got < CHUNK_HEADER_LEN {
                    return Err(TransportError::Protocol(
                        "continuation shorter than a chunk header",
                    ));
                }
                let c = ChunkHeader::decode(&ch)?;
                c.check_continuation(&plan.header(header.message_id, i), got - CHUNK_HEADER_LEN)?;
            }
        }
        let payload = HEADER_LEN..HEADER_LEN + total;
        self.accept_received(&header, payload.clone())?;
        self.last = payload.clone();
        Ok((header, &self.recv_buf[payload]))
    }
}

#[cfg(test)]
mod tests;

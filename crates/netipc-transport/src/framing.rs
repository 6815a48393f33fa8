//! Message framing over any packet transport: limits, chunking, reassembly,
//! correlation. Transports implement [`PacketIo`]; this module holds every
//! rule about what goes in the packets.

use crate::error::{Result, TransportError};
use crate::handshake::SessionParams;
use crate::inflight::InFlight;
use netipc_codec::{BatchView, CHUNK_HEADER_LEN, ChunkHeader, ChunkPlan, HEADER_LEN, Header, Kind};
use std::time::Instant;

/// Moves whole packets (message boundaries preserved).
pub(crate) trait PacketIo {
    /// Sends one packet made of `head` followed by `body`.
    fn send_packet(&mut self, head: &[u8], body: &[u8]) -> Result<()>;
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
                what: "payload",
                value: payload.len() as u64,
                limit: max_payload as u64,
            });
        }
        if header.item_count > max_items.max(1) {
            return Err(TransportError::LimitExceeded {
                what: "batch items",
                value: header.item_count as u64,
                limit: max_items as u64,
            });
        }
        if self.role == Role::Client && !self.inflight.insert(header.message_id) {
            return Err(TransportError::Protocol("message_id already in flight"));
        }
        let mut h = *header;
        h.payload_len = payload.len() as u32;
        Ok(h)
    }

    fn finish_send(&mut self, id: u64, result: Result<()>) -> Result<()> {
        if result.is_err() && self.role == Role::Client {
            self.inflight.remove(id);
        }
        result
    }

    /// Sends one message as packets, chunked if it exceeds the packet size.
    /// The header's `payload_len` is set from `payload`.
    pub(crate) fn send(&mut self, io: &mut impl PacketIo, header: &Header, payload: &[u8]) -> Result<()> {
        let h = self.prepare_send(header, payload)?;
        let result = ChunkPlan::new(self.params.packet_size as usize, payload.len())
            .map_err(TransportError::from)
            .and_then(|plan| {
                io.send_packet(&h.encode(), &payload[plan.range(0)])?;
                for i in 1..plan.count {
                    io.send_packet(&plan.header(h.message_id, i).encode(), &payload[plan.range(i)])?;
                }
                Ok(())
            });
        self.finish_send(h.message_id, result)
    }

    /// Sends one message through a whole-message transport (shared memory).
    /// Such a transport holds one message per direction, so a client sends
    /// its next request only once the last one is answered.
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

    /// Receives one message from a whole-message transport: `get` fills
    /// the buffer with header and payload and returns the length.
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
        if header.payload_len > max_payload {
            return Err(TransportError::Protocol("payload_len over the negotiated limit"));
        }
        if header.item_count > max_items.max(1) {
            return Err(TransportError::Protocol("item_count over the negotiated limit"));
        }
        Ok(())
    }

    fn accept_received(&mut self, header: &Header, payload: core::ops::Range<usize>) -> Result<()> {
        self.last = 0..0;
        if header.is_batch() && header.item_count > 1 {
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
        // a packet may hold tells an oversized packet from a full one.
        let packet = self.params.packet_size as usize;
        if self.recv_buf.len() <= packet {
            self.recv_buf.resize(packet + 1, 0);
        }
        let n = io.recv_whole_packet(&mut self.recv_buf[..=packet], deadline)?;
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

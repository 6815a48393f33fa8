//! The 32-byte chunk continuation header, and how a message is cut into packets.
//!
//! A message larger than the negotiated packet size travels as `chunk_count`
//! packets. Packet 0 carries the original outer header and the first
//! `packet_size − 32` payload bytes; each continuation carries a
//! [`ChunkHeader`] and the next bytes. The last packet is short.

use crate::error::{CodecError, Result};
use crate::header::HEADER_LEN;
use crate::wire::{fixed, put_u16, put_u32, put_u64, to_u32, u16_at, u32_at, u64_at};

/// Size of the chunk continuation header.
pub const CHUNK_HEADER_LEN: usize = 32;
/// Magic of the chunk continuation header ("NCHK").
pub const MAGIC_CHUNK: u32 = 0x4E43_484B;

/// The header of a continuation packet (chunk index ≥ 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChunkHeader {
    /// Id of the message this chunk belongs to.
    pub message_id: u64,
    /// Size of the whole message: 32 + payload length.
    pub total_message_len: u32,
    /// 0-based packet index; continuations start at 1.
    pub chunk_index: u32,
    /// Number of packets of the message, the first included.
    pub chunk_count: u32,
    /// Payload bytes in this packet.
    pub chunk_payload_len: u32,
}

impl ChunkHeader {
    /// The 32 wire bytes of this header (version 1, flags 0).
    #[inline]
    pub fn encode(&self) -> [u8; CHUNK_HEADER_LEN] {
        let mut b = [0u8; CHUNK_HEADER_LEN];
        self.write(&mut b);
        b
    }

    /// Writes the header into `out`.
    #[inline]
    pub fn write(&self, out: &mut [u8; CHUNK_HEADER_LEN]) {
        put_u32(out, 0, MAGIC_CHUNK);
        put_u16(out, 4, 1);
        put_u16(out, 6, 0);
        put_u64(out, 8, self.message_id);
        put_u32(out, 16, self.total_message_len);
        put_u32(out, 20, self.chunk_index);
        put_u32(out, 24, self.chunk_count);
        put_u32(out, 28, self.chunk_payload_len);
    }

    /// Decodes the header from the first 32 bytes of `buf`.
    ///
    /// Besides magic, version and flags, it applies the rules of the spec
    /// that need no context: `chunk_count > 0`, `chunk_index < chunk_count`,
    /// `chunk_payload_len > 0` and `total_message_len > 0`. The expected
    /// values are checked by [`ChunkHeader::check_continuation`].
    pub fn decode(buf: &[u8]) -> Result<Self> {
        let b = fixed::<CHUNK_HEADER_LEN>(buf, "chunk header")?;
        let magic = u32_at(b, 0);
        if magic != MAGIC_CHUNK {
            return Err(CodecError::BadMagic {
                found: magic,
                expected: MAGIC_CHUNK,
            });
        }
        let version = u16_at(b, 4);
        if version != 1 {
            return Err(CodecError::BadVersion(version));
        }
        let flags = u16_at(b, 6);
        if flags != 0 {
            return Err(CodecError::NonZeroFlags {
                what: "chunk header",
                found: flags,
            });
        }
        let h = Self {
            message_id: u64_at(b, 8),
            total_message_len: u32_at(b, 16),
            chunk_index: u32_at(b, 20),
            chunk_count: u32_at(b, 24),
            chunk_payload_len: u32_at(b, 28),
        };
        if h.chunk_count == 0 {
            return Err(CodecError::BadChunk {
                rule: "chunk_count must be > 0",
            });
        }
        if h.chunk_index >= h.chunk_count {
            return Err(CodecError::BadChunk {
                rule: "chunk_index must be < chunk_count",
            });
        }
        if h.chunk_payload_len == 0 {
            return Err(CodecError::BadChunk {
                rule: "chunk_payload_len must be > 0",
            });
        }
        if h.total_message_len == 0 {
            return Err(CodecError::BadChunk {
                rule: "total_message_len must be > 0",
            });
        }
        Ok(h)
    }

    /// Checks a received continuation against the one the receiver expects
    /// next, and against the payload bytes that actually arrived with it.
    pub fn check_continuation(&self, expected: &ChunkHeader, received_payload: usize) -> Result<()> {
        let rule = if self.message_id != expected.message_id {
            "message_id differs from the message being received"
        } else if self.chunk_index != expected.chunk_index {
            "chunk_index is not the next one"
        } else if self.chunk_count != expected.chunk_count {
            "chunk_count differs from the first packet's"
        } else if self.total_message_len != expected.total_message_len {
            "total_message_len differs from the first packet's"
        } else if self.chunk_payload_len as usize != received_payload {
            "chunk_payload_len differs from the bytes received"
        } else if self.chunk_payload_len != expected.chunk_payload_len {
            "chunk_payload_len differs from the packet budget"
        } else {
            return Ok(());
        };
        Err(CodecError::BadChunk { rule })
    }
}

/// How a message of `payload_len` bytes is cut at a given packet size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkPlan {
    /// Payload bytes each packet can carry: `packet_size − 32`.
    pub budget: usize,
    /// Payload length of the whole message.
    pub payload_len: usize,
    /// Packets needed, the first included (1 when the message fits one packet).
    pub count: u32,
}

impl ChunkPlan {
    /// Plans a message. Fails when the packet size leaves no room for payload
    /// or the packet count does not fit in a u32.
    pub fn new(packet_size: usize, payload_len: usize) -> Result<Self> {
        let budget = packet_size
            .checked_sub(HEADER_LEN)
            .filter(|&b| b > 0)
            .ok_or(CodecError::InvalidInput("packet size must exceed 32 bytes"))?;
        // Checked: with a 32-bit usize the sum itself can overflow.
        let too_large = CodecError::TooLarge {
            what: "total message length",
        };
        to_u32(
            payload_len.checked_add(HEADER_LEN).ok_or(too_large)?,
            "total message length",
        )?;
        let count = if payload_len <= budget {
            1
        } else {
            1 + (payload_len - budget).div_ceil(budget)
        };
        let count = u32::try_from(count).map_err(|_| CodecError::TooLarge { what: "chunk count" })?;
        Ok(Self {
            budget,
            payload_len,
            count,
        })
    }

    /// Whether the message needs continuation packets.
    #[inline]
    pub fn is_chunked(&self) -> bool {
        self.count > 1
    }

    /// The payload byte range carried by packet `index`.
    #[inline]
    pub fn range(&self, index: u32) -> core::ops::Range<usize> {
        let start = (index as usize * self.budget).min(self.payload_len);
        let end = (start + self.budget).min(self.payload_len);
        start..end
    }

    /// The continuation header of packet `index` (≥ 1) of message `message_id`.
    pub fn header(&self, message_id: u64, index: u32) -> ChunkHeader {
        ChunkHeader {
            message_id,
            total_message_len: (HEADER_LEN + self.payload_len) as u32,
            chunk_index: index,
            chunk_count: self.count,
            chunk_payload_len: self.range(index).len() as u32,
        }
    }
}

//! The 32-byte outer message header and the constants of the envelope.

use crate::error::{CodecError, Result};
use crate::wire::{fixed, put_u16, put_u32, put_u64, u16_at, u32_at, u64_at};

/// Size of the outer message header.
pub const HEADER_LEN: usize = 32;
/// Magic of the outer header ("NIPC").
pub const MAGIC_MSG: u32 = 0x4E49_5043;
/// Envelope version.
pub const VERSION: u16 = 1;

/// Flag: the payload is an L1 batch (item directory + packed items).
pub const FLAG_BATCH: u16 = 0x0001;

/// Transport status: processed successfully at envelope level.
pub const STATUS_OK: u16 = 0;
/// Transport status: malformed header or payload structure.
pub const STATUS_BAD_ENVELOPE: u16 = 1;
/// Transport status: authentication token rejected.
pub const STATUS_AUTH_FAILED: u16 = 2;
/// Transport status: protocol version or limit negotiation failed.
pub const STATUS_INCOMPATIBLE: u16 = 3;
/// Transport status: requested profile or method not supported.
pub const STATUS_UNSUPPORTED: u16 = 4;
/// Transport status: payload or batch count exceeds the negotiated limit.
pub const STATUS_LIMIT_EXCEEDED: u16 = 5;
/// Transport status: unrecoverable internal error.
pub const STATUS_INTERNAL_ERROR: u16 = 6;

/// The protocol's name of a transport status (`"INTERNAL_ERROR"` for
/// [`STATUS_INTERNAL_ERROR`]), or `None` for a value it does not define.
pub fn status_name(status: u16) -> Option<&'static str> {
    const NAMES: [&str; 7] = [
        "OK",
        "BAD_ENVELOPE",
        "AUTH_FAILED",
        "INCOMPATIBLE",
        "UNSUPPORTED",
        "LIMIT_EXCEEDED",
        "INTERNAL_ERROR",
    ];
    NAMES.get(status as usize).copied()
}

/// Control opcode: client initiates the handshake.
pub const CODE_HELLO: u16 = 1;
/// Control opcode: server answers the handshake.
pub const CODE_HELLO_ACK: u16 = 2;

/// Method: u64 ping-pong (test and benchmark).
pub const METHOD_INCREMENT: u16 = 1;
/// Method: full cgroups snapshot.
pub const METHOD_CGROUPS_SNAPSHOT: u16 = 2;
/// Method: string ping-pong (test).
pub const METHOD_STRING_REVERSE: u16 = 3;
/// Method: ordered cgroup path metadata lookup.
pub const METHOD_CGROUPS_LOOKUP: u16 = 4;
/// Method: ordered PID / app / cgroup metadata lookup.
pub const METHOD_APPS_LOOKUP: u16 = 5;

/// Profile bit 0: the platform baseline (UDS SEQPACKET, or Named Pipe on Windows).
pub const PROFILE_BASELINE: u32 = 0x01;
/// Profile bit 1: shared memory, spin then sleep (futex on Linux, events on Windows).
pub const PROFILE_SHM_HYBRID: u32 = 0x02;
/// Profile bit 2: shared memory with futex wait (POSIX name).
pub const PROFILE_SHM_FUTEX: u32 = 0x04;
/// Profile bit 2 on Windows: shared memory, busy-wait only.
pub const PROFILE_SHM_BUSYWAIT: u32 = 0x04;
/// Profile bit 3 (Windows only): shared memory with WaitOnAddress.
pub const PROFILE_SHM_WAITADDR: u32 = 0x08;

/// Zero-config payload budget of a single message, in bytes.
pub const MAX_PAYLOAD_DEFAULT: u32 = 1024;
/// Ceiling of automatic payload growth while callers configured no larger budget.
pub const MAX_PAYLOAD_CAP: u32 = 1024 * 1024;
/// Zero-config response payload budget of the typed service layer.
pub const SERVICE_RESPONSE_BUF_DEFAULT: u32 = 65536;

/// The kind of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum Kind {
    /// Client-to-server request.
    Request = 1,
    /// Server-to-client response.
    Response = 2,
    /// Handshake control message.
    Control = 3,
}

impl TryFrom<u16> for Kind {
    type Error = CodecError;

    fn try_from(v: u16) -> Result<Self> {
        match v {
            1 => Ok(Kind::Request),
            2 => Ok(Kind::Response),
            3 => Ok(Kind::Control),
            other => Err(CodecError::UnknownKind(other)),
        }
    }
}

/// The outer message header that starts every message.
///
/// `magic`, `version` and `header_len` are constants and are not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// Message kind.
    pub kind: Kind,
    /// Bit flags ([`FLAG_BATCH`]).
    pub flags: u16,
    /// Method code, or control opcode for [`Kind::Control`].
    pub code: u16,
    /// Envelope-level status (`STATUS_*`); any value decodes.
    pub transport_status: u16,
    /// Payload bytes after the header.
    pub payload_len: u32,
    /// 1 for a single message, N for a batch.
    pub item_count: u32,
    /// Request/response correlation id.
    pub message_id: u64,
}

impl Header {
    /// A single (non-batch) message header with status OK.
    pub const fn new(kind: Kind, code: u16, message_id: u64, payload_len: u32) -> Self {
        Self {
            kind,
            flags: 0,
            code,
            transport_status: STATUS_OK,
            payload_len,
            item_count: 1,
            message_id,
        }
    }

    /// Whether the BATCH flag is set.
    #[inline]
    pub const fn is_batch(&self) -> bool {
        self.flags & FLAG_BATCH != 0
    }

    /// The 32 wire bytes of this header.
    #[inline]
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        self.write(&mut b);
        b
    }

    /// Writes the header into the first 32 bytes of `out`.
    #[inline]
    pub fn write(&self, out: &mut [u8; HEADER_LEN]) {
        put_u32(out, 0, MAGIC_MSG);
        put_u16(out, 4, VERSION);
        put_u16(out, 6, HEADER_LEN as u16);
        put_u16(out, 8, self.kind as u16);
        put_u16(out, 10, self.flags);
        put_u16(out, 12, self.code);
        put_u16(out, 14, self.transport_status);
        put_u32(out, 16, self.payload_len);
        put_u32(out, 20, self.item_count);
        put_u64(out, 24, self.message_id);
    }

    /// Decodes the header from the first 32 bytes of `buf` (a packet may follow).
    ///
    /// Rejects a short input, a wrong magic, version or `header_len`, and an
    /// unknown kind. Limits are checked by the transport, which knows them.
    #[inline]
    pub fn decode(buf: &[u8]) -> Result<Self> {
        let b = fixed::<HEADER_LEN>(buf, "message header")?;
        let magic = u32_at(b, 0);
        if magic != MAGIC_MSG {
            return Err(CodecError::BadMagic {
                found: magic,
                expected: MAGIC_MSG,
            });
        }
        let version = u16_at(b, 4);
        if version != VERSION {
            return Err(CodecError::BadVersion(version));
        }
        let header_len = u16_at(b, 6);
        if header_len as usize != HEADER_LEN {
            return Err(CodecError::BadHeaderLen(header_len));
        }
        Ok(Self {
            kind: Kind::try_from(u16_at(b, 8))?,
            flags: u16_at(b, 10),
            code: u16_at(b, 12),
            transport_status: u16_at(b, 14),
            payload_len: u32_at(b, 16),
            item_count: u32_at(b, 20),
            message_id: u64_at(b, 24),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_defined_status_has_its_name() {
        let named = [
            (STATUS_OK, "OK"),
            (STATUS_BAD_ENVELOPE, "BAD_ENVELOPE"),
            (STATUS_AUTH_FAILED, "AUTH_FAILED"),
            (STATUS_INCOMPATIBLE, "INCOMPATIBLE"),
            (STATUS_UNSUPPORTED, "UNSUPPORTED"),
            (STATUS_LIMIT_EXCEEDED, "LIMIT_EXCEEDED"),
            (STATUS_INTERNAL_ERROR, "INTERNAL_ERROR"),
        ];
        for (status, name) in named {
            assert_eq!(status_name(status), Some(name));
        }
        assert_eq!(status_name(7), None);
        assert_eq!(status_name(u16::MAX), None);
    }
}

//! Handshake payloads: HELLO (44 bytes) and HELLO_ACK (48 bytes).

use crate::error::{CodecError, Result};
use crate::wire::{check_layout_prefix, put_layout_prefix, put_u32, put_u64, u32_at, u64_at};

/// Wire size of the HELLO payload (no trailing pad).
pub const HELLO_LEN: usize = 44;
/// Wire size of the HELLO_ACK payload.
pub const HELLO_ACK_LEN: usize = 48;

fn exact<'a, const N: usize>(buf: &'a [u8], what: &'static str) -> Result<&'a [u8; N]> {
    match <&[u8; N]>::try_from(buf) {
        Ok(a) => Ok(a),
        Err(_) if buf.len() < N => Err(CodecError::Truncated {
            what,
            need: N,
            have: buf.len(),
        }),
        Err(_) => Err(CodecError::BadLength {
            what,
            expected: N,
            actual: buf.len(),
        }),
    }
}

/// The client's handshake proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Hello {
    /// Profiles the client supports (`PROFILE_*` bits).
    pub supported_profiles: u32,
    /// Profiles the client prefers.
    pub preferred_profiles: u32,
    /// Proposed ceiling of a whole request payload.
    pub max_request_payload_bytes: u32,
    /// Proposed ceiling of request batch items.
    pub max_request_batch_items: u32,
    /// Hint for the response payload ceiling.
    pub max_response_payload_bytes: u32,
    /// Hint for the response batch-item ceiling.
    pub max_response_batch_items: u32,
    /// Caller-supplied authentication token.
    pub auth_token: u64,
    /// The client's transport packet size.
    pub packet_size: u32,
}

impl Hello {
    /// The 44 wire bytes (layout_version 1, flags 0, reserved 0).
    pub fn encode(&self) -> [u8; HELLO_LEN] {
        let mut b = [0u8; HELLO_LEN];
        put_layout_prefix(&mut b);
        put_u32(&mut b, 4, self.supported_profiles);
        put_u32(&mut b, 8, self.preferred_profiles);
        put_u32(&mut b, 12, self.max_request_payload_bytes);
        put_u32(&mut b, 16, self.max_request_batch_items);
        put_u32(&mut b, 20, self.max_response_payload_bytes);
        put_u32(&mut b, 24, self.max_response_batch_items);
        put_u32(&mut b, 28, 0);
        put_u64(&mut b, 32, self.auth_token);
        put_u32(&mut b, 40, self.packet_size);
        b
    }

    /// Decodes a HELLO payload of exactly 44 bytes.
    ///
    /// Rejects a wrong length or layout_version, non-zero flags and a
    /// non-zero reserved field. A server maps these to the transport statuses
    /// of the negotiation matrix.
    pub fn decode(buf: &[u8]) -> Result<Self> {
        let b = exact::<HELLO_LEN>(buf, "HELLO")?;
        check_layout_prefix(b, "HELLO")?;
        if u32_at(b, 28) != 0 {
            return Err(CodecError::NonZeroReserved {
                field: "HELLO reserved@28",
            });
        }
        Ok(Self {
            supported_profiles: u32_at(b, 4),
            preferred_profiles: u32_at(b, 8),
            max_request_payload_bytes: u32_at(b, 12),
            max_request_batch_items: u32_at(b, 16),
            max_response_payload_bytes: u32_at(b, 20),
            max_response_batch_items: u32_at(b, 24),
            auth_token: u64_at(b, 32),
            packet_size: u32_at(b, 40),
        })
    }
}

/// The server's handshake decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct HelloAck {
    /// Profiles the server supports.
    pub server_supported_profiles: u32,
    /// Client and server support, ANDed.
    pub intersection_profiles: u32,
    /// The one profile of this session.
    pub selected_profile: u32,
    /// Final request payload limit.
    pub agreed_max_request_payload_bytes: u32,
    /// Final request batch-item limit.
    pub agreed_max_request_batch_items: u32,
    /// Final response payload limit.
    pub agreed_max_response_payload_bytes: u32,
    /// Final response batch-item limit.
    pub agreed_max_response_batch_items: u32,
    /// Final packet size.
    pub agreed_packet_size: u32,
    /// Server-assigned session id (from 1).
    pub session_id: u64,
}

impl HelloAck {
    /// The 48 wire bytes (layout_version 1, flags 0, reserved 0).
    pub fn encode(&self) -> [u8; HELLO_ACK_LEN] {
        let mut b = [0u8; HELLO_ACK_LEN];
        put_layout_prefix(&mut b);
        put_u32(&mut b, 4, self.server_supported_profiles);
        put_u32(&mut b, 8, self.intersection_profiles);
        put_u32(&mut b, 12, self.selected_profile);
        put_u32(&mut b, 16, self.agreed_max_request_payload_bytes);
        put_u32(&mut b, 20, self.agreed_max_request_batch_items);
        put_u32(&mut b, 24, self.agreed_max_response_payload_bytes);
        put_u32(&mut b, 28, self.agreed_max_response_batch_items);
        put_u32(&mut b, 32, self.agreed_packet_size);
        put_u32(&mut b, 36, 0);
        put_u64(&mut b, 40, self.session_id);
        b
    }

    /// Decodes a HELLO_ACK payload of exactly 48 bytes.
    ///
    /// Rejects a wrong length or layout_version, non-zero flags and a
    /// non-zero reserved field.
    pub fn decode(buf: &[u8]) -> Result<Self> {
        let b = exact::<HELLO_ACK_LEN>(buf, "HELLO_ACK")?;
        check_layout_prefix(b, "HELLO_ACK")?;
        if u32_at(b, 36) != 0 {
            return Err(CodecError::NonZeroReserved {
                field: "HELLO_ACK reserved@36",
            });
        }
        Ok(Self {
            server_supported_profiles: u32_at(b, 4),
            intersection_profiles: u32_at(b, 8),
            selected_profile: u32_at(b, 12),
            agreed_max_request_payload_bytes: u32_at(b, 16),
            agreed_max_request_batch_items: u32_at(b, 20),
            agreed_max_response_payload_bytes: u32_at(b, 24),
            agreed_max_response_batch_items: u32_at(b, 28),
            agreed_packet_size: u32_at(b, 32),
            session_id: u64_at(b, 40),
        })
    }
}

//! The handshake decisions as plain functions: no socket, no clock.
//!
//! The client proposes with [`client_hello`]; the server decides with
//! [`negotiate`]; the client reads the result with [`read_ack`]. Transports
//! only move the bytes, through the two crate-internal helpers at the end
//! (`recv_control`, `client_exchange`) that every transport shares.

use crate::config::{ClientConfig, ServerConfig};
use crate::error::{Limit, Result, TransportError};
use netipc_codec::{
    CodecError, HEADER_LEN, HELLO_ACK_LEN, Header, Hello, HelloAck, Kind, STATUS_AUTH_FAILED,
    STATUS_BAD_ENVELOPE, STATUS_INCOMPATIBLE, STATUS_LIMIT_EXCEEDED, STATUS_OK, STATUS_UNSUPPORTED,
};

/// The final, locked values of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionParams {
    /// The one transport profile of the session.
    pub selected_profile: u32,
    /// Request payload ceiling.
    pub max_request_payload_bytes: u32,
    /// Request batch-item ceiling.
    pub max_request_batch_items: u32,
    /// Response payload ceiling.
    pub max_response_payload_bytes: u32,
    /// Response batch-item ceiling.
    pub max_response_batch_items: u32,
    /// Packet size used for chunking.
    pub packet_size: u32,
    /// Server-assigned id (from 1).
    pub session_id: u64,
}

impl From<&HelloAck> for SessionParams {
    fn from(a: &HelloAck) -> Self {
        Self {
            selected_profile: a.selected_profile,
            max_request_payload_bytes: a.agreed_max_request_payload_bytes,
            max_request_batch_items: a.agreed_max_request_batch_items,
            max_response_payload_bytes: a.agreed_max_response_payload_bytes,
            max_response_batch_items: a.agreed_max_response_batch_items,
            packet_size: a.agreed_packet_size,
            session_id: a.session_id,
        }
    }
}

/// The HELLO a client sends, with zero config fields replaced by the named
/// defaults, and `packet_size` the transport's own.
pub fn client_hello(cfg: &ClientConfig, packet_size: u32) -> Hello {
    Hello {
        supported_profiles: cfg.effective_supported_profiles(),
        preferred_profiles: cfg.preferred_profiles,
        max_request_payload_bytes: cfg.effective_max_request_payload_bytes(),
        max_request_batch_items: cfg.effective_max_request_batch_items(),
        max_response_payload_bytes: cfg.effective_max_response_payload_bytes(),
        max_response_batch_items: cfg.effective_max_response_batch_items(),
        auth_token: cfg.auth_token,
        packet_size,
    }
}

/// A server's decision on one HELLO: the ACK to send, or the status of the
/// rejection to send before closing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Accept with these values.
    Accept(HelloAck),
    /// Reject with this transport status (and the reason for the server's log).
    Reject(u16, &'static str),
}

/// The answer to a peer the server's access policy refuses: AUTH_FAILED,
/// the status a wrong token gets, so that every client of the protocol
/// knows what it means.
pub fn refusal() -> Decision {
    Decision::Reject(STATUS_AUTH_FAILED, "peer refused by the access policy")
}

/// The server-side error for a rejected HELLO (after its HELLO_ACK went out).
pub(crate) fn rejection_error(status: u16, why: &'static str, cfg: &ServerConfig) -> TransportError {
    match status {
        STATUS_AUTH_FAILED => TransportError::AuthFailed,
        STATUS_UNSUPPORTED => TransportError::Unsupported,
        STATUS_INCOMPATIBLE => TransportError::Incompatible(why),
        STATUS_LIMIT_EXCEEDED => TransportError::LimitExceeded {
            what: Limit::ProposedRequestPayload,
            value: None,
            limit: Some(cfg.effective_max_request_payload_bytes() as u64),
        },
        _ => TransportError::Protocol(why),
    }
}

fn highest_bit(mask: u32) -> u32 {
    if mask == 0 {
        0
    } else {
        1 << (31 - mask.leading_zeros())
    }
}

/// Decides a handshake from the received HELLO packet (header and payload).
///
/// Follows the negotiation matrix of the protocol. Where the reference
/// implementation's order differs from its document (it checks the profile
/// intersection before the auth token), the reference's order is kept, so
/// both answer the same HELLO with the same status.
pub fn negotiate(packet: &[u8], cfg: &ServerConfig, packet_size: u32, session_id: u64) -> Decision {
    let header = match Header::decode(packet) {
        Ok(h) => h,
        Err(CodecError::BadVersion(_)) => return Decision::Reject(STATUS_INCOMPATIBLE, "envelope version"),
        Err(_) => return Decision::Reject(STATUS_BAD_ENVELOPE, "malformed HELLO header"),
    };
    if header.kind != Kind::Control || header.code != netipc_codec::CODE_HELLO {
        return Decision::Reject(STATUS_BAD_ENVELOPE, "first message is not HELLO");
    }
    let payload = &packet[HEADER_LEN..];
    if header.payload_len as usize != payload.len() {
        return Decision::Reject(STATUS_BAD_ENVELOPE, "HELLO payload_len differs from the packet");
    }
    let hello = match Hello::decode(payload) {
        Ok(h) => h,
        Err(CodecError::BadLayoutVersion { .. }) => {
            return Decision::Reject(STATUS_INCOMPATIBLE, "HELLO layout_version");
        }
        Err(_) => return Decision::Reject(STATUS_BAD_ENVELOPE, "malformed HELLO payload"),
    };
    let server_profiles = cfg.effective_supported_profiles();
    let intersection = hello.supported_profiles & server_profiles;
    if intersection == 0 {
        return Decision::Reject(STATUS_UNSUPPORTED, "no common profile");
    }
    if hello.auth_token != cfg.auth_token {
        return Decision::Reject(STATUS_AUTH_FAILED, "auth token mismatch");
    }
    let preferred = intersection & hello.preferred_profiles & cfg.preferred_profiles;
    let selected = if preferred != 0 {
        highest_bit(preferred)
    } else {
        highest_bit(intersection)
    };
    if hello.max_request_payload_bytes > cfg.effective_max_request_payload_bytes() {
        return Decision::Reject(
            STATUS_LIMIT_EXCEEDED,
            "request payload proposal over the server maximum",
        );
    }
    let agreed_packet = hello.packet_size.min(packet_size);
    if agreed_packet as usize <= HEADER_LEN {
        return Decision::Reject(STATUS_INCOMPATIBLE, "packet size too small");
    }
    Decision::Accept(HelloAck {
        server_supported_profiles: server_profiles,
        intersection_profiles: intersection,
        selected_profile: selected,
        agreed_max_request_payload_bytes: hello.max_request_payload_bytes,
        agreed_max_request_batch_items: hello.max_request_batch_items,
        agreed_max_response_payload_bytes: cfg.effective_max_response_payload_bytes(),
        agreed_max_response_batch_items: hello.max_request_batch_items,
        agreed_packet_size: agreed_packet,
        session_id,
    })
}

/// The HELLO_ACK packet for a decision. A rejection carries a zeroed ACK
/// payload (layout_version 1), as the reference sends it.
pub fn ack_packet(decision: &Decision) -> [u8; HEADER_LEN + HELLO_ACK_LEN] {
    let (status, ack) = match decision {
        Decision::Accept(a) => (STATUS_OK, *a),
        Decision::Reject(s, _) => (*s, HelloAck::default()),
    };
    let mut header = Header::new(
        Kind::Control,
        netipc_codec::CODE_HELLO_ACK,
        0,
        HELLO_ACK_LEN as u32,
    );
    header.transport_status = status;
    let mut pkt = [0u8; HEADER_LEN + HELLO_ACK_LEN];
    pkt[..HEADER_LEN].copy_from_slice(&header.encode());
    pkt[HEADER_LEN..].copy_from_slice(&ack.encode());
    pkt
}

/// The server's answer over any transport: sends the HELLO_ACK of
/// `decision`, waiting for room until `deadline` at the latest.
pub(crate) fn send_ack(
    io: &mut impl crate::framing::PacketIo,
    decision: &Decision,
    deadline: std::time::Instant,
) -> Result<()> {
    let ack = ack_packet(decision);
    io.send_packet(&ack[..HEADER_LEN], &ack[HEADER_LEN..], Some(deadline))
}

/// The HELLO packet for a proposal.
pub fn hello_packet(hello: &Hello) -> [u8; HEADER_LEN + netipc_codec::HELLO_LEN] {
    let header = Header::new(
        Kind::Control,
        netipc_codec::CODE_HELLO,
        0,
        netipc_codec::HELLO_LEN as u32,
    );
    let mut pkt = [0u8; HEADER_LEN + netipc_codec::HELLO_LEN];
    pkt[..HEADER_LEN].copy_from_slice(&header.encode());
    pkt[HEADER_LEN..].copy_from_slice(&hello.encode());
    pkt
}

/// Reads the server's HELLO_ACK packet on the client side.
pub fn read_ack(packet: &[u8]) -> Result<SessionParams> {
    let header = match Header::decode(packet) {
        Ok(h) => h,
        Err(CodecError::BadVersion(_)) => {
            return Err(TransportError::Incompatible("HELLO_ACK envelope version"));
        }
        Err(e) => return Err(e.into()),
    };
    if header.kind != Kind::Control || header.code != netipc_codec::CODE_HELLO_ACK {
        return Err(TransportError::Protocol("expected HELLO_ACK"));
    }
    match header.transport_status {
        STATUS_OK => {}
        STATUS_AUTH_FAILED => return Err(TransportError::AuthFailed),
        STATUS_UNSUPPORTED => return Err(TransportError::Unsupported),
        STATUS_INCOMPATIBLE => return Err(TransportError::Incompatible("server rejected the handshake")),
        STATUS_LIMIT_EXCEEDED => {
            return Err(TransportError::LimitExceeded {
                what: Limit::ProposedRequestPayload,
                value: None,
                limit: None,
            });
        }
        other => return Err(TransportError::Rejected(other)),
    }
    let payload = &packet[HEADER_LEN..];
    if header.payload_len as usize != payload.len() {
        return Err(TransportError::Protocol(
            "HELLO_ACK payload_len differs from the packet",
        ));
    }
    let ack = match HelloAck::decode(payload) {
        Ok(a) => a,
        Err(CodecError::BadLayoutVersion { .. }) => {
            return Err(TransportError::Incompatible("HELLO_ACK layout_version"));
        }
        Err(e) => return Err(e.into()),
    };
    if ack.agreed_packet_size as usize <= HEADER_LEN {
        return Err(TransportError::Incompatible("agreed packet size too small"));
    }
    if ack.selected_profile.count_ones() != 1 {
        return Err(TransportError::Protocol("HELLO_ACK selects no single profile"));
    }
    Ok(SessionParams::from(&ack))
}

/// Room for one handshake packet (HELLO or HELLO_ACK, with slack).
pub(crate) const CONTROL_ROOM: usize = HEADER_LEN + 256;

/// Receives one handshake packet whole before `deadline`; returns the
/// buffer and the packet's length.
pub(crate) fn recv_control(
    io: &mut impl crate::framing::PacketIo,
    deadline: std::time::Instant,
) -> Result<([u8; CONTROL_ROOM], usize)> {
    let mut head = [0u8; HEADER_LEN];
    let mut body = [0u8; CONTROL_ROOM - HEADER_LEN];
    let n = io.recv_packet(&mut head, &mut body, Some(deadline))?;
    let mut packet = [0u8; CONTROL_ROOM];
    packet[..HEADER_LEN].copy_from_slice(&head);
    packet[HEADER_LEN..].copy_from_slice(&body);
    Ok((packet, n))
}

/// The client's side of the handshake over any transport: sends `hello`,
/// reads the HELLO_ACK before `deadline`, and checks that the server chose
/// a profile `hello` offered.
pub(crate) fn client_exchange(
    io: &mut impl crate::framing::PacketIo,
    hello: &Hello,
    deadline: std::time::Instant,
) -> Result<SessionParams> {
    let pkt = hello_packet(hello);
    io.send_packet(&pkt[..HEADER_LEN], &pkt[HEADER_LEN..], Some(deadline))?;
    let (packet, n) = recv_control(io, deadline)?;
    if n < HEADER_LEN {
        return Err(TransportError::Protocol("HELLO_ACK shorter than a header"));
    }
    let params = read_ack(&packet[..n])?;
    // `read_ack` guarantees a single bit.
    if params.selected_profile & hello.supported_profiles == 0 {
        return Err(TransportError::Incompatible(
            "server selected a profile we did not offer",
        ));
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_reports_each_rejection_it_sent_as_its_own_error() {
        let cfg = ServerConfig {
            max_request_payload_bytes: 4096,
            ..ServerConfig::default()
        };
        let err = |status| rejection_error(status, "why", &cfg);
        assert!(matches!(err(STATUS_AUTH_FAILED), TransportError::AuthFailed));
        assert!(matches!(err(STATUS_UNSUPPORTED), TransportError::Unsupported));
        assert!(matches!(
            err(STATUS_INCOMPATIBLE),
            TransportError::Incompatible("why")
        ));
        assert!(matches!(
            err(STATUS_LIMIT_EXCEEDED),
            TransportError::LimitExceeded {
                what: Limit::ProposedRequestPayload,
                value: None,
                limit: Some(4096),
            }
        ));
        assert!(matches!(
            err(STATUS_BAD_ENVELOPE),
            TransportError::Protocol("why")
        ));
    }

    use netipc_codec::{PROFILE_BASELINE, PROFILE_SHM_HYBRID};

    /// A peer that takes every packet and answers with one given packet.
    struct Answers(Option<Vec<u8>>);

    impl crate::framing::PacketIo for Answers {
        fn send_packet(&mut self, _: &[u8], _: &[u8], _: Option<std::time::Instant>) -> Result<()> {
            Ok(())
        }

        fn recv_packet(
            &mut self,
            head: &mut [u8; HEADER_LEN],
            body: &mut [u8],
            _: Option<std::time::Instant>,
        ) -> Result<usize> {
            let p = self.0.take().ok_or(TransportError::PeerClosed)?;
            let n = p.len().min(HEADER_LEN);
            head[..n].copy_from_slice(&p[..n]);
            body[..p.len() - n].copy_from_slice(&p[n..]);
            Ok(p.len())
        }
    }

    /// The client's checks of the exchange itself: a packet too short for
    /// a header, and a profile it did not offer; a proper ACK passes.
    #[test]
    fn a_client_checks_the_ack_it_receives() {
        let hello = Hello {
            supported_profiles: PROFILE_BASELINE,
            max_request_payload_bytes: 1024,
            max_response_payload_bytes: 1024,
            ..Hello::default()
        };
        let ack = |selected| HelloAck {
            selected_profile: selected,
            agreed_max_request_payload_bytes: 1024,
            agreed_max_response_payload_bytes: 1024,
            agreed_packet_size: 4096,
            session_id: 1,
            ..HelloAck::default()
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
        let exchange = |answer: Vec<u8>| client_exchange(&mut Answers(Some(answer)), &hello, deadline);
        let short = exchange(vec![0; HEADER_LEN - 1]);
        assert!(
            matches!(short, Err(TransportError::Protocol(m)) if m.contains("shorter")),
            "{short:?}"
        );
        let other = exchange(ack_packet(&Decision::Accept(ack(PROFILE_SHM_HYBRID))).to_vec());
        assert!(
            matches!(other, Err(TransportError::Incompatible(m)) if m.contains("did not offer")),
            "{other:?}"
        );
        let good = exchange(ack_packet(&Decision::Accept(ack(PROFILE_BASELINE))).to_vec());
        assert_eq!(good.unwrap().selected_profile, PROFILE_BASELINE);
    }

    #[test]
    fn highest_bit_keeps_only_the_top_profile() {
        assert_eq!(highest_bit(0), 0);
        assert_eq!(highest_bit(0b1), 0b1);
        assert_eq!(highest_bit(0b110), 0b100);
        assert_eq!(highest_bit(u32::MAX), 1 << 31);
    }
}

//! The negotiation matrix, field by field, with no socket.

use netipc_transport::ServerConfig;
use netipc_transport::TransportError;
use netipc_transport::codec::*;
use netipc_transport::handshake::{Decision, ack_packet, hello_packet, negotiate, read_ack};

const TOKEN: u64 = 0xDEAD_BEEF_CAFE_BABE;

fn server() -> ServerConfig {
    ServerConfig {
        supported_profiles: PROFILE_BASELINE | PROFILE_SHM_HYBRID,
        preferred_profiles: PROFILE_SHM_HYBRID,
        max_request_payload_bytes: 65536,
        max_response_payload_bytes: 131072,
        auth_token: TOKEN,
        ..ServerConfig::default()
    }
}

fn hello() -> Hello {
    Hello {
        supported_profiles: PROFILE_BASELINE,
        preferred_profiles: 0,
        max_request_payload_bytes: 4096,
        max_request_batch_items: 16,
        max_response_payload_bytes: 1024,
        max_response_batch_items: 3,
        auth_token: TOKEN,
        packet_size: 8192,
    }
}

fn decide(h: &Hello) -> Decision {
    negotiate(&hello_packet(h), &server(), 4096, 1)
}

fn status(d: Decision) -> u16 {
    match d {
        Decision::Reject(s, _) => s,
        Decision::Accept(_) => STATUS_OK,
    }
}

#[test]
fn accepted_values() {
    let Decision::Accept(a) = decide(&hello()) else {
        panic!()
    };
    assert_eq!(a.server_supported_profiles, PROFILE_BASELINE | PROFILE_SHM_HYBRID);
    assert_eq!(a.intersection_profiles, PROFILE_BASELINE);
    assert_eq!(a.selected_profile, PROFILE_BASELINE);
    assert_eq!(
        a.agreed_max_request_payload_bytes, 4096,
        "request proposal echoed"
    );
    assert_eq!(a.agreed_max_request_batch_items, 16, "batch proposal echoed");
    assert_eq!(
        a.agreed_max_response_payload_bytes, 131072,
        "response ceiling is the server's"
    );
    assert_eq!(
        a.agreed_max_response_batch_items, 16,
        "response batch = request batch"
    );
    assert_eq!(a.agreed_packet_size, 4096, "min of the two packet sizes");
    assert_eq!(a.session_id, 1);
}

#[test]
fn profile_selection() {
    let both = Hello {
        supported_profiles: PROFILE_BASELINE | PROFILE_SHM_HYBRID,
        ..hello()
    };
    // Highest bit of the intersection when nobody prefers anything in common.
    let Decision::Accept(a) = negotiate(
        &hello_packet(&both),
        &ServerConfig {
            preferred_profiles: 0,
            ..server()
        },
        4096,
        1,
    ) else {
        panic!()
    };
    assert_eq!(a.selected_profile, PROFILE_SHM_HYBRID);
    // Both prefer baseline: the preferred intersection wins.
    let prefer_base = Hello {
        preferred_profiles: PROFILE_BASELINE,
        ..both
    };
    let cfg = ServerConfig {
        preferred_profiles: PROFILE_BASELINE,
        ..server()
    };
    let Decision::Accept(a) = negotiate(&hello_packet(&prefer_base), &cfg, 4096, 1) else {
        panic!()
    };
    assert_eq!(a.selected_profile, PROFILE_BASELINE);
}

#[test]
fn rejections() {
    assert_eq!(
        status(decide(&Hello {
            auth_token: 1,
            ..hello()
        })),
        STATUS_AUTH_FAILED
    );
    assert_eq!(
        status(decide(&Hello {
            supported_profiles: 0x08,
            ..hello()
        })),
        STATUS_UNSUPPORTED
    );
    // Like the reference: the profile check comes before the token check.
    assert_eq!(
        status(decide(&Hello {
            supported_profiles: 0x08,
            auth_token: 1,
            ..hello()
        })),
        STATUS_UNSUPPORTED
    );
    assert_eq!(
        status(decide(&Hello {
            max_request_payload_bytes: 65537,
            ..hello()
        })),
        STATUS_LIMIT_EXCEEDED
    );
    assert_eq!(
        status(decide(&Hello {
            packet_size: 32,
            ..hello()
        })),
        STATUS_INCOMPATIBLE
    );
    assert_eq!(
        status(negotiate(&hello_packet(&hello()), &server(), 32, 1)),
        STATUS_INCOMPATIBLE
    );

    let mut pkt = hello_packet(&hello());
    pkt[HEADER_LEN] = 2; // layout_version
    assert_eq!(status(negotiate(&pkt, &server(), 4096, 1)), STATUS_INCOMPATIBLE);
    let mut pkt = hello_packet(&hello());
    pkt[HEADER_LEN + 2] = 1; // flags
    assert_eq!(status(negotiate(&pkt, &server(), 4096, 1)), STATUS_BAD_ENVELOPE);
    let mut pkt = hello_packet(&hello());
    pkt[HEADER_LEN + 28] = 1; // reserved
    assert_eq!(status(negotiate(&pkt, &server(), 4096, 1)), STATUS_BAD_ENVELOPE);
    let mut pkt = hello_packet(&hello());
    pkt[4] = 2; // envelope version
    assert_eq!(status(negotiate(&pkt, &server(), 4096, 1)), STATUS_INCOMPATIBLE);
    let mut pkt = hello_packet(&hello());
    pkt[0] = 0; // magic
    assert_eq!(status(negotiate(&pkt, &server(), 4096, 1)), STATUS_BAD_ENVELOPE);
    assert_eq!(
        status(negotiate(&pkt[..40], &server(), 4096, 1)),
        STATUS_BAD_ENVELOPE
    );
}

#[test]
fn client_reads_every_status() {
    let ok = negotiate(&hello_packet(&hello()), &server(), 4096, 9);
    assert_eq!(read_ack(&ack_packet(&ok)).unwrap().session_id, 9);
    let cases = [
        (STATUS_AUTH_FAILED, "auth"),
        (STATUS_UNSUPPORTED, "unsupported"),
        (STATUS_INCOMPATIBLE, "incompatible"),
        (STATUS_LIMIT_EXCEEDED, "limit"),
        (STATUS_BAD_ENVELOPE, "rejected"),
    ];
    for (s, name) in cases {
        let err = read_ack(&ack_packet(&Decision::Reject(s, "x"))).unwrap_err();
        let ok = match name {
            "auth" => matches!(err, TransportError::AuthFailed),
            "unsupported" => matches!(err, TransportError::Unsupported),
            "incompatible" => matches!(err, TransportError::Incompatible(_)),
            "limit" => matches!(err, TransportError::LimitExceeded { .. }),
            _ => matches!(err, TransportError::Rejected(1)),
        };
        assert!(ok, "{name}: {err:?}");
    }
    // A rejection carries a zeroed ACK with layout_version 1.
    let pkt = ack_packet(&Decision::Reject(STATUS_AUTH_FAILED, "x"));
    assert_eq!(&pkt[HEADER_LEN..HEADER_LEN + 2], &[1, 0]);
    assert!(pkt[HEADER_LEN + 2..].iter().all(|&b| b == 0));
}

#[test]
fn a_first_message_that_is_not_a_whole_hello_is_a_bad_envelope() {
    for (at, value, why) in [
        (8, Kind::Request as u8, "kind"),
        (12, CODE_HELLO_ACK as u8, "code"),
        (16, 40, "payload_len"),
    ] {
        let mut pkt = hello_packet(&hello());
        pkt[at] = value;
        match negotiate(&pkt, &server(), 4096, 1) {
            Decision::Reject(STATUS_BAD_ENVELOPE, _) => {}
            other => panic!("{why}: {other:?}"),
        }
    }
}

/// Every rule the client holds a HELLO_ACK to, each broken alone.
#[test]
fn a_client_refuses_a_malformed_hello_ack() {
    let Decision::Accept(good) = decide(&hello()) else {
        panic!()
    };
    let packet = |edit: &dyn Fn(&mut [u8])| {
        let mut pkt = ack_packet(&Decision::Accept(good));
        edit(&mut pkt);
        read_ack(&pkt)
    };
    let at = |off: usize, v: u32| move |p: &mut [u8]| p[off..off + 4].copy_from_slice(&v.to_ne_bytes());
    type Rule<'a> = (&'a dyn Fn(&mut [u8]), &'a str, fn(&TransportError) -> bool);
    let rules: [Rule<'_>; 8] = [
        (&|p| p[4] = 2, "envelope version", |e| {
            matches!(e, TransportError::Incompatible(_))
        }),
        (&|p| p[0] ^= 1, "magic", |e| {
            matches!(e, TransportError::Malformed(_))
        }),
        (&|p| p[8] = Kind::Response as u8, "kind", |e| {
            matches!(e, TransportError::Protocol(_))
        }),
        (&|p| p[12] = CODE_HELLO as u8, "code", |e| {
            matches!(e, TransportError::Protocol(_))
        }),
        (&at(16, 47), "payload_len", |e| {
            matches!(e, TransportError::Protocol(_))
        }),
        (&|p| p[HEADER_LEN] = 2, "layout_version", |e| {
            matches!(e, TransportError::Incompatible(_))
        }),
        (&at(HEADER_LEN + 32, 32), "packet size", |e| {
            matches!(e, TransportError::Incompatible(_))
        }),
        (
            &at(HEADER_LEN + 12, PROFILE_BASELINE | PROFILE_SHM_HYBRID),
            "two profiles",
            |e| matches!(e, TransportError::Protocol(_)),
        ),
    ];
    for (edit, rule, expected) in rules {
        match packet(edit) {
            Err(e) => assert!(expected(&e), "{rule}: {e:?}"),
            Ok(p) => panic!("{rule}: accepted {p:?}"),
        }
    }
    assert!(packet(&|_| {}).is_ok());
    // No profile at all is refused too.
    assert!(matches!(
        packet(&at(HEADER_LEN + 12, 0)),
        Err(TransportError::Protocol(_))
    ));
}

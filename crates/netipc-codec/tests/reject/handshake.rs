//! Rejection rules of the HELLO and HELLO_ACK payloads.

use super::*;

#[test]
fn hello_rules() {
    let h = Hello {
        supported_profiles: 1,
        packet_size: 4096,
        ..Hello::default()
    }
    .encode();
    assert!(Hello::decode(&h).is_ok());
    assert!(matches!(
        Hello::decode(&h[..43]),
        Err(CodecError::Truncated { need: 44, .. })
    ));
    let mut long = h.to_vec();
    long.push(0);
    assert!(matches!(
        Hello::decode(&long),
        Err(CodecError::BadLength {
            expected: 44,
            actual: 45,
            ..
        })
    ));
    assert!(matches!(
        Hello::decode(&with(&h, |b| set16(b, 0, 2))),
        Err(CodecError::BadLayoutVersion { found: 2, .. })
    ));
    assert!(matches!(
        Hello::decode(&with(&h, |b| set16(b, 2, 1))),
        Err(CodecError::NonZeroFlags { found: 1, .. })
    ));
    assert!(matches!(
        Hello::decode(&with(&h, |b| set32(b, 28, 1))),
        Err(CodecError::NonZeroReserved { .. })
    ));
}

#[test]
fn hello_ack_rules() {
    let a = HelloAck {
        selected_profile: 1,
        session_id: 3,
        ..HelloAck::default()
    }
    .encode();
    assert!(HelloAck::decode(&a).is_ok());
    assert!(matches!(
        HelloAck::decode(&a[..47]),
        Err(CodecError::Truncated { need: 48, .. })
    ));
    assert!(matches!(
        HelloAck::decode(&[&a[..], &[0]].concat()),
        Err(CodecError::BadLength { .. })
    ));
    assert!(matches!(
        HelloAck::decode(&with(&a, |b| set16(b, 0, 0))),
        Err(CodecError::BadLayoutVersion { .. })
    ));
    assert!(matches!(
        HelloAck::decode(&with(&a, |b| set16(b, 2, 4))),
        Err(CodecError::NonZeroFlags { .. })
    ));
    assert!(matches!(
        HelloAck::decode(&with(&a, |b| set32(b, 36, 7))),
        Err(CodecError::NonZeroReserved { .. })
    ));
}

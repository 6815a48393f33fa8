//! Rejection rules of the INCREMENT and STRING_REVERSE test methods.

use super::*;

#[test]
fn increment_rules() {
    assert!(matches!(
        increment::decode(&[0; 7]),
        Err(CodecError::BadLength { actual: 7, .. })
    ));
    assert!(matches!(
        increment::decode(&[0; 9]),
        Err(CodecError::BadLength { actual: 9, .. })
    ));
    assert_eq!(increment::decode(&increment::encode(5)), Ok(5));
}

#[test]
fn string_reverse_rules() {
    let mut ok = Vec::new();
    string_reverse::encode(b"abc", &mut ok).unwrap();
    assert!(matches!(
        string_reverse::decode(&ok[..7]),
        Err(CodecError::Truncated { .. })
    ));
    assert!(matches!(
        string_reverse::decode(&with(&ok, |b| set32(b, 0, 4))),
        Err(CodecError::UnexpectedOffset { found: 4, .. })
    ));
    assert!(matches!(
        string_reverse::decode(&with(&ok, |b| set32(b, 4, 4))),
        Err(CodecError::StringOutOfBounds { .. })
    ));
    assert!(matches!(
        string_reverse::decode(&with(&ok, |b| set32(b, 4, u32::MAX))),
        Err(CodecError::StringOutOfBounds { .. })
    ));
    assert!(matches!(
        string_reverse::decode(&with(&ok, |b| b[11] = b'x')),
        Err(CodecError::MissingNul { .. })
    ));
    assert!(matches!(
        string_reverse::decode(&with(&ok, |b| b.push(0))),
        Err(CodecError::TrailingBytes { extra: 1 })
    ));
    let mut small = [0u8; 11];
    assert!(matches!(
        string_reverse::write(b"abc", &mut small),
        Err(CodecError::LimitExceeded { need: 12, .. })
    ));
}

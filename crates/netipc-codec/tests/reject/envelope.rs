//! Rejection rules of the 32-byte message header and the chunk continuation header.

use super::*;

fn header() -> [u8; 32] {
    Header::new(Kind::Request, METHOD_INCREMENT, 7, 8).encode()
}

#[test]
fn header_rules() {
    let h = header();
    assert!(matches!(
        Header::decode(&h[..31]),
        Err(CodecError::Truncated {
            need: 32,
            have: 31,
            ..
        })
    ));
    assert!(matches!(
        Header::decode(&with(&h, |b| b[0] ^= 1)),
        Err(CodecError::BadMagic { .. })
    ));
    assert_eq!(
        Header::decode(&with(&h, |b| set16(b, 4, 2))),
        Err(CodecError::BadVersion(2))
    );
    assert_eq!(
        Header::decode(&with(&h, |b| set16(b, 6, 33))),
        Err(CodecError::BadHeaderLen(33))
    );
    assert_eq!(
        Header::decode(&with(&h, |b| set16(b, 8, 0))),
        Err(CodecError::UnknownKind(0))
    );
    assert_eq!(
        Header::decode(&with(&h, |b| set16(b, 8, 4))),
        Err(CodecError::UnknownKind(4))
    );
    // Unknown transport statuses and flags are the transport's business.
    assert!(Header::decode(&with(&h, |b| set16(b, 14, 99))).is_ok());
}

fn chunk() -> ChunkHeader {
    ChunkHeader {
        message_id: 9,
        total_message_len: 32 + 100,
        chunk_index: 1,
        chunk_count: 2,
        chunk_payload_len: 60,
    }
}

fn chunk_rule(b: &[u8]) -> &'static str {
    match ChunkHeader::decode(b) {
        Err(CodecError::BadChunk { rule }) => rule,
        other => panic!("expected BadChunk, got {other:?}"),
    }
}

#[test]
fn chunk_header_rules() {
    let c = chunk().encode();
    assert!(ChunkHeader::decode(&c).is_ok());
    assert!(matches!(
        ChunkHeader::decode(&c[..31]),
        Err(CodecError::Truncated { .. })
    ));
    assert!(matches!(
        ChunkHeader::decode(&with(&c, |b| b[0] ^= 1)),
        Err(CodecError::BadMagic { .. })
    ));
    // The outer-header magic is not a chunk magic.
    assert!(matches!(
        ChunkHeader::decode(&header()),
        Err(CodecError::BadMagic { .. })
    ));
    assert_eq!(
        ChunkHeader::decode(&with(&c, |b| set16(b, 4, 2))),
        Err(CodecError::BadVersion(2))
    );
    assert!(matches!(
        ChunkHeader::decode(&with(&c, |b| set16(b, 6, 1))),
        Err(CodecError::NonZeroFlags { .. })
    ));
    assert!(chunk_rule(&with(&c, |b| set32(b, 24, 0))).contains("chunk_count"));
    assert!(chunk_rule(&with(&c, |b| set32(b, 20, 2))).contains("chunk_index"));
    assert!(chunk_rule(&with(&c, |b| set32(b, 28, 0))).contains("chunk_payload_len"));
    assert!(chunk_rule(&with(&c, |b| set32(b, 16, 0))).contains("total_message_len"));
}

#[test]
fn chunk_continuation_rules() {
    let want = chunk();
    assert!(want.check_continuation(&want, 60).is_ok());
    let cases = [
        (
            ChunkHeader {
                message_id: 8,
                ..want
            },
            60,
            "message_id",
        ),
        (
            ChunkHeader {
                chunk_index: 2,
                chunk_count: 3,
                ..want
            },
            60,
            "chunk_index",
        ),
        (
            ChunkHeader {
                chunk_count: 3,
                ..want
            },
            60,
            "chunk_count",
        ),
        (
            ChunkHeader {
                total_message_len: 133,
                ..want
            },
            60,
            "total_message_len",
        ),
        (want, 59, "bytes received"),
        (
            ChunkHeader {
                chunk_payload_len: 59,
                ..want
            },
            59,
            "budget",
        ),
    ];
    for (got, received, word) in cases {
        match got.check_continuation(&want, received) {
            Err(CodecError::BadChunk { rule }) => assert!(rule.contains(word), "{rule} / {word}"),
            other => panic!("{word}: {other:?}"),
        }
    }
}

#[test]
fn chunk_plan_rules() {
    assert!(ChunkPlan::new(32, 10).is_err());
    assert!(ChunkPlan::new(0, 10).is_err());
    let p = ChunkPlan::new(33, 3).unwrap();
    assert_eq!((p.count, p.range(2)), (3, 2..3));
    assert_eq!(ChunkPlan::new(64, 32).unwrap().count, 1);
    assert_eq!(ChunkPlan::new(64, 33).unwrap().count, 2);
    assert_eq!(ChunkPlan::new(64, 0).unwrap().count, 1);
    assert!(
        ChunkPlan::new(64, u32::MAX as usize).is_err(),
        "32 + payload must fit u32"
    );
}

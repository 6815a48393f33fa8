//! One test per rejection rule: take a valid message, break one rule, and
//! check that the decoder (or builder) refuses it with the error that names it.

use netipc_codec::lookup::*;
use netipc_codec::*;

fn set16(b: &mut [u8], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_ne_bytes());
}
fn set32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_ne_bytes());
}
fn set64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_ne_bytes());
}
fn with(base: &[u8], f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut v = base.to_vec();
    f(&mut v);
    v
}

// ---------------------------------------------------------------- header

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

// ---------------------------------------------------------------- chunks

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

// ---------------------------------------------------------------- handshake

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

// ---------------------------------------------------------------- test methods

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

// ---------------------------------------------------------------- batch

fn batch() -> Vec<u8> {
    let mut out = Vec::new();
    let mut b = BatchBuilder::new(&mut out, 8, 4096);
    b.add(&[1, 2, 3]).unwrap();
    b.add(&[4; 8]).unwrap();
    let (len, _) = b.finish();
    out.truncate(len);
    out
}

#[test]
fn batch_rules() {
    let p = batch();
    assert_eq!(p.len(), 16 + 8 + 8);
    assert!(BatchView::decode(&p, 2).is_ok());
    assert!(matches!(
        BatchView::decode(&p, 5),
        Err(CodecError::DirectoryTooLarge { count: 5, .. })
    ));
    assert!(matches!(
        BatchView::decode(&p, u32::MAX),
        Err(CodecError::DirectoryTooLarge { .. })
    ));
    assert!(matches!(
        BatchView::decode(&with(&p, |b| set32(b, 8, 4)), 2),
        Err(CodecError::UnalignedItem { index: 1, offset: 4 })
    ));
    assert!(matches!(
        BatchView::decode(&with(&p, |b| set32(b, 12, 9)), 2),
        Err(CodecError::ItemOutOfBounds { index: 1 })
    ));
    assert!(matches!(
        BatchView::decode(&with(&p, |b| set32(b, 8, u32::MAX - 7)), 2),
        Err(CodecError::ItemOutOfBounds { index: 1 })
    ));
    // Dirty padding is accepted: reference senders do not zero it.
    assert!(BatchView::decode(&with(&p, |b| b[19] = 0xEE), 2).is_ok());
    let v = BatchView::decode(&p, 2).unwrap();
    assert!(matches!(
        v.item(2),
        Err(CodecError::IndexOutOfRange { index: 2, count: 2 })
    ));
}

#[test]
fn batch_builder_limits() {
    let mut out = Vec::new();
    let mut b = BatchBuilder::new(&mut out, 1, 4096);
    b.add(&[1]).unwrap();
    assert_eq!(b.add(&[2]), Err(CodecError::TooManyItems { limit: 1 }));
    let mut b = BatchBuilder::new(&mut out, 4, 24);
    b.add(&[1; 8]).unwrap();
    // A second 8-byte item needs 2×8 of directory + 16 of items = 32 > 24.
    assert_eq!(
        b.add(&[2; 8]),
        Err(CodecError::LimitExceeded { need: 32, limit: 24 })
    );
}

#[test]
fn batch_builder_run_limits() {
    let mut out = Vec::new();
    let mut b = BatchBuilder::new(&mut out, 4, 4096);
    assert!(matches!(b.add_run(2, 12), Err(CodecError::InvalidInput(_))));
    b.add(&[1]).unwrap();
    assert_eq!(b.add_run(4, 8), Err(CodecError::TooManyItems { limit: 4 }));
    // Three 8-byte items after the first need 4×8 of directory + 4×8 of
    // items = 64 > 56: none is added.
    let mut b = BatchBuilder::new(&mut out, 4, 56);
    b.add(&[1]).unwrap();
    assert_eq!(
        b.add_run(3, 8),
        Err(CodecError::LimitExceeded { need: 64, limit: 56 })
    );
    assert_eq!(b.count(), 1);
    b.add_run(2, 8).unwrap().fill(7);
    let (len, count) = b.finish();
    assert_eq!((len, count), (48, 3));
}

#[test]
fn batch_builder_zeroes_reused_padding() {
    let mut out = vec![0xEE; 64];
    let mut b = BatchBuilder::new(&mut out, 2, 4096);
    b.add(&[1, 2, 3]).unwrap();
    let (len, _) = b.finish();
    assert_eq!(&out[..len], &[0, 0, 0, 0, 3, 0, 0, 0, 1, 2, 3, 0, 0, 0, 0, 0]);
}

// ---------------------------------------------------------------- snapshot

#[test]
fn cgroups_request_rules() {
    let r = encode_cgroups_request();
    assert!(CgroupsRequestView::decode(&r).is_ok());
    assert!(matches!(
        CgroupsRequestView::decode(&r[..3]),
        Err(CodecError::Truncated { .. })
    ));
    assert!(matches!(
        CgroupsRequestView::decode(&[1, 0, 0, 0, 0]),
        Err(CodecError::BadLength { .. })
    ));
    assert!(matches!(
        CgroupsRequestView::decode(&[2, 0, 0, 0]),
        Err(CodecError::BadLayoutVersion { .. })
    ));
    assert!(matches!(
        CgroupsRequestView::decode(&[1, 0, 1, 0]),
        Err(CodecError::NonZeroFlags { .. })
    ));
}

/// Two items: "ab"/"/x" (len 32+3+3 = 38) at 0 and "c"/"" (len 35) at 40.
/// Header 0..24, directory 24..40, packed area from 40.
fn snapshot() -> Vec<u8> {
    let mut out = Vec::new();
    let mut b = CgroupsBuilder::new(&mut out, 4096);
    b.set_header(1, 5);
    b.add(1, 2, 3, b"ab", b"/x").unwrap();
    b.add(4, 5, 6, b"c", b"").unwrap();
    let n = b.finish();
    out.truncate(n);
    out
}

const SNAP_ITEM0: usize = 40;

#[test]
fn snapshot_header_rules() {
    let s = snapshot();
    assert!(CgroupsResponseView::decode(&s).is_ok());
    assert!(matches!(
        CgroupsResponseView::decode(&s[..23]),
        Err(CodecError::Truncated { .. })
    ));
    assert!(matches!(
        CgroupsResponseView::decode(&with(&s, |b| set16(b, 0, 2))),
        Err(CodecError::BadLayoutVersion { .. })
    ));
    assert!(matches!(
        CgroupsResponseView::decode(&with(&s, |b| set16(b, 2, 1))),
        Err(CodecError::NonZeroFlags { .. })
    ));
    assert!(matches!(
        CgroupsResponseView::decode(&with(&s, |b| set32(b, 12, 1))),
        Err(CodecError::NonZeroReserved { .. })
    ));
    assert!(matches!(
        CgroupsResponseView::decode(&with(&s, |b| set32(b, 4, 100))),
        Err(CodecError::DirectoryTooLarge { .. })
    ));
    assert!(matches!(
        CgroupsResponseView::decode(&with(&s, |b| set32(b, 4, u32::MAX))),
        Err(CodecError::DirectoryTooLarge { .. })
    ));
}

#[test]
fn snapshot_directory_rules() {
    let s = snapshot();
    let dec = |b: &[u8]| CgroupsResponseView::decode(b).map(|_| ());
    assert!(matches!(
        dec(&with(&s, |b| set32(b, 32, 44))),
        Err(CodecError::UnalignedItem { index: 1, .. })
    ));
    assert!(matches!(
        dec(&with(&s, |b| set32(b, 36, 36))),
        Err(CodecError::ItemOutOfBounds { index: 1 })
    ));
    assert!(matches!(
        dec(&with(&s, |b| set32(b, 28, 31))),
        Err(CodecError::BadItemLength {
            index: 0,
            len: 31,
            min: 32,
            ..
        })
    ));
    // Two entries aliasing the same item.
    assert!(matches!(
        dec(&with(&s, |b| set32(b, 32, 0))),
        Err(CodecError::ItemOverlap { index: 1 })
    ));
    assert!(matches!(
        dec(&with(&s, |b| b.extend_from_slice(&[0; 16]))),
        Err(CodecError::TrailingBytes { extra: 16 })
    ));
    // An empty snapshot is the header alone.
    let mut out = Vec::new();
    let n = CgroupsBuilder::new(&mut out, 100).finish();
    assert_eq!(n, 24);
    assert!(matches!(
        dec(&[&out[..], &[0; 8]].concat()),
        Err(CodecError::TrailingBytes { extra: 8 })
    ));
}

#[test]
fn snapshot_item_rules() {
    let s = snapshot();
    let i = SNAP_ITEM0;
    let dec = |b: &[u8]| CgroupsResponseView::decode(b).map(|_| ());
    assert!(matches!(
        dec(&with(&s, |b| set16(b, i, 2))),
        Err(CodecError::BadLayoutVersion { .. })
    ));
    assert!(matches!(
        dec(&with(&s, |b| set16(b, i + 2, 1))),
        Err(CodecError::NonZeroFlags { .. })
    ));
    assert!(matches!(
        dec(&with(&s, |b| set32(b, i + 16, 31))),
        Err(CodecError::StringInHeader { field: "name" })
    ));
    assert!(matches!(
        dec(&with(&s, |b| set32(b, i + 24, 8))),
        Err(CodecError::StringInHeader { field: "path" })
    ));
    assert!(matches!(
        dec(&with(&s, |b| set32(b, i + 20, 6))),
        Err(CodecError::StringOutOfBounds { field: "name" })
    ));
    assert!(matches!(
        dec(&with(&s, |b| set32(b, i + 28, u32::MAX))),
        Err(CodecError::StringOutOfBounds { field: "path" })
    ));
    assert!(matches!(
        dec(&with(&s, |b| b[i + 34] = b'!')),
        Err(CodecError::MissingNul { field: "name" })
    ));
    assert!(matches!(
        dec(&with(&s, |b| b[i + 37] = b'!')),
        Err(CodecError::MissingNul { field: "path" })
    ));
    // The path pointed at the name's bytes: "ab\0" shares its NUL with "b".
    assert!(matches!(
        dec(&with(&s, |b| {
            set32(b, i + 24, 33);
            set32(b, i + 28, 1);
        })),
        Err(CodecError::StringOverlap { .. })
    ));
    // Two empty strings cannot share one NUL.
    let i1 = SNAP_ITEM0 + 40;
    assert!(matches!(
        dec(&with(&s, |b| {
            set32(b, i1 + 20, 0);
            set32(b, i1 + 24, 32);
            b[i1 + 32] = 0;
        })),
        Err(CodecError::StringOverlap { .. })
    ));
}

#[test]
fn snapshot_builder_rules() {
    let mut out = Vec::new();
    let mut b = CgroupsBuilder::new(&mut out, 24 + 8 + 41);
    assert!(matches!(
        b.add(1, 0, 0, b"a\0b", b""),
        Err(CodecError::InteriorNul { field: "name" })
    ));
    assert!(matches!(
        b.add(1, 0, 0, b"", b"/\0"),
        Err(CodecError::InteriorNul { field: "path" })
    ));
    b.add(1, 0, 0, b"abc", b"/abc").unwrap();
    assert!(matches!(
        b.add(1, 0, 0, b"", b""),
        Err(CodecError::LimitExceeded { .. })
    ));
    assert_eq!(b.count(), 1);
}

// ---------------------------------------------------------------- lookup requests

/// Keys "/a" (3 bytes at 0) and "/bcd" (5 bytes at 8); packed area from 32.
fn cg_request() -> Vec<u8> {
    let mut out = Vec::new();
    let mut b = CgroupsLookupRequestBuilder::new(&mut out, 4096);
    b.add(b"/a").unwrap();
    b.add(b"/bcd").unwrap();
    let n = b.finish();
    out.truncate(n);
    out
}

#[test]
fn cgroups_lookup_request_rules() {
    let r = cg_request();
    assert_eq!(r.len(), 32 + 8 + 5);
    let dec = |b: &[u8]| CgroupsLookupRequestView::decode(b).map(|_| ());
    assert!(dec(&r).is_ok());
    assert!(matches!(dec(&r[..15]), Err(CodecError::Truncated { .. })));
    assert!(matches!(
        dec(&with(&r, |b| set16(b, 0, 0))),
        Err(CodecError::BadLayoutVersion { .. })
    ));
    assert!(matches!(
        dec(&with(&r, |b| set16(b, 2, 8))),
        Err(CodecError::NonZeroFlags { .. })
    ));
    assert!(matches!(
        dec(&with(&r, |b| set32(b, 8, 1))),
        Err(CodecError::NonZeroReserved { .. })
    ));
    assert!(matches!(
        dec(&with(&r, |b| set32(b, 12, 1))),
        Err(CodecError::NonZeroReserved { .. })
    ));
    assert!(matches!(
        dec(&with(&r, |b| set32(b, 4, u32::MAX))),
        Err(CodecError::DirectoryTooLarge { .. })
    ));
    assert!(matches!(
        dec(&with(&r, |b| set32(b, 24, 4))),
        Err(CodecError::UnalignedItem { index: 1, .. })
    ));
    assert!(matches!(
        dec(&with(&r, |b| set32(b, 20, 1))),
        Err(CodecError::BadItemLength {
            index: 0,
            len: 1,
            min: 2,
            ..
        })
    ));
    assert!(matches!(
        dec(&with(&r, |b| set32(b, 28, 6))),
        Err(CodecError::ItemOutOfBounds { index: 1 })
    ));
    assert!(matches!(
        dec(&with(&r, |b| set32(b, 24, 0))),
        Err(CodecError::ItemOverlap { index: 1 })
    ));
    assert!(matches!(
        dec(&with(&r, |b| b[34] = b'x')),
        Err(CodecError::MissingNul { .. })
    ));
    assert!(matches!(
        dec(&with(&r, |b| b[41] = 0)),
        Err(CodecError::InteriorNul { .. })
    ));
    assert!(matches!(
        dec(&with(&r, |b| b.push(0))),
        Err(CodecError::TrailingBytes { extra: 1 })
    ));
}

#[test]
fn cgroups_lookup_request_builder_rules() {
    let mut out = Vec::new();
    let mut b = CgroupsLookupRequestBuilder::new(&mut out, 16 + 8 + 3);
    assert!(matches!(b.add(b""), Err(CodecError::InvalidInput(_))));
    assert!(matches!(b.add(b"/a\0"), Err(CodecError::InteriorNul { .. })));
    assert!(b.fits(b"/a"));
    b.add(b"/a").unwrap();
    assert!(!b.fits(b"/"));
    assert!(matches!(b.add(b"/"), Err(CodecError::LimitExceeded { .. })));
}

fn apps_request() -> Vec<u8> {
    let mut out = Vec::new();
    let mut b = AppsLookupRequestBuilder::new(&mut out, 4096);
    b.add(10).unwrap();
    b.add(20).unwrap();
    let n = b.finish();
    out.truncate(n);
    out
}

#[test]
fn apps_lookup_request_rules() {
    let r = apps_request();
    let dec = |b: &[u8]| AppsLookupRequestView::decode(b).map(|_| ());
    assert!(dec(&r).is_ok());
    assert!(matches!(
        dec(&with(&r, |b| set32(b, 20, 9))),
        Err(CodecError::BadItemLength {
            index: 0,
            len: 9,
            exact: true,
            ..
        })
    ));
    assert!(matches!(
        dec(&with(&r, |b| set32(b, 20, 7))),
        Err(CodecError::BadItemLength { exact: true, .. })
    ));
    assert!(matches!(
        dec(&with(&r, |b| set32(b, 24, 4))),
        Err(CodecError::UnalignedItem { .. })
    ));
    assert!(matches!(
        dec(&with(&r, |b| {
            set32(b, 16, 8);
            set32(b, 24, 0);
        })),
        Err(CodecError::ItemOverlap { index: 1 })
    ));
    assert!(matches!(
        dec(&with(&r, |b| set32(b, 36, 1))),
        Err(CodecError::NonZeroReserved { .. })
    ));
    assert!(matches!(
        dec(&with(&r, |b| set32(b, 8, 1))),
        Err(CodecError::NonZeroReserved { .. })
    ));
    assert!(matches!(
        dec(&with(&r, |b| b.extend_from_slice(&[0; 8]))),
        Err(CodecError::TrailingBytes { .. })
    ));
    assert!(matches!(
        dec(&r[..39]),
        Err(CodecError::ItemOutOfBounds { index: 0 })
    ));
}

// ---------------------------------------------------------------- lookup responses

/// One KNOWN cgroups item at payload 24: path "/p" @28, name "nm" @31,
/// fixed end 34, table @40 (6 padding bytes), one label "k"="v" at 56..60.
fn cg_response() -> Vec<u8> {
    let labels: [LabelInput<'_>; 1] = [(b"k", b"v")];
    let mut out = Vec::new();
    let mut b = CgroupsLookupResponseBuilder::new(&mut out, 3, 4096);
    b.add(&CgroupsLookupEntry::known(
        b"/p",
        Orchestrator::DOCKER,
        b"nm",
        &labels,
    ))
    .unwrap();
    let n = b.finish();
    out.truncate(n);
    out
}

const CG_ITEM: usize = 24;

#[test]
fn cgroups_lookup_response_item_rules() {
    let r = cg_response();
    let i = CG_ITEM;
    assert_eq!(r.len(), i + 60);
    let dec = |b: &[u8]| CgroupsLookupResponseView::decode(b).map(|_| ());
    assert!(dec(&r).is_ok());
    assert!(matches!(
        dec(&with(&r, |b| set32(b, 20, 27))),
        Err(CodecError::BadItemLength { min: 28, .. })
    ));
    assert!(matches!(
        dec(&with(&r, |b| set16(b, 0, 3))),
        Err(CodecError::BadLayoutVersion { .. })
    ));
    assert!(matches!(
        dec(&with(&r, |b| set16(b, 2, 1))),
        Err(CodecError::NonZeroFlags { .. })
    ));
    assert!(matches!(
        dec(&with(&r, |b| set16(b, i, 2))),
        Err(CodecError::BadLayoutVersion { .. })
    ));
    assert!(matches!(
        dec(&with(&r, |b| set16(b, i + 2, 5))),
        Err(CodecError::UnknownStatus { value: 5, .. })
    ));
    assert!(matches!(
        dec(&with(&r, |b| set16(b, i + 6, 1))),
        Err(CodecError::NonZeroReserved { .. })
    ));
    assert!(matches!(
        dec(&with(&r, |b| set16(b, i + 26, 1))),
        Err(CodecError::NonZeroReserved { .. })
    ));
    // Status rules: a non-KNOWN item carries no orchestrator, name or labels.
    for status in [1u16, 2, 3, 4] {
        assert!(matches!(
            dec(&with(&r, |b| set16(b, i + 2, status))),
            Err(CodecError::StatusRule { .. })
        ));
    }
    assert!(
        matches!(
            dec(&with(&r, |b| set32(b, i + 12, 0))),
            Err(CodecError::StatusRule { .. })
        ),
        "empty path"
    );
    assert!(matches!(
        dec(&with(&r, |b| set32(b, i + 8, 20))),
        Err(CodecError::StringInHeader { .. })
    ));
    assert!(matches!(
        dec(&with(&r, |b| set32(b, i + 20, 100))),
        Err(CodecError::StringOutOfBounds { .. })
    ));
    assert!(matches!(
        dec(&with(&r, |b| b[i + 30] = b'x')),
        Err(CodecError::MissingNul { field: "path" })
    ));
    assert!(matches!(
        dec(&with(&r, |b| b[i + 29] = 0)),
        Err(CodecError::InteriorNul { field: "path" })
    ));
    assert!(matches!(
        dec(&with(&r, |b| {
            set32(b, i + 16, 28);
            set32(b, i + 20, 2);
        })),
        Err(CodecError::StringOverlap { .. })
    ));
}

#[test]
fn cgroups_lookup_response_label_rules() {
    let r = cg_response();
    let i = CG_ITEM;
    let t = i + 40; // label table
    let dec = |b: &[u8]| CgroupsLookupResponseView::decode(b).map(|_| ());
    assert!(matches!(
        dec(&with(&r, |b| b[i + 36] = 1)),
        Err(CodecError::NonZeroPadding)
    ));
    assert!(matches!(
        dec(&with(&r, |b| set32(b, t + 4, 0))),
        Err(CodecError::EmptyLabelKey { index: 0 })
    ));
    assert!(matches!(
        dec(&with(&r, |b| set32(b, t, 57))),
        Err(CodecError::LabelNotContiguous { index: 0 })
    ));
    assert!(matches!(
        dec(&with(&r, |b| set32(b, t + 8, 59))),
        Err(CodecError::LabelNotContiguous { index: 0 })
    ));
    assert!(matches!(
        dec(&with(&r, |b| b[i + 57] = b'x')),
        Err(CodecError::MissingNul { field: "label key" })
    ));
    assert!(matches!(
        dec(&with(&r, |b| set32(b, t + 12, 9))),
        Err(CodecError::StringOutOfBounds { .. })
    ));
    assert!(matches!(
        dec(&with(&r, |b| set16(b, i + 24, 9))),
        Err(CodecError::BadLabelTable { .. })
    ));
    // One byte more after the last label, counted in the item.
    assert!(matches!(
        dec(&with(&r, |b| {
            set32(b, 20, 61);
            b.push(0);
        })),
        Err(CodecError::TrailingBytes { extra: 1 })
    ));
    // With no labels, the item must end at the name's NUL.
    assert!(matches!(
        dec(&with(&r, |b| set16(b, i + 24, 0))),
        Err(CodecError::TrailingBytes { .. })
    ));
    // The table at a non-canonical offset (here: 8 bytes later) is refused.
    let mut shifted = r.clone();
    shifted.splice(t..t, [0u8; 8]);
    set32(&mut shifted, 20, 68);
    assert!(dec(&shifted).is_err());
}

#[test]
fn cgroups_lookup_response_builder_rules() {
    let mut out = Vec::new();
    let mut b = CgroupsLookupResponseBuilder::new(&mut out, 0, 4096);
    let add = |b: &mut CgroupsLookupResponseBuilder<'_>, e| b.add(&e);
    let label: [LabelInput<'_>; 1] = [(b"", b"v")];
    assert!(matches!(
        add(
            &mut b,
            CgroupsLookupEntry::known(b"", Orchestrator::K8S, b"", &[])
        ),
        Err(CodecError::StatusRule { .. })
    ));
    assert!(matches!(
        add(
            &mut b,
            CgroupsLookupEntry::known(b"/a", Orchestrator::K8S, b"", &label)
        ),
        Err(CodecError::InvalidInput(_))
    ));
    let mut e = CgroupsLookupEntry::unknown(b"/a", CgroupsLookupStatus::UnknownPermanent);
    e.name = b"x";
    assert!(matches!(add(&mut b, e), Err(CodecError::StatusRule { .. })));
    e.name = b"";
    e.orchestrator = Orchestrator::DOCKER;
    assert!(matches!(add(&mut b, e), Err(CodecError::StatusRule { .. })));
    assert!(matches!(
        add(
            &mut b,
            CgroupsLookupEntry::known(b"/a", Orchestrator::K8S, b"n\0", &[])
        ),
        Err(CodecError::InteriorNul { .. })
    ));
    assert_eq!(b.count(), 0);
}

/// One KNOWN apps item at payload 24: comm "sh" @60, path "/c" @63, name
/// "n" @66, fixed end 68, table @72, label "a"="b" at 88..92.
fn apps_response() -> Vec<u8> {
    let labels: [LabelInput<'_>; 1] = [(b"a", b"b")];
    let e = AppsLookupEntry {
        pid: 42,
        status: AppsLookupStatus::Known,
        cgroup_status: CgroupStatus::Known,
        orchestrator: Orchestrator::DOCKER,
        ppid: 1,
        uid: 1000,
        starttime: 5,
        comm: b"sh",
        cgroup_path: b"/c",
        cgroup_name: b"n",
        labels: &labels,
    };
    let mut out = Vec::new();
    let mut b = AppsLookupResponseBuilder::new(&mut out, 9, 4096);
    b.add(&e).unwrap();
    let n = b.finish();
    out.truncate(n);
    out
}

#[test]
fn apps_lookup_response_rules() {
    let r = apps_response();
    let i = CG_ITEM;
    assert_eq!(r.len(), i + 92);
    let dec = |b: &[u8]| AppsLookupResponseView::decode(b).map(|_| ());
    assert!(dec(&r).is_ok());
    assert!(matches!(
        dec(&with(&r, |b| set32(b, 20, 59))),
        Err(CodecError::BadItemLength { min: 60, .. })
    ));
    assert!(matches!(
        dec(&with(&r, |b| set16(b, i + 2, 4))),
        Err(CodecError::UnknownStatus { value: 4, .. })
    ));
    assert!(matches!(
        dec(&with(&r, |b| set16(b, i + 6, 4))),
        Err(CodecError::UnknownStatus { value: 4, .. })
    ));
    assert!(matches!(
        dec(&with(&r, |b| set32(b, i + 20, 1))),
        Err(CodecError::NonZeroReserved { .. })
    ));
    assert!(matches!(
        dec(&with(&r, |b| set16(b, i + 58, 1))),
        Err(CodecError::NonZeroReserved { .. })
    ));
    assert!(matches!(
        dec(&with(&r, |b| set32(b, i + 36, 16))),
        Err(CodecError::CommTooLong(16))
    ));
    assert!(matches!(
        dec(&with(&r, |b| set32(b, i + 32, 59))),
        Err(CodecError::StringInHeader { field: "comm" })
    ));
    assert!(matches!(
        dec(&with(&r, |b| b[i + 61] = 0)),
        Err(CodecError::InteriorNul { field: "comm" })
    ));
    assert!(matches!(
        dec(&with(&r, |b| {
            set32(b, i + 48, 63);
            set32(b, i + 52, 2);
        })),
        Err(CodecError::StringOverlap { .. })
    ));
    assert!(matches!(
        dec(&with(&r, |b| b[i + 68] = 1)),
        Err(CodecError::NonZeroPadding)
    ));
    // KNOWN PID: comm required; KNOWN cgroup: path required.
    assert!(matches!(
        dec(&with(&r, |b| set32(b, i + 36, 0))),
        Err(CodecError::StatusRule { .. })
    ));
    assert!(matches!(
        dec(&with(&r, |b| set32(b, i + 44, 0))),
        Err(CodecError::StatusRule { .. })
    ));
    // Cgroup statuses other than KNOWN forbid orchestrator, name and labels.
    for cs in [1u16, 2, 3] {
        assert!(
            matches!(
                dec(&with(&r, |b| set16(b, i + 6, cs))),
                Err(CodecError::StatusRule { .. })
            ),
            "cgroup status {cs}"
        );
    }
    // A non-KNOWN PID forbids everything but the PID.
    for st in [1u16, 2, 3] {
        assert!(
            matches!(
                dec(&with(&r, |b| set16(b, i + 2, st))),
                Err(CodecError::StatusRule { .. })
            ),
            "status {st}"
        );
    }
}

#[test]
fn apps_lookup_not_known_rules() {
    let mut out = Vec::new();
    let mut b = AppsLookupResponseBuilder::new(&mut out, 0, 4096);
    b.add(&AppsLookupEntry::not_known(7, AppsLookupStatus::Unknown))
        .unwrap();
    let n = b.finish();
    let r = out[..n].to_vec();
    let i = CG_ITEM;
    let dec = |b: &[u8]| AppsLookupResponseView::decode(b).map(|_| ());
    assert!(dec(&r).is_ok());
    for (off, what) in [(i + 12, "ppid"), (i + 24, "starttime")] {
        assert!(
            matches!(
                dec(&with(&r, |b| set32(b, off, 1))),
                Err(CodecError::StatusRule { .. })
            ),
            "{what}"
        );
    }
    assert!(
        matches!(
            dec(&with(&r, |b| set32(b, i + 16, 0))),
            Err(CodecError::StatusRule { .. })
        ),
        "uid"
    );
    assert!(matches!(
        dec(&with(&r, |b| set64(b, i + 24, 9))),
        Err(CodecError::StatusRule { .. })
    ));
    assert!(matches!(
        dec(&with(&r, |b| set16(b, i + 6, 3))),
        Err(CodecError::StatusRule { .. })
    ));
    assert!(matches!(
        dec(&with(&r, |b| set16(b, i + 4, 2))),
        Err(CodecError::StatusRule { .. })
    ));
}

#[test]
fn apps_lookup_builder_rules() {
    let mut out = Vec::new();
    let mut b = AppsLookupResponseBuilder::new(&mut out, 0, 4096);
    let mut e = AppsLookupEntry::not_known(1, AppsLookupStatus::Known);
    e.comm = b"0123456789abcdef";
    e.cgroup_status = CgroupStatus::HostRoot;
    assert_eq!(b.add(&e), Err(CodecError::CommTooLong(16)));
    e.comm = b"ok";
    b.add(&e).unwrap();
    e.cgroup_path = b"/x";
    assert!(
        matches!(b.add(&e), Err(CodecError::StatusRule { .. })),
        "HOST_ROOT has no path"
    );
    e.cgroup_status = CgroupStatus::UnknownPermanent;
    b.add(&e).unwrap();
    e.cgroup_name = b"n";
    assert!(matches!(b.add(&e), Err(CodecError::StatusRule { .. })));
    let mut u = AppsLookupEntry::not_known(1, AppsLookupStatus::Unknown);
    u.uid = 0;
    assert!(matches!(b.add(&u), Err(CodecError::StatusRule { .. })));
    assert_eq!(b.count(), 2);
}

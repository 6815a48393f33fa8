//! Rejection rules of the cgroups snapshot request and response.

use super::*;

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

//! Rejection rules of the cgroups-lookup and apps-lookup requests.

use super::*;

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

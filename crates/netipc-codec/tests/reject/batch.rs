//! Rejection rules of batch directories and the batch builder.

use super::*;

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

//! Rejection rules of the cgroups-lookup and apps-lookup responses.

use super::*;

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

//! Request-aware lookup responders: PAYLOAD_EXCEEDED suffixes and
//! OVERSIZED_ITEM outcomes.

use netipc_codec::CodecError;
use netipc_codec::lookup::*;

fn cg_request(paths: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut b = CgroupsLookupRequestBuilder::new(&mut out, usize::MAX);
    for p in paths {
        b.add(p).unwrap();
    }
    let n = b.finish();
    out.truncate(n);
    out
}

fn statuses(payload: &[u8]) -> Vec<CgroupsLookupStatus> {
    CgroupsLookupResponseView::decode(payload)
        .unwrap()
        .iter()
        .map(|i| i.status)
        .collect()
}

#[test]
fn everything_fits() {
    let req = cg_request(&[b"/a", b"/b", b"/c"]);
    let view = CgroupsLookupRequestView::decode(&req).unwrap();
    let mut out = Vec::new();
    let mut r = CgroupsLookupResponder::new(&mut out, view, 3, 65536).unwrap();
    while let Some(p) = r.next_key() {
        let name = p.as_bytes().to_vec();
        assert_eq!(
            r.known(Orchestrator::DOCKER, &name, &[]).unwrap(),
            Placed::Answered
        );
    }
    let n = r.finish().unwrap();
    let v = CgroupsLookupResponseView::decode(&out[..n]).unwrap();
    assert_eq!(v.generation, 3);
    assert_eq!(
        v.iter().map(|i| i.name.as_bytes().to_vec()).collect::<Vec<_>>(),
        [b"/a", b"/b", b"/c"]
    );
}

#[test]
fn the_unfit_suffix_is_payload_exceeded() {
    let paths: Vec<Vec<u8>> = (0..20).map(|i| format!("/cg/{i:05}").into_bytes()).collect();
    let refs: Vec<&[u8]> = paths.iter().map(|p| &p[..]).collect();
    let req = cg_request(&refs);
    let view = CgroupsLookupRequestView::decode(&req).unwrap();
    let big_name = vec![b'n'; 100];
    let mut out = Vec::new();
    // Room for the directory, all stubs, and a few full answers.
    let mut r = CgroupsLookupResponder::new(&mut out, view, 1, 16 + 20 * 8 + 20 * 48 + 300).unwrap();
    let mut placed = Vec::new();
    while r.next_key().is_some() {
        placed.push(r.known(Orchestrator::K8S, &big_name, &[]).unwrap());
    }
    let n = r.finish().unwrap();
    let st = statuses(&out[..n]);
    let answered = st
        .iter()
        .take_while(|s| **s == CgroupsLookupStatus::Known)
        .count();
    assert!((1..20).contains(&answered), "{answered} answered");
    assert!(
        st[answered..]
            .iter()
            .all(|s| *s == CgroupsLookupStatus::PayloadExceeded)
    );
    assert_eq!(placed.last(), Some(&Placed::PayloadExceeded));
    assert!(n <= 16 + 20 * 8 + 20 * 48 + 300);
    // Echoed paths, in order.
    let v = CgroupsLookupResponseView::decode(&out[..n]).unwrap();
    for (item, p) in v.iter().zip(&paths) {
        assert_eq!(item.path.as_bytes(), &p[..]);
    }
}

#[test]
fn a_first_item_that_cannot_fit_is_oversized_and_later_items_succeed() {
    let req = cg_request(&[b"/huge", b"/small"]);
    let view = CgroupsLookupRequestView::decode(&req).unwrap();
    let mut out = Vec::new();
    let mut r = CgroupsLookupResponder::new(&mut out, view, 1, 200).unwrap();
    let huge = vec![b'x'; 500];
    assert_eq!(r.known(Orchestrator::K8S, &huge, &[]).unwrap(), Placed::Oversized);
    assert_eq!(r.known(Orchestrator::K8S, b"ok", &[]).unwrap(), Placed::Answered);
    let n = r.finish().unwrap();
    assert_eq!(
        statuses(&out[..n]),
        [CgroupsLookupStatus::OversizedItem, CgroupsLookupStatus::Known]
    );
}

#[test]
fn responder_errors() {
    let req = cg_request(&[b"/a", b"/b"]);
    let view = CgroupsLookupRequestView::decode(&req).unwrap();
    let mut out = Vec::new();
    assert!(matches!(
        CgroupsLookupResponder::new(&mut out, view, 1, 40),
        Err(CodecError::LimitExceeded { .. })
    ));
    let mut r = CgroupsLookupResponder::new(&mut out, view, 1, 4096).unwrap();
    r.not_known(CgroupsLookupStatus::UnknownRetryLater).unwrap();
    assert!(
        matches!(r.finish(), Err(CodecError::InvalidInput(_))),
        "a key left unanswered"
    );

    let mut req = Vec::new();
    let mut b = AppsLookupRequestBuilder::new(&mut req, usize::MAX);
    b.add(10).unwrap();
    b.add(11).unwrap();
    let n = b.finish();
    let view = AppsLookupRequestView::decode(&req[..n]).unwrap();
    let mut out = Vec::new();
    let mut r = AppsLookupResponder::new(&mut out, view, 1, 4096).unwrap();
    assert_eq!(r.next_key(), Some(10));
    assert!(matches!(
        r.answer(&AppsLookupEntry::not_known(11, AppsLookupStatus::Unknown)),
        Err(CodecError::InvalidInput(_))
    ));
    r.not_known(AppsLookupStatus::Unknown).unwrap();
    r.not_known(AppsLookupStatus::Unknown).unwrap();
    assert_eq!(r.next_key(), None);
    let n = r.finish().unwrap();
    let v = AppsLookupResponseView::decode(&out[..n]).unwrap();
    assert_eq!(v.iter().map(|i| i.pid).collect::<Vec<_>>(), [10, 11]);
}

#[test]
fn apps_payload_exceeded_suffix() {
    let mut req = Vec::new();
    let mut b = AppsLookupRequestBuilder::new(&mut req, usize::MAX);
    for pid in 0..50 {
        b.add(pid).unwrap();
    }
    let n = b.finish();
    let view = AppsLookupRequestView::decode(&req[..n]).unwrap();
    let mut out = Vec::new();
    let limit = 16 + 50 * 8 + 50 * 64 + 500;
    let mut r = AppsLookupResponder::new(&mut out, view, 1, limit).unwrap();
    while let Some(pid) = r.next_key() {
        let e = AppsLookupEntry {
            pid,
            status: AppsLookupStatus::Known,
            cgroup_status: CgroupStatus::Known,
            orchestrator: Orchestrator::DOCKER,
            ppid: 1,
            uid: 0,
            starttime: 0,
            comm: b"ok",
            cgroup_path: b"/a/very/long/cgroup/path/for/this/test",
            cgroup_name: b"name",
            labels: &[],
        };
        r.answer(&e).unwrap();
    }
    let n = r.finish().unwrap();
    assert!(n <= limit);
    let v = AppsLookupResponseView::decode(&out[..n]).unwrap();
    let st: Vec<_> = v.iter().map(|i| i.status).collect();
    let k = st.iter().take_while(|s| **s == AppsLookupStatus::Known).count();
    assert!(k > 0 && k < 50);
    assert!(st[k..].iter().all(|s| *s == AppsLookupStatus::PayloadExceeded));
}

/// Once the budget has run out, every answer, KNOWN or not, is taken as
/// PAYLOAD_EXCEEDED (the rest is marked already), not refused.
#[test]
fn answers_after_the_budget_ran_out_are_payload_exceeded() {
    let mut req = Vec::new();
    let mut b = AppsLookupRequestBuilder::new(&mut req, usize::MAX);
    b.add_all(&[1, 2, 3]).unwrap();
    let n = b.finish();
    let view = AppsLookupRequestView::decode(&req[..n]).unwrap();
    let mut out = Vec::new();
    // Room for the first answer (65 bytes, 72 aligned) beside the two
    // stubs (63, 64 aligned), not for a second answer.
    let mut r = AppsLookupResponder::new(&mut out, view, 1, 16 + 3 * 8 + 72 + 2 * 64 + 4).unwrap();
    let known = |pid| AppsLookupEntry {
        pid,
        status: AppsLookupStatus::Known,
        cgroup_status: CgroupStatus::HostRoot,
        orchestrator: Orchestrator::UNKNOWN,
        ppid: 1,
        uid: 0,
        starttime: 0,
        comm: b"ok",
        cgroup_path: b"",
        cgroup_name: b"",
        labels: &[],
    };
    assert_eq!(r.answer(&known(1)), Ok(Placed::Answered));
    assert_eq!(r.answer(&known(2)), Ok(Placed::PayloadExceeded));
    assert_eq!(r.next_key(), None);
    assert_eq!(
        r.not_known(AppsLookupStatus::Unknown),
        Ok(Placed::PayloadExceeded)
    );
    assert_eq!(r.answer(&known(3)), Ok(Placed::PayloadExceeded));
    let n = r.finish().unwrap();
    let v = AppsLookupResponseView::decode(&out[..n]).unwrap();
    let st: Vec<_> = v.iter().map(|i| (i.pid, i.status)).collect();
    assert_eq!(
        st,
        [
            (1, AppsLookupStatus::Known),
            (2, AppsLookupStatus::PayloadExceeded),
            (3, AppsLookupStatus::PayloadExceeded)
        ]
    );

    let req = cg_request(&[b"/a", b"/b"]);
    let view = CgroupsLookupRequestView::decode(&req).unwrap();
    let mut r = CgroupsLookupResponder::new(&mut out, view, 1, 16 + 2 * 8 + 2 * 40 + 8).unwrap();
    let labels: [LabelInput<'_>; 1] = [(b"k", b"a fairly long label value")];
    assert_eq!(
        r.known(Orchestrator::K8S, b"a-name-that-does-not-fit", &labels),
        Ok(Placed::Oversized)
    );
    assert_eq!(
        r.known(Orchestrator::K8S, b"a-name-that-does-not-fit", &labels),
        Ok(Placed::PayloadExceeded)
    );
    assert_eq!(
        r.not_known(CgroupsLookupStatus::UnknownPermanent),
        Ok(Placed::PayloadExceeded)
    );
    let n = r.finish().unwrap();
    let v = CgroupsLookupResponseView::decode(&out[..n]).unwrap();
    let st: Vec<_> = v.iter().map(|i| i.status).collect();
    assert_eq!(
        st,
        [
            CgroupsLookupStatus::OversizedItem,
            CgroupsLookupStatus::PayloadExceeded
        ]
    );
}

#[test]
fn stitching_by_item_bytes() {
    let mut a = Vec::new();
    let mut b = CgroupsLookupResponseBuilder::new(&mut a, 4, 4096);
    let labels: [LabelInput<'_>; 1] = [(b"k", b"v")];
    b.add(&CgroupsLookupEntry::known(
        b"/x",
        Orchestrator::K8S,
        b"n",
        &labels,
    ))
    .unwrap();
    let n = b.finish();
    let first = CgroupsLookupResponseView::decode(&a[..n]).unwrap();
    let mut out = Vec::new();
    let mut s = CgroupsLookupResponseBuilder::new(&mut out, 4, 4096);
    s.add_item_bytes(first.item(0).unwrap().as_bytes()).unwrap();
    s.add_item_bytes(first.item(0).unwrap().as_bytes()).unwrap();
    assert!(s.add_item_bytes(&[0u8; 30]).is_err());
    let n = s.finish();
    assert_eq!(
        CgroupsLookupResponseView::decode(&out[..n]).unwrap().item_count,
        2
    );
}

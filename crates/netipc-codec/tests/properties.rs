//! Property tests: every message type round-trips, and no decoder panics on
//! arbitrary bytes or on valid messages with bytes flipped.

use netipc_codec::lookup::*;
use netipc_codec::*;
use proptest::prelude::*;

/// At least 10,000 cases per property; `PROPTEST_CASES` may ask for more.
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: netipc_test_support::proptest_cases(10_000),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn text(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(1u8..=255, 0..max)
}

fn nonempty_text(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(1u8..=255, 1..max)
}

fn labels() -> impl Strategy<Value = Vec<(Vec<u8>, Vec<u8>)>> {
    prop::collection::vec((nonempty_text(12), text(12)), 0..4)
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![Just(Kind::Request), Just(Kind::Response), Just(Kind::Control)]
}

#[derive(Debug, Clone)]
struct CgEntry {
    status: CgroupsLookupStatus,
    orchestrator: u16,
    path: Vec<u8>,
    name: Vec<u8>,
    labels: Vec<(Vec<u8>, Vec<u8>)>,
}

fn cg_entry() -> impl Strategy<Value = CgEntry> {
    let known = (any::<u16>(), nonempty_text(40), text(20), labels()).prop_map(|(o, p, n, l)| CgEntry {
        status: CgroupsLookupStatus::Known,
        orchestrator: o,
        path: p,
        name: n,
        labels: l,
    });
    let other = (1u16..=4, nonempty_text(40)).prop_map(|(s, p)| CgEntry {
        status: CgroupsLookupStatus::try_from(s).unwrap(),
        orchestrator: 0,
        path: p,
        name: Vec::new(),
        labels: Vec::new(),
    });
    prop_oneof![known, other]
}

#[derive(Debug, Clone)]
struct AppEntry {
    pid: u32,
    known: bool,
    status: u16,
    cgroup_status: CgroupStatus,
    orchestrator: u16,
    ppid: u32,
    uid: u32,
    starttime: u64,
    comm: Vec<u8>,
    path: Vec<u8>,
    name: Vec<u8>,
    labels: Vec<(Vec<u8>, Vec<u8>)>,
}

/// A KNOWN apps item: the only kind with strings.
fn known_app_entry() -> impl Strategy<Value = AppEntry> {
    (
        any::<u32>(),
        0u16..4,
        any::<u16>(),
        (any::<u32>(), any::<u32>(), any::<u64>()),
        nonempty_text(16),
        nonempty_text(30),
        text(20),
        labels(),
    )
        .prop_map(|(pid, cs, orch, (ppid, uid, st), comm, path, name, labels)| {
            let cgroup_status = CgroupStatus::try_from(cs).unwrap();
            let full = cgroup_status == CgroupStatus::Known;
            let has_path = !matches!(cgroup_status, CgroupStatus::HostRoot);
            AppEntry {
                pid,
                known: true,
                status: 0,
                cgroup_status,
                orchestrator: if full { orch } else { 0 },
                ppid,
                uid,
                starttime: st,
                comm,
                path: if has_path { path } else { Vec::new() },
                name: if full { name } else { Vec::new() },
                labels: if full { labels } else { Vec::new() },
            }
        })
}

/// A KNOWN apps item or one with another status.
fn app_entry() -> impl Strategy<Value = AppEntry> {
    let other = (any::<u32>(), 1u16..4).prop_map(|(pid, s)| AppEntry {
        pid,
        known: false,
        status: s,
        cgroup_status: CgroupStatus::Known,
        orchestrator: 0,
        ppid: 0,
        uid: UID_UNSET,
        starttime: 0,
        comm: Vec::new(),
        path: Vec::new(),
        name: Vec::new(),
        labels: Vec::new(),
    });
    prop_oneof![known_app_entry(), other]
}

fn label_refs(l: &[(Vec<u8>, Vec<u8>)]) -> Vec<LabelInput<'_>> {
    l.iter().map(|(k, v)| (&k[..], &v[..])).collect()
}

/// Calls `f` with `e` as builder input.
fn with_cg_entry<R>(e: &CgEntry, f: impl FnOnce(&CgroupsLookupEntry<'_>) -> R) -> R {
    let l = label_refs(&e.labels);
    f(&CgroupsLookupEntry {
        status: e.status,
        orchestrator: Orchestrator(e.orchestrator),
        path: &e.path,
        name: &e.name,
        labels: &l,
    })
}

/// Calls `f` with `e` as builder input.
fn with_app_entry<R>(e: &AppEntry, f: impl FnOnce(&AppsLookupEntry<'_>) -> R) -> R {
    let l = label_refs(&e.labels);
    f(&AppsLookupEntry {
        pid: e.pid,
        status: AppsLookupStatus::try_from(e.status).unwrap(),
        cgroup_status: e.cgroup_status,
        orchestrator: Orchestrator(e.orchestrator),
        ppid: e.ppid,
        uid: e.uid,
        starttime: e.starttime,
        comm: &e.comm,
        cgroup_path: &e.path,
        cgroup_name: &e.name,
        labels: &l,
    })
}

fn build_cg_response(generation: u64, entries: &[CgEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut b = CgroupsLookupResponseBuilder::new(&mut out, generation, usize::MAX);
    for e in entries {
        with_cg_entry(e, |e| b.add(e)).unwrap();
    }
    let n = b.finish();
    out.truncate(n);
    out
}

fn build_app_response(generation: u64, entries: &[AppEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut b = AppsLookupResponseBuilder::new(&mut out, generation, usize::MAX);
    for e in entries {
        with_app_entry(e, |e| b.add(e)).unwrap();
    }
    let n = b.finish();
    out.truncate(n);
    out
}

/// The strings of an entry, key and value of each label included.
fn strings_of<'e>(fixed: [&'e mut Vec<u8>; 3], labels: &'e mut [(Vec<u8>, Vec<u8>)]) -> Vec<&'e mut Vec<u8>> {
    let mut all: Vec<&mut Vec<u8>> = fixed.into_iter().collect();
    for (k, v) in labels.iter_mut() {
        all.push(k);
        all.push(v);
    }
    all.retain(|s| !s.is_empty());
    all
}

/// Runs every decoder of the crate over `b`; none may panic.
fn decode_everything(b: &[u8]) {
    let _ = Header::decode(b);
    let _ = ChunkHeader::decode(b);
    let _ = Hello::decode(b);
    let _ = HelloAck::decode(b);
    let _ = increment::decode(b);
    let _ = string_reverse::decode(b).map(|s| s.len());
    let _ = CgroupsRequestView::decode(b);
    if let Ok(v) = CgroupsResponseView::decode(b) {
        v.iter()
            .for_each(|i| assert!(i.name.len() + i.path.len() <= b.len()));
        let _ = v.to_owned();
    }
    if let Ok(v) = CgroupsLookupRequestView::decode(b) {
        assert_eq!(v.iter().count(), v.item_count as usize);
    }
    if let Ok(v) = AppsLookupRequestView::decode(b) {
        assert_eq!(v.iter().count(), v.item_count as usize);
    }
    if let Ok(v) = CgroupsLookupResponseView::decode(b) {
        v.iter().for_each(|i| {
            let _ = i.to_owned();
        });
    }
    if let Ok(v) = AppsLookupResponseView::decode(b) {
        v.iter().for_each(|i| {
            let _ = i.to_owned();
        });
    }
    for count in [0, 1, 2, 3, u32::MAX] {
        if let Ok(v) = BatchView::decode(b, count) {
            assert_eq!(v.iter().count(), count as usize);
        }
    }
}

fn flip(mut v: Vec<u8>, flips: &[(usize, u8)]) -> Vec<u8> {
    if !v.is_empty() {
        for &(at, x) in flips {
            let i = at % v.len();
            v[i] ^= x;
        }
    }
    v
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn header_roundtrip(kind in kind(), flags: u16, code: u16, st: u16, pl: u32, ic: u32, id: u64) {
        let h = Header { kind, flags, code, transport_status: st, payload_len: pl, item_count: ic, message_id: id };
        prop_assert_eq!(Header::decode(&h.encode()).unwrap(), h);
    }

    #[test]
    fn chunk_roundtrip(id: u64, total in 1u32.., count in 1u32.., idx: u32, len in 1u32..) {
        let c = ChunkHeader { message_id: id, total_message_len: total, chunk_index: idx % count, chunk_count: count, chunk_payload_len: len };
        prop_assert_eq!(ChunkHeader::decode(&c.encode()).unwrap(), c);
    }

    #[test]
    fn chunk_plan_covers_payload(packet in 33usize..5000, len in 0usize..100_000) {
        let p = ChunkPlan::new(packet, len).unwrap();
        let mut next = 0;
        for i in 0..p.count {
            let r = p.range(i);
            prop_assert_eq!(r.start, next);
            prop_assert!(r.len() <= p.budget);
            prop_assert!(i == 0 || !r.is_empty());
            next = r.end;
        }
        prop_assert_eq!(next, len);
    }

    #[test]
    fn hello_roundtrip(v: [u32; 7], token: u64) {
        let h = Hello { supported_profiles: v[0], preferred_profiles: v[1], max_request_payload_bytes: v[2],
            max_request_batch_items: v[3], max_response_payload_bytes: v[4], max_response_batch_items: v[5],
            auth_token: token, packet_size: v[6] };
        prop_assert_eq!(Hello::decode(&h.encode()).unwrap(), h);
    }

    #[test]
    fn hello_ack_roundtrip(v: [u32; 8], sid: u64) {
        let a = HelloAck { server_supported_profiles: v[0], intersection_profiles: v[1], selected_profile: v[2],
            agreed_max_request_payload_bytes: v[3], agreed_max_request_batch_items: v[4],
            agreed_max_response_payload_bytes: v[5], agreed_max_response_batch_items: v[6],
            agreed_packet_size: v[7], session_id: sid };
        prop_assert_eq!(HelloAck::decode(&a.encode()).unwrap(), a);
    }

    #[test]
    fn increment_roundtrip(v: u64) {
        prop_assert_eq!(increment::decode(&increment::encode(v)).unwrap(), v);
    }

    #[test]
    fn string_reverse_roundtrip(s in prop::collection::vec(any::<u8>(), 0..300)) {
        let mut out = Vec::new();
        string_reverse::encode(&s, &mut out).unwrap();
        prop_assert_eq!(string_reverse::decode(&out).unwrap().as_bytes(), &s[..]);
        // Wrapping the bare string in place gives the same bytes.
        let mut wrapped = s.clone();
        prop_assert_eq!(string_reverse::wrap_in_place(&mut wrapped).unwrap(), out.len());
        prop_assert_eq!(wrapped, out);
    }

    #[test]
    fn batch_roundtrip(items in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..20)) {
        let mut out = vec![0xEE; 17];
        let mut b = BatchBuilder::new(&mut out, 20, usize::MAX);
        for it in &items { b.add(it).unwrap(); }
        let (len, count) = b.finish();
        prop_assert_eq!(len % 8, 0);
        let v = BatchView::decode(&out[..len], count).unwrap();
        prop_assert_eq!(v.iter().map(<[u8]>::to_vec).collect::<Vec<_>>(), items);
    }

    /// Runs of fixed-size items, between single items, give the bytes that
    /// adding each item alone gives.
    #[test]
    fn batch_runs_match_single_items(
        parts in prop::collection::vec((any::<bool>(), 0u32..6, 0usize..3, any::<u8>()), 0..8),
    ) {
        let (mut by_run, mut by_item) = (vec![0xEE; 9], Vec::new());
        let mut r = BatchBuilder::new(&mut by_run, 64, usize::MAX);
        let mut one = BatchBuilder::new(&mut by_item, 64, usize::MAX);
        for &(run, n, words, fill) in &parts {
            let item = vec![fill; words * 8 + usize::from(!run)];
            if run {
                r.add_run(n, item.len()).unwrap().fill(fill);
                for _ in 0..n { one.add(&item).unwrap(); }
            } else {
                r.add(&item).unwrap();
                one.add(&item).unwrap();
            }
        }
        let (a, b) = (r.finish(), one.finish());
        prop_assert_eq!(a, b);
        prop_assert_eq!(&by_run[..a.0], &by_item[..b.0]);
    }

    #[test]
    fn snapshot_roundtrip(sys: u32, generation: u64,
        items in prop::collection::vec((any::<u32>(), any::<u32>(), any::<u32>(), text(40), text(60)), 0..40)) {
        let snap = CgroupsSnapshot {
            systemd_enabled: sys,
            generation,
            items: items.iter().map(|(h, o, e, n, p)| CgroupsItem {
                hash: *h, options: *o, enabled: *e, name: n.clone().into(), path: p.clone().into(),
            }).collect(),
        };
        let mut out = Vec::new();
        let len = snap.encode(&mut out, usize::MAX).unwrap();
        let v = CgroupsResponseView::decode(&out[..len]).unwrap();
        prop_assert_eq!(v.to_owned(), snap);
    }

    #[test]
    fn cgroups_lookup_request_roundtrip(paths in prop::collection::vec(nonempty_text(50), 0..30)) {
        let mut out = Vec::new();
        let mut b = CgroupsLookupRequestBuilder::new(&mut out, usize::MAX);
        for p in &paths { b.add(p).unwrap(); }
        let n = b.finish();
        let v = CgroupsLookupRequestView::decode(&out[..n]).unwrap();
        prop_assert_eq!(v.iter().map(|s| s.as_bytes().to_vec()).collect::<Vec<_>>(), paths);
    }

    #[test]
    fn apps_lookup_request_roundtrip(pids in prop::collection::vec(any::<u32>(), 0..100)) {
        let mut out = Vec::new();
        let mut b = AppsLookupRequestBuilder::new(&mut out, usize::MAX);
        for &p in &pids { b.add(p).unwrap(); }
        let n = b.finish();
        let v = AppsLookupRequestView::decode(&out[..n]).unwrap();
        prop_assert_eq!(v.iter().collect::<Vec<_>>(), pids);
    }

    /// Keys added in bulk (after any number added one by one, with any
    /// directory hint) give the bytes of the same keys added one by one;
    /// a bulk add that does not fit adds nothing.
    #[test]
    fn apps_lookup_request_bulk_add_matches_single_adds(
        single in prop::collection::vec(any::<u32>(), 0..20),
        bulk in prop::collection::vec(any::<u32>(), 0..100),
        hint in 0usize..40,
        room in 0usize..2000,
    ) {
        let mut one_by_one = Vec::new();
        let mut b = AppsLookupRequestBuilder::new(&mut one_by_one, usize::MAX);
        for &p in single.iter().chain(&bulk) { b.add(p).unwrap(); }
        let n = b.finish();
        let mut dirty = vec![0xa5; 64];
        let mut b = AppsLookupRequestBuilder::with_capacity(&mut dirty, usize::MAX, hint);
        for &p in &single { b.add(p).unwrap(); }
        b.add_all(&bulk).unwrap();
        let m = b.finish();
        prop_assert_eq!(&dirty[..m], &one_by_one[..n]);

        // Under a budget: all or nothing.
        let limit = 16 + single.len() * 16 + room;
        let mut out = Vec::new();
        let mut b = AppsLookupRequestBuilder::new(&mut out, limit);
        for &p in &single { b.add(p).unwrap(); }
        let fits = 16 + (single.len() + bulk.len()) * 16 <= limit;
        prop_assert_eq!(b.add_all(&bulk).is_ok(), fits);
        let expect: Vec<u32> = if fits { single.iter().chain(&bulk).copied().collect() } else { single.clone() };
        let k = b.finish();
        let v = AppsLookupRequestView::decode(&out[..k]).unwrap();
        prop_assert_eq!(v.iter().collect::<Vec<_>>(), expect);

        // `max_keys` keys fit a budget, one more does not.
        let most = AppsLookupRequestBuilder::max_keys(limit);
        let mut b = AppsLookupRequestBuilder::new(&mut out, limit);
        prop_assert!(b.add_all(&vec![1; most]).is_ok());
        prop_assert!(!b.fits());
    }

    #[test]
    fn cgroups_lookup_response_roundtrip(generation: u64, entries in prop::collection::vec(cg_entry(), 0..20)) {
        let bytes = build_cg_response(generation, &entries);
        let v = CgroupsLookupResponseView::decode(&bytes).unwrap();
        prop_assert_eq!(v.generation, generation);
        prop_assert_eq!(v.item_count as usize, entries.len());
        for (it, e) in v.iter().zip(&entries) {
            prop_assert_eq!(it.status, e.status);
            prop_assert_eq!(it.orchestrator.0, e.orchestrator);
            prop_assert_eq!(it.path.as_bytes(), &e.path[..]);
            prop_assert_eq!(it.name.as_bytes(), &e.name[..]);
            let got: Vec<_> = it.labels().map(|l| (l.key.as_bytes().to_vec(), l.value.as_bytes().to_vec())).collect();
            prop_assert_eq!(&got, &e.labels);
        }
    }

    /// A builder refuses an item with a NUL inside any string with the
    /// exact check's error, and the response is as if the item had never
    /// been given.
    #[test]
    fn a_nul_in_a_cgroups_item_string_is_refused_and_taken_back(
        generation: u64,
        entries in prop::collection::vec(cg_entry(), 1..8),
        at: prop::sample::Index,
        which: prop::sample::Index,
        pos: prop::sample::Index,
    ) {
        let i = at.index(entries.len());
        let mut bad = entries[i].clone();
        let mut unused = Vec::new();
        let mut strings = strings_of([&mut bad.path, &mut bad.name, &mut unused], &mut bad.labels);
        let n = strings.len();
        let s = &mut strings[which.index(n)];
        let p = pos.index(s.len());
        s[p] = 0;
        let want = with_cg_entry(&bad, |e| e.wire_len()).unwrap_err();
        let mut out = Vec::new();
        let mut b = CgroupsLookupResponseBuilder::new(&mut out, generation, usize::MAX);
        for (j, e) in entries.iter().enumerate() {
            if j == i {
                prop_assert_eq!(with_cg_entry(&bad, |e| b.add(e)), Err(want));
            }
            with_cg_entry(e, |e| b.add(e)).unwrap();
        }
        let len = b.finish();
        prop_assert_eq!(&out[..len], &build_cg_response(generation, &entries)[..]);
    }

    /// The same for apps items.
    #[test]
    fn a_nul_in_an_apps_item_string_is_refused_and_taken_back(
        generation: u64,
        entries in prop::collection::vec(app_entry(), 1..8),
        bad in known_app_entry(),
        at: prop::sample::Index,
        which: prop::sample::Index,
        pos: prop::sample::Index,
    ) {
        let i = at.index(entries.len() + 1);
        let mut bad = bad;
        let mut strings = strings_of([&mut bad.comm, &mut bad.path, &mut bad.name], &mut bad.labels);
        let n = strings.len();
        let s = &mut strings[which.index(n)];
        let p = pos.index(s.len());
        s[p] = 0;
        let want = with_app_entry(&bad, |e| e.wire_len()).unwrap_err();
        let mut out = Vec::new();
        let mut b = AppsLookupResponseBuilder::new(&mut out, generation, usize::MAX);
        for j in 0..=entries.len() {
            if j == i {
                prop_assert_eq!(with_app_entry(&bad, |e| b.add(e)), Err(want));
            }
            if let Some(e) = entries.get(j) {
                with_app_entry(e, |e| b.add(e)).unwrap();
            }
        }
        let len = b.finish();
        prop_assert_eq!(&out[..len], &build_app_response(generation, &entries)[..]);
    }

    #[test]
    fn apps_lookup_response_roundtrip(generation: u64, entries in prop::collection::vec(app_entry(), 0..20)) {
        let bytes = build_app_response(generation, &entries);
        let v = AppsLookupResponseView::decode(&bytes).unwrap();
        prop_assert_eq!(v.item_count as usize, entries.len());
        for (it, e) in v.iter().zip(&entries) {
            prop_assert_eq!(it.pid, e.pid);
            prop_assert_eq!(it.status as u16, e.status);
            prop_assert_eq!(e.known, it.status == AppsLookupStatus::Known);
            prop_assert_eq!(it.cgroup_status, e.cgroup_status);
            prop_assert_eq!((it.orchestrator.0, it.ppid, it.uid, it.starttime), (e.orchestrator, e.ppid, e.uid, e.starttime));
            prop_assert_eq!(it.comm.as_bytes(), &e.comm[..]);
            prop_assert_eq!(it.cgroup_path.as_bytes(), &e.path[..]);
            prop_assert_eq!(it.cgroup_name.as_bytes(), &e.name[..]);
            prop_assert_eq!(it.labels().count(), e.labels.len());
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(b in prop::collection::vec(any::<u8>(), 0..512)) {
        decode_everything(&b);
    }

    #[test]
    fn mutated_snapshot_never_panics(items in prop::collection::vec((any::<u32>(), text(10), text(10)), 0..6),
        flips in prop::collection::vec((any::<usize>(), 1u8..), 1..4), cut: usize) {
        let mut out = Vec::new();
        let mut b = CgroupsBuilder::new(&mut out, usize::MAX);
        for (h, n, p) in &items { b.add(*h, 0, 1, n, p).unwrap(); }
        let n = b.finish();
        let mut m = flip(out[..n].to_vec(), &flips);
        m.truncate(m.len() - cut % (m.len() / 2 + 1));
        decode_everything(&m);
    }

    #[test]
    fn mutated_lookups_never_panic(cg in prop::collection::vec(cg_entry(), 0..5), apps in prop::collection::vec(app_entry(), 0..5),
        flips in prop::collection::vec((any::<usize>(), 1u8..), 1..4)) {
        decode_everything(&flip(build_cg_response(1, &cg), &flips));
        decode_everything(&flip(build_app_response(1, &apps), &flips));
    }

    #[test]
    fn mutated_requests_and_batches_never_panic(paths in prop::collection::vec(nonempty_text(20), 0..6),
        flips in prop::collection::vec((any::<usize>(), 1u8..), 1..4)) {
        let mut out = Vec::new();
        let mut b = CgroupsLookupRequestBuilder::new(&mut out, usize::MAX);
        for p in &paths { b.add(p).unwrap(); }
        let n = b.finish();
        decode_everything(&flip(out[..n].to_vec(), &flips));
        let mut out = Vec::new();
        let mut b = BatchBuilder::new(&mut out, 8, usize::MAX);
        for p in &paths { b.add(p).unwrap(); }
        let (n, _) = b.finish();
        decode_everything(&flip(out[..n].to_vec(), &flips));
    }
}

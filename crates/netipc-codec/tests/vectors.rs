//! Golden wire vectors produced by the reference implementation.
//!
//! Each test decodes one file, asserts every field the vectors manifest
//! lists, then encodes the same logical message and compares bytes.
//!
//! The vectors live in `tests/vectors/` of this crate (`MANIFEST.md` there
//! says where they come from), so every clone checks them. `NETIPC_VECTORS`
//! may name another copy; a relative path is taken from the workspace root,
//! where `cargo test` is run (cargo starts test binaries in the crate's own
//! directory). A file that is missing, or whose SHA-256 differs from the
//! one `SHA256SUMS` lists for it, fails its test: nothing is skipped.
#![cfg(target_endian = "little")]

use netipc_codec::lookup::*;
use netipc_codec::*;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The vectors' directory: `NETIPC_VECTORS`, else the copy in this crate.
fn dir() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    match std::env::var_os("NETIPC_VECTORS") {
        Some(d) => manifest.join("../..").join(d),
        None => manifest.join("tests/vectors"),
    }
}

/// `SHA256SUMS` of the vectors' directory, as file name to hex digest.
fn checksums() -> &'static HashMap<String, String> {
    static SUMS: OnceLock<HashMap<String, String>> = OnceLock::new();
    SUMS.get_or_init(|| {
        let path = dir().join("SHA256SUMS");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("checksum list {} missing: {e}", path.display()));
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| match l.split_whitespace().collect::<Vec<_>>()[..] {
                [sum, name] => (name.to_string(), sum.to_ascii_lowercase()),
                _ => panic!("malformed line in {}: {l:?}", path.display()),
            })
            .collect()
    })
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads a vector file. A missing file fails the test, and so does a
/// `.bin` file whose checksum is not the listed one.
fn load(name: &str) -> Vec<u8> {
    read_checked(&dir(), checksums(), name).unwrap_or_else(|e| panic!("{e}"))
}

/// Reads `name` from `dir` and checks a `.bin` file against `sums`.
fn read_checked(dir: &Path, sums: &HashMap<String, String>, name: &str) -> Result<Vec<u8>, String> {
    let path = dir.join(name);
    let bytes = std::fs::read(&path).map_err(|e| format!("vector {} missing: {e}", path.display()))?;
    if name.ends_with(".bin") {
        let want = sums
            .get(name)
            .ok_or_else(|| format!("vector {name} is not listed in SHA256SUMS"))?;
        if &sha256_hex(&bytes) != want {
            return Err(format!("vector {} differs from its checksum", path.display()));
        }
    }
    Ok(bytes)
}

#[test]
fn header() {
    let bytes = load("header.bin");
    let h = Header::decode(&bytes).unwrap();
    let want = Header {
        kind: Kind::Request,
        flags: FLAG_BATCH,
        code: METHOD_CGROUPS_SNAPSHOT,
        transport_status: STATUS_OK,
        payload_len: 12345,
        item_count: 42,
        message_id: 0xDEAD_BEEF_CAFE_BABE,
    };
    assert_eq!(h, want);
    assert_eq!(&want.encode()[..], &bytes[..]);
}

#[test]
fn chunk_header() {
    let bytes = load("chunk_header.bin");
    let want = ChunkHeader {
        message_id: 0x1234_5678_90AB_CDEF,
        total_message_len: 100_000,
        chunk_index: 3,
        chunk_count: 10,
        chunk_payload_len: 8192,
    };
    assert_eq!(ChunkHeader::decode(&bytes).unwrap(), want);
    assert_eq!(&want.encode()[..], &bytes[..]);
}

#[test]
fn hello() {
    let bytes = load("hello.bin");
    let want = Hello {
        supported_profiles: PROFILE_BASELINE | PROFILE_SHM_FUTEX,
        preferred_profiles: PROFILE_SHM_FUTEX,
        max_request_payload_bytes: 4096,
        max_request_batch_items: 100,
        max_response_payload_bytes: 1_048_576,
        max_response_batch_items: 1,
        auth_token: 0xAABB_CCDD_EEFF_0011,
        packet_size: 65536,
    };
    assert_eq!(Hello::decode(&bytes).unwrap(), want);
    assert_eq!(&want.encode()[..], &bytes[..]);
}

#[test]
fn hello_ack() {
    let bytes = load("hello_ack.bin");
    let want = HelloAck {
        server_supported_profiles: 7,
        intersection_profiles: 5,
        selected_profile: 4,
        agreed_max_request_payload_bytes: 2048,
        agreed_max_request_batch_items: 50,
        agreed_max_response_payload_bytes: 65536,
        agreed_max_response_batch_items: 1,
        agreed_packet_size: 32768,
        session_id: 1,
    };
    assert_eq!(HelloAck::decode(&bytes).unwrap(), want);
    assert_eq!(&want.encode()[..], &bytes[..]);
}

#[test]
fn cgroups_req() {
    let bytes = load("cgroups_req.bin");
    assert_eq!(CgroupsRequestView::decode(&bytes).unwrap().layout_version, 1);
    assert_eq!(&encode_cgroups_request()[..], &bytes[..]);
}

type SnapItem<'a> = (u32, u32, u32, &'a [u8], &'a [u8]);

fn check_snapshot(bytes: &[u8], systemd: u32, generation: u64, items: &[SnapItem<'_>]) {
    let v = CgroupsResponseView::decode(bytes).unwrap();
    assert_eq!(v.item_count as usize, items.len());
    assert_eq!(v.systemd_enabled, systemd);
    assert_eq!(v.generation, generation);
    for (i, (hash, options, enabled, name, path)) in items.iter().enumerate() {
        let it = v.item(i as u32).unwrap();
        assert_eq!(
            (it.hash, it.options, it.enabled),
            (*hash, *options, *enabled),
            "item {i}"
        );
        assert_eq!(it.name.as_bytes(), *name, "item {i} name");
        assert_eq!(it.path.as_bytes(), *path, "item {i} path");
    }
    let mut out = Vec::new();
    let mut b = CgroupsBuilder::new(&mut out, usize::MAX);
    b.set_header(systemd, generation);
    for (hash, options, enabled, name, path) in items {
        b.add(*hash, *options, *enabled, name, path).unwrap();
    }
    let n = b.finish();
    assert_eq!(&out[..n], bytes);
    // The owned copy encodes to the same bytes too.
    let owned = v.to_owned();
    let mut again = Vec::new();
    owned.encode(&mut again, usize::MAX).unwrap();
    assert_eq!(&again[..], bytes);
}

#[test]
fn cgroups_resp() {
    let bytes = load("cgroups_resp.bin");
    assert_eq!(bytes.len(), 266);
    check_snapshot(
        &bytes,
        1,
        999,
        &[
            (100, 0, 1, b"init.scope", b"/sys/fs/cgroup/init.scope"),
            (
                200,
                2,
                0,
                b"system.slice/docker-abc.scope",
                b"/sys/fs/cgroup/system.slice/docker-abc.scope",
            ),
            (300, 0, 1, b"", b""),
        ],
    );
}

#[test]
fn cgroups_resp_empty() {
    let bytes = load("cgroups_resp_empty.bin");
    check_snapshot(&bytes, 0, 42, &[]);
}

fn unhex(s: &str) -> Vec<u8> {
    if s == "-" {
        return Vec::new();
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

type CorpusRow = (u32, u32, u32, Vec<u8>, Vec<u8>);

#[test]
fn cgroups_snapshot_corpus() {
    let bytes = load("extra/cgroups_snapshot_corpus.bin");
    let list = String::from_utf8(load("extra/cgroups_snapshot_corpus.items.txt")).unwrap();
    let rows: Vec<CorpusRow> = list
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 5, "corpus line {l:?}");
            (
                f[0].parse().unwrap(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
                unhex(f[3]),
                unhex(f[4]),
            )
        })
        .collect();
    assert_eq!(rows.len(), 21);
    // The manifest: hashes are djb2 of the name.
    for r in &rows {
        let djb2 =
            r.3.iter()
                .fold(5381u32, |h, &b| h.wrapping_mul(33).wrapping_add(b as u32));
        assert_eq!(r.0, djb2);
    }
    assert_eq!(rows[20].4.len(), 300);
    let items: Vec<SnapItem<'_>> = rows.iter().map(|r| (r.0, r.1, r.2, &r.3[..], &r.4[..])).collect();
    check_snapshot(&bytes, 1, 0x1_0000_0002, &items);
}

fn check_cgroups_lookup_req(bytes: &[u8], paths: &[&[u8]]) {
    let v = CgroupsLookupRequestView::decode(bytes).unwrap();
    assert_eq!(v.item_count as usize, paths.len());
    for (i, p) in paths.iter().enumerate() {
        assert_eq!(v.path(i as u32).unwrap().as_bytes(), *p);
    }
    let mut out = Vec::new();
    let mut b = CgroupsLookupRequestBuilder::new(&mut out, usize::MAX);
    for p in paths {
        b.add(p).unwrap();
    }
    let n = b.finish();
    assert_eq!(&out[..n], bytes);
}

#[test]
fn cgroups_lookup_req() {
    let bytes = load("cgroups_lookup_req.bin");
    check_cgroups_lookup_req(&bytes, &[b"/sys/fs/cgroup/a", b"/system.slice/docker-abc.scope"]);
}

#[test]
fn cgroups_lookup_req_empty() {
    let bytes = load("cgroups_lookup_req_empty.bin");
    check_cgroups_lookup_req(&bytes, &[]);
}

fn check_cgroups_lookup_resp(bytes: &[u8], generation: u64, entries: &[CgroupsLookupEntry<'_>]) {
    let v = CgroupsLookupResponseView::decode(bytes).unwrap();
    assert_eq!(v.generation, generation);
    assert_eq!(v.item_count as usize, entries.len());
    for (i, e) in entries.iter().enumerate() {
        let it = v.item(i as u32).unwrap();
        assert_eq!(it.status, e.status);
        assert_eq!(it.orchestrator, e.orchestrator);
        assert_eq!(it.path.as_bytes(), e.path);
        assert_eq!(it.name.as_bytes(), e.name);
        assert_eq!(it.label_count as usize, e.labels.len());
        let got: Vec<(&[u8], &[u8])> = it
            .labels()
            .map(|l| (l.key.as_bytes(), l.value.as_bytes()))
            .collect();
        assert_eq!(got, e.labels);
    }
    let mut out = Vec::new();
    let mut b = CgroupsLookupResponseBuilder::new(&mut out, generation, usize::MAX);
    for e in entries {
        b.add(e).unwrap();
    }
    let n = b.finish();
    assert_eq!(&out[..n], bytes);
}

#[test]
fn cgroups_lookup_resp_known_with_labels() {
    let bytes = load("cgroups_lookup_resp_known_with_labels.bin");
    assert_eq!(bytes.len(), 138);
    let labels: [LabelInput<'_>; 2] = [(b"namespace", b"default"), (b"pod", b"web")];
    check_cgroups_lookup_resp(
        &bytes,
        100,
        &[CgroupsLookupEntry::known(
            b"/kubepods.slice/pod-a",
            Orchestrator::K8S,
            b"pod-a",
            &labels,
        )],
    );
}

#[test]
fn cgroups_lookup_resp_known_no_labels() {
    let bytes = load("cgroups_lookup_resp_known_no_labels.bin");
    check_cgroups_lookup_resp(
        &bytes,
        101,
        &[CgroupsLookupEntry::known(
            b"/docker/abc",
            Orchestrator::DOCKER,
            b"",
            &[],
        )],
    );
}

#[test]
fn cgroups_lookup_resp_unknown_retry() {
    let bytes = load("cgroups_lookup_resp_unknown_retry.bin");
    check_cgroups_lookup_resp(
        &bytes,
        102,
        &[CgroupsLookupEntry::unknown(
            b"/missing/retry",
            CgroupsLookupStatus::UnknownRetryLater,
        )],
    );
}

#[test]
fn cgroups_lookup_resp_unknown_permanent() {
    let bytes = load("cgroups_lookup_resp_unknown_permanent.bin");
    check_cgroups_lookup_resp(
        &bytes,
        103,
        &[CgroupsLookupEntry::unknown(
            b"/gone",
            CgroupsLookupStatus::UnknownPermanent,
        )],
    );
}

#[test]
fn cgroups_lookup_resp_payload_exceeded() {
    let bytes = load("cgroups_lookup_resp_payload_exceeded.bin");
    check_cgroups_lookup_resp(
        &bytes,
        104,
        &[CgroupsLookupEntry::unknown(
            b"/payload-exceeded",
            CgroupsLookupStatus::PayloadExceeded,
        )],
    );
}

#[test]
fn cgroups_lookup_resp_oversized_item() {
    let bytes = load("cgroups_lookup_resp_oversized_item.bin");
    check_cgroups_lookup_resp(
        &bytes,
        105,
        &[CgroupsLookupEntry::unknown(
            b"/oversized",
            CgroupsLookupStatus::OversizedItem,
        )],
    );
}

#[test]
fn cgroups_lookup_resp_empty() {
    let bytes = load("cgroups_lookup_resp_empty.bin");
    check_cgroups_lookup_resp(&bytes, 106, &[]);
}

fn check_apps_lookup_req(bytes: &[u8], pids: &[u32]) {
    let v = AppsLookupRequestView::decode(bytes).unwrap();
    assert_eq!(v.iter().collect::<Vec<_>>(), pids);
    let mut out = Vec::new();
    let mut b = AppsLookupRequestBuilder::new(&mut out, usize::MAX);
    for &p in pids {
        b.add(p).unwrap();
    }
    let n = b.finish();
    assert_eq!(&out[..n], bytes);
}

#[test]
fn apps_lookup_req() {
    let bytes = load("apps_lookup_req.bin");
    check_apps_lookup_req(&bytes, &[0, 1234, 4321]);
}

#[test]
fn apps_lookup_req_empty() {
    let bytes = load("apps_lookup_req_empty.bin");
    check_apps_lookup_req(&bytes, &[]);
}

fn check_apps_lookup_resp(bytes: &[u8], generation: u64, entries: &[AppsLookupEntry<'_>]) {
    let v = AppsLookupResponseView::decode(bytes).unwrap();
    assert_eq!(v.generation, generation);
    assert_eq!(v.item_count as usize, entries.len());
    for (i, e) in entries.iter().enumerate() {
        let it = v.item(i as u32).unwrap();
        assert_eq!(it.pid, e.pid);
        assert_eq!(it.status, e.status);
        assert_eq!(it.cgroup_status, e.cgroup_status);
        assert_eq!(it.orchestrator, e.orchestrator);
        assert_eq!((it.ppid, it.uid, it.starttime), (e.ppid, e.uid, e.starttime));
        assert_eq!(it.comm.as_bytes(), e.comm);
        assert_eq!(it.cgroup_path.as_bytes(), e.cgroup_path);
        assert_eq!(it.cgroup_name.as_bytes(), e.cgroup_name);
        let got: Vec<(&[u8], &[u8])> = it
            .labels()
            .map(|l| (l.key.as_bytes(), l.value.as_bytes()))
            .collect();
        assert_eq!(got, e.labels);
    }
    let mut out = Vec::new();
    let mut b = AppsLookupResponseBuilder::new(&mut out, generation, usize::MAX);
    for e in entries {
        b.add(e).unwrap();
    }
    let n = b.finish();
    assert_eq!(&out[..n], bytes);
}

/// A KNOWN PID with ppid 1; the cgroup fields are filled in by the caller.
fn known_app(
    pid: u32,
    cgroup_status: CgroupStatus,
    uid: u32,
    starttime: u64,
    comm: &[u8],
) -> AppsLookupEntry<'_> {
    AppsLookupEntry {
        status: AppsLookupStatus::Known,
        cgroup_status,
        ppid: 1,
        uid,
        starttime,
        comm,
        ..AppsLookupEntry::not_known(pid, AppsLookupStatus::Known)
    }
}

#[test]
fn apps_lookup_resp_known_full() {
    let bytes = load("apps_lookup_resp_known_full.bin");
    assert_eq!(bytes.len(), 191);
    let labels: [LabelInput<'_>; 2] = [(b"image", b"nginx:latest"), (b"service", b"web")];
    let e = AppsLookupEntry {
        orchestrator: Orchestrator::DOCKER,
        cgroup_path: b"/docker/abc",
        cgroup_name: b"container-a",
        labels: &labels,
        ..known_app(1234, CgroupStatus::Known, 1000, 123_456, b"123456789012345")
    };
    check_apps_lookup_resp(&bytes, 200, &[e]);
}

#[test]
fn apps_lookup_resp_known_retry() {
    let bytes = load("apps_lookup_resp_known_retry.bin");
    let e = AppsLookupEntry {
        orchestrator: Orchestrator::UNKNOWN,
        cgroup_path: b"/pending",
        cgroup_name: b"",
        labels: &[],
        ..known_app(1235, CgroupStatus::UnknownRetryLater, 1000, 123_457, b"app")
    };
    check_apps_lookup_resp(&bytes, 201, &[e]);
}

#[test]
fn apps_lookup_resp_known_permanent() {
    let bytes = load("apps_lookup_resp_known_permanent.bin");
    let e = AppsLookupEntry {
        orchestrator: Orchestrator::UNKNOWN,
        cgroup_path: b"/permanent",
        cgroup_name: b"",
        labels: &[],
        ..known_app(1236, CgroupStatus::UnknownPermanent, 1000, 123_458, b"app2")
    };
    check_apps_lookup_resp(&bytes, 202, &[e]);
}

#[test]
fn apps_lookup_resp_known_host_root() {
    let bytes = load("apps_lookup_resp_known_host_root.bin");
    let e = AppsLookupEntry {
        orchestrator: Orchestrator::UNKNOWN,
        cgroup_path: b"",
        cgroup_name: b"",
        labels: &[],
        ..known_app(1237, CgroupStatus::HostRoot, 0, 123_459, b"sshd")
    };
    check_apps_lookup_resp(&bytes, 203, &[e]);
}

#[test]
fn apps_lookup_resp_unknown_pid() {
    let bytes = load("apps_lookup_resp_unknown_pid.bin");
    check_apps_lookup_resp(
        &bytes,
        204,
        &[AppsLookupEntry::not_known(0, AppsLookupStatus::Unknown)],
    );
}

#[test]
fn apps_lookup_resp_payload_exceeded() {
    let bytes = load("apps_lookup_resp_payload_exceeded.bin");
    check_apps_lookup_resp(
        &bytes,
        205,
        &[AppsLookupEntry::not_known(
            1238,
            AppsLookupStatus::PayloadExceeded,
        )],
    );
}

#[test]
fn apps_lookup_resp_oversized_item() {
    let bytes = load("apps_lookup_resp_oversized_item.bin");
    check_apps_lookup_resp(
        &bytes,
        206,
        &[AppsLookupEntry::not_known(1239, AppsLookupStatus::OversizedItem)],
    );
}

#[test]
fn apps_lookup_resp_empty() {
    let bytes = load("apps_lookup_resp_empty.bin");
    check_apps_lookup_resp(&bytes, 207, &[]);
}

/// Decodes an L1 batch packet and rebuilds it from its header and items.
fn check_batch_packet(bytes: &[u8], want: Header, items: &[Vec<u8>]) {
    let h = Header::decode(bytes).unwrap();
    assert_eq!(h, want);
    let payload = &bytes[HEADER_LEN..];
    assert_eq!(payload.len(), h.payload_len as usize);
    let v = BatchView::decode(payload, h.item_count).unwrap();
    assert_eq!(v.iter().map(<[u8]>::to_vec).collect::<Vec<_>>(), items);
    let mut out = Vec::new();
    let mut b = BatchBuilder::new(&mut out, items.len() as u32, usize::MAX);
    for it in items {
        b.add(it).unwrap();
    }
    let (len, count) = b.finish();
    let mut packet = Header {
        payload_len: len as u32,
        item_count: count,
        ..want
    }
    .encode()
    .to_vec();
    packet.extend_from_slice(&out[..len]);
    assert_eq!(packet, bytes);
}

fn batch_header(kind: Kind, code: u16, payload_len: u32, message_id: u64) -> Header {
    Header {
        kind,
        flags: FLAG_BATCH,
        code,
        transport_status: STATUS_OK,
        payload_len,
        item_count: 3,
        message_id,
    }
}

#[test]
fn batch_increment_req() {
    let bytes = load("extra/batch_increment_req.bin");
    let values = [41u64, 0xFFFF_FFFF, 0xFFFF_FFFF_FFFF_FFFE];
    let items: Vec<Vec<u8>> = values.iter().map(|&v| increment::encode(v).to_vec()).collect();
    check_batch_packet(
        &bytes,
        batch_header(Kind::Request, METHOD_INCREMENT, 48, 0x0102_0304_0506_0708),
        &items,
    );
    let v = BatchView::decode(&bytes[HEADER_LEN..], 3).unwrap();
    for (i, want) in values.iter().enumerate() {
        assert_eq!(increment::decode(v.item(i as u32).unwrap()).unwrap(), *want);
    }
}

#[test]
fn batch_increment_resp() {
    let bytes = load("extra/batch_increment_resp.bin");
    let values = [42u64, 0x1_0000_0000, u64::MAX];
    let items: Vec<Vec<u8>> = values.iter().map(|&v| increment::encode(v).to_vec()).collect();
    check_batch_packet(
        &bytes,
        batch_header(Kind::Response, METHOD_INCREMENT, 48, 0x0102_0304_0506_0708),
        &items,
    );
}

#[test]
fn batch_string_reverse_req() {
    let bytes = load("extra/batch_string_reverse_req.bin");
    let strings: [&[u8]; 3] = [b"abc", b"hello, world", b""];
    let items: Vec<Vec<u8>> = strings
        .iter()
        .map(|s| {
            let mut v = Vec::new();
            string_reverse::encode(s, &mut v).unwrap();
            v
        })
        .collect();
    assert_eq!(items[0], [8, 0, 0, 0, 3, 0, 0, 0, b'a', b'b', b'c', 0]);
    check_batch_packet(
        &bytes,
        batch_header(Kind::Request, METHOD_STRING_REVERSE, 80, 0xA5),
        &items,
    );
    let v = BatchView::decode(&bytes[HEADER_LEN..], 3).unwrap();
    for (i, s) in strings.iter().enumerate() {
        assert_eq!(
            string_reverse::decode(v.item(i as u32).unwrap())
                .unwrap()
                .as_bytes(),
            *s
        );
    }
}

fn chunk_message() -> (Header, Vec<u8>) {
    let s: Vec<u8> = (0..10_000).map(|i| b'A' + (i % 26) as u8).collect();
    let mut payload = Vec::new();
    string_reverse::encode(&s, &mut payload).unwrap();
    let h = Header::new(
        Kind::Request,
        METHOD_STRING_REVERSE,
        0x1122_3344_5566_7788,
        payload.len() as u32,
    );
    (h, payload)
}

#[test]
fn chunked_message() {
    let bytes = load("extra/chunked_string_reverse_message.bin");
    let (h, payload) = chunk_message();
    assert_eq!(Header::decode(&bytes).unwrap(), h);
    assert_eq!(h.payload_len, 10_009);
    let mut msg = h.encode().to_vec();
    msg.extend_from_slice(&payload);
    assert_eq!(msg, bytes);
}

#[test]
fn chunked_packets() {
    let pkts = [
        load("extra/chunked_pkt0.bin"),
        load("extra/chunked_pkt1.bin"),
        load("extra/chunked_pkt2.bin"),
    ];
    let (h, payload) = chunk_message();
    let plan = ChunkPlan::new(4096, payload.len()).unwrap();
    assert_eq!(plan.count, 3);
    let mut reassembled = pkts[0][HEADER_LEN..].to_vec();
    assert_eq!(Header::decode(&pkts[0]).unwrap(), h);
    for (i, pkt) in pkts.iter().enumerate() {
        let idx = i as u32;
        let mut want = if idx == 0 {
            h.encode().to_vec()
        } else {
            plan.header(h.message_id, idx).encode().to_vec()
        };
        want.extend_from_slice(&payload[plan.range(idx)]);
        assert_eq!(&want, pkt, "packet {i}");
        if idx > 0 {
            let c = ChunkHeader::decode(pkt).unwrap();
            c.check_continuation(&plan.header(h.message_id, idx), pkt.len() - CHUNK_HEADER_LEN)
                .unwrap();
            assert_eq!(c.total_message_len, 10_041);
            reassembled.extend_from_slice(&pkt[CHUNK_HEADER_LEN..]);
        }
    }
    assert_eq!(pkts[2].len(), 1913);
    assert_eq!(reassembled, payload);
}

fn check_control_packet(bytes: &[u8], code: u16, payload: &[u8]) {
    let h = Header::decode(bytes).unwrap();
    let want = Header::new(Kind::Control, code, 0, payload.len() as u32);
    assert_eq!(h, want);
    let mut pkt = want.encode().to_vec();
    pkt.extend_from_slice(payload);
    assert_eq!(pkt, bytes);
}

#[test]
fn handshake_hello_packet() {
    let bytes = load("extra/handshake_hello_packet.bin");
    let hello = Hello {
        supported_profiles: PROFILE_BASELINE,
        preferred_profiles: PROFILE_BASELINE,
        max_request_payload_bytes: 16384,
        max_request_batch_items: 1,
        max_response_payload_bytes: 16384,
        max_response_batch_items: 1,
        auth_token: 0x0102_0304_0506_0708,
        packet_size: 4096,
    };
    assert_eq!(Hello::decode(&bytes[HEADER_LEN..]).unwrap(), hello);
    check_control_packet(&bytes, CODE_HELLO, &hello.encode());
}

#[test]
fn handshake_hello_ack_packet() {
    let bytes = load("extra/handshake_hello_ack_packet.bin");
    let ack = HelloAck {
        server_supported_profiles: PROFILE_BASELINE,
        intersection_profiles: PROFILE_BASELINE,
        selected_profile: PROFILE_BASELINE,
        agreed_max_request_payload_bytes: 16384,
        agreed_max_request_batch_items: 1,
        agreed_max_response_payload_bytes: 16384,
        agreed_max_response_batch_items: 1,
        agreed_packet_size: 4096,
        session_id: 1,
    };
    assert_eq!(HelloAck::decode(&bytes[HEADER_LEN..]).unwrap(), ack);
    check_control_packet(&bytes, CODE_HELLO_ACK, &ack.encode());
}

/// Every `.bin` file the checksum list names is covered by a test above.
#[test]
fn every_vector_is_covered() {
    let d = dir();
    let covered = [
        "header.bin",
        "chunk_header.bin",
        "hello.bin",
        "hello_ack.bin",
        "cgroups_req.bin",
        "cgroups_resp.bin",
        "cgroups_resp_empty.bin",
        "cgroups_lookup_req.bin",
        "cgroups_lookup_req_empty.bin",
        "cgroups_lookup_resp_known_with_labels.bin",
        "cgroups_lookup_resp_known_no_labels.bin",
        "cgroups_lookup_resp_unknown_retry.bin",
        "cgroups_lookup_resp_unknown_permanent.bin",
        "cgroups_lookup_resp_payload_exceeded.bin",
        "cgroups_lookup_resp_oversized_item.bin",
        "cgroups_lookup_resp_empty.bin",
        "apps_lookup_req.bin",
        "apps_lookup_req_empty.bin",
        "apps_lookup_resp_known_full.bin",
        "apps_lookup_resp_known_retry.bin",
        "apps_lookup_resp_known_permanent.bin",
        "apps_lookup_resp_known_host_root.bin",
        "apps_lookup_resp_unknown_pid.bin",
        "apps_lookup_resp_payload_exceeded.bin",
        "apps_lookup_resp_oversized_item.bin",
        "apps_lookup_resp_empty.bin",
        "extra/batch_increment_req.bin",
        "extra/batch_increment_resp.bin",
        "extra/batch_string_reverse_req.bin",
        "extra/cgroups_snapshot_corpus.bin",
        "extra/chunked_pkt0.bin",
        "extra/chunked_pkt1.bin",
        "extra/chunked_pkt2.bin",
        "extra/chunked_string_reverse_message.bin",
        "extra/handshake_hello_ack_packet.bin",
        "extra/handshake_hello_packet.bin",
    ];
    let listed = checksums();
    assert_eq!(listed.len(), 36);
    for name in listed.keys() {
        assert!(covered.contains(&name.as_str()), "vector {name} has no test");
        assert!(d.join(name).is_file(), "vector {name} missing");
    }
    // And every `.bin` file there is listed, so none escapes its checksum.
    for sub in ["", "extra"] {
        for entry in std::fs::read_dir(d.join(sub)).unwrap() {
            let file = entry.unwrap().file_name().into_string().unwrap();
            let name = if sub.is_empty() {
                file
            } else {
                format!("{sub}/{file}")
            };
            if name.ends_with(".bin") {
                assert!(listed.contains_key(&name), "vector {name} is not in SHA256SUMS");
            }
        }
    }
}

/// A copy of the vectors that was changed, or lost a file, fails rather
/// than passing unchecked.
#[test]
fn a_tampered_or_missing_vector_fails() {
    let copy = std::env::temp_dir().join(format!("netipc-vectors-{}", std::process::id()));
    std::fs::create_dir_all(&copy).unwrap();
    let mut bytes = load("header.bin");
    assert!(read_checked(&dir(), checksums(), "header.bin").is_ok());
    bytes[0] ^= 1;
    std::fs::write(copy.join("header.bin"), &bytes).unwrap();
    let tampered = read_checked(&copy, checksums(), "header.bin");
    let missing = read_checked(&copy, checksums(), "hello.bin");
    let _ = std::fs::remove_dir_all(&copy);
    assert!(tampered.unwrap_err().contains("differs from its checksum"));
    assert!(missing.unwrap_err().contains("missing"));
}

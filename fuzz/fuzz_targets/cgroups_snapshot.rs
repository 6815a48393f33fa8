//! Fuzz target: cgroups_snapshot decoder must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netipc_codec::*;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = CgroupsResponseView::decode(data) {
        let owned = v.to_owned();
        let mut out = Vec::new();
        let n = owned.encode(&mut out, usize::MAX).expect("a decoded snapshot re-encodes");
        assert_eq!(CgroupsResponseView::decode(&out[..n]).map(|v| v.to_owned()).ok(), Some(owned));
    }
});

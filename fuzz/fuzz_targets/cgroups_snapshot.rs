//! Fuzz target: cgroups_snapshot decoder must never panic, and whatever it
//! accepts must re-encode and decode to the same snapshot.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netipc_codec::*;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = CgroupsResponseView::decode(data) {
        let owned = v.to_owned();
        // The decoder, like the reference's, lets a NUL sit inside a string;
        // our builder refuses to write one.
        let has_nul = owned.items.iter().any(|i| i.name.as_bytes().contains(&0) || i.path.as_bytes().contains(&0));
        let mut out = Vec::new();
        match owned.encode(&mut out, usize::MAX) {
            Ok(n) => assert_eq!(CgroupsResponseView::decode(&out[..n]).map(|v| v.to_owned()).ok(), Some(owned)),
            Err(e) => assert!(has_nul, "re-encode failed: {e}"),
        }
    }
});

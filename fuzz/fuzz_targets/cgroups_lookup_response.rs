//! Fuzz target: cgroups_lookup_response decoder must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netipc_codec::*;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = lookup::CgroupsLookupResponseView::decode(data) {
        for it in v.iter() {
            let _ = it.to_owned();
        }
    }
});

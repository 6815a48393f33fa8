//! Fuzz target: apps_lookup_request decoder must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netipc_codec::*;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = lookup::AppsLookupRequestView::decode(data) {
        assert_eq!(v.iter().count(), v.item_count as usize);
    }
});

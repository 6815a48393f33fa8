//! Fuzz target: batch decoder must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netipc_codec::*;

fuzz_target!(|data: &[u8]| {
    let Some((&count, payload)) = data.split_first() else { return };
    if let Ok(v) = BatchView::decode(payload, count as u32) {
        assert_eq!(v.iter().count(), count as usize);
    }
});

//! Fuzz target: string_reverse decoder must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netipc_codec::*;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = string_reverse::decode(data) {
        assert_eq!(string_reverse::encoded_len(s.as_bytes()), data.len());
    }
});

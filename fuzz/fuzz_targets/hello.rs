//! Fuzz target: hello decoder must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netipc_codec::*;

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = Hello::decode(data) {
        assert_eq!(Hello::decode(&h.encode()), Ok(h));
    }
});

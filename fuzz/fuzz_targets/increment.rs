//! Fuzz target: increment decoder must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netipc_codec::*;

fuzz_target!(|data: &[u8]| {
    let _ = increment::decode(data);
});

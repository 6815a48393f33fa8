//! Fuzz target: hello_ack decoder must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netipc_codec::*;

fuzz_target!(|data: &[u8]| {
    if let Ok(a) = HelloAck::decode(data) {
        assert_eq!(HelloAck::decode(&a.encode()), Ok(a));
    }
});

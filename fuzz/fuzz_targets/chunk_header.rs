//! Fuzz target: chunk_header decoder must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netipc_codec::*;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = ChunkHeader::decode(data) {
        let _ = c.check_continuation(&c, data.len().saturating_sub(CHUNK_HEADER_LEN));
    }
});

//! INCREMENT (method 1): request and response are one u64.

use crate::error::{CodecError, Result};

/// Wire size of an INCREMENT payload.
pub const INCREMENT_LEN: usize = 8;

/// The 8 wire bytes of `value`.
#[inline]
pub fn encode(value: u64) -> [u8; INCREMENT_LEN] {
    value.to_ne_bytes()
}

/// Decodes a payload of exactly 8 bytes.
#[inline]
pub fn decode(buf: &[u8]) -> Result<u64> {
    match <[u8; INCREMENT_LEN]>::try_from(buf) {
        Ok(a) => Ok(u64::from_ne_bytes(a)),
        Err(_) => Err(CodecError::BadLength {
            what: "INCREMENT payload",
            expected: INCREMENT_LEN,
            actual: buf.len(),
        }),
    }
}

//! The hasher of the lookup index. Keys are the producer's u32 hashes,
//! already well spread; one folded multiply spreads them over all 64 bits,
//! which the table's bucket index (low bits) and tags (high bits) both use.

use std::hash::{BuildHasherDefault, Hasher};

/// A hasher for u32 keys.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct KeyHasher(u64);

const K: u64 = 0x9E37_79B9_7F4A_7C15;

impl Hasher for KeyHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u32(b as u32 ^ (self.0 as u32).rotate_left(5));
        }
    }

    #[inline]
    fn write_u32(&mut self, v: u32) {
        let m = (v as u128 ^ self.0 as u128) * K as u128;
        self.0 = (m as u64) ^ ((m >> 64) as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Builds [`KeyHasher`]s.
pub(crate) type BuildKeyHasher = BuildHasherDefault<KeyHasher>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    /// Keys hash through `write_u32`; any other key type goes through
    /// `write`, byte by byte, and must still tell inputs apart.
    #[test]
    fn bytes_and_words_both_spread() {
        let b = BuildKeyHasher::default();
        assert_ne!(b.hash_one(1u32), b.hash_one(2u32));
        assert_ne!(b.hash_one(1u32) >> 57, b.hash_one(2u32) >> 57, "tags differ");
        assert_ne!(b.hash_one([1u8, 0]), b.hash_one([0u8, 1]));
        assert_eq!(b.hash_one("abc"), b.hash_one("abc"));
    }
}

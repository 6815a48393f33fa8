//! Native-endian field access and the bounds checks every decoder shares.
//!
//! The protocol puts integers in host byte order (it never leaves the host).
//! Readers here take a slice that the caller has already length-checked
//! against a fixed layout; [`fixed`] is the one place that check is written.

use crate::error::{CodecError, Result};

/// Alignment of items in every packed area.
pub const ALIGN: usize = 8;

/// Rounds `x` up to the next multiple of 8.
#[inline]
pub const fn align8(x: usize) -> usize {
    (x + (ALIGN - 1)) & !(ALIGN - 1)
}

/// Rounds `x` up to a multiple of 8, or `None` on overflow.
#[inline]
pub(crate) fn checked_align8(x: usize) -> Option<usize> {
    x.checked_add(ALIGN - 1).map(|v| v & !(ALIGN - 1))
}

/// Returns the first `N` bytes of `buf` as an array, or a `Truncated` error.
#[inline]
pub(crate) fn fixed<'a, const N: usize>(buf: &'a [u8], what: &'static str) -> Result<&'a [u8; N]> {
    match buf.first_chunk::<N>() {
        Some(a) => Ok(a),
        None => Err(CodecError::Truncated {
            what,
            need: N,
            have: buf.len(),
        }),
    }
}

#[inline]
pub(crate) fn u16_at(b: &[u8], off: usize) -> u16 {
    // One range check and one load (indexing each byte checks each byte).
    let mut a = [0u8; 2];
    a.copy_from_slice(&b[off..off + 2]);
    u16::from_ne_bytes(a)
}

#[inline]
pub(crate) fn u32_at(b: &[u8], off: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[off..off + 4]);
    u32::from_ne_bytes(a)
}

#[inline]
pub(crate) fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_ne_bytes(a)
}

#[inline]
pub(crate) fn put_u16(b: &mut [u8], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_ne_bytes());
}

#[inline]
pub(crate) fn put_u32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_ne_bytes());
}

#[inline]
pub(crate) fn put_u64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_ne_bytes());
}

/// Converts a length to its u32 wire field.
#[inline]
pub(crate) fn to_u32(v: usize, what: &'static str) -> Result<u32> {
    u32::try_from(v).map_err(|_| CodecError::TooLarge { what })
}

/// Checks the `layout_version == 1` field at offset 0.
#[inline]
pub(crate) fn check_layout_version(b: &[u8], what: &'static str) -> Result<()> {
    let version = u16_at(b, 0);
    if version != 1 {
        return Err(CodecError::BadLayoutVersion { what, found: version });
    }
    Ok(())
}

/// Checks the common `layout_version == 1, flags == 0` prefix of a payload.
#[inline]
pub(crate) fn check_layout_prefix(b: &[u8], what: &'static str) -> Result<()> {
    check_layout_version(b, what)?;
    let flags = u16_at(b, 2);
    if flags != 0 {
        return Err(CodecError::NonZeroFlags { what, found: flags });
    }
    Ok(())
}

/// Writes the common `layout_version = 1, flags = 0` prefix.
#[inline]
pub(crate) fn put_layout_prefix(b: &mut [u8]) {
    put_u16(b, 0, 1);
    put_u16(b, 2, 0);
}

/// A NUL-terminated string inside a container, located by offset and length
/// (the length excludes the NUL).
///
/// Checks that the string starts at or after `min_offset`, that it and its
/// NUL lie inside `container`, and that the NUL is there. Returns the string
/// bytes and the end of its range (one past the NUL).
#[inline]
pub(crate) fn nul_string<'a>(
    container: &'a [u8],
    min_offset: usize,
    offset: u32,
    length: u32,
    field: &'static str,
) -> Result<(&'a [u8], usize)> {
    let offset = offset as usize;
    if offset < min_offset {
        return Err(CodecError::StringInHeader { field });
    }
    // u32 + u32 + 1 cannot overflow a 64-bit usize; checked for 32-bit hosts.
    let nul = offset
        .checked_add(length as usize)
        .ok_or(CodecError::StringOutOfBounds { field })?;
    match container.get(nul) {
        None => Err(CodecError::StringOutOfBounds { field }),
        Some(0) => Ok((&container[offset..nul], nul + 1)),
        Some(_) => Err(CodecError::MissingNul { field }),
    }
}

/// Per byte of `v`, 0x80 where the byte is zero and 0 elsewhere; exact
/// for every lane (no borrow crosses lanes).
#[inline(always)]
fn zero_lanes(v: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    // Per byte, `(b & 0x7f) + 0x7f` sets the top bit unless the low seven
    // bits are zero; or-ing in `b` itself covers the top bit. No lane
    // carries into the next, so the top bits left clear after the
    // complement mark exactly the zero bytes.
    !(((v & LOW7).wrapping_add(LOW7)) | v | LOW7)
}

/// The eight bytes at `at` of `s`, byte `i` in lane `i`.
#[inline(always)]
fn word_at(s: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&s[at..at + 8]);
    u64::from_le_bytes(a)
}

/// The four bytes at `at` of `s`, byte `i` in lane `i`, zero-extended with
/// non-zero bytes so that the upper lanes never count as zero.
#[inline(always)]
fn half_word_at(s: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&s[at..at + 4]);
    u64::from(u32::from_le_bytes(a)) | 0xffff_ffff_0000_0000
}

/// Whether `s` holds a zero byte, testing eight bytes per step. The bytes
/// past the last whole word are covered by a word that ends with `s`
/// (overlapping the one before it), so no byte is tested on its own unless
/// `s` is shorter than four bytes.
#[inline]
fn has_zero_byte(s: &[u8]) -> bool {
    let n = s.len();
    let lanes = if n >= 8 {
        let (words, _) = s.as_chunks::<8>();
        let mut acc = zero_lanes(word_at(s, n - 8));
        for w in words {
            acc |= zero_lanes(u64::from_le_bytes(*w));
        }
        acc
    } else if n >= 4 {
        zero_lanes(half_word_at(s, 0)) | zero_lanes(half_word_at(s, n - 4))
    } else {
        return s.contains(&0);
    };
    lanes != 0
}

/// Number of zero bytes in `s`, eight bytes per step. The bytes past the
/// last whole word are counted in a word that ends with `s`, with the lanes
/// counted already masked off.
#[inline]
pub(crate) fn count_zero_bytes(s: &[u8]) -> usize {
    // Sums the 0x80-or-0 lanes with one multiply (baseline x86-64 has no
    // popcnt instruction).
    #[inline(always)]
    fn count(lanes: u64) -> usize {
        ((lanes >> 7).wrapping_mul(0x0101_0101_0101_0101) >> 56) as usize
    }
    let n = s.len();
    let (words, _) = s.as_chunks::<8>();
    let mut total = 0;
    for w in words {
        total += count(zero_lanes(u64::from_le_bytes(*w)));
    }
    let tail = n % 8;
    if tail != 0 {
        if n >= 8 {
            // Lanes 8 - tail.. of the last word are the uncounted bytes.
            total += count(zero_lanes(word_at(s, n - 8)) >> (8 * (8 - tail)));
        } else {
            total += s.iter().filter(|&&b| b == 0).count();
        }
    }
    total
}

/// Rejects a string that contains a NUL byte.
#[inline]
pub(crate) fn no_interior_nul(s: &[u8], field: &'static str) -> Result<()> {
    // Names, keys and values are mostly short: eight bytes at a time beats
    // the call into the general memchr there.
    let has_nul = if s.len() <= 64 {
        has_zero_byte(s)
    } else {
        s.contains(&0)
    };
    if has_nul {
        Err(CodecError::InteriorNul { field })
    } else {
        Ok(())
    }
}

/// Whether two half-open ranges overlap.
#[inline]
pub(crate) fn overlaps(a: (usize, usize), b: (usize, usize)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

/// Writes `s` and a NUL at `off` of `item`; returns the offset after the NUL.
#[inline]
pub(crate) fn put_nul_string(item: &mut [u8], off: usize, s: &[u8]) -> usize {
    copy_short(&mut item[off..off + s.len()], s);
    item[off + s.len()] = 0;
    off + s.len() + 1
}

/// Copies `src` into `dst` (of the same length). Names and paths are mostly
/// short: up to 32 bytes the copy is two fixed-size moves that overlap when
/// the string is shorter, instead of a call to `memcpy`.
#[inline(always)]
fn copy_short(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    match n {
        0 => {}
        1..=3 => {
            dst[0] = src[0];
            dst[n / 2] = src[n / 2];
            dst[n - 1] = src[n - 1];
        }
        4..=7 => {
            dst[..4].copy_from_slice(&src[..4]);
            dst[n - 4..].copy_from_slice(&src[n - 4..]);
        }
        8..=16 => {
            dst[..8].copy_from_slice(&src[..8]);
            dst[n - 8..].copy_from_slice(&src[n - 8..]);
        }
        17..=32 => {
            dst[..16].copy_from_slice(&src[..16]);
            dst[n - 16..].copy_from_slice(&src[n - 16..]);
        }
        _ => dst.copy_from_slice(src),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_zero_count_counts_every_zero(s in prop::collection::vec(
            prop_oneof![Just(0u8), Just(0x80u8), Just(0x7fu8), Just(1u8), any::<u8>()], 0..80)) {
            prop_assert_eq!(count_zero_bytes(&s), s.iter().filter(|&&b| b == 0).count());
        }
    }

    #[test]
    fn the_zero_scan_finds_a_nul_at_every_position() {
        for len in 0..=72usize {
            // Bytes next to the borrow edges of the eight-byte test.
            for filler in [0x01u8, 0x80, 0xff, b'a'] {
                let clean = vec![filler; len];
                assert!(!has_zero_byte(&clean), "len {len} filler {filler:#x}");
                for at in 0..len {
                    let mut s = clean.clone();
                    s[at] = 0;
                    assert!(has_zero_byte(&s), "len {len} at {at} filler {filler:#x}");
                    assert!(no_interior_nul(&s, "f").is_err());
                }
            }
        }
    }

    #[test]
    fn the_zero_count_counts_at_every_position() {
        for len in 0..=72usize {
            for filler in [0x01u8, 0x80, 0xff, b'a'] {
                let clean = vec![filler; len];
                assert_eq!(count_zero_bytes(&clean), 0, "len {len} filler {filler:#x}");
                for at in 0..len {
                    let mut s = clean.clone();
                    s[at] = 0;
                    assert_eq!(count_zero_bytes(&s), 1, "len {len} at {at}");
                    // A second zero in the overlapped last word is counted once.
                    s[len - 1] = 0;
                    let want = if at == len - 1 { 1 } else { 2 };
                    assert_eq!(count_zero_bytes(&s), want, "len {len} at {at} and last");
                }
            }
        }
    }

    #[test]
    fn the_zero_count_holds_past_a_full_block_of_words() {
        // 255 words fill a block of the counter; count across its edges.
        for len in [2039usize, 2040, 2041, 2047, 2048, 2049, 4087, 4096, 5003] {
            let zeros = vec![0u8; len];
            assert_eq!(count_zero_bytes(&zeros), len);
            let mixed: Vec<u8> = (0..len).map(|i| (i % 3 == 0) as u8 * 0x41).collect();
            let want = mixed.iter().filter(|&&b| b == 0).count();
            assert_eq!(count_zero_bytes(&mixed), want, "len {len}");
        }
    }

    #[test]
    fn short_copies_copy_every_byte_and_nothing_else() {
        for n in 0..=70usize {
            let src: Vec<u8> = (0..n).map(|i| i as u8 + 1).collect();
            let mut dst = vec![0xeeu8; n + 2];
            copy_short(&mut dst[1..1 + n], &src);
            assert_eq!(&dst[1..1 + n], &src[..], "len {n}");
            assert_eq!((dst[0], dst[n + 1]), (0xee, 0xee), "len {n}: wrote outside");
        }
    }

    #[test]
    fn reads_take_their_bytes_in_host_order() {
        let b = [1u8, 2, 3, 4, 5, 6, 7, 8, 9];
        assert_eq!(u16_at(&b, 1), u16::from_ne_bytes([2, 3]));
        assert_eq!(u32_at(&b, 5), u32::from_ne_bytes([6, 7, 8, 9]));
    }

    proptest! {
        #[test]
        fn the_zero_scan_agrees_with_contains(s in proptest::collection::vec(any::<u8>(), 0..200)) {
            prop_assert_eq!(has_zero_byte(&s), s.contains(&0));
            prop_assert_eq!(no_interior_nul(&s, "f").is_err(), s.contains(&0));
        }
    }
}

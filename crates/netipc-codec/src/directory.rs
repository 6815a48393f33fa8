//! The "item directory + packed area" layout shared by snapshots, lookups and
//! L1 batches: reading it with checked bounds, and writing it.
//!
//! A directory is `count` entries of `{u32 offset, u32 length}`; offsets count
//! from the first byte of the packed area, which follows the directory. Items
//! are 8-aligned, in directory order, with zero padding between them.

use crate::error::{CodecError, Result};
use crate::wire::{ALIGN, align8};

/// Size of one directory entry.
pub const DIR_ENTRY_SIZE: usize = 8;

/// How strictly a directory is checked. Alignment and bounds are always checked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DirRules {
    /// Minimum item length (or the only valid one, with `exact`).
    pub min_len: u32,
    /// Whether `min_len` is the only valid length.
    pub exact: bool,
    /// Entries must be in order and must not overlap.
    pub ordered: bool,
    /// The packed area must end at the end of the last item.
    pub no_trailing: bool,
}

/// A validated directory over a payload.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Directory<'a> {
    entries: &'a [[u8; DIR_ENTRY_SIZE]],
    packed: &'a [u8],
}

/// The `(offset, length)` of one directory entry.
#[inline(always)]
fn entry(e: &[u8; DIR_ENTRY_SIZE]) -> (usize, usize) {
    // One 8-byte load; the offset is the half stored first.
    let v = u64::from_ne_bytes(*e);
    let (first, second) = if cfg!(target_endian = "little") {
        (v as u32, (v >> 32) as u32)
    } else {
        ((v >> 32) as u32, v as u32)
    };
    (first as usize, second as usize)
}

/// The bytes of a directory entry: `offset`, then `len`, both below 2^32.
#[inline(always)]
fn entry_bytes(offset: usize, len: usize) -> [u8; DIR_ENTRY_SIZE] {
    let mut e = [0u8; DIR_ENTRY_SIZE];
    e[..4].copy_from_slice(&(offset as u32).to_ne_bytes());
    e[4..].copy_from_slice(&(len as u32).to_ne_bytes());
    e
}

/// The end of the items (the furthest item end), or `None` when an entry
/// breaks a rule.
#[inline(always)]
fn check_entries(entries: &[[u8; DIR_ENTRY_SIZE]], packed_len: usize, rules: DirRules) -> Option<usize> {
    // In u64 an item end (two u32s added) cannot wrap, on any target.
    let min_len = u64::from(rules.min_len);
    let packed_len = packed_len as u64;
    // Any bit set: some entry broke a rule. Each rule is folded in as bits,
    // with no branch and no early exit, and (unless the rules ask for an
    // order) nothing carried from entry to entry but `bad` and the furthest
    // end: the compiler checks several entries per instruction.
    let mut bad = 0u64;
    let mut prev_end = 0u64;
    for e in entries {
        let (offset, len) = entry(e);
        let (offset, len) = (offset as u64, len as u64);
        let end = offset + len;
        bad |= offset % ALIGN as u64;
        bad |= u64::from(if rules.exact {
            len != min_len
        } else {
            len < min_len
        });
        bad |= u64::from(end > packed_len);
        if rules.ordered {
            bad |= u64::from(offset < prev_end);
            prev_end = end;
        } else {
            prev_end = prev_end.max(end);
        }
    }
    // Nothing broke, so `prev_end` is at most `packed_len`.
    (bad == 0).then_some(prev_end as usize)
}

/// Entry by entry, the error of the first entry that breaks a rule, else
/// the end of the items. The authority that [`check_entries`] speeds up.
#[cold]
fn validate_entries(entries: &[[u8; DIR_ENTRY_SIZE]], packed_len: usize, rules: DirRules) -> Result<usize> {
    let min_len = rules.min_len as usize;
    let mut prev_end = 0usize;
    for (index, e) in entries.iter().enumerate() {
        let (offset, len) = entry(e);
        let index = index as u32;
        if offset % ALIGN != 0 {
            return Err(CodecError::UnalignedItem {
                index,
                offset: offset as u32,
            });
        }
        let bad_len = if rules.exact {
            len != min_len
        } else {
            len < min_len
        };
        if bad_len {
            return Err(CodecError::BadItemLength {
                index,
                len: len as u32,
                min: rules.min_len,
                exact: rules.exact,
            });
        }
        let end = offset.wrapping_add(len);
        if end > packed_len || end < offset {
            return Err(CodecError::ItemOutOfBounds { index });
        }
        if rules.ordered && offset < prev_end {
            return Err(CodecError::ItemOverlap { index });
        }
        prev_end = if rules.ordered { end } else { prev_end.max(end) };
    }
    Ok(prev_end)
}

impl<'a> Directory<'a> {
    /// Validates the directory that starts at `dir_start` of `payload`.
    #[inline]
    pub(crate) fn parse(payload: &'a [u8], dir_start: usize, count: u32, rules: DirRules) -> Result<Self> {
        let available = payload.len().saturating_sub(dir_start);
        let dir_len = (count as usize)
            .checked_mul(DIR_ENTRY_SIZE)
            .filter(|&n| n <= available)
            .ok_or(CodecError::DirectoryTooLarge { count, available })?;
        let (dir, packed) = payload[dir_start..].split_at(dir_len);
        let (entries, _) = dir.as_chunks::<DIR_ENTRY_SIZE>();
        // One pass that only says yes or no, free of early exits so it runs
        // at memory speed; a rejected directory is walked again to name the
        // first broken entry.
        let end = match check_entries(entries, packed.len(), rules) {
            Some(end) => end,
            None => validate_entries(entries, packed.len(), rules)?,
        };
        if rules.no_trailing && end != packed.len() {
            return Err(CodecError::TrailingBytes {
                extra: packed.len() - end,
            });
        }
        Ok(Self { entries, packed })
    }

    /// Number of entries.
    #[inline]
    pub(crate) fn count(&self) -> u32 {
        // `parse` took the count as a u32.
        self.entries.len() as u32
    }

    /// The bytes of item `index`.
    #[inline]
    pub(crate) fn item(&self, index: u32) -> Result<&'a [u8]> {
        let Some(e) = self.entries.get(index as usize) else {
            return Err(CodecError::IndexOutOfRange {
                index,
                count: self.count(),
            });
        };
        let (start, len) = entry(e);
        self.packed
            .get(start..start + len)
            .ok_or(CodecError::ItemOutOfBounds { index })
    }

    /// The bytes of every item, in directory order.
    #[inline]
    pub(crate) fn raw_items(&self) -> RawItems<'a> {
        RawItems {
            entries: self.entries.iter(),
            packed: self.packed,
        }
    }
}

/// The bytes of each item of a validated [`Directory`], in order.
#[derive(Debug, Clone)]
pub(crate) struct RawItems<'a> {
    entries: std::slice::Iter<'a, [u8; DIR_ENTRY_SIZE]>,
    packed: &'a [u8],
}

impl<'a> Iterator for RawItems<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        let (start, len) = entry(self.entries.next()?);
        // `parse` checked every entry against the packed area, so this
        // never yields the empty fallback.
        Some(self.packed.get(start..start + len).unwrap_or_default())
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}

impl ExactSizeIterator for RawItems<'_> {}

/// Writes a fixed header, a directory and a packed area into a caller-owned,
/// reusable `Vec`, within a byte budget.
///
/// Directory slots are reserved up front (a hint) and grow by doubling; unused
/// slots are squeezed out by [`PackedWriter::finish`], which moves the packed
/// area left. Offsets are relative to the packed area, so they never change.
///
/// The `Vec` holds exactly the bytes in use: an appended item is copied onto
/// its end, and an item handed out for filling is zeroed as it is added, so
/// every byte is written once or twice and never grown ahead of need.
/// Capacity stays with the `Vec`, so a reused buffer does not allocate.
#[derive(Debug)]
pub(crate) struct PackedWriter<'b> {
    out: &'b mut Vec<u8>,
    hdr_len: usize,
    slots: usize,
    count: usize,
    limit: usize,
    /// `limit`, but never more than a payload length can say.
    cap: usize,
    trailing_pad: bool,
    exceeded: bool,
}

impl<'b> PackedWriter<'b> {
    /// Starts a payload with a zeroed header of `hdr_len` bytes.
    #[inline]
    pub(crate) fn new(
        out: &'b mut Vec<u8>,
        hdr_len: usize,
        slots_hint: usize,
        limit: usize,
        trailing_pad: bool,
    ) -> Self {
        debug_assert_eq!(hdr_len % ALIGN, 0);
        // A hint larger than the budget could ever hold would only waste memory.
        let slots = slots_hint.min(limit.saturating_sub(hdr_len) / DIR_ENTRY_SIZE);
        out.clear();
        out.resize(hdr_len + slots * DIR_ENTRY_SIZE, 0);
        Self {
            out,
            hdr_len,
            slots,
            count: 0,
            limit,
            cap: limit.min(u32::MAX as usize),
            trailing_pad,
            exceeded: false,
        }
    }

    /// Whether an item was refused because it did not fit the budget.
    #[inline]
    pub(crate) fn exceeded(&self) -> bool {
        self.exceeded
    }

    #[inline]
    fn packed_start(&self) -> usize {
        self.hdr_len + self.slots * DIR_ENTRY_SIZE
    }

    #[inline]
    fn packed_len(&self) -> usize {
        self.out.len() - self.packed_start()
    }

    /// Items written so far.
    #[inline]
    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// The budget this writer enforces.
    #[inline]
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// The fixed header, for the caller to fill.
    #[inline]
    pub(crate) fn header_mut(&mut self) -> &mut [u8] {
        &mut self.out[..self.hdr_len]
    }

    /// Final payload size if one more item of `item_len` bytes were added.
    #[inline]
    pub(crate) fn size_with(&self, item_len: usize) -> usize {
        let body = align8(self.packed_len()) + item_len;
        let body = if self.trailing_pad { align8(body) } else { body };
        self.hdr_len + (self.count + 1) * DIR_ENTRY_SIZE + body
    }

    /// Final payload size as it stands.
    #[inline]
    pub(crate) fn size(&self) -> usize {
        let body = self.packed_len();
        let body = if self.trailing_pad { align8(body) } else { body };
        self.hdr_len + self.count * DIR_ENTRY_SIZE + body
    }

    /// Whether an item of `item_len` bytes fits the budget while leaving
    /// room for `suffix` more bytes of later items (each counted 8-aligned),
    /// in a payload that will hold `total_items` items in all.
    #[inline]
    pub(crate) fn fits_before_suffix(&self, item_len: usize, suffix: usize, total_items: usize) -> bool {
        let dir = self
            .hdr_len
            .saturating_add(total_items.saturating_mul(DIR_ENTRY_SIZE));
        let tail = if suffix > 0 {
            align8(item_len) + suffix
        } else {
            item_len
        };
        dir.saturating_add(align8(self.packed_len())).saturating_add(tail) <= self.limit
    }

    /// Whether one more item of `item_len` bytes fits the budget.
    #[inline]
    pub(crate) fn fits(&self, item_len: usize) -> bool {
        self.size_with(item_len) <= self.limit
    }

    /// Appends a copy of `item`. Inlined so that a copy of a fixed-size item
    /// compiles to plain stores.
    #[inline(always)]
    pub(crate) fn push(&mut self, item: &[u8]) -> Result<()> {
        self.push_parts([item])
    }

    /// Appends an item made of `parts`, back to back.
    #[inline(always)]
    pub(crate) fn push_parts<const K: usize>(&mut self, parts: [&[u8]; K]) -> Result<()> {
        let len = parts.iter().map(|p| p.len()).sum();
        let at = self.reserve(len)?;
        if at > self.out.len() {
            // Up to seven bytes of padding: one fixed-size store of zeros,
            // cut back, is cheaper than a fill of a variable length.
            self.out.extend_from_slice(&[0; ALIGN]);
            self.out.truncate(at);
        }
        for p in parts {
            self.out.extend_from_slice(p);
        }
        Ok(())
    }

    /// Appends a zeroed item of `item_len` bytes and returns it for filling.
    #[inline]
    pub(crate) fn add(&mut self, item_len: usize) -> Result<&mut [u8]> {
        let at = self.reserve(item_len)?;
        self.out.resize(at + item_len, 0);
        Ok(&mut self.out[at..])
    }

    /// Appends `n` zeroed items of `item_len` bytes each (a multiple of 8,
    /// so they sit back to back) and returns them as one run for filling.
    /// Either all are added or, when they do not all fit, none.
    pub(crate) fn add_run(&mut self, n: usize, item_len: usize) -> Result<&mut [u8]> {
        debug_assert_eq!(item_len % ALIGN, 0);
        if n == 0 {
            // Nothing to align for: the payload must not grow.
            return Ok(&mut []);
        }
        let run = n.saturating_mul(item_len);
        let need = self
            .hdr_len
            .saturating_add(self.count.saturating_add(n).saturating_mul(DIR_ENTRY_SIZE))
            .saturating_add(align8(self.packed_len()))
            .saturating_add(run);
        if need > self.cap {
            return Err(self.refuse(need));
        }
        if self.count + n > self.slots {
            self.grow_directory(self.count + n);
        }
        let at = align8(self.out.len());
        let first = at - self.packed_start();
        let slots = self.hdr_len + self.count * DIR_ENTRY_SIZE;
        let dir = &mut self.out[slots..slots + n * DIR_ENTRY_SIZE];
        // Offsets and lengths fit: `need` is at most `cap`.
        for (i, e) in dir.chunks_exact_mut(DIR_ENTRY_SIZE).enumerate() {
            e.copy_from_slice(&entry_bytes(first + i * item_len, item_len));
        }
        self.count += n;
        self.out.resize(at + run, 0);
        Ok(&mut self.out[at..])
    }

    /// Checks the budget and writes the directory entry of an item of
    /// `item_len` bytes; returns where the item starts in `out` (8-aligned,
    /// at or after `end`). The caller appends the item there.
    #[inline(always)]
    fn reserve(&mut self, item_len: usize) -> Result<usize> {
        let need = self.size_with(item_len);
        if need > self.cap {
            return Err(self.refuse(need));
        }
        if self.count == self.slots {
            self.grow_directory(self.count + 1);
        }
        // The packed area starts 8-aligned, so aligning the absolute end
        // aligns the offset within the area.
        let at = align8(self.out.len());
        // Both fit: `need` (which is larger) is at most `cap`.
        let e = entry_bytes(at - self.packed_start(), item_len);
        let slot = self.hdr_len + self.count * DIR_ENTRY_SIZE;
        // In range: the directory has a free slot (grown above).
        self.out[slot..slot + DIR_ENTRY_SIZE].copy_from_slice(&e);
        self.count += 1;
        Ok(at)
    }

    /// The error for an item that would make the payload `need` bytes.
    #[cold]
    fn refuse(&mut self, need: usize) -> CodecError {
        if need > self.limit {
            self.exceeded = true;
            CodecError::LimitExceeded {
                need,
                limit: self.limit,
            }
        } else {
            CodecError::TooLarge {
                what: "payload length",
            }
        }
    }

    /// Makes room for at least `slots` directory entries, doubling the room
    /// at least (the packed area moves right once).
    #[cold]
    fn grow_directory(&mut self, slots: usize) {
        let new_slots = (self.slots * 2).max(4).max(slots);
        let delta = (new_slots - self.slots) * DIR_ENTRY_SIZE;
        let start = self.packed_start();
        let end = self.out.len();
        self.out.resize(end + delta, 0);
        self.out.copy_within(start..end, start + delta);
        self.out[start..start + delta].fill(0);
        self.slots = new_slots;
    }

    /// Squeezes out unused directory slots, adds the trailing padding if this
    /// layout has it, and returns the payload length (`out.len()`).
    #[inline]
    pub(crate) fn finish(self) -> usize {
        let start = self.packed_start();
        let used_dir_end = self.hdr_len + self.count * DIR_ENTRY_SIZE;
        let mut end = self.out.len();
        if used_dir_end < start {
            self.out.copy_within(start..end, used_dir_end);
            end -= start - used_dir_end;
        }
        // Cut the stale tail the squeeze left behind, then pad with zeros.
        self.out.truncate(end);
        if self.trailing_pad {
            let padded = used_dir_end + align8(end - used_dir_end);
            self.out.resize(padded, 0);
        }
        self.out.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entries_of(pairs: &[(u32, u32)]) -> Vec<[u8; DIR_ENTRY_SIZE]> {
        pairs
            .iter()
            .map(|&(o, l)| entry_bytes(o as usize, l as usize))
            .collect()
    }

    fn all_rules() -> Vec<DirRules> {
        let mut v = Vec::new();
        for min_len in [0, 8, 16] {
            for exact in [false, true] {
                for ordered in [false, true] {
                    v.push(DirRules {
                        min_len,
                        exact,
                        ordered,
                        no_trailing: false,
                    });
                }
            }
        }
        v
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        /// The fast yes/no pass accepts exactly what the entry-by-entry
        /// validator accepts, with the same end.
        #[test]
        fn the_fast_check_agrees_with_the_validator(
            pairs in prop::collection::vec(
                (prop_oneof![0u32..96, any::<u32>()], prop_oneof![0u32..40, any::<u32>()]),
                0..12,
            ),
            packed_len in 0usize..128,
        ) {
            let entries = entries_of(&pairs);
            for rules in all_rules() {
                let fast = check_entries(&entries, packed_len, rules);
                let slow = validate_entries(&entries, packed_len, rules);
                prop_assert_eq!(fast, slow.ok(), "rules {:?}", rules);
            }
        }
    }

    /// The payload a writer must produce for `items`: header zeros, the
    /// directory, each item 8-aligned with zero gaps, optional end padding.
    fn expected_payload(hdr_len: usize, items: &[Vec<u8>], trailing_pad: bool) -> Vec<u8> {
        let dir_end = hdr_len + items.len() * DIR_ENTRY_SIZE;
        let mut out = vec![0u8; dir_end];
        let mut packed: Vec<u8> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            packed.resize(align8(packed.len()), 0);
            let at = hdr_len + i * DIR_ENTRY_SIZE;
            out[at..at + 4].copy_from_slice(&(packed.len() as u32).to_ne_bytes());
            out[at + 4..at + 8].copy_from_slice(&(item.len() as u32).to_ne_bytes());
            packed.extend_from_slice(item);
        }
        if trailing_pad {
            packed.resize(align8(packed.len()), 0);
        }
        out.extend_from_slice(&packed);
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5_000))]

        /// Whatever the buffer held before, however small the directory
        /// hint, and whether items are copied in or filled in place, the
        /// writer produces exactly the canonical layout with zero gaps.
        #[test]
        fn the_writer_lays_out_items_canonically(
            items in prop::collection::vec(prop::collection::vec(1u8..=255, 0..40), 0..40),
            filled in prop::collection::vec(any::<bool>(), 40),
            hdr_words in 0usize..3,
            slots_hint in 0usize..8,
            trailing_pad in any::<bool>(),
            dirt in 0usize..4096,
        ) {
            let hdr_len = hdr_words * 8;
            let mut out = vec![0xAAu8; dirt];
            let mut w = PackedWriter::new(&mut out, hdr_len, slots_hint, usize::MAX, trailing_pad);
            for (item, fill) in items.iter().zip(&filled) {
                if *fill {
                    let dst = w.add(item.len()).unwrap();
                    prop_assert!(dst.iter().all(|&b| b == 0), "an added item starts zeroed");
                    dst.copy_from_slice(item);
                } else {
                    w.push(item).unwrap();
                }
            }
            let len = w.finish();
            prop_assert_eq!(&out[..len], &expected_payload(hdr_len, &items, trailing_pad)[..]);
            prop_assert_eq!(out.len(), len);
        }
    }

    #[test]
    fn a_rejected_directory_names_its_first_broken_entry() {
        let rules = DirRules {
            min_len: 8,
            exact: false,
            ordered: true,
            no_trailing: true,
        };
        // Entry 1 overlaps entry 0, entry 2 is unaligned: the overlap is named.
        let mut payload = Vec::new();
        for e in entries_of(&[(0, 16), (8, 8), (3, 8)]) {
            payload.extend_from_slice(&e);
        }
        payload.resize(payload.len() + 32, 0);
        assert!(matches!(
            Directory::parse(&payload, 0, 3, rules),
            Err(CodecError::ItemOverlap { index: 1 })
        ));
    }
}

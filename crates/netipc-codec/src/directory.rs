//! The "item directory + packed area" layout shared by snapshots, lookups and
//! L1 batches: reading it with checked bounds, and writing it.
//!
//! A directory is `count` entries of `{u32 offset, u32 length}`; offsets count
//! from the first byte of the packed area, which follows the directory. Items
//! are 8-aligned, in directory order, with zero padding between them.

use crate::error::{CodecError, Result};
use crate::wire::{ALIGN, align8, put_u32, to_u32, u32_at};

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
    dir: &'a [u8],
    packed: &'a [u8],
    count: u32,
}

impl<'a> Directory<'a> {
    /// Validates the directory that starts at `dir_start` of `payload`.
    pub(crate) fn parse(payload: &'a [u8], dir_start: usize, count: u32, rules: DirRules) -> Result<Self> {
        let available = payload.len().saturating_sub(dir_start);
        let dir_len = (count as usize)
            .checked_mul(DIR_ENTRY_SIZE)
            .filter(|&n| n <= available)
            .ok_or(CodecError::DirectoryTooLarge { count, available })?;
        let (dir, packed) = payload[dir_start..].split_at(dir_len);
        let mut prev_end = 0usize;
        for index in 0..count {
            let base = index as usize * DIR_ENTRY_SIZE;
            let offset = u32_at(dir, base);
            let len = u32_at(dir, base + 4);
            if offset as usize % ALIGN != 0 {
                return Err(CodecError::UnalignedItem { index, offset });
            }
            let bad_len = if rules.exact {
                len != rules.min_len
            } else {
                len < rules.min_len
            };
            if bad_len {
                return Err(CodecError::BadItemLength {
                    index,
                    len,
                    min: rules.min_len,
                    exact: rules.exact,
                });
            }
            let end = offset as usize + len as usize;
            if end > packed.len() {
                return Err(CodecError::ItemOutOfBounds { index });
            }
            if rules.ordered && (offset as usize) < prev_end {
                return Err(CodecError::ItemOverlap { index });
            }
            prev_end = if rules.ordered { end } else { prev_end.max(end) };
        }
        if rules.no_trailing && prev_end != packed.len() {
            return Err(CodecError::TrailingBytes {
                extra: packed.len() - prev_end,
            });
        }
        Ok(Self { dir, packed, count })
    }

    /// Number of entries.
    #[inline]
    pub(crate) fn count(&self) -> u32 {
        self.count
    }

    /// The bytes of item `index`.
    #[inline]
    pub(crate) fn item(&self, index: u32) -> Result<&'a [u8]> {
        if index >= self.count {
            return Err(CodecError::IndexOutOfRange {
                index,
                count: self.count,
            });
        }
        let base = index as usize * DIR_ENTRY_SIZE;
        let start = u32_at(self.dir, base) as usize;
        let len = u32_at(self.dir, base + 4) as usize;
        self.packed
            .get(start..start + len)
            .ok_or(CodecError::ItemOutOfBounds { index })
    }
}

/// Writes a fixed header, a directory and a packed area into a caller-owned,
/// reusable `Vec`, within a byte budget.
///
/// Directory slots are reserved up front (a hint) and grow by doubling; unused
/// slots are squeezed out by [`PackedWriter::finish`], which moves the packed
/// area left. Offsets are relative to the packed area, so they never change.
#[derive(Debug)]
pub(crate) struct PackedWriter<'b> {
    out: &'b mut Vec<u8>,
    hdr_len: usize,
    slots: usize,
    count: usize,
    limit: usize,
    trailing_pad: bool,
    exceeded: bool,
}

impl<'b> PackedWriter<'b> {
    /// Starts a payload with a zeroed header of `hdr_len` bytes.
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

    /// Appends a copy of `item` (only the alignment gap is zero-filled).
    #[inline]
    pub(crate) fn push(&mut self, item: &[u8]) -> Result<()> {
        let abs = self.reserve(item.len())?;
        self.out.resize(abs, 0);
        self.out.extend_from_slice(item);
        Ok(())
    }

    /// Appends a zeroed item of `item_len` bytes and returns it for filling.
    pub(crate) fn add(&mut self, item_len: usize) -> Result<&mut [u8]> {
        let abs = self.reserve(item_len)?;
        self.out.resize(abs + item_len, 0);
        Ok(&mut self.out[abs..])
    }

    /// Checks the budget, writes the directory entry of an item of
    /// `item_len` bytes, and returns where the item starts in `out`.
    #[inline]
    fn reserve(&mut self, item_len: usize) -> Result<usize> {
        let need = self.size_with(item_len);
        if need > self.limit {
            self.exceeded = true;
            return Err(CodecError::LimitExceeded {
                need,
                limit: self.limit,
            });
        }
        to_u32(need, "payload length")?;
        if self.count == self.slots {
            self.grow_directory();
        }
        let start = align8(self.packed_len());
        let entry = self.hdr_len + self.count * DIR_ENTRY_SIZE;
        put_u32(self.out, entry, start as u32);
        put_u32(self.out, entry + 4, item_len as u32);
        self.count += 1;
        Ok(self.packed_start() + start)
    }

    fn grow_directory(&mut self) {
        let new_slots = (self.slots * 2).max(4);
        let delta = (new_slots - self.slots) * DIR_ENTRY_SIZE;
        let start = self.packed_start();
        let old_len = self.out.len();
        self.out.resize(old_len + delta, 0);
        self.out.copy_within(start..old_len, start + delta);
        self.out[start..start + delta].fill(0);
        self.slots = new_slots;
    }

    /// Squeezes out unused directory slots, adds the trailing padding if this
    /// layout has it, and returns the payload length (`out.len()`).
    pub(crate) fn finish(self) -> usize {
        let start = self.packed_start();
        let used_dir_end = self.hdr_len + self.count * DIR_ENTRY_SIZE;
        if used_dir_end < start {
            let len = self.out.len();
            self.out.copy_within(start..len, used_dir_end);
            self.out.truncate(len - (start - used_dir_end));
        }
        if self.trailing_pad {
            let padded = used_dir_end + align8(self.out.len() - used_dir_end);
            self.out.resize(padded, 0);
        }
        self.out.len()
    }
}

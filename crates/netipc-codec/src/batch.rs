//! L1 batch framing: an item directory and 8-aligned items, padded to 8.
//!
//! A batch payload is a directory of `item_count` `{offset, length}` entries
//! at payload offset 0, then the packed area. Unlike codec payloads, a batch
//! is zero-padded after its last item up to a multiple of 8, and that padding
//! counts in `payload_len`. The header carries [`FLAG_BATCH`](crate::FLAG_BATCH)
//! and the item count.

use crate::directory::{DirRules, Directory, PackedWriter, RawItems};
use crate::error::{CodecError, Result};
use crate::items::IndexedView;

/// Builds a batch payload into a reusable buffer.
///
/// ```
/// use netipc::protocol::{BatchBuilder, BatchView, increment};
/// let mut buf = Vec::new();
/// let mut b = BatchBuilder::new(&mut buf, 16, 65536);
/// b.add(&increment::encode(41)).unwrap();
/// b.add(&increment::encode(7)).unwrap();
/// let (len, count) = b.finish();
/// let view = BatchView::decode(&buf[..len], count).unwrap();
/// assert_eq!(increment::decode(view.item(1).unwrap()).unwrap(), 7);
/// ```
#[derive(Debug)]
pub struct BatchBuilder<'b> {
    w: PackedWriter<'b>,
    max_items: u32,
}

impl<'b> BatchBuilder<'b> {
    /// Starts a batch of at most `max_items` items and `limit` payload bytes.
    /// `out` is cleared; its capacity is reused.
    #[inline]
    pub fn new(out: &'b mut Vec<u8>, max_items: u32, limit: usize) -> Self {
        Self {
            w: PackedWriter::new(out, 0, max_items as usize, limit, true),
            max_items,
        }
    }

    /// Appends a copy of `item`.
    #[inline(always)]
    pub fn add(&mut self, item: &[u8]) -> Result<()> {
        self.check_count()?;
        self.w.push(item)
    }

    #[inline]
    fn check_count(&self) -> Result<()> {
        if self.w.count() >= self.max_items as usize {
            return Err(CodecError::TooManyItems {
                limit: self.max_items,
            });
        }
        Ok(())
    }

    /// Appends an item of `len` bytes that `fill` writes in place.
    pub fn add_with(&mut self, len: usize, fill: impl FnOnce(&mut [u8])) -> Result<()> {
        self.check_count()?;
        fill(self.w.add(len)?);
        Ok(())
    }

    /// Appends `n` zeroed items of `item_len` bytes each and returns them as
    /// one run for the caller to fill, item `i` at `i * item_len`: the fast
    /// way to batch fixed-size items, with one budget check for all of them.
    ///
    /// Either all `n` are added or none. `item_len` must be a multiple of 8,
    /// so that the items sit back to back with no padding between them.
    ///
    /// ```
    /// use netipc::protocol::{BatchBuilder, BatchView, increment};
    /// let mut buf = Vec::new();
    /// let mut b = BatchBuilder::new(&mut buf, 100, 65536);
    /// let run = b.add_run(100, increment::INCREMENT_LEN).unwrap();
    /// for (i, item) in run.chunks_exact_mut(increment::INCREMENT_LEN).enumerate() {
    ///     item.copy_from_slice(&increment::encode(i as u64));
    /// }
    /// let (len, count) = b.finish();
    /// let view = BatchView::decode(&buf[..len], count).unwrap();
    /// assert_eq!(increment::decode(view.item(42).unwrap()).unwrap(), 42);
    /// ```
    pub fn add_run(&mut self, n: u32, item_len: usize) -> Result<&mut [u8]> {
        if !item_len.is_multiple_of(crate::wire::ALIGN) {
            return Err(CodecError::InvalidInput(
                "the items of a run must be a multiple of 8 bytes long",
            ));
        }
        if self.w.count() + n as usize > self.max_items as usize {
            return Err(CodecError::TooManyItems {
                limit: self.max_items,
            });
        }
        self.w.add_run(n as usize, item_len)
    }

    /// Whether an item was refused because it did not fit the budget
    /// (a server answers such a request with LIMIT_EXCEEDED).
    pub fn overflowed(&self) -> bool {
        self.w.exceeded()
    }

    /// Items added so far.
    pub fn count(&self) -> u32 {
        self.w.count() as u32
    }

    /// Completes the payload; returns its length and the item count for the header.
    #[inline]
    pub fn finish(self) -> (usize, u32) {
        let count = self.count();
        (self.w.finish(), count)
    }
}

/// A validated batch payload.
///
/// Borrowed and ephemeral: valid only while the payload buffer is alive and
/// unchanged.
#[derive(Debug, Clone, Copy)]
pub struct BatchView<'a> {
    dir: Directory<'a>,
}

impl<'a> BatchView<'a> {
    /// Validates the directory of a batch payload of `item_count` items.
    ///
    /// Offsets must be 8-aligned and every item must lie inside the packed
    /// area. Padding is not inspected: reference senders may leave it dirty.
    pub fn decode(payload: &'a [u8], item_count: u32) -> Result<Self> {
        let rules = DirRules {
            min_len: 0,
            exact: false,
            ordered: false,
            no_trailing: false,
        };
        Ok(Self {
            dir: Directory::parse(payload, 0, item_count, rules)?,
        })
    }

    /// Number of items.
    pub fn item_count(&self) -> u32 {
        self.dir.count()
    }

    /// The bytes of item `index`.
    pub fn item(&self, index: u32) -> Result<&'a [u8]> {
        self.dir.item(index)
    }

    /// The items in order.
    pub fn iter(&self) -> BatchItems<'a> {
        BatchItems(self.dir.raw_items())
    }
}

/// The items of a [`BatchView`], in order.
#[derive(Debug, Clone)]
pub struct BatchItems<'a>(RawItems<'a>);

impl<'a> Iterator for BatchItems<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        self.0.next()
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl ExactSizeIterator for BatchItems<'_> {}

impl<'a> IndexedView for BatchView<'a> {
    type Item = &'a [u8];

    fn count(&self) -> u32 {
        self.dir.count()
    }

    fn get(&self, index: u32) -> Result<&'a [u8]> {
        self.dir.item(index)
    }
}

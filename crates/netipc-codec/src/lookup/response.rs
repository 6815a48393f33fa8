//! The response envelope both lookup methods share: a 16-byte header (item
//! count, generation), a packed directory, one item per request key.
//!
//! [`LookupResponseView`] and [`LookupResponseBuilder`] are written once,
//! generic over a [`LookupKind`]; each method's module names its item type
//! and adds the builder's typed `add`.

use super::common::{LOOKUP_HDR_LEN, read_response_header, write_response_header};
use crate::directory::{DirRules, Directory, PackedWriter};
use crate::error::Result;
use crate::items::{IndexedView, Items};
use core::fmt::Debug;
use core::marker::PhantomData;

/// Directory slots a response builder reserves when not told better.
const SLOTS_HINT: usize = 16;

pub(super) mod sealed {
    /// Keeps [`super::LookupKind`] to the methods this crate defines.
    pub trait Sealed {}
}

/// One lookup method, as the shared response types see it: the type of
/// its decoded items and how to decode one. Implemented by
/// [`super::CgroupsLookup`] and [`super::AppsLookup`] only.
pub trait LookupKind: sealed::Sealed + Copy + Debug {
    /// A decoded response item.
    type ItemView<'a>: Copy + Debug;
    /// Length of an item's fixed header, the shortest valid item.
    const ITEM_HDR_LEN: usize;
    /// The response's name in decode errors.
    const RESPONSE: &'static str;
    /// Decodes and validates one response item.
    fn decode_item(item: &[u8]) -> Result<Self::ItemView<'_>>;
}

/// A decoded lookup response of method `K`; decoding validates every item.
///
/// Borrowed and ephemeral: valid only while the payload buffer is. Named
/// per method as [`super::CgroupsLookupResponseView`] and
/// [`super::AppsLookupResponseView`].
#[derive(Debug, Clone, Copy)]
pub struct LookupResponseView<'a, K> {
    /// Number of items.
    pub item_count: u32,
    /// Advisory service generation.
    pub generation: u64,
    dir: Directory<'a>,
    kind: PhantomData<K>,
}

impl<'a, K: LookupKind> LookupResponseView<'a, K> {
    /// Decodes and validates a response payload.
    // Kept out of line: the item checks it loops over then stay inlined in
    // it, which is what measured fastest.
    #[inline(never)]
    pub fn decode(buf: &'a [u8]) -> Result<Self> {
        let (item_count, generation) = read_response_header(buf, K::RESPONSE)?;
        let rules = DirRules {
            min_len: K::ITEM_HDR_LEN as u32,
            exact: false,
            ordered: true,
            no_trailing: true,
        };
        let dir = Directory::parse(buf, LOOKUP_HDR_LEN, item_count, rules)?;
        for raw in dir.raw_items() {
            K::decode_item(raw)?;
        }
        Ok(Self {
            item_count,
            generation,
            dir,
            kind: PhantomData,
        })
    }

    /// Item `index`.
    pub fn item(&self, index: u32) -> Result<K::ItemView<'a>> {
        K::decode_item(self.dir.item(index)?)
    }

    /// The items in order.
    pub fn iter(&self) -> Items<Self> {
        Items::new(*self)
    }
}

impl<'a, K: LookupKind> IndexedView for LookupResponseView<'a, K> {
    type Item = K::ItemView<'a>;

    fn count(&self) -> u32 {
        self.item_count
    }

    fn get(&self, index: u32) -> Result<K::ItemView<'a>> {
        self.item(index)
    }
}

/// Builds a lookup response of method `K` into a reusable buffer. Named
/// per method as [`super::CgroupsLookupResponseBuilder`] and
/// [`super::AppsLookupResponseBuilder`], which add the typed `add`.
#[derive(Debug)]
pub struct LookupResponseBuilder<'b, K> {
    pub(super) w: PackedWriter<'b>,
    generation: u64,
    kind: PhantomData<K>,
}

impl<'b, K: LookupKind> LookupResponseBuilder<'b, K> {
    /// Starts an empty response of at most `limit` payload bytes.
    pub fn new(out: &'b mut Vec<u8>, generation: u64, limit: usize) -> Self {
        Self::with_capacity(out, generation, limit, SLOTS_HINT)
    }

    /// Like `new`, with directory room for `items` items up front.
    pub fn with_capacity(out: &'b mut Vec<u8>, generation: u64, limit: usize, items: usize) -> Self {
        Self {
            w: PackedWriter::new(out, LOOKUP_HDR_LEN, items, limit, false),
            generation,
            kind: PhantomData,
        }
    }

    /// Whether an item of `item_len` bytes fits while leaving `suffix`
    /// bytes of items, and directory room for `total_items` in all.
    pub(crate) fn fits_before_suffix(&self, item_len: usize, suffix: usize, total_items: usize) -> bool {
        self.w.fits_before_suffix(item_len, suffix, total_items)
    }

    /// Appends an item given as its wire bytes (for example, copied from a
    /// decoded response); it is checked as the decoder would.
    pub fn add_item_bytes(&mut self, item: &[u8]) -> Result<()> {
        K::decode_item(item)?;
        self.w.push(item)
    }

    /// Sets the generation written at finish.
    pub fn set_generation(&mut self, generation: u64) {
        self.generation = generation;
    }

    /// Whether an item of `item_len` bytes still fits the budget.
    pub fn fits(&self, item_len: usize) -> bool {
        self.w.fits(item_len)
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

    /// Completes the payload and returns its length.
    pub fn finish(mut self) -> usize {
        let count = self.count();
        write_response_header(self.w.header_mut(), count, self.generation);
        self.w.finish()
    }
}

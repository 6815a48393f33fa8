//! Request-aware lookup response builders for servers: one item per request
//! key, in order, with the protocol's standard outcomes when the response
//! budget runs out.
//!
//! Before writing a key's full answer, the responder checks that the answer
//! fits while leaving room to mark every later key PAYLOAD_EXCEEDED. When it
//! does not fit, the key and all later keys are marked PAYLOAD_EXCEEDED (the
//! client retries them), unless it is the first item of the response: that
//! one is marked OVERSIZED_ITEM, as the reference's servers mark it, so that
//! every response makes progress. The outcome is final, so a client leaves
//! the first key of a request room for a large answer.
//!
//! That bookkeeping is written once, in [`Progress`], generic over the
//! method; the two public responders add each method's way of answering.

use super::apps::{
    APPS_LOOKUP_ITEM_HDR_LEN, AppsLookup, AppsLookupEntry, AppsLookupRequestView, AppsLookupStatus,
    key_pid_checked,
};
use super::cgroups::{
    CGROUPS_LOOKUP_ITEM_HDR_LEN, CgroupsLookup, CgroupsLookupEntry, CgroupsLookupRequestView,
    CgroupsLookupStatus, key_path_checked,
};
use super::common::{LOOKUP_HDR_LEN, LabelInput, Orchestrator};
use super::response::{LookupKind, LookupResponseBuilder};
use crate::directory::{DIR_ENTRY_SIZE, RawItems};
use crate::error::{CodecError, Result};
use crate::strview::StrView;
use crate::wire::align8;
use core::fmt::Debug;

/// What became of an answer given to a responder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placed {
    /// Written as given.
    Answered,
    /// Could never fit: written as OVERSIZED_ITEM.
    Oversized,
    /// The budget ran out: this key and every later one are PAYLOAD_EXCEEDED.
    PayloadExceeded,
}

/// What a responder needs of a lookup method beyond its response types:
/// its keys and its non-KNOWN items ("stubs").
pub(crate) trait Respond: LookupKind {
    /// A request key, as the responder hands it out.
    type Key<'r>: Copy + Debug;
    /// The per-item outcome.
    type Status: Copy;
    /// OVERSIZED_ITEM.
    const OVERSIZED: Self::Status;
    /// PAYLOAD_EXCEEDED.
    const EXCEEDED: Self::Status;
    /// The key of a raw directory key that the request decoder checked.
    fn key(raw: &[u8]) -> Self::Key<'_>;
    /// Wire length of the non-KNOWN item answering `key`.
    fn stub_len(key: Self::Key<'_>) -> usize;
    /// Bytes that the keys in `keys` take as 8-aligned stubs.
    fn stubs_len(keys: RawItems<'_>) -> usize {
        keys.map(|k| align8(Self::stub_len(Self::key(k)))).sum()
    }
    /// Appends the non-KNOWN item answering `key` with `status`.
    fn add_stub(
        b: &mut LookupResponseBuilder<'_, Self>,
        key: Self::Key<'_>,
        status: Self::Status,
    ) -> Result<()>;
}

impl Respond for CgroupsLookup {
    type Key<'r> = &'r [u8];
    type Status = CgroupsLookupStatus;
    const OVERSIZED: CgroupsLookupStatus = CgroupsLookupStatus::OversizedItem;
    const EXCEEDED: CgroupsLookupStatus = CgroupsLookupStatus::PayloadExceeded;

    #[inline]
    fn key(raw: &[u8]) -> &[u8] {
        key_path_checked(raw)
    }

    /// The header, the echoed path and the empty name, each with its NUL.
    #[inline]
    fn stub_len(path: &[u8]) -> usize {
        CGROUPS_LOOKUP_ITEM_HDR_LEN + path.len() + 2
    }

    #[inline]
    fn add_stub(
        b: &mut LookupResponseBuilder<'_, Self>,
        path: &[u8],
        status: CgroupsLookupStatus,
    ) -> Result<()> {
        b.add_stub(path, status)
    }
}

/// Wire length of a non-KNOWN apps item: the header and three empty strings.
const APPS_STUB_LEN: usize = APPS_LOOKUP_ITEM_HDR_LEN + 3;

impl Respond for AppsLookup {
    type Key<'r> = u32;
    type Status = AppsLookupStatus;
    const OVERSIZED: AppsLookupStatus = AppsLookupStatus::OversizedItem;
    const EXCEEDED: AppsLookupStatus = AppsLookupStatus::PayloadExceeded;

    #[inline]
    fn key(raw: &[u8]) -> u32 {
        key_pid_checked(raw)
    }

    #[inline]
    fn stub_len(_: u32) -> usize {
        APPS_STUB_LEN
    }

    #[inline]
    fn stubs_len(keys: RawItems<'_>) -> usize {
        keys.len() * align8(APPS_STUB_LEN)
    }

    #[inline]
    fn add_stub(b: &mut LookupResponseBuilder<'_, Self>, pid: u32, status: AppsLookupStatus) -> Result<()> {
        b.add_stub(pid, status)
    }
}

/// A responder's progress through the request keys, and the response so far.
#[derive(Debug)]
struct Progress<'b, 'r, K: Respond> {
    b: LookupResponseBuilder<'b, K>,
    /// Keys in the request.
    total: u32,
    /// The keys after `key`.
    keys: RawItems<'r>,
    /// The key to answer next.
    key: Option<K::Key<'r>>,
    /// Bytes that `key` and the keys after it take as 8-aligned
    /// PAYLOAD_EXCEEDED stubs.
    suffix: usize,
    exceeded: bool,
}

impl<'b, 'r, K: Respond> Progress<'b, 'r, K> {
    /// Starts the response to the request `keys` within `limit` bytes; fails
    /// with `LimitExceeded` when not even marking every key
    /// PAYLOAD_EXCEEDED would fit.
    #[inline]
    fn new(out: &'b mut Vec<u8>, mut keys: RawItems<'r>, generation: u64, limit: usize) -> Result<Self> {
        let total = keys.len();
        let suffix = K::stubs_len(keys.clone());
        let need = LOOKUP_HDR_LEN + total * DIR_ENTRY_SIZE + suffix;
        if need > limit {
            return Err(CodecError::LimitExceeded { need, limit });
        }
        Ok(Self {
            b: LookupResponseBuilder::with_capacity(out, generation, limit, total),
            total: total as u32,
            key: keys.next().map(K::key),
            keys,
            suffix,
            exceeded: false,
        })
    }

    /// The key to answer next, unless the budget ran out (the rest is
    /// marked already).
    fn next_key(&self) -> Option<K::Key<'r>> {
        if self.exceeded { None } else { self.key }
    }

    /// The key to answer now: `None` once the budget ran out, an error once
    /// every key is answered.
    #[inline]
    fn pending(&self) -> Result<Option<K::Key<'r>>> {
        if self.exceeded {
            return Ok(None);
        }
        self.key
            .map(Some)
            .ok_or(CodecError::InvalidInput("every key is answered"))
    }

    /// Moves on to the next key.
    #[inline]
    fn advance(&mut self, key: K::Key<'r>) {
        self.suffix -= align8(K::stub_len(key));
        self.key = self.keys.next().map(K::key);
    }

    /// Answers `key`, the pending one, with `len` bytes that `write` adds,
    /// if they fit beside the stubs of the later keys; else marks it
    /// OVERSIZED_ITEM (first item) or it and the rest PAYLOAD_EXCEEDED.
    #[inline(always)]
    fn place(
        &mut self,
        key: K::Key<'r>,
        len: usize,
        write: impl FnOnce(&mut LookupResponseBuilder<'b, K>) -> Result<()>,
    ) -> Result<Placed> {
        let after = self.suffix - align8(K::stub_len(key));
        if !self.b.fits_before_suffix(len, after, self.total as usize) {
            return self.out_of_room(key);
        }
        write(&mut self.b)?;
        self.advance(key);
        Ok(Placed::Answered)
    }

    /// The answer to `key` does not fit: OVERSIZED_ITEM if it is the first
    /// item, else it and the rest are PAYLOAD_EXCEEDED.
    #[cold]
    fn out_of_room(&mut self, key: K::Key<'r>) -> Result<Placed> {
        if self.b.count() == 0 {
            K::add_stub(&mut self.b, key, K::OVERSIZED)?;
            self.advance(key);
            return Ok(Placed::Oversized);
        }
        self.exceeded = true;
        while let Some(key) = self.key {
            K::add_stub(&mut self.b, key, K::EXCEEDED)?;
            self.key = self.keys.next().map(K::key);
        }
        Ok(Placed::PayloadExceeded)
    }

    /// Completes the response. Every key must have an item by now.
    #[inline]
    fn finish(self) -> Result<usize> {
        if self.b.count() != self.total {
            return Err(CodecError::InvalidInput("not every key was answered"));
        }
        Ok(self.b.finish())
    }
}

/// Answers a CGROUPS_LOOKUP request key by key.
#[derive(Debug)]
pub struct CgroupsLookupResponder<'b, 'r>(Progress<'b, 'r, CgroupsLookup>);

impl<'b, 'r> CgroupsLookupResponder<'b, 'r> {
    /// Starts the response to `request` within `limit` bytes. Fails with
    /// `LimitExceeded` when not even a response marking every key
    /// PAYLOAD_EXCEEDED would fit (the server answers LIMIT_EXCEEDED).
    #[inline]
    pub fn new(
        out: &'b mut Vec<u8>,
        request: CgroupsLookupRequestView<'r>,
        generation: u64,
        limit: usize,
    ) -> Result<Self> {
        Progress::new(out, request.raw_keys(), generation, limit).map(Self)
    }

    /// Sets the generation written at finish.
    pub fn set_generation(&mut self, generation: u64) {
        self.0.b.set_generation(generation);
    }

    /// The path of the next key to answer, or `None` when all are answered
    /// (or the budget ran out and the rest is marked already).
    pub fn next_key(&self) -> Option<StrView<'r>> {
        self.0.next_key().map(StrView::new)
    }

    /// Number of keys in the request.
    pub fn key_count(&self) -> u32 {
        self.0.total
    }

    /// Answers the next key KNOWN.
    pub fn known(
        &mut self,
        orchestrator: Orchestrator,
        name: &[u8],
        labels: &[LabelInput<'_>],
    ) -> Result<Placed> {
        let Some(path) = self.0.pending()? else {
            return Ok(Placed::PayloadExceeded);
        };
        let entry = CgroupsLookupEntry {
            status: CgroupsLookupStatus::Known,
            orchestrator,
            path,
            name,
            labels,
        };
        let len = entry.wire_len_trusting_path()?;
        self.0.place(path, len, |b| b.add_sized(&entry, len))
    }

    /// Answers the next key with a non-KNOWN status (UNKNOWN_RETRY_LATER,
    /// UNKNOWN_PERMANENT, OVERSIZED_ITEM).
    pub fn not_known(&mut self, status: CgroupsLookupStatus) -> Result<Placed> {
        let Some(path) = self.0.pending()? else {
            return Ok(Placed::PayloadExceeded);
        };
        // The path came from the decoded request: the item is always valid.
        let len = CgroupsLookup::stub_len(path);
        self.0.place(path, len, |b| b.add_stub(path, status))
    }

    /// Completes the response. Every key must have an item by now.
    #[inline]
    pub fn finish(self) -> Result<usize> {
        self.0.finish()
    }
}

/// Answers an APPS_LOOKUP request key by key.
#[derive(Debug)]
pub struct AppsLookupResponder<'b, 'r>(Progress<'b, 'r, AppsLookup>);

impl<'b, 'r> AppsLookupResponder<'b, 'r> {
    /// Starts the response to `request` within `limit` bytes; fails like
    /// [`CgroupsLookupResponder::new`].
    #[inline]
    pub fn new(
        out: &'b mut Vec<u8>,
        request: AppsLookupRequestView<'r>,
        generation: u64,
        limit: usize,
    ) -> Result<Self> {
        Progress::new(out, request.raw_keys(), generation, limit).map(Self)
    }

    /// Sets the generation written at finish.
    pub fn set_generation(&mut self, generation: u64) {
        self.0.b.set_generation(generation);
    }

    /// The next PID to answer, or `None` when all are answered.
    pub fn next_key(&self) -> Option<u32> {
        self.0.next_key()
    }

    /// Number of keys in the request.
    pub fn key_count(&self) -> u32 {
        self.0.total
    }

    /// Answers the next PID. `entry.pid` must be that PID.
    pub fn answer(&mut self, entry: &AppsLookupEntry<'_>) -> Result<Placed> {
        let Some(pid) = self.0.pending()? else {
            return Ok(Placed::PayloadExceeded);
        };
        if entry.pid != pid {
            return Err(CodecError::InvalidInput("an answer must echo its request PID"));
        }
        let len = entry.wire_len()?;
        self.0.place(pid, len, |b| b.add_sized(entry, len))
    }

    /// Answers the next PID with a non-KNOWN status.
    pub fn not_known(&mut self, status: AppsLookupStatus) -> Result<Placed> {
        let Some(pid) = self.0.pending()? else {
            return Ok(Placed::PayloadExceeded);
        };
        if status == AppsLookupStatus::Known {
            // A KNOWN PID needs its fields: the full check names the rule.
            return self.answer(&AppsLookupEntry::not_known(pid, status));
        }
        self.0.place(pid, APPS_STUB_LEN, |b| b.add_stub(pid, status))
    }

    /// Completes the response. Every key must have an item by now.
    #[inline]
    pub fn finish(self) -> Result<usize> {
        self.0.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{
        AppsLookupResponseBuilder, AppsLookupResponseView, CgroupsLookupResponseBuilder,
        CgroupsLookupResponseView,
    };
    use super::*;
    use proptest::prelude::*;

    fn cgroups_status() -> impl Strategy<Value = CgroupsLookupStatus> {
        (0u16..5).prop_map(|s| CgroupsLookupStatus::try_from(s).unwrap())
    }

    proptest! {
        /// The stubs the responders write are the bytes the checked
        /// builders write for the same answers, in any position, and as
        /// long as the budget arithmetic counts them.
        #[test]
        fn stubs_are_the_checked_items(
            pids in prop::collection::vec(any::<u32>(), 1..6),
            apps_status in 1u16..4,
            paths in prop::collection::vec(prop::collection::vec(1u8..=255, 1..40), 1..6),
            status in cgroups_status(),
        ) {
            let apps_status = AppsLookupStatus::try_from(apps_status).unwrap();
            let (mut fast, mut checked) = (Vec::new(), Vec::new());
            let mut f = AppsLookupResponseBuilder::new(&mut fast, 3, usize::MAX);
            let mut c = AppsLookupResponseBuilder::new(&mut checked, 3, usize::MAX);
            for &pid in &pids {
                f.add_stub(pid, apps_status).unwrap();
                c.add(&AppsLookupEntry::not_known(pid, apps_status)).unwrap();
            }
            let (n, m) = (f.finish(), c.finish());
            prop_assert_eq!(&fast[..n], &checked[..m]);
            let view = AppsLookupResponseView::decode(&fast[..n]).unwrap();
            for (item, &pid) in view.iter().zip(&pids) {
                prop_assert_eq!(item.as_bytes().len(), AppsLookup::stub_len(pid));
            }

            let mut f = CgroupsLookupResponseBuilder::new(&mut fast, 3, usize::MAX);
            let mut c = CgroupsLookupResponseBuilder::new(&mut checked, 3, usize::MAX);
            for p in &paths {
                f.add_stub(p, status).unwrap();
                c.add(&CgroupsLookupEntry::unknown(p, status)).unwrap();
            }
            let (n, m) = (f.finish(), c.finish());
            prop_assert_eq!(&fast[..n], &checked[..m]);
            let view = CgroupsLookupResponseView::decode(&fast[..n]).unwrap();
            for (item, p) in view.iter().zip(&paths) {
                prop_assert_eq!(item.as_bytes().len(), CgroupsLookup::stub_len(p));
            }
        }
    }
}

//! Request-aware lookup response builders for servers: one item per request
//! key, in order, with the protocol's standard outcomes when the response
//! budget runs out.
//!
//! Before writing a key's full answer, the responder checks that the answer
//! fits while leaving room to mark every later key PAYLOAD_EXCEEDED. When it
//! does not fit, the key and all later keys are marked PAYLOAD_EXCEEDED (the
//! client retries them), unless it is the first item of the response, which
//! then can never fit and is marked OVERSIZED_ITEM (final) so that every
//! response makes progress.

use super::apps::{
    APPS_LOOKUP_ITEM_HDR_LEN, AppsLookupEntry, AppsLookupRequestView, AppsLookupResponseBuilder,
    AppsLookupStatus, key_pid_checked,
};
use super::cgroups::{
    CGROUPS_LOOKUP_ITEM_HDR_LEN, CgroupsLookupEntry, CgroupsLookupRequestView, CgroupsLookupResponseBuilder,
    CgroupsLookupStatus, key_path_checked,
};
use super::common::{LabelInput, Orchestrator};
use crate::directory::RawItems;
use crate::error::{CodecError, Result};
use crate::strview::StrView;
use crate::wire::align8;

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

/// Wire length of a non-KNOWN cgroups item echoing a path of `len` bytes.
fn cgroups_stub_len(path_len: usize) -> usize {
    CGROUPS_LOOKUP_ITEM_HDR_LEN + path_len + 2
}

/// Wire length of a non-KNOWN apps item.
const APPS_STUB_LEN: usize = APPS_LOOKUP_ITEM_HDR_LEN + 3;

/// Answers a CGROUPS_LOOKUP request key by key.
#[derive(Debug)]
pub struct CgroupsLookupResponder<'b, 'r> {
    b: CgroupsLookupResponseBuilder<'b>,
    request: CgroupsLookupRequestView<'r>,
    /// The keys after `key`.
    keys: RawItems<'r>,
    /// The path of the key to answer next.
    key: Option<&'r [u8]>,
    /// Bytes that `key` and the keys after it take as 8-aligned
    /// PAYLOAD_EXCEEDED stubs.
    suffix: usize,
    exceeded: bool,
}

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
        let mut keys = request.raw_keys();
        let suffix = keys
            .clone()
            .map(|k| align8(cgroups_stub_len(key_path_checked(k).len())))
            .sum::<usize>();
        let b =
            CgroupsLookupResponseBuilder::with_capacity(out, generation, limit, request.item_count as usize);
        let need =
            super::common::LOOKUP_HDR_LEN + request.item_count as usize * crate::DIR_ENTRY_SIZE + suffix;
        if need > limit {
            return Err(CodecError::LimitExceeded { need, limit });
        }
        Ok(Self {
            b,
            key: keys.next().map(key_path_checked),
            keys,
            request,
            suffix,
            exceeded: false,
        })
    }

    /// Sets the generation written at finish.
    pub fn set_generation(&mut self, generation: u64) {
        self.b.set_generation(generation);
    }

    /// Moves on to the next key.
    #[inline]
    fn advance(&mut self) {
        self.key = self.keys.next().map(key_path_checked);
    }

    /// The path of the next key to answer, or `None` when all are answered
    /// (or the budget ran out and the rest is marked already).
    pub fn next_key(&self) -> Option<StrView<'r>> {
        if self.exceeded {
            return None;
        }
        self.key.map(StrView::new)
    }

    /// Number of keys in the request.
    pub fn key_count(&self) -> u32 {
        self.request.item_count
    }

    /// Answers the next key KNOWN.
    pub fn known(
        &mut self,
        orchestrator: Orchestrator,
        name: &[u8],
        labels: &[LabelInput<'_>],
    ) -> Result<Placed> {
        self.answer(CgroupsLookupStatus::Known, orchestrator, name, labels)
    }

    /// Answers the next key with a non-KNOWN status (UNKNOWN_RETRY_LATER,
    /// UNKNOWN_PERMANENT, OVERSIZED_ITEM).
    pub fn not_known(&mut self, status: CgroupsLookupStatus) -> Result<Placed> {
        if self.exceeded {
            return Ok(Placed::PayloadExceeded);
        }
        let path = self
            .key
            .ok_or(CodecError::InvalidInput("every key is answered"))?;
        // The path came from the decoded request: the item is always valid.
        self.place(cgroups_stub_len(path.len()), path, |b| b.add_stub(path, status))
    }

    fn answer(
        &mut self,
        status: CgroupsLookupStatus,
        orchestrator: Orchestrator,
        name: &[u8],
        labels: &[LabelInput<'_>],
    ) -> Result<Placed> {
        if self.exceeded {
            return Ok(Placed::PayloadExceeded);
        }
        let path = self
            .key
            .ok_or(CodecError::InvalidInput("every key is answered"))?;
        let entry = CgroupsLookupEntry {
            status,
            orchestrator,
            path,
            name,
            labels,
        };
        let len = entry.wire_len_trusting_path()?;
        self.place(len, path, |b| b.add_sized(&entry, len))
    }

    /// Writes the answer of `len` bytes to the key `path` with `write` if it
    /// fits beside the stubs of the later keys; else marks it OVERSIZED_ITEM
    /// (first item) or it and the rest PAYLOAD_EXCEEDED.
    #[inline(always)]
    fn place(
        &mut self,
        len: usize,
        path: &[u8],
        write: impl FnOnce(&mut CgroupsLookupResponseBuilder<'b>) -> Result<()>,
    ) -> Result<Placed> {
        let after = self.suffix - align8(cgroups_stub_len(path.len()));
        let total = self.request.item_count as usize;
        if !self.b.fits_before_suffix(len, after, total) {
            return self.out_of_room(path, after);
        }
        write(&mut self.b)?;
        self.suffix = after;
        self.advance();
        Ok(Placed::Answered)
    }

    /// The answer to `path` does not fit: OVERSIZED_ITEM if it is the first
    /// item, else it and the rest are PAYLOAD_EXCEEDED.
    #[cold]
    fn out_of_room(&mut self, path: &[u8], after: usize) -> Result<Placed> {
        if self.b.count() == 0 {
            self.b.add_stub(path, CgroupsLookupStatus::OversizedItem)?;
            self.suffix = after;
            self.advance();
            return Ok(Placed::Oversized);
        }
        self.exceeded = true;
        while let Some(path) = self.key {
            self.b.add_stub(path, CgroupsLookupStatus::PayloadExceeded)?;
            self.advance();
        }
        Ok(Placed::PayloadExceeded)
    }

    /// Completes the response. Every key must have an item by now.
    #[inline]
    pub fn finish(self) -> Result<usize> {
        if self.b.count() != self.request.item_count {
            return Err(CodecError::InvalidInput("not every key was answered"));
        }
        Ok(self.b.finish())
    }
}

/// Answers an APPS_LOOKUP request key by key.
#[derive(Debug)]
pub struct AppsLookupResponder<'b, 'r> {
    b: AppsLookupResponseBuilder<'b>,
    request: AppsLookupRequestView<'r>,
    /// The keys after `key`.
    keys: RawItems<'r>,
    /// The PID to answer next.
    key: Option<u32>,
    /// Bytes that `key` and the keys after it take as 8-aligned
    /// PAYLOAD_EXCEEDED stubs.
    suffix: usize,
    exceeded: bool,
}

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
        let n = request.item_count as usize;
        let suffix = n * align8(APPS_STUB_LEN);
        let b = AppsLookupResponseBuilder::with_capacity(out, generation, limit, n);
        let need = super::common::LOOKUP_HDR_LEN + n * crate::DIR_ENTRY_SIZE + suffix;
        if need > limit {
            return Err(CodecError::LimitExceeded { need, limit });
        }
        let mut keys = request.raw_keys();
        Ok(Self {
            b,
            key: keys.next().map(key_pid_checked),
            keys,
            request,
            suffix,
            exceeded: false,
        })
    }

    /// Sets the generation written at finish.
    pub fn set_generation(&mut self, generation: u64) {
        self.b.set_generation(generation);
    }

    /// Moves on to the next key.
    #[inline]
    fn advance(&mut self) {
        self.key = self.keys.next().map(key_pid_checked);
    }

    /// The next PID to answer, or `None` when all are answered.
    pub fn next_key(&self) -> Option<u32> {
        if self.exceeded {
            return None;
        }
        self.key
    }

    /// Number of keys in the request.
    pub fn key_count(&self) -> u32 {
        self.request.item_count
    }

    /// Answers the next PID. `entry.pid` must be that PID.
    pub fn answer(&mut self, entry: &AppsLookupEntry<'_>) -> Result<Placed> {
        if self.exceeded {
            return Ok(Placed::PayloadExceeded);
        }
        let pid = self
            .key
            .ok_or(CodecError::InvalidInput("every key is answered"))?;
        if entry.pid != pid {
            return Err(CodecError::InvalidInput("an answer must echo its request PID"));
        }
        let len = entry.wire_len()?;
        self.place(len, |b| b.add_sized(entry, len))
    }

    /// Answers the next PID with a non-KNOWN status.
    pub fn not_known(&mut self, status: AppsLookupStatus) -> Result<Placed> {
        if self.exceeded {
            return Ok(Placed::PayloadExceeded);
        }
        let pid = self
            .key
            .ok_or(CodecError::InvalidInput("every key is answered"))?;
        if status == AppsLookupStatus::Known {
            // A KNOWN PID needs its fields: the full check names the rule.
            return self.answer(&AppsLookupEntry::not_known(pid, status));
        }
        self.place(APPS_STUB_LEN, |b| b.add_stub(pid, status))
    }

    /// Writes the answer of `len` bytes to the next PID with `write` if it
    /// fits beside the stubs of the later keys; else marks it OVERSIZED_ITEM
    /// (first item) or it and the rest PAYLOAD_EXCEEDED.
    #[inline(always)]
    fn place(
        &mut self,
        len: usize,
        write: impl FnOnce(&mut AppsLookupResponseBuilder<'b>) -> Result<()>,
    ) -> Result<Placed> {
        let after = self.suffix - align8(APPS_STUB_LEN);
        let total = self.request.item_count as usize;
        if !self.b.fits_before_suffix(len, after, total) {
            return self.out_of_room();
        }
        write(&mut self.b)?;
        self.suffix = after;
        self.advance();
        Ok(Placed::Answered)
    }

    /// The next PID's answer does not fit: OVERSIZED_ITEM if it is the first
    /// item, else it and the rest are PAYLOAD_EXCEEDED.
    #[cold]
    fn out_of_room(&mut self) -> Result<Placed> {
        if let (0, Some(pid)) = (self.b.count(), self.key) {
            self.b.add_stub(pid, AppsLookupStatus::OversizedItem)?;
            self.suffix -= align8(APPS_STUB_LEN);
            self.advance();
            return Ok(Placed::Oversized);
        }
        self.exceeded = true;
        while let Some(pid) = self.key {
            self.b.add_stub(pid, AppsLookupStatus::PayloadExceeded)?;
            self.advance();
        }
        Ok(Placed::PayloadExceeded)
    }

    /// Completes the response. Every key must have an item by now.
    #[inline]
    pub fn finish(self) -> Result<usize> {
        if self.b.count() != self.request.item_count {
            return Err(CodecError::InvalidInput("not every key was answered"));
        }
        Ok(self.b.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cgroups_status() -> impl Strategy<Value = CgroupsLookupStatus> {
        (0u16..5).prop_map(|s| CgroupsLookupStatus::try_from(s).unwrap())
    }

    proptest! {
        /// The stubs the responders write are the bytes the checked
        /// builders write for the same answers, in any position.
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

            let mut f = CgroupsLookupResponseBuilder::new(&mut fast, 3, usize::MAX);
            let mut c = CgroupsLookupResponseBuilder::new(&mut checked, 3, usize::MAX);
            for p in &paths {
                f.add_stub(p, status).unwrap();
                c.add(&CgroupsLookupEntry::unknown(p, status)).unwrap();
            }
            let (n, m) = (f.finish(), c.finish());
            prop_assert_eq!(&fast[..n], &checked[..m]);
        }
    }
}

//! The logical lookup calls without their I/O: which keys the next
//! request carries, and what each answer adds to the stitched response.
//!
//! A driver asks [`CgroupsLookupCall::next_request`] (or the apps twin)
//! for the next request, which is encoded into the core's request buffer;
//! runs it as one call ([`ClientCore::begin_call`]) bounded by
//! [`CgroupsLookupCall::deadline`]; hands the answer's payload to
//! [`CgroupsLookupCall::answered`]; and once `next_request` says `None`,
//! decodes the stitched response that [`CgroupsLookupCall::finish`]
//! closed.

use super::{CallSpec, ClientCore};
use crate::error::{LimitKind, Result, ServiceError};
use crate::lookup::{Stitch, check_items, first_answer_reserve, response_floor, stitch_answer, stitch_error};
use crate::transport::codec::lookup::{
    APPS_LOOKUP_ITEM_HDR_LEN, APPS_LOOKUP_KEY_LEN, AppsLookupRequestBuilder, AppsLookupResponseBuilder,
    CGROUPS_LOOKUP_ITEM_HDR_LEN, CgroupsLookupEntry, CgroupsLookupRequestBuilder,
    CgroupsLookupResponseBuilder, CgroupsLookupStatus, LOOKUP_HDR_LEN,
};
use crate::transport::codec::{DIR_ENTRY_SIZE, METHOD_APPS_LOOKUP, METHOD_CGROUPS_LOOKUP, align8};
use std::time::{Duration, Instant};

fn key_cost(path: &[u8]) -> usize {
    DIR_ENTRY_SIZE + align8(path.len() + 1)
}

/// One logical `cgroups-lookup` call in progress: the keys, the stitched
/// response so far, and the request under way.
pub struct CgroupsLookupCall<'k, 's, P> {
    paths: &'k [P],
    out: CgroupsLookupResponseBuilder<'s>,
    st: Stitch,
    next: usize,
    /// Keys of the request under way: from `first`, `sent` of them.
    first: usize,
    sent: usize,
}

impl<'k, 's, P: AsRef<[u8]>> CgroupsLookupCall<'k, 's, P> {
    /// Starts a lookup of `paths` within `timeout` (zero: the client's
    /// call timeout), stitching into `stitched`. Refuses too many keys, and
    /// a path that is empty or holds a NUL.
    pub fn new(
        core: &ClientCore,
        paths: &'k [P],
        stitched: &'s mut Vec<u8>,
        timeout: Duration,
    ) -> Result<Self> {
        let (max_items, max_subcalls, max_bytes) = core.config().lookup_limits();
        check_items(paths.len(), max_items).map_err(|f| f.at(core.endpoint()))?;
        for p in paths {
            let p = p.as_ref();
            if p.is_empty() || p.contains(&0) {
                return Err(core.invalid_request("a lookup path is empty or contains NUL", None));
            }
        }
        Ok(Self {
            paths,
            out: CgroupsLookupResponseBuilder::with_capacity(stitched, 0, max_bytes as usize, paths.len()),
            st: Stitch::new(max_subcalls, core.deadline_for(timeout)),
            next: 0,
            first: 0,
            sent: 0,
        })
    }

    /// When the whole logical call must be over: every request of it
    /// runs until then.
    pub fn deadline(&self) -> Instant {
        self.st.deadline
    }

    /// Encodes the next request into `core`'s request buffer, answering
    /// keys that can never fit a request locally (OVERSIZED_ITEM); `None`
    /// once every key has its answer.
    pub fn next_request(&mut self, core: &mut ClientCore) -> Result<Option<CallSpec>> {
        let paths = self.paths;
        if self.next == paths.len() && self.st.subcalls > 0 {
            return Ok(None);
        }
        // Keys that can never fit one request are answered here.
        let budget = core.request_budget();
        while self.next < paths.len() && LOOKUP_HDR_LEN + key_cost(paths[self.next].as_ref()) > budget {
            let p = paths[self.next].as_ref();
            self.out
                .add(&CgroupsLookupEntry::unknown(
                    p,
                    CgroupsLookupStatus::OversizedItem,
                ))
                .map_err(|e| stitch_error(e).at(core.endpoint()))?;
            self.next += 1;
        }
        if self.next == paths.len() && self.st.subcalls > 0 {
            return Ok(None);
        }
        // A request the server can always answer: every key must fit the
        // request budget, and its not-known answer the response budget.
        // Keys are counted at the largest answer seen (`room`), and the
        // first one's answer keeps room beside the not-known answers of
        // the others (`stub_room`, see `first_answer_reserve`).
        let mut room = core.response_budget().saturating_sub(LOOKUP_HDR_LEN);
        let mut stub_room = room.saturating_sub(first_answer_reserve(room));
        let largest = self.st.largest_answer;
        let first = self.next;
        let mut next = first;
        let mut req =
            CgroupsLookupRequestBuilder::with_capacity(core.request_mut(), budget, paths.len() - first);
        let mut refused = None;
        while next < paths.len() && req.fits(paths[next].as_ref()) {
            let stub = CGROUPS_LOOKUP_ITEM_HDR_LEN + paths[next].as_ref().len() + 2;
            let floor = response_floor(stub.max(largest));
            if req.count() > 0 {
                let not_known = response_floor(stub);
                if floor > room || not_known > stub_room {
                    break;
                }
                stub_room -= not_known;
            }
            room = room.saturating_sub(floor);
            if let Err(e) = req.add(paths[next].as_ref()) {
                refused = Some(e);
                break;
            }
            next += 1;
        }
        let sent = req.count() as usize;
        req.finish();
        if let Some(e) = refused {
            return Err(ServiceError::InvalidRequest {
                endpoint: core.endpoint().clone(),
                what: "a lookup path cannot be encoded",
                source: Some(e),
            });
        }
        self.first = first;
        self.sent = sent;
        self.st.next_subcall().map_err(|f| f.at(core.endpoint()))?;
        Ok(Some(CallSpec::single(METHOD_CGROUPS_LOOKUP)))
    }

    /// Takes the answer to the request under way: checks it against its
    /// keys and stitches its answered prefix. A response that breaks the
    /// contract poisons the session.
    pub fn answered(&mut self, core: &ClientCore, payload: &[u8]) -> Result<()> {
        let keys = &self.paths[self.first..self.first + self.sent];
        self.next = self.first + stitch_answer(core, payload, keys, &mut self.st, &mut self.out)?;
        Ok(())
    }

    /// Closes the stitched response; returns its length (the caller cuts
    /// its buffer to it and decodes the view).
    pub fn finish(mut self) -> usize {
        self.out.set_generation(self.st.generation.unwrap_or(0));
        self.out.finish()
    }
}

/// One logical `apps-lookup` call in progress: the PIDs, the stitched
/// response so far, and the request under way.
pub struct AppsLookupCall<'k, 's> {
    pids: &'k [u32],
    out: AppsLookupResponseBuilder<'s>,
    st: Stitch,
    next: usize,
    first: usize,
    sent: usize,
}

impl<'k, 's> AppsLookupCall<'k, 's> {
    /// Starts a lookup of `pids` within `timeout` (zero: the client's call
    /// timeout), stitching into `stitched`. Refuses too many keys, and a
    /// request budget too small for one.
    pub fn new(
        core: &ClientCore,
        pids: &'k [u32],
        stitched: &'s mut Vec<u8>,
        timeout: Duration,
    ) -> Result<Self> {
        let (max_items, max_subcalls, max_bytes) = core.config().lookup_limits();
        check_items(pids.len(), max_items).map_err(|f| f.at(core.endpoint()))?;
        let budget = core.request_budget();
        if AppsLookupRequestBuilder::max_keys(budget) == 0 {
            return Err(core.limit(
                LimitKind::Request,
                Some((LOOKUP_HDR_LEN + DIR_ENTRY_SIZE + APPS_LOOKUP_KEY_LEN) as u64),
                budget as u64,
            ));
        }
        Ok(Self {
            pids,
            out: AppsLookupResponseBuilder::with_capacity(stitched, 0, max_bytes as usize, pids.len()),
            st: Stitch::new(max_subcalls, core.deadline_for(timeout)),
            next: 0,
            first: 0,
            sent: 0,
        })
    }

    /// When the whole logical call must be over.
    pub fn deadline(&self) -> Instant {
        self.st.deadline
    }

    /// Encodes the next request into `core`'s request buffer; `None` once
    /// every PID has its answer.
    pub fn next_request(&mut self, core: &mut ClientCore) -> Result<Option<CallSpec>> {
        let pids = self.pids;
        if self.next == pids.len() && self.st.subcalls > 0 {
            return Ok(None);
        }
        let budget = core.request_budget();
        // Every key's not-known answer must also fit the response budget.
        // Keys are counted at the largest answer seen, and the first
        // one's answer keeps room beside the not-known answers of the
        // others (see `first_answer_reserve`).
        let stub = APPS_LOOKUP_ITEM_HDR_LEN + 3;
        let not_known = response_floor(stub);
        let floor = response_floor(stub.max(self.st.largest_answer));
        let room = core.response_budget().saturating_sub(LOOKUP_HDR_LEN);
        let beside_first = room.saturating_sub(first_answer_reserve(room)) / not_known;
        let keys_answerable = (room / floor).min(1 + beside_first).max(1);
        // As many keys as the request budget holds and the response
        // budget can answer.
        let first = self.next;
        let sent = (pids.len() - first)
            .min(keys_answerable)
            .min(AppsLookupRequestBuilder::max_keys(budget));
        let mut req = AppsLookupRequestBuilder::with_capacity(core.request_mut(), budget, sent);
        let added = req.add_all(&pids[first..first + sent]);
        req.finish();
        if let Err(e) = added {
            return Err(ServiceError::InvalidRequest {
                endpoint: core.endpoint().clone(),
                what: "the PIDs cannot be encoded",
                source: Some(e),
            });
        }
        self.first = first;
        self.sent = sent;
        self.st.next_subcall().map_err(|f| f.at(core.endpoint()))?;
        Ok(Some(CallSpec::single(METHOD_APPS_LOOKUP)))
    }

    /// Takes the answer to the request under way, as
    /// [`CgroupsLookupCall::answered`] does.
    pub fn answered(&mut self, core: &ClientCore, payload: &[u8]) -> Result<()> {
        let keys = &self.pids[self.first..self.first + self.sent];
        self.next = self.first + stitch_answer(core, payload, keys, &mut self.st, &mut self.out)?;
        Ok(())
    }

    /// Closes the stitched response; returns its length.
    pub fn finish(mut self) -> usize {
        self.out.set_generation(self.st.generation.unwrap_or(0));
        self.out.finish()
    }
}

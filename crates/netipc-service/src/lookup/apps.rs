//! The `apps-lookup` service: PIDs in, process and cgroup metadata out.

use super::{Stitch, check_items, first_answer_reserve, respond, response_floor, subcall};
use crate::client::RawClient;
use crate::client_api::{client_lifecycle, typed_handler};
use crate::error::{LimitKind, Result, ServiceError};
use crate::server::{Dispatch, ServiceHandler};
use crate::transport::codec::lookup::{
    APPS_LOOKUP_ITEM_HDR_LEN, APPS_LOOKUP_KEY_LEN, AppsLookupRequestBuilder, AppsLookupRequestView,
    AppsLookupResponseBuilder, LOOKUP_HDR_LEN,
};
use crate::transport::codec::{DIR_ENTRY_SIZE, METHOD_APPS_LOOKUP};

pub use crate::transport::codec::lookup::{
    AppsLookupEntry, AppsLookupItemView, AppsLookupResponder, AppsLookupResponseView, AppsLookupStatus,
    CgroupStatus, LabelInput, LabelView, Orchestrator, Placed, UID_UNSET,
};

/// A client of an `apps-lookup` service.
#[derive(Debug)]
pub struct AppsLookupClient {
    raw: RawClient,
    stitched: Vec<u8>,
}

client_lifecycle!(AppsLookupClient, stitched: Vec::new());

impl AppsLookupClient {
    /// Looks up `pids`; the view has one item per PID, in order, and borrows
    /// the client until its next call.
    pub fn call(&mut self, pids: &[u32]) -> Result<AppsLookupResponseView<'_>> {
        self.call_with_timeout(pids, std::time::Duration::ZERO)
    }

    /// Like [`Self::call`], within `timeout` (zero: the client's call
    /// timeout), which covers every request/response cycle of the lookup.
    pub fn call_with_timeout(
        &mut self,
        pids: &[u32],
        timeout: std::time::Duration,
    ) -> Result<AppsLookupResponseView<'_>> {
        let (max_items, max_subcalls, max_bytes) = self.raw.config().lookup_limits();
        check_items(pids.len(), max_items).map_err(|f| f.at(&self.raw.endpoint))?;
        let budget = self.raw.request_budget();
        if AppsLookupRequestBuilder::max_keys(budget) == 0 {
            return Err(self.raw.limit(
                LimitKind::Request,
                Some((LOOKUP_HDR_LEN + DIR_ENTRY_SIZE + APPS_LOOKUP_KEY_LEN) as u64),
                budget as u64,
            ));
        }
        let mut out =
            AppsLookupResponseBuilder::with_capacity(&mut self.stitched, 0, max_bytes as usize, pids.len());
        let mut st = Stitch::new(max_subcalls, self.raw.deadline_for(timeout));
        let mut next = 0usize;
        while next < pids.len() || st.subcalls == 0 {
            let budget = self.raw.request_budget();
            // Every key's not-known answer must also fit the response budget.
            // Keys are counted at the largest answer seen, and the first
            // one's answer keeps room beside the not-known answers of the
            // others (see `first_answer_reserve`).
            let stub = APPS_LOOKUP_ITEM_HDR_LEN + 3;
            let not_known = response_floor(stub);
            let floor = response_floor(stub.max(st.largest_answer));
            let room = self.raw.response_budget().saturating_sub(LOOKUP_HDR_LEN);
            let beside_first = room.saturating_sub(first_answer_reserve(room)) / not_known;
            let keys_answerable = (room / floor).min(1 + beside_first).max(1);
            // As many keys as the request budget holds and the response
            // budget can answer.
            let first = next;
            let sent = (pids.len() - next)
                .min(keys_answerable)
                .min(AppsLookupRequestBuilder::max_keys(budget));
            let mut req = AppsLookupRequestBuilder::with_capacity(&mut self.raw.request, budget, sent);
            if let Err(e) = req.add_all(&pids[first..first + sent]) {
                return Err(ServiceError::InvalidRequest {
                    endpoint: self.raw.endpoint.clone(),
                    what: "the PIDs cannot be encoded",
                    source: Some(e),
                });
            }
            req.finish();
            let keys = &pids[first..first + sent];
            next = first + subcall(&mut self.raw, METHOD_APPS_LOOKUP, keys, &mut st, &mut out)?;
        }
        out.set_generation(st.generation.unwrap_or(0));
        let n = out.finish();
        self.stitched.truncate(n);
        AppsLookupResponseView::decode(&self.stitched).map_err(|e| self.raw.malformed(e))
    }
}

/// The user's callback: answer every PID of the responder in order, return
/// success.
pub type HandleFn = dyn Fn(&mut AppsLookupResponder<'_, '_>) -> bool + Send + Sync;

typed_handler! {
    /// The typed handler of an `apps-lookup` server.
    HandleFn
}

impl ServiceHandler for Handler {
    const METHOD: u16 = METHOD_APPS_LOOKUP;

    fn dispatch(&self, request: &[u8], out: &mut Vec<u8>, limit: usize) -> Dispatch {
        let Ok(req) = AppsLookupRequestView::decode(request) else {
            return Dispatch::BadRequest;
        };
        let Some(handle) = &self.handle else {
            return Dispatch::Failed;
        };
        respond(
            AppsLookupResponder::new(out, req, 0, limit),
            handle,
            AppsLookupResponder::finish,
        )
    }
}

/// A managed `apps-lookup` server.
pub type ManagedServer = crate::server::ManagedServer<Handler>;

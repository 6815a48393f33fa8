//! The `cgroups-lookup` service: cgroup paths in, orchestrator, name and
//! labels out.

use super::{Stitch, check_items, first_answer_reserve, respond, response_floor, stitch_error, subcall};
use crate::client::RawClient;
use crate::client_api::{client_lifecycle, typed_handler};
use crate::error::{Result, ServiceError};
use crate::server::{Dispatch, ServiceHandler};
use crate::transport::codec::lookup::{
    CGROUPS_LOOKUP_ITEM_HDR_LEN, CgroupsLookupEntry, CgroupsLookupRequestBuilder, CgroupsLookupRequestView,
    CgroupsLookupResponseBuilder, LOOKUP_HDR_LEN,
};
use crate::transport::codec::{DIR_ENTRY_SIZE, METHOD_CGROUPS_LOOKUP, align8};

pub use crate::transport::codec::lookup::{
    CgroupsLookupItemView, CgroupsLookupResponder, CgroupsLookupResponseView, CgroupsLookupStatus,
    LabelInput, LabelView, Orchestrator, Placed,
};

/// A client of a `cgroups-lookup` service.
#[derive(Debug)]
pub struct CgroupsLookupClient {
    raw: RawClient,
    stitched: Vec<u8>,
}

client_lifecycle!(CgroupsLookupClient, stitched: Vec::new());

fn key_cost(path: &[u8]) -> usize {
    DIR_ENTRY_SIZE + align8(path.len() + 1)
}

impl CgroupsLookupClient {
    /// Looks up `paths`; the view has one item per path, in order, and
    /// borrows the client until its next call.
    pub fn call<P: AsRef<[u8]>>(&mut self, paths: &[P]) -> Result<CgroupsLookupResponseView<'_>> {
        self.call_with_timeout(paths, std::time::Duration::ZERO)
    }

    /// Like [`Self::call`], within `timeout` (zero: the client's call
    /// timeout), which covers every request/response cycle of the lookup.
    pub fn call_with_timeout<P: AsRef<[u8]>>(
        &mut self,
        paths: &[P],
        timeout: std::time::Duration,
    ) -> Result<CgroupsLookupResponseView<'_>> {
        let (max_items, max_subcalls, max_bytes) = self.raw.config().lookup_limits();
        check_items(paths.len(), max_items).map_err(|f| f.at(&self.raw.endpoint))?;
        for p in paths {
            let p = p.as_ref();
            if p.is_empty() || p.contains(&0) {
                return Err(self
                    .raw
                    .invalid_request("a lookup path is empty or contains NUL", None));
            }
        }
        let mut out = CgroupsLookupResponseBuilder::with_capacity(
            &mut self.stitched,
            0,
            max_bytes as usize,
            paths.len(),
        );
        let mut st = Stitch::new(max_subcalls, self.raw.deadline_for(timeout));
        let mut next = 0usize;
        while next < paths.len() || st.subcalls == 0 {
            // Keys that can never fit one request are answered here.
            let budget = self.raw.request_budget();
            while next < paths.len() && LOOKUP_HDR_LEN + key_cost(paths[next].as_ref()) > budget {
                let p = paths[next].as_ref();
                out.add(&CgroupsLookupEntry::unknown(
                    p,
                    CgroupsLookupStatus::OversizedItem,
                ))
                .map_err(|e| stitch_error(e).at(&self.raw.endpoint))?;
                next += 1;
            }
            if next == paths.len() && st.subcalls > 0 {
                break;
            }
            // A request the server can always answer: every key must fit the
            // request budget, and its not-known answer the response budget.
            // Keys are counted at the largest answer seen (`room`), and the
            // first one's answer keeps room beside the not-known answers of
            // the others (`stub_room`, see `first_answer_reserve`).
            let mut room = self.raw.response_budget().saturating_sub(LOOKUP_HDR_LEN);
            let mut stub_room = room.saturating_sub(first_answer_reserve(room));
            let mut req =
                CgroupsLookupRequestBuilder::with_capacity(&mut self.raw.request, budget, paths.len() - next);
            let first = next;
            while next < paths.len() && req.fits(paths[next].as_ref()) {
                let stub = CGROUPS_LOOKUP_ITEM_HDR_LEN + paths[next].as_ref().len() + 2;
                let floor = response_floor(stub.max(st.largest_answer));
                if req.count() > 0 {
                    let not_known = response_floor(stub);
                    if floor > room || not_known > stub_room {
                        break;
                    }
                    stub_room -= not_known;
                }
                room = room.saturating_sub(floor);
                if let Err(e) = req.add(paths[next].as_ref()) {
                    return Err(ServiceError::InvalidRequest {
                        endpoint: self.raw.endpoint.clone(),
                        what: "a lookup path cannot be encoded",
                        source: Some(e),
                    });
                }
                next += 1;
            }
            let sent = req.count();
            req.finish();
            let keys = &paths[first..first + sent as usize];
            next = first + subcall(&mut self.raw, METHOD_CGROUPS_LOOKUP, keys, &mut st, &mut out)?;
        }
        out.set_generation(st.generation.unwrap_or(0));
        let n = out.finish();
        self.stitched.truncate(n);
        CgroupsLookupResponseView::decode(&self.stitched).map_err(|e| self.raw.malformed(e))
    }
}

/// The user's callback: answer every key of the responder in order
/// (`while let Some(path) = r.next_key() { r.known(..)?; }`), return success.
pub type HandleFn = dyn Fn(&mut CgroupsLookupResponder<'_, '_>) -> bool + Send + Sync;

typed_handler! {
    /// The typed handler of a `cgroups-lookup` server.
    HandleFn
}

impl ServiceHandler for Handler {
    const METHOD: u16 = METHOD_CGROUPS_LOOKUP;

    fn dispatch(&self, request: &[u8], out: &mut Vec<u8>, limit: usize) -> Dispatch {
        let Ok(req) = CgroupsLookupRequestView::decode(request) else {
            return Dispatch::BadRequest;
        };
        let Some(handle) = &self.handle else {
            return Dispatch::Failed;
        };
        respond(
            CgroupsLookupResponder::new(out, req, 0, limit),
            handle,
            CgroupsLookupResponder::finish,
        )
    }
}

/// A managed `cgroups-lookup` server.
pub type ManagedServer = crate::server::ManagedServer<Handler>;

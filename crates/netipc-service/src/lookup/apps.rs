//! The `apps-lookup` service: PIDs in, process and cgroup metadata out.

use super::{Stitch, check_items, stitch_error};
use crate::client::RawClient;
use crate::client_api::client_lifecycle;
use crate::error::{Result, ServiceError};
use crate::server::{Dispatch, ServiceHandler};
use crate::transport::codec::lookup::{
    APPS_LOOKUP_KEY_LEN, AppsLookupRequestBuilder, AppsLookupRequestView, AppsLookupResponder,
    AppsLookupResponseBuilder, AppsLookupResponseView, AppsLookupStatus, LOOKUP_HDR_LEN,
};
use crate::transport::codec::{CodecError, DIR_ENTRY_SIZE, METHOD_APPS_LOOKUP};
use std::fmt;

pub use crate::transport::codec::lookup::{
    AppsLookupEntry, AppsLookupItemView, CgroupStatus, LabelInput, Orchestrator, Placed, UID_UNSET,
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
        let (max_items, max_subcalls, max_bytes) = self.raw.config().lookup_limits();
        check_items(pids.len(), max_items)?;
        if self.raw.request_budget() < LOOKUP_HDR_LEN + DIR_ENTRY_SIZE + APPS_LOOKUP_KEY_LEN {
            return Err(ServiceError::LimitExceeded(
                "request budget too small for one PID",
            ));
        }
        let mut out =
            AppsLookupResponseBuilder::with_capacity(&mut self.stitched, 0, max_bytes as usize, pids.len());
        let mut st = Stitch::new(max_subcalls);
        let mut next = 0usize;
        while next < pids.len() || st.subcalls == 0 {
            let budget = self.raw.request_budget();
            let mut req = AppsLookupRequestBuilder::new(&mut self.raw.request, budget);
            let first = next;
            while next < pids.len() && req.fits() {
                req.add(pids[next]).map_err(ServiceError::Malformed)?;
                next += 1;
            }
            let sent = req.count() as usize;
            req.finish();
            st.next_subcall()?;
            self.raw.call(METHOD_APPS_LOOKUP, 0, 1)?;
            let view = self.raw.decode(AppsLookupResponseView::decode)?;
            let answered = stitch(&view, &pids[first..first + sent], &mut st, &mut out)
                .inspect_err(|_| self.raw.poison())?;
            if answered == 0 && sent > 0 {
                self.raw.poison();
                return Err(ServiceError::BadResponse("a lookup response made no progress"));
            }
            next = first + answered;
        }
        out.set_generation(st.generation.unwrap_or(0));
        let n = out.finish();
        self.stitched.truncate(n);
        AppsLookupResponseView::decode(&self.stitched).map_err(ServiceError::Malformed)
    }
}

fn stitch(
    view: &AppsLookupResponseView<'_>,
    keys: &[u32],
    st: &mut Stitch,
    out: &mut AppsLookupResponseBuilder<'_>,
) -> Result<usize> {
    if view.item_count as usize != keys.len() {
        return Err(ServiceError::BadResponse(
            "response item count differs from the request",
        ));
    }
    st.check_generation(view.generation)?;
    let mut answered = 0;
    for (item, &pid) in view.iter().zip(keys) {
        if item.pid != pid {
            return Err(ServiceError::BadResponse(
                "response item does not echo its request PID",
            ));
        }
        if item.status == AppsLookupStatus::PayloadExceeded {
            break;
        }
        out.add_item_bytes(item.as_bytes()).map_err(stitch_error)?;
        answered += 1;
    }
    Ok(answered)
}

/// The user's callback: answer every PID of the responder in order, return
/// success.
pub type HandleFn = dyn Fn(&mut AppsLookupResponder<'_, '_>) -> bool + Send + Sync;

/// The typed handler of an `apps-lookup` server.
#[derive(Default)]
pub struct Handler {
    /// The callback; `None` answers every request INTERNAL_ERROR.
    pub handle: Option<Box<HandleFn>>,
}

impl fmt::Debug for Handler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handler")
            .field("handle", &self.handle.is_some())
            .finish()
    }
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
        let mut r = match AppsLookupResponder::new(out, req, 0, limit) {
            Ok(r) => r,
            Err(CodecError::LimitExceeded { .. }) => return Dispatch::Overflow,
            Err(_) => return Dispatch::Failed,
        };
        if !handle(&mut r) {
            return Dispatch::Failed;
        }
        match r.finish() {
            Ok(_) => Dispatch::Done,
            Err(_) => Dispatch::Failed,
        }
    }
}

/// A managed `apps-lookup` server.
pub type ManagedServer = crate::server::ManagedServer<Handler>;

//! The `apps-lookup` service: PIDs in, process and cgroup metadata out.

use super::respond;
use crate::client::RawClient;
use crate::client_api::{client_lifecycle, typed_handler};
use crate::driver::AppsLookupCall;
use crate::error::Result;
use crate::server::{Dispatch, ServiceHandler};
use crate::transport::codec::METHOD_APPS_LOOKUP;
use crate::transport::codec::lookup::AppsLookupRequestView;

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
        let mut call = AppsLookupCall::new(&self.raw.core, pids, &mut self.stitched, timeout)?;
        while let Some(spec) = call.next_request(&mut self.raw.core)? {
            self.raw.call_until(spec, call.deadline())?;
            call.answered(&self.raw.core, self.raw.payload())?;
        }
        let n = call.finish();
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

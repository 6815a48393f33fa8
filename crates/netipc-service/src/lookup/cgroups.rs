//! The `cgroups-lookup` service: cgroup paths in, orchestrator, name and
//! labels out.

use super::respond;
use crate::client::RawClient;
use crate::client_api::{client_lifecycle, typed_handler};
use crate::driver::CgroupsLookupCall;
use crate::error::Result;
use crate::server::{Dispatch, ServiceHandler};
use crate::transport::codec::METHOD_CGROUPS_LOOKUP;
use crate::transport::codec::lookup::CgroupsLookupRequestView;

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
        let mut call = CgroupsLookupCall::new(&self.raw.core, paths, &mut self.stitched, timeout)?;
        while let Some(spec) = call.next_request(&mut self.raw.core)? {
            self.raw.call_until(spec, call.deadline())?;
            call.answered(&self.raw.core, self.raw.payload())?;
        }
        let n = call.finish();
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

//! The `cgroups-lookup` service, async: cgroup paths in, orchestrator,
//! name and labels out.

use crate::client::RawClient;
use crate::client_api::client_lifecycle;
use netipc_service::Result;
use netipc_service::driver::CgroupsLookupCall;
use std::time::Duration;

pub use netipc_service::lookup::cgroups::{
    CgroupsLookupItemView, CgroupsLookupResponder, CgroupsLookupResponseView, CgroupsLookupStatus, HandleFn,
    Handler, LabelInput, LabelView, Orchestrator, Placed,
};

/// An async client of a `cgroups-lookup` service.
///
/// Every call is cancel safe, as [`IncrementClient`](crate::increment::IncrementClient)'s are.
#[derive(Debug)]
pub struct CgroupsLookupClient {
    raw: RawClient,
    stitched: Vec<u8>,
}

client_lifecycle!(CgroupsLookupClient, stitched: Vec::new());

impl CgroupsLookupClient {
    /// Looks up `paths`; the view has one item per path, in order, and
    /// borrows the client until its next call. Cancel safe.
    pub async fn call<P: AsRef<[u8]> + Sync>(
        &mut self,
        paths: &[P],
    ) -> Result<CgroupsLookupResponseView<'_>> {
        self.call_with_timeout(paths, Duration::ZERO).await
    }

    /// Like [`Self::call`], within `timeout` (zero: the client's call
    /// timeout), which covers every request/response cycle. Cancel safe.
    pub async fn call_with_timeout<P: AsRef<[u8]> + Sync>(
        &mut self,
        paths: &[P],
        timeout: Duration,
    ) -> Result<CgroupsLookupResponseView<'_>> {
        let mut call = CgroupsLookupCall::new(&self.raw.core, paths, &mut self.stitched, timeout)?;
        while let Some(spec) = call.next_request(&mut self.raw.core)? {
            self.raw.call_until(spec, call.deadline()).await?;
            call.answered(&self.raw.core, self.raw.payload())?;
        }
        let n = call.finish();
        self.stitched.truncate(n);
        CgroupsLookupResponseView::decode(&self.stitched).map_err(|e| self.raw.core.malformed(e))
    }
}

/// An async managed `cgroups-lookup` server.
pub type ManagedServer = crate::server::ManagedServer<Handler>;

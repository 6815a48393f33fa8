//! The `apps-lookup` service, async: PIDs in, process and cgroup metadata
//! out.

use crate::client::RawClient;
use crate::client_api::client_lifecycle;
use netipc_service::Result;
use netipc_service::driver::AppsLookupCall;
use std::time::Duration;

pub use netipc_service::lookup::apps::{
    AppsLookupEntry, AppsLookupItemView, AppsLookupResponder, AppsLookupResponseView, AppsLookupStatus,
    CgroupStatus, HandleFn, Handler, LabelInput, LabelView, Orchestrator, Placed, UID_UNSET,
};

/// An async client of an `apps-lookup` service.
///
/// Every call is cancel safe, as [`IncrementClient`](crate::increment::IncrementClient)'s are.
#[derive(Debug)]
pub struct AppsLookupClient {
    raw: RawClient,
    stitched: Vec<u8>,
}

client_lifecycle!(AppsLookupClient, stitched: Vec::new());

impl AppsLookupClient {
    /// Looks up `pids`; the view has one item per PID, in order, and
    /// borrows the client until its next call. Cancel safe.
    pub async fn call(&mut self, pids: &[u32]) -> Result<AppsLookupResponseView<'_>> {
        self.call_with_timeout(pids, Duration::ZERO).await
    }

    /// Like [`Self::call`], within `timeout` (zero: the client's call
    /// timeout), which covers every request/response cycle. Cancel safe.
    pub async fn call_with_timeout(
        &mut self,
        pids: &[u32],
        timeout: Duration,
    ) -> Result<AppsLookupResponseView<'_>> {
        let mut call = AppsLookupCall::new(&self.raw.core, pids, &mut self.stitched, timeout)?;
        while let Some(spec) = call.next_request(&mut self.raw.core)? {
            self.raw.call_until(spec, call.deadline()).await?;
            call.answered(&self.raw.core, self.raw.payload())?;
        }
        let n = call.finish();
        self.stitched.truncate(n);
        AppsLookupResponseView::decode(&self.stitched).map_err(|e| self.raw.core.malformed(e))
    }
}

/// An async managed `apps-lookup` server.
pub type ManagedServer = crate::server::ManagedServer<Handler>;

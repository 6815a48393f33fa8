//! The `cgroups-snapshot` service, async: the client, the cache and the
//! managed server.

use crate::client::RawClient;
use crate::client_api::client_lifecycle;
use netipc_service::Result;
use netipc_service::driver::calls;
use netipc_service::transport::codec::CgroupsResponseView;
use std::time::Duration;

pub use crate::cache::CgroupsCache;
pub use netipc_cache::{CacheReader, CacheSnapshot, CacheStatus};
pub use netipc_service::cgroups::{
    CgroupsItem, CgroupsItemView, CgroupsSnapshot, HandleFn, Handler, simple_hash,
};
pub use netipc_service::{ClientConfig, ClientState, ClientStatus, ServerConfig, ServiceError};

/// An async client of a `cgroups-snapshot` service.
///
/// Every call is cancel safe, as [`IncrementClient`](crate::increment::IncrementClient)'s are.
#[derive(Debug)]
pub struct CgroupsClient {
    raw: RawClient,
}

client_lifecycle!(CgroupsClient);

impl CgroupsClient {
    /// Asks for the full snapshot. The view borrows the client's buffer
    /// and is valid until the next call on this client. Cancel safe.
    pub async fn call_snapshot(&mut self) -> Result<CgroupsResponseView<'_>> {
        self.call_snapshot_with_timeout(Duration::ZERO).await
    }

    /// Like [`Self::call_snapshot`], within `timeout` (zero: the client's
    /// call timeout). Cancel safe.
    pub async fn call_snapshot_with_timeout(&mut self, timeout: Duration) -> Result<CgroupsResponseView<'_>> {
        let spec = calls::snapshot_request(&mut self.raw.core);
        self.raw.call(spec, timeout).await?;
        calls::snapshot_answer(&self.raw.core, self.raw.payload())
    }
}

/// An async managed `cgroups-snapshot` server.
pub type ManagedServer = crate::server::ManagedServer<Handler>;

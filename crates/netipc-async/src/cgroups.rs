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

    /// Like [`Self::call_snapshot`], handing each item to `visit` as the
    /// answer is validated (see `CgroupsResponseView::decode_visiting`): a
    /// consumer that keeps every item reads a large answer once, not
    /// twice. When the call fails, `visit` may have seen some items of an
    /// answer that did not decode: drop what it made of them. Cancel safe;
    /// `visit` runs only once the whole answer is in.
    pub async fn call_snapshot_visiting(
        &mut self,
        visit: impl FnMut(CgroupsItemView<'_>),
    ) -> Result<CgroupsResponseView<'_>> {
        let spec = calls::snapshot_request(&mut self.raw.core);
        self.raw.call(spec, Duration::ZERO).await?;
        self.raw.core.decode(self.raw.payload(), |p| {
            CgroupsResponseView::decode_visiting(p, visit)
        })
    }

    /// Hands over the buffer that holds the last snapshot received, as
    /// the blocking client's `swap_received` does: exchanges it with `buf`
    /// and returns where in `buf` the payload now is (an empty range when
    /// the client holds none).
    pub fn swap_received(&mut self, buf: &mut Vec<u8>) -> std::ops::Range<usize> {
        self.raw.swap_received(buf)
    }
}

/// An async managed `cgroups-snapshot` server.
pub type ManagedServer = crate::server::ManagedServer<Handler>;

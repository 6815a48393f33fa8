//! The STRING_REVERSE test service, async: a string in, a string out.

use crate::client::RawClient;
use crate::client_api::client_lifecycle;
use netipc_service::Result;
use netipc_service::driver::calls;
use netipc_service::transport::codec::StrView;
use std::time::Duration;

pub use netipc_service::string_reverse::{HandleFn, Handler};
pub use netipc_service::{ClientConfig, ServerConfig};

/// An async client of a STRING_REVERSE service.
///
/// Every call is cancel safe, as [`IncrementClient`](crate::increment::IncrementClient)'s are.
#[derive(Debug)]
pub struct StringReverseClient {
    raw: RawClient,
}

client_lifecycle!(StringReverseClient);

impl StringReverseClient {
    /// Sends `s`; the answer borrows the client until the next call.
    /// Cancel safe.
    pub async fn call(&mut self, s: &[u8]) -> Result<StrView<'_>> {
        self.call_with_timeout(s, Duration::ZERO).await
    }

    /// Like [`Self::call`], within `timeout` (zero: the client's call
    /// timeout). Cancel safe.
    pub async fn call_with_timeout(&mut self, s: &[u8], timeout: Duration) -> Result<StrView<'_>> {
        let spec = calls::reverse_request(&mut self.raw.core, s)?;
        self.raw.call(spec, timeout).await?;
        calls::reverse_answer(&self.raw.core, self.raw.payload())
    }

    /// Sends `items` as one batch message; the answers, in order, as owned
    /// byte strings. Cancel safe.
    pub async fn call_batch(&mut self, items: &[&[u8]]) -> Result<Vec<Vec<u8>>> {
        self.call_batch_with_timeout(items, Duration::ZERO).await
    }

    /// Like [`Self::call_batch`], within `timeout` (zero: the client's call
    /// timeout). Cancel safe.
    pub async fn call_batch_with_timeout(
        &mut self,
        items: &[&[u8]],
        timeout: Duration,
    ) -> Result<Vec<Vec<u8>>> {
        let spec = calls::reverse_batch_request(&mut self.raw.core, items)?;
        let h = self.raw.call(spec, timeout).await?;
        calls::reverse_batch_answer(&self.raw.core, spec, &h, self.raw.payload())
    }
}

/// An async managed STRING_REVERSE server.
pub type ManagedServer = crate::server::ManagedServer<Handler>;

//! The INCREMENT test service, async: a u64 in, a u64 out, singly or in
//! batches.

use crate::client::RawClient;
use crate::client_api::client_lifecycle;
use netipc_service::Result;
use netipc_service::driver::calls;
use std::time::Duration;

pub use netipc_service::increment::{HandleFn, Handler};
pub use netipc_service::{ClientConfig, ServerConfig};

/// An async client of an INCREMENT service.
///
/// Every call is cancel safe: a call future dropped at any await point
/// leaves the client usable. If its request may have gone out, the next
/// call (or refresh) drops that session and connects again, so no later
/// call can receive its answer.
#[derive(Debug)]
pub struct IncrementClient {
    raw: RawClient,
}

client_lifecycle!(IncrementClient);

impl IncrementClient {
    /// Sends `value`, returns the server's answer.
    ///
    /// Cancel safe (see the type's docs).
    pub async fn call(&mut self, value: u64) -> Result<u64> {
        self.call_with_timeout(value, Duration::ZERO).await
    }

    /// Like [`Self::call`], within `timeout` (zero: the client's call
    /// timeout). Cancel safe.
    pub async fn call_with_timeout(&mut self, value: u64, timeout: Duration) -> Result<u64> {
        let spec = calls::increment_request(&mut self.raw.core, value);
        self.raw.call(spec, timeout).await?;
        calls::increment_answer(&self.raw.core, self.raw.payload())
    }

    /// Sends `values` as one batch message; the answers, in order, replace
    /// the contents of `out`. Cancel safe (`out` may then hold anything).
    pub async fn call_batch_into(&mut self, values: &[u64], out: &mut Vec<u64>) -> Result<()> {
        self.call_batch_into_with_timeout(values, out, Duration::ZERO)
            .await
    }

    /// Like [`Self::call_batch_into`], within `timeout` (zero: the client's
    /// call timeout). Cancel safe.
    pub async fn call_batch_into_with_timeout(
        &mut self,
        values: &[u64],
        out: &mut Vec<u64>,
        timeout: Duration,
    ) -> Result<()> {
        let spec = calls::increment_batch_request(&mut self.raw.core, values)?;
        let h = self.raw.call(spec, timeout).await?;
        calls::increment_batch_answer(&self.raw.core, spec, &h, self.raw.payload(), out)
    }

    /// Like [`Self::call_batch_into`], returning a new vector. Cancel safe.
    pub async fn call_batch(&mut self, values: &[u64]) -> Result<Vec<u64>> {
        let mut out = Vec::with_capacity(values.len());
        self.call_batch_into(values, &mut out).await?;
        Ok(out)
    }
}

/// An async managed INCREMENT server.
pub type ManagedServer = crate::server::ManagedServer<Handler>;

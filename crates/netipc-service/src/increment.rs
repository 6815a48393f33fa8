//! The INCREMENT test service: a u64 in, a u64 out, singly or in batches.

use crate::client::RawClient;
use crate::client_api::{client_lifecycle, typed_handler};
use crate::driver::calls;
use crate::error::Result;
use crate::server::{Dispatch, ServiceHandler};
use crate::transport::codec::{BatchBuilder, METHOD_INCREMENT, increment};
use std::time::Duration;

pub use crate::{ClientConfig, ServerConfig};

/// A client of an INCREMENT service.
#[derive(Debug)]
pub struct IncrementClient {
    raw: RawClient,
}

client_lifecycle!(IncrementClient);

impl IncrementClient {
    /// Sends `value`, returns the server's answer.
    pub fn call(&mut self, value: u64) -> Result<u64> {
        self.call_with_timeout(value, Duration::ZERO)
    }

    /// Like [`Self::call`], within `timeout` (zero: the client's call
    /// timeout).
    pub fn call_with_timeout(&mut self, value: u64, timeout: Duration) -> Result<u64> {
        let spec = calls::increment_request(&mut self.raw.core, value);
        self.raw.call(spec, timeout)?;
        calls::increment_answer(&self.raw.core, self.raw.payload())
    }

    /// Sends `values` as one batch message; the answers, in order, replace
    /// the contents of `out`.
    pub fn call_batch_into(&mut self, values: &[u64], out: &mut Vec<u64>) -> Result<()> {
        self.call_batch_into_with_timeout(values, out, Duration::ZERO)
    }

    /// Like [`Self::call_batch_into`], within `timeout` (zero: the client's
    /// call timeout).
    pub fn call_batch_into_with_timeout(
        &mut self,
        values: &[u64],
        out: &mut Vec<u64>,
        timeout: Duration,
    ) -> Result<()> {
        let spec = calls::increment_batch_request(&mut self.raw.core, values)?;
        let h = self.raw.call(spec, timeout)?;
        calls::increment_batch_answer(&self.raw.core, spec, &h, self.raw.payload(), out)
    }

    /// Like [`Self::call_batch_into`], returning a new vector.
    pub fn call_batch(&mut self, values: &[u64]) -> Result<Vec<u64>> {
        let mut out = Vec::with_capacity(values.len());
        self.call_batch_into(values, &mut out)?;
        Ok(out)
    }
}

/// The user's callback: `Some(answer)`, or `None` for failure.
pub type HandleFn = dyn Fn(u64) -> Option<u64> + Send + Sync;

typed_handler! {
    /// The typed handler of an INCREMENT server.
    HandleFn
}

impl ServiceHandler for Handler {
    const METHOD: u16 = METHOD_INCREMENT;

    fn dispatch(&self, request: &[u8], out: &mut Vec<u8>, limit: usize) -> Dispatch {
        let Ok(v) = increment::decode(request) else {
            return Dispatch::BadRequest;
        };
        let Some(answer) = self.handle.as_ref().and_then(|h| h(v)) else {
            return Dispatch::Failed;
        };
        if limit < increment::INCREMENT_LEN {
            return Dispatch::Overflow;
        }
        out.clear();
        out.extend_from_slice(&increment::encode(answer));
        Dispatch::Done
    }

    #[inline]
    fn dispatch_batch_item(
        &self,
        request: &[u8],
        _: &mut Vec<u8>,
        batch: &mut BatchBuilder<'_>,
        _: usize,
    ) -> Dispatch {
        let Ok(v) = increment::decode(request) else {
            return Dispatch::BadRequest;
        };
        let Some(answer) = self.handle.as_ref().and_then(|h| h(v)) else {
            return Dispatch::Failed;
        };
        match batch.add(&increment::encode(answer)) {
            Ok(()) => Dispatch::Done,
            Err(_) => Dispatch::Overflow,
        }
    }
}

/// A managed INCREMENT server.
pub type ManagedServer = crate::server::ManagedServer<Handler>;

//! The INCREMENT test service: a u64 in, a u64 out, singly or in batches.

use crate::client::RawClient;
use crate::client_api::{client_lifecycle, typed_handler};
use crate::error::Result;
use crate::server::{Dispatch, ServiceHandler};
use crate::transport::codec::{BatchBuilder, BatchView, FLAG_BATCH, METHOD_INCREMENT, increment};
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
        self.raw.request.clear();
        self.raw.request.extend_from_slice(&increment::encode(value));
        self.raw.call(METHOD_INCREMENT, 0, 1, timeout)?;
        self.raw.decode(increment::decode)
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
        let count = u32::try_from(values.len()).map_err(|_| {
            self.raw
                .invalid_request("more than 2^32 - 1 items in one batch", None)
        })?;
        let mut b = BatchBuilder::new(&mut self.raw.request, count, usize::MAX);
        for v in values {
            if let Err(e) = b.add(&increment::encode(*v)) {
                return Err(self.raw.invalid_request("the batch cannot be encoded", Some(e)));
            }
        }
        b.finish();
        let h = self.raw.call(METHOD_INCREMENT, FLAG_BATCH, count, timeout)?;
        if h.item_count != count {
            self.raw.poison();
            return Err(self.raw.bad_response("batch response has another item count"));
        }
        let items = self.raw.decode(|p| BatchView::decode(p, count))?;
        out.clear();
        for item in items.iter() {
            match increment::decode(item) {
                Ok(v) => out.push(v),
                Err(e) => {
                    self.raw.poison();
                    return Err(self.raw.malformed(e));
                }
            }
        }
        Ok(())
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

//! The STRING_REVERSE test service: a string in, a string out.

use crate::client::RawClient;
use crate::client_api::{client_lifecycle, typed_handler};
use crate::error::Result;
use crate::server::{Dispatch, ServiceHandler};
use crate::transport::codec::{
    BatchBuilder, BatchView, FLAG_BATCH, METHOD_STRING_REVERSE, StrView, string_reverse,
};
use std::time::Duration;

pub use crate::{ClientConfig, ServerConfig};

/// A client of a STRING_REVERSE service.
#[derive(Debug)]
pub struct StringReverseClient {
    raw: RawClient,
}

client_lifecycle!(StringReverseClient);

impl StringReverseClient {
    /// Sends `s`; the answer borrows the client until the next call.
    pub fn call(&mut self, s: &[u8]) -> Result<StrView<'_>> {
        self.call_with_timeout(s, Duration::ZERO)
    }

    /// Like [`Self::call`], within `timeout` (zero: the client's call
    /// timeout).
    pub fn call_with_timeout(&mut self, s: &[u8], timeout: Duration) -> Result<StrView<'_>> {
        if let Err(e) = string_reverse::encode(s, &mut self.raw.request) {
            return Err(self.raw.invalid_request("the string cannot be encoded", Some(e)));
        }
        self.raw.call(METHOD_STRING_REVERSE, 0, 1, timeout)?;
        self.raw.decode(string_reverse::decode)
    }

    /// Sends `items` as one batch message; the answers, in order, as owned
    /// byte strings.
    pub fn call_batch(&mut self, items: &[&[u8]]) -> Result<Vec<Vec<u8>>> {
        self.call_batch_with_timeout(items, Duration::ZERO)
    }

    /// Like [`Self::call_batch`], within `timeout` (zero: the client's call
    /// timeout).
    pub fn call_batch_with_timeout(&mut self, items: &[&[u8]], timeout: Duration) -> Result<Vec<Vec<u8>>> {
        let count = u32::try_from(items.len()).map_err(|_| {
            self.raw
                .invalid_request("more than 2^32 - 1 items in one batch", None)
        })?;
        let mut b = BatchBuilder::new(&mut self.raw.request, count, usize::MAX);
        for s in items {
            let added = b.add_with(string_reverse::encoded_len(s), |dst| {
                let _ = string_reverse::write(s, dst);
            });
            if let Err(e) = added {
                return Err(self.raw.invalid_request("the batch cannot be encoded", Some(e)));
            }
        }
        b.finish();
        let h = self.raw.call(METHOD_STRING_REVERSE, FLAG_BATCH, count, timeout)?;
        if h.item_count != count {
            self.raw.poison();
            return Err(self.raw.bad_response("batch response has another item count"));
        }
        let view = self.raw.decode(|p| BatchView::decode(p, count))?;
        view.iter()
            .map(|item| string_reverse::decode(item).map(|s| s.as_bytes().to_vec()))
            .collect::<Result<_, _>>()
            .map_err(|e| {
                self.raw.poison();
                self.raw.malformed(e)
            })
    }
}

/// The user's callback: write the answer for the input into the vector
/// (empty on entry); return success.
pub type HandleFn = dyn Fn(&[u8], &mut Vec<u8>) -> bool + Send + Sync;

typed_handler! {
    /// The typed handler of a STRING_REVERSE server.
    HandleFn
}

impl ServiceHandler for Handler {
    const METHOD: u16 = METHOD_STRING_REVERSE;
    const BUILDS_TO_CEILING: bool = true;

    fn dispatch(&self, request: &[u8], out: &mut Vec<u8>, limit: usize) -> Dispatch {
        let Ok(s) = string_reverse::decode(request) else {
            return Dispatch::BadRequest;
        };
        let Some(handle) = &self.handle else {
            return Dispatch::Failed;
        };
        // The answer is built in `out`, then framed in place.
        out.clear();
        if !handle(s.as_bytes(), out) {
            return Dispatch::Failed;
        }
        if string_reverse::encoded_len_of(out.len()) > limit {
            return Dispatch::Overflow;
        }
        match string_reverse::wrap_in_place(out) {
            Ok(_) => Dispatch::Done,
            Err(_) => Dispatch::Failed,
        }
    }
}

/// A managed STRING_REVERSE server.
pub type ManagedServer = crate::server::ManagedServer<Handler>;

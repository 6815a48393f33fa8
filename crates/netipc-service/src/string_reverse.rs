//! The STRING_REVERSE test service: a string in, a string out.

use crate::client::RawClient;
use crate::client_api::{client_lifecycle, typed_handler};
use crate::driver::calls;
use crate::error::Result;
use crate::server::{Dispatch, ServiceHandler};
use crate::transport::codec::{METHOD_STRING_REVERSE, StrView, string_reverse};
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
        let spec = calls::reverse_request(&mut self.raw.core, s)?;
        self.raw.call(spec, timeout)?;
        calls::reverse_answer(&self.raw.core, self.raw.payload())
    }

    /// Sends `items` as one batch message; the answers, in order, as owned
    /// byte strings.
    pub fn call_batch(&mut self, items: &[&[u8]]) -> Result<Vec<Vec<u8>>> {
        self.call_batch_with_timeout(items, Duration::ZERO)
    }

    /// Like [`Self::call_batch`], within `timeout` (zero: the client's call
    /// timeout).
    pub fn call_batch_with_timeout(&mut self, items: &[&[u8]], timeout: Duration) -> Result<Vec<Vec<u8>>> {
        let spec = calls::reverse_batch_request(&mut self.raw.core, items)?;
        let h = self.raw.call(spec, timeout)?;
        calls::reverse_batch_answer(&self.raw.core, spec, &h, self.raw.payload())
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

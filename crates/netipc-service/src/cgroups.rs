//! The `cgroups-snapshot` service: CGROUPS_SNAPSHOT calls and handlers.
//!
//! ```no_run
//! use netipc::service::cgroups::{CgroupsClient, ClientConfig};
//! use netipc::protocol::PROFILE_BASELINE;
//!
//! let config = ClientConfig {
//!     supported_profiles: PROFILE_BASELINE,
//!     max_response_payload_bytes: 65536,
//!     auth_token: 0xDEADBEEFCAFEBABE,
//!     ..ClientConfig::default()
//! };
//! let mut client = CgroupsClient::new("/run/netdata", "cgroups-snapshot", config);
//! client.refresh();
//! if client.ready() {
//!     if let Ok(view) = client.call_snapshot() {
//!         for item in view.iter() {
//!             println!("{} {} {}", item.hash, item.name, item.path);
//!         }
//!     }
//! }
//! client.close();
//! ```

use crate::client::RawClient;
use crate::client_api::{client_lifecycle, typed_handler};
use crate::driver::calls;
use crate::error::Result;
use crate::server::{Dispatch, ServiceHandler};
use crate::transport::codec::{
    CgroupsBuilder, CgroupsRequestView, CgroupsResponseView, METHOD_CGROUPS_SNAPSHOT,
};

pub use crate::transport::codec::{CgroupsItem, CgroupsItemView, CgroupsSnapshot, simple_hash};
pub use crate::{ClientConfig, ClientState, ClientStatus, ServerConfig, ServiceError};

/// A client of a `cgroups-snapshot` service.
#[derive(Debug)]
pub struct CgroupsClient {
    raw: RawClient,
}

client_lifecycle!(CgroupsClient);

impl CgroupsClient {
    /// Asks for the full snapshot. The view borrows the client's buffer
    /// and is valid until the next call on this client; copy what you keep
    /// (`view.to_owned()`).
    pub fn call_snapshot(&mut self) -> Result<CgroupsResponseView<'_>> {
        self.call_snapshot_with_timeout(std::time::Duration::ZERO)
    }

    /// Like [`Self::call_snapshot`], within `timeout` (zero: the client's
    /// call timeout).
    pub fn call_snapshot_with_timeout(
        &mut self,
        timeout: std::time::Duration,
    ) -> Result<CgroupsResponseView<'_>> {
        let spec = calls::snapshot_request(&mut self.raw.core);
        self.raw.call(spec, timeout)?;
        calls::snapshot_answer(&self.raw.core, self.raw.payload())
    }

    /// Like [`Self::call_snapshot`], handing each item to `visit` as the
    /// answer is validated (see `CgroupsResponseView::decode_visiting`): a
    /// consumer that keeps every item reads a large answer once, not twice.
    /// When the call fails, `visit` may have seen some items of an answer
    /// that did not decode: drop what it made of them.
    pub fn call_snapshot_visiting(
        &mut self,
        visit: impl FnMut(CgroupsItemView<'_>),
    ) -> Result<CgroupsResponseView<'_>> {
        let spec = calls::snapshot_request(&mut self.raw.core);
        self.raw.call(spec, std::time::Duration::ZERO)?;
        self.raw.core.decode(self.raw.payload(), |p| {
            CgroupsResponseView::decode_visiting(p, visit)
        })
    }

    /// Hands over the buffer that holds the last snapshot received, for a
    /// consumer that keeps it instead of copying it (the L3 cache does):
    /// exchanges it with `buf` and returns where in `buf` the payload now
    /// is (an empty range when the client holds none). The client receives
    /// its next answers into the buffer `buf` held, grown as needed, so
    /// trading the same buffers back and forth allocates nothing once they
    /// are large enough.
    pub fn swap_received(&mut self, buf: &mut Vec<u8>) -> std::ops::Range<usize> {
        self.raw.swap_received(buf)
    }
}

/// The user's snapshot callback: fill the builder, return success.
pub type HandleFn = dyn Fn(&CgroupsRequestView, &mut CgroupsBuilder<'_>) -> bool + Send + Sync;

typed_handler! {
    /// The typed handler of a `cgroups-snapshot` server.
    ///
    /// A callback returning `false` makes the server answer INTERNAL_ERROR and
    /// close that session. A snapshot that does not fit the session's budget is
    /// answered LIMIT_EXCEEDED, and the next session gets a larger budget.
    HandleFn
}

impl ServiceHandler for Handler {
    const METHOD: u16 = METHOD_CGROUPS_SNAPSHOT;
    const BUILDS_TO_CEILING: bool = true;

    fn dispatch(&self, request: &[u8], out: &mut Vec<u8>, limit: usize) -> Dispatch {
        let Ok(req) = CgroupsRequestView::decode(request) else {
            return Dispatch::BadRequest;
        };
        let Some(handle) = &self.handle else {
            return Dispatch::Failed;
        };
        // Directory room for exactly as many items as this thread's last
        // snapshot had: snapshots change slowly, and room that fits spares
        // both moves of the packed items (when room runs out, and when
        // `finish` squeezes out room left unused).
        let mut builder = CgroupsBuilder::with_capacity(out, limit, LAST_ITEMS.get());
        let ok = handle(&req, &mut builder);
        if builder.overflowed() {
            return Dispatch::Overflow;
        }
        if !ok {
            return Dispatch::Failed;
        }
        LAST_ITEMS.set(builder.count() as usize);
        builder.finish();
        Dispatch::Done
    }
}

/// Directory room a session thread's first snapshot starts with.
const FIRST_ITEMS_HINT: usize = 64;

thread_local! {
    /// Items of the last snapshot built on this thread (a session's).
    static LAST_ITEMS: std::cell::Cell<usize> = const { std::cell::Cell::new(FIRST_ITEMS_HINT) };
}

/// A managed `cgroups-snapshot` server.
pub type ManagedServer = crate::server::ManagedServer<Handler>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::codec::encode_cgroups_request;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn item(i: usize) -> CgroupsItem {
        CgroupsItem {
            hash: i as u32,
            options: 0,
            enabled: (i % 2) as u32,
            name: format!("cg-{i}").into(),
            path: format!("/sys/fs/cgroup/cg-{i}").into(),
        }
    }

    /// The directory room of each snapshot follows the last one's size on
    /// the same thread: whether it fits, runs out or is left over, the
    /// bytes are those of a fresh encoding.
    #[test]
    fn snapshots_that_grow_and_shrink_are_encoded_exactly() {
        let sizes = [0, 3, 3, 200, 5, 64, 65, 1, 1];
        let at = AtomicUsize::new(0);
        let handler = Handler {
            handle: Some(Box::new(move |_, b| {
                let n = sizes[at.fetch_add(1, Ordering::Relaxed)];
                b.set_header(1, n as u64);
                (0..n).all(|i| {
                    let it = item(i);
                    b.add(
                        it.hash,
                        it.options,
                        it.enabled,
                        it.name.as_bytes(),
                        it.path.as_bytes(),
                    )
                    .is_ok()
                })
            })),
        };
        let request = encode_cgroups_request();
        let mut out = Vec::new();
        for n in sizes {
            assert!(matches!(
                handler.dispatch(&request, &mut out, usize::MAX),
                Dispatch::Done
            ));
            let want = CgroupsSnapshot {
                systemd_enabled: 1,
                generation: n as u64,
                items: (0..n).map(item).collect(),
            };
            let mut fresh = Vec::new();
            let len = want.encode(&mut fresh, usize::MAX).unwrap();
            assert_eq!(out, fresh[..len], "snapshot of {n} items");
        }
    }
}

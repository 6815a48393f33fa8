//! Level 3 of netipc: a local, owned copy of the last good cgroups
//! snapshot, with O(1) lookup by `(hash, name)`.
//!
//! The cache is caller-driven: call [`CgroupsCache::refresh`] from your own
//! loop. A failed refresh keeps the previous cache. Other threads read
//! through a [`CacheReader`]: the snapshot they hold stays valid while they
//! hold it, whatever refreshes happen meanwhile.
//!
//! ```no_run
//! use netipc::service::cgroups::{CgroupsCache, ClientConfig};
//!
//! let mut cache = CgroupsCache::new("/run/netdata", "cgroups-snapshot", ClientConfig::default());
//! if cache.refresh() {
//!     println!("cache updated: {} items", cache.len());
//! }
//! if let Some(item) = cache.lookup(1001, "docker-abc123") {
//!     println!("{}: {}", item.name, item.path);
//! }
//! cache.close();
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod snapshot;
mod store;
mod table;

pub use netipc_service as service;
pub use netipc_service::transport::codec::{CgroupsItem, CgroupsItemView};
pub use netipc_service::{ClientConfig, ClientState, ServiceError};
pub use snapshot::{CacheReader, CacheSnapshot, SnapshotItems};
pub use store::{CacheStore, Refill};

use netipc_service::cgroups::CgroupsClient;
use std::sync::Arc;
use std::time::SystemTime;

/// Diagnostics of a cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheStatus {
    /// Connection state of the underlying client.
    pub state: ClientState,
    /// Whether the current session uses shared memory.
    pub shm: bool,
    /// Whether a snapshot was ever loaded.
    pub populated: bool,
    /// Items in the current snapshot.
    pub item_count: usize,
    /// Generation of the current snapshot.
    pub generation: u64,
    /// Refreshes that rebuilt the cache.
    pub refresh_success: u64,
    /// Refreshes that failed (the cache was kept).
    pub refresh_failure: u64,
    /// When the last successful refresh happened.
    pub last_success: Option<SystemTime>,
}

/// A cgroups snapshot cache over a `cgroups-snapshot` client.
///
/// The cache holds the current snapshot and the one before it. A refresh
/// refills the one before, in place, when no reader holds it any more
/// (no [`CgroupsCache::snapshot`] or [`CacheReader::guard`] of it is
/// alive), so once its buffers have grown to the data's size a refresh
/// allocates nothing; a snapshot still held is left alone and a new one is
/// built beside it.
#[derive(Debug)]
pub struct CgroupsCache {
    client: CgroupsClient,
    store: CacheStore,
}

impl CgroupsCache {
    /// A cache for `{run_dir}/{service}`. Does not connect; starts empty.
    pub fn new(run_dir: impl AsRef<std::path::Path>, service: &str, config: ClientConfig) -> Self {
        Self {
            client: CgroupsClient::new(run_dir, service, config),
            store: CacheStore::new(),
        }
    }

    /// Like [`CgroupsCache::new`], refusing at once a run dir or a service
    /// name that cannot name an endpoint
    /// ([`ServiceError::InvalidEndpoint`]); `new` takes them, and its
    /// refreshes fail saying why.
    pub fn try_new(
        run_dir: impl AsRef<std::path::Path>,
        service: &str,
        config: ClientConfig,
    ) -> Result<Self, ServiceError> {
        Ok(Self {
            client: CgroupsClient::try_new(run_dir, service, config)?,
            store: CacheStore::new(),
        })
    }

    /// Where the cache's client connects: its run dir and service name.
    pub fn endpoint(&self) -> &netipc_service::Endpoint {
        self.client.endpoint()
    }

    /// Connects if needed and fetches a full snapshot. Returns `true` when
    /// the cache was rebuilt; on any failure the previous cache stays (see
    /// [`CgroupsCache::last_error`]).
    pub fn refresh(&mut self) -> bool {
        self.client.refresh();
        // The items are noted as the answer is validated (one pass over
        // it); the snapshot then keeps the buffer the answer came in, and
        // the client receives the next one into the snapshot's old one.
        let mut refill = self.store.begin_refresh();
        let answer = self.client.call_snapshot_visiting(|item| refill.note(item));
        let outcome = refill
            .finish(answer)
            .map(|()| self.client.swap_received(refill.buffer()));
        self.store.refreshed(refill, outcome)
    }

    /// Whether a snapshot was ever loaded (not whether we are connected).
    pub fn ready(&self) -> bool {
        self.store.populated()
    }

    /// The item with this hash and name, from the current snapshot: a view
    /// borrowed from the cache (copy what you keep past the next refresh
    /// with `to_owned()`, or hold a [`CgroupsCache::snapshot`]). Pure
    /// memory: no I/O.
    #[inline]
    pub fn lookup(&self, hash: u32, name: impl AsRef<[u8]>) -> Option<CgroupsItemView<'_>> {
        self.store.lookup(hash, name)
    }

    /// The first item with this name in the current snapshot, whatever hash
    /// its producer gave it: for a consumer that does not know the
    /// producer's hash function. The first lookup by name after a refresh
    /// builds the snapshot's name index (linear in its items); later ones
    /// are a hash of the name and a probe. Pure memory: no I/O.
    ///
    /// Where the producer is netdata's agent, its hash is
    /// [`simple_hash`](netipc_service::transport::codec::simple_hash), and
    /// [`CgroupsCache::lookup`] with it needs no second index.
    #[inline]
    pub fn lookup_name(&self, name: impl AsRef<[u8]>) -> Option<CgroupsItemView<'_>> {
        self.store.lookup_name(name)
    }

    /// The current snapshot, shared: it stays valid after later refreshes.
    pub fn snapshot(&self) -> Arc<CacheSnapshot> {
        self.store.snapshot()
    }

    /// A handle for other threads to read the latest snapshot.
    pub fn reader(&self) -> CacheReader {
        self.store.reader()
    }

    /// Items in the current snapshot.
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// Whether the current snapshot has no items.
    pub fn is_empty(&self) -> bool {
        self.store.is_empty()
    }

    /// Why the last refresh failed, if it did.
    pub fn last_error(&self) -> Option<&ServiceError> {
        self.store.last_error()
    }

    /// Why the last connection attempt failed, with its OS cause where
    /// there is one: the detail behind a refresh that failed as not ready.
    /// `None` once a connect succeeds.
    pub fn last_connect_error(&self) -> Option<&netipc_service::transport::TransportError> {
        self.client.last_connect_error()
    }

    /// Counters and state, for diagnostics.
    pub fn status(&self) -> CacheStatus {
        self.store.status(self.client.state(), self.client.status().shm)
    }

    /// Aborts a refresh blocked in another thread (sticky until cleared).
    pub fn abort_handle(&self) -> Option<netipc_service::transport::AbortHandle> {
        self.client.abort_handle()
    }

    /// Raises the abort signal: the refresh in progress (on another thread,
    /// through [`CgroupsCache::abort_handle`]) and later ones fail with
    /// `Aborted`, keeping the cache, until [`CgroupsCache::clear_abort`].
    pub fn abort(&self) {
        self.client.abort()
    }

    /// Sets how long one refresh may take (zero: the default call timeout,
    /// 30 s; `Duration::MAX`: no limit).
    pub fn set_call_timeout(&mut self, timeout: std::time::Duration) {
        self.client.set_call_timeout(timeout)
    }

    /// Clears a raised abort signal.
    pub fn clear_abort(&self) {
        self.client.clear_abort()
    }

    /// Closes the connection and empties the cache.
    pub fn close(&mut self) {
        self.client.close();
        self.store.clear();
    }
}

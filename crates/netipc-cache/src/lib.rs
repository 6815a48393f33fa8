//! Level 3 of netipc: a local, owned copy of the last good cgroups
//! snapshot, with O(1) lookup by `(hash, name)`.
//!
//! The cache is caller-driven: call [`CgroupsCache::refresh`] from your own
//! loop. A failed refresh keeps the previous cache. Other threads read
//! through a [`CacheReader`]: the snapshot they hold stays valid while they
//! hold it, whatever refreshes happen meanwhile.
//!
//! ```no_run
//! use netipc_cache::{CgroupsCache, ClientConfig};
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
mod table;

pub use netipc_service as service;
pub use netipc_service::transport::codec::{CgroupsItem, CgroupsItemView};
pub use netipc_service::{ClientConfig, ClientState, ServiceError};
pub use snapshot::{CacheReader, CacheSnapshot, SnapshotItems};

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
    current: Arc<CacheSnapshot>,
    /// The snapshot before `current`, whose buffers the next refresh
    /// reuses if nobody else holds it.
    spare: Option<Arc<CacheSnapshot>>,
    reader: CacheReader,
    populated: bool,
    refresh_success: u64,
    refresh_failure: u64,
    last_success: Option<SystemTime>,
    last_error: Option<ServiceError>,
}

impl CgroupsCache {
    /// A cache for `{run_dir}/{service}`. Does not connect; starts empty.
    pub fn new(run_dir: impl AsRef<std::path::Path>, service: &str, config: ClientConfig) -> Self {
        let current = Arc::new(CacheSnapshot::default());
        Self {
            client: CgroupsClient::new(run_dir, service, config),
            reader: CacheReader::new(Arc::clone(&current)),
            current,
            spare: None,
            populated: false,
            refresh_success: 0,
            refresh_failure: 0,
            last_success: None,
            last_error: None,
        }
    }

    /// Connects if needed and fetches a full snapshot. Returns `true` when
    /// the cache was rebuilt; on any failure the previous cache stays (see
    /// [`CgroupsCache::last_error`]).
    pub fn refresh(&mut self) -> bool {
        self.client.refresh();
        // The snapshot before the current one, if nobody holds it: the
        // cache's is then the only reference, and it may be changed.
        let mut next = self
            .spare
            .take()
            .and_then(|mut s| Arc::get_mut(&mut s).is_some().then_some(s))
            .unwrap_or_default();
        let Some(snap) = Arc::get_mut(&mut next) else {
            // Unreachable: `next` is the spare held nowhere else, or new.
            self.spare = Some(next);
            return false;
        };
        // The items are noted as the answer is validated (one pass over
        // it); the snapshot then keeps the buffer the answer came in, and
        // the client receives the next one into the snapshot's old one.
        snap.begin();
        match self.client.call_snapshot_visiting(|item| snap.note(item)) {
            Ok(view) => snap.finish(&view),
            Err(e) => {
                // The spare is not published: what it noted is dropped.
                self.spare = Some(next);
                self.refresh_failure += 1;
                self.last_error = Some(e);
                return false;
            }
        }
        let payload = self.client.swap_received(snap.buffer());
        snap.adopt(payload.start);
        self.reader.publish(Arc::clone(&next));
        self.spare = Some(std::mem::replace(&mut self.current, next));
        self.populated = true;
        self.refresh_success += 1;
        self.last_success = Some(SystemTime::now());
        self.last_error = None;
        true
    }

    /// Whether a snapshot was ever loaded (not whether we are connected).
    pub fn ready(&self) -> bool {
        self.populated
    }

    /// The item with this hash and name, from the current snapshot: a view
    /// borrowed from the cache (copy what you keep past the next refresh,
    /// or hold a [`CgroupsCache::snapshot`]). Pure memory: no I/O.
    #[inline]
    pub fn lookup(&self, hash: u32, name: impl AsRef<[u8]>) -> Option<CgroupsItemView<'_>> {
        self.current.lookup(hash, name.as_ref())
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
        self.current.lookup_name(name.as_ref())
    }

    /// The current snapshot, shared: it stays valid after later refreshes.
    pub fn snapshot(&self) -> Arc<CacheSnapshot> {
        Arc::clone(&self.current)
    }

    /// A handle for other threads to read the latest snapshot.
    pub fn reader(&self) -> CacheReader {
        self.reader.clone()
    }

    /// Items in the current snapshot.
    pub fn len(&self) -> usize {
        self.current.len()
    }

    /// Whether the current snapshot has no items.
    pub fn is_empty(&self) -> bool {
        self.current.is_empty()
    }

    /// Why the last refresh failed, if it did.
    pub fn last_error(&self) -> Option<&ServiceError> {
        self.last_error.as_ref()
    }

    /// Why the last connection attempt failed, with its OS cause where
    /// there is one: the detail behind a refresh that failed as not ready.
    /// `None` once a connect succeeds.
    pub fn last_connect_error(&self) -> Option<&netipc_service::transport::TransportError> {
        self.client.last_connect_error()
    }

    /// Counters and state, for diagnostics.
    pub fn status(&self) -> CacheStatus {
        CacheStatus {
            state: self.client.state(),
            shm: self.client.status().shm,
            populated: self.populated,
            item_count: self.current.len(),
            generation: self.current.generation(),
            refresh_success: self.refresh_success,
            refresh_failure: self.refresh_failure,
            last_success: self.last_success,
        }
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
        self.spare = None;
        self.current = Arc::new(CacheSnapshot::default());
        self.reader.publish(Arc::clone(&self.current));
        self.populated = false;
    }
}

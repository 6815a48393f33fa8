//! The cgroups snapshot cache, refreshed by an async client.

use crate::cgroups::CgroupsClient;
use netipc_cache::{CacheReader, CacheSnapshot, CacheStatus, CacheStore, CgroupsItemView};
use netipc_service::{ClientConfig, Endpoint, ServiceError};
use std::sync::Arc;

/// A cgroups snapshot cache whose refresh is async; lookups stay
/// synchronous, O(1) and I/O-free, as [`netipc_cache::CgroupsCache`]'s.
///
/// One task refreshes (`refresh().await`, say every second); others read
/// through a [`CacheReader`] from [`CgroupsCache::reader`], whose snapshot
/// stays valid while they hold it. A failed refresh keeps the previous
/// snapshot.
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
    /// name that cannot name an endpoint.
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

    /// Where the cache's client connects.
    pub fn endpoint(&self) -> &Endpoint {
        self.client.endpoint()
    }

    /// Connects if needed and fetches a full snapshot. Returns `true` when
    /// the cache was rebuilt; on any failure the previous cache stays (see
    /// [`CgroupsCache::last_error`]). The snapshot is indexed on the
    /// calling task (linear in its items).
    ///
    /// Cancel safe: dropped at any await point, the cache keeps its
    /// previous snapshot and the next refresh starts afresh (on a new
    /// session if the dropped call's request had gone out).
    pub async fn refresh(&mut self) -> bool {
        self.client.refresh().await;
        // As the blocking cache does: items noted as the answer is
        // validated, the answer's buffer kept, the snapshot before the
        // current one refilled when nobody holds it.
        let mut refill = self.store.begin_refresh();
        let answer = self.client.call_snapshot_visiting(|item| refill.note(item)).await;
        let outcome = refill
            .finish(answer)
            .map(|()| self.client.swap_received(refill.buffer()));
        self.store.refreshed(refill, outcome)
    }

    /// Whether a snapshot was ever loaded (not whether we are connected).
    pub fn ready(&self) -> bool {
        self.store.populated()
    }

    /// The item with this hash and name, from the current snapshot. Pure
    /// memory: no I/O, no await.
    #[inline]
    pub fn lookup(&self, hash: u32, name: impl AsRef<[u8]>) -> Option<CgroupsItemView<'_>> {
        self.store.lookup(hash, name)
    }

    /// The first item with this name in the current snapshot, whatever
    /// hash its producer gave it. Pure memory.
    #[inline]
    pub fn lookup_name(&self, name: impl AsRef<[u8]>) -> Option<CgroupsItemView<'_>> {
        self.store.lookup_name(name)
    }

    /// The current snapshot, shared: it stays valid after later refreshes.
    pub fn snapshot(&self) -> Arc<CacheSnapshot> {
        self.store.snapshot()
    }

    /// A handle for other tasks and threads to read the latest snapshot.
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

    /// Why the last connection attempt failed, if it did.
    pub fn last_connect_error(&self) -> Option<&netipc_service::transport::TransportError> {
        self.client.last_connect_error()
    }

    /// Counters and state, for diagnostics.
    pub fn status(&self) -> CacheStatus {
        self.store.status(self.client.state(), self.client.status().shm)
    }

    /// A handle that aborts the refresh in progress and later ones (they
    /// fail with `Aborted`, keeping the cache) until [`CgroupsCache::clear_abort`].
    pub fn abort_handle(&self) -> crate::AbortHandle {
        self.client.abort_handle()
    }

    /// Raises the abort signal.
    pub fn abort(&self) {
        self.client.abort()
    }

    /// Clears a raised abort signal.
    pub fn clear_abort(&self) {
        self.client.clear_abort()
    }

    /// Sets how long one refresh may take (zero: the default call timeout).
    pub fn set_call_timeout(&mut self, timeout: std::time::Duration) {
        self.client.set_call_timeout(timeout)
    }

    /// Closes the connection and empties the cache.
    pub fn close(&mut self) {
        self.client.close();
        self.store.clear();
    }
}

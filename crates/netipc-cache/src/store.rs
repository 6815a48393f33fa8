//! What a cache keeps, apart from its client: the current snapshot, the
//! reader handle that publishes it, and the refresh counters.

use crate::{CacheReader, CacheSnapshot, CacheStatus, CgroupsItem, ClientState, ServiceError};
use netipc_service::transport::codec::CgroupsResponseView;
use std::sync::Arc;
use std::time::SystemTime;

/// The state of a cgroups cache without its client: the current snapshot,
/// its readers, and the refresh counters.
///
/// [`CgroupsCache`](crate::CgroupsCache) keeps one beside its blocking
/// client; the async cache of `netipc-async` keeps one beside an async
/// client. Each refresh hands the client's answer to
/// [`CacheStore::refreshed`]; lookups are pure memory.
#[derive(Debug)]
pub struct CacheStore {
    current: Arc<CacheSnapshot>,
    reader: CacheReader,
    populated: bool,
    refresh_success: u64,
    refresh_failure: u64,
    last_success: Option<SystemTime>,
    last_error: Option<ServiceError>,
}

impl Default for CacheStore {
    fn default() -> Self {
        Self::new()
    }
}

impl CacheStore {
    /// An empty store.
    pub fn new() -> Self {
        let current = Arc::new(CacheSnapshot::default());
        Self {
            reader: CacheReader::new(Arc::clone(&current)),
            current,
            populated: false,
            refresh_success: 0,
            refresh_failure: 0,
            last_success: None,
            last_error: None,
        }
    }

    /// Takes the answer of a refresh's snapshot call: a snapshot is built,
    /// indexed and published to the readers; a failure is counted and kept
    /// (the previous snapshot stays). Returns whether the cache was rebuilt.
    pub fn refreshed(&mut self, answer: Result<CgroupsResponseView<'_>, ServiceError>) -> bool {
        let built = match answer {
            Ok(view) => CacheSnapshot::build(&view),
            Err(e) => {
                self.refresh_failure += 1;
                self.last_error = Some(e);
                return false;
            }
        };
        self.current = Arc::new(built);
        self.reader.publish(Arc::clone(&self.current));
        self.populated = true;
        self.refresh_success += 1;
        self.last_success = Some(SystemTime::now());
        self.last_error = None;
        true
    }

    /// Whether a snapshot was ever loaded.
    pub fn populated(&self) -> bool {
        self.populated
    }

    /// The item with this hash and name, from the current snapshot.
    #[inline]
    pub fn lookup(&self, hash: u32, name: impl AsRef<[u8]>) -> Option<&CgroupsItem> {
        self.current.lookup(hash, name.as_ref())
    }

    /// The first item with this name in the current snapshot.
    #[inline]
    pub fn lookup_name(&self, name: impl AsRef<[u8]>) -> Option<&CgroupsItem> {
        self.current.lookup_name(name.as_ref())
    }

    /// The current snapshot, shared.
    pub fn snapshot(&self) -> Arc<CacheSnapshot> {
        Arc::clone(&self.current)
    }

    /// A handle for other threads (or tasks) to read the latest snapshot.
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

    /// The cache's diagnostics, given its client's state and transport.
    pub fn status(&self, state: ClientState, shm: bool) -> CacheStatus {
        CacheStatus {
            state,
            shm,
            populated: self.populated,
            item_count: self.current.len(),
            generation: self.current.generation(),
            refresh_success: self.refresh_success,
            refresh_failure: self.refresh_failure,
            last_success: self.last_success,
        }
    }

    /// Empties the cache (its readers see an empty snapshot).
    pub fn clear(&mut self) {
        self.current = Arc::new(CacheSnapshot::default());
        self.reader.publish(Arc::clone(&self.current));
        self.populated = false;
    }
}

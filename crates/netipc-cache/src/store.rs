//! What a cache keeps, apart from its client: the current snapshot and the
//! one before it, the reader handle that publishes them, and the refresh
//! counters.

use crate::{CacheReader, CacheSnapshot, CacheStatus, ClientState, ServiceError};
use netipc_service::transport::codec::{CgroupsItemView, CgroupsResponseView};
use std::ops::Range;
use std::sync::Arc;
use std::time::SystemTime;

/// The state of a cgroups cache without its client: the current snapshot,
/// the one before it, their readers, and the refresh counters.
///
/// [`CgroupsCache`](crate::CgroupsCache) keeps one beside its blocking
/// client; the async cache of `netipc-async` keeps one beside an async
/// client. Lookups are pure memory. A refresh goes:
///
/// 1. [`CacheStore::begin_refresh`] hands out a [`Refill`]: the snapshot
///    before the current one when no reader holds it any more, else a new
///    one;
/// 2. the client's snapshot call gives each item to [`Refill::note`] as
///    it validates the answer, and the call's result goes to
///    [`Refill::finish`];
/// 3. the client's receive buffer is exchanged with [`Refill::buffer`]
///    (the snapshot keeps the message its items came in, the client
///    receives the next one into the snapshot's old buffer);
/// 4. [`CacheStore::refreshed`] publishes the snapshot, or counts and
///    keeps the failure.
///
/// Once the buffers have grown to the data's size, a refresh allocates
/// nothing.
#[derive(Debug)]
pub struct CacheStore {
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

/// A refresh in progress: the snapshot its answer fills, not yet
/// published. See [`CacheStore`] for the order of the calls.
#[derive(Debug)]
pub struct Refill {
    /// Held nowhere else: [`CacheStore::begin_refresh`] made it so, and a
    /// refill never shares it.
    next: Arc<CacheSnapshot>,
}

impl Refill {
    fn snapshot(&mut self) -> &mut CacheSnapshot {
        match Arc::get_mut(&mut self.next) {
            Some(snapshot) => snapshot,
            None => unreachable!("a refill's snapshot is never shared"),
        }
    }

    /// Notes an item of the answer, as the client validates it.
    #[inline]
    pub fn note(&mut self, item: CgroupsItemView<'_>) {
        self.snapshot().note(item);
    }

    /// Takes the answer of the snapshot call whose items were noted: on
    /// success indexes them and takes the snapshot's generation and flags;
    /// a failure is handed back (give it to [`CacheStore::refreshed`]).
    pub fn finish(
        &mut self,
        answer: Result<CgroupsResponseView<'_>, ServiceError>,
    ) -> Result<(), ServiceError> {
        let view = answer?;
        self.snapshot().finish(&view);
        Ok(())
    }

    /// The buffer to exchange with the client's receive buffer, which holds
    /// the payload of the answer given to [`Refill::finish`].
    pub fn buffer(&mut self) -> &mut Vec<u8> {
        self.snapshot().buffer()
    }
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
            spare: None,
            populated: false,
            refresh_success: 0,
            refresh_failure: 0,
            last_success: None,
            last_error: None,
        }
    }

    /// Starts a refresh: the snapshot before the current one if nobody
    /// holds it (its buffers are reused), else a new one.
    pub fn begin_refresh(&mut self) -> Refill {
        let mut next = self.spare.take().unwrap_or_default();
        if Arc::get_mut(&mut next).is_none() {
            // A reader still holds it: it stays theirs, and a new one is
            // built beside it.
            next = Arc::default();
        }
        let mut refill = Refill { next };
        refill.snapshot().begin();
        refill
    }

    /// Ends a refresh. `outcome` is where the payload is in
    /// [`Refill::buffer`] after the exchange with the client's buffer, or
    /// why the call failed. On success the snapshot is published to the
    /// readers and becomes the current one; a failure is counted and kept,
    /// and the previous snapshot stays. Returns whether the cache was
    /// rebuilt.
    pub fn refreshed(&mut self, mut refill: Refill, outcome: Result<Range<usize>, ServiceError>) -> bool {
        match outcome {
            Ok(payload) => {
                refill.snapshot().adopt(payload.start);
                self.reader.publish(Arc::clone(&refill.next));
                self.spare = Some(std::mem::replace(&mut self.current, refill.next));
                self.populated = true;
                self.refresh_success += 1;
                self.last_success = Some(SystemTime::now());
                self.last_error = None;
                true
            }
            Err(e) => {
                // Not published: what it noted is dropped with the next
                // refill.
                self.spare = Some(refill.next);
                self.refresh_failure += 1;
                self.last_error = Some(e);
                false
            }
        }
    }

    /// Whether a snapshot was ever loaded.
    pub fn populated(&self) -> bool {
        self.populated
    }

    /// The item with this hash and name, from the current snapshot.
    #[inline]
    pub fn lookup(&self, hash: u32, name: impl AsRef<[u8]>) -> Option<CgroupsItemView<'_>> {
        self.current.lookup(hash, name.as_ref())
    }

    /// The first item with this name in the current snapshot.
    #[inline]
    pub fn lookup_name(&self, name: impl AsRef<[u8]>) -> Option<CgroupsItemView<'_>> {
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
        self.spare = None;
        self.current = Arc::new(CacheSnapshot::default());
        self.reader.publish(Arc::clone(&self.current));
        self.populated = false;
    }
}

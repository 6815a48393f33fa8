//! The immutable snapshot a cache publishes, and the reader handle.
//!
//! A snapshot keeps its items in three flat buffers: the names and paths
//! back to back in one byte buffer, a table of fixed-size entries (the
//! item's numbers and where its strings are), and an open-addressing index.
//! Lookups hand out [`CgroupsItemView`]s borrowed from those buffers. A
//! cache refills the buffers of a snapshot that nobody holds any more
//! instead of allocating new ones, so once they have grown to the size of
//! the data a refresh allocates nothing (see [`crate::CgroupsCache`]).

use crate::table::ChainTable;
use netipc_service::transport::codec::{CgroupsItemView, CgroupsResponseView, StrView};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use xxhash_rust::xxh3::xxh3_64;

/// One item: its numbers, and where its name and path are in the
/// snapshot's bytes (during a refill, where they were when the payload was
/// decoded).
#[derive(Debug, Clone, Copy)]
struct Entry {
    hash: u32,
    options: u32,
    enabled: u32,
    name_len: u32,
    path_len: u32,
    name_at: usize,
    path_at: usize,
}

/// One snapshot, owned and indexed. Immutable once published.
#[derive(Debug, Default)]
pub struct CacheSnapshot {
    /// Every item's name and path: copied back to back, or the whole
    /// message they came in.
    bytes: Vec<u8>,
    /// During a refill, what turns an entry's string address (in the
    /// payload as it was decoded) into an offset in the payload, wrapping.
    base: usize,
    /// The items, in snapshot order.
    entries: Vec<Entry>,
    /// Items by the producer's hash.
    by_hash: ChainTable,
    /// Items by a hash of their name, built by the first lookup by name.
    by_name: OnceLock<ChainTable>,
    /// The buffers of an earlier snapshot's name index, for the next one.
    name_spare: Mutex<ChainTable>,
    generation: u64,
    systemd_enabled: u32,
}

/// The key of a name in the name index.
#[inline]
fn name_key(name: &[u8]) -> u32 {
    xxh3_64(name) as u32
}

impl CacheSnapshot {
    /// Copies a decoded snapshot into owned storage and indexes it by hash.
    ///
    /// Items of one hash are chained in snapshot order, so a lookup meets
    /// the first of duplicate `(hash, name)` items first.
    pub fn build(view: &CgroupsResponseView<'_>) -> Self {
        let mut snapshot = Self::default();
        snapshot.refill(view);
        snapshot
    }

    /// Replaces the contents with `view`'s, copying its payload, and
    /// reusing this snapshot's buffers (and those of its name index, if one
    /// was built): with room enough for the new items, nothing is
    /// allocated.
    pub(crate) fn refill(&mut self, view: &CgroupsResponseView<'_>) {
        self.begin();
        for item in view.iter() {
            self.note(item);
        }
        self.finish(view);
        self.bytes.clear();
        self.bytes.extend_from_slice(view.payload());
        self.adopt(0);
    }

    /// Starts a refill in place: [`Self::note`] each item as the answer is
    /// decoded, [`Self::finish`] with the decoded view, exchange
    /// [`Self::buffer`] with the buffer that holds the payload, and
    /// [`Self::adopt`] it. Until then the snapshot is not whole.
    pub(crate) fn begin(&mut self) {
        self.entries.clear();
    }

    /// Notes an item where it is: its strings' addresses, which become
    /// offsets in the buffer once it is adopted.
    #[inline]
    pub(crate) fn note(&mut self, item: CgroupsItemView<'_>) {
        let (name, path) = (item.name.as_bytes(), item.path.as_bytes());
        self.entries.push(Entry {
            hash: item.hash,
            options: item.options,
            enabled: item.enabled,
            // Each string lies within a payload whose length is a u32.
            name_len: name.len() as u32,
            path_len: path.len() as u32,
            name_at: name.as_ptr() as usize,
            path_at: path.as_ptr() as usize,
        });
    }

    /// Indexes the items noted, which are `view`'s, and takes its numbers.
    pub(crate) fn finish(&mut self, view: &CgroupsResponseView<'_>) {
        self.by_hash.rebuild(self.entries.iter().map(|e| e.hash));
        if let Some(index) = self.by_name.take() {
            *self.name_spare.get_mut().unwrap_or_else(|p| p.into_inner()) = index;
        }
        self.generation = view.generation;
        self.systemd_enabled = view.systemd_enabled;
        // Strings are subslices of the payload: an address less the
        // payload's is the string's offset in it.
        self.base = (view.payload().as_ptr() as usize).wrapping_neg();
    }

    /// The buffer to exchange with the one that holds the payload of the
    /// view given to [`Self::finish`].
    pub(crate) fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.bytes
    }

    /// Completes a refill: the payload is now in this snapshot's buffer,
    /// from `start` on. The entries' addresses become offsets in it (one
    /// pass over them here spares an addition in every lookup).
    pub(crate) fn adopt(&mut self, start: usize) {
        let shift = self.base.wrapping_add(start);
        for e in &mut self.entries {
            e.name_at = e.name_at.wrapping_add(shift);
            e.path_at = e.path_at.wrapping_add(shift);
        }
    }

    /// The `len` bytes of the string noted at `at`.
    #[inline]
    fn string(&self, at: usize, len: u32) -> &[u8] {
        self.bytes
            .get(at..at.wrapping_add(len as usize))
            .unwrap_or_default()
    }

    /// The name of entry `e`.
    #[inline]
    fn name_of(&self, e: &Entry) -> &[u8] {
        self.string(e.name_at, e.name_len)
    }

    /// Entry `e`, whose name is `name`, as an item view.
    #[inline]
    fn view_of<'s>(&'s self, e: &Entry, name: &'s [u8]) -> CgroupsItemView<'s> {
        CgroupsItemView {
            hash: e.hash,
            options: e.options,
            enabled: e.enabled,
            name: StrView::new(name),
            path: StrView::new(self.string(e.path_at, e.path_len)),
        }
    }

    /// The first item under `key` in `index` whose name is `name`.
    #[inline]
    fn find(&self, index: &ChainTable, key: u32, name: &[u8]) -> Option<CgroupsItemView<'_>> {
        let mut at = index.head(key);
        while let Some(i) = at {
            let e = self.entries.get(i)?;
            let candidate = self.name_of(e);
            if same_bytes(candidate, name) {
                return Some(self.view_of(e, candidate));
            }
            at = index.next(i);
        }
        None
    }

    /// The item with this hash and name.
    #[inline]
    pub fn lookup(&self, hash: u32, name: &[u8]) -> Option<CgroupsItemView<'_>> {
        self.find(&self.by_hash, hash, name)
    }

    /// The first item, in snapshot order, with this name, whatever hash
    /// its producer gave it. The first lookup by name in a snapshot builds
    /// its name index (linear in the items, once per snapshot; any thread
    /// may do it, the others wait for it); later ones cost a hash of the
    /// name and a probe, as [`CacheSnapshot::lookup`] does.
    #[inline]
    pub fn lookup_name(&self, name: &[u8]) -> Option<CgroupsItemView<'_>> {
        let index = self.by_name.get_or_init(|| {
            let mut index = std::mem::take(&mut *self.name_spare.lock().unwrap_or_else(|p| p.into_inner()));
            index.rebuild(self.entries.iter().map(|e| name_key(self.name_of(e))));
            index
        });
        self.find(index, name_key(name), name)
    }

    /// Item `index` (in snapshot order), if there is one.
    pub fn item(&self, index: usize) -> Option<CgroupsItemView<'_>> {
        self.entries.get(index).map(|e| self.view_of(e, self.name_of(e)))
    }

    /// All items, in snapshot order.
    pub fn items(&self) -> SnapshotItems<'_> {
        SnapshotItems {
            snapshot: self,
            entries: self.entries.iter(),
        }
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Snapshot generation.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The producer's systemd flag.
    pub fn systemd_enabled(&self) -> u32 {
        self.systemd_enabled
    }
}

/// The items of a [`CacheSnapshot`], in snapshot order, as views borrowed
/// from it.
#[derive(Debug, Clone)]
pub struct SnapshotItems<'a> {
    snapshot: &'a CacheSnapshot,
    entries: std::slice::Iter<'a, Entry>,
}

impl<'a> Iterator for SnapshotItems<'a> {
    type Item = CgroupsItemView<'a>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.entries
            .next()
            .map(|e| self.snapshot.view_of(e, self.snapshot.name_of(e)))
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}

impl DoubleEndedIterator for SnapshotItems<'_> {
    #[inline]
    fn next_back(&mut self) -> Option<Self::Item> {
        self.entries
            .next_back()
            .map(|e| self.snapshot.view_of(e, self.snapshot.name_of(e)))
    }
}

impl ExactSizeIterator for SnapshotItems<'_> {}

/// Whether `a` and `b` hold the same bytes. Cgroup names are mostly short:
/// up to 16 bytes they are compared as two words that overlap when the
/// names are shorter, instead of through a call to `memcmp`.
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| u64::from_ne_bytes(s[at..at + 8].try_into().unwrap_or([0; 8]));
    let half = |s: &[u8], at: usize| u32::from_ne_bytes(s[at..at + 4].try_into().unwrap_or([0; 4]));
    match n {
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        _ => a == b,
    }
}

/// A cheap, cloneable handle through which any thread reads the latest
/// snapshot. The `Arc` returned by [`CacheReader::guard`] is the read guard:
/// the snapshot it points to is never changed or freed while it is held,
/// even as the cache publishes newer ones.
#[derive(Debug, Clone)]
pub struct CacheReader {
    slot: Arc<RwLock<Arc<CacheSnapshot>>>,
}

impl CacheReader {
    pub(crate) fn new(first: Arc<CacheSnapshot>) -> Self {
        Self {
            slot: Arc::new(RwLock::new(first)),
        }
    }

    pub(crate) fn publish(&self, snap: Arc<CacheSnapshot>) {
        *self.slot.write().unwrap_or_else(|p| p.into_inner()) = snap;
    }

    /// The latest published snapshot.
    pub fn guard(&self) -> Arc<CacheSnapshot> {
        Arc::clone(&self.slot.read().unwrap_or_else(|p| p.into_inner()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netipc_service::transport::codec::CgroupsBuilder;
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// The payload of a snapshot of `(hash, name, path)` items.
    fn payload(items: &[(u32, &str, &str)], generation: u64) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut b = CgroupsBuilder::new(&mut buf, 1 << 16);
        b.set_header(1, generation);
        for &(hash, name, path) in items {
            b.add(hash, 0, 1, name.as_bytes(), path.as_bytes()).unwrap();
        }
        b.finish();
        buf
    }

    /// A snapshot of `(hash, name, path)` items, through the wire format.
    fn snapshot(items: &[(u32, &str, &str)]) -> CacheSnapshot {
        CacheSnapshot::build(&CgroupsResponseView::decode(&payload(items, 42)).unwrap())
    }

    #[test]
    fn lookups_follow_hash_chains_and_the_first_duplicate_wins() {
        let s = snapshot(&[
            (7, "a", "/first"),
            (7, "b", "/b"),
            (9, "c", "/c"),
            (7, "a", "/duplicate"),
            (7, "d", "/d"),
        ]);
        assert_eq!((s.len(), s.generation(), s.systemd_enabled()), (5, 42, 1));
        let path = |hash, name: &str| s.lookup(hash, name.as_bytes()).map(|i| i.path.to_string());
        assert_eq!(path(7, "a").as_deref(), Some("/first"));
        assert_eq!(path(7, "b").as_deref(), Some("/b"));
        assert_eq!(path(7, "d").as_deref(), Some("/d"), "past the duplicate");
        assert_eq!(path(9, "c").as_deref(), Some("/c"));
        assert_eq!(path(9, "a"), None, "a name under another hash");
        assert_eq!(path(8, "a"), None);
        // Every item stays listed, the duplicate too, in snapshot order.
        let paths: Vec<String> = s.items().map(|i| i.path.to_string()).collect();
        assert_eq!(paths, ["/first", "/b", "/c", "/duplicate", "/d"]);
        assert_eq!(s.items().len(), 5);
        let backwards: Vec<String> = s.items().rev().map(|i| i.name.to_string()).collect();
        assert_eq!(backwards, ["d", "a", "c", "b", "a"]);
        let third = s.item(2).unwrap();
        assert_eq!((third.hash, third.options, third.enabled), (9, 0, 1));
        assert_eq!(
            (third.name.as_bytes(), third.path.as_bytes()),
            (&b"c"[..], &b"/c"[..])
        );
        assert!(s.item(5).is_none());
        let empty = snapshot(&[]);
        assert!(empty.is_empty() && empty.items().next().is_none());
        assert!(empty.lookup(7, b"a").is_none());
        assert!(CacheSnapshot::default().lookup(7, b"a").is_none());
        assert!(CacheSnapshot::default().lookup_name(b"a").is_none());
    }

    /// A producer that gives every item the same hash (a buggy one, or
    /// names that collide): the index still finds every name, the first of
    /// duplicates wins, and building stays linear in the item count (it
    /// used to compare each new name with every earlier one of its hash).
    #[test]
    fn one_hash_for_every_item_still_indexes_every_name() {
        let n = 50_000u32;
        let mut buf = Vec::new();
        let mut b = CgroupsBuilder::new(&mut buf, 1 << 24);
        b.set_header(1, 7);
        for i in 0..n {
            let name = format!("cg-{i}");
            b.add(0, 0, 1, name.as_bytes(), format!("/p{i}").as_bytes())
                .unwrap();
        }
        b.add(0, 0, 1, b"cg-0", b"/second").unwrap();
        b.finish();
        let s = CacheSnapshot::build(&CgroupsResponseView::decode(&buf).unwrap());
        assert_eq!(s.len(), n as usize + 1);
        for i in (0..n).step_by(4999) {
            let item = s.lookup(0, format!("cg-{i}").as_bytes()).unwrap();
            assert_eq!(item.path.to_string(), format!("/p{i}"));
        }
        assert_eq!(
            s.lookup(0, b"cg-0").unwrap().path,
            "/p0",
            "the first of duplicates"
        );
        assert!(s.lookup(0, b"cg-x").is_none());
    }

    /// A lookup by name finds items whatever hash their producer used, the
    /// first of duplicate names in snapshot order, and nothing for a name
    /// the snapshot lacks; its index serves every later lookup.
    #[test]
    fn lookups_by_name_ignore_the_producers_hash() {
        let s = snapshot(&[
            (0xdead, "docker-abc123", "/a"),
            (17, "init.scope", "/i"),
            (0xbeef, "docker-abc123", "/second"),
        ]);
        let path = |name: &str| s.lookup_name(name.as_bytes()).map(|i| i.path.to_string());
        assert_eq!(path("docker-abc123").as_deref(), Some("/a"));
        assert_eq!(path("init.scope").as_deref(), Some("/i"));
        assert_eq!(path("docker"), None);
        assert!(snapshot(&[]).lookup_name(b"x").is_none());
        // Names whose index keys collide are told apart by their bytes.
        let names: Vec<String> = (0..200_000).map(|i| format!("cg-{i}")).collect();
        let mut seen = HashMap::new();
        let (a, b) = names
            .iter()
            .find_map(|n| {
                seen.insert(name_key(n.as_bytes()), n)
                    .map(|m| (m.clone(), n.clone()))
            })
            .expect("200,000 names give a 32-bit key collision");
        let s = snapshot(&[(1, &a, "/a"), (2, &b, "/b")]);
        assert_eq!(s.lookup_name(a.as_bytes()).unwrap().path, "/a");
        assert_eq!(s.lookup_name(b.as_bytes()).unwrap().path, "/b");
    }

    /// Refilling a snapshot replaces everything it held, indexes included
    /// (a name index built before is built again, for the new items, by the
    /// next lookup by name), and reuses its buffers: refilled with no more
    /// than it held, it keeps every buffer where it was.
    #[test]
    fn a_refilled_snapshot_holds_only_the_new_items_in_the_old_buffers() {
        let big: Vec<(u32, String, String)> = (0..300)
            .map(|i| (i % 7, format!("cg-{i}"), format!("/sys/fs/cgroup/cg-{i}")))
            .collect();
        let refs: Vec<(u32, &str, &str)> = big.iter().map(|(h, n, p)| (*h, n.as_str(), p.as_str())).collect();
        let first = payload(&refs, 1);
        let mut s = CacheSnapshot::build(&CgroupsResponseView::decode(&first).unwrap());
        assert_eq!(s.lookup_name(b"cg-299").unwrap().path, "/sys/fs/cgroup/cg-299");
        let buffers = |s: &CacheSnapshot| {
            (
                s.bytes.as_ptr(),
                s.entries.as_ptr(),
                s.by_hash.storage(),
                s.by_name.get().map(ChainTable::storage),
                s.name_spare.lock().unwrap().storage(),
            )
        };
        let held = buffers(&s);
        let second = payload(&[(3, "cg-7", "/moved"), (4, "new", "/new")], 2);
        s.refill(&CgroupsResponseView::decode(&second).unwrap());
        assert_eq!((s.len(), s.generation()), (2, 2));
        assert_eq!(s.lookup(3, b"cg-7").unwrap().path, "/moved");
        assert!(s.lookup(0, b"cg-0").is_none(), "an item of the old snapshot");
        assert!(s.lookup_name(b"cg-299").is_none(), "the name index is rebuilt");
        assert_eq!(s.lookup_name(b"new").unwrap().path, "/new");
        let now = buffers(&s);
        assert_eq!((now.0, now.1, now.2), (held.0, held.1, held.2));
        assert_eq!(
            now.3, held.3,
            "the name index took over the earlier one's buffers"
        );
    }

    proptest! {
        /// With few hashes and few names (long chains, many duplicates),
        /// every lookup finds what a scan of the items in order finds first.
        #[test]
        fn lookups_agree_with_a_first_match_scan(
            list in prop::collection::vec((0u32..4, 0u8..6), 0..60),
        ) {
            let owned: Vec<(u32, String, String)> = list
                .iter()
                .enumerate()
                .map(|(i, &(h, n))| (h, format!("n{n}"), format!("/{i}")))
                .collect();
            let refs: Vec<(u32, &str, &str)> =
                owned.iter().map(|(h, n, p)| (*h, n.as_str(), p.as_str())).collect();
            let s = snapshot(&refs);
            for h in 0..5u32 {
                for n in 0..7u8 {
                    let name = format!("n{n}");
                    let want = owned.iter().find(|(ih, iname, _)| *ih == h && *iname == name);
                    let got = s.lookup(h, name.as_bytes()).map(|i| i.path.to_string());
                    prop_assert_eq!(got, want.map(|(_, _, p)| p.clone()));
                }
            }
            // By name alone: the first item of that name, whatever its hash.
            for n in 0..7u8 {
                let name = format!("n{n}");
                let want = owned.iter().find(|(_, iname, _)| *iname == name);
                let got = s.lookup_name(name.as_bytes()).map(|i| i.path.to_string());
                prop_assert_eq!(got, want.map(|(_, _, p)| p.clone()));
            }
        }

        /// A snapshot refilled over another answers exactly as one built
        /// afresh from the same payload.
        #[test]
        fn a_refill_answers_as_a_fresh_build(
            before in prop::collection::vec((0u32..6, 0u8..9), 0..80),
            after in prop::collection::vec((0u32..6, 0u8..9), 0..80),
        ) {
            let owned = |list: &[(u32, u8)]| -> Vec<(u32, String, String)> {
                list.iter().enumerate().map(|(i, &(h, n))| (h, format!("n{n}"), format!("/{i}"))).collect()
            };
            let refs = |o: &[(u32, String, String)]| -> Vec<u8> {
                let r: Vec<(u32, &str, &str)> = o.iter().map(|(h, n, p)| (*h, n.as_str(), p.as_str())).collect();
                payload(&r, 5)
            };
            let (b, a) = (refs(&owned(&before)), refs(&owned(&after)));
            let mut refilled = CacheSnapshot::build(&CgroupsResponseView::decode(&b).unwrap());
            let _ = refilled.lookup_name(b"n1");
            refilled.refill(&CgroupsResponseView::decode(&a).unwrap());
            let fresh = CacheSnapshot::build(&CgroupsResponseView::decode(&a).unwrap());
            prop_assert!(refilled.items().eq(fresh.items()));
            for h in 0..7u32 {
                for n in 0..10u8 {
                    let name = format!("n{n}");
                    prop_assert_eq!(refilled.lookup(h, name.as_bytes()), fresh.lookup(h, name.as_bytes()));
                }
            }
            for n in 0..10u8 {
                let name = format!("n{n}");
                prop_assert_eq!(refilled.lookup_name(name.as_bytes()), fresh.lookup_name(name.as_bytes()));
            }
        }

        /// The word-wise comparison agrees with `==` at every length, for
        /// equal names and for names that differ in any one byte.
        #[test]
        fn same_bytes_agrees_with_eq(
            a in prop::collection::vec(any::<u8>(), 0..40),
            other_len in 0usize..40,
            flip in any::<prop::sample::Index>(),
            bit in 0u8..8,
        ) {
            prop_assert!(same_bytes(&a, &a.clone()));
            if !a.is_empty() {
                let mut b = a.clone();
                let at = flip.index(b.len());
                b[at] ^= 1 << bit;
                prop_assert!(!same_bytes(&a, &b));
            }
            let c = vec![7u8; other_len];
            prop_assert_eq!(same_bytes(&a, &c), a == c);
        }
    }
}

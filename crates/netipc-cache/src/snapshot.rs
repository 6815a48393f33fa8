//! The immutable snapshot a cache publishes, and the reader handle.

use crate::index::BuildKeyHasher;
use netipc_service::transport::codec::{CgroupsItem, CgroupsResponseView};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};
use xxhash_rust::xxh3::xxh3_64;

const NONE: u32 = u32::MAX;

/// One snapshot, owned and indexed. Immutable once built.
#[derive(Debug, Default)]
pub struct CacheSnapshot {
    items: Vec<CgroupsItem>,
    /// Items by the producer's hash.
    by_hash: ChainIndex,
    /// Items by a hash of their name, built by the first lookup by name.
    by_name: OnceLock<ChainIndex>,
    generation: u64,
    systemd_enabled: u32,
}

/// Items by a u32 key: the first item of each key, and a chain through
/// the items that share a key, in snapshot order.
#[derive(Debug, Default)]
struct ChainIndex {
    /// First item of each key.
    heads: HashMap<u32, u32, BuildKeyHasher>,
    /// Next item with the same key, or `NONE`.
    next: Vec<u32>,
}

impl ChainIndex {
    /// Indexes items by their keys, given in snapshot order.
    ///
    /// Building is linear in the item count whatever the keys: each item
    /// is put at the head of its chain, and at the end each chain of more
    /// than one item is turned around once, with no walk along a chain per
    /// item.
    fn build(keys: impl ExactSizeIterator<Item = u32>) -> Self {
        let n = keys.len();
        let mut heads = HashMap::with_capacity_and_hasher(n, BuildKeyHasher::default());
        let mut next = Vec::with_capacity(n);
        // Keys whose chain has more than one item, each listed once.
        let mut shared = Vec::new();
        for (i, key) in keys.enumerate() {
            let after = heads.insert(key, i as u32).unwrap_or(NONE);
            if after != NONE && next[after as usize] == NONE {
                shared.push(key);
            }
            next.push(after);
        }
        // Those chains run newest first: turn each around.
        for key in shared {
            let Some(head) = heads.get_mut(&key) else {
                continue;
            };
            let (mut reversed, mut rest) = (NONE, *head);
            while rest != NONE {
                let after = next[rest as usize];
                next[rest as usize] = reversed;
                (reversed, rest) = (rest, after);
            }
            *head = reversed;
        }
        Self { heads, next }
    }

    /// The first item under `key` named `name`.
    #[inline]
    fn find<'a>(&self, items: &'a [CgroupsItem], key: u32, name: &[u8]) -> Option<&'a CgroupsItem> {
        let mut i = *self.heads.get(&key)?;
        while i != NONE {
            let item = &items[i as usize];
            if same_bytes(item.name.as_bytes(), name) {
                return Some(item);
            }
            i = self.next[i as usize];
        }
        None
    }
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
        let items: Vec<CgroupsItem> = view.iter().map(|item| item.to_owned()).collect();
        Self {
            by_hash: ChainIndex::build(items.iter().map(|item| item.hash)),
            by_name: OnceLock::new(),
            items,
            generation: view.generation,
            systemd_enabled: view.systemd_enabled,
        }
    }

    /// The item with this hash and name.
    #[inline]
    pub fn lookup(&self, hash: u32, name: &[u8]) -> Option<&CgroupsItem> {
        self.by_hash.find(&self.items, hash, name)
    }

    /// The first item, in snapshot order, with this name, whatever hash
    /// its producer gave it. The first lookup by name in a snapshot builds
    /// its name index (linear in the items, once per snapshot; any thread
    /// may do it, the others wait for it); later ones cost a hash of the
    /// name and a probe, as [`CacheSnapshot::lookup`] does.
    #[inline]
    pub fn lookup_name(&self, name: &[u8]) -> Option<&CgroupsItem> {
        let index = self
            .by_name
            .get_or_init(|| ChainIndex::build(self.items.iter().map(|item| name_key(item.name.as_bytes()))));
        index.find(&self.items, name_key(name), name)
    }

    /// All items, in snapshot order.
    pub fn items(&self) -> &[CgroupsItem] {
        &self.items
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
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

    /// A snapshot of `(hash, name, path)` items, through the wire format.
    fn snapshot(items: &[(u32, &str, &str)]) -> CacheSnapshot {
        let mut buf = Vec::new();
        let mut b = CgroupsBuilder::new(&mut buf, 1 << 16);
        b.set_header(1, 42);
        for &(hash, name, path) in items {
            b.add(hash, 0, 1, name.as_bytes(), path.as_bytes()).unwrap();
        }
        b.finish();
        CacheSnapshot::build(&CgroupsResponseView::decode(&buf).unwrap())
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
        let paths: Vec<String> = s.items().iter().map(|i| i.path.to_string()).collect();
        assert_eq!(paths, ["/first", "/b", "/c", "/duplicate", "/d"]);
        assert!(snapshot(&[]).is_empty());
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

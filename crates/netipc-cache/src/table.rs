//! The index of a snapshot: items by a u32 key, in an open-addressing
//! table whose buffers are rebuilt in place for each snapshot.

/// No item: slots and chains hold item numbers plus one, so that a zeroed
/// buffer (which the allocator and `memset` make fastest) is all free.
const NONE: u32 = 0;
/// Fewest slots of a table that holds anything.
const MIN_SLOTS: usize = 8;

/// One key's slot: the key, and the first and last of its items (`NONE`
/// for a free slot), each plus one.
#[derive(Debug, Clone, Copy)]
struct Slot {
    key: u32,
    head: u32,
    tail: u32,
}

const FREE: Slot = Slot {
    key: 0,
    head: NONE,
    tail: NONE,
};

/// Items by a u32 key: one slot per distinct key, found by linear probing
/// from a multiplicative hash of the key, and a chain through the items
/// that share a key, in snapshot order.
///
/// At least twice as many slots as items keep probe runs short, and a
/// chain per key keeps building linear whatever the keys: a producer that
/// gives every item the same hash makes one long chain, not one long
/// probe run per item.
#[derive(Debug, Default)]
pub(crate) struct ChainTable {
    /// A power of two of slots, or none when the table is empty.
    slots: Vec<Slot>,
    /// Per item, the next item with the same key (plus one), or `NONE`.
    next: Vec<u32>,
    /// `64 - log2(slots.len())`: the shift that leaves a slot number.
    shift: u32,
}

impl ChainTable {
    /// Indexes items by their keys, given in snapshot order, reusing the
    /// buffers: nothing is allocated when they have room already.
    pub(crate) fn rebuild(&mut self, keys: impl ExactSizeIterator<Item = u32>) {
        let n = keys.len();
        self.slots.clear();
        self.next.clear();
        if n == 0 {
            return;
        }
        let slots = n.saturating_mul(2).next_power_of_two().max(MIN_SLOTS);
        self.slots.resize(slots, FREE);
        self.next.resize(n, NONE);
        self.shift = 64 - slots.trailing_zeros();
        let mask = slots - 1;
        for (i, key) in keys.enumerate() {
            // Item counts come from a u32 field, and no snapshot holds
            // u32::MAX items (each takes 32 bytes at least).
            let item = (i as u32).wrapping_add(1);
            let mut at = self.home(key);
            loop {
                let slot = &mut self.slots[at];
                if slot.head == NONE {
                    *slot = Slot {
                        key,
                        head: item,
                        tail: item,
                    };
                    break;
                }
                if slot.key == key {
                    self.next[slot.tail as usize - 1] = item;
                    slot.tail = item;
                    break;
                }
                at = (at + 1) & mask;
            }
        }
    }

    /// The slot where the probe for `key` starts: the top bits of the key
    /// times a large odd constant, which spreads keys that differ only in
    /// their low bits (sequential hashes) as well as any others.
    #[inline]
    fn home(&self, key: u32) -> usize {
        (u64::from(key).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    /// The first item under `key`, if any; [`Self::next`] gives the others,
    /// in snapshot order.
    #[inline]
    pub(crate) fn head(&self, key: u32) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut at = self.home(key);
        loop {
            let slot = self.slots[at & mask];
            if slot.key == key || slot.head == NONE {
                return item(slot.head);
            }
            at += 1;
        }
    }

    /// The item after `item` under its key, if any.
    #[inline]
    pub(crate) fn next(&self, item: usize) -> Option<usize> {
        self::item(self.next.get(item).copied().unwrap_or(NONE))
    }

    /// The items under `key`, in snapshot order.
    #[cfg(test)]
    pub(crate) fn chain(&self, key: u32) -> impl Iterator<Item = usize> + '_ {
        std::iter::successors(self.head(key), |&i| self.next(i))
    }

    /// Where the buffers are, for tests of their reuse.
    #[cfg(test)]
    pub(crate) fn storage(&self) -> (*const u8, *const u32) {
        (self.slots.as_ptr().cast(), self.next.as_ptr())
    }
}

/// The item a slot or chain link names, if any.
#[inline]
fn item(link: u32) -> Option<usize> {
    link.checked_sub(1).map(|i| i as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn table(keys: &[u32]) -> ChainTable {
        let mut t = ChainTable::default();
        t.rebuild(keys.iter().copied());
        t
    }

    #[test]
    fn chains_keep_snapshot_order() {
        let t = table(&[5, 9, 5, 5, 1, 9]);
        assert_eq!(t.chain(5).collect::<Vec<_>>(), [0, 2, 3]);
        assert_eq!((t.head(9), t.next(1), t.next(5)), (Some(1), Some(5), None));
        assert_eq!(t.chain(9).collect::<Vec<_>>(), [1, 5]);
        assert_eq!(t.chain(1).collect::<Vec<_>>(), [4]);
        assert_eq!(t.chain(2).count(), 0);
        assert_eq!(table(&[]).chain(5).count(), 0);
        assert_eq!(ChainTable::default().chain(0).count(), 0);
    }

    #[test]
    fn rebuilding_forgets_the_old_keys_and_keeps_the_buffers() {
        let mut t = table(&(0..100).collect::<Vec<_>>());
        let storage = t.storage();
        t.rebuild([7u32, 7].into_iter());
        assert_eq!(t.chain(7).collect::<Vec<_>>(), [0, 1]);
        assert_eq!(t.chain(50).count(), 0);
        assert_eq!(t.storage(), storage);
    }

    proptest! {
        /// Every key's chain lists exactly its items, in order, whatever
        /// the keys (sequential, spread, colliding in their top bits).
        #[test]
        fn chains_match_a_scan(keys in prop::collection::vec(
            prop_oneof![0u32..8, any::<u32>(), (0u32..64).prop_map(|k| k << 26)], 0..300,
        )) {
            let t = table(&keys);
            for probe in keys.iter().copied().chain([1u32, 0xFFFF_FFFF]) {
                let want: Vec<usize> = keys
                    .iter()
                    .enumerate()
                    .filter(|&(_, &k)| k == probe)
                    .map(|(i, _)| i)
                    .collect();
                prop_assert_eq!(t.chain(probe).collect::<Vec<_>>(), want);
            }
        }
    }
}

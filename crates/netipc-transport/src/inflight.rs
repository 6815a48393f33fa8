//! The message ids of a client's requests that await their responses.

use std::collections::HashSet;

/// Ids kept in the short list before they move to a hash set.
const FEW: usize = 32;

/// The ids of requests sent and not answered yet.
///
/// Few are in flight at a time (one, in ping-pong), so they live in a short
/// list searched linearly: no hashing on the path of every call. A deeper
/// pipeline moves them to a hash set, and they come back to the list once
/// every response is in. Both keep their capacity, so a warm session
/// allocates nothing.
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    /// The ids, while at most [`FEW`] are in flight.
    few: Vec<u64>,
    /// The ids, while more are in flight (`few` is then empty).
    many: HashSet<u64>,
}

impl InFlight {
    /// Adds `id`; `false` if it is in flight already.
    #[inline]
    pub(crate) fn insert(&mut self, id: u64) -> bool {
        if self.many.is_empty() {
            if self.few.contains(&id) {
                return false;
            }
            if self.few.len() < FEW {
                self.few.push(id);
                return true;
            }
            self.many.extend(self.few.drain(..));
        }
        self.many.insert(id)
    }

    /// Removes `id`; `false` if it was not in flight.
    #[inline]
    pub(crate) fn remove(&mut self, id: u64) -> bool {
        if self.many.is_empty() {
            match self.few.iter().position(|&x| x == id) {
                Some(i) => {
                    self.few.swap_remove(i);
                    true
                }
                None => false,
            }
        } else {
            self.many.remove(&id)
        }
    }

    /// Whether no id is in flight.
    #[inline]
    #[cfg(any(target_os = "linux", windows))]
    pub(crate) fn is_empty(&self) -> bool {
        self.few.is_empty() && self.many.is_empty()
    }

    /// Number of ids in flight.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.few.len() + self.many.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any sequence of inserts and removes gives the answers, and
        /// leaves the contents, of a plain set, across the move to the hash
        /// set and back.
        #[test]
        fn it_behaves_as_a_set(ops in prop::collection::vec((any::<bool>(), 0u64..80), 0..400)) {
            let mut ours = InFlight::default();
            let mut model = HashSet::new();
            for (insert, id) in ops {
                if insert {
                    prop_assert_eq!(ours.insert(id), model.insert(id));
                } else {
                    prop_assert_eq!(ours.remove(id), model.remove(&id));
                }
                prop_assert_eq!(ours.len(), model.len());
            }
        }
    }

    #[test]
    fn a_deep_pipeline_moves_to_the_set_and_back() {
        let mut f = InFlight::default();
        for id in 0..100 {
            assert!(f.insert(id));
        }
        assert!(!f.insert(50), "duplicate while many are in flight");
        assert!(f.few.is_empty() && f.many.len() == 100);
        for id in (0..100).rev() {
            assert!(f.remove(id));
        }
        assert!(!f.remove(7), "nothing is in flight");
        assert!(f.insert(7) && f.few == [7] && f.many.is_empty());
        assert!(!f.insert(7), "duplicate while few are in flight");
    }
}

//! Iteration over the items of a validated view.

use crate::error::Result;

/// A decoded view whose items can be fetched by index.
///
/// Every view of this crate validates all of its items when it is decoded,
/// so [`IndexedView::get`] fails only for an index out of range.
pub trait IndexedView: Copy {
    /// The item type.
    type Item;
    /// Number of items.
    fn count(&self) -> u32;
    /// Item `index`.
    fn get(&self, index: u32) -> Result<Self::Item>;
}

/// Iterator over the items of an [`IndexedView`], in wire order.
#[derive(Debug, Clone)]
pub struct Items<V> {
    view: V,
    next: u32,
    end: u32,
}

impl<V: IndexedView> Items<V> {
    /// Iterates over all items of `view`.
    pub fn new(view: V) -> Self {
        Self {
            end: view.count(),
            view,
            next: 0,
        }
    }
}

impl<V: IndexedView> Iterator for Items<V> {
    type Item = V::Item;

    #[inline]
    fn next(&mut self) -> Option<V::Item> {
        while self.next < self.end {
            let i = self.next;
            self.next += 1;
            if let Ok(item) = self.view.get(i) {
                return Some(item);
            }
        }
        None
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = (self.end - self.next) as usize;
        (n, Some(n))
    }
}

impl<V: IndexedView> ExactSizeIterator for Items<V> {}

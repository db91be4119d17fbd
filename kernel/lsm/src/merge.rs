//! Merges sorted cursors into one sorted cursor (LevelDB's
//! `MergingIterator`, forward only), keeping the children in a binary
//! min-heap as RocksDB does: a step costs a sift of the heap (two or three
//! key comparisons for a typical tree) instead of a comparison with every
//! child, which a scan pays once per entry.
//!
//! Each child's current key is abbreviated when the child moves (the
//! comparator's [`Comparator::abbreviate`], for bytewise keys their first
//! 16 bytes as a number): the sift compares the abbreviations, one integer
//! comparison, and asks the children for their keys (through their
//! layers: a table's cursor, its block's) only on a tie, i.e. versions of
//! one key.

use alloc::vec::Vec;
use core::cmp::Ordering;

use crate::comparator::Comparator;
use crate::error::Result;
use crate::iter::KvIter;

/// A cursor over the union of its children. On equal keys the earlier child
/// comes first, so children are given newest first. Children of one
/// concrete type (an enum of the store's sources) make the many `key` calls
/// of a step direct, inlinable calls; `Box<dyn KvIter>` works too.
pub struct MergingIter<C: Comparator, I: KvIter> {
    cmp: C,
    children: Vec<I>,
    /// Each child's current key's abbreviation, while it is valid.
    abbrevs: Vec<u128>,
    /// Indices of the valid children, a min-heap by (key, index): the top is
    /// the current entry.
    heap: Vec<usize>,
}

impl<C: Comparator, I: KvIter> MergingIter<C, I> {
    /// Merges `children`, ordered by `cmp`.
    pub fn new(cmp: C, children: Vec<I>) -> Self {
        let heap = Vec::with_capacity(children.len());
        let abbrevs = alloc::vec![0; children.len()];
        Self {
            cmp,
            children,
            abbrevs,
            heap,
        }
    }

    /// Abbreviates child `i`'s key after it moved.
    #[inline(always)]
    fn abbreviate(&mut self, i: usize) {
        self.abbrevs[i] = self.cmp.abbreviate(self.children[i].key());
    }

    /// Whether child `a` comes before child `b`. Inlined: a call's
    /// register saves cost as much as the comparison of two short keys.
    #[inline(always)]
    fn before(&self, a: usize, b: usize) -> bool {
        let (x, y) = (self.abbrevs[a], self.abbrevs[b]);
        if x != y {
            return x < y;
        }
        match self
            .cmp
            .compare_tied(self.children[a].key(), self.children[b].key())
        {
            Ordering::Less => true,
            Ordering::Greater => false,
            Ordering::Equal => a < b,
        }
    }

    // Inlined into `next`: under TCG every return is a lookup of its
    // target, and a scan makes several calls per entry.
    #[inline(always)]
    fn sift_down(&mut self, mut i: usize) {
        let n = self.heap.len();
        loop {
            let l = 2 * i + 1;
            if l >= n {
                return;
            }
            let r = l + 1;
            let c = if r < n && self.before(self.heap[r], self.heap[l]) {
                r
            } else {
                l
            };
            if !self.before(self.heap[c], self.heap[i]) {
                return;
            }
            self.heap.swap(i, c);
            i = c;
        }
    }

    /// Rebuilds the heap from every valid child (after a seek).
    fn rebuild(&mut self) {
        self.heap.clear();
        for i in 0..self.children.len() {
            if self.children[i].valid() {
                self.abbreviate(i);
                self.heap.push(i);
            }
        }
        for i in (0..self.heap.len() / 2).rev() {
            self.sift_down(i);
        }
    }
}

impl<C: Comparator, I: KvIter> KvIter for MergingIter<C, I> {
    fn valid(&self) -> bool {
        !self.heap.is_empty()
    }

    fn seek_to_first(&mut self) -> Result<()> {
        for c in &mut self.children {
            c.seek_to_first()?;
        }
        self.rebuild();
        Ok(())
    }

    fn seek(&mut self, target: &[u8]) -> Result<()> {
        for c in &mut self.children {
            c.seek(target)?;
        }
        self.rebuild();
        Ok(())
    }

    // Always: a scan's step, once per entry.
    #[inline(always)]
    fn next(&mut self) -> Result<()> {
        let Some(&top) = self.heap.first() else {
            return Ok(());
        };
        if let Err(e) = self.children[top].next() {
            // The child's position is unknown now: the cursor ends here.
            self.heap.clear();
            return Err(e);
        }
        if self.children[top].valid() {
            self.abbreviate(top);
        } else {
            let last = self.heap.len() - 1;
            self.heap.swap(0, last);
            self.heap.pop();
        }
        self.sift_down(0);
        Ok(())
    }

    // Always: a scan asks for the key two or three times per entry.
    #[inline(always)]
    fn key(&self) -> &[u8] {
        self.heap.first().map_or(&[], |&i| self.children[i].key())
    }

    #[inline(always)]
    fn value(&self) -> &[u8] {
        self.heap.first().map_or(&[], |&i| self.children[i].value())
    }
}

/// A cursor over a sorted list of entries in memory; a test double and a
/// building block.
pub struct VecIter {
    entries: Vec<(Vec<u8>, Vec<u8>)>,
    pos: usize,
}

impl VecIter {
    /// A cursor over `entries`, which must be sorted by the comparator the
    /// caller seeks with (bytewise here).
    pub fn new(entries: Vec<(Vec<u8>, Vec<u8>)>) -> Self {
        let pos = entries.len();
        Self { entries, pos }
    }
}

impl KvIter for VecIter {
    fn valid(&self) -> bool {
        self.pos < self.entries.len()
    }
    fn seek_to_first(&mut self) -> Result<()> {
        self.pos = 0;
        Ok(())
    }
    fn seek(&mut self, target: &[u8]) -> Result<()> {
        self.pos = self.entries.partition_point(|(k, _)| k.as_slice() < target);
        Ok(())
    }
    fn next(&mut self) -> Result<()> {
        self.pos = (self.pos + 1).min(self.entries.len());
        Ok(())
    }
    fn key(&self) -> &[u8] {
        self.entries.get(self.pos).map_or(&[], |e| &e.0)
    }
    fn value(&self) -> &[u8] {
        self.entries.get(self.pos).map_or(&[], |e| &e.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::comparator::Bytewise;
    use alloc::borrow::ToOwned;
    use alloc::boxed::Box;
    use alloc::vec;

    fn v(keys: &[&str], tag: &str) -> Box<dyn KvIter> {
        Box::new(VecIter::new(
            keys.iter()
                .map(|k| (k.as_bytes().to_vec(), tag.as_bytes().to_vec()))
                .collect(),
        ))
    }

    #[test]
    fn merges_in_order_with_earlier_children_first_on_ties() {
        let mut m = MergingIter::new(
            Bytewise,
            vec![
                v(&["b", "d"], "new"),
                v(&[], "x"),
                v(&["a", "b", "e"], "old"),
            ],
        );
        m.seek_to_first().unwrap();
        let mut got = Vec::new();
        while m.valid() {
            got.push((
                core::str::from_utf8(m.key()).unwrap().to_owned(),
                core::str::from_utf8(m.value()).unwrap().to_owned(),
            ));
            m.next().unwrap();
        }
        let want: Vec<(alloc::string::String, alloc::string::String)> = [
            ("a", "old"),
            ("b", "new"),
            ("b", "old"),
            ("d", "new"),
            ("e", "old"),
        ]
        .iter()
        .map(|(a, b)| ((*a).into(), (*b).into()))
        .collect();
        assert_eq!(got, want);
        m.seek(b"c").unwrap();
        assert_eq!(m.key(), b"d");
        m.seek(b"f").unwrap();
        assert!(!m.valid());
    }

    /// Against a stable sort of everything, with many children, shared
    /// keys and seeks: the heap yields keys in order, ties by child.
    #[test]
    fn random_merges_match_a_stable_sort() {
        let mut rng = crate::random::Rng::new(7);
        for _ in 0..300 {
            let n = rng.uniform(12) as usize;
            let mut all: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
            let mut children: Vec<Box<dyn KvIter>> = Vec::new();
            for c in 0..n {
                let mut keys: Vec<Vec<u8>> = (0..rng.uniform(30))
                    .map(|_| alloc::format!("k{:03}", rng.uniform(60)).into_bytes())
                    .collect();
                keys.sort();
                keys.dedup();
                let tag = alloc::format!("{c:02}").into_bytes();
                let entries: Vec<_> = keys.into_iter().map(|k| (k, tag.clone())).collect();
                all.extend(entries.iter().cloned());
                children.push(Box::new(VecIter::new(entries)));
            }
            // Stable by key, then by child (the tag), as the merge promises.
            all.sort();
            let mut m = MergingIter::new(Bytewise, children);
            let from = alloc::format!("k{:03}", rng.uniform(70)).into_bytes();
            m.seek(&from).unwrap();
            let mut got = Vec::new();
            while m.valid() {
                got.push((m.key().to_vec(), m.value().to_vec()));
                m.next().unwrap();
            }
            let want: Vec<_> = all.into_iter().filter(|(k, _)| *k >= from).collect();
            assert_eq!(got, want);
        }
    }
}

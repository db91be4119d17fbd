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
    /// The valid children, a min-heap by (key, index): the top is the
    /// current entry. Each entry carries its child's abbreviation, so that
    /// a comparison reads the heap alone (no second vector to index).
    heap: Vec<Entry>,
}

/// A valid child in the heap: its index and its current key's
/// abbreviation.
#[derive(Clone, Copy)]
struct Entry {
    abbrev: u128,
    child: usize,
}

impl<C: Comparator, I: KvIter> MergingIter<C, I> {
    /// Merges `children`, ordered by `cmp`.
    pub fn new(cmp: C, children: Vec<I>) -> Self {
        let heap = Vec::with_capacity(children.len());
        Self {
            cmp,
            children,
            heap,
        }
    }

    /// Whether entry `a` comes before entry `b`. Inlined: a call's
    /// register saves cost as much as the comparison of two short keys.
    #[inline(always)]
    fn before(&self, a: Entry, b: Entry) -> bool {
        if a.abbrev != b.abbrev {
            return a.abbrev < b.abbrev;
        }
        match self
            .cmp
            .compare_tied(self.children[a.child].key(), self.children[b.child].key())
        {
            Ordering::Less => true,
            Ordering::Greater => false,
            Ordering::Equal => a.child < b.child,
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
        for (child, c) in self.children.iter().enumerate() {
            if c.valid() {
                let abbrev = self.cmp.abbreviate(c.key());
                self.heap.push(Entry { abbrev, child });
            }
        }
        for i in (0..self.heap.len() / 2).rev() {
            self.sift_down(i);
        }
    }

    /// The current key's abbreviation (the comparator's
    /// [`Comparator::abbreviate`]), which the merge holds already: for a
    /// caller that would compute it again.
    #[inline(always)]
    pub fn abbrev(&self) -> Option<u128> {
        self.heap.first().map(|e| e.abbrev)
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
        let Some(top) = self.heap.first().map(|e| e.child) else {
            return Ok(());
        };
        let child = &mut self.children[top];
        if let Err(e) = child.next() {
            // The child's position is unknown now: the cursor ends here.
            self.heap.clear();
            return Err(e);
        }
        if child.valid() {
            let abbrev = self.cmp.abbreviate(child.key());
            self.heap[0].abbrev = abbrev;
            // The usual step of a scan: the child that moved is still the
            // least, its abbreviation below both of the root's children
            // (where the runner-up is), and nothing moves in the heap.
            let below = |e: Option<&Entry>| e.is_none_or(|e| abbrev < e.abbrev);
            if below(self.heap.get(1)) && below(self.heap.get(2)) {
                return Ok(());
            }
        } else {
            self.heap.swap_remove(0);
        }
        self.sift_down(0);
        Ok(())
    }

    // Always: a scan asks for the key two or three times per entry.
    #[inline(always)]
    fn key(&self) -> &[u8] {
        self.heap
            .first()
            .map_or(&[], |e| self.children[e.child].key())
    }

    #[inline(always)]
    fn value(&self) -> &[u8] {
        self.heap
            .first()
            .map_or(&[], |e| self.children[e.child].value())
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

    /// The bytewise order abbreviated by its first byte only (`true`), so
    /// that abbreviations tie often and the keys must decide, or not at
    /// all (`false`: every key 0, as the trait's default).
    #[derive(Clone)]
    struct Coarse(bool);

    impl Comparator for Coarse {
        fn compare(&self, a: &[u8], b: &[u8]) -> Ordering {
            a.cmp(b)
        }
        fn find_shortest_separator(&self, _: &mut Vec<u8>, _: &[u8]) {}
        fn find_short_successor(&self, _: &mut Vec<u8>) {}
        fn abbreviate(&self, key: &[u8]) -> u128 {
            match (self.0, key.first()) {
                (true, Some(&b)) => u128::from(b) + 1,
                _ => 0,
            }
        }
    }

    /// Against a stable sort of everything, with many children, shared
    /// keys and seeks: the heap yields keys in order, ties by child, under
    /// abbreviations that hold whole short keys (bytewise), that tie often
    /// (the first byte), and that say nothing (the default, all 0).
    #[test]
    fn random_merges_match_a_stable_sort() {
        random_merges(Bytewise);
        random_merges(Coarse(true));
        random_merges(Coarse(false));
    }

    fn random_merges<C: Comparator>(cmp: C) {
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
            let mut m = MergingIter::new(cmp.clone(), children);
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

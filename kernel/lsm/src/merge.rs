//! Merges sorted cursors into one sorted cursor (LevelDB's
//! `MergingIterator`, forward only). Children are few (memtables, level-0
//! tables, one cursor per deeper level), so the smallest is found by a linear
//! scan rather than a heap.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::cmp::Ordering;

use crate::comparator::Comparator;
use crate::error::Result;
use crate::iter::KvIter;

/// A cursor over the union of its children. On equal keys the earlier child
/// comes first, so children are given newest first.
pub struct MergingIter<'a, C: Comparator> {
    cmp: C,
    children: Vec<Box<dyn KvIter + 'a>>,
    current: Option<usize>,
}

impl<'a, C: Comparator> MergingIter<'a, C> {
    /// Merges `children`, ordered by `cmp`.
    pub fn new(cmp: C, children: Vec<Box<dyn KvIter + 'a>>) -> Self {
        Self {
            cmp,
            children,
            current: None,
        }
    }

    fn find_smallest(&mut self) {
        let mut best: Option<usize> = None;
        for (i, child) in self.children.iter().enumerate() {
            if !child.valid() {
                continue;
            }
            best = match best {
                Some(b)
                    if self.cmp.compare(child.key(), self.children[b].key()) != Ordering::Less =>
                {
                    Some(b)
                }
                _ => Some(i),
            };
        }
        self.current = best;
    }
}

impl<C: Comparator> KvIter for MergingIter<'_, C> {
    fn valid(&self) -> bool {
        self.current.is_some()
    }

    fn seek_to_first(&mut self) -> Result<()> {
        for c in &mut self.children {
            c.seek_to_first()?;
        }
        self.find_smallest();
        Ok(())
    }

    fn seek(&mut self, target: &[u8]) -> Result<()> {
        for c in &mut self.children {
            c.seek(target)?;
        }
        self.find_smallest();
        Ok(())
    }

    fn next(&mut self) -> Result<()> {
        if let Some(i) = self.current {
            self.children[i].next()?;
        }
        self.find_smallest();
        Ok(())
    }

    fn key(&self) -> &[u8] {
        self.current.map_or(&[], |i| self.children[i].key())
    }

    fn value(&self) -> &[u8] {
        self.current.map_or(&[], |i| self.children[i].value())
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
}

//! Where the last insert linked its node (after RocksDB's splice, in
//! `InlineSkipList`), so that an insert right before it skips the search.
//!
//! A key rewritten over and over inserts there every time: newer sequence
//! numbers sort first, so each new version goes right before the previous
//! one. That is a Redis server's hot key, a counter's INCR, or
//! redis-benchmark's one key; its search compared the new version with a
//! version of the same key at every level, each a whole-key comparison
//! since their abbreviations tie. From the splice such an insert compares
//! two keys. (A key past every other, a sequential fill's, has the list's
//! tails; other keys search.)
//!
//! If nothing lies between the new key and the last node at level 0, both
//! have the same predecessors at every level, and the recorded ones are
//! still the last node's: every insert records its own splice (RocksDB
//! checks each level's links because several writers share its splices;
//! here there is one writer).

use core::cmp::Ordering;

use super::{Node, SkipList, MAX_HEIGHT};
use crate::comparator::Comparator;

/// The last insert's node and, at every level, the node before it. The
/// insert searches into `prev` itself (nothing is copied to record it):
/// levels the list has not reached yet hold `head`.
pub(super) struct Splice {
    /// Null before the first insert, and after a refused one (which
    /// searched into `prev`).
    pub(super) node: *const Node,
    pub(super) prev: [*const Node; MAX_HEIGHT],
}

impl Splice {
    pub(super) fn new(head: *const Node) -> Self {
        Splice {
            node: core::ptr::null(),
            prev: [head; MAX_HEIGHT],
        }
    }
}

impl<C: Comparator> SkipList<C> {
    /// Whether `key` goes right before the last node inserted, so that the
    /// splice's `prev` is its own. A key equal to the last one is left to
    /// the search, which refuses it.
    #[inline]
    pub(super) fn splice_fits(&self, s: &Splice, key: &[u8], abbrev: u128) -> bool {
        let last = s.node;
        if last.is_null() {
            return false;
        }
        let a = self.abbrev_of(last);
        let before_last = a > abbrev
            || (a == abbrev && self.cmp.compare_tied(self.key_of(last), key) == Ordering::Greater);
        let p = s.prev[0];
        before_last && (p == self.head || self.node_before(p, key, abbrev))
    }
}

//! The open tables: each live table's footer (a few words), by number.
//!
//! Every point lookup asks for one or two tables. A map of a few hundred
//! entries is a search of several nodes, each compare a branch; in front of
//! it sits a direct-mapped array indexed by the table's number, so a lookup
//! is one load and one compare. Numbers are handed out in increasing order
//! and the live ones span a window, so two live tables rarely share a slot;
//! when they do, the map still has both.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::table::Table;

use super::Ikc;

/// Slots of the array: more than the tables a store of a few gigabytes has
/// open at once.
const SLOTS: usize = 1024;

/// Open tables by number.
pub(super) struct OpenTables {
    slots: Vec<Option<Table<Ikc>>>,
    all: BTreeMap<u64, Table<Ikc>>,
}

impl OpenTables {
    pub(super) fn new() -> Self {
        Self {
            slots: (0..SLOTS).map(|_| None).collect(),
            all: BTreeMap::new(),
        }
    }

    fn slot(number: u64) -> usize {
        (number % SLOTS as u64) as usize
    }

    /// Table `number`, if it is open.
    #[inline]
    pub(super) fn get(&mut self, number: u64) -> Option<Table<Ikc>> {
        let slot = &mut self.slots[Self::slot(number)];
        if let Some(t) = slot.as_ref().filter(|t| t.id() == number) {
            return Some(t.clone());
        }
        let t = self.all.get(&number)?;
        *slot = Some(t.clone());
        Some(t.clone())
    }

    /// Remembers table `number`, opened.
    pub(super) fn insert(&mut self, number: u64, t: Table<Ikc>) {
        self.slots[Self::slot(number)] = Some(t.clone());
        self.all.insert(number, t);
    }

    /// The numbers of the open tables.
    #[cfg(test)]
    pub(super) fn keys(&self) -> impl Iterator<Item = &u64> {
        self.all.keys()
    }

    /// Forgets table `number` (deleted).
    pub(super) fn remove(&mut self, number: u64) {
        let slot = &mut self.slots[Self::slot(number)];
        if slot.as_ref().is_some_and(|t| t.id() == number) {
            *slot = None;
        }
        self.all.remove(&number);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{internal_key, ValueType};
    use crate::table::{TableBuilder, TableOptions};

    fn table(number: u64) -> Table<Ikc> {
        let mut b = TableBuilder::new(Ikc::default(), TableOptions::default(), number);
        b.add(&internal_key(b"k", 1, ValueType::Value), b"v")
            .unwrap();
        let bytes = b.finish().unwrap();
        Table::open(&bytes[..], number, bytes.len() as u64, Ikc::default()).unwrap()
    }

    #[test]
    fn colliding_numbers_are_both_kept_and_removal_is_exact() {
        let mut o = OpenTables::new();
        let (a, b) = (5, 5 + SLOTS as u64);
        o.insert(a, table(a));
        o.insert(b, table(b));
        assert_eq!(o.get(a).map(|t| t.id()), Some(a));
        assert_eq!(o.get(b).map(|t| t.id()), Some(b));
        // Removing one leaves the other, whichever holds the slot.
        o.remove(a);
        assert!(o.get(a).is_none());
        assert_eq!(o.get(b).map(|t| t.id()), Some(b));
        o.remove(b);
        assert!(o.get(b).is_none());
        assert!(o.get(7).is_none());
    }
}

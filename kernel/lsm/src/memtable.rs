//! The memtable: recent writes, sorted by internal key, in a skiplist whose
//! nodes live in an arena. It is frozen (made immutable) when full and written
//! out as a table while a new one takes writes; readers share it through
//! `Arc` and iterate it while the writer inserts.

use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::error::{CorruptionKind, Error, Result};
use crate::iter::KvIter;
use crate::key::{
    append_internal_key, user_key, InternalKeyComparator, ParsedInternalKey, SequenceNumber,
    ValueType,
};
use crate::skiplist::{SkipIter, SkipList};

/// What a memtable knows about a key at a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The newest visible write set this value.
    Found(Vec<u8>),
    /// The newest visible write deleted the key.
    Deleted,
    /// No visible write of the key is here: look in older data.
    Missing,
}

/// A sorted in-memory table of writes.
pub struct MemTable {
    list: SkipList<InternalKeyComparator>,
}

impl Default for MemTable {
    fn default() -> Self {
        Self::new()
    }
}

impl MemTable {
    /// An empty memtable.
    pub fn new() -> Self {
        Self {
            list: SkipList::new(InternalKeyComparator),
        }
    }

    /// Records that write `seq` did `kind` to `key` (with `value` for a set).
    pub fn add(
        &self,
        seq: SequenceNumber,
        kind: ValueType,
        key: &[u8],
        value: &[u8],
    ) -> Result<()> {
        let mut ikey = Vec::with_capacity(key.len() + 8);
        append_internal_key(&mut ikey, key, seq, kind);
        self.list.insert(&ikey, value)
    }

    /// The newest write of `key` with a sequence `<= seq`.
    pub fn get(&self, key: &[u8], seq: SequenceNumber) -> Result<Lookup> {
        let mut probe = Vec::with_capacity(key.len() + 8);
        append_internal_key(&mut probe, key, seq, ValueType::FOR_SEEK);
        let mut it = self.list.iter();
        it.seek(&probe)?;
        if !it.valid() || user_key(it.key()) != key {
            return Ok(Lookup::Missing);
        }
        // Keys in the memtable were made by `add`, so they always parse.
        let parsed = ParsedInternalKey::parse(it.key()).ok_or(Error::Corruption(
            crate::error::Corruption::at("memtable", CorruptionKind::Malformed("internal key")),
        ))?;
        Ok(match parsed.kind {
            ValueType::Value => Lookup::Found(it.value().to_vec()),
            ValueType::Deletion => Lookup::Deleted,
        })
    }

    /// Entries in the memtable.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether the memtable holds no entries.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Bytes of memory held, counting arena blocks whole.
    pub fn approximate_memory_usage(&self) -> usize {
        self.list.memory_usage()
    }

    /// A cursor over internal keys and values, borrowing the memtable.
    pub fn iter(&self) -> SkipIter<InternalKeyComparator, &SkipList<InternalKeyComparator>> {
        self.list.iter()
    }

    /// A cursor that shares ownership of the memtable, for iterators that
    /// outlive the caller's borrow (snapshots over a memtable that keeps
    /// taking writes).
    pub fn shared_iter(self: &Arc<Self>) -> MemTableIter {
        MemTableIter(SkipIter::new(SharedList(Arc::clone(self))))
    }
}

/// Derefs an `Arc<MemTable>` to its skiplist.
#[derive(Clone)]
pub struct SharedList(Arc<MemTable>);

impl core::ops::Deref for SharedList {
    type Target = SkipList<InternalKeyComparator>;
    fn deref(&self) -> &Self::Target {
        &self.0.list
    }
}

/// A cursor over a shared memtable.
pub struct MemTableIter(SkipIter<InternalKeyComparator, SharedList>);

impl KvIter for MemTableIter {
    fn valid(&self) -> bool {
        self.0.valid()
    }
    fn seek_to_first(&mut self) -> Result<()> {
        self.0.seek_to_first()
    }
    fn seek(&mut self, target: &[u8]) -> Result<()> {
        self.0.seek(target)
    }
    fn next(&mut self) -> Result<()> {
        self.0.next()
    }
    fn key(&self) -> &[u8] {
        self.0.key()
    }
    fn value(&self) -> &[u8] {
        self.0.value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::internal_key;

    #[test]
    fn get_sees_the_newest_visible_write() {
        let m = MemTable::new();
        m.add(1, ValueType::Value, b"k", b"v1").unwrap();
        m.add(2, ValueType::Value, b"k", b"v2").unwrap();
        m.add(3, ValueType::Deletion, b"k", b"").unwrap();
        m.add(4, ValueType::Value, b"k", b"v4").unwrap();
        m.add(5, ValueType::Value, b"kk", b"other").unwrap();
        assert_eq!(m.get(b"k", 0).unwrap(), Lookup::Missing);
        assert_eq!(m.get(b"k", 1).unwrap(), Lookup::Found(b"v1".to_vec()));
        assert_eq!(m.get(b"k", 2).unwrap(), Lookup::Found(b"v2".to_vec()));
        assert_eq!(m.get(b"k", 3).unwrap(), Lookup::Deleted);
        assert_eq!(m.get(b"k", 100).unwrap(), Lookup::Found(b"v4".to_vec()));
        assert_eq!(m.get(b"j", 100).unwrap(), Lookup::Missing);
        assert_eq!(m.get(b"kk", 4).unwrap(), Lookup::Missing);
        assert_eq!(m.get(b"kk", 5).unwrap(), Lookup::Found(b"other".to_vec()));
        assert_eq!(m.len(), 5);
        assert!(m.approximate_memory_usage() > 0);
    }

    #[test]
    fn iteration_is_in_internal_key_order() {
        let m = Arc::new(MemTable::new());
        m.add(2, ValueType::Value, b"b", b"2").unwrap();
        m.add(1, ValueType::Value, b"a", b"1").unwrap();
        m.add(3, ValueType::Value, b"a", b"3").unwrap();
        let mut it = m.shared_iter();
        it.seek_to_first().unwrap();
        let mut got = Vec::new();
        while it.valid() {
            got.push((it.key().to_vec(), it.value().to_vec()));
            it.next().unwrap();
        }
        assert_eq!(
            got,
            [
                (internal_key(b"a", 3, ValueType::Value), b"3".to_vec()),
                (internal_key(b"a", 1, ValueType::Value), b"1".to_vec()),
                (internal_key(b"b", 2, ValueType::Value), b"2".to_vec()),
            ]
        );
        // Writes after the cursor was made are visible to later seeks.
        m.add(4, ValueType::Value, b"c", b"4").unwrap();
        it.seek(&internal_key(b"c", 10, ValueType::Value)).unwrap();
        assert_eq!(it.value(), b"4");
    }
}

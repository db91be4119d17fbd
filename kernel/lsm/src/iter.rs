//! The iterator every sorted source implements (blocks, tables, memtables,
//! and the merging iterator over them), after LevelDB's `Iterator` and
//! mini-lsm's `StorageIterator`. Operations that may touch the device return
//! errors directly, so there is no separate status to forget to check.

use crate::error::Result;

/// A cursor over sorted key/value pairs.
pub trait KvIter {
    /// Whether the cursor is at an entry; `key` and `value` may be called only
    /// then.
    fn valid(&self) -> bool;
    /// Moves to the first entry.
    fn seek_to_first(&mut self) -> Result<()>;
    /// Moves to the first entry whose key is `>= target`.
    fn seek(&mut self, target: &[u8]) -> Result<()>;
    /// Moves to the next entry. The cursor must be valid.
    fn next(&mut self) -> Result<()>;
    /// The current key.
    fn key(&self) -> &[u8];
    /// The current value.
    fn value(&self) -> &[u8];
}

impl<T: KvIter + ?Sized> KvIter for alloc::boxed::Box<T> {
    fn valid(&self) -> bool {
        (**self).valid()
    }
    fn seek_to_first(&mut self) -> Result<()> {
        (**self).seek_to_first()
    }
    fn seek(&mut self, target: &[u8]) -> Result<()> {
        (**self).seek(target)
    }
    fn next(&mut self) -> Result<()> {
        (**self).next()
    }
    fn key(&self) -> &[u8] {
        (**self).key()
    }
    fn value(&self) -> &[u8] {
        (**self).value()
    }
}

//! Cursors of the store: over one level's tables, and the user-facing one
//! that hides old versions, tombstones and writes newer than its snapshot.

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::disk::TableFile;
use super::shared::Current;
use super::version::{FileMeta, Version};
use super::Db;
use crate::comparator::eq_bytes;
use crate::device::BlockDevice;
use crate::error::Result;
use crate::iter::KvIter;
use crate::key::{
    internal_key, user_key, InternalKeyComparator, ParsedInternalKey, SequenceNumber, ValueType,
};
use crate::memtable::MemTableIter;
use crate::merge::MergingIter;
use crate::table::TableIter;

/// A cursor over the tables of one level below 0: sorted and disjoint, so
/// only one table is open at a time (LevelDB's concatenating iterator).
pub(super) struct LevelIter<'a, D: BlockDevice> {
    db: &'a Db<D>,
    files: Vec<Arc<FileMeta>>,
    index: usize,
    cur: Option<TableIter<InternalKeyComparator, TableFile<'a, D>>>,
}

impl<'a, D: BlockDevice> LevelIter<'a, D> {
    pub(super) fn new(db: &'a Db<D>, files: Vec<Arc<FileMeta>>) -> Self {
        Self {
            db,
            files,
            index: 0,
            cur: None,
        }
    }

    fn open(&mut self) -> Result<()> {
        self.cur = None;
        if let Some(f) = self.files.get(self.index) {
            let t = self.db.table(f, None)?;
            self.cur = Some(t.iter(self.db.file_held(f, true)));
        }
        Ok(())
    }

    fn skip_forward(&mut self) -> Result<()> {
        while self.cur.as_ref().is_some_and(|c| !c.valid()) {
            self.index += 1;
            self.open()?;
            if let Some(c) = self.cur.as_mut() {
                c.seek_to_first()?;
            }
        }
        Ok(())
    }
}

impl<D: BlockDevice> KvIter for LevelIter<'_, D> {
    fn valid(&self) -> bool {
        self.cur.as_ref().is_some_and(|c| c.valid())
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.index = 0;
        self.open()?;
        if let Some(c) = self.cur.as_mut() {
            c.seek_to_first()?;
        }
        self.skip_forward()
    }

    fn seek(&mut self, target: &[u8]) -> Result<()> {
        self.index = Version::find_file(&self.files, target);
        self.open()?;
        if let Some(c) = self.cur.as_mut() {
            c.seek(target)?;
        }
        self.skip_forward()
    }

    #[inline]
    fn next(&mut self) -> Result<()> {
        if let Some(c) = self.cur.as_mut() {
            c.next()?;
            // The usual step, inside a table: no call further.
            if c.valid() {
                return Ok(());
            }
        }
        self.skip_forward()
    }

    fn key(&self) -> &[u8] {
        self.cur.as_ref().map_or(&[], |c| c.key())
    }

    fn value(&self) -> &[u8] {
        self.cur.as_ref().map_or(&[], |c| c.value())
    }
}

/// One source a store cursor merges: a concrete type rather than a
/// `Box<dyn KvIter>`, so that the merge's many `key` calls and comparisons
/// per step are direct calls the compiler inlines (under QEMU's TCG an
/// indirect call costs a lookup of its target).
pub(super) enum Source<'a, D: BlockDevice> {
    /// A memtable, held by the cursor (a job may flush the frozen one).
    Mem(MemTableIter),
    Table(TableIter<InternalKeyComparator, TableFile<'a, D>>),
    Level(LevelIter<'a, D>),
}

macro_rules! each_source {
    ($s:expr, $it:ident => $e:expr) => {
        match $s {
            Source::Mem($it) => $e,
            Source::Table($it) => $e,
            Source::Level($it) => $e,
        }
    };
}

impl<D: BlockDevice> KvIter for Source<'_, D> {
    #[inline]
    fn valid(&self) -> bool {
        each_source!(self, it => it.valid())
    }
    fn seek_to_first(&mut self) -> Result<()> {
        each_source!(self, it => it.seek_to_first())
    }
    fn seek(&mut self, target: &[u8]) -> Result<()> {
        each_source!(self, it => it.seek(target))
    }
    #[inline(always)]
    fn next(&mut self) -> Result<()> {
        each_source!(self, it => it.next())
    }
    #[inline]
    fn key(&self) -> &[u8] {
        each_source!(self, it => it.key())
    }
    #[inline]
    fn value(&self) -> &[u8] {
        each_source!(self, it => it.value())
    }
}

/// A cursor over user keys as of one sequence number: for each key, the
/// newest version the snapshot sees, unless that is a tombstone.
pub struct DbIter<'a, D: BlockDevice> {
    /// Positioned at the current entry while valid, so its key and value
    /// are read in place, never copied.
    inner: MergingIter<InternalKeyComparator, Source<'a, D>>,
    seq: SequenceNumber,
    /// The user key whose older versions `find_next` skips.
    skip: Skip,
    valid: bool,
    /// The view the cursor reads: held, so that a background job's deletes
    /// leave the space of its tables alone until the cursor is gone.
    _view: Arc<Current>,
}

impl<'a, D: BlockDevice> DbIter<'a, D> {
    pub(super) fn new(
        inner: MergingIter<InternalKeyComparator, Source<'a, D>>,
        seq: SequenceNumber,
        view: Arc<Current>,
    ) -> Self {
        Self {
            inner,
            seq,
            skip: Skip::default(),
            valid: false,
            _view: view,
        }
    }

    /// Moves to the first visible entry at or after the inner cursor whose
    /// user key is not `skip` (if `skipping`).
    fn find_next(&mut self, mut skipping: bool) -> Result<()> {
        self.valid = false;
        while self.inner.valid() {
            let p = ParsedInternalKey::parse_at(self.inner.key(), "iterator")?;
            let hidden = skipping && self.skip.is(p.user_key, self.abbrev());
            if p.sequence <= self.seq && !hidden {
                match p.kind {
                    ValueType::Deletion => {
                        self.skip.set(p.user_key, self.abbrev());
                        skipping = true;
                    }
                    ValueType::Value => {
                        self.valid = true;
                        return Ok(());
                    }
                }
            }
            self.inner.next()?;
        }
        Ok(())
    }

    /// The current user key's abbreviation, which the merge computed as
    /// the child moved: the internal key order abbreviates an internal
    /// key by its user key's [`bytewise_prefix`](crate::comparator::bytewise_prefix),
    /// what [`Skip`] keeps.
    #[inline(always)]
    fn abbrev(&self) -> u128 {
        let abbrev = self.inner.abbrev().unwrap_or(0);
        // What Skip relies on: an abbreviation of the user key alone, the
        // same for every version of it.
        debug_assert_eq!(
            abbrev,
            crate::comparator::bytewise_prefix(user_key(self.inner.key()))
        );
        abbrev
    }
}

impl<D: BlockDevice> KvIter for DbIter<'_, D> {
    fn valid(&self) -> bool {
        self.valid
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.inner.seek_to_first()?;
        self.find_next(false)
    }

    /// Seeks by user key.
    fn seek(&mut self, target: &[u8]) -> Result<()> {
        self.inner
            .seek(&internal_key(target, self.seq, ValueType::FOR_SEEK))?;
        self.find_next(false)
    }

    fn next(&mut self) -> Result<()> {
        // The current key's older versions come next: skip them.
        if !self.valid {
            self.inner.next()?;
            return self.find_next(false);
        }
        self.skip.set(user_key(self.inner.key()), self.abbrev());
        self.inner.next()?;
        self.find_next(true)
    }

    // Always, as the merge's: a scan asks for both at every entry.
    #[inline(always)]
    fn key(&self) -> &[u8] {
        if self.valid {
            user_key(self.inner.key())
        } else {
            &[]
        }
    }

    #[inline(always)]
    fn value(&self) -> &[u8] {
        if self.valid {
            self.inner.value()
        } else {
            &[]
        }
    }
}

/// A user key, as [`DbIter`] remembers the one whose older versions it
/// skips: a key of at most 16 bytes is its abbreviation and length (the
/// abbreviation holds all of it), so a scan of short keys copies none; a
/// longer one is copied (into a buffer reused, so stepping allocates
/// nothing).
#[derive(Default)]
struct Skip {
    abbrev: u128,
    len: usize,
    long: Vec<u8>,
}

impl Skip {
    /// Remembers `user_key`, whose [`bytewise_prefix`](crate::comparator::bytewise_prefix) is `abbrev`.
    #[inline]
    fn set(&mut self, user_key: &[u8], abbrev: u128) {
        self.abbrev = abbrev;
        self.len = user_key.len();
        if user_key.len() > 16 {
            self.long.clear();
            self.long.extend_from_slice(user_key);
        }
    }

    /// Whether `user_key`, whose [`bytewise_prefix`](crate::comparator::bytewise_prefix) is `abbrev`, is the
    /// key remembered.
    #[inline]
    fn is(&self, user_key: &[u8], abbrev: u128) -> bool {
        user_key.len() == self.len
            && abbrev == self.abbrev
            && (user_key.len() <= 16 || eq_bytes(&self.long, user_key))
    }
}

#[cfg(test)]
mod tests {
    use super::Skip;
    use crate::comparator::bytewise_prefix;

    /// A remembered key is that key and no other: short keys by their
    /// abbreviation and length, long ones by their bytes.
    #[test]
    fn a_skipped_key_matches_itself_only() {
        let keys: [&[u8]; 9] = [
            b"",
            b"\0",
            b"a",
            b"a\0",
            b"0123456789abcdef",
            b"0123456789abcdeg",
            b"0123456789abcdef\0",
            b"0123456789abcdefX",
            b"0123456789abcdefY",
        ];
        let mut skip = Skip::default();
        for a in keys {
            skip.set(a, bytewise_prefix(a));
            for b in keys {
                assert_eq!(skip.is(b, bytewise_prefix(b)), a == b, "{a:?} {b:?}");
            }
        }
    }
}

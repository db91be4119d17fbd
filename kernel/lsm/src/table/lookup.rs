//! Point lookups in one table: through the filter, the index (a pinned
//! index's fences, or its block), and the data block (its hash index, or
//! a binary search), building keys in buffers the caller keeps.

use alloc::format;
use alloc::vec::Vec;
use core::ops::Deref;

use super::block::{Block, BlockIter};
use super::reader::Table;
use super::{bloom, BlockHandle, BlockKind, ReadAt};
use crate::comparator::Comparator;
use crate::error::{Error, Result};
use crate::fence::Fences;
use crate::iter::KvIter;

/// An entry a lookup found: key, value, and the data block holding it.
pub type Located = (Vec<u8>, Vec<u8>, BlockHandle);

/// Key buffers a point lookup builds keys in, kept by the caller between
/// lookups so that a lookup allocates nothing for them.
#[derive(Debug, Default)]
pub struct LookupBufs {
    index_key: Vec<u8>,
    data_key: Vec<u8>,
}

/// A key to look up in several tables, with its filter hash computed once.
#[derive(Debug, Clone, Copy)]
pub struct Probe<'k> {
    pub(super) key: &'k [u8],
    pub(super) filter_hash: u32,
    /// The table's filter was asked already and admits the key.
    pub(super) passed: bool,
}

impl<'k> Probe<'k> {
    /// `key` (a key in `cmp`'s order) ready for lookups.
    pub fn new<C: Comparator>(cmp: &C, key: &'k [u8]) -> Self {
        Self {
            key,
            filter_hash: bloom::key_hash(cmp.filter_key(key)),
            passed: false,
        }
    }

    /// This probe for a table whose filter the caller asked already
    /// ([`Table::pinned_filter`]) and that admits the key: the lookup
    /// does not ask it again.
    pub fn past_filter(self) -> Self {
        Self {
            passed: true,
            ..self
        }
    }
}

/// Where a lookup starts in a data block.
#[derive(Debug, Clone, Copy)]
enum Seek {
    /// At the first entry `>= key`.
    Exact,
    /// As [`BlockIter::seek_for_get`] with the key's filter hash.
    ForGet(u32),
    /// At the block's first entry (the key was not in the block before).
    First,
}

impl<C: Comparator> Table<C> {
    /// The first entry whose key is `>= key`, if the filter admits `key`
    /// (callers check that the entry is the one they want).
    pub fn get<R: ReadAt + ?Sized>(
        &self,
        file: &R,
        key: &[u8],
    ) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        Ok(self.get_located(file, key)?.map(|(k, v, _)| (k, v)))
    }

    /// As [`get`](Self::get), also saying which data block holds the entry.
    pub fn get_located<R: ReadAt + ?Sized>(&self, file: &R, key: &[u8]) -> Result<Option<Located>> {
        self.get_with(file, key, &mut LookupBufs::default(), |k, v, h| {
            (k.to_vec(), v.to_vec(), h)
        })
    }

    /// The first entry whose key is `>= key`, if the filter admits `key`,
    /// handed to `f` where it lies (key, value, and the data block holding
    /// it): a point lookup without a table cursor, building keys in `bufs`.
    ///
    /// Fetches what a cursor's seek would (filter, index, the data block the
    /// index names, and the next ones while they hold no entry `>= key`), in
    /// the same order, with the same checks.
    pub fn get_with<R: ReadAt + ?Sized, T>(
        &self,
        file: &R,
        key: &[u8],
        bufs: &mut LookupBufs,
        f: impl FnOnce(&[u8], &[u8], BlockHandle) -> T,
    ) -> Result<Option<T>> {
        let probe = Probe::new(&self.cmp, key);
        self.lookup(file, &probe, bufs, Seek::Exact, f)
    }

    /// A point lookup of the probe's key (its filter hash computed once
    /// for all the tables a lookup probes), for a caller that wants only an
    /// entry of its user key: as [`get_with`](Self::get_with) if the table
    /// holds an entry of that user key `>= key`; otherwise the entry handed
    /// to `f` may be a later one than the first `>= key` (of another user
    /// key), since a data block's hash index
    /// ([`BlockIter::seek_for_get`]) skips the search that would find it.
    pub fn get_probe<R: ReadAt + ?Sized, T>(
        &self,
        file: &R,
        probe: &Probe<'_>,
        bufs: &mut LookupBufs,
        f: impl FnOnce(&[u8], &[u8], BlockHandle) -> T,
    ) -> Result<Option<T>> {
        self.lookup(file, probe, bufs, Seek::ForGet(probe.filter_hash), f)
    }

    fn lookup<R: ReadAt + ?Sized, T>(
        &self,
        file: &R,
        probe: &Probe<'_>,
        bufs: &mut LookupBufs,
        seek: Seek,
        f: impl FnOnce(&[u8], &[u8], BlockHandle) -> T,
    ) -> Result<Option<T>> {
        let key = probe.key;
        if let Some(p) = self.pinned(file)? {
            if !probe.passed && !p.filter.may_contain_hash(probe.filter_hash) {
                return Ok(None);
            }
            if let Some(fences) = &p.fences {
                return self.find_via_fences(file, key, seek, (&p.index, fences), bufs, f);
            }
            // Borrowed: no reference count written per lookup.
            return self.find_via_index(file, key, seek, p.index.view(), bufs, f);
        }
        if !probe.passed && !self.may_contain_probe(file, probe)? {
            return Ok(None);
        }
        self.find_via_index(file, key, seek, self.index_block(file)?, bufs, f)
    }

    fn index_err(&self, e: Error) -> Error {
        e.within(&format!("table {} index block", self.id))
    }

    /// The lookup through the index block `index`, searched entry by
    /// entry (its keys built in `bufs`).
    fn find_via_index<R: ReadAt + ?Sized, B: Deref<Target = [u8]>, T>(
        &self,
        file: &R,
        key: &[u8],
        seek: Seek,
        index: Block<B>,
        bufs: &mut LookupBufs,
        f: impl FnOnce(&[u8], &[u8], BlockHandle) -> T,
    ) -> Result<Option<T>> {
        let mut index =
            index.into_iter_with(self.cmp.clone(), core::mem::take(&mut bufs.index_key));
        let r = self.search_index(file, key, seek, &mut index, &mut bufs.data_key, f);
        bufs.index_key = index.into_key_buf();
        r
    }

    fn search_index<R: ReadAt + ?Sized, B: Deref<Target = [u8]>, T>(
        &self,
        file: &R,
        key: &[u8],
        mut seek: Seek,
        index: &mut BlockIter<C, B>,
        data_key: &mut Vec<u8>,
        f: impl FnOnce(&[u8], &[u8], BlockHandle) -> T,
    ) -> Result<Option<T>> {
        index.seek(key).map_err(|e| self.index_err(e))?;
        let mut f = Some(f);
        while index.valid() {
            if let found @ Some(_) =
                self.in_data_block(file, index.value(), key, seek, data_key, &mut f)?
            {
                return Ok(found);
            }
            seek = Seek::First;
            index.next().map_err(|e| self.index_err(e))?;
        }
        Ok(None)
    }

    /// [`Self::find_via_index`] over a pinned index through its fences:
    /// the index entries are found by integer comparisons, and the block
    /// is read entry by entry only where windows tie.
    fn find_via_fences<R: ReadAt + ?Sized, T>(
        &self,
        file: &R,
        key: &[u8],
        seek: Seek,
        (index, fences): (&Block, &Fences),
        bufs: &mut LookupBufs,
        f: impl FnOnce(&[u8], &[u8], BlockHandle) -> T,
    ) -> Result<Option<T>> {
        let ordered = self.cmp.ordered_bytes(key).unwrap_or(key);
        let (mut i, hi) = fences.narrow(ordered);
        while i < hi {
            let (separator, _) = index.restart_entry(i).map_err(|e| self.index_err(e))?;
            if self.cmp.compare(separator, key) != core::cmp::Ordering::Less {
                break;
            }
            i += 1;
        }
        let mut f = Some(f);
        for at in i..fences.len() {
            let (_, handle) = index.restart_entry(at).map_err(|e| self.index_err(e))?;
            let seek = if at == i { seek } else { Seek::First };
            if let found @ Some(_) =
                self.in_data_block(file, handle, key, seek, &mut bufs.data_key, &mut f)?
            {
                return Ok(found);
            }
        }
        Ok(None)
    }

    /// The entry of the data block whose handle is `handle` that `seek`
    /// finds for `key`, handed to `f`; `None` if the block holds none.
    fn in_data_block<R: ReadAt + ?Sized, T>(
        &self,
        file: &R,
        handle: &[u8],
        key: &[u8],
        seek: Seek,
        data_key: &mut Vec<u8>,
        f: &mut Option<impl FnOnce(&[u8], &[u8], BlockHandle) -> T>,
    ) -> Result<Option<T>> {
        let (block, h) = self.data_block(file, handle)?;
        let mut data = block.into_iter_with(self.cmp.clone(), core::mem::take(data_key));
        let r = match seek {
            Seek::Exact => data.seek(key),
            Seek::ForGet(hash) => data.seek_for_get(key, hash),
            Seek::First => data.seek_to_first(),
        };
        let out = match r {
            Err(e) => Err(e.within(&self.block_name(h.offset))),
            Ok(()) if data.valid() => Ok(f.take().map(|f| f(data.key(), data.value(), h))),
            Ok(()) => Ok(None),
        };
        *data_key = data.into_key_buf();
        out
    }

    /// The first entry `>= key` in the one data block at `h`, without the
    /// filter or index: for a lookup that already knows where its key is.
    pub fn get_in_block<R: ReadAt + ?Sized>(
        &self,
        file: &R,
        h: BlockHandle,
        key: &[u8],
    ) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        self.get_in_block_with(file, h, key, &mut LookupBufs::default(), |k, v| {
            (k.to_vec(), v.to_vec())
        })
    }

    /// As [`get_in_block`](Self::get_in_block), handing the entry to `f`
    /// where it lies, building keys in `bufs`.
    pub fn get_in_block_with<R: ReadAt + ?Sized, T>(
        &self,
        file: &R,
        h: BlockHandle,
        key: &[u8],
        bufs: &mut LookupBufs,
        f: impl FnOnce(&[u8], &[u8]) -> T,
    ) -> Result<Option<T>> {
        let data = self.fetch(file, h, BlockKind::Data)?;
        let block = Block::new(data).map_err(|e| e.within(&self.block_name(h.offset)))?;
        let mut it = block.into_iter_with(self.cmp.clone(), core::mem::take(&mut bufs.data_key));
        let r = it.seek(key);
        let out = match r {
            Ok(()) => Ok(it.valid().then(|| f(it.key(), it.value()))),
            Err(e) => Err(e.within(&self.block_name(h.offset))),
        };
        bufs.data_key = it.into_key_buf();
        out
    }
}

//! A cursor over a table (LevelDB's two-level iterator: the index block's
//! cursor picks the data block, the data block's cursor the entry), and its
//! sequential read-ahead.
//!
//! Separate from the reader because a point lookup needs none of it: a
//! lookup fetches one block per level of the table, while a cursor walks
//! them in order and is where reading ahead pays.

use alloc::format;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::RefCell;

use super::block::BlockIter;
use super::reader::Table;
use super::{BlockHandle, BlockKind, ReadAt};
use crate::comparator::Comparator;
use crate::error::{Error, Result};
use crate::iter::KvIter;

impl<C: Comparator> Table<C> {
    /// A cursor over the table's entries, reading through `file` (a
    /// reference or a small handle; the cursor keeps it and a cheap clone of
    /// the table). The index block is fetched at the first seek.
    pub fn iter<R: ReadAt>(&self, file: R) -> TableIter<C, R> {
        TableIter {
            table: self.clone(),
            file,
            index: None,
            data: None,
            data_handle: BlockHandle::default(),
            readahead: Readahead::default(),
        }
    }
}

/// Smallest and largest read-ahead of a cursor.
const READAHEAD_MIN: usize = 16 << 10;
const READAHEAD_MAX: usize = 256 << 10;
/// Read-ahead windows are whole multiples of this (the device's sector).
const SECTOR: u64 = crate::device::SECTOR_SIZE as u64;

/// A cursor's sequential read-ahead (RocksDB's auto-readahead for
/// iterators): once two data blocks in a row have come from the device, the
/// next miss reads a window of the blocks that follow in one request, the
/// window doubling up to `READAHEAD_MAX`. A device request costs about the
/// same whatever its size, so a scan makes a few large reads instead of one
/// per block. Blocks are still checked one by one as the cursor reaches
/// them, and a block of the window a cache already holds is taken from it.
#[derive(Debug, Default)]
struct Readahead {
    /// Table offset of `buf[0]`.
    start: u64,
    buf: Vec<u8>,
    /// Where the last block read from the device ended.
    last_end: u64,
    /// Device reads in a row that each began where the last one ended.
    streak: u32,
    window: usize,
}

/// The cursor's file seen through its read-ahead.
struct ReadaheadFile<'a, R: ReadAt> {
    file: &'a R,
    ra: RefCell<Readahead>,
    /// End of the table's data blocks: read-ahead stops there.
    data_end: u64,
}

impl<R: ReadAt> ReadAt for ReadaheadFile<'_, R> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.file.read_at(offset, buf)
    }

    fn cached_block(&self, offset: u64, kind: BlockKind) -> Option<Arc<[u8]>> {
        self.file.cached_block(offset, kind)
    }

    fn cache_block(&self, offset: u64, kind: BlockKind, block: &Arc<[u8]>) {
        self.file.cache_block(offset, kind, block);
    }

    fn pin_budget(&self) -> Option<&Arc<super::PinBudget>> {
        self.file.pin_budget()
    }

    fn peek_block(&self, offset: u64, kind: BlockKind) -> Option<Arc<[u8]>> {
        self.file.peek_block(offset, kind)
    }

    fn read_with(
        &self,
        offset: u64,
        len: usize,
        f: &mut super::BlockCheck<'_>,
    ) -> Result<Result<Arc<[u8]>>> {
        let mut ra = self.ra.borrow_mut();
        let end = offset.saturating_add(len as u64);
        if offset >= ra.start && end <= ra.start + ra.buf.len() as u64 {
            let at = (offset - ra.start) as usize;
            return Ok(f(&ra.buf[at..at + len]));
        }
        // Sequential: where the last read ended, or a block the last window
        // holds only the start of.
        let in_window = offset >= ra.start && offset <= ra.start + ra.buf.len() as u64;
        if offset == ra.last_end || (in_window && !ra.buf.is_empty()) {
            ra.streak += 1;
        } else {
            ra.streak = 0;
            ra.window = READAHEAD_MIN;
        }
        ra.last_end = end;
        let room = self.data_end.saturating_sub(offset);
        if ra.streak < 2 || room <= len as u64 {
            return self.file.read_with(offset, len, f);
        }
        let window = ra.window.max(READAHEAD_MIN);
        ra.window = (window * 2).min(READAHEAD_MAX);
        // Whole sectors where the table allows (tables start on one), so
        // the device reads straight into the window, not via a bounce
        // buffer.
        let start = offset - offset % SECTOR;
        let end = (offset + window.max(len) as u64)
            .next_multiple_of(SECTOR)
            .min(self.data_end);
        ra.buf.resize((end - start) as usize, 0);
        ra.start = start;
        let r = self.file.read_at(start, &mut ra.buf);
        if let Err(e) = r {
            ra.buf.clear();
            return Err(e);
        }
        // Where this window ends is where the next sequential miss begins.
        ra.last_end = end;
        let at = (offset - start) as usize;
        Ok(f(&ra.buf[at..at + len]))
    }
}

/// A cursor over a table: the index block's cursor picks the data block, the
/// data block's cursor the entry (LevelDB's two-level iterator).
pub struct TableIter<C: Comparator, R: ReadAt> {
    table: Table<C>,
    file: R,
    /// Fetched at the first seek, so that making a cursor reads nothing.
    index: Option<BlockIter<C>>,
    data: Option<BlockIter<C>>,
    data_handle: BlockHandle,
    readahead: Readahead,
}

impl<C: Comparator, R: ReadAt> TableIter<C, R> {
    fn index_err(&self, e: Error) -> Error {
        e.within(&format!("table {} index block", self.table.id))
    }

    fn data_err(&self, e: Error) -> Error {
        e.within(&self.table.block_name(self.data_handle.offset))
    }

    /// The data block the cursor is in (meaningful while it is valid).
    pub fn data_handle(&self) -> BlockHandle {
        self.data_handle
    }

    fn load_index(&mut self) -> Result<&mut BlockIter<C>> {
        let index = match self.index.take() {
            Some(i) => i,
            None => self
                .table
                .index_block(&self.file)?
                .iter(self.table.cmp.clone()),
        };
        Ok(self.index.insert(index))
    }

    fn index_valid(&self) -> bool {
        self.index.as_ref().is_some_and(|i| i.valid())
    }

    fn init_data(&mut self) -> Result<()> {
        let Some(index) = self.index.as_ref().filter(|i| i.valid()) else {
            self.data = None;
            return Ok(());
        };
        let view = ReadaheadFile {
            file: &self.file,
            ra: RefCell::new(core::mem::take(&mut self.readahead)),
            data_end: self.table.data_end,
        };
        let r = self.table.data_block(&view, index.value());
        self.readahead = view.ra.into_inner();
        let (block, h) = r?;
        self.data_handle = h;
        // The next block's cursor reuses the last one's key buffer.
        let buf = self
            .data
            .take()
            .map(BlockIter::into_key_buf)
            .unwrap_or_default();
        self.data = Some(block.into_iter_with(self.table.cmp.clone(), buf));
        Ok(())
    }

    fn skip_empty_blocks(&mut self) -> Result<()> {
        while self.data.as_ref().is_none_or(|d| !d.valid()) {
            if !self.index_valid() {
                self.data = None;
                return Ok(());
            }
            let r = self.index.as_mut().map_or(Ok(()), |i| i.next());
            r.map_err(|e| self.index_err(e))?;
            self.init_data()?;
            if let Some(d) = self.data.as_mut() {
                let r = d.seek_to_first();
                r.map_err(|e| self.data_err(e))?;
            }
        }
        Ok(())
    }

    fn fail(&mut self, e: Error) -> Error {
        self.data = None;
        e
    }
}

impl<C: Comparator, R: ReadAt> KvIter for TableIter<C, R> {
    fn valid(&self) -> bool {
        self.data.as_ref().is_some_and(|d| d.valid())
    }

    fn seek_to_first(&mut self) -> Result<()> {
        let r = (|| {
            let r = self.load_index()?.seek_to_first();
            r.map_err(|e| self.index_err(e))?;
            self.init_data()?;
            if let Some(d) = self.data.as_mut() {
                let r = d.seek_to_first();
                r.map_err(|e| self.data_err(e))?;
            }
            self.skip_empty_blocks()
        })();
        r.map_err(|e| self.fail(e))
    }

    fn seek(&mut self, target: &[u8]) -> Result<()> {
        let r = (|| {
            let r = self.load_index()?.seek(target);
            r.map_err(|e| self.index_err(e))?;
            self.init_data()?;
            if let Some(d) = self.data.as_mut() {
                let r = d.seek(target);
                r.map_err(|e| self.data_err(e))?;
            }
            self.skip_empty_blocks()
        })();
        r.map_err(|e| self.fail(e))
    }

    #[inline(always)]
    fn next(&mut self) -> Result<()> {
        if let Some(d) = self.data.as_mut() {
            if let Err(e) = d.next() {
                let e = self.data_err(e);
                return Err(self.fail(e));
            }
            // The usual step, inside a block: no call further.
            if d.valid() {
                return Ok(());
            }
        }
        self.skip_empty_blocks().map_err(|e| self.fail(e))
    }

    #[inline]
    fn key(&self) -> &[u8] {
        self.data.as_ref().map_or(&[], |d| d.key())
    }

    #[inline]
    fn value(&self) -> &[u8] {
        self.data.as_ref().map_or(&[], |d| d.value())
    }
}

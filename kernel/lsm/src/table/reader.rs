//! Opens a table and reads it: the footer, index and filter are read and
//! checked once at open; data blocks are read and checked on every use.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use super::block::{Block, BlockIter};
use super::{
    bloom, decode_footer, BlockHandle, ReadAt, BLOCK_TRAILER_SIZE, FOOTER_SIZE, KIND_DATA,
    KIND_FILTER, KIND_INDEX,
};
use crate::comparator::Comparator;
use crate::crc32c;
use crate::error::{Corruption, CorruptionKind, Error, Result};
use crate::iter::KvIter;

/// An open table: its index and filter in memory.
#[derive(Debug, Clone)]
pub struct Table<C: Comparator> {
    id: u64,
    cmp: C,
    index: Block,
    filter: Arc<[u8]>,
    /// End of the data blocks: no data handle may reach past it.
    data_end: u64,
}

fn kind_name(kind: u8) -> &'static str {
    match kind {
        KIND_INDEX => "index block",
        KIND_FILTER => "filter block",
        _ => "block",
    }
}

impl<C: Comparator> Table<C> {
    /// Opens the table of `size` bytes that `file` reads; `id` names it in
    /// errors.
    pub fn open<R: ReadAt + ?Sized>(file: &R, id: u64, size: u64, cmp: C) -> Result<Self> {
        let footer_at = size.checked_sub(FOOTER_SIZE as u64).ok_or_else(|| {
            Corruption::at(format!("table {id} footer"), CorruptionKind::Truncated)
        })?;
        let mut footer = [0u8; FOOTER_SIZE];
        file.read_at(footer_at, &mut footer)
            .map_err(|e| e.within(&format!("table {id} footer")))?;
        let (filter_h, index_h, stored_id) =
            decode_footer(&footer).map_err(|k| Corruption::at(format!("table {id} footer"), k))?;
        if stored_id != id {
            return Err(Corruption::at(
                format!("table {id} footer"),
                CorruptionKind::Malformed("table id (the extent holds another table)"),
            )
            .into());
        }
        let index = read_block(file, id, index_h, KIND_INDEX, footer_at)?;
        let filter = read_block(file, id, filter_h, KIND_FILTER, footer_at)?;
        let data_end = filter_h.offset.min(index_h.offset);
        let index = Block::new(index.into()).map_err(|e| {
            e.within(&format!(
                "table {id} index block at offset {}",
                index_h.offset
            ))
        })?;
        Ok(Self {
            id,
            cmp,
            index,
            filter: filter.into(),
            data_end,
        })
    }

    /// The table's id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Whether the filter admits a key with this filter key; false means the
    /// table certainly holds no such key.
    pub fn may_contain(&self, key: &[u8]) -> bool {
        bloom::may_contain(&self.filter, self.cmp.filter_key(key))
    }

    /// The first entry whose key is `>= key`, if the filter admits `key`
    /// (callers check that the entry is the one they want).
    pub fn get<R: ReadAt + ?Sized>(
        &self,
        file: &R,
        key: &[u8],
    ) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        if !self.may_contain(key) {
            return Ok(None);
        }
        let mut it = self.iter(file);
        it.seek(key)?;
        Ok(it.valid().then(|| (it.key().to_vec(), it.value().to_vec())))
    }

    /// A cursor over the table's entries, reading through `file` (a
    /// reference or a small handle; the cursor keeps it and a cheap clone of
    /// the table).
    pub fn iter<R: ReadAt>(&self, file: R) -> TableIter<C, R> {
        TableIter {
            table: self.clone(),
            file,
            index: self.index.iter(self.cmp.clone()),
            data: None,
            data_offset: 0,
        }
    }

    fn data_block<R: ReadAt + ?Sized>(
        &self,
        file: &R,
        handle_bytes: &[u8],
    ) -> Result<(Block, u64)> {
        let (h, _) = BlockHandle::decode(handle_bytes).ok_or_else(|| {
            Corruption::at(
                format!("table {} index block", self.id),
                CorruptionKind::Malformed("block handle"),
            )
        })?;
        let data = match file.cached_block(h.offset) {
            Some(b) => b,
            None => {
                let b: Arc<[u8]> = read_block(file, self.id, h, KIND_DATA, self.data_end)?.into();
                file.cache_block(h.offset, &b);
                b
            }
        };
        let block = Block::new(data).map_err(|e| e.within(&self.block_name(h.offset)))?;
        Ok((block, h.offset))
    }

    fn block_name(&self, offset: u64) -> String {
        format!("table {} block at offset {offset}", self.id)
    }
}

/// Reads the block at `h`, which must end before `limit`, and checks its
/// trailer: kind and checksum.
fn read_block<R: ReadAt + ?Sized>(
    file: &R,
    id: u64,
    h: BlockHandle,
    kind: u8,
    limit: u64,
) -> Result<Vec<u8>> {
    let name = || format!("table {id} {} at offset {}", kind_name(kind), h.offset);
    let end = h
        .offset
        .checked_add(h.size)
        .and_then(|e| e.checked_add(BLOCK_TRAILER_SIZE as u64));
    let len = match end {
        Some(end) if end <= limit => (h.size as usize) + BLOCK_TRAILER_SIZE,
        _ => return Err(Corruption::at(name(), CorruptionKind::OutOfBounds).into()),
    };
    let mut buf = vec![0u8; len];
    file.read_at(h.offset, &mut buf)
        .map_err(|e| e.within(&name()))?;
    let n = h.size as usize;
    let stored = crate::coding::get_fixed32(&buf, n + 1).unwrap_or(0);
    let actual = crc32c::value(&buf[..n + 1]);
    if crc32c::unmask(stored) != actual {
        return Err(Corruption::at(name(), CorruptionKind::ChecksumMismatch).into());
    }
    if buf[n] != kind {
        return Err(Corruption::at(name(), CorruptionKind::Malformed("block kind")).into());
    }
    buf.truncate(n);
    Ok(buf)
}

/// A cursor over a table: the index block's cursor picks the data block, the
/// data block's cursor the entry (LevelDB's two-level iterator).
pub struct TableIter<C: Comparator, R: ReadAt> {
    table: Table<C>,
    file: R,
    index: BlockIter<C>,
    data: Option<BlockIter<C>>,
    data_offset: u64,
}

impl<C: Comparator, R: ReadAt> TableIter<C, R> {
    fn index_err(&self, e: Error) -> Error {
        e.within(&format!("table {} index block", self.table.id))
    }

    fn data_err(&self, e: Error) -> Error {
        e.within(&self.table.block_name(self.data_offset))
    }

    fn init_data(&mut self) -> Result<()> {
        if !self.index.valid() {
            self.data = None;
            return Ok(());
        }
        let (block, offset) = self.table.data_block(&self.file, self.index.value())?;
        self.data_offset = offset;
        self.data = Some(block.iter(self.table.cmp.clone()));
        Ok(())
    }

    fn skip_empty_blocks(&mut self) -> Result<()> {
        while self.data.as_ref().is_none_or(|d| !d.valid()) {
            if !self.index.valid() {
                self.data = None;
                return Ok(());
            }
            self.index.next().map_err(|e| self.index_err(e))?;
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
            self.index.seek_to_first().map_err(|e| self.index_err(e))?;
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
            self.index.seek(target).map_err(|e| self.index_err(e))?;
            self.init_data()?;
            if let Some(d) = self.data.as_mut() {
                let r = d.seek(target);
                r.map_err(|e| self.data_err(e))?;
            }
            self.skip_empty_blocks()
        })();
        r.map_err(|e| self.fail(e))
    }

    fn next(&mut self) -> Result<()> {
        let r = (|| {
            if let Some(d) = self.data.as_mut() {
                let r = d.next();
                r.map_err(|e| self.data_err(e))?;
            }
            self.skip_empty_blocks()
        })();
        r.map_err(|e| self.fail(e))
    }

    fn key(&self) -> &[u8] {
        self.data.as_ref().map_or(&[], |d| d.key())
    }

    fn value(&self) -> &[u8] {
        self.data.as_ref().map_or(&[], |d| d.value())
    }
}

//! Opens a table and reads it. Opening reads and checks only the footer.
//! Data blocks are fetched (from the reader's block cache, or read and
//! checked) on every use. The index and filter blocks are too, unless the
//! reader lets the table pin them ([`ReadAt::pin_budget`]): then a point
//! lookup's first use reads them once and the open table keeps them, as
//! LevelDB's table cache and RocksDB (by default) keep them beside each
//! open table, so that a lookup probing many tables finds each one's
//! filter and index without a cache lookup. A store that puts every block
//! under one cache budget (the cache study) reads them through the cache
//! instead. Point lookups are in `lookup`, the cursor over a table in `iter`.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use super::block::Block;
use super::bloom::PinnedFilter;
use super::lookup::Probe;
use super::{
    bloom, decode_footer, BlockHandle, BlockKind, ReadAt, BLOCK_TRAILER_SIZE, FOOTER_SIZE,
    KIND_FILTER, KIND_INDEX,
};
use crate::comparator::Comparator;
use crate::crc32c;
use crate::error::{Corruption, CorruptionKind, Result};
use crate::fence::Fences;
use crate::iter::KvIter;

/// An open table: what its footer says, and its index and filter blocks
/// once a reader that pins them has used them.
pub struct Table<C: Comparator> {
    pub(super) id: u64,
    pub(super) cmp: C,
    index_h: BlockHandle,
    filter_h: BlockHandle,
    /// End of the data blocks: no data handle may reach past it.
    pub(super) data_end: u64,
    /// Start of the footer: no block may reach past it.
    footer_at: u64,
    pinned: spin::Once<Pinned>,
}

/// A table's index and filter blocks, verified, kept with the open table.
#[derive(Clone)]
pub(super) struct Pinned {
    pub(super) index: Block,
    /// The index's separators as integers (`None` if the comparator is not
    /// bytewise, the block's entries are not one per restart, or the
    /// budget had no room for them): a lookup's search of the index.
    pub(super) fences: Option<Fences>,
    pub(super) filter: PinnedFilter,
    /// Gives their bytes back to the budget when the last copy goes.
    _lease: Arc<Lease>,
}

/// The bytes the open tables of a store may keep pinned, all together: a
/// table whose blocks would not fit is served through the cache instead
/// (LevelDB bounds the same memory by its count of open tables), so that a
/// large disk cannot fill the heap with them.
#[derive(Debug)]
pub struct PinBudget {
    limit: u64,
    used: AtomicU64,
}

impl PinBudget {
    /// A budget of `limit` bytes.
    pub fn new(limit: u64) -> Self {
        Self {
            limit,
            used: AtomicU64::new(0),
        }
    }

    /// Bytes the tables keep now.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    /// The budget's size.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    fn take(self: &Arc<Self>, bytes: u64) -> Option<Lease> {
        self.take_bytes(bytes).then(|| Lease {
            budget: Arc::clone(self),
            bytes,
        })
    }

    fn take_bytes(&self, bytes: u64) -> bool {
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
                u.checked_add(bytes).filter(|&n| n <= self.limit)
            })
            .is_ok()
    }
}

/// Bytes taken from a [`PinBudget`], given back on drop.
struct Lease {
    budget: Arc<PinBudget>,
    bytes: u64,
}

impl Lease {
    /// Takes `bytes` more, if the budget has them.
    fn grow(&mut self, bytes: u64) -> bool {
        let ok = self.budget.take_bytes(bytes);
        if ok {
            self.bytes += bytes;
        }
        ok
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

impl<C: Comparator> Clone for Table<C> {
    fn clone(&self) -> Self {
        Self {
            id: self.id,
            cmp: self.cmp.clone(),
            index_h: self.index_h,
            filter_h: self.filter_h,
            data_end: self.data_end,
            footer_at: self.footer_at,
            pinned: match self.pinned.get() {
                Some(p) => spin::Once::initialized(p.clone()),
                None => spin::Once::new(),
            },
        }
    }
}

impl<C: Comparator> core::fmt::Debug for Table<C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Table")
            .field("id", &self.id)
            .field("index", &self.index_h)
            .field("filter", &self.filter_h)
            .field("pinned_bytes", &self.pinned_bytes())
            .finish()
    }
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
    /// errors. Reads and checks the footer only.
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
        for (h, kind) in [(index_h, KIND_INDEX), (filter_h, KIND_FILTER)] {
            // Checked here so that a footer pointing out of the table is
            // refused at open, as before the blocks were fetched lazily.
            if block_end(h).is_none_or(|e| e > footer_at) {
                return Err(Corruption::at(
                    format!("table {id} {} at offset {}", kind_name(kind), h.offset),
                    CorruptionKind::OutOfBounds,
                )
                .into());
            }
        }
        Ok(Self {
            id,
            cmp,
            index_h,
            filter_h,
            data_end: filter_h.offset.min(index_h.offset),
            footer_at,
            pinned: spin::Once::new(),
        })
    }

    /// Bytes of the index and filter blocks this table keeps (0 until a
    /// reader that pins them used them).
    pub fn pinned_bytes(&self) -> usize {
        self.pinned.get().map_or(0, |p| {
            p.index.len() + p.filter.block_bytes() + p.fences.as_ref().map_or(0, Fences::heap_bytes)
        })
    }

    /// What the filter this table keeps pinned says of the probe's key:
    /// whether it may be here, or `None` if the table keeps no filter yet.
    /// A lookup that reads through pinned blocks asks this first and
    /// passes a table it rules out by without setting up a reader for it
    /// (under TCG that was half a negative probe's instructions).
    #[inline]
    pub fn pinned_filter(&self, probe: &Probe<'_>) -> Option<bool> {
        let p = self.pinned.get()?;
        Some(p.filter.may_contain_hash(probe.filter_hash))
    }

    /// The pinned index and filter blocks, read now if this is their first
    /// use and the budget has room; `None` if `file` is not served from
    /// pinned blocks or they do not fit. They are the cache's copies if it
    /// holds them (a table just written offers its blocks) but taken with a
    /// peek, and read from the disk otherwise, not offered: they are not the
    /// cache's, and a trace of its requests shows none of them.
    #[inline]
    pub(super) fn pinned<R: ReadAt + ?Sized>(&self, file: &R) -> Result<Option<&Pinned>> {
        let Some(budget) = file.pin_budget() else {
            return Ok(None);
        };
        match self.pinned.get() {
            Some(p) => Ok(Some(p)),
            None => self.pin(file, budget),
        }
    }

    #[cold]
    fn pin<R: ReadAt + ?Sized>(
        &self,
        file: &R,
        budget: &Arc<PinBudget>,
    ) -> Result<Option<&Pinned>> {
        let Some(mut lease) = budget.take(self.index_h.size + self.filter_h.size) else {
            return Ok(None);
        };
        let filter = self.fetch_as(file, self.filter_h, BlockKind::Filter, false)?;
        let index = self.fetch_as(file, self.index_h, BlockKind::Index, false)?;
        let index = self.decode_index(index)?;
        let fences = self
            .index_fences(&index)
            .filter(|f| lease.grow(f.heap_bytes() as u64));
        // Two cores may both have read them: the first copy is kept, the
        // other's lease given back.
        Ok(Some(self.pinned.call_once(|| Pinned {
            index,
            fences,
            filter: PinnedFilter::new(filter),
            _lease: Arc::new(lease),
        })))
    }

    /// Fences over the index's separators, if the comparator and the
    /// block's layout allow them.
    fn index_fences(&self, index: &Block) -> Option<Fences> {
        let keys = index.restart_keys()?;
        let ordered = keys
            .iter()
            .map(|k| self.cmp.ordered_bytes(k))
            .collect::<Option<Vec<_>>>()?;
        Some(Fences::new(&ordered))
    }

    /// The table's id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Where the index block is.
    pub fn index_handle(&self) -> BlockHandle {
        self.index_h
    }

    /// Where the filter block is.
    pub fn filter_handle(&self) -> BlockHandle {
        self.filter_h
    }

    /// The verified bytes of the block at `h`: from the reader's cache, or
    /// read, checked and offered to it.
    pub fn fetch<R: ReadAt + ?Sized>(
        &self,
        file: &R,
        h: BlockHandle,
        kind: BlockKind,
    ) -> Result<Arc<[u8]>> {
        self.fetch_as(file, h, kind, true)
    }

    /// As [`fetch`](Self::fetch) if `cached`; otherwise the cache is only
    /// peeked into (see [`ReadAt::peek_block`]) and offered nothing.
    fn fetch_as<R: ReadAt + ?Sized>(
        &self,
        file: &R,
        h: BlockHandle,
        kind: BlockKind,
        cached: bool,
    ) -> Result<Arc<[u8]>> {
        let limit = match kind {
            BlockKind::Data => self.data_end,
            BlockKind::Index | BlockKind::Filter => self.footer_at,
        };
        // Bounds first: a damaged handle must not reach a cached block of
        // another kind (data handles stop where the index and filter start).
        if block_end(h).is_none_or(|e| e > limit) {
            return Err(Corruption::at(
                format!(
                    "table {} {} at offset {}",
                    self.id,
                    kind_name(kind.byte()),
                    h.offset
                ),
                CorruptionKind::OutOfBounds,
            )
            .into());
        }
        let hit = match cached {
            true => file.cached_block(h.offset, kind),
            false => file.peek_block(h.offset, kind),
        };
        if let Some(b) = hit {
            if b.len() as u64 == h.size {
                return Ok(b);
            }
        }
        let b = read_block(file, self.id, h, kind.byte(), limit)?;
        if cached {
            file.cache_block(h.offset, kind, &b);
        }
        Ok(b)
    }

    fn decode_index(&self, data: Arc<[u8]>) -> Result<Block> {
        Block::new(data).map_err(|e| {
            e.within(&format!(
                "table {} index block at offset {}",
                self.id, self.index_h.offset
            ))
        })
    }

    /// The index block for a cursor (or a lookup the pins do not serve):
    /// the table's pinned copy if it keeps one and `file` is served from
    /// pins. A cursor does not pin: pinning reads the filter too, which a
    /// cursor never needs, and a compaction's inputs are about to go.
    pub(super) fn index_block<R: ReadAt + ?Sized>(&self, file: &R) -> Result<Block> {
        let pinned = file.pin_budget().and_then(|_| self.pinned.get());
        if let Some(p) = pinned {
            return Ok(p.index.clone());
        }
        self.decode_index(self.fetch(file, self.index_h, BlockKind::Index)?)
    }

    /// Every block of the table, filter and index first, then the data
    /// blocks in order, as the index names them (reads the index block).
    pub fn blocks<R: ReadAt + ?Sized>(&self, file: &R) -> Result<Vec<(BlockHandle, BlockKind)>> {
        let mut out = alloc::vec![
            (self.filter_h, BlockKind::Filter),
            (self.index_h, BlockKind::Index),
        ];
        let mut it = self.index_block(file)?.iter(self.cmp.clone());
        it.seek_to_first()?;
        while it.valid() {
            let (h, _) = BlockHandle::decode(it.value()).ok_or_else(|| {
                Corruption::at(
                    format!("table {} index block", self.id),
                    CorruptionKind::Malformed("block handle"),
                )
            })?;
            out.push((h, BlockKind::Data));
            it.next()?;
        }
        Ok(out)
    }

    /// Whether the filter admits a key with this filter key; false means the
    /// table certainly holds no such key. Fetches the filter block.
    pub fn may_contain<R: ReadAt + ?Sized>(&self, file: &R, key: &[u8]) -> Result<bool> {
        self.may_contain_probe(file, &Probe::new(&self.cmp, key))
    }

    pub(super) fn may_contain_probe<R: ReadAt + ?Sized>(
        &self,
        file: &R,
        probe: &Probe<'_>,
    ) -> Result<bool> {
        if let Some(p) = self.pinned(file)? {
            return Ok(p.filter.may_contain_hash(probe.filter_hash));
        }
        let filter = self.fetch(file, self.filter_h, BlockKind::Filter)?;
        Ok(bloom::may_contain_hash(&filter, probe.filter_hash))
    }

    /// Fetches the index and filter blocks, checking them (for `VERIFY`).
    pub fn check_meta_blocks<R: ReadAt + ?Sized>(&self, file: &R) -> Result<()> {
        self.decode_index(self.fetch(file, self.index_h, BlockKind::Index)?)?;
        self.fetch(file, self.filter_h, BlockKind::Filter)?;
        Ok(())
    }

    pub(super) fn data_block<R: ReadAt + ?Sized>(
        &self,
        file: &R,
        handle_bytes: &[u8],
    ) -> Result<(Block, BlockHandle)> {
        let (h, _) = BlockHandle::decode(handle_bytes).ok_or_else(|| {
            Corruption::at(
                format!("table {} index block", self.id),
                CorruptionKind::Malformed("block handle"),
            )
        })?;
        let data = self.fetch(file, h, BlockKind::Data)?;
        let block = Block::new(data).map_err(|e| e.within(&self.block_name(h.offset)))?;
        Ok((block, h))
    }

    pub(super) fn block_name(&self, offset: u64) -> String {
        format!("table {} block at offset {offset}", self.id)
    }
}

/// Where the block at `h` and its trailer end, if that is a number.
fn block_end(h: BlockHandle) -> Option<u64> {
    h.offset
        .checked_add(h.size)
        .and_then(|e| e.checked_add(BLOCK_TRAILER_SIZE as u64))
}

/// Reads the block at `h`, which must end before `limit`, and checks its
/// trailer: kind and checksum. The bytes are checked where the reader lends
/// them and copied once, into the block.
fn read_block<R: ReadAt + ?Sized>(
    file: &R,
    id: u64,
    h: BlockHandle,
    kind: u8,
    limit: u64,
) -> Result<Arc<[u8]>> {
    let name = || format!("table {id} {} at offset {}", kind_name(kind), h.offset);
    let end = h
        .offset
        .checked_add(h.size)
        .and_then(|e| e.checked_add(BLOCK_TRAILER_SIZE as u64));
    let len = match end {
        Some(end) if end <= limit => (h.size as usize) + BLOCK_TRAILER_SIZE,
        _ => return Err(Corruption::at(name(), CorruptionKind::OutOfBounds).into()),
    };
    let n = h.size as usize;
    let mut check = |buf: &[u8]| -> Result<Arc<[u8]>> {
        let stored = crate::coding::get_fixed32(buf, n + 1).unwrap_or(0);
        let actual = crc32c::value(&buf[..n + 1]);
        if crc32c::unmask(stored) != actual {
            return Err(Corruption::at(name(), CorruptionKind::ChecksumMismatch).into());
        }
        if buf[n] != kind {
            return Err(Corruption::at(name(), CorruptionKind::Malformed("block kind")).into());
        }
        Ok(Arc::from(&buf[..n]))
    };
    file.read_with(h.offset, len, &mut check)
        .map_err(|e| e.within(&name()))?
}

//! Writing new tables: a sorted stream of entries cut into tables at the
//! target size (never inside one user key's versions), each placed in free
//! extents, written without a flush and offered to the block cache; and
//! giving back the space of tables written but never committed.
//!
//! Separate because flushes and compactions both write their output this
//! way, and neither commits here: the tables become live only when the
//! caller's edit commits (see `manifest`).

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::disk::round_up;
use super::maintain::Job;
use super::shared::Shared;
use super::version::{FileMeta, SeekBudget};
use super::{BlockCache, Ikc};
use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::key::user_key;
use crate::table::{Table, TableBuilder};

impl<D: BlockDevice> Job<'_, D> {
    /// Gives back the space of tables written but never committed, and
    /// drops the blocks they offered to the cache.
    pub(super) fn release_tables(&self, files: &[FileMeta]) {
        let mut st = self.sh.state.lock();
        for f in files {
            st.alloc.release_extents(&f.extents);
        }
        if let Some(c) = &self.cache {
            let numbers: Vec<u64> = files.iter().map(|f| f.number).collect();
            c.erase_tables(&numbers);
        }
        st.note_free(self.sh);
    }
}

/// Writes a sorted stream of internal keys as tables, cut at the target
/// size, only between user keys so that one key's versions never straddle
/// two tables of a level. Each table takes its number and its extents from
/// the shared state, briefly locked, when it starts and when it is done;
/// the building and the writing hold no lock.
pub(super) struct TableSink<'a, D: BlockDevice> {
    sh: &'a Shared<D>,
    /// Offered the blocks of every table written.
    cache: Option<&'a (dyn BlockCache + Send + Sync)>,
    target: u64,
    /// The number and builder of the table being built.
    building: Option<(u64, TableBuilder<Ikc>)>,
    pub(super) outputs: Vec<FileMeta>,
}

impl<'a, D: BlockDevice> TableSink<'a, D> {
    pub(super) fn new(
        sh: &'a Shared<D>,
        cache: Option<&'a (dyn BlockCache + Send + Sync)>,
        target: u64,
    ) -> Self {
        Self {
            sh,
            cache,
            target,
            building: None,
            outputs: Vec::new(),
        }
    }

    pub(super) fn add(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        // Cut only where a new user key begins, and only once full.
        let full = self.building.as_ref().is_some_and(|(_, b)| {
            b.estimated_size() >= self.target && user_key(b.last_key()) != user_key(key)
        });
        if full {
            self.finish()?;
        }
        if self.building.is_none() {
            let number = {
                let mut st = self.sh.state.lock();
                st.next_file += 1;
                st.next_file - 1
            };
            let opts = &self.sh.opts;
            let mut b = TableBuilder::new(Ikc::default(), opts.table, number);
            // A table ends a block past the target, plus its index and
            // filter; a flush's (no target) is at most a memtable's worth.
            let size = self.target.min(opts.write_buffer_size as u64) as usize;
            b.reserve(size + size / 16);
            self.building = Some((number, b));
        }
        if let Some((_, b)) = &mut self.building {
            b.add(key, value)?;
        }
        Ok(())
    }

    pub(super) fn finish(&mut self) -> Result<()> {
        if let Some((number, b)) = self.building.take() {
            let meta = emit_table(self.sh, self.cache, b, number)?;
            self.outputs.push(meta);
        }
        Ok(())
    }
}

/// Offers the blocks of table `number`, just written as `bytes`, to the
/// cache. The table was built here a moment ago, so a failure to parse it
/// would be a bug, not damage: it only means no offer.
fn offer_blocks(cache: &(dyn BlockCache + Send + Sync), number: u64, bytes: &[u8]) {
    let Ok(t) = Table::open(bytes, number, bytes.len() as u64, Ikc::default()) else {
        return;
    };
    let Ok(blocks) = t.blocks(bytes) else {
        return;
    };
    for (h, kind) in blocks {
        let (start, end) = (h.offset as usize, (h.offset + h.size) as usize);
        if let Some(b) = bytes.get(start..end) {
            cache.offer_block(number, h.offset, kind, Arc::from(b));
        }
    }
}

/// Finishes a table, puts it in free extents and writes it (no flush: the
/// commit flushes before the manifest record).
fn emit_table<D: BlockDevice>(
    sh: &Shared<D>,
    cache: Option<&(dyn BlockCache + Send + Sync)>,
    b: TableBuilder<Ikc>,
    number: u64,
) -> Result<FileMeta> {
    let smallest = b.first_key().unwrap_or_default().to_vec();
    let largest = b.last_key().to_vec();
    let mut bytes = b.finish()?;
    let size = bytes.len() as u64;
    let extents = {
        let mut st = sh.state.lock();
        st.reclaim(sh);
        let e = st.alloc.allocate_extents(size);
        st.note_free(sh);
        e
    }
    .ok_or(Error::NoSpace {
        region: "table region",
        needed: size,
    })?;
    bytes.resize(round_up(size) as usize, 0);
    let mut at = 0usize;
    for e in &extents {
        let piece = &bytes[at..at + e.len as usize];
        if let Err(err) = sh.disk.write(e.offset, piece) {
            let mut st = sh.state.lock();
            st.alloc.release_extents(&extents);
            st.note_free(sh);
            return Err(err.into());
        }
        at += e.len as usize;
    }
    sh.state.lock().stats.table_bytes_written += size;
    if let Some(c) = cache.filter(|c| c.room() >= size) {
        offer_blocks(c, number, &bytes[..size as usize]);
    }
    Ok(FileMeta {
        number,
        extents: extents.into(),
        size,
        smallest,
        largest,
        allowed_seeks: SeekBudget::for_size(size),
        opened: Default::default(),
    })
}

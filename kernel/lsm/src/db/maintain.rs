//! The work a write leaves behind: flushing the frozen memtable to level 0,
//! running compactions until none is due (falling back to a merge into the
//! bottom when the disk has no room for one), and the `FLUSH` and `COMPACT`
//! commands that ask for it directly; and [`Db::clear`], which empties the
//! store in one manifest edit (Redis's `FLUSHALL`).
//!
//! Separate because it is what may run inline in a write or be left to the
//! owner (`Options::inline_maintenance`), and because its policy on a full
//! disk (reclaim first, put off rather than fail) is one decision in one
//! place; the compactions themselves are in `compact`.

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::open::log_u32;
use super::pick::{pick_compaction, seek_compaction};
use super::sink::TableSink;
use super::stop::Stop;
use super::version::{FileMeta, VersionEdit};
use super::Db;
use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::iter::KvIter;
use crate::memtable::MemTable;
use crate::wal::LogWriter;

impl<D: BlockDevice> Db<D> {
    /// Whether a lookup used up a table's seek budget, so that
    /// [`maintenance`](Self::maintenance) has a compaction to run though no
    /// write left one: an owner that runs maintenance only after writes
    /// asks this when idle.
    pub fn seek_compaction_pending(&self) -> bool {
        self.seek_compaction.get().is_some()
    }

    /// Drops the pending seek compaction (an owner whose maintenance failed
    /// does not ask again at once; lookups will ask again).
    pub fn forget_seek_compaction(&self) {
        self.seek_compaction.set(None);
    }

    /// Flushes a frozen memtable and runs compactions until none is due
    /// (by size, or a table that lookups charged too often).
    /// Returns whether it did anything.
    pub fn maintenance(&mut self) -> Result<bool> {
        self.check_writable()?;
        let mut did = false;
        let stop = &mut Stop::never();
        if self.imm.is_some() {
            self.flush_imm_reclaiming(stop)?;
            did = true;
        }
        did |= self.compact_while_due(stop)?;
        Ok(did)
    }

    /// Writes the memtable to a level-0 table now (the `FLUSH` command).
    pub fn flush(&mut self) -> Result<()> {
        self.flush_with(&mut Stop::never())
    }

    fn flush_with(&mut self, stop: &mut Stop<'_>) -> Result<()> {
        self.check_writable()?;
        if !self.mem.is_empty() {
            self.rotate(stop)?;
        }
        if self.imm.is_some() {
            self.flush_imm_reclaiming(stop)?;
        }
        self.compact_while_due(stop)?;
        Ok(())
    }

    /// Runs compactions until none is due. One the disk has no room for
    /// gives way to a merge of everything into the bottom level, a slice at
    /// a time, which frees what deletes left dead as it goes; if even that
    /// finds no room, the compaction is put off (counted in the stats), not
    /// failed: the flush before it kept every write, the store stays correct
    /// with an unbalanced tree, and the compaction is tried again after the
    /// next flush or by `COMPACT`.
    ///
    /// Below half the reserve of free space, that merge comes first: only
    /// deletes (which may use the reserve) get the store here, and merging
    /// frees what they killed while there is still room for its slices.
    fn compact_while_due(&mut self, stop: &mut Stop<'_>) -> Result<bool> {
        let mut did = false;
        let mut reclaimed = false;
        if self.alloc.free_bytes() < self.space_reserve() / 2 {
            reclaimed = true;
            match self.merge_into_bottom(stop) {
                Ok(()) => did = true,
                Err(Error::NoSpace { .. }) => {
                    self.stats.compactions_put_off += 1;
                    return Ok(did);
                }
                Err(e) => return Err(e),
            }
        }
        while let Some(c) = pick_compaction(&self.version, &self.opts, &self.compact_pointers)
            .or_else(|| {
                let (level, number) = self.seek_compaction.take()?;
                seek_compaction(&self.version, level, number)
            })
        {
            match self.run_compaction(c, stop) {
                Ok(()) => did = true,
                Err(Error::NoSpace { .. }) if !reclaimed => {
                    reclaimed = true;
                    match self.merge_into_bottom(stop) {
                        Ok(()) => did = true,
                        Err(Error::NoSpace { .. }) => {
                            self.stats.compactions_put_off += 1;
                            break;
                        }
                        Err(e) => return Err(e),
                    }
                }
                Err(Error::NoSpace { .. }) => {
                    self.stats.compactions_put_off += 1;
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(did)
    }

    /// Flushes the frozen memtable; if the disk has no room for it, first
    /// merges the tables into the bottom level (so that what deletes left
    /// dead is freed) and tries once more.
    pub(super) fn flush_imm_reclaiming(&mut self, stop: &mut Stop<'_>) -> Result<()> {
        match self.flush_imm(stop) {
            Err(Error::NoSpace { .. }) => {
                self.merge_into_bottom(stop)?;
                self.flush_imm(stop)
            }
            r => r,
        }
    }

    fn flush_imm(&mut self, stop: &mut Stop<'_>) -> Result<()> {
        let Some(imm) = self.imm.clone() else {
            return Ok(());
        };
        let mut edit = VersionEdit::default();
        for meta in self.write_level0(&imm, stop)? {
            edit.added.push((0, meta));
        }
        // The frozen memtable's log is no longer needed once this commits.
        let old = self.log_number;
        self.log_number = u64::from(self.wal.log_number());
        if let Err(e) = self.log_and_apply(edit) {
            self.log_number = old;
            return Err(e);
        }
        self.imm = None;
        self.stats.flushes += 1;
        Ok(())
    }

    /// Writes `mem` as level-0 tables: one, unless the free space is in
    /// pieces smaller than the memtable (then its key ranges are disjoint).
    /// Stopped, it gives back the space of what it wrote.
    pub(super) fn write_level0(
        &mut self,
        mem: &MemTable,
        stop: &mut Stop<'_>,
    ) -> Result<Vec<FileMeta>> {
        let mut sink = TableSink::new(
            &self.disk,
            self.cache.as_deref(),
            &mut self.alloc,
            &mut self.stats,
            &mut self.next_file,
            &self.opts,
            // A memtable may outgrow a table: it is written whole if it fits.
            u64::MAX,
        );
        let r = (|| -> Result<()> {
            stop.check()?;
            let mut it = mem.iter();
            it.seek_to_first()?;
            while it.valid() {
                stop.entry(it.key().len() + it.value().len())?;
                sink.add(it.key(), it.value())?;
                it.next()?;
            }
            sink.finish()
        })();
        let outputs = sink.outputs;
        if let Err(e) = r {
            self.release_tables(&outputs);
            return Err(e);
        }
        Ok(outputs)
    }

    /// Compacts every level into the deepest level that holds data, so
    /// that each key lives in one place and tombstones are gone (the
    /// `COMPACT` command).
    pub fn compact_all(&mut self) -> Result<()> {
        self.compact_all_with(&mut || false)
    }

    /// [`compact_all`](Self::compact_all), asking `stop` between slices of
    /// its flush and compactions and every few hundred entries within
    /// one. When `stop` says `true` it returns [`Error::Interrupted`]: what
    /// it committed stays, the slice under way is dropped (its tables'
    /// space given back) and the store is as usable as before.
    pub fn compact_all_with(&mut self, stop: &mut dyn FnMut() -> bool) -> Result<()> {
        let mut stop = Stop::new(stop);
        self.flush_with(&mut stop)?;
        self.merge_into_bottom(&mut stop)
    }

    /// Deletes every key: one manifest edit drops every table and moves
    /// the log number past the current log, so the memtables and the WAL
    /// that fed them are gone with it. All or nothing across a crash:
    /// before the edit's record is durable recovery finds the store as it
    /// was, after it an empty store; durable when this returns.
    ///
    /// It writes no tombstones and reads no table, so its cost is one
    /// manifest record and a device flush whatever the store holds. The
    /// new log takes the other WAL half, which holds only the frozen
    /// memtable's log (dropped too), or an older one: its fragments carry
    /// another log number, so recovery never replays them. Refused while
    /// a snapshot is held, which would lose what it sees.
    pub fn clear(&mut self) -> Result<()> {
        self.check_writable()?;
        if !self.snapshots.is_empty() {
            return Err(Error::InvalidArgument("clear while a snapshot is held"));
        }
        let number = u64::from(self.wal.log_number()) + 1;
        let wal = LogWriter::new(self.sb.layout.wal_region(number), log_u32(number)?)?;
        let edit = VersionEdit {
            deleted: self
                .version
                .files()
                .map(|(level, f)| (level, f.number))
                .collect(),
            ..VersionEdit::default()
        };
        let old = self.log_number;
        self.log_number = number;
        if let Err(e) = self.log_and_apply(edit) {
            self.log_number = old;
            return Err(e);
        }
        self.wal = wal;
        self.mem = Arc::new(MemTable::with_capacity(self.opts.write_buffer_size));
        self.imm = None;
        self.compact_pointers = Default::default();
        if let Some(p) = &self.points {
            // Its KV entries hold values of keys that are gone.
            p.clear();
        }
        Ok(())
    }
}

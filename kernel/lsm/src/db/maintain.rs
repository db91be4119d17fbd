//! The work a write leaves behind: flushing the frozen memtable to level 0,
//! running compactions until none is due (falling back to a merge into the
//! bottom when the disk has no room for one), and the `FLUSH` and `COMPACT`
//! commands that ask for it directly; and [`Db::clear`], which empties the
//! store in one manifest edit (Redis's `FLUSHALL`).
//!
//! All of it runs as a [`Job`]: the job's lock held (one job at a time,
//! inline or on a background core), the shared state locked only briefly.
//!
//! Separate because it is what may run inline in a write or be left to the
//! owner (`Options::inline_maintenance`) or another core
//! (`Options::background`), and because its policy on a full disk (reclaim
//! first, put off rather than fail) is one decision in one place; the
//! compactions themselves are in `compact`.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use super::open::log_u32;
use super::pick::{pick_compaction, seek_compaction};
use super::shared::{JobState, Shared};
use super::sink::TableSink;
use super::stop::Stop;
use super::version::{FileMeta, VersionEdit};
use super::{BlockCache, CompactionFilter, Db, PointCache};
use crate::comparator::eq_bytes;
use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::iter::KvIter;
use crate::key::ParsedInternalKey;
use crate::memtable::MemTable;
use crate::wal::LogWriter;

/// A flush or compaction under way, inline or on a background core: the
/// shared state, the job's lock (one job at a time), and the caches and
/// filter as they were when it started.
pub(super) struct Job<'a, D: BlockDevice> {
    pub(super) sh: &'a Shared<D>,
    pub(super) js: spin::MutexGuard<'a, JobState>,
    pub(super) cache: Option<Arc<dyn BlockCache + Send + Sync>>,
    pub(super) points: Option<Arc<dyn PointCache + Send + Sync>>,
    pub(super) filter: Option<Arc<dyn CompactionFilter + Send + Sync>>,
}

impl<D: BlockDevice> Shared<D> {
    /// The job, once a job in flight (the background's) is done.
    pub(super) fn job(&self) -> Job<'_, D> {
        let js = self.lock_job();
        Job::new(self, js)
    }

    /// The job, once a job in flight is done, or [`Error::Interrupted`]
    /// if `stop` says so first: COMPACT and FLUSH, waiting for the
    /// background core's compaction, still stop within a second of Ctrl-C.
    pub(super) fn job_or_stop(&self, stop: &mut Stop<'_>) -> Result<Job<'_, D>> {
        loop {
            if let Some(job) = self.try_job() {
                return Ok(job);
            }
            stop.check()?;
            self.wait();
        }
    }

    /// The job, unless one is in flight.
    pub(super) fn try_job(&self) -> Option<Job<'_, D>> {
        let js = self.job.try_lock()?;
        Some(Job::new(self, js))
    }
}

impl<'a, D: BlockDevice> Job<'a, D> {
    fn new(sh: &'a Shared<D>, js: spin::MutexGuard<'a, JobState>) -> Self {
        let st = sh.state.lock();
        let (cache, points, filter) = (st.cache.clone(), st.points.clone(), st.filter.clone());
        drop(st);
        Self {
            sh,
            js,
            cache,
            points,
            filter,
        }
    }

    /// Free bytes of the table region, after releasing what no reader holds.
    pub(super) fn free_bytes(&self) -> u64 {
        let mut st = self.sh.state.lock();
        st.reclaim(self.sh);
        st.alloc.free_bytes()
    }

    /// Table space kept back from writes that add data (see
    /// [`Db::space_reserve`]).
    pub(super) fn space_reserve(&self) -> u64 {
        space_reserve(self.sh)
    }

    /// Flushes a frozen memtable and runs compactions until none is due.
    pub(super) fn maintenance(&mut self, stop: &mut Stop<'_>) -> Result<bool> {
        let mut did = false;
        if self.sh.has_imm.load(Ordering::Acquire) {
            self.flush_imm_reclaiming(stop)?;
            did = true;
        }
        did |= self.compact_while_due(stop)?;
        Ok(did)
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
    pub(super) fn compact_while_due(&mut self, stop: &mut Stop<'_>) -> Result<bool> {
        self.js.reclaimed = false;
        let mut did = false;
        while self.compact_step(stop)? {
            did = true;
        }
        Ok(did)
    }

    /// One step of [`compact_while_due`](Self::compact_while_due): the
    /// merge that wins back space, or one compaction (by size, else one a
    /// lookup asked for). Returns whether it did one; false when none is
    /// due or it was put off.
    pub(super) fn compact_step(&mut self, stop: &mut Stop<'_>) -> Result<bool> {
        if !self.js.reclaimed && self.free_bytes() < self.space_reserve() / 2 {
            self.js.reclaimed = true;
            return self.reclaim_or_put_off(stop);
        }
        let version = self.sh.version();
        let c = pick_compaction(&version, &self.sh.opts, &self.js.compact_pointers).or_else(|| {
            let (level, number) = self.sh.take_seek()?;
            seek_compaction(&version, level, number)
        });
        // Not held while it runs: a version held keeps the space of the
        // tables it has from being reused.
        drop(version);
        let Some(c) = c else {
            return Ok(false);
        };
        match self.run_compaction(c, stop) {
            Ok(()) => Ok(true),
            Err(Error::NoSpace { .. }) if !self.js.reclaimed => {
                self.js.reclaimed = true;
                self.reclaim_or_put_off(stop)
            }
            Err(Error::NoSpace { .. }) => {
                self.put_off();
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// The merge into the bottom that wins back space; if even it finds no
    /// room, the compaction is put off.
    fn reclaim_or_put_off(&mut self, stop: &mut Stop<'_>) -> Result<bool> {
        match self.merge_into_bottom(stop) {
            Ok(()) => Ok(true),
            Err(Error::NoSpace { .. }) => {
                self.put_off();
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    fn put_off(&self) {
        let mut st = self.sh.state.lock();
        st.stats.compactions_put_off += 1;
        st.last_error = Some(Error::NoSpace {
            region: "table region (a compaction found no room)",
            needed: 0,
        });
        drop(st);
        self.sh.stalled.store(true, Ordering::Relaxed);
        self.sh.failures.fetch_add(1, Ordering::Release);
        self.sh.notify();
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

    /// Flushes a memtable frozen while a compaction runs (background mode:
    /// inline, nothing freezes one meanwhile), so that a writer waiting for
    /// it does not wait for the whole compaction. Without room it is left
    /// for the next job (a merge to win room back here would pull tables
    /// from under the compaction): false then.
    pub(super) fn flush_frozen(&mut self, stop: &mut Stop<'_>) -> Result<bool> {
        match self.flush_imm(stop) {
            Ok(()) => Ok(true),
            Err(Error::NoSpace { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn flush_imm(&mut self, stop: &mut Stop<'_>) -> Result<()> {
        let (imm, imm_log) = {
            let cur = self.sh.current();
            match &cur.imm {
                Some(imm) => (Arc::clone(imm), cur.imm_log),
                None => return Ok(()),
            }
        };
        let mut edit = VersionEdit::default();
        for meta in self.write_level0(&imm, stop)? {
            edit.added.push((0, meta));
        }
        // The frozen memtable's log is no longer needed once this commits.
        self.log_and_apply(edit, Some(imm_log))?;
        self.sh.state.lock().stats.flushes += 1;
        self.js.reclaimed = false;
        self.sh.stalled.store(false, Ordering::Relaxed);
        Ok(())
    }

    /// Writes `mem` as level-0 tables: one, unless the free space is in
    /// pieces smaller than the memtable (then its key ranges are disjoint).
    /// Stopped, it gives back the space of what it wrote.
    ///
    /// A version no reader can ask for (an older write of a key whose newer
    /// write every snapshot sees) is left out, as RocksDB's flush does and
    /// LevelDB's does not: a key rewritten a thousand times between two
    /// flushes is written once, not a thousand times and then compacted.
    /// Deletions stay, for what they hide in older tables.
    pub(super) fn write_level0(
        &mut self,
        mem: &MemTable,
        stop: &mut Stop<'_>,
    ) -> Result<Vec<FileMeta>> {
        let cache = self.cache.clone();
        let smallest_snapshot = self.smallest_snapshot();
        // A memtable may outgrow a table: it is written whole if it fits.
        let mut sink = TableSink::new(self.sh, cache.as_deref(), u64::MAX);
        let r = (|| -> Result<()> {
            stop.check()?;
            let mut it = mem.iter();
            it.seek_to_first()?;
            // The previous entry's user key and sequence (in the memtable:
            // no copy).
            let mut newer: Option<(&[u8], u64)> = None;
            while it.valid() {
                let (key, value) = it.entry();
                stop.entry(key.len() + value.len())?;
                let p = ParsedInternalKey::parse_at(key, "memtable")?;
                let shadowed = newer
                    .is_some_and(|(k, seq)| seq <= smallest_snapshot && eq_bytes(k, p.user_key));
                if !shadowed {
                    sink.add(key, value)?;
                }
                newer = Some((p.user_key, p.sequence));
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
}

/// Table space kept back from writes that add data: enough for a level-0
/// compaction (its inputs stay until its last slice commits) and a few
/// tables more, at most an eighth of the region.
pub(super) fn space_reserve<D: BlockDevice>(sh: &Shared<D>) -> u64 {
    let o = &sh.opts;
    let level0 = o.l0_compaction_trigger as u64 * o.write_buffer_size as u64;
    (level0 + 4 * o.table_size).min(sh.layout.table_len / 8)
}

impl<D: BlockDevice> Db<D> {
    /// Whether a lookup used up a table's seek budget, so that
    /// [`maintenance`](Self::maintenance) has a compaction to run though no
    /// write left one: an owner that runs maintenance only after writes
    /// asks this when idle.
    pub fn seek_compaction_pending(&self) -> bool {
        self.sh.seek_pending().is_some()
    }

    /// Drops the pending seek compaction (an owner whose maintenance failed
    /// does not ask again at once; lookups will ask again).
    pub fn forget_seek_compaction(&self) {
        self.sh.take_seek();
    }

    /// Flushes a frozen memtable and runs compactions until none is due
    /// (by size, or a table that lookups charged too often), after a
    /// background job in flight. Returns whether it did anything.
    pub fn maintenance(&mut self) -> Result<bool> {
        self.check_writable()?;
        self.sh.job().maintenance(&mut Stop::never())
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
        let mut job = self.sh.job_or_stop(stop)?;
        job.flush_imm_reclaiming(stop)?;
        job.compact_while_due(stop)?;
        Ok(())
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
        self.sh.job_or_stop(&mut stop)?.merge_into_bottom(&mut stop)
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
        if !self.sh.state.lock().snapshots.is_empty() {
            return Err(Error::InvalidArgument("clear while a snapshot is held"));
        }
        // A write-out under way goes to the log this drops; the next log
        // after the new one would take its half again.
        self.wait_wal_io();
        let number = u64::from(self.wal.log_number()) + 1;
        let wal = LogWriter::new(self.sh.layout.wal_region(number), log_u32(number)?)?;
        let mut job = self.sh.job();
        let edit = VersionEdit {
            deleted: self
                .sh
                .version()
                .files()
                .map(|(level, f)| (level, f.number))
                .collect(),
            ..VersionEdit::default()
        };
        job.log_and_apply(edit, Some(number))?;
        job.js.compact_pointers = Default::default();
        drop(job);
        self.wal = wal;
        self.mem = Arc::new(MemTable::with_capacity(self.sh.opts.write_buffer_size));
        if let Some(p) = &self.points {
            // Its KV entries hold values of keys that are gone.
            p.clear();
        }
        Ok(())
    }
}

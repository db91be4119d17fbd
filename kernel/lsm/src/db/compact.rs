//! Running compactions: a picked compaction as a trivial move or as slices
//! of its lower level, each merged with the upper inputs and committed;
//! the merge itself (old versions and dead tombstones dropped below the
//! oldest snapshot); and `COMPACT`'s merge of every level into the bottom,
//! a key range at a time.
//!
//! Separate because it is where the store writes most and where a full
//! disk bites: each slice writes its tables before it frees its inputs, and
//! commits on its own, so a crash or a stop between slices leaves a
//! correct store. What to compact is decided in `pick`.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use super::disk::{round_up, Extents, TableFile};
use super::maintain::Job;
use super::pick::{cut_points, disjoint, is_base_level_for, slice_budget, slice_end, Compaction};
use super::sink::TableSink;
use super::stop::Stop;
use super::version::{FileMeta, VersionEdit, NUM_LEVELS};
use super::Ikc;
use crate::comparator::{eq_bytes, Comparator};
use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::iter::KvIter;
use crate::key::{
    internal_key, user_key, ParsedInternalKey, SequenceNumber, ValueType, MAX_SEQUENCE,
};
use crate::merge::MergingIter;

impl<D: BlockDevice> Job<'_, D> {
    pub(super) fn run_compaction(&mut self, c: Compaction, stop: &mut Stop<'_>) -> Result<()> {
        self.sh.check_writable()?;
        let level = c.level;
        let out_level = level + 1;
        let pointer = c.inputs[0]
            .iter()
            .map(|f| &f.largest)
            .max_by(|a, b| Ikc::default().compare(a, b))
            .cloned();
        if c.inputs[1].is_empty() && !c.force_merge && disjoint(&c.inputs[0]) {
            // Trivial move: nothing to merge with, below or among the
            // inputs. Level 0's tables go down together when no two share
            // a key and none meets a table below (RocksDB's
            // `TryPickL0TrivialMove`): a sequential load's flushes, which
            // a merge would only copy (fillseq at 1,000,000 keys rewrote
            // 130 MB of its 117 MB that way).
            stop.check()?;
            let mut edit = VersionEdit::default();
            for f in &c.inputs[0] {
                edit.deleted.push((level, f.number));
                edit.added.push((out_level, FileMeta::clone(f)));
            }
            if let Some(p) = pointer {
                edit.compact_pointers.push((level, p.clone()));
                self.js.compact_pointers[level] = p;
            }
            self.log_and_apply(edit, None)?;
            let mut st = self.sh.state.lock();
            st.stats.compactions += 1;
            st.stats.tables_moved += c.inputs[0].len() as u64;
            return Ok(());
        }
        // Its upper inputs stay until the end, and each slice writes before
        // it frees: a compaction that cannot finish is not started, so a
        // full disk does not hold half-merged copies.
        let upper_bytes: u64 = c.inputs[0].iter().map(|f| round_up(f.size)).sum();
        let peak = upper_bytes + 2 * self.sh.opts.table_size;
        if c.inputs[1].len() > 1 && self.free_bytes() < peak {
            return Err(Error::NoSpace {
                region: "table region",
                needed: peak,
            });
        }
        let smallest_snapshot = self.smallest_snapshot();
        // Slices of the lower level's tables, cut at the next slice's
        // smallest key (see `slice_end`): each merges its tables with the
        // upper inputs' entries in its range and commits, freeing them, so
        // the compaction needs room for one slice's output at a time, not
        // the whole merge's, which a nearly full disk lacks just when
        // deletes have made compaction worth running. The upper inputs go
        // with the last slice; until then their entries already merged
        // below are also still above, which reads (upper levels first) and
        // later merges (equal sequence numbers: one copy kept) both
        // tolerate, so a crash between slices leaves a correct store.
        let lower = &c.inputs[1];
        let starts: Vec<(Vec<u8>, u64)> = lower
            .iter()
            .map(|f| (user_key(&f.smallest).to_vec(), round_up(f.size)))
            .collect();
        let mut start = 0;
        loop {
            let (end, lo, hi) = self.next_slice(&starts, start);
            let last = end >= starts.len();
            let mut files: Vec<Arc<FileMeta>> = c.inputs[0].clone();
            let mut edit = VersionEdit::default();
            for f in &lower[start..end] {
                files.push(Arc::clone(f));
                edit.deleted.push((out_level, f.number));
            }
            if last {
                for f in &c.inputs[0] {
                    edit.deleted.push((level, f.number));
                }
                if let Some(p) = &pointer {
                    edit.compact_pointers.push((level, p.clone()));
                }
            }
            let range = (lo.as_deref(), hi.as_deref());
            self.merge_and_commit(&files, range, out_level, smallest_snapshot, edit, stop)?;
            if last {
                break;
            }
            start = end;
        }
        if let Some(p) = pointer {
            self.js.compact_pointers[level] = p;
        }
        self.sh.state.lock().stats.compactions += 1;
        Ok(())
    }

    /// The oldest write a reader may still ask for, as the job starts (a
    /// snapshot taken later sees only newer writes).
    pub(super) fn smallest_snapshot(&self) -> SequenceNumber {
        let last = self.sh.last_seq.load(Ordering::Acquire);
        self.sh.state.lock().smallest_snapshot(last)
    }

    /// The slice that begins at `starts[start]`, cut (see [`slice_end`]) to
    /// the free space as it is now, which grows as slices commit: where it
    /// ends in `starts`, and its user-key range (from, inclusive, to,
    /// exclusive; the first slice is open below, the last above).
    fn next_slice(
        &self,
        starts: &[(Vec<u8>, u64)],
        start: usize,
    ) -> (usize, Option<Vec<u8>>, Option<Vec<u8>>) {
        let budget = slice_budget(self.free_bytes(), &self.sh.opts);
        let end = slice_end(starts, start, budget);
        let lo = (start > 0).then(|| starts[start].0.clone());
        let hi = starts.get(end).map(|(k, _)| k.clone());
        (end, lo, hi)
    }

    /// Merges `files` over `range` (as [`merge_inputs`](Self::merge_inputs))
    /// into tables of `out_level` and commits them with `edit`; on failure
    /// (or told to stop) the new tables' space is released and nothing is
    /// committed.
    fn merge_and_commit(
        &mut self,
        files: &[Arc<FileMeta>],
        range: (Option<&[u8]>, Option<&[u8]>),
        out_level: usize,
        smallest_snapshot: SequenceNumber,
        mut edit: VersionEdit,
        stop: &mut Stop<'_>,
    ) -> Result<()> {
        let outputs = match self.merge_inputs(files, range, out_level, smallest_snapshot, stop) {
            Ok(o) => o,
            Err((e, written)) => {
                self.release_tables(&written);
                return Err(e);
            }
        };
        let written: Vec<FileMeta> = outputs.clone();
        edit.added
            .extend(outputs.into_iter().map(|f| (out_level, f)));
        self.log_and_apply(edit, None)
            .inspect_err(|_| self.release_tables(&written))
    }

    /// Merges the entries of `files` whose user keys lie in `range` (from,
    /// inclusive, to, exclusive; `None` is open) into new tables; on
    /// failure, returns the tables already written so their space can be
    /// released.
    fn merge_inputs(
        &mut self,
        files: &[Arc<FileMeta>],
        range: (Option<&[u8]>, Option<&[u8]>),
        out_level: usize,
        smallest_snapshot: SequenceNumber,
        stop: &mut Stop<'_>,
    ) -> core::result::Result<Vec<FileMeta>, (Error, Vec<FileMeta>)> {
        let mut outputs: Vec<FileMeta> = Vec::new();
        if let Err(e) = stop.check() {
            return Err((e, outputs));
        }
        let mut tables = Vec::new();
        for f in files {
            match self.sh.table(f, self.cache.as_deref(), None) {
                Ok(t) => tables.push((t, f.clone())),
                Err(e) => return Err((e, outputs)),
            }
        }
        // Dropped before the commit (see `compact_step`).
        let version = self.sh.version();
        // Taken out of `self`, which the merge lends to a flush of a
        // memtable frozen meanwhile.
        let sh = self.sh;
        let disk = &sh.disk;
        let cache = self.cache.clone();
        let mut sink = TableSink::new(sh, cache.as_deref(), sh.opts.table_size);
        // One concrete cursor type, not `Box<dyn KvIter>`: the merge's
        // several `key` calls per entry are then direct and inlined (under
        // TCG each indirect call and return is a lookup of its target: ten
        // per entry merged before).
        let mut children = Vec::with_capacity(tables.len());
        for (t, f) in &tables {
            children.push(t.iter(TableFile {
                disk,
                number: f.number,
                extents: Extents::Held(Arc::clone(&f.extents)),
                size: f.size,
                // Blocks the cache holds (the tables were written or read
                // lately) are taken from it: no device read, no checksum
                // to check again.
                cache: cache.as_deref(),
                counter: None,
                pins: sh.pins(),
                peek: true,
            }));
        }
        let mut it = MergingIter::new(Ikc::default(), children);
        let filter = self.filter.clone();
        let filter = filter.as_deref();
        let mut stats_dropped = 0u64;
        let r = (|| -> Result<()> {
            match range.0 {
                Some(lo) => it.seek(&internal_key(lo, MAX_SEQUENCE, ValueType::FOR_SEEK))?,
                None => it.seek_to_first()?,
            }
            // Cleared when a flush found no room: not tried again here.
            let mut flush_ok = true;
            // The user key being merged (reused: no allocation per key).
            let mut current: Vec<u8> = Vec::new();
            let mut has_current = false;
            let mut last_seq_for_key = u64::MAX;
            while it.valid() {
                let key = it.key();
                let p = ParsedInternalKey::parse_at(key, "compaction input")?;
                if range.1.is_some_and(|hi| p.user_key >= hi) {
                    break;
                }
                stop.entry(key.len() + it.value().len())?;
                if flush_ok && sh.has_imm.load(Ordering::Relaxed) {
                    // LevelDB's imm_ check in DoCompactionWork: the owner
                    // waits for that flush, not for this whole merge.
                    flush_ok = self.flush_frozen(stop)?;
                }
                if !has_current || !eq_bytes(&current, p.user_key) {
                    current.clear();
                    crate::coding::extend_short(&mut current, p.user_key);
                    has_current = true;
                    last_seq_for_key = u64::MAX;
                }
                let drop = if last_seq_for_key <= smallest_snapshot {
                    // A newer entry of this key is visible to every snapshot:
                    // this one can never be read.
                    true
                } else {
                    p.kind == ValueType::Deletion
                        && p.sequence <= smallest_snapshot
                        && is_base_level_for(&version, out_level, p.user_key)
                };
                // The newest entry of its key, which every snapshot sees as
                // the newest when its sequence is at or below the oldest.
                let newest = last_seq_for_key == u64::MAX;
                last_seq_for_key = p.sequence;
                let dead = newest
                    && p.kind == ValueType::Value
                    && p.sequence <= smallest_snapshot
                    && filter.is_some_and(|f| f.is_dead(p.user_key, it.value()));
                if dead {
                    // Where no deeper level can hold the key the value just
                    // goes; elsewhere it becomes a deletion, so that an
                    // older version below cannot show through.
                    if !is_base_level_for(&version, out_level, p.user_key) {
                        let tombstone = internal_key(p.user_key, p.sequence, ValueType::Deletion);
                        sink.add(&tombstone, &[])?;
                    }
                    stats_dropped += 1;
                } else if !drop {
                    sink.add(key, it.value())?;
                }
                it.next()?;
            }
            sink.finish()
        })();
        outputs.append(&mut sink.outputs);
        drop(version);
        self.sh.state.lock().stats.filtered_values += stats_dropped;
        match r {
            Ok(()) => Ok(outputs),
            Err(e) => Err((e, outputs)),
        }
    }

    /// Merges every level's tables into the deepest level that holds data.
    ///
    /// It works one key range at a time and merges every level's entries in
    /// that range straight into the bottom, committing after each slice: a
    /// slice needs room only for its own output, and the space of deleted
    /// data comes back as the slices go, which is what a full disk whose
    /// keys were just deleted needs. Slices are cut where tables of levels
    /// 1 and down start (never inside a bottom table, which goes whole),
    /// each taking about a quarter of the free space of input: the levels
    /// may hold disjoint key ranges (sequential writes leave each level its
    /// own), so cutting at the bottom's tables alone could leave one slice
    /// with a whole level. An upper table goes as soon as all its entries
    /// have been merged, unless an older table that overlaps it is still
    /// there: that one's older versions would then show through.
    pub(super) fn merge_into_bottom(&mut self, stop: &mut Stop<'_>) -> Result<()> {
        self.sh.check_writable()?;
        let version = self.sh.version();
        let deepest = (0..NUM_LEVELS)
            .rev()
            .find(|&l| !version.levels[l].is_empty())
            .unwrap_or(0);
        let bottom = deepest.max(1);
        // Upper tables, newest first: level by level, level 0 by number.
        let upper: Vec<(usize, Arc<FileMeta>)> = (0..bottom)
            .flat_map(|l| version.levels[l].iter().map(move |f| (l, Arc::clone(f))))
            .collect();
        if upper.is_empty() {
            return Ok(());
        }
        let smallest_snapshot = self.smallest_snapshot();
        let overlaps = |f: &FileMeta, lo: Option<&[u8]>, hi: Option<&[u8]>| {
            lo.is_none_or(|lo| user_key(&f.largest) >= lo)
                && hi.is_none_or(|hi| user_key(&f.smallest) < hi)
        };
        let lower = version.levels[bottom].clone();
        let starts = cut_points(&version, bottom);
        // Not held across the slices' commits: it would keep the space of
        // the tables they delete from being reused by the next slice.
        drop(version);
        let mut gone = alloc::vec![false; upper.len()];
        let mut start = 0;
        loop {
            let (end, lo, hi) = self.next_slice(&starts, start);
            let last = end >= starts.len();
            let (lo, hi) = (lo.as_deref(), hi.as_deref());
            let mut files: Vec<Arc<FileMeta>> = upper
                .iter()
                .zip(&gone)
                .filter(|((_, f), gone)| !**gone && overlaps(f, lo, hi))
                .map(|((_, f), _)| Arc::clone(f))
                .collect();
            if files.is_empty() {
                if last {
                    break;
                }
                start = end;
                continue;
            }
            let mut edit = VersionEdit::default();
            for f in lower.iter().filter(|f| overlaps(f, lo, hi)) {
                files.push(Arc::clone(f));
                edit.deleted.push((bottom, f.number));
            }
            // Upper tables now wholly merged, less those an older
            // overlapping table still left above would show through. Oldest
            // first: whether a table stays depends only on older ones, so
            // one pass settles them all.
            let mut done: Vec<bool> = upper
                .iter()
                .enumerate()
                .map(|(j, (_, f))| !gone[j] && hi.is_none_or(|hi| user_key(&f.largest) < hi))
                .collect();
            for j in (0..upper.len()).rev() {
                let f = &upper[j].1;
                let (lo_j, hi_j) = (user_key(&f.smallest), user_key(&f.largest));
                done[j] = done[j]
                    && !(j + 1..upper.len()).any(|k| {
                        let o = &upper[k].1;
                        !gone[k]
                            && !done[k]
                            && user_key(&o.largest) >= lo_j
                            && user_key(&o.smallest) <= hi_j
                    });
            }
            for (j, (level, f)) in upper.iter().enumerate() {
                if done[j] {
                    edit.deleted.push((*level, f.number));
                }
            }
            self.merge_and_commit(&files, (lo, hi), bottom, smallest_snapshot, edit, stop)?;
            for (j, d) in done.iter().enumerate() {
                gone[j] |= *d;
            }
            self.sh.state.lock().stats.compactions += 1;
            if last {
                break;
            }
            start = end;
        }
        Ok(())
    }
}

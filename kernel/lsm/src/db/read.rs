//! The read path: a point lookup (memtables, the point cache, then the
//! tables level by level), opening tables and reading their blocks through
//! the block cache, cursors and ranges, and snapshots.
//!
//! Separate because reads take `&self` and never change the tree: nothing
//! here writes to the device, so it can be read without the commit rules
//! of the write, flush and compaction paths in mind.

use alloc::format;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering as AtomicOrdering;

use super::disk::{Extents, ReadCounter, TableFile};
use super::iter::{self, DbIter};
use super::lookup::{BlockPointer, LookupSource, LookupStats, PointCache, PointHit};
use super::shared::{Current, Shared};
use super::version::{FileMeta, Version};
use super::{BlockCache, Db, Ikc, Snapshot};
use crate::comparator::{bytewise_prefix, eq_bytes};
use crate::device::BlockDevice;
use crate::error::Result;
use crate::iter::KvIter;
use crate::key::{internal_key, internal_key_in, ParsedInternalKey, SequenceNumber, ValueType};
use crate::memtable::{Lookup, MemTable};
use crate::merge::MergingIter;
use crate::table::{BlockHandle, LookupBufs, Probe, Table};

impl<D: BlockDevice> Db<D> {
    /// The bytes of table `f`, read through the block cache if `cached`,
    /// counting reads in `counter`.
    #[inline]
    pub(super) fn file<'a>(
        &'a self,
        f: &'a FileMeta,
        cached: bool,
        counter: Option<&'a ReadCounter>,
    ) -> TableFile<'a, D> {
        let cache = if cached { self.cache.as_deref() } else { None };
        let mut file = self.sh.file(f, cache, counter);
        if !cached {
            // A reader past the cache reads what the disk holds (VERIFY).
            file.pins = None;
        }
        file
    }

    /// [`file`](Self::file) for an iterator, which may outlive `f`: it
    /// holds the extents.
    pub(super) fn file_held<'a>(&'a self, f: &FileMeta, cached: bool) -> TableFile<'a, D> {
        let cache = if cached { self.cache.as_deref() } else { None };
        TableFile {
            disk: &self.sh.disk,
            number: f.number,
            extents: Extents::Held(Arc::clone(&f.extents)),
            size: f.size,
            cache,
            counter: None,
            pins: self.sh.pins().filter(|_| cached),
            peek: false,
        }
    }

    /// Reads data, index and filter blocks through `cache` (or no cache,
    /// so that every lookup reads them from the disk) from now on.
    pub fn set_block_cache(&mut self, cache: Option<Arc<dyn BlockCache + Send + Sync>>) {
        self.sh.state.lock().cache = cache.clone();
        self.cache = cache;
    }

    /// Serves point lookups from `cache` (AC-Key's KV and KP parts) from now
    /// on, or stops. The cache is cleared when attached: it has not seen the
    /// writes made while it was away.
    pub fn set_point_cache(&mut self, cache: Option<Arc<dyn PointCache + Send + Sync>>) {
        if let Some(c) = &cache {
            c.clear();
        }
        self.refront_point_cache(cache);
    }

    /// Serves point lookups from `cache`, the cache attached until now seen
    /// through another front (a trace recorder put in front of it or taken
    /// away): it has seen every write, so it keeps what it holds.
    pub fn refront_point_cache(&mut self, cache: Option<Arc<dyn PointCache + Send + Sync>>) {
        self.sh.state.lock().points = cache.clone();
        self.points = cache;
    }

    /// The open table of `f`: its footer, remembered or read and checked.
    #[inline]
    pub(super) fn table<'f>(
        &self,
        f: &'f FileMeta,
        counter: Option<&ReadCounter>,
    ) -> Result<&'f Table<Ikc>> {
        self.sh.table(f, self.cache.as_deref(), counter)
    }

    /// Whether lookups keep and use each table's index and filter blocks
    /// (see [`Options::pin_table_meta`](super::Options::pin_table_meta)).
    pub fn pin_table_meta(&self) -> bool {
        self.sh.pin_meta.load(AtomicOrdering::Relaxed)
    }

    /// Keeps each open table's index and filter blocks with it from now on
    /// (`true`), or fetches them through the block cache on every use
    /// (`false`: every block under the cache's budget). Blocks tables
    /// already keep stay with them, unused, until the tables are deleted.
    pub fn set_pin_table_meta(&self, pin: bool) {
        self.sh.pin_meta.store(pin, AtomicOrdering::Relaxed);
    }

    /// Bytes of index and filter blocks the open tables keep (those of
    /// tables a compaction deleted count until no reader holds them), and
    /// the most they may keep.
    pub fn pinned_meta_bytes(&self) -> (u64, u64) {
        (self.sh.pins.used(), self.sh.pins.limit())
    }

    /// The value of `key`, as of `snapshot` (or now).
    pub fn get(&self, key: &[u8], snapshot: Option<&Snapshot>) -> Result<Option<Vec<u8>>> {
        let mut value = Vec::new();
        Ok(self.get_into(key, snapshot, &mut value)?.then_some(value))
    }

    /// The value of `key`, as of `snapshot` (or now), into `value` (cleared
    /// first; a caller that keeps the buffer reads without allocating):
    /// whether there is one.
    pub fn get_into(
        &self,
        key: &[u8],
        snapshot: Option<&Snapshot>,
        value: &mut Vec<u8>,
    ) -> Result<bool> {
        value.clear();
        let mut stats = LookupStats::default();
        self.get_visit(key, snapshot, &mut stats, &mut |v| {
            value.extend_from_slice(v)
        })
    }

    /// The value of `key`, as of `snapshot` (or now), with what finding it
    /// cost: the disk reads it really made, and where the answer was.
    pub fn get_with_stats(
        &self,
        key: &[u8],
        snapshot: Option<&Snapshot>,
    ) -> Result<(Option<Vec<u8>>, LookupStats)> {
        let (mut value, mut stats) = (Vec::new(), LookupStats::default());
        let found = self.get_visit(key, snapshot, &mut stats, &mut |v| {
            value.extend_from_slice(v)
        })?;
        Ok((found.then_some(value), stats))
    }

    /// A point lookup that hands the value to `visit` where it lies (in a
    /// block, the memtable or the point cache), so that the caller copies
    /// it once, where it wants it; true if there is a value. `stats` gets
    /// what the lookup cost and where the answer was.
    ///
    /// Generic over `visit` as far as the owner's memtable, so that a
    /// value found there (a key just written) reaches it without a call
    /// through a pointer (under TCG a lookup of its target, and another
    /// for the return); below, one `dyn` search serves every caller.
    #[inline]
    pub fn get_visit<F: FnMut(&[u8])>(
        &self,
        key: &[u8],
        snapshot: Option<&Snapshot>,
        stats: &mut LookupStats,
        visit: &mut F,
    ) -> Result<bool> {
        let seq = snapshot.map_or(self.last_seq, |s| s.seq);
        // The memtable is the owner's; what a job changes is read from one
        // view of it, taken after (see `shared`).
        if let Some(found) = mem_lookup(&self.mem, key, seq, stats, &mut *visit)? {
            return Ok(found);
        }
        let visit: &mut dyn FnMut(&[u8]) = visit;
        self.sh
            .with_current(|cur| self.get_below_mem(cur, key, seq, snapshot, stats, visit))
    }

    /// [`get_visit`](Self::get_visit) past the owner's memtable: the frozen
    /// memtable, the point cache, the tables of `cur`.
    fn get_below_mem(
        &self,
        cur: &Current,
        key: &[u8],
        seq: SequenceNumber,
        snapshot: Option<&Snapshot>,
        stats: &mut LookupStats,
        visit: &mut dyn FnMut(&[u8]),
    ) -> Result<bool> {
        if let Some(imm) = &cur.imm {
            if let Some(found) = mem_lookup(imm, key, seq, stats, visit)? {
                return Ok(found);
            }
        }
        let version = &cur.version;
        let counter = ReadCounter::default();
        // The point cache knows only the newest values.
        let points = self
            .points
            .as_deref()
            .filter(|p| snapshot.is_none() && p.active());
        if let Some(p) = points {
            match p.lookup(key) {
                PointHit::Kv(v) => {
                    stats.source = LookupSource::PointKv;
                    visit(&v);
                    return Ok(true);
                }
                PointHit::Kp(ptr) => {
                    let r = self.read_pointed(version, key, seq, ptr, &counter);
                    counter.fill(stats);
                    match r? {
                        Some(v) => {
                            p.promote(key, &v);
                            stats.source = LookupSource::PointKp;
                            stats.location = Some(ptr);
                            visit(&v);
                            return Ok(true);
                        }
                        // Not where the pointer said: a stale pointer is
                        // dropped, and the tree answers.
                        None => p.invalidate(key),
                    }
                }
                PointHit::Miss => {}
            }
        }
        let (mut stack, mut heap) = ([0u8; 64], Vec::new());
        let probe = internal_key_in(&mut stack, &mut heap, key, seq, ValueType::FOR_SEEK);
        // A cache callback that re-entered the store would find this core's
        // buffers taken and use new ones, not panic.
        let (mut mine, mut spare) = (self.bufs.try_mine(), None);
        let bufs = match mine.as_deref_mut() {
            Some(b) => b,
            None => spare.insert(LookupBufs::default()),
        };
        let mut found = Found {
            key,
            probe,
            counter: &counter,
            stats,
            points,
            visit,
        };
        let r = self.search_levels(version, &mut found, bufs);
        counter.fill(found.stats);
        r
    }

    /// A KP hit: the newest version of `key` in the one block `ptr` names,
    /// or `None` if it is not there (the table is gone, or the block does not
    /// hold a value of `key`).
    fn read_pointed(
        &self,
        version: &Version,
        key: &[u8],
        seq: SequenceNumber,
        ptr: BlockPointer,
        counter: &ReadCounter,
    ) -> Result<Option<Vec<u8>>> {
        let Some((_, f)) = version.files().find(|(_, f)| f.number == ptr.table) else {
            return Ok(None);
        };
        let t = self.table(f, Some(counter))?;
        let file = self.file(f, true, Some(counter));
        let h = BlockHandle {
            offset: ptr.offset,
            size: ptr.size,
        };
        let probe = internal_key(key, seq, ValueType::FOR_SEEK);
        // As in `get_visit`.
        let (mut mine, mut spare) = (self.bufs.try_mine(), None);
        let bufs = match mine.as_deref_mut() {
            Some(b) => b,
            None => spare.insert(LookupBufs::default()),
        };
        let r = t.get_in_block_with(&file, h, &probe, bufs, |k, v| {
            let p = parse_found(k, f.number)?;
            Ok((eq_bytes(p.user_key, key) && p.kind == ValueType::Value).then(|| v.to_vec()))
        });
        r?.transpose().map(Option::flatten)
    }

    /// The tree's answer for the lookup, level by level: whether it found a
    /// value (handed to the lookup's `visit` where it lies in its block).
    fn search_levels(
        &self,
        v: &Version,
        l: &mut Found<'_, '_>,
        bufs: &mut LookupBufs,
    ) -> Result<bool> {
        let key = l.key;
        // The first table probed, charged once if the lookup must look
        // further (LevelDB's `UpdateStats`).
        let mut first: Option<(usize, &FileMeta)> = None;
        let mut charged = false;
        let probe = Probe::new(&Ikc::default(), l.probe);
        // Tables are read through their pinned index and filter blocks:
        // a table whose filter rules the key out needs nothing more (with
        // pinning off, the filter comes from the cache, which counts it).
        let pinned = self.sh.pins().is_some();
        let abbr = bytewise_prefix(key);
        for (level, files) in v.levels.iter().enumerate() {
            let candidates = if level == 0 {
                0..files.len()
            } else {
                let i = v.find_in_level(level, l.probe);
                i..(i + 1).min(files.len())
            };
            for i in candidates {
                let f = &files[i];
                // Past a sorted level's search, only its smallest key is
                // left to check.
                if !v.covers(level, i, key, abbr, level == 0) {
                    continue;
                }
                match first {
                    None => first = Some((level, f)),
                    Some((at, g)) if !charged => {
                        charged = true;
                        if g.allowed_seeks.charge() {
                            self.sh.ask_seek(at, g.number);
                        }
                    }
                    Some(_) => {}
                }
                let t = self.table(f, Some(l.counter))?;
                l.stats.tables_probed += 1;
                let probe = match pinned.then(|| t.pinned_filter(&probe)).flatten() {
                    Some(false) => continue,
                    Some(true) => probe.past_filter(),
                    None => probe,
                };
                let file = self.file(f, true, Some(l.counter));
                let found = t.get_probe(&file, &probe, bufs, |k, value, h| -> Result<_> {
                    let p = parse_found(k, f.number)?;
                    if !eq_bytes(p.user_key, key) {
                        return Ok(None);
                    }
                    let ptr = BlockPointer {
                        level: level as u8,
                        table: f.number,
                        offset: h.offset,
                        size: h.size,
                    };
                    l.stats.source = LookupSource::Table;
                    l.stats.location = Some(ptr);
                    Ok(Some(match p.kind {
                        ValueType::Value => {
                            if let Some(points) = l.points {
                                // Every block this lookup needed is read by now.
                                l.counter.fill(l.stats);
                                points.insert(key, value, ptr, l.stats);
                            }
                            (l.visit)(value);
                            true
                        }
                        ValueType::Deletion => false,
                    }))
                })?;
                if let Some(found) = found.transpose()?.flatten() {
                    return Ok(found);
                }
            }
        }
        Ok(false)
    }

    /// A snapshot of the store as it is now.
    pub fn snapshot(&mut self) -> Snapshot {
        *self
            .sh
            .state
            .lock()
            .snapshots
            .entry(self.last_seq)
            .or_insert(0) += 1;
        Snapshot { seq: self.last_seq }
    }

    /// Releases a snapshot.
    pub fn release_snapshot(&mut self, s: Snapshot) {
        let snapshots = &mut self.sh.state.lock().snapshots;
        if let Some(n) = snapshots.get_mut(&s.seq) {
            *n -= 1;
            if *n == 0 {
                snapshots.remove(&s.seq);
            }
        }
    }

    /// A cursor over user keys and values as of `snapshot` (or now).
    pub fn iter(&self, snapshot: Option<&Snapshot>) -> Result<DbIter<'_, D>> {
        use iter::Source;
        let seq = snapshot.map_or(self.last_seq, |s| s.seq);
        let cur = self.sh.current();
        let mut children: Vec<Source<'_, D>> = Vec::new();
        children.push(Source::Mem(self.mem.shared_iter()));
        if let Some(imm) = &cur.imm {
            children.push(Source::Mem(imm.shared_iter()));
        }
        for (level, files) in cur.version.levels.iter().enumerate() {
            if level == 0 {
                for f in files {
                    let t = self.table(f, None)?;
                    children.push(Source::Table(t.iter(self.file_held(f, true))));
                }
            } else if !files.is_empty() {
                children.push(Source::Level(iter::LevelIter::new(self, files.clone())));
            }
        }
        // The cursor holds the view, so that the tables it reads keep their
        // space while a job deletes them.
        Ok(DbIter::new(
            MergingIter::new(Ikc::default(), children),
            seq,
            cur,
        ))
    }

    /// Up to `limit` pairs with `start <= key < end` (`end` `None`:
    /// unbounded), as of `snapshot` (or now).
    pub fn range(
        &self,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
        snapshot: Option<&Snapshot>,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut it = self.iter(snapshot)?;
        it.seek(start)?;
        let mut out = Vec::new();
        while it.valid() && out.len() < limit {
            if end.is_some_and(|e| it.key() >= e) {
                break;
            }
            out.push((it.key().to_vec(), it.value().to_vec()));
            it.next()?;
        }
        Ok(out)
    }
}

/// A point lookup in the tables: what it looks for, what it has cost so
/// far, and where its value goes.
struct Found<'a, 'v> {
    key: &'a [u8],
    /// `key` as an internal key at the lookup's sequence number.
    probe: &'a [u8],
    counter: &'a ReadCounter,
    stats: &'a mut LookupStats,
    points: Option<&'a (dyn PointCache + Send + Sync)>,
    visit: &'a mut (dyn FnMut(&[u8]) + 'v),
}

/// The internal key a table lookup returned, parsed.
fn parse_found(k: &[u8], table: u64) -> Result<ParsedInternalKey<'_>> {
    ParsedInternalKey::parse_at(k, "").map_err(|e| e.within(&format!("table {table}")))
}

/// A memtable's answer for `key` at `seq`: whether there is a value (handed
/// to `visit`), or `None` if the memtable has no write of it. Inlined
/// always: once per memtable per lookup, and small.
#[inline(always)]
fn mem_lookup<F: FnMut(&[u8]) + ?Sized>(
    mem: &MemTable,
    key: &[u8],
    seq: SequenceNumber,
    stats: &mut LookupStats,
    visit: &mut F,
) -> Result<Option<bool>> {
    let found = match mem.get_with(key, seq, &mut *visit)? {
        Lookup::Found(()) => true,
        Lookup::Deleted => false,
        Lookup::Missing => return Ok(None),
    };
    stats.source = LookupSource::Memtable;
    Ok(Some(found))
}

impl<D: BlockDevice> Shared<D> {
    /// The bytes of table `f`, read through `cache`, counting reads in
    /// `counter`.
    #[inline]
    pub(super) fn file<'a>(
        &'a self,
        f: &'a FileMeta,
        cache: Option<&'a (dyn BlockCache + Send + Sync)>,
        counter: Option<&'a ReadCounter>,
    ) -> TableFile<'a, D> {
        TableFile {
            disk: &self.disk,
            number: f.number,
            extents: Extents::Borrowed(&f.extents),
            size: f.size,
            cache,
            counter,
            pins: self.pins(),
            peek: false,
        }
    }

    /// The open table of `f`: its footer, remembered or read (through
    /// `cache`) and checked. The footer is read without the lock. Inlined
    /// down to the remembered case: a lookup asks this of every table it
    /// passes, and under TCG a call's return is a lookup of its target.
    #[inline]
    pub(super) fn table<'f>(
        &self,
        f: &'f FileMeta,
        cache: Option<&(dyn BlockCache + Send + Sync)>,
        counter: Option<&ReadCounter>,
    ) -> Result<&'f Table<Ikc>> {
        match f.opened.get() {
            Some(t) => Ok(t),
            None => self.open_table(f, cache, counter),
        }
    }

    #[cold]
    #[inline(never)]
    fn open_table<'f>(
        &self,
        f: &'f FileMeta,
        cache: Option<&(dyn BlockCache + Send + Sync)>,
        counter: Option<&ReadCounter>,
    ) -> Result<&'f Table<Ikc>> {
        let file = self.file(f, cache, counter);
        let t = Table::open(&file, f.number, f.size, Ikc::default())?;
        Ok(f.opened.set(t))
    }
}

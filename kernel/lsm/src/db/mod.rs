//! The store: a LevelDB-style LSM tree that owns a whole block device.
//!
//! ```text
//!   disk: [superblock x2][manifest half 0|1][WAL half 0|1][table region ...]
//!
//!   write -> WAL record (log N, half N % 2) -> memtable
//!   memtable full -> immutable, new log N+1 -> flushed to a level-0 table
//!   level 0 has too many tables / level i too many bytes -> compaction
//!   every change of the live tables: one manifest record, after the tables
//!   it names are durable
//! ```
//!
//! What makes a crash at any point safe:
//! - a write is acknowledged (with `sync`) only after its WAL record is
//!   written and the device flushed;
//! - a table is durable (device flush) before the manifest record that adds it
//!   is written, and that record is the commit point; a torn record at the
//!   manifest's tail is dropped at recovery, so the change did not happen;
//! - a table's extent is reused only after the record that deleted it is
//!   durable;
//! - a log is never appended to after a crash: recovery saves its content in
//!   a table and starts the next log number, and starts a new manifest the
//!   same way, switching to it through the two superblock slots.
//!
//! [`Db::open_read_only`] stops short of that saving: it replays the WAL into
//! memory and refuses every change, so it never writes to the device.
//!
//! The store is single-threaded (`&mut self` for changes); the kernel wraps it
//! in a lock. Group commit: writers append with `sync = false` and one of them
//! calls [`Db::sync_wal`], which makes all of them durable with one flush.

mod batch;
mod disk;
pub mod inspect;
mod iter;
mod lookup;
mod stop;
mod superblock;
mod version;

pub use crate::table::BlockKind;
pub use batch::WriteBatch;
pub use disk::{BlockCache, ExtentAllocator, IoStats};
pub use iter::DbIter;
pub use lookup::{BlockPointer, LookupSource, LookupStats, PointCache, PointHit};
pub use superblock::{Layout, Superblock, FORMAT_VERSION, MAGIC};
pub use version::{FileMeta, Version, VersionEdit, NUM_LEVELS};

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::cmp::Ordering;

use crate::comparator::{compare_bytes, eq_bytes, Comparator};
use crate::device::BlockDevice;
use crate::error::{Corruption, CorruptionKind, Error, Result};
use crate::iter::KvIter;
use crate::key::{
    internal_key, user_key, InternalKeyComparator, ParsedInternalKey, SequenceNumber, ValueType,
    MAX_SEQUENCE,
};
use crate::memtable::{Lookup, MemTable};
use crate::merge::MergingIter;
use crate::table::{BlockHandle, LookupBufs, Table, TableBuilder, TableOptions};
use crate::wal::{LogEnd, LogReader, LogWriter};
use disk::{round_up, Disk, DiskRef, ReadCounter, TableFile};
use stop::Stop;

type Ikc = InternalKeyComparator;

/// How the store behaves. Layout-affecting fields apply only when a disk is
/// formatted; afterwards the superblock's layout rules.
#[derive(Debug, Clone)]
pub struct Options {
    /// Format a blank (all-zero superblock area) disk.
    pub create_if_missing: bool,
    /// Memtable bytes before it is frozen and flushed.
    pub write_buffer_size: usize,
    /// Target size of the tables compaction writes.
    pub table_size: u64,
    /// Shape of tables.
    pub table: TableOptions,
    /// Level-0 tables that trigger a compaction.
    pub l0_compaction_trigger: usize,
    /// Bytes level 1 may hold; each deeper level holds `level_ratio` times more.
    pub l1_max_bytes: u64,
    /// Size ratio between adjacent levels.
    pub level_ratio: u64,
    /// Most bytes of lower-level tables one compaction slice takes (as
    /// RocksDB's `max_compaction_bytes`); 0 leaves it to the free space
    /// alone (a quarter of it).
    pub max_compaction_bytes: u64,
    /// Size of one WAL half at format time (0: scaled to the disk).
    pub wal_half_bytes: u64,
    /// Largest key accepted.
    pub max_key_len: usize,
    /// Largest value accepted.
    pub max_value_len: usize,
    /// Flush frozen memtables and compact inside the write that needs it. With
    /// `false`, the owner calls [`Db::maintenance`] (from another core or a
    /// timer); a write that needs room still flushes a pending frozen memtable
    /// itself.
    pub inline_maintenance: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            create_if_missing: true,
            write_buffer_size: 4 << 20,
            table_size: 2 << 20,
            table: TableOptions::default(),
            l0_compaction_trigger: 4,
            l1_max_bytes: 10 << 20,
            level_ratio: 10,
            max_compaction_bytes: 0,
            wal_half_bytes: 0,
            max_key_len: 1024,
            max_value_len: 1 << 20,
            inline_maintenance: true,
        }
    }
}

impl Options {
    /// The options for a disk of `capacity` bytes, so that everything that
    /// formats a disk (the kernel, host tools) formats it alike.
    ///
    /// LevelDB's sizes (4 MiB memtable, 2 MiB tables) suit big disks; on a
    /// small one they would leave no room for a compaction's output next to
    /// its input, so memtable and tables shrink with the disk (about 1/128
    /// of it, at least 64 KiB), and level 1 holds five tables.
    pub fn for_disk(capacity: u64) -> Options {
        let mut o = Options::default();
        let table = (capacity / 128).clamp(64 << 10, o.table_size);
        o.table_size = table;
        o.write_buffer_size = (table * 2).min(o.write_buffer_size as u64) as usize;
        o.l1_max_bytes = table * 5;
        o
    }
}

/// What [`Db::open`] found and did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpenReport {
    /// The disk was blank and has been formatted.
    pub formatted: bool,
    /// WAL records replayed.
    pub wal_records: u64,
    /// Bytes at the WAL's tail that were dropped: a write torn by a crash,
    /// never acknowledged as durable, or damage.
    pub wal_dropped_bytes: u64,
    /// The WAL ended in a torn or damaged record rather than cleanly.
    pub wal_torn: bool,
    /// The manifest ended in a torn record (an uncommitted change, ignored).
    pub manifest_torn: bool,
    /// Live tables.
    pub tables: usize,
    /// Last sequence number after recovery.
    pub last_sequence: SequenceNumber,
}

/// Counters for `INFO storage`.
#[derive(Debug, Clone, Default)]
pub struct DbStats {
    /// (tables, bytes) per level.
    pub levels: [(usize, u64); NUM_LEVELS],
    /// Memory of the active memtable.
    pub memtable_bytes: usize,
    /// Memory of the frozen memtable, if any.
    pub immutable_bytes: usize,
    /// Bytes of the current WAL.
    pub wal_bytes: u64,
    /// Device size.
    pub capacity: u64,
    /// Size of the table region.
    pub table_region_bytes: u64,
    /// Free bytes in the table region.
    pub table_free_bytes: u64,
    /// Free table space that writes adding data may not use (kept for
    /// deletes and the compactions that free space).
    pub table_reserve_bytes: u64,
    /// Device I/O so far.
    pub io: IoStats,
    /// Memtables flushed to level 0.
    pub flushes: u64,
    /// Compactions done (trivial moves included).
    pub compactions: u64,
    /// Compactions put off because the disk had no room for their output.
    pub compactions_put_off: u64,
    /// Key and value bytes written by users.
    pub user_bytes: u64,
    /// Bytes of tables written by flushes and compactions.
    pub table_bytes_written: u64,
    /// Last sequence number.
    pub last_sequence: SequenceNumber,
}

impl DbStats {
    /// Device bytes written per user byte (WAL, tables, manifest), or 0
    /// before any write.
    pub fn write_amplification(&self) -> f64 {
        if self.user_bytes == 0 {
            0.0
        } else {
            self.io.write_bytes as f64 / self.user_bytes as f64
        }
    }
}

/// What [`Db::verify`] found.
#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    /// Tables read.
    pub tables: usize,
    /// Entries read.
    pub entries: u64,
    /// Every problem found, each naming what is damaged.
    pub errors: Vec<Error>,
    /// The stop hook ended the check early: the counts are of what was
    /// read until then (the last table counted in part).
    pub interrupted: bool,
}

/// A consistent view of the store at one sequence number; release it with
/// [`Db::release_snapshot`] so compaction may drop what only it could see.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    seq: SequenceNumber,
}

impl Snapshot {
    /// The last write the snapshot sees.
    pub fn sequence(&self) -> SequenceNumber {
        self.seq
    }
}

struct Compaction {
    level: usize,
    inputs: [Vec<Arc<FileMeta>>; 2],
    /// Merge even a lone table, so its tombstones and old versions go.
    force_merge: bool,
}

/// The store.
pub struct Db<D: BlockDevice> {
    disk: Disk<D>,
    opts: Options,
    sb: Superblock,
    manifest: LogWriter,
    version: Arc<Version>,
    next_file: u64,
    last_seq: SequenceNumber,
    /// Oldest log still needed: its memtable is not in a table yet.
    log_number: u64,
    wal: LogWriter,
    mem: Arc<MemTable>,
    imm: Option<Arc<MemTable>>,
    alloc: ExtentAllocator,
    /// Open tables: what their footers say (a few words each, one entry per
    /// live table); their blocks go through `cache`.
    tables: RefCell<BTreeMap<u64, Table<Ikc>>>,
    /// Key buffers of point lookups, reused so that a lookup allocates only
    /// its answer.
    bufs: RefCell<LookupBufs>,
    cache: Option<Arc<dyn BlockCache + Send + Sync>>,
    points: Option<Arc<dyn PointCache + Send + Sync>>,
    snapshots: BTreeMap<SequenceNumber, usize>,
    compact_pointers: [Vec<u8>; NUM_LEVELS],
    /// A failed WAL or manifest write leaves the on-disk state unknown: every
    /// later change is refused with this error until the store is reopened.
    fatal: Option<Error>,
    /// Opened by [`Db::open_read_only`]: every change is refused.
    read_only: bool,
    stats: DbStats,
}

fn log_u32(n: u64) -> Result<u32> {
    u32::try_from(n).map_err(|_| Error::InvalidArgument("log numbers exhausted"))
}

impl<D: BlockDevice> Db<D> {
    /// Mounts the store on `dev`: formats a blank disk (if asked), refuses a
    /// foreign one without writing to it, recovers from the manifest and the
    /// WAL, and starts a new log and manifest.
    pub fn open(dev: D, opts: Options) -> Result<(Self, OpenReport)> {
        let disk = Disk::new(dev);
        let mut report = OpenReport::default();
        let sb = match Self::read_superblock(&disk)? {
            Some(sb) => sb,
            None => {
                if !opts.create_if_missing {
                    return Err(Error::Unformatted);
                }
                report.formatted = true;
                Self::format(&disk, &opts)?
            }
        };
        Self::recover(disk, opts, sb, report)
    }

    /// Mounts the store on `dev` without ever writing to it (a tool
    /// inspecting a disk, or one that must not change): the tables the
    /// manifest names and the WAL's records replayed into the memtable, as
    /// [`open`](Self::open) would find them, but nothing saved and no new
    /// log or manifest started. A blank disk is refused with
    /// [`Error::Unformatted`], others as `open` refuses them; every change
    /// is refused with [`Error::ReadOnly`], and [`close`](Self::close)
    /// neither writes nor flushes.
    pub fn open_read_only(dev: D, opts: Options) -> Result<(Self, OpenReport)> {
        let disk = Disk::new(dev);
        let sb = Self::read_superblock(&disk)?.ok_or(Error::Unformatted)?;
        let (mut db, report) = Self::load(disk, opts, sb, OpenReport::default())?;
        db.read_only = true;
        Ok((db, report))
    }

    /// The superblock to mount, or `None` if the disk is blank; a disk
    /// that holds something else is refused (see [`superblock::choose`]).
    fn read_superblock(disk: &Disk<D>) -> Result<Option<Superblock>> {
        let capacity = disk.capacity();
        if capacity < superblock::SUPERBLOCK_AREA {
            return Err(Error::InvalidArgument("disk too small for a store"));
        }
        let mut area = Superblock::empty_area();
        disk.read(0, &mut area)?;
        let sb = superblock::choose(&area)?;
        if sb.is_some_and(|sb| sb.layout.capacity > capacity) {
            return Err(Corruption::at(
                "superblock",
                CorruptionKind::Malformed("layout larger than the disk"),
            )
            .into());
        }
        Ok(sb)
    }

    fn format(disk: &Disk<D>, opts: &Options) -> Result<Superblock> {
        let layout = Layout::for_capacity(disk.capacity(), opts.wal_half_bytes)
            .ok_or(Error::InvalidArgument("disk too small for a store"))?;
        let mut w = LogWriter::new(layout.manifest_region(0), 1)?;
        let edit = VersionEdit {
            log_number: Some(1),
            next_file_number: Some(1),
            last_sequence: Some(0),
            ..VersionEdit::default()
        };
        w.append(&mut DiskRef(disk), &edit.encode())?;
        w.sync(&mut DiskRef(disk))?;
        let sb = Superblock {
            generation: 1,
            layout,
            manifest_half: 0,
            manifest_log: 1,
        };
        disk.write(sb.slot_offset(), &sb.encode())?;
        disk.flush()?;
        Ok(sb)
    }

    /// Recovers the store [`load`](Self::load) finds: saves what the WAL
    /// held in a table, then starts a new log and a new manifest.
    fn recover(
        disk: Disk<D>,
        opts: Options,
        sb: Superblock,
        report: OpenReport,
    ) -> Result<(Self, OpenReport)> {
        let (mut db, mut report) = Self::load(disk, opts, sb, report)?;
        let write_buffer = db.opts.write_buffer_size;
        // Save what was replayed in a table, then start afresh: a new log
        // number (never appended to a log that may have a torn tail) and a
        // new manifest.
        let new_log = db.log_number + 2;
        let mut edit = VersionEdit::default();
        if !db.mem.is_empty() {
            let mem =
                core::mem::replace(&mut db.mem, Arc::new(MemTable::with_capacity(write_buffer)));
            for meta in db.write_level0(&mem, &mut Stop::never())? {
                edit.added.push((0, meta));
            }
        }
        let version = db.version.apply(&edit)?;
        db.disk.flush()?;
        db.log_number = new_log;
        db.write_new_manifest(&version)?;
        db.version = Arc::new(version);
        db.wal = LogWriter::new(sb.layout.wal_region(new_log), log_u32(new_log)?)?;
        report.tables = db.version.files().count();
        Ok((db, report))
    }

    /// The store as the disk holds it, read without a write: the live
    /// tables from the manifest, and the records of the logs still needed
    /// replayed into the memtable.
    fn load(
        disk: Disk<D>,
        opts: Options,
        sb: Superblock,
        mut report: OpenReport,
    ) -> Result<(Self, OpenReport)> {
        let layout = sb.layout;
        // The manifest: a snapshot record, then edits.
        let mut reader = LogReader::new(layout.manifest_region(sb.manifest_half), sb.manifest_log)?;
        let mut version = Version::default();
        let (mut log_number, mut next_file, mut last_seq) = (None, None, None);
        let mut compact_pointers: [Vec<u8>; NUM_LEVELS] = Default::default();
        let mut records = 0;
        while let Some(rec) = reader.next_record(&mut DiskRef(&disk))? {
            let edit = VersionEdit::decode(&rec)?;
            version = version.apply(&edit)?;
            log_number = edit.log_number.or(log_number);
            next_file = edit.next_file_number.or(next_file);
            last_seq = edit.last_sequence.or(last_seq);
            for (level, key) in edit.compact_pointers {
                compact_pointers[level] = key;
            }
            records += 1;
        }
        report.manifest_torn = reader.end() == Some(LogEnd::Torn);
        let (Some(log_number), Some(next_file), Some(last_seq)) = (log_number, next_file, last_seq)
        else {
            let kind = if records == 0 {
                CorruptionKind::Truncated
            } else {
                CorruptionKind::Malformed("snapshot record")
            };
            return Err(Corruption::at("manifest", kind).into());
        };
        let alloc = ExtentAllocator::for_version(&layout, &version)?;
        let capacity = disk.capacity();
        let write_buffer = opts.write_buffer_size;
        let mut db = Self {
            disk,
            opts,
            sb,
            // Replaced by a fresh manifest when recovered; never used.
            manifest: LogWriter::new(
                layout.manifest_region(sb.manifest_half),
                sb.manifest_log.max(1),
            )?,
            version: Arc::new(version),
            next_file,
            last_seq,
            log_number,
            wal: LogWriter::new(layout.wal_region(log_number), log_u32(log_number)?.max(1))?,
            mem: Arc::new(MemTable::with_capacity(write_buffer)),
            imm: None,
            alloc,
            tables: RefCell::new(BTreeMap::new()),
            bufs: RefCell::new(LookupBufs::default()),
            cache: None,
            points: None,
            snapshots: BTreeMap::new(),
            compact_pointers,
            fatal: None,
            read_only: false,
            stats: DbStats {
                capacity,
                table_region_bytes: layout.table_len,
                ..DbStats::default()
            },
        };
        // The logs still needed, oldest first.
        for number in [log_number, log_number + 1] {
            let mut r = LogReader::new(layout.wal_region(number), log_u32(number)?)?;
            while let Some(rec) = r.next_record(&mut DiskRef(&db.disk))? {
                let batch = WriteBatch::from_contents(rec)
                    .map_err(|e| e.within(&format!("WAL log {number}")))?;
                let mem = &db.mem;
                batch.for_each(|seq, kind, key, value| mem.add(seq, kind, key, value))?;
                let last = batch.sequence() + u64::from(batch.count()).saturating_sub(1);
                db.last_seq = db.last_seq.max(last);
                report.wal_records += 1;
            }
            report.wal_dropped_bytes += r.dropped_bytes();
            report.wal_torn |= r.end() == Some(LogEnd::Torn);
        }
        report.tables = db.version.files().count();
        report.last_sequence = db.last_seq;
        Ok((db, report))
    }

    /// Writes `version` as the first record of a new manifest in the other
    /// half, then points the superblock at it.
    fn write_new_manifest(&mut self, version: &Version) -> Result<()> {
        let half = self.sb.manifest_half ^ 1;
        let number = self
            .sb
            .manifest_log
            .checked_add(1)
            .ok_or(Error::InvalidArgument("manifest numbers exhausted"))?;
        let mut w = LogWriter::new(self.sb.layout.manifest_region(half), number)?;
        let mut edit = version.snapshot_edit();
        edit.log_number = Some(self.log_number);
        edit.next_file_number = Some(self.next_file);
        edit.last_sequence = Some(self.last_seq);
        edit.compact_pointers = self
            .compact_pointers
            .iter()
            .enumerate()
            .filter(|(_, k)| !k.is_empty())
            .map(|(l, k)| (l, k.clone()))
            .collect();
        let rec = edit.encode();
        if w.cost(rec.len()) > self.sb.layout.manifest_half {
            return Err(Error::NoSpace {
                region: "manifest region",
                needed: rec.len() as u64,
            });
        }
        w.append(&mut DiskRef(&self.disk), &rec)?;
        w.sync(&mut DiskRef(&self.disk))?;
        let sb = Superblock {
            generation: self.sb.generation + 1,
            manifest_half: half,
            manifest_log: number,
            ..self.sb
        };
        self.disk.write(sb.slot_offset(), &sb.encode())?;
        self.disk.flush()?;
        self.sb = sb;
        self.manifest = w;
        Ok(())
    }

    /// Commits `edit`: the tables it adds must already be written. Durable
    /// when this returns; the extents of the tables it deletes are reused.
    fn log_and_apply(&mut self, mut edit: VersionEdit) -> Result<()> {
        edit.log_number = Some(self.log_number);
        edit.next_file_number = Some(self.next_file);
        edit.last_sequence = Some(self.last_seq);
        let version = self.version.apply(&edit)?;
        let r = self.commit(&edit, &version);
        if let Err(e) = r {
            self.fatal = Some(e.clone());
            return Err(e);
        }
        let mut gone: Vec<u64> = Vec::new();
        let mut moved: Vec<(u64, u8)> = Vec::new();
        for &(level, number) in &edit.deleted {
            if let Some((to, _)) = edit.added.iter().find(|(_, f)| f.number == number) {
                // Moved to another level, not deleted.
                moved.push((number, *to as u8));
                continue;
            }
            gone.push(number);
            if let Some(f) = self.version.levels[level]
                .iter()
                .find(|f| f.number == number)
            {
                self.alloc.release_extents(&f.extents);
            }
            self.tables.borrow_mut().remove(&number);
            if let Some(c) = &self.cache {
                c.erase_table(number);
            }
        }
        if let Some(p) = &self.points {
            if !gone.is_empty() || !moved.is_empty() {
                // A pointer into a deleted table would read a dead block (or
                // another table's, once the extent is reused): drop it. A
                // moved table keeps its number and blocks: re-aim the level.
                p.retain_pointers(&mut |_, ptr| {
                    if gone.contains(&ptr.table) {
                        return false;
                    }
                    if let Some(&(_, to)) = moved.iter().find(|(n, _)| *n == ptr.table) {
                        ptr.level = to;
                    }
                    true
                });
            }
        }
        self.version = Arc::new(version);
        Ok(())
    }

    fn commit(&mut self, edit: &VersionEdit, version: &Version) -> Result<()> {
        // The tables the edit names are durable before the edit is.
        self.disk.flush()?;
        let rec = edit.encode();
        match self.manifest.append(&mut DiskRef(&self.disk), &rec) {
            Ok(()) => self.manifest.sync(&mut DiskRef(&self.disk)),
            Err(Error::NoSpace { .. }) => self.write_new_manifest(version),
            Err(e) => Err(e),
        }
    }

    fn check_writable(&self) -> Result<()> {
        if self.read_only {
            return Err(Error::ReadOnly);
        }
        match &self.fatal {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Sets `key` to `value`; durable when this returns if `sync`.
    pub fn put(&mut self, key: &[u8], value: &[u8], sync: bool) -> Result<()> {
        let mut b = WriteBatch::new();
        b.put(key, value);
        self.write(b, sync)
    }

    /// Deletes `key`; durable when this returns if `sync`.
    pub fn delete(&mut self, key: &[u8], sync: bool) -> Result<()> {
        let mut b = WriteBatch::new();
        b.delete(key);
        self.write(b, sync)
    }

    /// Applies `batch` atomically; durable when this returns if `sync`.
    pub fn write(&mut self, mut batch: WriteBatch, sync: bool) -> Result<()> {
        self.check_writable()?;
        let (max_key, max_value) = (self.opts.max_key_len, self.opts.max_value_len);
        let mut user_bytes = 0u64;
        let mut puts = false;
        batch.for_each(|_, kind, k, v| {
            puts |= kind == ValueType::Value;
            if k.len() > max_key {
                return Err(Error::InvalidArgument("key too long"));
            }
            if v.len() > max_value {
                return Err(Error::InvalidArgument("value too long"));
            }
            user_bytes += (k.len() + v.len()) as u64;
            Ok(())
        })?;
        if batch.count() == 0 {
            return Ok(());
        }
        if puts {
            self.check_space_for_puts(batch.size())?;
        }
        self.make_room(batch.size())?;
        let seq = self.last_seq + 1;
        batch.set_sequence(seq);
        let mut wal_result = self.wal.append(&mut DiskRef(&self.disk), batch.contents());
        if wal_result.is_ok() && sync {
            wal_result = self.wal.sync(&mut DiskRef(&self.disk));
        }
        if let Err(e) = wal_result {
            if !matches!(e, Error::NoSpace { .. }) {
                self.fatal = Some(e.clone());
            }
            return Err(e);
        }
        let mem = &self.mem;
        let points = self.points.as_deref();
        batch.for_each(|s, kind, k, v| {
            if let Some(p) = points {
                p.invalidate(k);
            }
            mem.add(s, kind, k, v)
        })?;
        self.last_seq += u64::from(batch.count());
        self.stats.user_bytes += user_bytes;
        Ok(())
    }

    /// Refuses a write that adds data once the table region, less what the
    /// memtables will take when flushed, is down to the reserve. Deletes and
    /// the compactions they make worthwhile may use the reserve: without it a
    /// full disk could not even flush the tombstones that would free it.
    fn check_space_for_puts(&self, batch_bytes: usize) -> Result<()> {
        let pending = self.mem.approximate_memory_usage()
            + self
                .imm
                .as_ref()
                .map_or(0, |m| m.approximate_memory_usage())
            + batch_bytes;
        let needed = pending as u64 + self.space_reserve();
        if self.alloc.free_bytes() < needed {
            return Err(Error::NoSpace {
                region: "table region (the rest is kept for deletes and compaction)",
                needed: pending as u64,
            });
        }
        Ok(())
    }

    /// Table space kept back from writes that add data: enough for a
    /// level-0 compaction (its inputs stay until its last slice commits)
    /// and a few tables more, at most an eighth of the region.
    pub fn space_reserve(&self) -> u64 {
        let level0 = self.opts.l0_compaction_trigger as u64 * self.opts.write_buffer_size as u64;
        (level0 + 4 * self.opts.table_size).min(self.sb.layout.table_len / 8)
    }

    /// Makes every write so far durable with one flush (group commit).
    pub fn sync_wal(&mut self) -> Result<()> {
        self.check_writable()?;
        let r = self.wal.sync(&mut DiskRef(&self.disk));
        if let Err(e) = &r {
            self.fatal = Some(e.clone());
        }
        r
    }

    /// Writes buffered WAL records to the device without a flush, so that
    /// they reach the disk within the owner's timer period (`sync = 0`).
    pub fn write_out_wal(&mut self) -> Result<()> {
        self.check_writable()?;
        self.wal.write_out(&mut DiskRef(&self.disk))
    }

    /// Ensures the memtable and WAL can take `size` more bytes, freezing the
    /// memtable (and flushing a frozen one) if they cannot.
    fn make_room(&mut self, size: usize) -> Result<()> {
        let wal_fits = self.wal.len() + self.wal.cost(size) <= self.sb.layout.wal_half;
        if wal_fits && self.mem.approximate_memory_usage() < self.opts.write_buffer_size {
            return Ok(());
        }
        if self.mem.is_empty() {
            if wal_fits {
                return Ok(());
            }
            return Err(Error::InvalidArgument("write larger than the WAL"));
        }
        self.rotate(&mut Stop::never())?;
        if self.opts.inline_maintenance {
            self.maintenance()?;
        }
        Ok(())
    }

    /// Freezes the memtable and starts the next log.
    fn rotate(&mut self, stop: &mut Stop<'_>) -> Result<()> {
        if self.imm.is_some() {
            // The next log's half still holds the frozen memtable's log.
            self.flush_imm_reclaiming(stop)?;
        }
        self.sync_wal()?;
        let number = u64::from(self.wal.log_number()) + 1;
        let wal = LogWriter::new(self.sb.layout.wal_region(number), log_u32(number)?)?;
        self.wal = wal;
        let old = core::mem::replace(
            &mut self.mem,
            Arc::new(MemTable::with_capacity(self.opts.write_buffer_size)),
        );
        self.imm = Some(old);
        Ok(())
    }

    /// Flushes a frozen memtable and runs compactions until none is due.
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
        while let Some(c) = self.pick_compaction() {
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
    fn flush_imm_reclaiming(&mut self, stop: &mut Stop<'_>) -> Result<()> {
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
    fn write_level0(&mut self, mem: &MemTable, stop: &mut Stop<'_>) -> Result<Vec<FileMeta>> {
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

    fn max_bytes_for_level(&self, level: usize) -> u64 {
        let mut b = self.opts.l1_max_bytes;
        for _ in 1..level {
            b = b.saturating_mul(self.opts.level_ratio);
        }
        b
    }

    fn pick_compaction(&self) -> Option<Compaction> {
        let v = &self.version;
        let mut best = (0usize, 0.0f64);
        for level in 0..NUM_LEVELS - 1 {
            let score = if level == 0 {
                v.levels[0].len() as f64 / self.opts.l0_compaction_trigger.max(1) as f64
            } else {
                v.level_bytes(level) as f64 / self.max_bytes_for_level(level) as f64
            };
            if score > best.1 {
                best = (level, score);
            }
        }
        let (level, score) = best;
        if score < 1.0 {
            return None;
        }
        Some(self.compaction_for(level, None))
    }

    /// The compaction of `level` starting at its compaction pointer; with
    /// `range` (user keys), of every table of `level` meeting it.
    fn compaction_for(&self, level: usize, range: Option<(&[u8], &[u8])>) -> Compaction {
        let v = &self.version;
        let cmp = Ikc::default();
        let inputs0: Vec<Arc<FileMeta>> = if let Some((a, b)) = range {
            v.overlapping(level, Some(a), Some(b))
        } else if level == 0 {
            // Level-0 tables overlap: take them all, so no newer version of a
            // key stays behind in level 0 while an older one moves down.
            v.levels[0].clone()
        } else {
            let ptr = &self.compact_pointers[level];
            let pick = v.levels[level]
                .iter()
                .find(|f| {
                    ptr.is_empty() || cmp.compare(&f.largest, ptr) == core::cmp::Ordering::Greater
                })
                .or_else(|| v.levels[level].first());
            pick.cloned().into_iter().collect()
        };
        let lo = inputs0.iter().map(|f| user_key(&f.smallest)).min();
        let hi = inputs0.iter().map(|f| user_key(&f.largest)).max();
        let inputs1 = match (lo, hi) {
            (Some(lo), Some(hi)) => v.overlapping(level + 1, Some(lo), Some(hi)),
            _ => Vec::new(),
        };
        Compaction {
            level,
            inputs: [inputs0, inputs1],
            force_merge: false,
        }
    }

    fn run_compaction(&mut self, c: Compaction, stop: &mut Stop<'_>) -> Result<()> {
        self.check_writable()?;
        let level = c.level;
        let out_level = level + 1;
        let pointer = c.inputs[0]
            .iter()
            .map(|f| &f.largest)
            .max_by(|a, b| Ikc::default().compare(a, b))
            .cloned();
        if c.inputs[0].len() == 1 && c.inputs[1].is_empty() && !c.force_merge {
            // Trivial move: nothing to merge with.
            stop.check()?;
            let mut edit = VersionEdit::default();
            edit.deleted.push((level, c.inputs[0][0].number));
            edit.added
                .push((out_level, FileMeta::clone(&c.inputs[0][0])));
            if let Some(p) = pointer {
                edit.compact_pointers.push((level, p.clone()));
                self.compact_pointers[level] = p;
            }
            self.log_and_apply(edit)?;
            self.stats.compactions += 1;
            return Ok(());
        }
        // Its upper inputs stay until the end, and each slice writes before
        // it frees: a compaction that cannot finish is not started, so a
        // full disk does not hold half-merged copies.
        let upper_bytes: u64 = c.inputs[0].iter().map(|f| round_up(f.size)).sum();
        let peak = upper_bytes + 2 * self.opts.table_size;
        if c.inputs[1].len() > 1 && self.alloc.free_bytes() < peak {
            return Err(Error::NoSpace {
                region: "table region",
                needed: peak,
            });
        }
        let smallest_snapshot = self
            .snapshots
            .keys()
            .next()
            .copied()
            .unwrap_or(self.last_seq);
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
            let end = self.slice_end(&starts, start);
            let last = end >= starts.len();
            let lo = (start > 0).then(|| starts[start].0.clone());
            let hi = (!last).then(|| starts[end].0.clone());
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
            self.compact_pointers[level] = p;
        }
        self.stats.compactions += 1;
        Ok(())
    }

    /// Where a compaction slice that starts at `starts[start]` ends. `starts`
    /// are the keys a slice may begin at, in order, each with the bytes of
    /// the tables that start there; a slice from `start` to `end` covers the
    /// keys from `starts[start]` (the smallest key if 0) to `starts[end]`
    /// (the largest if past the end). It takes as many as together hold at
    /// most [`slice_budget`](Self::slice_budget), at least one. A slice's
    /// lower tables are freed when it commits; on a roomy disk one slice
    /// takes them all, so output tables are cut only at their target size,
    /// and on a nearly full one slices shrink, each leaving at most one
    /// short table.
    fn slice_end(&self, starts: &[(Vec<u8>, u64)], start: usize) -> usize {
        let budget = self.slice_budget();
        let mut end = start;
        let mut bytes = 0;
        while let Some((_, b)) = starts.get(end) {
            bytes += b;
            if end > start && bytes > budget {
                break;
            }
            end += 1;
        }
        end
    }

    /// The input one compaction slice should take: a quarter of the free
    /// space, at most `max_compaction_bytes` if set, at least a table.
    fn slice_budget(&self) -> u64 {
        let mut budget = self.alloc.free_bytes() / 4;
        if self.opts.max_compaction_bytes > 0 {
            budget = budget.min(self.opts.max_compaction_bytes);
        }
        budget.max(self.opts.table_size)
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
        self.log_and_apply(edit)
            .inspect_err(|_| self.release_tables(&written))
    }

    /// Gives back the space of tables written but never committed, and
    /// drops the blocks they offered to the cache.
    fn release_tables(&mut self, files: &[FileMeta]) {
        for f in files {
            self.alloc.release_extents(&f.extents);
            if let Some(c) = &self.cache {
                c.erase_table(f.number);
            }
        }
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
            match self.table(f, None) {
                Ok(t) => tables.push((t, f.clone())),
                Err(e) => return Err((e, outputs)),
            }
        }
        let version = Arc::clone(&self.version);
        let disk = &self.disk;
        let mut sink = TableSink::new(
            disk,
            self.cache.as_deref(),
            &mut self.alloc,
            &mut self.stats,
            &mut self.next_file,
            &self.opts,
            self.opts.table_size,
        );
        let mut children: Vec<Box<dyn KvIter + '_>> = Vec::new();
        for (t, f) in &tables {
            children.push(Box::new(t.iter(TableFile {
                disk,
                number: f.number,
                extents: Arc::clone(&f.extents),
                size: f.size,
                cache: None,
                counter: None,
            })));
        }
        let mut it = MergingIter::new(Ikc::default(), children);
        let r = (|| -> Result<()> {
            match range.0 {
                Some(lo) => it.seek(&internal_key(lo, MAX_SEQUENCE, ValueType::FOR_SEEK))?,
                None => it.seek_to_first()?,
            }
            // The user key being merged (reused: no allocation per key).
            let mut current: Vec<u8> = Vec::new();
            let mut has_current = false;
            let mut last_seq_for_key = u64::MAX;
            while it.valid() {
                let key = it.key();
                let p = ParsedInternalKey::parse(key).ok_or_else(|| {
                    Error::from(Corruption::at(
                        "compaction input",
                        CorruptionKind::Malformed("internal key"),
                    ))
                })?;
                if range.1.is_some_and(|hi| p.user_key >= hi) {
                    break;
                }
                stop.entry(key.len() + it.value().len())?;
                if !has_current || !eq_bytes(&current, p.user_key) {
                    current.clear();
                    current.extend_from_slice(p.user_key);
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
                last_seq_for_key = p.sequence;
                if !drop {
                    sink.add(key, it.value())?;
                }
                it.next()?;
            }
            sink.finish()
        })();
        outputs.append(&mut sink.outputs);
        match r {
            Ok(()) => Ok(outputs),
            Err(e) => Err((e, outputs)),
        }
    }

    /// The bytes of table `f`, read through the block cache if `cached`,
    /// counting reads in `counter`.
    fn file<'a>(
        &'a self,
        f: &FileMeta,
        cached: bool,
        counter: Option<&'a ReadCounter>,
    ) -> TableFile<'a, D> {
        TableFile {
            disk: &self.disk,
            number: f.number,
            extents: Arc::clone(&f.extents),
            size: f.size,
            cache: if cached { self.cache.as_deref() } else { None },
            counter,
        }
    }

    /// Reads data, index and filter blocks through `cache` (or no cache,
    /// so that every lookup reads them from the disk) from now on.
    pub fn set_block_cache(&mut self, cache: Option<Arc<dyn BlockCache + Send + Sync>>) {
        self.cache = cache;
    }

    /// Serves point lookups from `cache` (AC-Key's KV and KP parts) from now
    /// on, or stops. The cache is cleared when attached: it has not seen the
    /// writes made while it was away.
    pub fn set_point_cache(&mut self, cache: Option<Arc<dyn PointCache + Send + Sync>>) {
        if let Some(c) = &cache {
            c.clear();
        }
        self.points = cache;
    }

    /// The open table of `f`: its footer, remembered or read and checked.
    fn table(&self, f: &FileMeta, counter: Option<&ReadCounter>) -> Result<Table<Ikc>> {
        if let Some(t) = self.tables.borrow().get(&f.number) {
            return Ok(t.clone());
        }
        let file = self.file(f, true, counter);
        let t = Table::open(&file, f.number, f.size, Ikc::default())?;
        self.tables.borrow_mut().insert(f.number, t.clone());
        Ok(t)
    }

    /// The value of `key`, as of `snapshot` (or now).
    pub fn get(&self, key: &[u8], snapshot: Option<&Snapshot>) -> Result<Option<Vec<u8>>> {
        self.get_with_stats(key, snapshot).map(|(v, _)| v)
    }

    /// The value of `key`, as of `snapshot` (or now), with what finding it
    /// cost: the disk reads it really made, and where the answer was.
    pub fn get_with_stats(
        &self,
        key: &[u8],
        snapshot: Option<&Snapshot>,
    ) -> Result<(Option<Vec<u8>>, LookupStats)> {
        let seq = snapshot.map_or(self.last_seq, |s| s.seq);
        let mut stats = LookupStats::default();
        for mem in core::iter::once(&self.mem).chain(self.imm.as_ref()) {
            let found = match mem.get(key, seq)? {
                Lookup::Found(v) => Some(v),
                Lookup::Deleted => None,
                Lookup::Missing => continue,
            };
            stats.source = LookupSource::Memtable;
            return Ok((found, stats));
        }
        let counter = ReadCounter::default();
        // The point cache knows only the newest values.
        let points = self.points.as_deref().filter(|_| snapshot.is_none());
        if let Some(p) = points {
            match p.lookup(key) {
                PointHit::Kv(v) => {
                    stats.source = LookupSource::PointKv;
                    return Ok((Some(v), stats));
                }
                PointHit::Kp(ptr) => {
                    let r = self.read_pointed(key, seq, ptr, &counter);
                    counter.fill(&mut stats);
                    match r? {
                        Some(v) => {
                            p.promote(key, &v);
                            stats.source = LookupSource::PointKp;
                            stats.location = Some(ptr);
                            return Ok((Some(v), stats));
                        }
                        // Not where the pointer said: a stale pointer is
                        // dropped, and the tree answers.
                        None => p.invalidate(key),
                    }
                }
                PointHit::Miss => {}
            }
        }
        let r = self.search_tables(key, seq, &counter, &mut stats);
        counter.fill(&mut stats);
        let found = r?;
        if let (Some(p), Some(v), Some(ptr)) = (points, &found, stats.location) {
            p.insert(key, v, ptr, &stats);
        }
        Ok((found, stats))
    }

    /// A KP hit: the newest version of `key` in the one block `ptr` names,
    /// or `None` if it is not there (the table is gone, or the block does not
    /// hold a value of `key`).
    fn read_pointed(
        &self,
        key: &[u8],
        seq: SequenceNumber,
        ptr: BlockPointer,
        counter: &ReadCounter,
    ) -> Result<Option<Vec<u8>>> {
        let Some((_, f)) = self.version.files().find(|(_, f)| f.number == ptr.table) else {
            return Ok(None);
        };
        let t = self.table(f, Some(counter))?;
        let file = self.file(f, true, Some(counter));
        let h = BlockHandle {
            offset: ptr.offset,
            size: ptr.size,
        };
        let probe = internal_key(key, seq, ValueType::FOR_SEEK);
        // Taken, not borrowed: nothing here can re-enter the store, but a
        // cache callback that did would find empty buffers, not a panic.
        let mut bufs = self.bufs.take();
        let r = t.get_in_block_with(&file, h, &probe, &mut bufs, |k, v| {
            let p = parse_found(k, f.number)?;
            Ok((p.user_key == key && p.kind == ValueType::Value).then(|| v.to_vec()))
        });
        self.bufs.replace(bufs);
        r?.transpose().map(Option::flatten)
    }

    /// The tree's answer for `key` at `seq`, level by level.
    fn search_tables(
        &self,
        key: &[u8],
        seq: SequenceNumber,
        counter: &ReadCounter,
        stats: &mut LookupStats,
    ) -> Result<Option<Vec<u8>>> {
        let probe = internal_key(key, seq, ValueType::FOR_SEEK);
        let mut bufs = self.bufs.take();
        let r = self.search_levels(key, &probe, counter, stats, &mut bufs);
        self.bufs.replace(bufs);
        r
    }

    fn search_levels(
        &self,
        key: &[u8],
        probe: &[u8],
        counter: &ReadCounter,
        stats: &mut LookupStats,
        bufs: &mut LookupBufs,
    ) -> Result<Option<Vec<u8>>> {
        let v = &self.version;
        for (level, files) in v.levels.iter().enumerate() {
            let (all, one);
            let candidates: &[Arc<FileMeta>] = if level == 0 {
                all = files.as_slice();
                all
            } else {
                let i = Version::find_file(files, probe);
                one = files.get(i..i + 1).unwrap_or(&[]);
                one
            };
            for f in candidates {
                let in_range = compare_bytes(user_key(&f.smallest), key) != Ordering::Greater
                    && (level > 0 || compare_bytes(key, user_key(&f.largest)) != Ordering::Greater);
                if !in_range {
                    continue;
                }
                let t = self.table(f, Some(counter))?;
                let file = self.file(f, true, Some(counter));
                stats.tables_probed += 1;
                let found = t.get_with(&file, probe, bufs, |k, value, h| -> Result<_> {
                    let p = parse_found(k, f.number)?;
                    if !eq_bytes(p.user_key, key) {
                        return Ok(None);
                    }
                    let value = match p.kind {
                        ValueType::Value => Some(value.to_vec()),
                        ValueType::Deletion => None,
                    };
                    Ok(Some((value, h)))
                })?;
                if let Some((value, h)) = found.transpose()?.flatten() {
                    stats.source = LookupSource::Table;
                    stats.location = Some(BlockPointer {
                        level: level as u8,
                        table: f.number,
                        offset: h.offset,
                        size: h.size,
                    });
                    return Ok(value);
                }
            }
        }
        Ok(None)
    }

    /// A snapshot of the store as it is now.
    pub fn snapshot(&mut self) -> Snapshot {
        *self.snapshots.entry(self.last_seq).or_insert(0) += 1;
        Snapshot { seq: self.last_seq }
    }

    /// Releases a snapshot.
    pub fn release_snapshot(&mut self, s: Snapshot) {
        if let Some(n) = self.snapshots.get_mut(&s.seq) {
            *n -= 1;
            if *n == 0 {
                self.snapshots.remove(&s.seq);
            }
        }
    }

    /// A cursor over user keys and values as of `snapshot` (or now).
    pub fn iter(&self, snapshot: Option<&Snapshot>) -> Result<DbIter<'_, D>> {
        use iter::Source;
        let seq = snapshot.map_or(self.last_seq, |s| s.seq);
        let mut children: Vec<Source<'_, D>> = Vec::new();
        children.push(Source::Mem(self.mem.iter()));
        if let Some(imm) = &self.imm {
            children.push(Source::Mem(imm.iter()));
        }
        for (level, files) in self.version.levels.iter().enumerate() {
            if level == 0 {
                for f in files {
                    let t = self.table(f, None)?;
                    children.push(Source::Table(t.iter(self.file(f, true, None))));
                }
            } else if !files.is_empty() {
                children.push(Source::Level(iter::LevelIter::new(self, files.clone())));
            }
        }
        Ok(DbIter::new(MergingIter::new(Ikc::default(), children), seq))
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
    fn merge_into_bottom(&mut self, stop: &mut Stop<'_>) -> Result<()> {
        self.check_writable()?;
        let version = Arc::clone(&self.version);
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
        let smallest_snapshot = self
            .snapshots
            .keys()
            .next()
            .copied()
            .unwrap_or(self.last_seq);
        let overlaps = |f: &FileMeta, lo: Option<&[u8]>, hi: Option<&[u8]>| {
            lo.is_none_or(|lo| user_key(&f.largest) >= lo)
                && hi.is_none_or(|hi| user_key(&f.smallest) < hi)
        };
        let lower = version.levels[bottom].clone();
        let starts = cut_points(&version, bottom);
        let mut gone = alloc::vec![false; upper.len()];
        let mut start = 0;
        loop {
            let end = self.slice_end(&starts, start);
            let last = end >= starts.len();
            let lo = (start > 0).then(|| starts[start].0.clone());
            let hi = (!last).then(|| starts[end].0.clone());
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
            self.stats.compactions += 1;
            if last {
                break;
            }
            start = end;
        }
        Ok(())
    }

    /// Reads every table and checks every block; reports all damage found.
    pub fn verify(&self) -> VerifyReport {
        self.verify_with(&mut || false)
    }

    /// [`verify`](Self::verify), asking `stop` before each table and each
    /// data block after a table's first; when it says `true` the check
    /// ends there, reported as [`VerifyReport::interrupted`].
    pub fn verify_with(&self, stop: &mut dyn FnMut() -> bool) -> VerifyReport {
        let mut report = VerifyReport::default();
        let cmp = Ikc::default();
        for (_, f) in self.version.files() {
            if stop() {
                report.interrupted = true;
                break;
            }
            report.tables += 1;
            let file = self.file(f, false, None);
            // Read from the disk, not the cache: damage since open counts.
            let t = match Table::open(&file, f.number, f.size, cmp)
                .and_then(|t| t.check_meta_blocks(&file).map(|()| t))
            {
                Ok(t) => t,
                Err(e) => {
                    report.errors.push(e);
                    continue;
                }
            };
            let mut it = t.iter(&file);
            let mut prev: Option<Vec<u8>> = None;
            let r = (|| -> Result<()> {
                it.seek_to_first()?;
                let mut block = it.data_handle();
                while it.valid() {
                    if it.data_handle() != block {
                        block = it.data_handle();
                        if stop() {
                            report.interrupted = true;
                            return Ok(());
                        }
                    }
                    let k = it.key();
                    let out_of_range = cmp.compare(k, &f.smallest) == core::cmp::Ordering::Less
                        || cmp.compare(k, &f.largest) == core::cmp::Ordering::Greater;
                    let unordered = prev
                        .as_deref()
                        .is_some_and(|p| cmp.compare(p, k) != core::cmp::Ordering::Less);
                    if out_of_range || unordered || ParsedInternalKey::parse(k).is_none() {
                        return Err(Corruption::at(
                            format!("table {}", f.number),
                            CorruptionKind::OutOfOrder,
                        )
                        .into());
                    }
                    prev = Some(k.to_vec());
                    report.entries += 1;
                    it.next()?;
                }
                Ok(())
            })();
            if let Err(e) = r {
                report.errors.push(e);
            }
            if report.interrupted {
                break;
            }
        }
        report
    }

    /// Counters for `INFO storage`.
    pub fn stats(&self) -> DbStats {
        let mut s = self.stats.clone();
        for (level, files) in self.version.levels.iter().enumerate() {
            s.levels[level] = (files.len(), files.iter().map(|f| f.size).sum());
        }
        s.memtable_bytes = self.mem.approximate_memory_usage();
        s.immutable_bytes = self
            .imm
            .as_ref()
            .map_or(0, |m| m.approximate_memory_usage());
        s.wal_bytes = self.wal.len();
        s.table_free_bytes = self.alloc.free_bytes();
        s.table_reserve_bytes = self.space_reserve();
        s.io = self.disk.stats();
        s.last_sequence = self.last_seq;
        s
    }

    /// Whether the store was opened by [`open_read_only`](Self::open_read_only).
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The disk's layout.
    pub fn layout(&self) -> Layout {
        self.sb.layout
    }

    /// The live tables.
    pub fn version(&self) -> Arc<Version> {
        Arc::clone(&self.version)
    }

    /// Makes every write durable and returns the device. The next open
    /// replays the WAL as after any stop.
    pub fn close(mut self) -> Result<D> {
        if self.check_writable().is_ok() {
            self.wal.sync(&mut DiskRef(&self.disk))?;
        }
        Ok(self.disk.into_inner())
    }

    /// The device, for the owner's own requests (statistics, fault
    /// injection in tests); writing to the store's regions breaks it.
    pub fn device_mut(&mut self) -> &mut D {
        self.disk.device_mut()
    }

    /// The device, without syncing: what a power cut leaves (for tests).
    pub fn into_device(self) -> D {
        self.disk.into_inner()
    }
}

#[cfg(test)]
mod tests;

/// The internal key a table lookup returned, parsed.
fn parse_found(k: &[u8], table: u64) -> Result<ParsedInternalKey<'_>> {
    ParsedInternalKey::parse(k).ok_or_else(|| {
        Error::from(Corruption::at(
            format!("table {table}"),
            CorruptionKind::Malformed("internal key"),
        ))
    })
}

/// Where [`Db::merge_into_bottom`]'s slices may begin (as
/// [`Db::slice_end`] takes them): the user keys at which tables of levels 1
/// to `bottom` start, sorted, except inside a bottom table (which must go
/// whole, in one slice), each with the bytes of the tables starting there
/// up to the next one. Level-0 tables overlap everything and are not cut
/// points.
fn cut_points(v: &Version, bottom: usize) -> Vec<(Vec<u8>, u64)> {
    let mut starts: Vec<(&[u8], u64)> = (1..=bottom)
        .flat_map(|l| v.levels[l].iter())
        .map(|f| (user_key(&f.smallest), round_up(f.size)))
        .collect();
    starts.sort_unstable();
    let inside_bottom = |k: &[u8]| {
        v.levels[bottom]
            .iter()
            .any(|f| user_key(&f.smallest) < k && k <= user_key(&f.largest))
    };
    let mut cuts: Vec<(Vec<u8>, u64)> = Vec::new();
    for (k, bytes) in starts {
        match cuts.last_mut() {
            Some(last) if last.0.as_slice() == k || inside_bottom(k) => last.1 += bytes,
            // A new place to cut (the first one is where slice 0 begins).
            _ => cuts.push((k.to_vec(), bytes)),
        }
    }
    cuts
}

/// Whether no level below `level` may hold `ukey`, so a tombstone for it in
/// `level` hides nothing and can go.
fn is_base_level_for(v: &Version, level: usize, ukey: &[u8]) -> bool {
    v.levels[level + 1..]
        .iter()
        .flatten()
        .all(|f| ukey < user_key(&f.smallest) || ukey > user_key(&f.largest))
}

/// Writes a sorted stream of internal keys as tables, cut at the target
/// size, only between user keys so that one key's versions never straddle
/// two tables of a level.
struct TableSink<'a, D: BlockDevice> {
    disk: &'a Disk<D>,
    /// Offered the blocks of every table written.
    cache: Option<&'a (dyn BlockCache + Send + Sync)>,
    alloc: &'a mut ExtentAllocator,
    stats: &'a mut DbStats,
    next_file: &'a mut u64,
    opts: &'a Options,
    target: u64,
    /// The number and builder of the table being built.
    building: Option<(u64, TableBuilder<Ikc>)>,
    outputs: Vec<FileMeta>,
}

impl<'a, D: BlockDevice> TableSink<'a, D> {
    fn new(
        disk: &'a Disk<D>,
        cache: Option<&'a (dyn BlockCache + Send + Sync)>,
        alloc: &'a mut ExtentAllocator,
        stats: &'a mut DbStats,
        next_file: &'a mut u64,
        opts: &'a Options,
        target: u64,
    ) -> Self {
        Self {
            disk,
            cache,
            alloc,
            stats,
            next_file,
            opts,
            target,
            building: None,
            outputs: Vec::new(),
        }
    }

    fn add(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        // Cut only where a new user key begins, and only once full.
        let full = self.building.as_ref().is_some_and(|(_, b)| {
            b.estimated_size() >= self.target && user_key(b.last_key()) != user_key(key)
        });
        if full {
            self.finish()?;
        }
        if self.building.is_none() {
            let number = *self.next_file;
            *self.next_file += 1;
            self.building = Some((
                number,
                TableBuilder::new(Ikc::default(), self.opts.table, number),
            ));
        }
        if let Some((_, b)) = &mut self.building {
            b.add(key, value)?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        if let Some((number, b)) = self.building.take() {
            let meta = emit_table(self.disk, self.cache, self.alloc, self.stats, b, number)?;
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
    disk: &Disk<D>,
    cache: Option<&(dyn BlockCache + Send + Sync)>,
    alloc: &mut ExtentAllocator,
    stats: &mut DbStats,
    b: TableBuilder<Ikc>,
    number: u64,
) -> Result<FileMeta> {
    let smallest = b.first_key().unwrap_or_default().to_vec();
    let largest = b.last_key().to_vec();
    let mut bytes = b.finish()?;
    let size = bytes.len() as u64;
    let extents = alloc.allocate_extents(size).ok_or(Error::NoSpace {
        region: "table region",
        needed: size,
    })?;
    bytes.resize(round_up(size) as usize, 0);
    let mut at = 0usize;
    for e in &extents {
        let piece = &bytes[at..at + e.len as usize];
        if let Err(err) = disk.write(e.offset, piece) {
            alloc.release_extents(&extents);
            return Err(err.into());
        }
        at += e.len as usize;
    }
    stats.table_bytes_written += size;
    if let Some(c) = cache.filter(|c| c.room() >= size) {
        offer_blocks(c, number, &bytes[..size as usize]);
    }
    Ok(FileMeta {
        number,
        extents: extents.into(),
        size,
        smallest,
        largest,
    })
}

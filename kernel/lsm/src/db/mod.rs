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
//! - a log's WAL half is written again only after the manifest record that
//!   puts its memtable in a table is durable (a new log waits for the
//!   frozen memtable's flush, inline or in the background);
//! - a table is durable (device flush) before the manifest record that adds it
//!   is written, and that record is the commit point; a torn record at the
//!   manifest's tail is dropped at recovery, so the change did not happen;
//! - a table's extent is reused only after the record that deleted it is
//!   durable, and once no reader holds a version that has it (a lookup or
//!   cursor on the owner's core while a background job commits);
//! - a log is never appended to after a crash: recovery saves its content in
//!   a table and starts the next log number, and starts a new manifest the
//!   same way, switching to it through the two superblock slots.
//!
//! [`Db::open_read_only`] stops short of that saving: it replays the WAL into
//! memory and refuses every change, so it never writes to the device.
//!
//! The owner changes the store through `&mut self` (the kernel wraps it in
//! a lock). Group commit: writers append with `sync = false` and one of them
//! calls [`Db::sync_wal`], which makes all of them durable with one flush;
//! or [`Db::begin_wal_sync`] takes that write and flush out of the store,
//! to run without the owner's lock while writes go on.
//! Flushes and compactions run inside the write that needs them, or, with
//! [`Options::background`], on another core through a [`Background`]
//! handle, which commits into the state it shares with the owner's `Db`
//! without the owner's lock (see `shared` and `background`).
//!
//! One [`Db`], its methods in one file per concern (as LevelDB splits
//! `db_impl.cc` from `version_set.cc`); this file keeps the struct, the
//! options and the reports:
//!
//! ```text
//!   open.rs      format, superblock, manifest load, WAL replay, recovery, close
//!   write.rs     put/delete/write -> WAL -> memtable; make_room, rotate, space
//!   read.rs      get (memtables, point cache, tables), iter, range, snapshots
//!   maintain.rs  the job (one flush or compaction at a time): flush the
//!                frozen memtable, run compactions while due, FLUSH, COMPACT
//!   background.rs  the Background handle (work, pending) and the writers'
//!                brakes of background mode
//!     pick.rs      which compaction, its inputs, level targets, slice cuts
//!                  (a Version and the Options in, no Db)
//!     compact.rs   run a compaction slice by slice, merge into the bottom
//!     sink.rs      write output tables (flush and compaction alike)
//!   manifest.rs  commit an edit: flush, manifest record, new manifest, free
//!   verify.rs    VERIFY: read every table, report all damage
//!
//!   beneath:  shared.rs (what owner and job share, its locks, and when
//!             a deleted table's space may be reused)
//!             version.rs (live tables, edits)   superblock.rs (layout)
//!             disk.rs (device, extents, cache)  batch.rs   iter.rs
//!             lookup.rs (point cache)           stop.rs (stop hook)
//! ```
//!
//! Writes reach `maintain` when the memtable fills; flushes and compactions
//! write through `sink` and commit through `manifest`; `open` recovers
//! through the same two.

mod background;
mod batch;
mod compact;
mod disk;
mod extents;
mod filter;
pub mod inspect;
mod iter;
mod lookup;
mod maintain;
mod manifest;
mod open;
mod pick;
mod read;
mod shared;
mod sink;
mod stop;
mod superblock;
mod verify;
mod version;
mod write;

pub use crate::table::BlockKind;
pub use background::{Background, WRITE_SLOWDOWN_US};
pub use batch::WriteBatch;
pub use disk::{BlockCache, DeviceGuard, ExtentAllocator, IoStats};
pub use filter::CompactionFilter;
pub use iter::DbIter;
pub use lookup::{BlockPointer, LookupSource, LookupStats, PointCache, PointHit};
pub use superblock::{Layout, Superblock, FORMAT_VERSION, MAGIC, OLDEST_READ_VERSION};
pub use version::{FileMeta, Version, VersionEdit, NUM_LEVELS};
pub use write::{WalFlush, WalSync};

use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::key::{InternalKeyComparator, SequenceNumber};
use crate::memtable::MemTable;
use crate::table::{LookupBufs, TableOptions};
use crate::wal::LogWriter;
use shared::Shared;

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
    /// itself. Ignored when `background` is set.
    pub inline_maintenance: bool,
    /// Leave every flush and compaction to a [`Background`] handle (run on
    /// another core): a write never flushes or compacts. A full memtable is
    /// frozen and a new log started, then [`wake`](Self::wake) is called;
    /// writers are braked only as LevelDB brakes them (see
    /// [`l0_slowdown_trigger`](Self::l0_slowdown_trigger),
    /// [`l0_stop_trigger`](Self::l0_stop_trigger), and a full memtable while
    /// the frozen one is still being flushed), waiting through
    /// [`wait`](Self::wait) until the background work clears the brake.
    pub background: bool,
    /// Level-0 tables at which, in background mode, each write is delayed
    /// once by [`delay_us`](Self::delay_us) (1 ms), so that compaction keeps
    /// up rather than writes stopping all at once. RocksDB's 20, not
    /// LevelDB's 8: at 8, a million random writes under QEMU spent a
    /// quarter of their time in these delays (2,439 of them, with the one
    /// background core busy merging level 0 down), 95k -> 145k writes/s at
    /// 20, and reads after it no slower (a lookup's level-0 tables are
    /// mostly ruled out by their filters).
    pub l0_slowdown_trigger: usize,
    /// Level-0 tables at which, in background mode, writes wait for a
    /// compaction (RocksDB's 36).
    pub l0_stop_trigger: usize,
    /// Keep each open table's index and filter blocks with it after their
    /// first use (LevelDB's table cache and RocksDB's default), instead of
    /// fetching them through the block cache on every lookup (RocksDB's
    /// `cache_index_and_filter_blocks`, which puts them under the cache's
    /// budget). Changed at run time by [`Db::set_pin_table_meta`].
    pub pin_table_meta: bool,
    /// Most bytes of index and filter blocks the open tables keep, all
    /// together; a table whose blocks would not fit is served through the
    /// cache (LevelDB bounds this memory by its 1,000 open tables: about
    /// 36 MB of 2 MB tables).
    pub pinned_meta_limit: u64,
    /// Background mode: there is work for the [`Background`] handle (a
    /// memtable was frozen, or a writer waits). The kernel sends the
    /// compaction core an interrupt.
    pub wake: Option<fn()>,
    /// Background mode: called over and over while a writer waits for the
    /// background work (the kernel's: a short sleep; a thread yield);
    /// `None` spins. It runs with the owner's locks held, so it must not
    /// take them.
    pub wait: Option<fn()>,
    /// Background mode: delays a writer by this many microseconds (the
    /// slowdown trigger's 1 ms); `None` does not delay.
    pub delay_us: Option<fn(u64)>,
    /// Called by a job after each change a waiting writer may be waiting
    /// for (a flush or compaction installed, a job failed or put off): for
    /// a `wait` that sleeps until told (a `sev` for a `wfe`).
    pub notify: Option<fn()>,
    /// Which core the caller runs on: lookups keep their buffers and their
    /// view of the tables per core ([`crate::percore`]), so that lookups on
    /// several cores write no shared cache line for them.
    pub core: crate::percore::CoreIndex,
    /// How a device request that finds the device busy (another core's
    /// request in flight) sleeps until it is free: see
    /// [`crate::park::Parking::park`]; `None` spins.
    pub park: Option<fn(still: &dyn Fn() -> bool)>,
    /// Wakes the cores of a mask from [`park`](Self::park)'s sleep.
    pub unpark: Option<fn(cores: usize)>,
}

impl Options {
    /// How the device's waiters wait.
    pub(crate) fn parking(&self) -> crate::park::Parking {
        crate::park::Parking {
            core: self.core,
            park: self.park,
            unpark: self.unpark,
        }
    }
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
            background: false,
            l0_slowdown_trigger: 20,
            l0_stop_trigger: 36,
            pin_table_meta: true,
            pinned_meta_limit: 64 << 20,
            wake: None,
            wait: None,
            delay_us: None,
            notify: None,
            core: crate::percore::CoreIndex::Shared,
            park: None,
            unpark: None,
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
    ///
    /// A disk of [`LARGE_VALUE_DISK`] bytes or more takes values of up to
    /// [`LARGE_VALUE_LEN`] (16 MiB strings with their owner's header): its
    /// WAL halves are [`LARGE_VALUE_WAL_HALF`] so that one such write fits
    /// in a half (a 256 MiB disk gives 34 MiB to the WAL instead of 16).
    pub fn for_disk(capacity: u64) -> Options {
        let mut o = Options::default();
        let table = (capacity / 128).clamp(64 << 10, o.table_size);
        o.table_size = table;
        o.write_buffer_size = (table * 2).min(o.write_buffer_size as u64) as usize;
        o.l1_max_bytes = table * 5;
        if capacity >= LARGE_VALUE_DISK {
            o.max_value_len = LARGE_VALUE_LEN;
            o.wal_half_bytes = LARGE_VALUE_WAL_HALF;
        }
        o
    }
}

/// The smallest disk [`Options::for_disk`] gives large values.
pub const LARGE_VALUE_DISK: u64 = 256 << 20;
/// The largest value on such a disk: 16 MiB and room for the owner's own
/// header (kv's type tag and expiry take 9 bytes).
pub const LARGE_VALUE_LEN: usize = (16 << 20) + 64;
/// Its WAL half: one batch of the largest value under the longest key,
/// with a fragment header per 32 KiB block, and room to spare.
pub const LARGE_VALUE_WAL_HALF: u64 = 17 << 20;

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
    /// Tables trivial moves took down a level as they were, unwritten
    /// (RocksDB's "moved" bytes, in tables).
    pub tables_moved: u64,
    /// Compactions put off because the disk had no room for their output.
    pub compactions_put_off: u64,
    /// Values a compaction filter declared dead (expired) and compactions
    /// dropped or turned into deletions.
    pub filtered_values: u64,
    /// Key and value bytes written by users.
    pub user_bytes: u64,
    /// Writes the brakes held up (background mode): delayed once at the
    /// level-0 slowdown trigger; stopped until the frozen memtable was
    /// flushed; stopped at the level-0 stop trigger (RocksDB's write stall
    /// counts: which of the background's jobs the writers outran).
    pub write_stalls: WriteStalls,
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

/// Writes held up by the brakes of background mode, by brake.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStalls {
    /// Delayed 1 ms at the level-0 slowdown trigger.
    pub slowdowns: u64,
    /// Waited for the frozen memtable's flush (the memtable filled first).
    pub memtable: u64,
    /// Waited at the level-0 stop trigger.
    pub level0: u64,
}

/// The lookup buffers, one set per core (see [`crate::percore`]).
pub(crate) type BufPool = crate::percore::PerCore<LookupBufs>;

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

/// The store.
///
/// The owner's half: the memtable that takes writes, the WAL, the last
/// sequence number and the read buffers; all the rest is in `Shared`,
/// which a [`Background`] handle shares.
pub struct Db<D: BlockDevice> {
    sh: Arc<Shared<D>>,
    last_seq: SequenceNumber,
    wal: LogWriter,
    mem: Arc<MemTable>,
    /// Key buffers of point lookups, reused so that a lookup allocates only
    /// its answer: a few sets, one per lookup under way, since lookups
    /// (`&self`) may run on several cores at once.
    bufs: BufPool,
    /// The caches reads go through (jobs take theirs from the shared state).
    cache: Option<Arc<dyn BlockCache + Send + Sync>>,
    points: Option<Arc<dyn PointCache + Send + Sync>>,
    /// Key and value bytes written by users.
    user_bytes: u64,
    /// Writes the brakes held up.
    stalls: WriteStalls,
    /// The next write's slowdown was waited out by its caller, outside
    /// its lock (see [`Db::write_delay`]).
    delayed: bool,
}

impl<D: BlockDevice> Db<D> {
    fn check_writable(&self) -> Result<()> {
        self.sh.check_writable()
    }

    /// Counters for `INFO storage`.
    pub fn stats(&self) -> DbStats {
        let cur = self.sh.current();
        let mut s = {
            let mut st = self.sh.state.lock();
            st.reclaim(&self.sh);
            let mut s = st.stats.clone();
            s.table_free_bytes = st.alloc.free_bytes();
            s
        };
        for (level, files) in cur.version.levels.iter().enumerate() {
            s.levels[level] = (files.len(), files.iter().map(|f| f.size).sum());
        }
        s.memtable_bytes = self.mem.approximate_memory_usage();
        s.immutable_bytes = cur.imm.as_ref().map_or(0, |m| m.approximate_memory_usage());
        s.wal_bytes = self.wal.len();
        s.table_reserve_bytes = self.space_reserve();
        s.io = self.sh.disk.stats();
        s.user_bytes = self.user_bytes;
        s.write_stalls = self.stalls;
        s.last_sequence = self.last_seq;
        s
    }

    /// The options the store was opened with.
    pub fn options(&self) -> &Options {
        &self.sh.opts
    }

    /// Whether the store was opened by [`open_read_only`](Self::open_read_only).
    pub fn is_read_only(&self) -> bool {
        self.sh.read_only
    }

    /// The disk's layout.
    pub fn layout(&self) -> Layout {
        self.sh.layout
    }

    /// The largest value a write can carry: the options' limit, or less on
    /// a disk whose WAL half (fixed when it was formatted) cannot hold a
    /// batch of one such value under the longest key.
    pub fn max_value_len(&self) -> usize {
        let half = self.sh.layout.wal_half;
        // A fragment header per block, and a block's tail too short for
        // one, at worst.
        let framing =
            2 * crate::wal::HEADER_SIZE as u64 * (half / crate::wal::BLOCK_SIZE as u64 + 1);
        // The batch's header, the entry's tag and two varint lengths.
        let batch = 12 + 1 + 2 * 5 + self.sh.opts.max_key_len as u64;
        let fits = half.saturating_sub(framing + batch);
        self.sh
            .opts
            .max_value_len
            .min(usize::try_from(fits).unwrap_or(usize::MAX))
    }

    /// The live tables.
    ///
    /// Holding it keeps the space of its tables from being reused (a
    /// reader may still read them), so hold it briefly.
    pub fn version(&self) -> Arc<Version> {
        self.sh.version()
    }
}

#[cfg(test)]
mod tests;

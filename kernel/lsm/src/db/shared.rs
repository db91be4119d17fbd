//! What the store's owner and a background job share: the device, the live
//! tables and the frozen memtable as readers see them ([`Current`]), the
//! state flushes and compactions commit into ([`State`]), the job's own
//! ([`JobState`]), and the counters cheap enough to read on every write.
//!
//! ```text
//!   Db (the owner's: mem, WAL, last_seq)   Background (another core)
//!          \                                   /
//!           Arc<Shared>: disk (locked per request)
//!                        current  Arc<Current>: version, imm     (brief)
//!                        state    alloc, next file, log number,  (brief)
//!                                 stats, snapshots, fatal, retired
//!                        job      manifest writer, compact pointers
//!                                 (held for a whole flush or compaction)
//! ```
//!
//! An open table's footer is kept in its `FileMeta` (`opened`, set once),
//! so lookups take no lock for it.
//!
//! Lock order: `job`, then `state`, then `current`; the
//! device's lock is innermost (nothing is taken while it is held), and no
//! lock of these is held across a call into the block or point cache
//! except `state` (caches take only their own locks). Every lock but `job`
//! is held for a few loads and stores: a job picks under them, merges and
//! writes its tables without them, and installs under them (LevelDB's
//! `BackgroundCompaction` with its mutex unlocked around the merge).
//!
//! A table a commit deletes may still be read by a reader that took the
//! version before it (a point lookup on the owner's core, a cursor): its
//! extents are released only once every version that held it is gone,
//! tracked by [`Retired`] entries (see [`State::reclaim`]). With no reader
//! in between, as always in inline mode, that is at once.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use super::disk::{Disk, ExtentAllocator};
use super::pick::needs_compaction;
use super::superblock::{Layout, Superblock};
use super::version::{FileMeta, Version, NUM_LEVELS};
use super::{BlockCache, CompactionFilter, DbStats, Options, PointCache};
use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::key::SequenceNumber;
use crate::memtable::MemTable;
use crate::percore::PerCore;
use crate::table::PinBudget;
use crate::wal::LogWriter;

/// What a reader needs to see the store whole: the live tables and the
/// frozen memtable, swapped together, so that a flush's table and the
/// memtable it came from are never both missed.
pub(super) struct Current {
    pub(super) version: Arc<Version>,
    pub(super) imm: Option<Arc<MemTable>>,
    /// The log that took writes after `imm` was frozen: the oldest still
    /// needed once `imm` is in a table.
    pub(super) imm_log: u64,
}

/// Tables a commit deleted, kept until no reader can hold a version that
/// has them: every version up to and including `version`, the one the
/// commit replaced, is gone.
pub(super) struct Retired {
    version: Weak<Version>,
    gone: Vec<Arc<FileMeta>>,
}

/// The state flushes and compactions commit into, and what the owner reads
/// of it (stats, space, snapshots).
pub(super) struct State {
    pub(super) sb: Superblock,
    pub(super) next_file: u64,
    /// Oldest log still needed: its memtable is not in a table yet.
    pub(super) log_number: u64,
    pub(super) alloc: ExtentAllocator,
    /// The counters flushes and compactions keep (the owner keeps its own
    /// `user_bytes`).
    pub(super) stats: DbStats,
    pub(super) snapshots: BTreeMap<SequenceNumber, usize>,
    /// A failed WAL or manifest write leaves the on-disk state unknown: every
    /// later change is refused with this error until the store is reopened.
    pub(super) fatal: Option<Error>,
    /// Why the last background job failed (a waiting writer returns it).
    pub(super) last_error: Option<Error>,
    pub(super) retired: VecDeque<Retired>,
    /// The owner's caches and filter, for jobs (each takes them when it
    /// starts).
    pub(super) cache: Option<Arc<dyn BlockCache + Send + Sync>>,
    pub(super) points: Option<Arc<dyn PointCache + Send + Sync>>,
    pub(super) filter: Option<Arc<dyn CompactionFilter + Send + Sync>>,
}

/// What only a flush or compaction touches; its lock is the job's.
pub(super) struct JobState {
    pub(super) manifest: LogWriter,
    pub(super) compact_pointers: [Vec<u8>; NUM_LEVELS],
    /// A merge into the bottom to win back space ran (or found no room)
    /// since the last flush: not again until the next (see
    /// `Job::compact_step`).
    pub(super) reclaimed: bool,
}

/// The store's shared half.
pub(super) struct Shared<D: BlockDevice> {
    pub(super) disk: Disk<D>,
    pub(super) opts: Options,
    /// The disk's layout (fixed when it was formatted).
    pub(super) layout: Layout,
    /// Opened by `Db::open_read_only`: every change is refused.
    pub(super) read_only: bool,
    pub(super) current: spin::Mutex<Arc<Current>>,
    /// Bumped with every change of `current`: a core's copy in `readers`
    /// is good while it was taken at this generation.
    generation: AtomicU64,
    /// Each core's copy of `current`, so that a lookup neither locks
    /// `current` nor counts a reference on it (two cores doing that on
    /// every lookup pass its cache lines back and forth).
    readers: PerCore<Option<(u64, Arc<Current>)>>,
    pub(super) state: spin::Mutex<State>,
    pub(super) job: spin::Mutex<JobState>,
    /// The owner's last sequence number, for the manifest records and the
    /// oldest snapshot a job keeps.
    pub(super) last_seq: AtomicU64,
    /// A table whose seek budget a lookup used up, as `(level + 1) << 56 |
    /// number` (0: none): the next compaction takes it (see `SeekBudget`).
    pub(super) seek: AtomicU64,
    /// Level-0 tables in the current version (the writers' brakes).
    pub(super) l0_files: AtomicUsize,
    /// A compaction is due by size in the current version.
    pub(super) due: AtomicBool,
    /// The last job failed or found no room: nothing is pending until a
    /// flush, a newly frozen memtable or a waiting writer asks again.
    pub(super) stalled: AtomicBool,
    /// There is a frozen memtable.
    pub(super) has_imm: AtomicBool,
    /// Free bytes of the table region, as the allocator last said.
    pub(super) free: AtomicU64,
    /// Background jobs that failed or were put off so far: a writer
    /// waiting for one sees it change.
    pub(super) failures: AtomicU64,
    /// `state.fatal` is set.
    pub(super) fatal: AtomicBool,
    /// The owner closed (or dropped) the store: jobs do nothing more.
    pub(super) closed: AtomicBool,
    /// A [`WalSync`](super::WalSync) is writing the WAL without the
    /// owner: the owner's own WAL writes wait for it (they may rewrite its
    /// last sector).
    pub(super) wal_io: AtomicBool,
    /// A [`WalFlush`](super::WalFlush) is under way: the next group
    /// commit waits for it (the owner's own writes need not).
    pub(super) wal_flush: AtomicBool,
    /// Lookups use (and open tables keep) the tables' index and filter
    /// blocks (see [`Options::pin_table_meta`]).
    pub(super) pin_meta: AtomicBool,
    pub(super) pins: Arc<PinBudget>,
}

impl<D: BlockDevice> Shared<D> {
    pub(super) fn new(
        disk: Disk<D>,
        opts: Options,
        read_only: bool,
        current: Current,
        state: State,
        job: JobState,
    ) -> Self {
        let readers = PerCore::new(opts.core);
        let sh = Self {
            disk,
            layout: state.sb.layout,
            read_only,
            current: spin::Mutex::new(Arc::new(Current {
                version: Arc::default(),
                imm: None,
                imm_log: 0,
            })),
            generation: AtomicU64::new(0),
            readers,
            free: AtomicU64::new(state.alloc.free_bytes()),
            state: spin::Mutex::new(state),
            job: spin::Mutex::new(job),
            last_seq: AtomicU64::new(0),
            seek: AtomicU64::new(0),
            l0_files: AtomicUsize::new(0),
            due: AtomicBool::new(false),
            stalled: AtomicBool::new(false),
            has_imm: AtomicBool::new(false),
            failures: AtomicU64::new(0),
            fatal: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            wal_io: AtomicBool::new(false),
            wal_flush: AtomicBool::new(false),
            pin_meta: AtomicBool::new(opts.pin_table_meta),
            pins: Arc::new(PinBudget::new(opts.pinned_meta_limit)),
            opts,
        };
        sh.update_current(|_| current);
        sh
    }

    /// The budget tables pin their index and filter blocks from, while
    /// lookups are served from pinned blocks.
    #[inline]
    pub(super) fn pins(&self) -> Option<&Arc<PinBudget>> {
        self.pin_meta.load(Ordering::Relaxed).then_some(&self.pins)
    }

    /// What readers see now (one brief lock and a reference count).
    #[inline]
    pub(super) fn current(&self) -> Arc<Current> {
        Arc::clone(&self.current.lock())
    }

    /// Runs `f` on what readers see now, from this core's copy (renewed
    /// when `current` changed since it was taken): no shared line written.
    /// A view a moment old is as good as one taken a moment earlier: the
    /// owner changes the memtables only under the store's exclusive lock,
    /// which a reader's shared lock orders after, and a job's install
    /// leaves the old view whole.
    #[inline]
    pub(super) fn with_current<R>(&self, f: impl FnOnce(&Current) -> R) -> R {
        let Some(mut slot) = self.readers.try_mine() else {
            // Nested, or another context shares the slot.
            return f(&self.current());
        };
        let generation = self.generation.load(Ordering::Acquire);
        let cur = match &mut *slot {
            Some((g, cur)) if *g == generation => cur,
            stale => {
                let fresh = {
                    let cur = self.current.lock();
                    (self.generation.load(Ordering::Relaxed), Arc::clone(&cur))
                };
                // The old copy (maybe the last holder of a view) is dropped
                // here, outside `current`'s lock.
                &stale.insert(fresh).1
            }
        };
        f(cur)
    }

    /// Drops the cores' copies that `current` changed under, so that an
    /// idle core does not keep an old view (and its tables) alive. A slot
    /// in use is left: its core renews it at its next lookup.
    fn sweep_readers(&self) {
        let generation = self.generation.load(Ordering::Acquire);
        self.readers.each_free(|slot| {
            if slot.as_ref().is_some_and(|(g, _)| *g != generation) {
                *slot = None;
            }
        });
    }

    /// The live tables now.
    pub(super) fn version(&self) -> Arc<Version> {
        Arc::clone(&self.current.lock().version)
    }

    /// Makes `f(now)` what readers see, in one swap under the lock (so that
    /// the owner's freezing of a memtable and a job's install never undo
    /// each other), and the counters say so; returns what they saw before,
    /// to be dropped (or retired) outside the lock.
    pub(super) fn update_current(&self, f: impl FnOnce(&Current) -> Current) -> Arc<Current> {
        let mut cur = self.current.lock();
        let c = f(&cur);
        self.l0_files
            .store(c.version.levels[0].len(), Ordering::Relaxed);
        self.due
            .store(needs_compaction(&c.version, &self.opts), Ordering::Relaxed);
        let has_imm = c.imm.is_some();
        let old = core::mem::replace(&mut *cur, Arc::new(c));
        // After the view it describes is in place: a core that sees the
        // flag and stops there (a breakpoint in the flush, as the gdb test
        // sets) finds the frozen memtable installed, not the view before.
        self.has_imm.store(has_imm, Ordering::Release);
        self.generation.fetch_add(1, Ordering::Release);
        drop(cur);
        self.sweep_readers();
        old
    }

    /// Refuses a change to a read-only or failed store. Inlined, the
    /// failed store's part out of line: every write asks.
    #[inline(always)]
    pub(super) fn check_writable(&self) -> Result<()> {
        if self.read_only {
            return Err(Error::ReadOnly);
        }
        if self.fatal.load(Ordering::Acquire) {
            return self.fatal_error();
        }
        Ok(())
    }

    /// The latched error of a failed store ([`check_writable`](Self::check_writable)).
    #[cold]
    fn fatal_error(&self) -> Result<()> {
        match &self.state.lock().fatal {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Latches `e`: the store refuses every change until reopened.
    pub(super) fn set_fatal(&self, e: &Error) {
        self.state.lock().fatal = Some(e.clone());
        self.fatal.store(true, Ordering::Release);
        // A writer waiting for a job sees it and gives up.
        self.notify();
    }

    /// The pending seek compaction, if any.
    pub(super) fn seek_pending(&self) -> Option<(usize, u64)> {
        decode_seek(self.seek.load(Ordering::Relaxed))
    }

    /// Asks for a seek compaction of table `number` of `level`, unless one
    /// is already asked for.
    pub(super) fn ask_seek(&self, level: usize, number: u64) {
        let v = ((level as u64 + 1) << 56) | (number & ((1 << 56) - 1));
        let asked = self
            .seek
            .compare_exchange(0, v, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok();
        // The background core sleeps until it is woken; lookups are the only
        // ones who know it has this to do.
        if asked && self.opts.background {
            self.wake();
        }
    }

    /// Takes the pending seek compaction.
    pub(super) fn take_seek(&self) -> Option<(usize, u64)> {
        decode_seek(self.seek.swap(0, Ordering::Relaxed))
    }

    /// Calls the owner's wait hook (or spins once).
    pub(super) fn wait(&self) {
        match self.opts.wait {
            Some(w) => w(),
            None => core::hint::spin_loop(),
        }
    }

    /// Calls the owner's wake hook: there is background work.
    pub(super) fn wake(&self) {
        if let Some(w) = self.opts.wake {
            w();
        }
    }

    /// Calls the owner's notify hook: a waiting writer may go on.
    pub(super) fn notify(&self) {
        if let Some(n) = self.opts.notify {
            n();
        }
    }

    /// The job's lock, waiting (through the wait hook) for a job in flight.
    pub(super) fn lock_job(&self) -> spin::MutexGuard<'_, JobState> {
        loop {
            if let Some(g) = self.job.try_lock() {
                return g;
            }
            self.wait();
        }
    }
}

fn decode_seek(v: u64) -> Option<(usize, u64)> {
    (v != 0).then(|| (((v >> 56) - 1) as usize, v & ((1 << 56) - 1)))
}

impl State {
    /// Retires the tables an edit deleted, which `old` (the version it
    /// replaced) and older versions still hold; [`reclaim`](Self::reclaim)
    /// releases them.
    pub(super) fn retire(&mut self, old: &Arc<Version>, gone: Vec<Arc<FileMeta>>) {
        self.retired.push_back(Retired {
            version: Arc::downgrade(old),
            gone,
        });
    }

    /// Releases the extents of retired tables that no live version holds:
    /// those of the oldest entries whose version and every older one are
    /// gone (a reader of an older version may read any table it has), and
    /// forgets their cached blocks.
    pub(super) fn reclaim<D: BlockDevice>(&mut self, sh: &Shared<D>) {
        let mut gone = Vec::new();
        while self
            .retired
            .front()
            .is_some_and(|r| r.version.strong_count() == 0)
        {
            let Some(r) = self.retired.pop_front() else {
                break;
            };
            for f in r.gone {
                self.alloc.release_extents(&f.extents);
                gone.push(f.number);
            }
        }
        if gone.is_empty() {
            return;
        }
        if let Some(c) = &self.cache {
            c.erase_tables(&gone);
        }
        self.note_free(sh);
    }

    /// Publishes the allocator's free bytes (after every change of it).
    pub(super) fn note_free<D: BlockDevice>(&self, sh: &Shared<D>) {
        sh.free.store(self.alloc.free_bytes(), Ordering::Relaxed);
    }

    /// The oldest write a reader may still ask for: the oldest snapshot's,
    /// or `last_seq` if no snapshot is held. Compaction keeps what it could
    /// see.
    pub(super) fn smallest_snapshot(&self, last_seq: SequenceNumber) -> SequenceNumber {
        self.snapshots.keys().next().copied().unwrap_or(last_seq)
    }
}

//! [`Store`]: `lsm::Db` with the promises every session relies on (group
//! commit, the sync=0 write-out deadline, the scan trace, the read cache).

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use cache::trace::{Recorder, Summary, Traced, MAX_BYTES};
use cache::StoreCache;
use lsm::db::{
    Background, BlockCache, DbIter, DbStats, LookupStats, PointCache, VerifyReport, WriteBatch,
};
use lsm::device::BlockDevice;
use lsm::iter::KvIter;
use lsm::{Corruption, CorruptionKind, Error, Result};

use crate::value::{self, Entry, Expired};

mod cell;
mod commit;
pub use cell::{StoreCell, StoreCellGuard, StoreCellReadGuard};
pub use commit::{BeginCommit, Commit, CommitDone, CommitFlight, CommitJob, Ticket};

/// A stored value this code cannot read is damage, reported as such.
pub fn bad_value(e: value::BadValue) -> Error {
    let what = match e.tag {
        Some(_) => "value of unknown type",
        None => "value cut short",
    };
    Corruption::at("a stored value", CorruptionKind::Malformed(what)).into()
}

/// The disk under the store, whatever it is (virtio-blk in the kernel, a
/// file on the host, memory in tests): one dynamic call per I/O, which costs
/// nothing next to the I/O.
pub type Disk = Box<dyn BlockDevice + Send>;

/// How long a write made with `sync=0` may wait in memory before it is
/// written out: with the owner's tick period, the bound on what a power
/// cut can lose of such writes.
pub const WAL_WRITEOUT_US: u64 = 5_000;

/// The time source: a free-running counter and its frequency (the generic
/// timer in the kernel).
#[derive(Clone, Copy)]
pub struct Clock {
    /// The counter.
    pub now: lsm::clock::Counter,
    /// Counter ticks per second.
    pub hz: u64,
    /// How often, at least, the owner calls [`Store::tick`], in Hz.
    pub tick_hz: u64,
    /// The time of day, in Unix microseconds (`TIME`; expiry is kept in
    /// milliseconds of it).
    pub wall_us: fn() -> u64,
}

impl Clock {
    /// The counter now.
    #[inline(always)]
    pub fn counter(&self) -> u64 {
        self.now.read()
    }

    /// The time of day, in Unix milliseconds.
    pub fn wall_ms(&self) -> u64 {
        (self.wall_us)() / 1000
    }
}

/// The store and its service state. See the crate doc.
pub struct Store {
    db: lsm::db::Db<Disk>,
    clock: Clock,
    /// Which store this is, of those opened since boot: a commit that
    /// outlived its store (closed and opened again while the flush ran)
    /// settles nothing in the next.
    id: u64,
    /// The last ticket handed out.
    written: u64,
    /// Every ticket up to this one is durable.
    durable: u64,
    /// Tickets in `(from, through]` whose commit failed, and why. The store
    /// refuses every write after a failed WAL flush (its fatal latch), so
    /// there is at most one such range.
    failed: Option<(u64, u64, Error)>,
    /// Counter value when `sync=0` writes were first left buffered.
    buffered_since: Option<u64>,
    group_commits: u64,
    group_commit_writes: u64,
    /// Group commits timed, the counter ticks they took in all, and the
    /// longest (see [`Store::commit_latency_us`]).
    commit_ticks: (u64, u64, u64),
    /// See [`Store::writes_during_flush`].
    writes_during_flush: u64,
    cache: Option<Arc<StoreCache>>,
    recorder: Arc<Recorder>,
    /// The key space the last benchmark fill loaded into this store.
    loaded_keys: u64,
    /// Where the next active-expiry step starts (empty: the first key).
    expire_cursor: Vec<u8>,
    /// Keys the active-expiry steps deleted.
    expired_keys: u64,
    /// Whether any key may have an expiry: unknown (true) when opened, false
    /// after a whole pass found none, true again when one is written.
    may_expire: bool,
    /// A key with an expiry was seen (or written) in the current pass.
    expiring_seen: bool,
}

impl Store {
    /// The service state around an opened store. Its compactions drop
    /// expired values from then on.
    pub fn new(mut db: lsm::db::Db<Disk>, clock: Clock) -> Store {
        db.set_compaction_filter(Some(Arc::new(Expired {
            wall_us: clock.wall_us,
        })));
        static OPENED: AtomicU64 = AtomicU64::new(0);
        Store {
            db,
            clock,
            id: OPENED.fetch_add(1, Ordering::Relaxed),
            written: 0,
            durable: 0,
            failed: None,
            buffered_since: None,
            group_commits: 0,
            group_commit_writes: 0,
            commit_ticks: (0, 0, 0),
            writes_during_flush: 0,
            cache: None,
            recorder: Arc::new(Recorder::new(MAX_BYTES)),
            loaded_keys: 0,
            expire_cursor: Vec::new(),
            expired_keys: 0,
            may_expire: true,
            expiring_seen: false,
        }
    }

    /// The store, for reads and reports.
    pub fn db(&self) -> &lsm::db::Db<Disk> {
        &self.db
    }

    /// The caller waited out the next write's level-0 slowdown itself,
    /// without the store's lock ([`lsm::db::Db::note_write_delayed`]).
    pub fn note_write_delayed(&mut self) {
        self.db.note_write_delayed();
    }

    /// The handle that runs the store's flushes and compactions on another
    /// core, for a store opened with `Options::background` (see
    /// [`lsm::db::Background`]): it needs nothing the store's lock
    /// protects, and does nothing once the store is closed.
    pub fn background(&self) -> Background<Disk> {
        self.db.background()
    }

    /// The time now, in Unix milliseconds.
    pub fn now_ms(&self) -> u64 {
        self.clock.wall_ms()
    }

    /// The largest string a key can hold here: the largest value this disk
    /// takes ([`lsm::db::Db::max_value_len`]) less the stored header.
    pub fn max_string_len(&self) -> usize {
        self.db.max_value_len().saturating_sub(value::MAX_HEADER)
    }

    /// What `key` holds, or `None` if nothing (or something expired).
    pub fn get(&self, key: &[u8]) -> Result<Option<Entry>> {
        self.get_at(key, || self.now_ms())
    }

    /// What `key` holds at `now_ms` (a command's one reading of the clock:
    /// every key it looks at expires or not at the same instant, and the
    /// clock, a call into the emulator under QEMU, is read once, and only
    /// for a value that can expire).
    pub fn get_at(&self, key: &[u8], now_ms: impl FnOnce() -> u64) -> Result<Option<Entry>> {
        let mut value = Vec::new();
        Ok(self
            .get_into(key, now_ms, &mut value)?
            .map(|(kind, expires_at)| Entry {
                kind,
                expires_at,
                value,
            }))
    }

    /// What `key` holds, its payload into `value` (cleared first): its kind
    /// and expiry, or `None`. The payload is copied once, from where the
    /// store keeps it, past its header; a caller that keeps `value` between
    /// reads allocates nothing. `now_ms` is asked only of a value that can
    /// expire (under QEMU each reading of the clock is a call into the
    /// emulator).
    pub fn get_into(
        &self,
        key: &[u8],
        now_ms: impl FnOnce() -> u64,
        value: &mut Vec<u8>,
    ) -> Result<Option<(value::Kind, Option<u64>)>> {
        value.clear();
        let mut now_ms = Some(now_ms);
        let mut head = Ok(None);
        let mut stats = LookupStats::default();
        self.db.get_visit(key, None, &mut stats, &mut |stored| {
            head = value::decode(stored).map(|raw| {
                let now = raw.expires_at.and_then(|_| now_ms.take()).map(|f| f());
                if now.is_some_and(|now| raw.is_expired(now)) {
                    return None;
                }
                if value.capacity() == 0 {
                    // One allocation of the right size, not the growth
                    // path's (~65 instructions more a GET).
                    *value = Vec::with_capacity(raw.value.len());
                }
                unaligned::extend_short(value, raw.value);
                Some((raw.kind, raw.expires_at))
            });
        })?;
        head.map_err(bad_value)
    }

    /// Applies `batch` now (readers see it at once) and returns the ticket
    /// that says when it is durable: after the next [`Store::commit`].
    /// An invalid or refused write fails here, alone.
    pub fn write_deferred(&mut self, mut batch: WriteBatch) -> Result<Ticket> {
        let expiring = expiring_in(&batch);
        self.write_deferred_known(&mut batch, expiring)
    }

    /// [`Store::write_deferred`] of a batch whose writer knows whether a
    /// value in it has an expiry (`expiring`), so that the store does not
    /// parse the batch to learn it (~60 guest instructions a SET). The
    /// batch stays the caller's, to reset and fill again
    /// ([`lsm::db::Db::write_batch`]).
    pub fn write_deferred_known(
        &mut self,
        batch: &mut WriteBatch,
        expiring: bool,
    ) -> Result<Ticket> {
        self.note_expiring(expiring);
        self.db.write_batch(batch, false)?;
        self.written += 1;
        Ok(Ticket(self.written))
    }

    /// (group commits, deferred writes they made durable) so far.
    pub fn group_stats(&self) -> (u64, u64) {
        (self.group_commits, self.group_commit_writes)
    }

    /// Applies `batch` and makes it (and everything before it) durable
    /// before returning.
    pub fn write(&mut self, batch: WriteBatch) -> Result<()> {
        self.write_deferred(batch)?;
        self.commit()
    }

    /// Applies `batch` without waiting for the disk (`sync=0`): it is
    /// written out within [`Store::wal_loss_bound_ms`], by [`Store::tick`].
    /// `expiring` as [`Store::write_deferred_known`] takes it.
    pub fn write_buffered(&mut self, batch: &mut WriteBatch, expiring: bool) -> Result<()> {
        self.note_expiring(expiring);
        self.db.write_batch(batch, false)?;
        if self.buffered_since.is_none() {
            // Only the first write of a window reads the clock: under
            // QEMU's TCG each read is a call out of the generated code.
            self.buffered_since = Some(self.clock.counter());
        }
        Ok(())
    }

    /// Starts the write-out clock for deferred writes no commit will cover
    /// soon (`appendfsync everysec` or `no`): they then reach the disk within
    /// [`Store::wal_loss_bound_ms`], as `sync=0` writes do.
    pub fn note_unsynced(&mut self) {
        if self.pending() > 0 {
            let now = self.clock.counter();
            self.buffered_since.get_or_insert(now);
        }
    }

    /// The counter's value from which [`tick`](Self::tick),
    /// [`note_unsynced`](Self::note_unsynced) or
    /// [`idle_compaction`](Self::idle_compaction) may have work: 0 if now,
    /// `u64::MAX` if none until something changes (what
    /// [`StoreCell::has_upkeep`] asks without a lock).
    fn upkeep_due_at(&self) -> u64 {
        if !self.db.options().background && self.db.seek_compaction_pending() {
            return 0;
        }
        match self.buffered_since {
            Some(since) => since.saturating_add(self.writeout_ticks()),
            // Deferred writes with no clock yet: `note_unsynced` starts it.
            None if self.pending() > 0 => 0,
            None => u64::MAX,
        }
    }

    fn writeout_ticks(&self) -> u64 {
        self.clock.hz / 1_000_000 * WAL_WRITEOUT_US
    }

    /// Whether a step of the active expiry has keys to look at.
    pub fn may_expire(&self) -> bool {
        self.may_expire
    }

    /// Writes out `sync=0` writes that have waited [`WAL_WRITEOUT_US`];
    /// the owner calls it at least `clock.tick_hz` times a second and
    /// between benchmark operations.
    pub fn tick(&mut self) -> Result<()> {
        let Some(since) = self.buffered_since else {
            return Ok(());
        };
        // Compared in counter ticks: this runs once per benchmark operation,
        // and a conversion to microseconds is a 128-bit division.
        if self.clock.counter().wrapping_sub(since) >= self.writeout_ticks() {
            self.buffered_since = None;
            self.db.write_out_wal()?;
        }
        Ok(())
    }

    /// The most a power cut can lose of `sync=0` writes, in milliseconds:
    /// the write-out delay plus one period of the owner's tick.
    pub fn wal_loss_bound_ms(&self) -> u64 {
        WAL_WRITEOUT_US / 1000 + 1000 / self.clock.tick_hz.max(1)
    }

    /// Makes every write so far durable, deferred or buffered.
    pub fn sync(&mut self) -> Result<()> {
        if self.pending() > 0 {
            return self.commit();
        }
        self.db.sync_wal()?;
        self.buffered_since = None;
        Ok(())
    }

    /// A cursor at the first key `>= start`, for a scan of at most `limit`
    /// keys; the trace records the scan before its blocks are read.
    pub fn scan(&self, start: &[u8], limit: usize) -> Result<DbIter<'_, Disk>> {
        self.recorder.scan(start, limit);
        let mut it = self.db.iter(None)?;
        it.seek(start)?;
        Ok(it)
    }

    /// Writes the memtable to a table (`FLUSH`).
    pub fn flush(&mut self) -> Result<()> {
        self.sync()?;
        self.db.flush()
    }

    /// Deletes every key (`FLUSHALL`): the writes before it are made
    /// durable first (their tickets settle), then one manifest edit drops
    /// every table and memtable ([`lsm::db::Db::clear`]); durable when
    /// this returns, whatever the store held.
    pub fn clear(&mut self) -> Result<()> {
        self.sync()?;
        self.db.clear()?;
        self.loaded_keys = 0;
        Ok(())
    }

    /// Compacts every level into the bottom one (`COMPACT`), stopping at a
    /// safe point with [`Error::Interrupted`] when `stop` says so.
    pub fn compact_all(&mut self, stop: &mut dyn FnMut() -> bool) -> Result<()> {
        self.sync()?;
        self.db.compact_all_with(stop)
    }

    /// Checks every checksum and invariant (`VERIFY`), stopping early (and
    /// saying so in the report) when `stop` says so.
    pub fn verify(&self, stop: &mut dyn FnMut() -> bool) -> VerifyReport {
        self.db.verify_with(stop)
    }

    /// The store's counters.
    pub fn stats(&self) -> DbStats {
        self.db.stats()
    }

    /// Puts `cache` under the store (every block read goes through it, and
    /// under AC-Key every point lookup); `None` takes it away. The trace
    /// recorder sits in front of it only while it records
    /// ([`start_trace`](Self::start_trace)): otherwise every lookup would
    /// pay the wrapper's call and check (~38 guest instructions a lookup,
    /// ~21 a write's invalidation) for nothing.
    pub fn set_cache(&mut self, cache: Option<Arc<StoreCache>>) {
        self.cache = cache;
        self.attach_cache(true);
    }

    /// Puts the store's cache under the store, through the recorder while
    /// it records. A `fresh` cache is emptied as it is attached (it has not
    /// seen the writes made without it); the same cache given another
    /// front keeps what it holds.
    fn attach_cache(&mut self, fresh: bool) {
        let Some(c) = self.cache.clone() else {
            self.db.set_block_cache(None);
            self.db.set_point_cache(None);
            return;
        };
        let (blocks, points): (
            Arc<dyn BlockCache + Send + Sync>,
            Arc<dyn PointCache + Send + Sync>,
        ) = if self.recorder.is_recording() {
            let t = Arc::new(Traced::new(c, self.recorder.clone()));
            (t.clone(), t)
        } else {
            (c.clone(), c)
        };
        self.db.set_block_cache(Some(blocks));
        if fresh {
            self.db.set_point_cache(Some(points));
        } else {
            self.db.refront_point_cache(Some(points));
        }
    }

    /// Starts recording the cache's requests (`DEBUG TRACE START`): a new
    /// trace, with the recorder put in front of the cache, which keeps
    /// what it holds.
    pub fn start_trace(&mut self) {
        self.recorder.start();
        self.attach_cache(false);
    }

    /// Stops recording and takes the recorder from in front of the cache;
    /// the text stays until the next start.
    pub fn stop_trace(&mut self) -> Summary {
        let summary = self.recorder.stop();
        self.attach_cache(false);
        summary
    }

    /// The read cache, if one is set.
    pub fn cache(&self) -> Option<&Arc<StoreCache>> {
        self.cache.as_ref()
    }

    /// The recorder of the store's cache requests (`DEBUG TRACE`).
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    /// The key space the last benchmark fill loaded (0: none since the store
    /// was opened); benchmark reads default to it.
    pub fn loaded_keys(&self) -> u64 {
        self.loaded_keys
    }

    /// Records the key space a benchmark fill loaded.
    pub fn set_loaded_keys(&mut self, keys: u64) {
        self.loaded_keys = keys;
    }

    /// The compaction that reads asked for, if any: a table that lookups
    /// had to look past too often (`lsm`'s seek budget). Writes run their
    /// compactions as they go; a store that is only read gets its tree
    /// made shallower here, when the owner is idle, as LevelDB's
    /// background thread does during its reads. Returns whether it ran one.
    /// A store in background mode leaves it to its [`Store::background`]
    /// handle (the lookup that asked made it pending there).
    pub fn idle_compaction(&mut self) -> Result<bool> {
        if self.db.options().background || !self.db.seek_compaction_pending() {
            return Ok(false);
        }
        let r = self.db.maintenance();
        if r.is_err() {
            // Once per charge that used a budget up, not every round.
            self.db.forget_seek_compaction();
        }
        r
    }

    /// One step of Redis's active expiry: visits at most `budget` keys,
    /// from where the last step stopped (from the first key again once a
    /// step reaches the last), and deletes those that have expired; returns
    /// how many it deleted. The deletions are buffered writes (`sync=0`): one
    /// that a crash loses is harmless, as the key reads as expired anyway.
    /// Reads of expired keys already miss, and compactions drop them; this
    /// reclaims the keys that nobody reads and no compaction reaches soon.
    pub fn expire_step(&mut self, budget: usize) -> Result<u64> {
        if !self.may_expire {
            return Ok(0);
        }
        let now = self.now_ms();
        let mut dead = WriteBatch::new();
        // Its blocks go through the read cache as a scan's do, so the trace
        // says so (without it they would be blocks of no lookup or scan).
        self.recorder.scan(&self.expire_cursor, budget);
        let mut it = self.db.iter(None)?;
        it.seek(&self.expire_cursor)?;
        for _ in 0..budget {
            if !it.valid() {
                break;
            }
            // A value this code cannot read is VERIFY's to report.
            if let Ok(v) = value::decode(it.value()) {
                self.expiring_seen |= v.expires_at.is_some();
                if v.is_expired(now) {
                    dead.delete(it.key());
                }
            }
            it.next()?;
        }
        self.expire_cursor.clear();
        if it.valid() {
            self.expire_cursor.extend_from_slice(it.key());
        } else {
            // A whole pass over the keys: if none had an expiry, there is
            // nothing to look for until a write brings one.
            self.may_expire = core::mem::take(&mut self.expiring_seen);
        }
        drop(it);
        let n = u64::from(dead.count());
        if n > 0 {
            self.write_buffered(&mut dead, false)?;
            self.expired_keys += n;
        }
        Ok(n)
    }

    /// Notes that a write set a value with an expiry (`expiring`): the
    /// active expiry then has work again, and its pass under way will not
    /// conclude that none is left (the key may sit behind its cursor).
    #[inline]
    fn note_expiring(&mut self, expiring: bool) {
        if expiring {
            self.may_expire = true;
            self.expiring_seen = true;
        }
    }

    /// Keys the active expiry deleted since the store was opened (Redis's
    /// `expired_keys`).
    pub fn expired_keys(&self) -> u64 {
        self.expired_keys
    }

    /// Makes everything durable (WAL synced, memtable flushed to a table)
    /// and closes the store: the service's exit.
    pub fn close(mut self) -> Result<()> {
        let result = self.sync().and_then(|()| self.db.flush());
        let closed = self.db.close().map(|_| ());
        result.and(closed)
    }
}

/// Whether a value `batch` writes has an expiry (a tag byte per value).
fn expiring_in(batch: &WriteBatch) -> bool {
    let mut expiring = false;
    let _ = batch.for_each(|_, _, _, v| {
        expiring |= value::has_expiry(v);
        Ok(())
    });
    expiring
}

#[cfg(test)]
mod tests;

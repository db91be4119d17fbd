//! [`StoreCell`]: the lock every session takes to reach the [`Store`], and
//! what the kernel's loops may learn of it without taking it.

use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use lsm::percore::{CoreIndex, ReadGuard, ReadMostly, WriteGuard};

use super::{Commit, Store, Ticket};

/// The store's lock, as its owner keeps it: `None` while the service is
/// stopped. Sessions lock it per command: [`lock`](Self::lock) for
/// anything that may change it, [`read`](Self::read) for lookups and
/// scans, which then run on several cores at once (the store's `&self`
/// methods are `Sync`: what they share is behind its own short locks).
///
/// A [`ReadMostly`] lock: a reader writes only its own core's counter, so
/// lookups on two cores do not pass the lock's cache line between them on
/// every lookup (as a reader count in one word would). Spinning, not a
/// ticket lock: a ticket lock hands the lock to a waiter whose vCPU the
/// host may not be running, and under QEMU on a busy host every core then
/// waits for that one to be scheduled (a network client's GET beside a
/// console `BENCH readrandom` took 26 ms with one, 0.14 ms without). A
/// core must not take `read` again while it reads (see [`ReadMostly`]).
pub struct StoreCell {
    store: ReadMostly<Option<Store>>,
    upkeep: Upkeep,
}

/// What the kernel's loops ask of the store every round, published by each
/// exclusive guard as it lets go, so that a round with nothing to do takes
/// no lock at all. A core that took the shared lock 100 times a second to
/// ask (the network core, with no client, during a console BENCH) made the
/// writer hand the lock over each time, to a vCPU that the host, with three
/// busy vCPUs on two cores, had often not scheduled: the writer spun in
/// `lock` for a quarter of its time, the asking core for a third of its.
struct Upkeep {
    /// Writes wait for a commit ([`Store::pending`] above 0).
    pending: AtomicBool,
    /// The counter's value from which [`Store::tick`],
    /// [`Store::note_unsynced`] or [`Store::idle_compaction`] may have work
    /// (0: now; `u64::MAX`: none until the next write).
    due_at: AtomicU64,
    /// [`Store::may_expire`].
    may_expire: AtomicBool,
    /// No background core: lookups may ask for a compaction (seeks) under
    /// the shared lock, which publishes nothing, so that is asked of the
    /// store itself.
    inline: AtomicBool,
    /// [`Store::max_string_len`] (0: no store), which a write checks its
    /// value against.
    max_string_len: AtomicUsize,
    /// The last ticket settled (durable or failed; `u64::MAX` with no
    /// store, whose close made everything durable), and the last durable:
    /// a connection holding replies asks them every round, and at `-c 10`
    /// SETs the exclusive lock it took to ask the store was ~280
    /// instructions a SET.
    settled: AtomicU64,
    durable: AtomicU64,
}

impl Upkeep {
    const fn new() -> Self {
        Self {
            pending: AtomicBool::new(false),
            due_at: AtomicU64::new(u64::MAX),
            may_expire: AtomicBool::new(false),
            inline: AtomicBool::new(false),
            max_string_len: AtomicUsize::new(0),
            settled: AtomicU64::new(u64::MAX),
            durable: AtomicU64::new(0),
        }
    }

    fn publish(&self, store: Option<&Store>) {
        let (pending, due_at, may_expire, inline, max_string_len) = match store {
            None => (false, u64::MAX, false, false, 0),
            Some(s) => (
                s.pending() > 0,
                s.upkeep_due_at(),
                s.may_expire,
                !s.db.options().background,
                s.max_string_len(),
            ),
        };
        let (settled, durable) = store.map_or((u64::MAX, u64::MAX), |s| {
            (s.settled_through(), s.durable_through())
        });
        self.settled.store(settled, Ordering::Release);
        self.durable.store(durable, Ordering::Release);
        self.max_string_len.store(max_string_len, Ordering::Relaxed);
        self.pending.store(pending, Ordering::Relaxed);
        self.due_at.store(due_at, Ordering::Relaxed);
        self.may_expire.store(may_expire, Ordering::Relaxed);
        self.inline.store(inline, Ordering::Relaxed);
    }
}

/// What [`StoreCell::lock`] gives: the store, or `None`, exclusively; it
/// publishes what the loops ask (see [`StoreCell::has_upkeep`]) as it goes.
pub struct StoreCellGuard<'a> {
    guard: WriteGuard<'a, Option<Store>>,
    upkeep: &'a Upkeep,
}

impl core::ops::Deref for StoreCellGuard<'_> {
    type Target = Option<Store>;
    fn deref(&self) -> &Option<Store> {
        &self.guard
    }
}

impl core::ops::DerefMut for StoreCellGuard<'_> {
    fn deref_mut(&mut self) -> &mut Option<Store> {
        &mut self.guard
    }
}

impl Drop for StoreCellGuard<'_> {
    fn drop(&mut self) {
        self.upkeep.publish(self.guard.as_ref());
    }
}

/// What [`StoreCell::read`] gives: the store, or `None`, shared.
pub type StoreCellReadGuard<'a> = ReadGuard<'a, Option<Store>>;

impl StoreCell {
    /// A cell holding `store` (`None`: no store yet), its readers all
    /// counted in one slot (host tests, one core).
    pub const fn new(store: Option<Store>) -> Self {
        Self::per_core(store, CoreIndex::Shared)
    }

    /// A cell whose readers are counted per `core` (the kernel's core
    /// index). What the loops ask is published at the first [`lock`]:
    /// put the store in through it.
    ///
    /// [`lock`]: Self::lock
    pub const fn per_core(store: Option<Store>, core: CoreIndex) -> Self {
        Self {
            store: ReadMostly::new(store, core),
            upkeep: Upkeep::new(),
        }
    }

    /// The store, exclusively (writes, commits, maintenance, anything
    /// that needs `&mut Store`).
    #[inline]
    pub fn lock(&self) -> StoreCellGuard<'_> {
        StoreCellGuard {
            guard: self.store.write(),
            upkeep: &self.upkeep,
        }
    }

    /// The store, exclusively, for a write: at the store's level-0
    /// slowdown trigger, after waiting the write's delay out without the
    /// lock (as LevelDB sleeps with its mutex let go: held through it,
    /// every other session's lookups waited the millisecond too), which
    /// the store is then told so as not to delay the write again.
    pub fn lock_for_write(&self) -> StoreCellGuard<'_> {
        let delay = self.read().as_ref().and_then(|s| s.db().write_delay());
        if let Some(d) = delay {
            d(lsm::db::WRITE_SLOWDOWN_US);
        }
        let mut guard = self.lock();
        if let (Some(_), Some(s)) = (delay, guard.as_mut()) {
            s.note_write_delayed();
        }
        guard
    }

    /// The store, exclusively, unless another core has it or waits for
    /// it (see [`ReadMostly::try_write`]).
    pub fn try_lock(&self) -> Option<StoreCellGuard<'_>> {
        Some(StoreCellGuard {
            guard: self.store.try_write()?,
            upkeep: &self.upkeep,
        })
    }

    /// Whether the store runs its compactions on the owner's core (no
    /// background core), as of the last exclusive lock, without a lock.
    pub fn compacts_inline(&self) -> bool {
        self.upkeep.inline.load(Ordering::Relaxed)
    }

    /// Where the write with ticket `t` stands ([`Store::status`]), with
    /// no store `Durable` (its close made every write durable). Durable and
    /// pending are read from what the last exclusive lock published as it
    /// let go (tickets are handed out under that lock, so a ticket is never
    /// newer than what was published after it); only a ticket a failed
    /// commit may have covered takes the lock to ask.
    pub fn commit_status(&self, t: Ticket) -> Commit {
        if t.0 <= self.upkeep.durable.load(Ordering::Acquire) {
            return Commit::Durable;
        }
        if t.0 > self.upkeep.settled.load(Ordering::Acquire) {
            return Commit::Pending;
        }
        self.lock()
            .as_ref()
            .map_or(Commit::Durable, |s| s.status(t))
    }

    /// The store, shared with other readers (lookups and scans).
    pub fn read(&self) -> StoreCellReadGuard<'_> {
        self.store.read()
    }

    /// Whether writes wait for a commit, as of the last exclusive lock:
    /// asked without a lock.
    pub fn has_pending(&self) -> bool {
        self.upkeep.pending.load(Ordering::Relaxed)
    }

    /// Whether [`Store::tick`], [`Store::note_unsynced`] or
    /// [`Store::idle_compaction`] may have work at counter value `now`, as
    /// of the last exclusive lock; without a lock, but for a store with no
    /// background core, whose lookups may have asked for a compaction since
    /// (under the shared lock).
    pub fn has_upkeep(&self, now: u64) -> bool {
        if now >= self.upkeep.due_at.load(Ordering::Relaxed) {
            return true;
        }
        self.upkeep.inline.load(Ordering::Relaxed)
            && self
                .read()
                .as_ref()
                .is_some_and(|s| s.db.seek_compaction_pending())
    }

    /// [`Store::max_string_len`] as of the last exclusive lock, without a
    /// lock (it is fixed for a store's life); `None` while there is no
    /// store.
    pub fn max_string_len(&self) -> Option<usize> {
        match self.upkeep.max_string_len.load(Ordering::Relaxed) {
            0 => None,
            n => Some(n),
        }
    }

    /// Whether a step of the active expiry may find keys, as of the last
    /// exclusive lock ([`Store::may_expire`]), without a lock.
    pub fn may_expire(&self) -> bool {
        self.upkeep.may_expire.load(Ordering::Relaxed)
    }
}

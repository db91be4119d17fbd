//! The read cache as the store plugs it in: [`ReadCache`]s behind spin
//! locks, serving the store's blocks (`lsm::db::BlockCache`) and, under
//! AC-Key, its point lookups (`lsm::db::PointCache`).
//!
//! With several cores reading at once one lock would serialize them, so
//! the cache can be split, as RocksDB's block cache is, into shards: each
//! a whole cache of its policy with an equal part of the budget, a block
//! or key going to the shard its hash picks. One shard (the default, and
//! what `cachesim` replays) is exactly one cache; more trade a little of
//! the policies' view of the whole for locks that cores rarely share. A
//! cache made [`for_cores`](StoreCache::for_cores) splits again when its
//! budget changes, so that no shard falls under [`MIN_SHARD_BYTES`].
//!
//! ```text
//!   Db::get -> PointCache::lookup (KV, KP: AC-Key only; a silent miss otherwise)
//!           -> BlockCache::get_block (filter, index, data: every policy)
//! ```
//!
//! Blocks are keyed by (table, offset) and charged their length; KV entries
//! their key and value, KP entries their key and a [`BlockPointer`]. Policy
//! switches and resizes ([`StoreCache::set_policy`], [`StoreCache::resize`])
//! take effect on the next lookup; a switch empties the cache, so nothing
//! stale survives it.

use alloc::boxed::Box;
use alloc::collections::BTreeSet;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::hash::{BuildHasher, Hash};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use lsm::db::{BlockKind, BlockPointer};
use spin::{Mutex, MutexGuard};

use crate::worth::MetaRate;
use crate::{AcKeyConfig, AcKeyStats, EReads, Policy, ReadCache, Stats};

mod serve;

/// The cache the store holds: keys and values as bytes, KP pointers to data
/// blocks, blocks by (table, offset).
pub type StoreReadCache = ReadCache<Box<[u8]>, Box<[u8]>, BlockPointer, (u64, u64), Arc<[u8]>>;

/// Block lookups by kind, indexed as [`BlockKind::ALL`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KindStats {
    /// Lookups the cache served.
    pub hits: [u64; 3],
    /// Lookups it did not.
    pub misses: [u64; 3],
}

fn kind_index(kind: BlockKind) -> usize {
    match kind {
        BlockKind::Data => 0,
        BlockKind::Index => 1,
        BlockKind::Filter => 2,
    }
}

struct State {
    cache: StoreReadCache,
    kinds: KindStats,
    meta: MetaRate,
    /// Every block put in `cache` since it was last emptied, by table,
    /// including those evicted since: what a deleted table's erase visits
    /// instead of every entry (a walk of the whole shard, under its lock,
    /// for each compaction, made the lookups beside it wait). Bounded by
    /// the blocks of the tables alive.
    blocks: BTreeSet<(u64, u64)>,
}

impl State {
    /// Empties the shard under `policy`: its entries, its counters, and the
    /// miss rate its point entries are valued by (which described the
    /// entries now gone).
    fn restart(&mut self, policy: Policy) {
        self.cache.set_policy(policy);
        self.blocks.clear();
        self.kinds = KindStats::default();
        self.meta = MetaRate::default();
    }
}

/// The most shards a cache is split into.
pub const MAX_SHARDS: usize = 64;
/// The least budget a shard is given when the shards are counted from the
/// budget. RocksDB's LRU shards keep 512 KiB; an adaptive policy needs
/// more room to adapt in: AC-Key at 1 MiB in two shards of 512 KiB made
/// 0.239 disk reads per ycsb-c lookup, in one 0.227 (LRU 0.397 either way).
pub const MIN_SHARD_BYTES: u64 = 2 << 20;

/// Shards for `cores` cores reading at once within `capacity_bytes`: a
/// power of two, about twice the cores (so two of them rarely meet on one
/// lock), at most as many as leave each [`MIN_SHARD_BYTES`]; 1 for one core.
pub fn shards_for(cores: usize, capacity_bytes: u64) -> usize {
    if cores <= 1 {
        return 1;
    }
    let want = (2 * cores).next_power_of_two().min(MAX_SHARDS);
    let fit = (capacity_bytes / MIN_SHARD_BYTES).max(1);
    let fit = 1usize << (63 - fit.leading_zeros());
    want.min(fit)
}

/// [`StoreReadCache`] shards behind spin locks, for `Db::set_block_cache`
/// and `Db::set_point_cache` (the same `Arc` for both).
pub struct StoreCache {
    /// Every shard the cache may use; the first `active` are in use.
    shards: Box<[Mutex<State>]>,
    /// How many shards are in use. Changed only with every shard locked
    /// (see [`StoreCache::resize`]); whoever locks a shard checks it again
    /// once it holds the lock.
    active: AtomicUsize,
    /// The cores the shard count follows, for a cache made
    /// [`for_cores`](Self::for_cores); `None`: fixed.
    cores: Option<usize>,
    /// Held by a resize throughout, so that two sessions' resizes do not
    /// interleave their shard counts and budgets.
    resizing: Mutex<()>,
    /// Picks a shard; fixed, so a key always maps to the same one.
    hasher: hashbrown::DefaultHashBuilder,
    e_reads: EReads,
    /// Whether the policy keeps point entries (AC-Key's KV and KP), so the
    /// store's point hooks, called on every lookup and write, return at
    /// once under the block-only policies: no lock, no key copied.
    points: AtomicBool,
}

impl StoreCache {
    /// An empty cache of `capacity_bytes` under `policy`.
    pub fn new(policy: Policy, capacity_bytes: u64) -> Self {
        Self::with_config(
            policy,
            capacity_bytes,
            AcKeyConfig::default(),
            EReads::default(),
        )
    }

    /// As [`new`](Self::new), with AC-Key's knobs and what its E counts.
    pub fn with_config(
        policy: Policy,
        capacity_bytes: u64,
        config: AcKeyConfig,
        e_reads: EReads,
    ) -> Self {
        Self::sharded(policy, capacity_bytes, config, e_reads, 1)
    }

    /// As [`with_config`](Self::with_config), split into `shards` (at
    /// least 1, at most [`MAX_SHARDS`]) with the budget shared equally.
    pub fn sharded(
        policy: Policy,
        capacity_bytes: u64,
        config: AcKeyConfig,
        e_reads: EReads,
        shards: usize,
    ) -> Self {
        let n = shards.clamp(1, MAX_SHARDS);
        let shards: Vec<Mutex<State>> = (0..n)
            .map(|i| {
                Mutex::new(State {
                    cache: ReadCache::with_config(policy, share(capacity_bytes, n, i), config),
                    kinds: KindStats::default(),
                    meta: MetaRate::default(),
                    blocks: BTreeSet::new(),
                })
            })
            .collect();
        StoreCache {
            shards: shards.into_boxed_slice(),
            active: AtomicUsize::new(n),
            cores: None,
            resizing: Mutex::new(()),
            hasher: hashbrown::DefaultHashBuilder::default(),
            e_reads,
            points: AtomicBool::new(policy == Policy::AcKey),
        }
    }

    /// As [`with_config`](Self::with_config), split for `cores` cores
    /// reading at once ([`shards_for`]), and split again by each
    /// [`resize`](Self::resize): a budget cut to 512 KiB after a boot
    /// with 255 MB in eight shards would otherwise leave eight caches of
    /// 64 KiB, where three index blocks of 20 KB fill one (LRU made 0.75
    /// disk reads per ycsb-c lookup there, one cache of 512 KiB 0.48).
    pub fn for_cores(
        policy: Policy,
        capacity_bytes: u64,
        config: AcKeyConfig,
        e_reads: EReads,
        cores: usize,
    ) -> Self {
        let most = shards_for(cores, u64::MAX);
        let mut c = Self::sharded(policy, capacity_bytes, config, e_reads, most);
        c.cores = Some(cores);
        c.split(capacity_bytes, shards_for(cores, capacity_bytes));
        c
    }

    /// How many shards the cache is split into.
    pub fn shard_count(&self) -> usize {
        self.active.load(Ordering::Acquire)
    }

    /// The shard `pick(n)` names among the `n` in use, locked; picked again
    /// if the cache was split anew meanwhile. A cache of one shard (made so,
    /// never split) asks `pick` nothing, so a key is not even hashed.
    fn lock_picked(&self, pick: impl Fn(usize) -> usize) -> MutexGuard<'_, State> {
        if self.shards.len() == 1 {
            return self.shards[0].lock();
        }
        loop {
            let n = self.shard_count();
            let g = self.shards[pick(n)].lock();
            if self.shard_count() == n {
                return g;
            }
        }
    }

    /// [`lock_picked`](Self::lock_picked), unless the shard is taken.
    fn try_lock_picked(&self, pick: impl Fn(usize) -> usize) -> Option<MutexGuard<'_, State>> {
        if self.shards.len() == 1 {
            return self.shards[0].try_lock();
        }
        let n = self.shard_count();
        let g = self.shards[pick(n)].try_lock()?;
        (self.shard_count() == n).then_some(g)
    }

    /// The shard of `key`'s point entries, locked.
    fn point_shard(&self, key: &(impl Hash + ?Sized)) -> MutexGuard<'_, State> {
        // The high bits: hashbrown's buckets use the low ones.
        self.lock_picked(|n| (self.hasher.hash_one(key) >> 40) as usize % n)
    }

    /// A block's shard, from its (table, offset) mixed by MurmurHash3's
    /// finalizer rather than the cache's seeded hasher: the same shard in
    /// every run (so runs compare), and evenly spread (with some of the
    /// seeded hasher's per-process seeds, the high bits of these small keys
    /// sent none of 64 tables' blocks to one shard of four).
    fn block_pick(table: u64, offset: u64) -> usize {
        let mut h = table.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ offset;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^= h >> 33;
        (h >> 40) as usize
    }

    /// A block's shard, locked.
    fn block_shard(&self, table: u64, offset: u64) -> MutexGuard<'_, State> {
        self.lock_picked(|n| Self::block_pick(table, offset) % n)
    }

    /// Runs `f` on the shard that holds `key`'s point entries.
    fn with_point<R>(&self, key: &[u8], f: impl FnOnce(&mut StoreReadCache) -> R) -> R {
        f(&mut self.point_shard(key).cache)
    }

    /// Runs `f` on every shard under its lock, one after the other. Do not
    /// call the store from inside `f`: the store takes the same locks.
    fn each(&self, mut f: impl FnMut(&mut State)) {
        for s in &self.shards[..self.shard_count()] {
            f(&mut s.lock());
        }
    }

    /// Runs `f` on every shard's cache under its lock (tests and tools that
    /// look inside). Do not call the store from inside `f`.
    pub fn each_shard(&self, mut f: impl FnMut(&mut StoreReadCache)) {
        self.each(|s| f(&mut s.cache));
    }

    /// Whether point entries are kept (see `points`).
    fn keeps_points(&self) -> bool {
        self.points.load(Ordering::Relaxed)
    }

    /// The policy in force.
    pub fn policy(&self) -> Policy {
        self.shards[0].lock().cache.policy()
    }

    /// Switches policy; the cache restarts empty with the same budget.
    pub fn set_policy(&self, policy: Policy) {
        // The shards out of use too, so that they come back under it.
        for s in self.shards.iter() {
            s.lock().restart(policy);
        }
        self.points
            .store(policy == Policy::AcKey, Ordering::Relaxed);
    }

    /// Changes the budget, evicting at once if it shrank. A cache made
    /// [`for_cores`](Self::for_cores) is split anew if the budget calls
    /// for another number of shards; it then restarts empty, as after a
    /// policy switch.
    pub fn resize(&self, capacity_bytes: u64) {
        let n = match self.cores {
            Some(cores) => shards_for(cores, capacity_bytes),
            None => self.shard_count(),
        };
        self.split(capacity_bytes, n);
    }

    /// Shares `capacity_bytes` among `n` shards (at most those there are).
    fn split(&self, capacity_bytes: u64, n: usize) {
        let _one_at_a_time = self.resizing.lock();
        let n = n.clamp(1, self.shards.len());
        if n == self.shard_count() {
            let mut i = 0;
            self.each(|s| {
                s.cache.resize(share(capacity_bytes, n, i));
                i += 1;
            });
            return;
        }
        // Every shard locked, in order (nothing else holds two), so that
        // no lookup or insert runs while entries change shards; they are
        // dropped instead of moved.
        let mut all: Vec<MutexGuard<'_, State>> = self.shards.iter().map(|s| s.lock()).collect();
        for (i, s) in all.iter_mut().enumerate() {
            let policy = s.cache.policy();
            s.restart(policy);
            if i < n {
                s.cache.resize(share(capacity_bytes, n, i));
            }
        }
        self.active.store(n, Ordering::Release);
    }

    /// Counters and usage over all parts and shards.
    pub fn stats(&self) -> Stats {
        let mut total = Stats::default();
        self.each(|s| add_stats(&mut total, &s.cache.stats()));
        total
    }

    /// AC-Key's per-part counters and targets, under `ackey`, summed over
    /// the shards.
    pub fn ac_stats(&self) -> Option<AcKeyStats> {
        let mut total: Option<AcKeyStats> = None;
        self.each(|s| {
            if let Some(a) = s.cache.ac_stats() {
                let t = total.get_or_insert_with(AcKeyStats::default);
                add_stats(&mut t.total, &a.total);
                for (into, from) in [
                    (&mut t.kv, &a.kv),
                    (&mut t.kp, &a.kp),
                    (&mut t.block, &a.block),
                ] {
                    add_stats(&mut into.stats, &from.stats);
                    into.ghost_bytes += from.ghost_bytes;
                    into.ghost_hits += from.ghost_hits;
                }
                t.targets.point += a.targets.point;
                t.targets.kv += a.targets.kv;
                t.targets.kp += a.targets.kp;
                t.targets.block += a.targets.block;
                t.ghosts_enabled |= a.ghosts_enabled;
            }
        });
        total
    }

    /// Block lookups by kind since the last reset or switch.
    pub fn kind_stats(&self) -> KindStats {
        let mut k = KindStats::default();
        self.each(|s| {
            for i in 0..3 {
                k.hits[i] += s.kinds.hits[i];
                k.misses[i] += s.kinds.misses[i];
            }
        });
        k
    }

    /// Zeroes the counters.
    pub fn reset_stats(&self) {
        self.each(|s| {
            s.cache.reset_stats();
            s.kinds = KindStats::default();
        });
    }
}

/// Shard `i`'s part of `capacity` split `n` ways: the remainder goes to the
/// first shards, so the parts add up to the whole.
fn share(capacity: u64, n: usize, i: usize) -> u64 {
    let n = n as u64;
    capacity / n + u64::from((i as u64) < capacity % n)
}

fn add_stats(total: &mut Stats, s: &Stats) {
    total.hits += s.hits;
    total.misses += s.misses;
    total.inserts += s.inserts;
    total.evictions += s.evictions;
    total.used_bytes += s.used_bytes;
    total.capacity_bytes += s.capacity_bytes;
    total.disk_reads_saved += s.disk_reads_saved;
    total.entries += s.entries;
    total.ghost_entries += s.ghost_entries;
}

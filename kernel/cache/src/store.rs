//! The read cache as the store plugs it in: one [`ReadCache`] behind a lock,
//! serving the store's blocks (`lsm::db::BlockCache`) and, under AC-Key, its
//! point lookups (`lsm::db::PointCache`).
//!
//! ```text
//!   Db::get -> PointCache::lookup (KV, KP: AC-Key only; a silent miss otherwise)
//!           -> BlockCache::get_block (filter, index, data: every policy)
//! ```
//!
//! Blocks are keyed by (table, offset) and charged their length; KV entries
//! their key and value, KP entries their key and a [`BlockPointer`]. Policy
//! switches and resizes go through [`StoreCache::with`] and take effect on
//! the next lookup; a switch empties the cache, so nothing stale survives it.

use alloc::boxed::Box;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, Ordering};

use lsm::db::{BlockCache, BlockKind, BlockPointer, LookupStats, PointCache, PointHit as Found};
use spin::Mutex;

use crate::{AcKeyConfig, AcKeyStats, PointHit, Policy, ReadCache, Stats};

/// The cache the store holds: keys and values as bytes, KP pointers to data
/// blocks, blocks by (table, offset).
pub type StoreReadCache = ReadCache<Box<[u8]>, Box<[u8]>, BlockPointer, (u64, u64), Arc<[u8]>>;

/// Which reads make a point entry's worth (AC-Key's `b` in `E = b / s`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EReads {
    /// Every block the lookup needed below the memtables, whether the block
    /// cache had it or not: what a hit spares the tree, independent of what
    /// else happens to be cached (the default).
    #[default]
    Blocks,
    /// Only the device reads the lookup made: what a hit spared the disk
    /// when the entry was made.
    Disk,
}

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
}

/// [`StoreReadCache`] behind a spin lock, for `Db::set_block_cache` and
/// `Db::set_point_cache` (the same `Arc` for both).
pub struct StoreCache {
    state: Mutex<State>,
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
        StoreCache {
            state: Mutex::new(State {
                cache: ReadCache::with_config(policy, capacity_bytes, config),
                kinds: KindStats::default(),
            }),
            e_reads,
            points: AtomicBool::new(policy == Policy::AcKey),
        }
    }

    /// Runs `f` on the cache under its lock (`CACHE POLICY`, `CACHE SIZE`,
    /// `INFO cache`). Do not call the store from inside `f`: the store takes
    /// the same lock.
    pub fn with<R>(&self, f: impl FnOnce(&mut StoreReadCache) -> R) -> R {
        let mut s = self.state.lock();
        let r = f(&mut s.cache);
        // `f` may have switched the policy.
        self.points
            .store(s.cache.policy() == Policy::AcKey, Ordering::Relaxed);
        r
    }

    /// Whether point entries are kept (see `points`).
    fn keeps_points(&self) -> bool {
        self.points.load(Ordering::Relaxed)
    }

    /// The policy in force.
    pub fn policy(&self) -> Policy {
        self.with(|c| c.policy())
    }

    /// Switches policy; the cache restarts empty with the same budget.
    pub fn set_policy(&self, policy: Policy) {
        let mut s = self.state.lock();
        s.cache.set_policy(policy);
        s.kinds = KindStats::default();
        self.points
            .store(policy == Policy::AcKey, Ordering::Relaxed);
    }

    /// Changes the budget, evicting at once if it shrank.
    pub fn resize(&self, capacity_bytes: u64) {
        self.with(|c| c.resize(capacity_bytes));
    }

    /// Counters and usage over all parts.
    pub fn stats(&self) -> Stats {
        self.with(|c| c.stats())
    }

    /// AC-Key's per-part counters and targets, under `ackey`.
    pub fn ac_stats(&self) -> Option<AcKeyStats> {
        self.with(|c| c.ac_stats())
    }

    /// Block lookups by kind since the last reset or switch.
    pub fn kind_stats(&self) -> KindStats {
        self.state.lock().kinds
    }

    /// Zeroes the counters.
    pub fn reset_stats(&self) {
        let mut s = self.state.lock();
        s.cache.reset_stats();
        s.kinds = KindStats::default();
    }
}

impl BlockCache for StoreCache {
    fn get(&self, table: u64, offset: u64) -> Option<Arc<[u8]>> {
        self.get_block(table, offset, BlockKind::Data)
    }

    fn insert(&self, table: u64, offset: u64, block: Arc<[u8]>) {
        self.insert_block(table, offset, BlockKind::Data, block)
    }

    fn erase_table(&self, table: u64) {
        self.with(|c| c.retain_blocks(|h| h.0 != table));
    }

    fn get_block(&self, table: u64, offset: u64, kind: BlockKind) -> Option<Arc<[u8]>> {
        let mut s = self.state.lock();
        let b = s.cache.get_block(&(table, offset)).cloned();
        let i = kind_index(kind);
        if b.is_some() {
            s.kinds.hits[i] += 1;
        } else {
            s.kinds.misses[i] += 1;
        }
        b
    }

    fn insert_block(&self, table: u64, offset: u64, _kind: BlockKind, block: Arc<[u8]>) {
        let charge = block.len() as u64;
        // A block larger than the whole budget is simply not cached.
        let _ = self.with(|c| c.insert_block((table, offset), block, charge));
    }

    /// Free room of the budget: written tables' blocks fill it (see
    /// `offer_block`) so that reads after writes hit, as they would in a
    /// page cache, without displacing anything a small cache holds.
    fn room(&self) -> u64 {
        self.with(|c| room_of(&c.stats()))
    }

    fn offer_block(&self, table: u64, offset: u64, _kind: BlockKind, block: Arc<[u8]>) {
        let charge = block.len() as u64;
        self.with(|c| {
            if charge <= room_of(&c.stats()) {
                let _ = c.insert_block((table, offset), block, charge);
            }
        });
    }
}

/// Bytes the budget has left.
fn room_of(s: &Stats) -> u64 {
    s.capacity_bytes.saturating_sub(s.used_bytes)
}

impl PointCache for StoreCache {
    fn lookup(&self, key: &[u8]) -> Found {
        if !self.keeps_points() {
            return Found::Miss;
        }
        let key: Box<[u8]> = key.into();
        self.with(|c| match c.get_point(&key) {
            PointHit::Kv(v) => Found::Kv(v.to_vec()),
            PointHit::Kp(p) => Found::Kp(*p),
            PointHit::Miss => Found::Miss,
        })
    }

    fn insert(&self, key: &[u8], value: &[u8], ptr: BlockPointer, stats: &LookupStats) {
        if !self.keeps_points() {
            return;
        }
        let reads = match self.e_reads {
            EReads::Blocks => stats.block_reads,
            EReads::Disk => stats.disk_reads,
        };
        let klen = key.len() as u64;
        let (vcharge, pcharge) = (klen + value.len() as u64, klen + BlockPointer::CHARGE);
        // An entry larger than the whole budget is simply not cached (and
        // any older entry of the key is gone: nothing stale stays).
        let _ =
            self.with(|c| c.insert_point(key.into(), value.into(), vcharge, ptr, pcharge, reads));
    }

    fn promote(&self, key: &[u8], value: &[u8]) {
        if !self.keeps_points() {
            return;
        }
        let charge = (key.len() + value.len()) as u64;
        let key: Box<[u8]> = key.into();
        let _ = self.with(|c| c.promote(&key, value.into(), charge));
    }

    fn invalidate(&self, key: &[u8]) {
        // Under a block-only policy there is no point entry to go stale
        // (switching to AC-Key starts it empty).
        if !self.keeps_points() {
            return;
        }
        let key: Box<[u8]> = key.into();
        self.with(|c| c.invalidate(&key));
    }

    fn retain_pointers(&self, keep: &mut dyn FnMut(&[u8], &mut BlockPointer) -> bool) {
        if !self.keeps_points() {
            return;
        }
        self.with(|c| c.retain_kp(|k, p| keep(k, p)));
    }

    fn clear(&self) {
        // Blocks could stay (immutable, named by table numbers the store
        // never reuses), but the point parts cannot be emptied alone.
        self.with(|c| c.clear());
    }
}

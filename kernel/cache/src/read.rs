//! The store's view of its read cache: one object whose policy can change at
//! run time, with the point-lookup calls AC-Key needs and the block calls every
//! policy serves.
//!
//! Under `none`, `lru` and `arc` the point calls do nothing (every point lookup
//! misses without being counted, so the block cache's counters stay the ones to
//! compare); under `ackey` they reach the KV and KP parts. Blocks go through
//! whichever policy is in force.

use core::hash::Hash;

use crate::{
    AcKey, AcKeyConfig, AcKeyStats, AnyCache, Cache, CacheError, GhostHit, Part, PointHit, Policy,
    Priority, Stats,
};

enum Inner<K, V, P, H, B> {
    Blocks(alloc::boxed::Box<AnyCache<H, B>>),
    AcKey(alloc::boxed::Box<AcKey<K, V, P, H, B>>),
}

/// The whole read cache: keys `K`, values `V`, KP pointers `P`, block handles
/// `H`, blocks `B`.
pub struct ReadCache<K, V, P, H, B> {
    inner: Inner<K, V, P, H, B>,
    config: AcKeyConfig,
}

impl<K, V, P, H, B> ReadCache<K, V, P, H, B>
where
    K: Hash + Eq + Clone,
    H: Hash + Eq + Clone,
{
    /// An empty cache of `capacity_bytes` under `policy`.
    pub fn new(policy: Policy, capacity_bytes: u64) -> Self {
        Self::with_config(policy, capacity_bytes, AcKeyConfig::default())
    }

    /// As [`new`](Self::new), with AC-Key's knobs.
    pub fn with_config(policy: Policy, capacity_bytes: u64, config: AcKeyConfig) -> Self {
        let inner = match policy {
            Policy::AcKey => {
                Inner::AcKey(alloc::boxed::Box::new(AcKey::new(capacity_bytes, config)))
            }
            p => Inner::Blocks(alloc::boxed::Box::new(AnyCache::new(p, capacity_bytes))),
        };
        ReadCache { inner, config }
    }

    /// The policy in force.
    pub fn policy(&self) -> Policy {
        match &self.inner {
            Inner::Blocks(c) => c.policy(),
            Inner::AcKey(_) => Policy::AcKey,
        }
    }

    /// Switches policy. The cache starts empty (entries and counters), with the
    /// same capacity: policies are compared from a cold start.
    pub fn set_policy(&mut self, policy: Policy) {
        let cap = self.capacity_bytes();
        *self = Self::with_config(policy, cap, self.config);
    }

    /// The byte budget.
    pub fn capacity_bytes(&self) -> u64 {
        self.stats().capacity_bytes
    }

    /// Changes the byte budget, evicting at once if it shrank.
    pub fn resize(&mut self, capacity_bytes: u64) {
        match &mut self.inner {
            Inner::Blocks(c) => c.resize(capacity_bytes),
            Inner::AcKey(a) => a.set_capacity(capacity_bytes),
        }
    }

    /// Point lookup in KV, then KP (AC-Key only; otherwise a silent miss).
    pub fn get_point(&mut self, key: &K) -> PointHit<'_, V, P> {
        match &mut self.inner {
            Inner::Blocks(_) => PointHit::Miss,
            Inner::AcKey(a) => a.get_point(key),
        }
    }

    /// After a point miss; see [`AcKey::insert_point`]. `Ok(None)` when the
    /// policy keeps no point entries.
    pub fn insert_point(
        &mut self,
        key: K,
        value: V,
        value_charge: u64,
        ptr: P,
        ptr_charge: u64,
        reads: u32,
    ) -> Result<Option<Part>, CacheError> {
        match &mut self.inner {
            Inner::Blocks(_) => Ok(None),
            Inner::AcKey(a) => a
                .insert_point(key, value, value_charge, ptr, ptr_charge, reads)
                .map(Some),
        }
    }

    /// After a KP hit and the block read; see [`AcKey::promote`].
    pub fn promote(&mut self, key: &K, value: V, value_charge: u64) -> Result<(), CacheError> {
        match &mut self.inner {
            Inner::Blocks(_) => Ok(()),
            Inner::AcKey(a) => a.promote(key, value, value_charge),
        }
    }

    /// A write or delete of `key`: its point entries are stale.
    pub fn invalidate(&mut self, key: &K) {
        if let Inner::AcKey(a) = &mut self.inner {
            a.invalidate(key);
        }
    }

    /// Re-aims or drops KP pointers after a compaction; see [`AcKey::retain_kp`].
    pub fn retain_kp(&mut self, f: impl FnMut(&K, &mut P) -> bool) {
        if let Inner::AcKey(a) = &mut self.inner {
            a.retain_kp(f);
        }
    }

    /// Block lookup.
    pub fn get_block(&mut self, handle: &H) -> Option<&B> {
        match &mut self.inner {
            Inner::Blocks(c) => c.get(handle),
            Inner::AcKey(a) => a.get_block(handle),
        }
    }

    /// The block under `handle`, without counting or touching anything.
    pub fn peek_block(&self, handle: &H) -> Option<&B> {
        match &self.inner {
            Inner::Blocks(c) => c.peek(handle),
            Inner::AcKey(a) => a.peek_block(handle),
        }
    }

    /// After a block miss: admits the block. Reports which ghost list (AC-Key)
    /// remembered it; other policies say [`GhostHit::None`].
    pub fn insert_block(
        &mut self,
        handle: H,
        block: B,
        charge: u64,
    ) -> Result<GhostHit, CacheError> {
        self.insert_block_at(handle, block, charge, Priority::Low)
    }

    /// [`insert_block`](Self::insert_block) at `priority`, which only
    /// AC-Key's block part uses (LRU and ARC stay the plain baselines).
    pub fn insert_block_at(
        &mut self,
        handle: H,
        block: B,
        charge: u64,
        priority: Priority,
    ) -> Result<GhostHit, CacheError> {
        match &mut self.inner {
            Inner::Blocks(c) => c.insert(handle, block, charge).map(|()| GhostHit::None),
            Inner::AcKey(a) => a.insert_block_at(handle, block, charge, priority),
        }
    }

    /// Drops one block without a ghost.
    pub fn remove_block(&mut self, handle: &H) -> Option<B> {
        match &mut self.inner {
            Inner::Blocks(c) => c.remove(handle),
            Inner::AcKey(a) => a.remove_block(handle),
        }
    }

    /// Drops the blocks `keep` rejects (tables a compaction deleted).
    pub fn retain_blocks(&mut self, mut keep: impl FnMut(&H) -> bool) {
        match &mut self.inner {
            Inner::Blocks(c) => c.retain(&mut keep),
            Inner::AcKey(a) => a.retain_blocks(keep),
        }
    }

    /// Drops every entry.
    pub fn clear(&mut self) {
        match &mut self.inner {
            Inner::Blocks(c) => c.clear(),
            Inner::AcKey(a) => a.clear_all(),
        }
    }

    /// Counters and usage over all parts.
    pub fn stats(&self) -> Stats {
        match &self.inner {
            Inner::Blocks(c) => c.stats(),
            Inner::AcKey(a) => Cache::stats(&**a),
        }
    }

    /// AC-Key's per-part counters and targets, under `ackey`.
    pub fn ac_stats(&self) -> Option<AcKeyStats> {
        match &self.inner {
            Inner::Blocks(_) => None,
            Inner::AcKey(a) => Some(a.ac_stats()),
        }
    }

    /// Zeroes the counters.
    pub fn reset_stats(&mut self) {
        match &mut self.inner {
            Inner::Blocks(c) => c.reset_stats(),
            Inner::AcKey(a) => Cache::reset_stats(&mut **a),
        }
    }
}

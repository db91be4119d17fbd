//! Byte-budgeted read caches for the store, and the policies that fill them.
//!
//! The store reads data, index and filter blocks through one cache with one
//! memory budget (see `docs/architecture.md`, "Cache contract"). This crate owns the
//! replacement policies and their bookkeeping; it knows nothing of the kernel,
//! of disks or of the store's formats: keys, values and charges come from the
//! caller.
//!
//! ```text
//!            Cache<K, V>  (get / insert / remove / resize / stats)
//!   +-----------+-----------+------------+---------------------------+
//!   | NoCache   | LruCache  | ArcCache   | AcKey (block part only)   |
//!   +-----------+-----------+------------+---------------------------+
//!                     \          |          /
//!                 list::Lists: index-linked LRU lists in one slab,
//!                 a hash map from key to slot, O(1) per operation
//!
//!   AcKey<K, V, P, H, B>: KV, KP and block parts under one budget, with
//!   its own point-lookup API (get_point / insert_point / promote ...).
//! ```
//!
//! Every policy charges each entry the bytes the caller says it costs and never
//! holds more than its capacity in resident bytes. An entry larger than the
//! whole capacity is refused with [`CacheError::TooLarge`]. Deletes, overwrites
//! and invalidations are not evictions: they never create ghosts.
//!
//! [`AnyCache`] puts the generic policies behind one type; [`ReadCache`] is what
//! the store holds: blocks under any policy, point entries under AC-Key, and the
//! policy switchable at run time (`CACHE POLICY`) without the store being
//! generic over it. [`StoreCache`] is that, locked, implementing the store's
//! `BlockCache` and `PointCache` traits: what the kernel attaches to `Db`.
//! [`trace`] records what the store asks of it (the store-trace format, its
//! writer, parser and recorder), for the host simulator to replay.
#![no_std]
#![warn(missing_docs)]
#![forbid(unsafe_code)]

extern crate alloc;

mod ackey;
pub mod arc;
mod list;
mod lru;
mod none;
mod read;
mod stats;
pub mod store;
pub mod trace;
mod worth;

pub use ackey::{
    AcKey, AcKeyConfig, AcKeyStats, GhostHit, Part, PartStats, PointHit, Priority, Targets,
};
pub use arc::{ArcCache, ArcShape};
pub use lru::LruCache;
pub use none::NoCache;
pub use read::ReadCache;
pub use stats::Stats;
pub use store::{shards_for, KindStats, StoreCache, StoreReadCache, MAX_SHARDS};
pub use worth::EReads;

use core::fmt;
use core::hash::Hash;
use core::str::FromStr;

/// Why an entry was not admitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheError {
    /// The entry alone is larger than the cache's whole capacity. Any older
    /// entry under the same key has been dropped, so nothing stale is served.
    TooLarge {
        /// The charge asked for.
        charge: u64,
        /// The cache's capacity when it was asked.
        capacity: u64,
    },
}

impl fmt::Display for CacheError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CacheError::TooLarge { charge, capacity } => write!(
                f,
                "entry of {charge} bytes does not fit in a cache of {capacity} bytes"
            ),
        }
    }
}

impl core::error::Error for CacheError {}

/// A replacement policy, as named on the console and in the simulator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Policy {
    /// Caches nothing: every lookup misses (the baseline).
    None,
    /// Least recently used, byte-weighted.
    Lru,
    /// Adaptive Replacement Cache (Megiddo & Modha), byte-weighted.
    Arc,
    /// AC-Key's KV, KP and block caches under one budget.
    AcKey,
}

impl Policy {
    /// Every policy, in the order they are usually listed.
    pub const ALL: [Policy; 4] = [Policy::None, Policy::Lru, Policy::Arc, Policy::AcKey];

    /// The policy's name as typed on the console.
    pub fn name(self) -> &'static str {
        match self {
            Policy::None => "none",
            Policy::Lru => "lru",
            Policy::Arc => "arc",
            Policy::AcKey => "ackey",
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A policy name that is not one of [`Policy::ALL`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsePolicyError {
    name: alloc::string::String,
}

impl fmt::Display for ParsePolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown cache policy `{}` (expected none, lru, arc or ackey)",
            self.name
        )
    }
}

impl core::error::Error for ParsePolicyError {}

impl FromStr for Policy {
    type Err = ParsePolicyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Policy::ALL
            .into_iter()
            .find(|p| {
                p.name().eq_ignore_ascii_case(s)
                    || (s.eq_ignore_ascii_case("ac-key") && *p == Policy::AcKey)
            })
            .ok_or_else(|| ParsePolicyError { name: s.into() })
    }
}

/// A byte-budgeted cache of `V` keyed by `K`.
///
/// A lookup is [`get`](Cache::get); on a miss the caller fetches the value and
/// offers it with [`insert`](Cache::insert), which is where adaptive policies
/// learn from their ghosts. Each hit counts as one disk read saved.
pub trait Cache<K, V> {
    /// Which policy this is.
    fn policy(&self) -> Policy;

    /// Looks `key` up, counting a hit or a miss and updating recency.
    fn get(&mut self, key: &K) -> Option<&V>;

    /// Whether `key` is resident, without counting or touching anything.
    fn contains(&self, key: &K) -> bool;

    /// The value of a resident `key`, without counting or touching
    /// anything: for a reader whose reads are not reuse (a compaction
    /// reading its inputs once), which must not look like it to the policy.
    fn peek(&self, key: &K) -> Option<&V>;

    /// Admits `value` under `key`, charged `charge` bytes, evicting as needed.
    /// An existing entry under `key` is overwritten (not evicted).
    fn insert(&mut self, key: K, value: V, charge: u64) -> Result<(), CacheError>;

    /// Drops `key` (resident or ghost) without making a ghost of it.
    fn remove(&mut self, key: &K) -> Option<V>;

    /// Drops (without ghosts) every entry whose key `keep` rejects: for a
    /// compaction that deleted the tables some blocks came from. O(entries).
    fn retain(&mut self, keep: &mut dyn FnMut(&K) -> bool);

    /// Changes the capacity, evicting at once if it shrank.
    fn resize(&mut self, capacity_bytes: u64);

    /// Drops every entry and ghost; statistics other than usage are kept.
    fn clear(&mut self);

    /// Counters and usage.
    fn stats(&self) -> Stats;

    /// Zeroes the counters (usage and capacity stay as they are).
    fn reset_stats(&mut self);

    /// One request of a trace: a lookup, and on a miss the insert of `value`.
    /// Returns whether it hit.
    fn access(&mut self, key: K, value: V, charge: u64) -> bool {
        if self.get(&key).is_some() {
            return true;
        }
        // A refused (too large) entry is simply a miss that is not cached.
        let _ = self.insert(key, value, charge);
        false
    }
}

/// Every generic policy behind one type, so the policy can change at run time.
pub enum AnyCache<K, V> {
    /// See [`NoCache`].
    None(NoCache),
    /// See [`LruCache`].
    Lru(LruCache<K, V>),
    /// See [`ArcCache`].
    Arc(ArcCache<K, V>),
    /// An [`AcKey`] whose point parts are never used: the generic interface
    /// reaches only its block part.
    AcKey(alloc::boxed::Box<AcKey<(), (), (), K, V>>),
}

impl<K: Hash + Eq + Clone, V> AnyCache<K, V> {
    /// An empty cache of `policy` with `capacity_bytes`.
    pub fn new(policy: Policy, capacity_bytes: u64) -> Self {
        match policy {
            Policy::None => AnyCache::None(NoCache::new(capacity_bytes)),
            Policy::Lru => AnyCache::Lru(LruCache::new(capacity_bytes)),
            Policy::Arc => AnyCache::Arc(ArcCache::new(capacity_bytes)),
            Policy::AcKey => AnyCache::AcKey(alloc::boxed::Box::new(AcKey::new(
                capacity_bytes,
                AcKeyConfig::default(),
            ))),
        }
    }

    fn inner(&self) -> &dyn Cache<K, V> {
        match self {
            AnyCache::None(c) => c,
            AnyCache::Lru(c) => c,
            AnyCache::Arc(c) => c,
            AnyCache::AcKey(c) => &**c,
        }
    }

    fn inner_mut(&mut self) -> &mut dyn Cache<K, V> {
        match self {
            AnyCache::None(c) => c,
            AnyCache::Lru(c) => c,
            AnyCache::Arc(c) => c,
            AnyCache::AcKey(c) => &mut **c,
        }
    }
}

impl<K: Hash + Eq + Clone, V> Cache<K, V> for AnyCache<K, V> {
    fn policy(&self) -> Policy {
        self.inner().policy()
    }
    fn get(&mut self, key: &K) -> Option<&V> {
        self.inner_mut().get(key)
    }
    fn contains(&self, key: &K) -> bool {
        self.inner().contains(key)
    }
    fn peek(&self, key: &K) -> Option<&V> {
        self.inner().peek(key)
    }
    fn insert(&mut self, key: K, value: V, charge: u64) -> Result<(), CacheError> {
        self.inner_mut().insert(key, value, charge)
    }
    fn remove(&mut self, key: &K) -> Option<V> {
        self.inner_mut().remove(key)
    }
    fn retain(&mut self, keep: &mut dyn FnMut(&K) -> bool) {
        self.inner_mut().retain(keep)
    }
    fn resize(&mut self, capacity_bytes: u64) {
        self.inner_mut().resize(capacity_bytes)
    }
    fn clear(&mut self) {
        self.inner_mut().clear()
    }
    fn stats(&self) -> Stats {
        self.inner().stats()
    }
    fn reset_stats(&mut self) {
        self.inner_mut().reset_stats()
    }
}

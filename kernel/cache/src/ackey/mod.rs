//! AC-Key (Wu, Yang, Zhang, Du; USENIX ATC 2020): KV, KP and block caches
//! sharing one byte budget, with the split between them adapted on line.
//!
//! ```text
//!   capacity = [ KV target | KP target ][        block target        ]
//!              <------ point target ---->
//!   ghosts:    ghost-KV    ghost-KP        ghost-block   (u32 hashes)
//! ```
//!
//! KV holds key -> value (a hit costs no disk read), KP key -> a pointer to
//! the value's data block (a hit still reads that block), the block part
//! data, index and filter blocks by handle. Each entry's worth is its
//! efficiency factor `E = b / s`, the disk reads a hit saves per byte it
//! occupies; eviction inside a part is E-LRU, and ghost hits move the
//! boundaries between the parts. `kernel/cache/doc/ackey.md` is the design
//! note: the definitions, the adaptation rules and the measurements that
//! chose them.
//!
//! This module owns the [`AcKey`] structure, its byte accounting and the
//! generic [`Cache`] interface (the block part alone). The rest is split by
//! concern:
//!
//! - `types`: the public vocabulary ([`Part`], [`PointHit`], [`GhostHit`],
//!   [`AcKeyConfig`] and the statistics);
//! - `ops`: the public operations (lookups, admission, invalidation,
//!   compaction hooks, resizing, statistics);
//! - `evict`: making room: which part gives way, and E-LRU inside it;
//! - `adapt`: ghosts and the steps by which a ghost hit moves the targets;
//! - `window`: measurement windows, which switch ghost tracking off while the
//!   workload holds and back on when it moves.
//!
//! Writes and deletes call [`AcKey::invalidate`]; compactions re-aim or drop
//! KP pointers with [`AcKey::retain_kp`] and blocks with
//! [`AcKey::retain_blocks`]. None of these makes a ghost.

use core::hash::{BuildHasher, Hash};

use hashbrown::DefaultHashBuilder;

use crate::list::Lists;
use crate::{Cache, CacheError, Policy, Stats};

mod adapt;
mod evict;
mod ops;
mod types;
mod window;

pub use types::{AcKeyConfig, AcKeyStats, GhostHit, Part, PartStats, PointHit, Priority, Targets};

use window::Window;

/// Fractional bits of the fixed-point targets: a ghost hit may move a
/// boundary by less than a byte, and those fractions must add up.
const FRAC: u32 = 16;

const ONE: u128 = 1 << FRAC;

/// A resident entry: its payload and the reads that give its E. For KV and
/// KP the reads its lookup made below the memtable; for a block the hits it
/// has had while resident.
struct Point<T> {
    item: T,
    reads: u32,
}

/// Ghost payload: the reads a hit on the evicted entry would have saved.
type GhostList = Lists<u32, u32, 1>;

/// The AC-Key cache: keys `K`, values `V`, KP pointers `P`, block handles `H`
/// and blocks `B`.
pub struct AcKey<K, V, P, H, B> {
    kv: Lists<K, Point<V>, 1>,
    kp: Lists<K, Point<P>, 1>,
    /// A list per [`Priority`] (see `Priority::list`).
    blocks: Lists<H, Point<B>, 2>,
    ghosts: [GhostList; 3],
    /// Sum over each part's ghosts of the reads a hit on their entry would
    /// have saved: what the parts gave up.
    ghost_saved: [u64; 3],
    hasher: DefaultHashBuilder,
    capacity: u64,
    /// Target bytes of KV + KP, fixed point.
    point_target: u128,
    /// Target bytes of KV (within `point_target`), fixed point.
    kv_target: u128,
    stats: [Stats; 3],
    ghost_hits: [u64; 3],
    config: AcKeyConfig,
    ghosts_on: bool,
    /// Point and block lookups in the current window.
    window_lookups: [u64; 2],
    /// Those of them that hit.
    window_hits: [u64; 2],
    last_window: Option<Window>,
    /// `point_target` and the bytes KV and KP held when the last window
    /// closed.
    last_point: [u128; 2],
    steady_run: u32,
    /// The last window before tracking was switched off.
    reference: Window,
    /// Whether the point side (KV and KP), and the block side, are still
    /// filling up for the first time since the cache was made or cleared:
    /// the side has not had to give way, and each window so far has seen it
    /// hold more. While it is, no ghost hit takes room from it (see `adapt`).
    filling: [bool; 2],
    /// What the point side and the block side held when the last window
    /// closed, in bytes.
    last_used: [u64; 2],
}

impl<K, V, P, H, B> AcKey<K, V, P, H, B>
where
    K: Hash + Eq + Clone,
    H: Hash + Eq + Clone,
{
    /// An empty cache of `capacity_bytes` split as `config` says.
    pub fn new(capacity_bytes: u64, config: AcKeyConfig) -> Self {
        let cap = u128::from(capacity_bytes) << FRAC;
        let point_target = cap * u128::from(config.initial_point_permille.min(1000)) / 1000;
        AcKey {
            kv: Lists::new(),
            kp: Lists::new(),
            blocks: Lists::new(),
            ghosts: [Lists::new(), Lists::new(), Lists::new()],
            ghost_saved: [0; 3],
            hasher: DefaultHashBuilder::default(),
            capacity: capacity_bytes,
            point_target,
            kv_target: point_target / 2,
            stats: [Stats::default(); 3],
            ghost_hits: [0; 3],
            ghosts_on: config.adapt,
            config,
            window_lookups: [0; 2],
            window_hits: [0; 2],
            last_window: None,
            last_point: [0; 2],
            steady_run: 0,
            reference: Window::NONE,
            filling: [true; 2],
            last_used: [0; 2],
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &AcKeyConfig {
        &self.config
    }

    fn used(&self, p: Part) -> u64 {
        match p {
            Part::Kv => self.kv.bytes(0),
            Part::Kp => self.kp.bytes(0),
            Part::Block => self.blocks.bytes(0) + self.blocks.bytes(1),
        }
    }

    fn len(&self, p: Part) -> usize {
        match p {
            Part::Kv => self.kv.len(0),
            Part::Kp => self.kp.len(0),
            Part::Block => self.blocks.len(0) + self.blocks.len(1),
        }
    }

    fn used_total(&self) -> u64 {
        Part::ALL.iter().map(|&p| self.used(p)).sum()
    }

    /// `p`'s target in fixed-point bytes.
    fn target(&self, p: Part) -> u128 {
        let point = self.point_target.min(u128::from(self.capacity) << FRAC);
        let kv = self.kv_target.min(point);
        match p {
            Part::Kv => kv,
            Part::Kp => point - kv,
            Part::Block => (u128::from(self.capacity) << FRAC) - point,
        }
    }

    fn check_fits(&self, charge: u64) -> Result<(), CacheError> {
        if charge > self.capacity {
            Err(CacheError::TooLarge {
                charge,
                capacity: self.capacity,
            })
        } else {
            Ok(())
        }
    }

    /// A ghost's key: four bytes instead of the key, so that ghosts cost the
    /// same whatever the keys are. A collision only mis-tunes a target a
    /// little.
    fn hash<T: Hash>(&self, t: &T) -> u32 {
        (self.hasher.hash_one(t) >> 32) as u32
    }
}

/// Index of `part`'s side in per-side arrays: 0 for the point side (KV and
/// KP), 1 for blocks.
fn side(part: Part) -> usize {
    usize::from(part == Part::Block)
}

/// Reads a block saves per residency: one for the read that brought it in plus
/// one per hit since. A block serves every lookup that passes through it (an
/// index or filter block every lookup into its table), so its worth is the
/// lookups it served, not the one read a single hit saves.
fn block_saves(hits: u32) -> u32 {
    hits.saturating_add(1)
}

/// Reads a KP hit saves: the lookup's reads less the data-block read it still
/// makes.
fn kp_saves(reads: u32) -> u32 {
    reads.saturating_sub(1)
}

impl<K, V, P, H, B> Cache<H, B> for AcKey<K, V, P, H, B>
where
    K: Hash + Eq + Clone,
    H: Hash + Eq + Clone,
{
    fn policy(&self) -> Policy {
        Policy::AcKey
    }
    fn get(&mut self, key: &H) -> Option<&B> {
        self.get_block(key)
    }
    fn contains(&self, key: &H) -> bool {
        self.contains_block(key)
    }
    fn peek(&self, key: &H) -> Option<&B> {
        self.peek_block(key)
    }
    fn insert(&mut self, key: H, value: B, charge: u64) -> Result<(), CacheError> {
        self.insert_block(key, value, charge).map(|_| ())
    }
    fn remove(&mut self, key: &H) -> Option<B> {
        self.remove_block(key)
    }
    fn retain(&mut self, keep: &mut dyn FnMut(&H) -> bool) {
        self.retain_blocks(keep);
    }
    fn resize(&mut self, capacity_bytes: u64) {
        self.set_capacity(capacity_bytes);
    }
    fn clear(&mut self) {
        self.clear_all();
    }
    fn stats(&self) -> Stats {
        self.total_stats()
    }
    fn reset_stats(&mut self) {
        self.stats = [Stats::default(); 3];
        self.ghost_hits = [0; 3];
    }
}

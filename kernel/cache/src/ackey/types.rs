//! AC-Key's public vocabulary: the parts, what lookups and inserts report,
//! the tuning knobs and the statistics
//! [`AcKey::ac_stats`](crate::AcKey::ac_stats) returns.

use crate::Stats;

/// One of AC-Key's three caches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Part {
    /// Key -> value.
    Kv,
    /// Key -> pointer to the value's data block.
    Kp,
    /// Block handle -> block.
    Block,
}

impl Part {
    /// All parts, in index order.
    pub const ALL: [Part; 3] = [Part::Kv, Part::Kp, Part::Block];

    pub(super) fn idx(self) -> usize {
        self as usize
    }

    /// The part's short name.
    pub fn name(self) -> &'static str {
        match self {
            Part::Kv => "kv",
            Part::Kp => "kp",
            Part::Block => "block",
        }
    }
}

impl core::fmt::Display for Part {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// Which ghost list an insert found its key in, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GhostHit {
    /// Not remembered (or ghost tracking was off).
    None,
    /// It had been evicted from KV.
    Kv,
    /// It had been evicted from KP.
    Kp,
    /// It had been evicted from the block cache.
    Block,
}

/// Which blocks give way first in the block part (RocksDB's cache
/// priorities). An index or filter block serves every lookup into its table,
/// yet a block's worth (`1 + hits` over its bytes) starts afresh each time it
/// is read back, so a large index block just re-read looked like the
/// cheapest entry to E-LRU and went again: at 512 KiB on the store's ycsb-c
/// trace, 985 of the 14,543 disk reads re-read index blocks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Priority {
    /// Data blocks: evicted first.
    #[default]
    Low,
    /// Index and filter blocks: evicted only when the block part holds no
    /// low-priority block.
    High,
}

impl Priority {
    /// The block part's list that holds blocks of this priority.
    pub(super) const fn list(self) -> usize {
        self as usize
    }
}

/// What a point lookup found.
#[derive(Debug, PartialEq, Eq)]
pub enum PointHit<'a, V, P> {
    /// The value itself: no disk read needed.
    Kv(&'a V),
    /// Where the value is: read that block (perhaps from the block cache),
    /// then call [`AcKey::promote`](crate::AcKey::promote).
    Kp(&'a P),
    /// Neither: search the tree, then call
    /// [`AcKey::insert_point`](crate::AcKey::insert_point).
    Miss,
}

/// Tuning knobs; the defaults follow the paper where it gives numbers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AcKeyConfig {
    /// Largest E-LRU sample taken at a part's LRU end (and so the largest `a`).
    pub elru_sample: usize,
    /// Multiplier on every adaptation step (`k` relative to its natural unit).
    pub step_scale: f64,
    /// Share of the capacity the point parts start with, in thousandths.
    pub initial_point_permille: u32,
    /// Lookups per window over which the hit ratio is measured.
    pub window: u64,
    /// A window's hit ratio within this many thousandths of the previous one
    /// (relative) counts as steady (the paper: 5%).
    pub steady_permille: u32,
    /// Consecutive steady windows after which ghost tracking is switched off.
    pub steady_windows: u32,
    /// Whether ghosts may be tracked at all (off: fixed targets).
    pub adapt: bool,
}

impl Default for AcKeyConfig {
    fn default() -> Self {
        AcKeyConfig {
            elru_sample: 16,
            step_scale: 1.0,
            initial_point_permille: 500,
            window: 4096,
            steady_permille: 50,
            steady_windows: 16,
            adapt: true,
        }
    }
}

/// Counters and sizes of one part.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PartStats {
    /// The part's own counters (capacity_bytes is its current target).
    pub stats: Stats,
    /// Bytes the part's ghosts were charged.
    pub ghost_bytes: u64,
    /// Inserts that found their key among this part's ghosts.
    pub ghost_hits: u64,
}

/// The current split of the capacity, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Targets {
    /// KV + KP.
    pub point: u64,
    /// KV's share of `point`.
    pub kv: u64,
    /// KP's share of `point`.
    pub kp: u64,
    /// What is left for blocks.
    pub block: u64,
}

/// Everything [`AcKey::ac_stats`](crate::AcKey::ac_stats) reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AcKeyStats {
    /// The three parts together.
    pub total: Stats,
    /// The KV part.
    pub kv: PartStats,
    /// The KP part.
    pub kp: PartStats,
    /// The block part.
    pub block: PartStats,
    /// Where the adaptation has put the boundaries.
    pub targets: Targets,
    /// Whether ghosts are being tracked right now.
    pub ghosts_enabled: bool,
}

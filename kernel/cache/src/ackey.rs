//! AC-Key (Wu, Yang, Zhang, Du; USENIX ATC 2020): KV, KP and block caches
//! sharing one byte budget, with the split between them adapted on line.
//!
//! ```text
//!   capacity = [ KV target | KP target ][        block target        ]
//!              <------ point target ---->
//!   ghosts:    ghost-KV    ghost-KP        ghost-block   (u32 hashes)
//! ```
//!
//! - KV holds key -> value; a hit costs no disk read. KP holds key -> a
//!   pointer to the value's data block; a hit still reads that block. The
//!   block part holds data, index and filter blocks by handle.
//! - Efficiency factor `E = b / s`: disk reads a hit saves per byte it
//!   occupies. The caller passes `reads`, the block reads its lookup made
//!   below the memtable (counted before the block cache, so that the value of
//!   an entry does not depend on what else happened to be cached); a KV entry
//!   saves all of them, a KP entry one fewer.
//! - A block's `b` is the reads it has saved while resident: one for the read
//!   that brought it in plus one per hit since. A block serves every lookup
//!   that passes through it (an index or filter block every lookup into its
//!   table), so its worth is the lookups it served, not the one read a
//!   single hit saves. With `b = 1` every block had `E = 1/size`: E-LRU then
//!   evicted the 18-22 KB index and filter blocks first, and a ghost-block
//!   hit weighed some 1/200 of a ghost-KV hit, so the point parts took the
//!   room the index and filter blocks that every lookup needs (measured on
//!   a ycsb-c trace at 2% of the data: 1.00 disk reads per lookup against
//!   LRU's 0.74).
//! - Eviction inside a part is E-LRU: among the `a` least recently used entries
//!   the one with the lowest E goes, with `a = e^v` and `v` the standard
//!   deviation of the normalized E of a sample at the LRU end (so with equal E
//!   it is plain LRU).
//! - The part that gives up room is the one most over its target.
//! - Two ARC-like levels move the targets. Upper: a ghost-KV or ghost-KP hit
//!   grows the point target, a ghost-block hit shrinks it (taking from KV and KP
//!   in proportion to their sizes). Lower: KP plays ARC's T1 and KV its T2; a
//!   ghost-KP hit grows KP's target, a ghost-KV hit grows KV's, and both re-admit
//!   the entry into KV.
//! - Step size: `k * E * ratio`. We take `k = s / E_ghost`, `s` the ghost's
//!   own charge and `E_ghost` the E of all ghosts together (their reads over
//!   their bytes: the worth per byte of what the parts have lately given up,
//!   the margin the boundary moves at), so that the step is `b / E_ghost`:
//!   with E equal to the margin's a ghost hit moves the boundary by the
//!   entry's own size, as byte-weighted ARC (ZFS) does, and an entry worth
//!   twice as much per byte moves it twice as far. Every ghost hit thus
//!   counts the reads it would have saved, whatever the entry's size; the
//!   former `k = s_mean / E_mean` counted a small entry's ghost hit once per
//!   ghost byte and again through its E, i.e. twice.
//! - The unit was the mean E of the resident bytes. A resident block's `b`
//!   grows with every hit for as long as it stays, so a few hot index and
//!   filter blocks inflated that mean without bound and every step shrank
//!   as the cache aged (phase trace, 2 MB, ghosts kept on: a point ghost hit
//!   moved the boundary by 127 bytes on average 50,000 operations in and by
//!   25 after 420,000; a KV entry is charged 116). After the scan phase
//!   tracking came back on for some 7,500 operations, moved the point
//!   target by 13 kB of the 2 MB (down), and the split stayed where the
//!   scans had left it (point share 0.45 before the scans, 0.28 during,
//!   0.25 after). Ghosts come and go, so their E does not drift with age.
//! - One ghost hit moves a boundary by at most 1/64 of the capacity. A hit's
//!   `b` is one lookup's evidence: a filter block that had served 1,251
//!   lookups before E-LRU let it go came back worth 43 kB of a 300 kB budget
//!   and took the point target from 43 kB to 440 bytes at a stroke (ycsb-c
//!   trace). A cap of 1/32 or 1/128 does about as well on the store's and
//!   the phase traces.
//! - `ratio` is ARC's (the other ghost list's bytes over this one's, at
//!   least one) in the lower level, where KV and KP entries are alike in
//!   size. The upper level uses one: its ghost lists hold entries 100-500
//!   times apart in size (a 41-byte KP ghost, a 22 KB filter block's), so a
//!   few point ghosts against a handful of block ghosts made the ratio a few
//!   hundred and one ghost hit swung the whole budget (from 150 kB to 277 kB
//!   of 300 kB within the first 2,500 lookups). ZFS caps the same ratio at
//!   ten for the same reason; even capped, it cost a third more disk reads
//!   on the ycsb-c trace.
//! - Ghosts keep a 4-byte hash, not the key; a collision only mis-tunes a
//!   target a little. Ghost tracking switches off while the hit ratio is steady
//!   (within the configured band over consecutive windows) *and* the split is
//!   steady (neither side's target moved by more than the same band of its
//!   size), and back on when the workload moves: the hit ratio moves away
//!   from where it was when tracking stopped, or a kind of lookup (point or
//!   block) starts or stops making up a sixteenth of a window's lookups.
//!   Without the second condition tracking stopped while the split was
//!   still converging (its hit ratio changes slowly), freezing a point
//!   target of 1.4 kB where 15-20 kB was right. Without the kinds of lookup
//!   a scan phase that took the point side to nothing went unnoticed when
//!   point lookups came back (phase trace, 4 MB: a hit ratio of 0.75-0.77
//!   both in the scans and after them), and the point side stayed empty.
//! - Writes and deletes call [`AcKey::invalidate`]; compactions re-aim or drop
//!   KP pointers with [`AcKey::retain_kp`] and blocks with
//!   [`AcKey::retain_blocks`]. None of these makes a ghost.

use core::hash::{BuildHasher, Hash};

use hashbrown::DefaultHashBuilder;

use crate::list::Lists;
use crate::{Cache, CacheError, Policy, Stats};

const FRAC: u32 = 16;

const ONE: u128 = 1 << FRAC;

/// One ghost hit moves a boundary by at most this fraction of the capacity.
const MAX_STEP_DIVISOR: u32 = 64;

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

    fn idx(self) -> usize {
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

/// What a point lookup found.
#[derive(Debug, PartialEq, Eq)]
pub enum PointHit<'a, V, P> {
    /// The value itself: no disk read needed.
    Kv(&'a V),
    /// Where the value is: read that block (perhaps from the block cache),
    /// then call [`AcKey::promote`].
    Kp(&'a P),
    /// Neither: search the tree, then call [`AcKey::insert_point`].
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
            steady_windows: 2,
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

/// Everything [`AcKey::ac_stats`] reports.
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

/// A resident point entry: its payload and the reads its lookup made.
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
    blocks: Lists<H, Point<B>, 1>,
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
    /// `point_target` when the last window closed.
    last_point_target: u128,
    steady_run: u32,
    /// The last window before tracking was switched off.
    reference: Window,
}

/// Which of a window's counters a lookup goes to.
#[derive(Clone, Copy)]
enum Lookup {
    Point = 0,
    Block = 1,
}

/// What one measurement window saw.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Window {
    /// Hits over lookups, point and block together.
    hit_ratio: f64,
    /// Whether point lookups, and block lookups, were each at least a
    /// sixteenth of the window's: the kinds of request the workload makes.
    kinds: [bool; 2],
}

impl Window {
    fn of(lookups: [u64; 2], hits: [u64; 2]) -> Self {
        let total = lookups[0] + lookups[1];
        Window {
            hit_ratio: (hits[0] + hits[1]) as f64 / total.max(1) as f64,
            kinds: lookups.map(|n| n > 0 && n * 16 >= total),
        }
    }

    /// Whether the workload looks the same as in `other`: the same kinds of
    /// lookup, and a hit ratio within `band` (relative) of `other`'s.
    fn like(&self, other: &Window, band: f64) -> bool {
        self.kinds == other.kinds
            && (self.hit_ratio - other.hit_ratio).abs() <= band * other.hit_ratio.max(1e-9)
    }
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
            last_point_target: 0,
            steady_run: 0,
            reference: Window {
                hit_ratio: 0.0,
                kinds: [false; 2],
            },
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &AcKeyConfig {
        &self.config
    }

    /// Looks `key` up in KV, then KP.
    pub fn get_point(&mut self, key: &K) -> PointHit<'_, V, P> {
        if let Some(slot) = self.kv.find(key) {
            self.kv.move_to_mru(slot, 0);
            let reads = self.kv.node(slot).value.reads;
            self.count_hit(Part::Kv, u64::from(reads));
            return PointHit::Kv(&self.kv.node(slot).value.item);
        }
        self.stats[Part::Kv.idx()].misses += 1;
        if let Some(slot) = self.kp.find(key) {
            self.kp.move_to_mru(slot, 0);
            let reads = self.kp.node(slot).value.reads;
            self.count_hit(Part::Kp, u64::from(kp_saves(reads)));
            return PointHit::Kp(&self.kp.node(slot).value.item);
        }
        self.stats[Part::Kp.idx()].misses += 1;
        self.count_miss(Lookup::Point);
        PointHit::Miss
    }

    /// Looks a block up by handle.
    pub fn get_block(&mut self, handle: &H) -> Option<&B> {
        match self.blocks.find(handle) {
            Some(slot) => {
                self.blocks.move_to_mru(slot, 0);
                let p = &mut self.blocks.node_mut(slot).value;
                p.reads = p.reads.saturating_add(1);
                self.count_hit(Part::Block, 1);
                Some(&self.blocks.node(slot).value.item)
            }
            None => {
                self.stats[Part::Block.idx()].misses += 1;
                self.count_miss(Lookup::Block);
                None
            }
        }
    }

    /// Whether `handle` is resident, without counting or touching anything.
    pub fn contains_block(&self, handle: &H) -> bool {
        self.blocks.find(handle).is_some()
    }

    /// Which point part holds `key`, without counting or touching anything.
    pub fn point_part_of(&self, key: &K) -> Option<Part> {
        if self.kv.find(key).is_some() {
            Some(Part::Kv)
        } else if self.kp.find(key).is_some() {
            Some(Part::Kp)
        } else {
            None
        }
    }

    /// After a point miss: admits the entry as KV (if a ghost remembered the key,
    /// or the value is no bigger than the pointer) or as KP. `reads` is the
    /// number of blocks the lookup had to read below the memtable (filter and
    /// index blocks of each level probed, plus the data block), counted whether
    /// or not the block cache served them: what a later hit on this entry
    /// spares the tree. Returns the part it went to.
    pub fn insert_point(
        &mut self,
        key: K,
        value: V,
        value_charge: u64,
        ptr: P,
        ptr_charge: u64,
        reads: u32,
    ) -> Result<Part, CacheError> {
        self.invalidate(&key);
        let hit = self.take_ghost(&key, Part::Kv, Part::Kp);
        let to_kv = !matches!(hit, GhostHit::None) || value_charge <= ptr_charge;
        if to_kv {
            self.admit_kv(key, value, value_charge, reads)?;
            Ok(Part::Kv)
        } else {
            self.admit_kp(key, ptr, ptr_charge, reads)?;
            Ok(Part::Kp)
        }
    }

    /// After a KP hit and the block read: moves the entry to KV with its value
    /// (the second reference, as ARC moves T1 to T2). Does nothing if the key
    /// has gone from KP meanwhile.
    pub fn promote(&mut self, key: &K, value: V, value_charge: u64) -> Result<(), CacheError> {
        let Some(slot) = self.kp.find(key) else {
            return Ok(());
        };
        let node = self.kp.remove(slot);
        self.admit_kv(node.key, value, value_charge, node.value.reads)
    }

    /// After a block miss: admits the block. Returns which ghost list, if any,
    /// remembered it.
    pub fn insert_block(
        &mut self,
        handle: H,
        block: B,
        charge: u64,
    ) -> Result<GhostHit, CacheError> {
        if let Some(slot) = self.blocks.find(&handle) {
            self.blocks.remove(slot);
        }
        self.check_fits(charge)?;
        let hit = self.take_ghost(&handle, Part::Block, Part::Block);
        self.make_room(charge, Part::Block);
        self.blocks.push_mru(
            0,
            handle,
            Point {
                item: block,
                reads: 0,
            },
            charge,
        );
        self.stats[Part::Block.idx()].inserts += 1;
        Ok(hit)
    }

    /// Drops KV and KP entries of `key` (a write or delete made them stale).
    pub fn invalidate(&mut self, key: &K) {
        if let Some(slot) = self.kv.find(key) {
            self.kv.remove(slot);
        }
        if let Some(slot) = self.kp.find(key) {
            self.kp.remove(slot);
        }
    }

    /// Drops a block (its table was deleted), without a ghost.
    pub fn remove_block(&mut self, handle: &H) -> Option<B> {
        let slot = self.blocks.find(handle)?;
        Some(self.blocks.remove(slot).value.item)
    }

    /// Keeps the KP entries for which `f` returns true, letting it re-aim their
    /// pointers; drops the rest without ghosts. For compactions: O(entries).
    pub fn retain_kp(&mut self, mut f: impl FnMut(&K, &mut P) -> bool) {
        for slot in self.kp.slots() {
            let keep = {
                let node = self.kp.node_mut(slot);
                f(&node.key, &mut node.value.item)
            };
            if !keep {
                self.kp.remove(slot);
            }
        }
    }

    /// Keeps the blocks for which `f` returns true; drops the rest without ghosts.
    pub fn retain_blocks(&mut self, mut f: impl FnMut(&H) -> bool) {
        for slot in self.blocks.slots() {
            if !f(&self.blocks.node(slot).key) {
                self.blocks.remove(slot);
            }
        }
    }

    /// The current split of the capacity.
    pub fn targets(&self) -> Targets {
        let point = (self.point_target >> FRAC) as u64;
        let kv = (self.kv_target.min(self.point_target) >> FRAC) as u64;
        Targets {
            point,
            kv,
            kp: point - kv,
            block: self.capacity - point,
        }
    }

    /// Counters per part, targets and the ghost switch.
    pub fn ac_stats(&self) -> AcKeyStats {
        let t = self.targets();
        let part = |p: Part, target: u64| PartStats {
            stats: Stats {
                used_bytes: self.used(p),
                capacity_bytes: target,
                entries: self.len(p) as u64,
                ghost_entries: self.ghosts[p.idx()].len(0) as u64,
                ..self.stats[p.idx()]
            },
            ghost_bytes: self.ghosts[p.idx()].bytes(0),
            ghost_hits: self.ghost_hits[p.idx()],
        };
        AcKeyStats {
            total: self.total_stats(),
            kv: part(Part::Kv, t.kv),
            kp: part(Part::Kp, t.kp),
            block: part(Part::Block, t.block),
            targets: t,
            ghosts_enabled: self.ghosts_on,
        }
    }

    fn total_stats(&self) -> Stats {
        let mut s = Stats {
            capacity_bytes: self.capacity,
            ..Stats::default()
        };
        for p in Part::ALL {
            let st = &self.stats[p.idx()];
            s.hits += st.hits;
            s.inserts += st.inserts;
            s.evictions += st.evictions;
            s.disk_reads_saved += st.disk_reads_saved;
            s.used_bytes += self.used(p);
            s.entries += self.len(p) as u64;
            s.ghost_entries += self.ghosts[p.idx()].len(0) as u64;
        }
        // A point miss is counted by both KV and KP; a lookup misses once.
        s.misses = self.stats[Part::Kp.idx()].misses + self.stats[Part::Block.idx()].misses;
        s
    }

    /// Changes the capacity, keeping the targets' proportions.
    pub fn set_capacity(&mut self, capacity_bytes: u64) {
        if self.capacity > 0 {
            let (old, new) = (u128::from(self.capacity), u128::from(capacity_bytes));
            self.point_target = self.point_target * new / old;
            self.kv_target = self.kv_target * new / old;
        } else {
            let cap = u128::from(capacity_bytes) << FRAC;
            self.point_target =
                cap * u128::from(self.config.initial_point_permille.min(1000)) / 1000;
            self.kv_target = self.point_target / 2;
        }
        self.capacity = capacity_bytes;
        self.make_room(0, Part::Block);
        self.bound_ghosts();
    }

    /// Drops every entry and ghost and restores the initial split.
    pub fn clear_all(&mut self) {
        self.kv.clear();
        self.kp.clear();
        self.blocks.clear();
        self.clear_ghosts();
        let fresh = Self::new(self.capacity, self.config);
        self.point_target = fresh.point_target;
        self.kv_target = fresh.kv_target;
    }

    fn used(&self, p: Part) -> u64 {
        match p {
            Part::Kv => self.kv.bytes(0),
            Part::Kp => self.kp.bytes(0),
            Part::Block => self.blocks.bytes(0),
        }
    }

    fn len(&self, p: Part) -> usize {
        match p {
            Part::Kv => self.kv.len(0),
            Part::Kp => self.kp.len(0),
            Part::Block => self.blocks.len(0),
        }
    }

    fn used_total(&self) -> u64 {
        Part::ALL.iter().map(|&p| self.used(p)).sum()
    }

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

    fn admit_kv(&mut self, key: K, value: V, charge: u64, reads: u32) -> Result<(), CacheError> {
        self.check_fits(charge)?;
        self.make_room(charge, Part::Kv);
        self.kv
            .push_mru(0, key, Point { item: value, reads }, charge);
        self.stats[Part::Kv.idx()].inserts += 1;
        Ok(())
    }

    fn admit_kp(&mut self, key: K, ptr: P, charge: u64, reads: u32) -> Result<(), CacheError> {
        self.check_fits(charge)?;
        self.make_room(charge, Part::Kp);
        self.kp.push_mru(0, key, Point { item: ptr, reads }, charge);
        self.stats[Part::Kp.idx()].inserts += 1;
        Ok(())
    }

    fn hash<T: Hash>(&self, t: &T) -> u32 {
        (self.hasher.hash_one(t) >> 32) as u32
    }

    /// Looks for `key`'s ghost in the lists of `a` and `b`, adapting the targets
    /// (before the entry becomes resident) and forgetting the ghost.
    fn take_ghost<T: Hash>(&mut self, key: &T, a: Part, b: Part) -> GhostHit {
        if !self.ghosts_on {
            return GhostHit::None;
        }
        let h = self.hash(key);
        for part in [a, b] {
            let list = &self.ghosts[part.idx()];
            if let Some(slot) = list.find(&h) {
                let (charge, saves) = (list.node(slot).charge, list.node(slot).value);
                self.adapt(part, charge, saves);
                self.drop_ghost(part, slot);
                self.ghost_hits[part.idx()] += 1;
                return match part {
                    Part::Kv => GhostHit::Kv,
                    Part::Kp => GhostHit::Kp,
                    Part::Block => GhostHit::Block,
                };
            }
        }
        GhostHit::None
    }

    /// `k * E * ratio` in fixed-point bytes (see the module docs for `k`).
    fn step(&self, charge: u64, saves: u32, mine: u64, other: u64) -> u128 {
        let ratio = if mine == 0 || other <= mine {
            1.0
        } else {
            other as f64 / mine as f64
        };
        // Reads are turned into bytes at the ghosts' E, not the residents'
        // (see the module docs: the residents' grows with the cache's age).
        let bytes: u64 = self.ghosts.iter().map(|g| g.bytes(0)).sum();
        let saved: u64 = self.ghost_saved.iter().sum();
        let charge = charge.max(1) as f64;
        let natural = if bytes == 0 || saved == 0 {
            // Nothing to compare with yet: byte-weighted ARC's step.
            charge
        } else {
            let e = f64::from(saves.max(1)) / charge;
            let e_margin = saved as f64 / bytes as f64;
            charge * e / e_margin
        };
        // One hit is one lookup's evidence, however much its entry saved
        // before it went (see the module docs).
        let cap = self.capacity as f64 / f64::from(MAX_STEP_DIVISOR);
        let step = (natural * ratio * self.config.step_scale).clamp(0.0, cap);
        (step * ONE as f64) as u128
    }

    fn adapt(&mut self, part: Part, charge: u64, saves: u32) {
        let cap = u128::from(self.capacity) << FRAC;
        let g = |p: Part| self.ghosts[p.idx()].bytes(0);
        match part {
            Part::Kv | Part::Kp => {
                // No ARC ratio at this level (see the module docs): 1 against 1.
                let up = self.step(charge, saves, 1, 1);
                self.point_target = (self.point_target + up).min(cap);
                if part == Part::Kv {
                    let d = self.step(charge, saves, g(Part::Kv), g(Part::Kp));
                    self.kv_target = (self.kv_target + d).min(self.point_target);
                } else {
                    let d = self.step(charge, saves, g(Part::Kp), g(Part::Kv));
                    self.kv_target = self.kv_target.saturating_sub(d);
                }
            }
            Part::Block => {
                let d = self.step(charge, saves, 1, 1);
                let d = d.min(self.point_target);
                let (kv, kp) = (
                    u128::from(self.used(Part::Kv)),
                    u128::from(self.used(Part::Kp)),
                );
                // Shrink KV and KP in proportion to their sizes (or, both being
                // empty, to their targets).
                let from_kv = (d * kv)
                    .checked_div(kv + kp)
                    .or_else(|| {
                        (d * self.kv_target.min(self.point_target)).checked_div(self.point_target)
                    })
                    .unwrap_or(0);
                self.point_target -= d;
                self.kv_target = self
                    .kv_target
                    .saturating_sub(from_kv)
                    .min(self.point_target);
            }
        }
    }

    /// Evicts until `extra` more bytes for `into` fit in the capacity.
    fn make_room(&mut self, extra: u64, into: Part) {
        while self.used_total() + extra > self.capacity {
            let Some(victim) = self.victim(extra, into) else {
                break;
            };
            self.evict_one(victim);
        }
    }

    /// The non-empty part furthest over its target, counting `extra` as `into`'s.
    fn victim(&self, extra: u64, into: Part) -> Option<Part> {
        Part::ALL
            .into_iter()
            .filter(|&p| self.len(p) > 0)
            .max_by_key(|&p| {
                let used = u128::from(self.used(p) + if p == into { extra } else { 0 }) << FRAC;
                // Order by how far over target, as a signed quantity.
                let t = self.target(p);
                if used >= t {
                    (1u8, used - t)
                } else {
                    (0u8, u128::MAX - (t - used))
                }
            })
    }

    fn evict_one(&mut self, part: Part) {
        let (key_hash, charge, saves) = match part {
            Part::Kv => {
                let slot = elru_pick(&self.kv, self.config.elru_sample, |p| u64::from(p.reads));
                let n = self.kv.remove(slot);
                let saves = n.value.reads;
                (self.hash(&n.key), n.charge, saves)
            }
            Part::Kp => {
                let slot = elru_pick(&self.kp, self.config.elru_sample, |p| {
                    u64::from(kp_saves(p.reads))
                });
                let n = self.kp.remove(slot);
                let saves = kp_saves(n.value.reads);
                (self.hash(&n.key), n.charge, saves)
            }
            Part::Block => {
                let slot = elru_pick(&self.blocks, self.config.elru_sample, |p| {
                    u64::from(block_saves(p.reads))
                });
                let n = self.blocks.remove(slot);
                let saves = block_saves(n.value.reads);
                (self.hash(&n.key), n.charge, saves)
            }
        };
        self.stats[part.idx()].evictions += 1;
        if self.ghosts_on {
            if let Some(old) = self.ghosts[part.idx()].find(&key_hash) {
                self.drop_ghost(part, old);
            }
            self.ghosts[part.idx()].push_mru(0, key_hash, saves, charge);
            self.ghost_saved[part.idx()] += u64::from(saves);
            self.bound_ghosts();
        }
    }

    /// Ghosts together are charged at most the capacity (ARC's 2c directory);
    /// the largest ghost list gives way first.
    fn bound_ghosts(&mut self) {
        loop {
            let total: u64 = self.ghosts.iter().map(|g| g.bytes(0)).sum();
            if total <= self.capacity {
                break;
            }
            let Some(big) = Part::ALL
                .into_iter()
                .max_by_key(|&p| self.ghosts[p.idx()].bytes(0))
            else {
                break;
            };
            let Some(slot) = self.ghosts[big.idx()].lru(0) else {
                break;
            };
            self.drop_ghost(big, slot);
        }
    }

    fn drop_ghost(&mut self, part: Part, slot: u32) {
        let n = self.ghosts[part.idx()].remove(slot);
        self.ghost_saved[part.idx()] -= u64::from(n.value);
    }

    fn clear_ghosts(&mut self) {
        for g in &mut self.ghosts {
            g.clear();
        }
        self.ghost_saved = [0; 3];
    }

    fn count_hit(&mut self, part: Part, saved: u64) {
        let s = &mut self.stats[part.idx()];
        s.hits += 1;
        s.disk_reads_saved += saved;
        let kind = match part {
            Part::Kv | Part::Kp => Lookup::Point,
            Part::Block => Lookup::Block,
        };
        self.window_hits[kind as usize] += 1;
        self.tick(kind);
    }

    fn count_miss(&mut self, kind: Lookup) {
        self.tick(kind);
    }

    /// Closes a measurement window every `config.window` lookups and switches
    /// ghost tracking off while the workload holds, back on when it moves.
    ///
    /// The workload moves when the hit ratio does or a kind of lookup starts
    /// or stops (see the module docs).
    fn tick(&mut self, kind: Lookup) {
        self.window_lookups[kind as usize] += 1;
        let total = self.window_lookups[0] + self.window_lookups[1];
        if !self.config.adapt || total < self.config.window.max(1) {
            return;
        }
        let window = Window::of(self.window_lookups, self.window_hits);
        self.window_lookups = [0; 2];
        self.window_hits = [0; 2];
        let band = f64::from(self.config.steady_permille) / 1000.0;
        // The split is steady when neither side's target moved by more than
        // the same band (relative to that side) since the last window.
        let cap = u128::from(self.capacity) << FRAC;
        let point = self.point_target.min(cap);
        let smaller = point.min(cap - point);
        let moved = point.abs_diff(self.last_point_target);
        let split_steady = moved as f64 <= band * smaller as f64;
        self.last_point_target = point;
        if self.ghosts_on {
            match &self.last_window {
                Some(last) if window.like(last, band) && split_steady => self.steady_run += 1,
                _ => self.steady_run = 0,
            }
            if self.steady_run >= self.config.steady_windows {
                self.ghosts_on = false;
                self.reference = window;
                self.clear_ghosts();
            }
        } else if !window.like(&self.reference, band) {
            self.ghosts_on = true;
            self.steady_run = 0;
        }
        self.last_window = Some(window);
    }
}

/// Reads a block saves per residency: one for the read that brought it in plus
/// one per hit since.
fn block_saves(hits: u32) -> u32 {
    hits.saturating_add(1)
}

/// Reads a KP hit saves: the lookup's reads less the data-block read it still
/// makes.
fn kp_saves(reads: u32) -> u32 {
    reads.saturating_sub(1)
}

/// E-LRU: among the `a` least recently used entries of `list`, the slot with the
/// lowest `saves / charge`, `a = e^v` with `v` the standard deviation of the
/// normalized E of the `sample` entries at the LRU end.
fn elru_pick<K: Hash + Eq + Clone, T>(
    list: &Lists<K, T, 1>,
    sample: usize,
    saves: impl Fn(&T) -> u64,
) -> u32 {
    let mut window = [(0u32, 0f64); 64];
    let want = sample.clamp(1, window.len());
    let mut n = 0;
    let mut cur = list.lru(0);
    while let Some(slot) = cur {
        if n == want {
            break;
        }
        let node = list.node(slot);
        window[n] = (slot, saves(&node.value) as f64 / node.charge.max(1) as f64);
        n += 1;
        cur = list.more_recent(slot);
    }
    let window = &window[..n];
    let mean = window.iter().map(|w| w.1).sum::<f64>() / n as f64;
    let a = if mean > 0.0 {
        let var = window
            .iter()
            .map(|w| {
                let d = w.1 / mean - 1.0;
                d * d
            })
            .sum::<f64>()
            / n as f64;
        let a = exp(sqrt(var));
        (a + 0.5) as usize
    } else {
        1
    }
    .clamp(1, n);
    let mut best = window[0];
    for &w in &window[1..a] {
        if w.1 < best.1 {
            best = w;
        }
    }
    best.0
}

/// Square root by Newton's method (core has no `f64::sqrt` without std).
fn sqrt(x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    let mut r = if x > 1.0 { x } else { 1.0 };
    for _ in 0..64 {
        let next = 0.5 * (r + x / r);
        if (r - next).abs() <= 1e-12 * r {
            return next;
        }
        r = next;
    }
    r
}

/// `e^x` for the small non-negative `x` E-LRU needs (core has no `f64::exp`).
fn exp(x: f64) -> f64 {
    // The sample size caps `a`, so anything past ln(64) is as good as infinity.
    let x = x.clamp(0.0, 8.0);
    // e^x = (e^(x/16))^16, and the series converges fast for x/16 <= 0.5.
    let y = x / 16.0;
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 1..12 {
        term *= y / f64::from(k);
        sum += term;
    }
    for _ in 0..4 {
        sum *= sum;
    }
    sum
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

#[cfg(test)]
mod tests {
    use super::{exp, sqrt};

    #[test]
    fn float_helpers_match_known_values() {
        assert!((sqrt(2.0) - core::f64::consts::SQRT_2).abs() < 1e-12);
        assert!((exp(1.0) - core::f64::consts::E).abs() < 1e-9);
        assert!((exp(0.0) - 1.0).abs() < 1e-12);
        assert!((exp(2.5) - 12.182_493_960_703_473).abs() < 1e-6);
    }
}

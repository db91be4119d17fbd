//! A synthetic store trace whose workload changes phase (point lookups, then
//! range scans, then point lookups again), over a modelled LSM tree, for the
//! split plot without a kernel run and for the tests.
//!
//! The tree: keys `0..keys`, each byte-encoded big-endian (so byte order is
//! numeric order), placed on level 1, 2 or 3 with probability 1%, 9% and 90%
//! by a hash of the key, so every level spans the whole key space as in a real
//! LSM. Each level is a sorted run cut into tables of [`KEYS_PER_TABLE`] keys;
//! a table is its data blocks (as many entries as fit in [`DATA_BLOCK`]), then
//! an index block, then a filter block (10 bits a key).
//!
//! A point lookup of a key on level `L` reads the filter of the table covering
//! it on each level above `L` (negative: false positives are left out), then
//! the filter, index and data block of its table on `L`. A scan of `limit`
//! keys from `start` seeks every level (its index and first data block) and
//! reads the data blocks of the range. Point keys and scan starts are Zipfian
//! (theta 0.99 by default), scattered over the key space.

use lsm::db::BlockKind;

use crate::lsm_model::zipf_keys;
use crate::store_trace::{BlockRef, Builder, Found, StoreTrace};

/// Bytes of a data block.
pub const DATA_BLOCK: u64 = 4096;
/// Keys per table.
pub const KEYS_PER_TABLE: usize = 1024;
/// Bytes a block handle takes in an index block.
const HANDLE: u64 = 16;
/// Bytes of per-entry overhead in a data block (lengths, restart points).
const ENTRY_OVERHEAD: u64 = 8;

/// What to generate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PhaseSpec {
    /// Keys in the tree.
    pub keys: u64,
    /// Point lookups in each of the two point phases.
    pub point_ops: usize,
    /// Scans in the scan phase.
    pub scan_ops: usize,
    /// Keys per scan.
    pub scan_len: u64,
    /// Zipfian skew of point keys and scan starts.
    pub theta: f64,
    /// Bytes of a key (at least 8).
    pub key_size: u64,
    /// Bytes of a value.
    pub value_size: u64,
    /// Seed of the generators.
    pub seed: u64,
}

impl Default for PhaseSpec {
    fn default() -> Self {
        PhaseSpec {
            keys: 100_000,
            point_ops: 200_000,
            scan_ops: 20_000,
            scan_len: 100,
            theta: 0.99,
            key_size: 16,
            value_size: 100,
            seed: 1,
        }
    }
}

struct Level {
    /// Its keys, sorted.
    keys: Vec<u64>,
    /// Number of its first table.
    first_table: u64,
}

/// The modelled tree.
pub struct ModelTree {
    levels: Vec<Level>,
    key_size: u64,
    value_size: u64,
    per_block: usize,
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl ModelTree {
    /// A tree of `keys` keys with keys and values of the given sizes.
    pub fn new(keys: u64, key_size: u64, value_size: u64, seed: u64) -> Self {
        let mut levels: Vec<Level> = (0..3)
            .map(|l| Level {
                keys: Vec::new(),
                first_table: (l as u64 + 1) * 1_000_000,
            })
            .collect();
        for k in 0..keys {
            let l = match mix(k ^ seed.rotate_left(17)) % 100 {
                0 => 0,
                1..=9 => 1,
                _ => 2,
            };
            levels[l].keys.push(k);
        }
        let per_block =
            (DATA_BLOCK / (key_size.max(8) + value_size + ENTRY_OVERHEAD)).max(1) as usize;
        ModelTree {
            levels,
            key_size: key_size.max(8),
            value_size,
            per_block,
        }
    }

    /// The bytes of key number `k`.
    pub fn key_bytes(&self, k: u64) -> Vec<u8> {
        let mut key = vec![b'k'; (self.key_size - 8) as usize];
        key.extend_from_slice(&k.to_be_bytes());
        key
    }

    fn blocks_per_table(&self) -> usize {
        KEYS_PER_TABLE.div_ceil(self.per_block)
    }

    /// The data block holding position `pos` of level `l`.
    fn data(&self, l: usize, pos: usize) -> BlockRef {
        let t = pos / KEYS_PER_TABLE;
        let b = (pos % KEYS_PER_TABLE) / self.per_block;
        BlockRef {
            table: self.levels[l].first_table + t as u64,
            offset: b as u64 * DATA_BLOCK,
            size: DATA_BLOCK,
            kind: BlockKind::Data,
        }
    }

    fn table_keys(&self, l: usize, t: usize) -> usize {
        let n = self.levels[l].keys.len();
        (n - t * KEYS_PER_TABLE).min(KEYS_PER_TABLE)
    }

    fn index(&self, l: usize, t: usize) -> BlockRef {
        let blocks = self.table_keys(l, t).div_ceil(self.per_block) as u64;
        BlockRef {
            table: self.levels[l].first_table + t as u64,
            offset: self.blocks_per_table() as u64 * DATA_BLOCK,
            size: blocks * (self.key_size + HANDLE),
            kind: BlockKind::Index,
        }
    }

    fn filter(&self, l: usize, t: usize) -> BlockRef {
        let index = self.index(l, t);
        BlockRef {
            offset: index.offset + index.size,
            size: (self.table_keys(l, t) as u64 * 10).div_ceil(8),
            kind: BlockKind::Filter,
            ..index
        }
    }

    /// The table of level `l` whose key range covers `k`, if any.
    fn covering(&self, l: usize, k: u64) -> Option<usize> {
        let keys = &self.levels[l].keys;
        let i = keys.partition_point(|&x| x < k);
        if keys.get(i) == Some(&k) {
            return Some(i / KEYS_PER_TABLE);
        }
        // Between two keys of one table, or outside every table.
        (i > 0 && i < keys.len() && (i - 1) / KEYS_PER_TABLE == i / KEYS_PER_TABLE)
            .then_some(i / KEYS_PER_TABLE)
    }

    /// Appends the records of a point lookup of key `k`.
    pub fn lookup(&self, b: &mut Builder, k: u64) {
        b.get(&self.key_bytes(k));
        for l in 0..self.levels.len() {
            let Some(t) = self.covering(l, k) else {
                continue;
            };
            b.block(self.filter(l, t));
            let keys = &self.levels[l].keys;
            let Ok(pos) = keys.binary_search(&k) else {
                continue;
            };
            let data = self.data(l, pos);
            b.block(self.index(l, t));
            b.block(data);
            let f = Found {
                value_len: self.value_size,
                table: data.table,
                offset: data.offset,
                size: data.size,
            };
            b.found(f);
            return;
        }
    }

    /// Appends the records of a scan of `limit` keys from key `start`.
    pub fn scan(&self, b: &mut Builder, start: u64, limit: u64) {
        b.scan(&self.key_bytes(start), limit);
        let end = start.saturating_add(limit);
        for l in 0..self.levels.len() {
            let keys = &self.levels[l].keys;
            let a = keys.partition_point(|&x| x < start);
            // The seek reads the first block at or after `start` even when the
            // range holds no key of this level.
            let z = keys
                .partition_point(|&x| x < end)
                .max(a + 1)
                .min(keys.len());
            let mut last = None;
            for pos in a..z {
                let d = self.data(l, pos);
                if last == Some((d.table, d.offset)) {
                    continue;
                }
                if last.is_none_or(|(t, _)| t != d.table) {
                    b.block(self.index(l, pos / KEYS_PER_TABLE));
                }
                b.block(d);
                last = Some((d.table, d.offset));
            }
        }
    }
}

/// Point lookups, then scans, then point lookups, each phase marked.
pub fn phase_trace(spec: &PhaseSpec) -> StoreTrace {
    let tree = ModelTree::new(spec.keys, spec.key_size, spec.value_size, spec.seed);
    let mut b = Builder::new();
    let n = spec.keys.max(1);
    let points = |seed| zipf_keys(n, spec.theta, spec.point_ops, seed);
    b.phase("points");
    for k in points(spec.seed) {
        tree.lookup(&mut b, k);
    }
    b.phase("scans");
    for s in zipf_keys(n, spec.theta, spec.scan_ops, spec.seed ^ 0x5ca9) {
        tree.scan(&mut b, s, spec.scan_len);
    }
    b.phase("points");
    for k in points(spec.seed.wrapping_add(1)) {
        tree.lookup(&mut b, k);
    }
    b.finish()
}

//! A point-lookup workload over a modelled LSM tree, for comparing AC-Key with
//! block-only caches on the same budget, counting disk reads.
//!
//! The model: `keys` keys spread over levels 1..=3 holding 1%, 9% and 90% of
//! them (LevelDB's tenfold growth); each level is a sorted run cut into tables
//! of [`KEYS_PER_TABLE`] keys, each table having one filter block, one index
//! block and data blocks of [`DATA_BLOCK`] bytes. A lookup of a key at level
//! `l` probes the filters of levels 1..l (negative above `l`: false positives
//! are left out), then reads level `l`'s index and data block: `l + 2` block
//! accesses, AC-Key's `m + 2`. Each access the cache cannot serve is a disk
//! read.
//!
//! Requests follow a Zipfian distribution (YCSB's generator, theta 0.99 by
//! default) whose ranks are scattered over the key space by a multiplicative
//! permutation, so hot keys rarely share a block, as in YCSB with hashed keys.

use cache::{PointHit, Policy, ReadCache};

/// Bytes of a data block.
pub const DATA_BLOCK: u64 = 4096;
/// Keys per table.
pub const KEYS_PER_TABLE: u64 = 1024;
/// Bytes each cached point entry costs beyond its key and value: the hash
/// index slot, list links and the entry header.
pub const ENTRY_OVERHEAD: u64 = 32;
/// Bytes of a block pointer (table number, offset, size).
pub const POINTER: u64 = 16;

const TAG_FILTER: u64 = 1 << 60;
const TAG_INDEX: u64 = 2 << 60;
const TAG_DATA: u64 = 3 << 60;

/// The modelled tree.
#[derive(Clone, Debug)]
pub struct LsmModel {
    /// Number of keys.
    pub keys: u64,
    /// Bytes of a key.
    pub key_size: u64,
    /// Bytes of a value.
    pub value_size: u64,
    /// First key number of levels 1, 2, 3 and the end.
    bounds: [u64; 4],
}

/// Where a key lives and what reading it touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Place {
    level: u64,
    filter: [u64; 3],
    index: u64,
    data: u64,
}

impl LsmModel {
    /// A tree of `keys` keys of `key_size` bytes with `value_size`-byte values.
    pub fn new(keys: u64, key_size: u64, value_size: u64) -> Self {
        let l1 = keys / 100;
        let l2 = l1 + keys * 9 / 100;
        LsmModel {
            keys,
            key_size,
            value_size,
            bounds: [0, l1, l2, keys],
        }
    }

    fn entries_per_block(&self) -> u64 {
        (DATA_BLOCK / (self.key_size + self.value_size).max(1)).max(1)
    }

    fn place(&self, key: u64) -> Place {
        // Keys are numbered so that each level is a contiguous run.
        let level = (1..=3).find(|&l| key < self.bounds[l]).unwrap_or(3) as u64;
        let table_of = |l: u64| {
            // The table of level `l` whose key range covers `key`'s position.
            let run = self.bounds[l as usize] - self.bounds[l as usize - 1];
            let pos = key.min(self.keys - 1) * run.max(1) / self.keys.max(1);
            (l << 40) | (pos / KEYS_PER_TABLE)
        };
        let mut filter = [0; 3];
        for l in 1..=3u64 {
            filter[l as usize - 1] = TAG_FILTER | table_of(l);
        }
        let pos = key - self.bounds[level as usize - 1];
        Place {
            level,
            filter,
            index: TAG_INDEX | table_of(level),
            data: TAG_DATA | (level << 40) | (pos / self.entries_per_block()),
        }
    }

    fn block_charge(&self, handle: u64) -> u64 {
        match handle & (3 << 60) {
            // 10 bits per key.
            TAG_FILTER => KEYS_PER_TABLE * 10 / 8,
            // One separator key and a pointer per data block.
            TAG_INDEX => KEYS_PER_TABLE / self.entries_per_block() * (self.key_size + POINTER),
            _ => DATA_BLOCK,
        }
    }

    /// Bytes a KV entry is charged.
    pub fn kv_charge(&self) -> u64 {
        self.key_size + self.value_size + ENTRY_OVERHEAD
    }

    /// Bytes a KP entry is charged.
    pub fn kp_charge(&self) -> u64 {
        self.key_size + POINTER + ENTRY_OVERHEAD
    }
}

/// The outcome of one policy at one size.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LookupResult {
    /// Which policy.
    pub policy: Policy,
    /// Cache budget in bytes.
    pub size: u64,
    /// Point lookups made.
    pub lookups: u64,
    /// Lookups that needed no disk read.
    pub free_lookups: u64,
    /// Disk reads in all.
    pub disk_reads: u64,
}

impl std::fmt::Display for LookupResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.lookups.max(1) as f64;
        write!(
            f,
            "policy={} size={} lookups={} disk_reads={} reads_per_lookup={:.4} hit_ratio={:.6}",
            self.policy,
            self.size,
            self.lookups,
            self.disk_reads,
            self.disk_reads as f64 / n,
            self.free_lookups as f64 / n
        )
    }
}

type Rc = ReadCache<u64, (), u64, u64, ()>;

fn block(rc: &mut Rc, model: &LsmModel, handle: u64) -> u64 {
    if rc.get_block(&handle).is_some() {
        return 0;
    }
    let _ = rc.insert_block(handle, (), model.block_charge(handle));
    1
}

/// Replays point lookups of `keys` through `policy` with `size` bytes.
pub fn run_lookups(model: &LsmModel, keys: &[u64], policy: Policy, size: u64) -> LookupResult {
    let mut rc: Rc = ReadCache::new(policy, size);
    let mut result = LookupResult {
        policy,
        size,
        lookups: keys.len() as u64,
        free_lookups: 0,
        disk_reads: 0,
    };
    for &key in keys {
        let place = model.place(key);
        let reads = match rc.get_point(&key) {
            PointHit::Kv(()) => 0,
            PointHit::Kp(&data) => {
                let r = block(&mut rc, model, data);
                let _ = rc.promote(&key, (), model.kv_charge());
                r
            }
            PointHit::Miss => {
                let mut reads = 0;
                for l in 1..=place.level {
                    reads += block(&mut rc, model, place.filter[l as usize - 1]);
                }
                reads += block(&mut rc, model, place.index);
                reads += block(&mut rc, model, place.data);
                let accesses = place.level as u32 + 2;
                let _ = rc.insert_point(
                    key,
                    (),
                    model.kv_charge(),
                    place.data,
                    model.kp_charge(),
                    accesses,
                );
                reads
            }
        };
        result.disk_reads += reads;
        if reads == 0 {
            result.free_lookups += 1;
        }
    }
    result
}

/// YCSB's Zipfian generator over `0..n` (Gray et al.), ranks scattered over
/// the key space, driven by a fixed-seed splitmix64 so runs repeat.
pub fn zipf_keys(n: u64, theta: f64, count: usize, seed: u64) -> Vec<u64> {
    let n = n.max(1);
    let zeta = |m: u64| (1..=m).map(|i| 1.0 / (i as f64).powf(theta)).sum::<f64>();
    let zetan = zeta(n);
    let zeta2 = zeta(2.min(n));
    let alpha = 1.0 / (1.0 - theta);
    let eta = (1.0 - (2.0 / n as f64).powf(1.0 - theta)) / (1.0 - zeta2 / zetan);
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    // An odd multiplier coprime with n scatters ranks: rank -> rank * m mod n.
    let mut mult = 2_654_435_761u64 % n;
    while gcd(mult, n) != 1 {
        mult += 1;
    }
    (0..count)
        .map(|_| {
            let u = next();
            let uz = u * zetan;
            let rank = if uz < 1.0 {
                0
            } else if uz < 1.0 + 0.5f64.powf(theta) {
                1
            } else {
                ((n as f64) * (eta * u - eta + 1.0).powf(alpha)) as u64
            };
            (rank.min(n - 1) as u128 * mult as u128 % n as u128) as u64
        })
        .collect()
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

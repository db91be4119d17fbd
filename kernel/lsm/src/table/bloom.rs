//! A table's bloom filter: about `bits_per_key` bits a key and
//! `k = bits * ln 2` probes of one 32-bit hash, all of a key's probes in
//! one 64-byte block (RocksDB's cache-local Bloom, format_version 5).
//!
//! LevelDB's filter spreads a key's probes over the whole array, so a
//! lookup's filter check touches a cache line per probe it makes: about two
//! for a table that does not hold the key (the first zero bit ends it), six
//! for the one that does. A point lookup asks the filter of every level-0
//! table and one table a level, filters that together outgrow the caches
//! once the store does, so a local filter's one line a table is the
//! difference. It costs some accuracy: at 10 bits a key 0.8-1.2% false
//! positives (more as tables grow) against LevelDB's 0.8%.
//!
//! Filters of LevelDB's layout (tables written before, or by LevelDB) are
//! still read: the two layouts differ in their last byte (see
//! `kernel/lsm/doc/format.md`).

use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::coding::get_fixed32;

/// LevelDB's `Hash`, a murmur-like 32-bit hash.
pub fn hash(data: &[u8], seed: u32) -> u32 {
    const M: u32 = 0xc6a4_a793;
    const R: u32 = 24;
    let mut h = seed ^ (data.len() as u32).wrapping_mul(M);
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let w = get_fixed32(c, 0).unwrap_or(0);
        h = h.wrapping_add(w).wrapping_mul(M);
        h ^= h >> 16;
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        if rest.len() == 3 {
            h = h.wrapping_add(u32::from(rest[2]) << 16);
        }
        if rest.len() >= 2 {
            h = h.wrapping_add(u32::from(rest[1]) << 8);
        }
        h = h.wrapping_add(u32::from(rest[0])).wrapping_mul(M);
        h ^= h >> R;
    }
    h
}

fn bloom_hash(key: &[u8]) -> u32 {
    hash(key, 0xbc9f_1d34)
}

/// Number of probes for `bits_per_key`: `bits * ln 2`, clamped to 1..=30.
pub fn probes(bits_per_key: usize) -> usize {
    (bits_per_key * 69 / 100).clamp(1, 30)
}

/// Bytes of a local filter's block: a cache line.
const BLOCK_BYTES: usize = 64;
const BLOCK_BITS: usize = BLOCK_BYTES * 8;
/// A local filter's trailer, RocksDB's metadata layout: a marker (0xff),
/// the implementation (0: this one), the probes, and two reserved zeros.
/// The last byte, where LevelDB's layout keeps `k` (1..=30), is 0: LevelDB
/// reads that as "no filter", this reader as the local layout.
const TRAILER: usize = 5;
const MARKER: u8 = 0xff;
/// The multiplier that makes each probe's bits from the last (2^32 / phi).
const GOLDEN: u32 = 0x9e37_79b9;

/// Builds the filter of `keys`: 64-byte blocks, then the 5-byte trailer.
pub fn build(keys: &[&[u8]], bits_per_key: usize) -> Vec<u8> {
    let hashes: Vec<u32> = keys.iter().map(|k| key_hash(k)).collect();
    build_from_hashes(&hashes, bits_per_key)
}

/// [`build`] for the keys whose [`key_hash`]es are `hashes`.
pub fn build_from_hashes(hashes: &[u32], bits_per_key: usize) -> Vec<u8> {
    let k = probes(bits_per_key);
    // One block at least, which also keeps a tiny table's rate sane.
    let blocks = (hashes.len() * bits_per_key).div_ceil(BLOCK_BITS).max(1);
    let mut out = alloc::vec![0u8; blocks * BLOCK_BYTES + TRAILER];
    for &h in hashes {
        let (i, mut m) = locate(h, blocks);
        let block = &mut out[i * BLOCK_BYTES..(i + 1) * BLOCK_BYTES];
        for _ in 0..k {
            let bit = next_bit(&mut m);
            block[bit / 8] |= 1 << (bit % 8);
        }
    }
    let trailer = blocks * BLOCK_BYTES;
    out[trailer] = MARKER;
    out[trailer + 2] = k as u8;
    out
}

/// The key hash remixed (murmur3's finalizer): LevelDB's `Hash` leaves
/// its high bits alike for keys that differ in their last bytes (keys
/// `key00000000` to `key00000297` put 96 of 100 in one of two blocks),
/// and those bits pick the block.
#[inline(always)]
fn mix(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

/// A key's next probe in its block, from `bits` (its mixed hash at the
/// first probe), which it moves on: the one sequence both the builder and
/// the readers follow.
#[inline(always)]
fn next_bit(bits: &mut u32) -> usize {
    *bits = bits.wrapping_mul(GOLDEN);
    (*bits >> 23) as usize
}

/// Where the key whose hash is `h` goes in a filter of `blocks` blocks:
/// its block (the mixed hash's high bits scaled to the count, with no
/// division) and the mixed hash its bits are made from.
#[inline(always)]
fn locate(h: u32, blocks: usize) -> (usize, u32) {
    let m = mix(h);
    (((u64::from(m) * blocks as u64) >> 32) as usize, m)
}

/// Whether `key` may be among the keys `filter` was built from. Never false
/// for one of them; a malformed filter answers true (it can only cost a read).
pub fn may_contain(filter: &[u8], key: &[u8]) -> bool {
    may_contain_hash(filter, key_hash(key))
}

/// The hash a filter probes for `key`: computed once, it serves every
/// table's filter a lookup asks (RocksDB's way; LevelDB hashes per table).
#[inline]
pub fn key_hash(key: &[u8]) -> u32 {
    bloom_hash(key)
}

/// How a filter's bytes are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterLayout {
    /// 64-byte blocks, a key's probes all in one, then the 5-byte trailer.
    Local,
    /// LevelDB's: a bit array, then the probe count.
    LevelDb,
    /// Neither (another encoding, or damage): it admits every key.
    Unknown,
}

/// A filter taken apart: its layout, its bit array and its probes.
#[inline(always)]
fn parts(filter: &[u8]) -> (FilterLayout, &[u8], u8) {
    let unknown = (FilterLayout::Unknown, &[][..], 0);
    let Some((&last, array)) = filter.split_last() else {
        return unknown;
    };
    if last != 0 {
        // LevelDB reserves other k for future encodings.
        if array.is_empty() || last > 30 {
            return unknown;
        }
        return (FilterLayout::LevelDb, array, last);
    }
    let Some(blocks_len) = filter.len().checked_sub(TRAILER) else {
        return unknown;
    };
    let (blocks, trailer) = filter.split_at(blocks_len);
    let k = trailer[2];
    if trailer[0] != MARKER
        || trailer[1] != 0
        || k == 0
        || k > 30
        || blocks.is_empty()
        || blocks.len() % BLOCK_BYTES != 0
    {
        return unknown;
    }
    (FilterLayout::Local, blocks, k)
}

/// A filter's layout, bits and probes a key, for tools that show a table.
pub fn describe(filter: &[u8]) -> (FilterLayout, u64, u8) {
    let (layout, array, k) = parts(filter);
    (layout, array.len() as u64 * 8, k)
}

/// [`may_contain`] for the key whose [`key_hash`] is `h`. Inlined into
/// the lookups: under TCG a call's return is a looked-up jump.
#[inline(always)]
pub fn may_contain_hash(filter: &[u8], h: u32) -> bool {
    match parts(filter) {
        (FilterLayout::Local, blocks, k) => local_may_contain(blocks, k, h),
        (FilterLayout::LevelDb, array, k) => leveldb_may_contain(array, k, h),
        (FilterLayout::Unknown, _, _) => true,
    }
}

/// A local filter's blocks (a whole number of them, at least one).
#[inline(always)]
fn local_may_contain(blocks: &[u8], k: u8, h: u32) -> bool {
    let (i, m) = locate(h, blocks.len() / BLOCK_BYTES);
    blocks
        .get(i * BLOCK_BYTES..(i + 1) * BLOCK_BYTES)
        .is_none_or(|block| block_admits(block, k, m))
}

/// Whether the key whose mixed hash is `m` has its `k` bits set in its
/// 64-byte `block`.
#[inline(always)]
fn block_admits(block: &[u8], k: u8, mut m: u32) -> bool {
    for _ in 0..k {
        let bit = next_bit(&mut m);
        if block[bit / 8] & (1 << (bit % 8)) == 0 {
            return false;
        }
    }
    true
}

/// A block of a local filter on a cache line of its own.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
pub(crate) struct Line([u8; BLOCK_BYTES]);

/// The filter an open table keeps: a local filter's blocks copied onto
/// cache lines (a block read from the disk or the cache sits wherever its
/// buffer does, usually across two lines), any other layout as read.
#[derive(Debug, Clone)]
pub(crate) enum PinnedFilter {
    /// A local filter's blocks and its probes.
    Local {
        /// The blocks, each on its own line.
        lines: Arc<[Line]>,
        /// Probes a key.
        k: u8,
    },
    /// LevelDB's layout, or one no reader knows (which admits every key).
    Bytes(Arc<[u8]>),
}

impl PinnedFilter {
    /// The filter block `filter`, ready to keep.
    pub(crate) fn new(filter: Arc<[u8]>) -> Self {
        match parts(&filter) {
            (FilterLayout::Local, blocks, k) => {
                let lines: Vec<Line> = blocks
                    .chunks_exact(BLOCK_BYTES)
                    .map(|c| {
                        let mut line = [0u8; BLOCK_BYTES];
                        line.copy_from_slice(c);
                        Line(line)
                    })
                    .collect();
                PinnedFilter::Local {
                    lines: lines.into(),
                    k,
                }
            }
            _ => PinnedFilter::Bytes(filter),
        }
    }

    /// [`may_contain_hash`] of this filter.
    #[inline(always)]
    pub(crate) fn may_contain_hash(&self, h: u32) -> bool {
        match self {
            PinnedFilter::Local { lines, k } => {
                let (i, m) = locate(h, lines.len());
                lines.get(i).is_none_or(|line| block_admits(&line.0, *k, m))
            }
            PinnedFilter::Bytes(bytes) => may_contain_hash(bytes, h),
        }
    }

    /// Bytes it counts against the tables' pin budget: the filter block's
    /// (a local filter's lines and the trailer they came with).
    pub(crate) fn block_bytes(&self) -> usize {
        match self {
            PinnedFilter::Local { lines, .. } => lines.len() * BLOCK_BYTES + TRAILER,
            PinnedFilter::Bytes(bytes) => bytes.len(),
        }
    }
}

/// A filter of LevelDB's layout: its bit array (not empty) and `k`. Out
/// of line: only tables written before the local filter have one.
#[inline(never)]
fn leveldb_may_contain(array: &[u8], k: u8, h: u32) -> bool {
    let bits = array.len() * 8;
    let mut h = h;
    let delta = h.rotate_right(17);
    for _ in 0..k {
        let pos = h as usize % bits;
        if array[pos / 8] & (1 << (pos % 8)) == 0 {
            return false;
        }
        h = h.wrapping_add(delta);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn key(i: u32) -> [u8; 4] {
        i.to_le_bytes()
    }

    #[test]
    fn hash_matches_leveldb() {
        // Values from LevelDB's util/hash_test.cc.
        assert_eq!(hash(&[], 0xbc9f_1d34), 0xbc9f_1d34);
        assert_eq!(hash(&[0x62], 0xbc9f_1d34), 0xef13_45c4);
        assert_eq!(hash(&[0xc3, 0x97], 0xbc9f_1d34), 0x5b66_3814);
        assert_eq!(hash(&[0xe2, 0x99, 0xa5], 0xbc9f_1d34), 0x323c_078f);
        assert_eq!(hash(&[0xe1, 0x80, 0xb9, 0x32], 0xbc9f_1d34), 0xed21_633a);
    }

    #[test]
    fn empty_filter_matches_nothing() {
        let f = build(&[], 10);
        assert!(!may_contain(&f, b"hello"));
        assert!(!may_contain(&f, b"world"));
    }

    #[test]
    fn small_filter() {
        let f = build(&[b"hello", b"world"], 10);
        assert!(may_contain(&f, b"hello"));
        assert!(may_contain(&f, b"world"));
        assert!(!may_contain(&f, b"x"));
        assert!(!may_contain(&f, b"foo"));
    }

    #[test]
    fn varying_lengths_have_no_false_negatives_and_few_false_positives() {
        let mut mediocre = 0;
        let mut good = 0;
        let mut length = 1;
        while length <= 10_000 {
            let keys: Vec<[u8; 4]> = (0..length).map(key).collect();
            let refs: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
            let f = build(&refs, 10);
            assert!(
                f.len() <= (length as usize * 10 / 8) + BLOCK_BYTES + TRAILER,
                "length {length}"
            );
            for k in &keys {
                assert!(may_contain(&f, k), "length {length}");
            }
            let fp = (0..10_000)
                .filter(|&i| may_contain(&f, &key(i + 1_000_000_000)))
                .count() as f64
                / 10_000.0;
            assert!(fp <= 0.02, "length {length}: rate {fp}");
            if fp > 0.0125 {
                mediocre += 1;
            } else {
                good += 1;
            }
            length = if length < 10 {
                length + 1
            } else if length < 100 {
                length + 10
            } else if length < 1000 {
                length + 100
            } else {
                length + 1000
            };
        }
        assert!(mediocre * 5 <= good, "{mediocre} mediocre, {good} good");
    }

    #[test]
    fn malformed_filters_answer_maybe() {
        assert!(may_contain(&[], b"a"));
        assert!(may_contain(&[5], b"a"));
        assert!(may_contain(&[0, 0, 0, 31], b"a"));
        // Local layouts: no blocks, another implementation, no probes, a
        // block cut short.
        assert!(may_contain(&[MARKER, 0, 6, 0, 0], b"a"));
        let mut f = alloc::vec![0u8; BLOCK_BYTES];
        f.extend([MARKER, 1, 6, 0, 0]);
        assert!(may_contain(&f, b"a"));
        f[BLOCK_BYTES + 1] = 0;
        assert!(!may_contain(&f, b"a"), "a well formed empty filter");
        f[BLOCK_BYTES + 2] = 0;
        assert!(may_contain(&f, b"a"));
        let mut short = alloc::vec![0u8; BLOCK_BYTES - 1];
        short.extend([MARKER, 0, 6, 0, 0]);
        assert!(may_contain(&short, b"a"));
    }

    /// A key's probes all land in its one 64-byte block: with every other
    /// block cleared, the filter still admits it.
    #[test]
    fn a_keys_bits_are_in_one_block() {
        let keys: Vec<[u8; 4]> = (0..1000).map(key).collect();
        let refs: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
        let f = build(&refs, 10);
        let blocks = (f.len() - TRAILER) / BLOCK_BYTES;
        assert!(blocks >= 16, "{blocks} blocks");
        for k in &keys {
            let (own, _) = locate(key_hash(k), blocks);
            let mut only = f.clone();
            for (i, b) in only[..blocks * BLOCK_BYTES].iter_mut().enumerate() {
                if i / BLOCK_BYTES != own {
                    *b = 0;
                }
            }
            assert!(may_contain(&only, k));
        }
    }

    /// A kept filter answers every key as its bytes do, its lines each on
    /// a cache line of their own; LevelDB's layout is kept as it is.
    #[test]
    fn pinned_filters_answer_as_their_bytes() {
        let keys: Vec<[u8; 4]> = (0..3000).map(key).collect();
        let refs: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
        for f in [build(&refs, 10), leveldb_build(&refs, 10)] {
            let pinned = PinnedFilter::new(Arc::from(&f[..]));
            if let PinnedFilter::Local { lines, .. } = &pinned {
                assert_eq!(lines.as_ptr() as usize % 64, 0);
            }
            assert_eq!(pinned.block_bytes(), f.len());
            for i in 0..20_000 {
                let h = key_hash(&key(i));
                assert_eq!(pinned.may_contain_hash(h), may_contain_hash(&f, h), "{i}");
            }
        }
    }

    /// LevelDB's layout, as tables written before the local filter (and
    /// LevelDB itself) have it.
    fn leveldb_build(keys: &[&[u8]], bits_per_key: usize) -> Vec<u8> {
        let k = probes(bits_per_key);
        let bytes = (keys.len() * bits_per_key).max(64).div_ceil(8);
        let bits = bytes * 8;
        let mut out = alloc::vec![0u8; bytes + 1];
        for key in keys {
            let mut h = key_hash(key);
            let delta = h.rotate_right(17);
            for _ in 0..k {
                let pos = h as usize % bits;
                out[pos / 8] |= 1 << (pos % 8);
                h = h.wrapping_add(delta);
            }
        }
        out[bytes] = k as u8;
        out
    }

    #[test]
    fn leveldb_filters_are_still_read() {
        let keys: Vec<[u8; 4]> = (0..2000).map(key).collect();
        let refs: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
        let f = leveldb_build(&refs, 10);
        assert_eq!(*f.last().unwrap(), 6);
        assert!(keys.iter().all(|k| may_contain(&f, k)));
        let fp = (0..10_000)
            .filter(|&i| may_contain(&f, &key(i + 1_000_000_000)))
            .count();
        assert!(fp <= 200, "{fp} false positives in 10,000");
        // LevelDB reads a local filter's last byte as k = 0: no filter.
        let local = build(&refs, 10);
        assert_eq!(*local.last().unwrap(), 0);
    }
}

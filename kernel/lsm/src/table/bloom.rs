//! LevelDB's bloom filter: about `bits_per_key` bits a key, `k = bits * ln 2`
//! probes made by double hashing one 32-bit hash.

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

/// Builds the filter of `keys`: the bit array followed by one byte, k.
pub fn build(keys: &[&[u8]], bits_per_key: usize) -> Vec<u8> {
    let hashes: Vec<u32> = keys.iter().map(|k| key_hash(k)).collect();
    build_from_hashes(&hashes, bits_per_key)
}

/// [`build`] for the keys whose [`key_hash`]es are `hashes`.
pub fn build_from_hashes(hashes: &[u32], bits_per_key: usize) -> Vec<u8> {
    let k = probes(bits_per_key);
    // A small minimum keeps the false-positive rate sane for tiny tables.
    let bits = (hashes.len() * bits_per_key).max(64);
    let bytes = bits.div_ceil(8);
    let bits = bytes * 8;
    let mut out = alloc::vec![0u8; bytes + 1];
    for &h in hashes {
        let mut h = h;
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

/// [`may_contain`] for the key whose [`key_hash`] is `h`.
pub fn may_contain_hash(filter: &[u8], h: u32) -> bool {
    let Some((&k, array)) = filter.split_last() else {
        return true;
    };
    if array.is_empty() || k == 0 || k > 30 {
        // LevelDB reserves other k for future encodings: treat as a match.
        return true;
    }
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
                f.len() <= (length as usize * 10 / 8) + 40,
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
    }
}

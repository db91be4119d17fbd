//! Key orderings. A table or memtable is sorted by one [`Comparator`], which
//! also knows which part of a key the bloom filter hashes and how to shorten
//! index keys.

use alloc::vec::Vec;
use core::cmp::Ordering;

use crate::coding::{load_u64, shared_prefix_len};

/// A total order on keys, plus what the table format needs to know about it.
pub trait Comparator: Clone {
    /// The order.
    fn compare(&self, a: &[u8], b: &[u8]) -> Ordering;

    /// Shortens `start` in place to a key in `[start, limit)`, so index blocks
    /// hold short separators instead of whole keys. Leaving it unchanged is
    /// always correct.
    fn find_shortest_separator(&self, start: &mut Vec<u8>, limit: &[u8]);

    /// Shortens `key` in place to a key `>= key`.
    fn find_short_successor(&self, key: &mut Vec<u8>);

    /// The part of a key the bloom filter hashes: lookups by any key with the
    /// same filter key must find the same filter bits.
    fn filter_key<'k>(&self, key: &'k [u8]) -> &'k [u8] {
        key
    }

    /// An abbreviated key, as databases sort by: where two keys'
    /// abbreviations differ, they order the keys as [`Comparator::compare`]
    /// does; where they are equal, they say nothing. A merge compares these
    /// first (one integer comparison) and the keys only on a tie. The
    /// default is no help: every key abbreviates to 0.
    fn abbreviate(&self, _key: &[u8]) -> u128 {
        0
    }

    /// [`Comparator::compare`] of two keys whose abbreviations are equal,
    /// which an order may settle faster knowing that (an internal key's
    /// short user keys are then the same). The default compares.
    #[inline]
    fn compare_tied(&self, a: &[u8], b: &[u8]) -> Ordering {
        self.compare(a, b)
    }

    /// The bytes of `key` whose lexicographic order is this order, up to
    /// ties that [`Comparator::compare`] breaks (an internal key's user
    /// key): what [`crate::fence::Fences`] search. `None` (the default) for
    /// an order that is not bytewise; lookups then search whole keys.
    fn ordered_bytes<'k>(&self, _key: &'k [u8]) -> Option<&'k [u8]> {
        None
    }
}

/// The first 16 bytes of `key` as a big-endian number, zero-padded: the
/// abbreviation of the bytewise order (keys that differ only after 16
/// bytes, or only in trailing zeros, abbreviate alike).
#[inline]
pub fn bytewise_prefix(key: &[u8]) -> u128 {
    if let Some((hi, rest)) = key.split_first_chunk::<8>() {
        if let Some((lo, _)) = rest.split_first_chunk::<8>() {
            // No `memcpy` call for the common case (one per merge step).
            let (hi, lo) = (u64::from_be(load_u64(hi)), u64::from_be(load_u64(lo)));
            return (u128::from(hi) << 64) | u128::from(lo);
        }
    }
    let mut b = [0u8; 16];
    for (d, s) in b.iter_mut().zip(key) {
        *d = *s;
    }
    u128::from_be_bytes(b)
}

/// Lexicographic order of byte strings, as `a.cmp(b)`, compared eight bytes
/// at a time (big-endian words order as their bytes do): on targets whose
/// `memcmp` is a byte loop (`aarch64-unknown-none` uses compiler-builtins'),
/// this keeps short keys out of it; see [`load_u64`] on loading the words.
#[inline]
pub fn compare_bytes(a: &[u8], b: &[u8]) -> Ordering {
    let (mut a_rest, mut b_rest) = (a, b);
    while let (Some((x, ar)), Some((y, br))) = (
        a_rest.split_first_chunk::<8>(),
        b_rest.split_first_chunk::<8>(),
    ) {
        let (x, y) = (u64::from_be(load_u64(x)), u64::from_be(load_u64(y)));
        if x != y {
            return x.cmp(&y);
        }
        (a_rest, b_rest) = (ar, br);
    }
    for (x, y) in a_rest.iter().zip(b_rest) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

/// Whether two byte strings are equal, without a `memcmp`/`bcmp` call for
/// short ones (see [`compare_bytes`]).
#[inline]
pub fn eq_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && compare_bytes(a, b) == Ordering::Equal
}

/// Lexicographic byte order, LevelDB's default.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bytewise;

impl Comparator for Bytewise {
    #[inline]
    fn compare(&self, a: &[u8], b: &[u8]) -> Ordering {
        compare_bytes(a, b)
    }

    fn find_shortest_separator(&self, start: &mut Vec<u8>, limit: &[u8]) {
        let min_len = start.len().min(limit.len());
        let diff = shared_prefix_len(start, limit);
        if diff >= min_len {
            // One is a prefix of the other: no shorter key fits between.
            return;
        }
        let byte = start[diff];
        if byte < 0xff && byte + 1 < limit[diff] {
            start[diff] += 1;
            start.truncate(diff + 1);
        }
    }

    fn find_short_successor(&self, key: &mut Vec<u8>) {
        if let Some(i) = key.iter().position(|&b| b != 0xff) {
            key[i] += 1;
            key.truncate(i + 1);
        }
    }

    #[inline]
    fn abbreviate(&self, key: &[u8]) -> u128 {
        bytewise_prefix(key)
    }

    #[inline]
    fn ordered_bytes<'k>(&self, key: &'k [u8]) -> Option<&'k [u8]> {
        Some(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn separator_is_between() {
        let c = Bytewise;
        let cases: [(&[u8], &[u8], &[u8]); 5] = [
            (b"abcd", b"abzz", b"abd"),
            (b"abc", b"abcd", b"abc"),
            (b"ab\xff", b"ac", b"ab\xff"),
            (b"abc", b"abd", b"abc"),
            (b"", b"a", b""),
        ];
        for (start, limit, want) in cases {
            let mut s = start.to_vec();
            c.find_shortest_separator(&mut s, limit);
            assert_eq!(s, want);
            assert!(s.as_slice() >= start && s.as_slice() < limit);
        }
    }

    #[test]
    fn compare_bytes_is_slice_order() {
        let keys: [&[u8]; 12] = [
            b"",
            b"a",
            b"ab",
            b"abcdefgh",
            b"abcdefgh\x00",
            b"abcdefgi",
            b"abcdefghijklmnop",
            b"abcdefghijklmnoq",
            b"abcdefghijklmno",
            b"\xff\xff\xff\xff\xff\xff\xff\xff\xff",
            b"\x00\x00\x00\x00\x00\x00\x00\x00",
            b"0000000000012345",
        ];
        for a in keys {
            for b in keys {
                assert_eq!(compare_bytes(a, b), a.cmp(b), "{a:?} {b:?}");
                assert_eq!(eq_bytes(a, b), a == b);
                for cut in 0..a.len() {
                    let a = &a[cut..];
                    assert_eq!(compare_bytes(a, b), a.cmp(b), "{a:?} {b:?}");
                }
            }
        }
    }

    #[test]
    fn successor_is_not_smaller() {
        let c = Bytewise;
        let mut k = b"abc".to_vec();
        c.find_short_successor(&mut k);
        assert_eq!(k, b"b");
        let mut k = vec![0xff, 0xff];
        c.find_short_successor(&mut k);
        assert_eq!(k, vec![0xff, 0xff]);
    }
}

//! Fence keys searched as integers. A sorted run of keys that a lookup
//! binary-searches on every read (an open table's index entries, a level's
//! tables) is kept beside it as one 8-byte window of each key, taken right
//! after the prefix all of them share: the search compares integers, and
//! compares whole keys only among the entries whose window ties with the
//! key's (usually none or one).
//!
//! Keys of one table or one level share long prefixes (`user:1234...`,
//! db_bench's zero-padded numbers), so the first bytes alone would tie
//! everywhere; past the common prefix, eight bytes usually tell entries
//! apart. The prefix is the one the entries between the first and the last
//! share: an index block's last separator is often shortened to a key
//! past every other (`1` after `0000000000999999`), which would leave no
//! prefix shared by all. A window is the key's bytes there, zero-padded, read big-endian:
//! for keys that share the prefix it never orders two keys against their
//! byte order (it may only tie them), so the search is exact. Under QEMU's
//! TCG each whole-key comparison of a binary search is ~50 guest
//! instructions and a call; an integer comparison is two.

use alloc::vec::Vec;
use core::cmp::Ordering;

use crate::coding::load_u64;
use crate::comparator::compare_bytes;

/// Windows of a sorted run of byte strings (see the module doc).
#[derive(Debug, Clone, Default)]
pub struct Fences {
    prefix: Vec<u8>,
    /// The entries `start..start + windows.len()` have the prefix; the
    /// others (at most the first and the last) order before or after
    /// every key that has it.
    start: usize,
    windows: Vec<u64>,
    len: usize,
}

impl Fences {
    /// Fences over `keys`, which must be in ascending byte order.
    pub fn new(keys: &[&[u8]]) -> Self {
        let n = keys.len();
        if n == 0 {
            return Self::default();
        }
        // Sorted, so what two entries share, all between them share.
        let (a, b) = if n >= 4 {
            (keys[1], keys[n - 2])
        } else {
            (keys[0], keys[n - 1])
        };
        let common = a.iter().zip(b).take_while(|(x, y)| x == y).count();
        let prefix = &a[..common];
        let start = usize::from(!keys[0].starts_with(prefix));
        let end = n - usize::from(!keys[n - 1].starts_with(prefix));
        Self {
            prefix: prefix.to_vec(),
            start,
            windows: keys[start..end].iter().map(|k| window(k, common)).collect(),
            len: n,
        }
    }

    /// Entries described.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.prefix.capacity() + self.windows.capacity() * 8
    }

    /// `(lo, hi)`: every entry before `lo` orders before `key` and every
    /// entry from `hi` on after it; the entries between tie with it on
    /// their windows and need a whole comparison. Always inlined (two
    /// callers): under TCG a call and its return cost more than the search.
    #[inline(always)]
    pub fn narrow(&self, key: &[u8]) -> (usize, usize) {
        let (start, end) = (self.start, self.start + self.windows.len());
        let p = self.prefix.len();
        let head = &key[..p.min(key.len())];
        match compare_bytes(head, &self.prefix[..head.len()]) {
            // Before every entry with the prefix, or a proper prefix of it.
            Ordering::Less => return (0, start),
            Ordering::Equal if key.len() < p => return (0, start),
            Ordering::Greater => return (end, self.len),
            Ordering::Equal => {}
        }
        let w = window(key, p);
        let lo = self.windows.partition_point(|&x| x < w);
        // Ties are rare: stepping over them beats a second binary search.
        let mut hi = lo;
        while self.windows.get(hi) == Some(&w) {
            hi += 1;
        }
        (start + lo, start + hi)
    }
}

/// The 8 bytes of `key` from `at`, zero-padded, as a big-endian number.
#[inline]
fn window(key: &[u8], at: usize) -> u64 {
    let rest = key.get(at..).unwrap_or(&[]);
    if let Some(w) = rest.first_chunk::<8>() {
        return u64::from_be(load_u64(w));
    }
    if let Some(last) = key.last_chunk::<8>() {
        // The key's last 8 bytes end with the window's: shift out those
        // before it (a probe key is usually only a few bytes past the
        // prefix).
        let tail = u64::from_be(load_u64(last));
        return tail.checked_shl(8 * (8 - rest.len() as u32)).unwrap_or(0);
    }
    // A byte loop: a copy of a variable length would call `memcpy`.
    let mut w = 0u64;
    for (i, &b) in rest.iter().enumerate() {
        w |= u64::from(b) << (56 - 8 * i);
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::vec;

    /// The index of the first key `>= probe`, by narrowing then comparing,
    /// as callers do.
    fn first_at_least(f: &Fences, keys: &[&[u8]], probe: &[u8]) -> usize {
        let (lo, hi) = f.narrow(probe);
        lo + keys[lo..hi].partition_point(|k| *k < probe)
    }

    fn check(keys: &[&[u8]], probes: &[&[u8]]) {
        let f = Fences::new(keys);
        assert_eq!(f.len(), keys.len());
        for p in probes.iter().chain(keys) {
            let want = keys.partition_point(|k| k < p);
            assert_eq!(first_at_least(&f, keys, p), want, "probe {p:?} in {keys:?}");
            let (lo, hi) = f.narrow(p);
            assert!(lo <= hi && hi <= keys.len());
            assert!(keys[..lo].iter().all(|k| k < p));
            assert!(keys[hi..].iter().all(|k| k > p));
        }
    }

    #[test]
    fn numbered_keys_split_past_their_shared_prefix() {
        let owned: Vec<_> = (0..500)
            .map(|i| format!("{:016}", 1_000_000 + i * 7).into_bytes())
            .collect();
        let keys: Vec<&[u8]> = owned.iter().map(|k| &k[..]).collect();
        let f = Fences::new(&keys);
        assert_eq!(f.prefix, b"000000000100".to_vec());
        assert_eq!((f.start, f.windows.len()), (0, 500));
        // Every window differs: no whole-key comparison is ever needed.
        for k in &keys {
            let (lo, hi) = f.narrow(k);
            assert_eq!(hi - lo, 1);
        }
        let probes: Vec<Vec<u8>> = (0..600)
            .map(|i| format!("{:016}", 999_990 + i * 6).into_bytes())
            .collect();
        let probes: Vec<&[u8]> = probes.iter().map(|k| &k[..]).collect();
        check(&keys, &probes);
    }

    #[test]
    fn a_shortened_last_or_first_key_leaves_the_others_their_prefix() {
        let mut owned: Vec<Vec<u8>> = (0..100)
            .map(|i| format!("{:016}", 123_000 + i * 3).into_bytes())
            .collect();
        owned.insert(0, b"0".to_vec());
        owned.push(b"1".to_vec());
        let keys: Vec<&[u8]> = owned.iter().map(|k| &k[..]).collect();
        let f = Fences::new(&keys);
        assert_eq!(f.prefix, b"0000000000123".to_vec());
        assert_eq!((f.start, f.windows.len(), f.len()), (1, 100, 102));
        for k in &keys[1..101] {
            let (lo, hi) = f.narrow(k);
            assert_eq!(hi - lo, 1);
        }
        let probes: [&[u8]; 6] = [
            b"",
            b"0",
            b"00",
            b"0000000000122999",
            b"0000000000124",
            b"2",
        ];
        check(&keys, &probes);
    }

    #[test]
    fn ties_short_keys_and_prefixes_are_exact() {
        let keys: [&[u8]; 9] = [
            b"ab",
            b"ab\0",
            b"ab\0\0",
            b"abcdefghij",
            b"abcdefghijk",
            b"abcdefghik",
            b"abd",
            b"ab\xff\xff\xff\xff\xff\xff\xff\xff",
            b"ab\xff\xff\xff\xff\xff\xff\xff\xff\x01",
        ];
        let mut keys = keys.to_vec();
        keys.sort();
        let probes: [&[u8]; 12] = [
            b"",
            b"a",
            b"aa",
            b"ab",
            b"ab\0\0\0",
            b"abc",
            b"abcdefghijj",
            b"abcdefghijkl",
            b"abz",
            b"ac",
            b"b",
            b"\xff",
        ];
        check(&keys, &probes);
    }

    #[test]
    fn windows_of_short_tails() {
        assert_eq!(
            window(b"0123456789", 7),
            u64::from_be_bytes(*b"789\0\0\0\0\0")
        );
        assert_eq!(window(b"0123456789", 10), 0);
        assert_eq!(window(b"0123456789", 12), 0);
        assert_eq!(window(b"01234567", 2), u64::from_be_bytes(*b"234567\0\0"));
        assert_eq!(window(b"0123", 1), u64::from_be_bytes(*b"123\0\0\0\0\0"));
        assert_eq!(window(b"0123456789ab", 2), u64::from_be_bytes(*b"23456789"));
    }

    #[test]
    fn one_key_none_and_all_alike() {
        check(&[], &[b"", b"x"]);
        assert_eq!(Fences::new(&[]).narrow(b"x"), (0, 0));
        check(&[b"only"], &[b"", b"onl", b"only\0", b"p"]);
        let same: Vec<&[u8]> = vec![b"k"; 5];
        check(&same, &[b"j", b"k\0", b"l"]);
    }

    #[test]
    fn random_runs_match_a_binary_search() {
        let mut rng = crate::random::Rng::new(7);
        for round in 0..200 {
            let n = 1 + (rng.uniform(40) as usize);
            let alphabet = if round % 2 == 0 { 3 } else { 256 };
            let mut owned: Vec<Vec<u8>> = (0..n)
                .map(|_| {
                    let len = rng.uniform(14) as usize;
                    let mut k = b"pre".to_vec();
                    k.extend((0..len).map(|_| rng.uniform(alphabet) as u8));
                    k
                })
                .collect();
            owned.sort();
            let keys: Vec<&[u8]> = owned.iter().map(|k| &k[..]).collect();
            let probes: Vec<Vec<u8>> = (0..30)
                .map(|_| {
                    let len = rng.uniform(16) as usize;
                    (0..len)
                        .map(|i| {
                            if i < 3 {
                                b"pre"[i]
                            } else {
                                rng.uniform(alphabet) as u8
                            }
                        })
                        .collect()
                })
                .collect();
            let probes: Vec<&[u8]> = probes.iter().map(|k| &k[..]).collect();
            check(&keys, &probes);
        }
    }
}

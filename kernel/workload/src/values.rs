//! The values the workloads write, and the check every read makes of them.
//!
//! As db_bench's (and the anchors' kvbench), values are consecutive windows
//! of a 1 MiB pool of printable pseudo-random bytes, so no two neighbouring
//! writes carry the same bytes. Unlike db_bench's, each value also says
//! whose it is: it starts with its key and a digest of its window,
//!
//! ```text
//!   value:  key (16 bytes) | digest(window) (u32 LE) | length (u32 LE)
//!           | window = pool[p .. p + length]           length = value_size - 24
//! ```
//!
//! so a read can check that it got its own key's value, whole, and a wrong
//! value (another key's, a stale one cut short, garbage) cannot pass as a
//! fast read. Values shorter than the 24-byte header are the header's first
//! bytes. The pool comes from a fixed seed, the same in every run.
//!
//! The check reads the value alone ([`digest`]). Until 2026-12-06 the
//! header held the window's offset and the check compared the body with
//! the pool there: in readseq, whose keys come in an order unrelated to
//! the order they were written in, a window at a random place of 1 MiB for
//! every entry, beyond the core's L2 cache. Natively (`db_bench --keys
//! 300000 --cache-mb 8 --background`, readseq, three interleaved pairs)
//! the digest ran 17-38% more entries a second than that comparison.

use alloc::sync::Arc;
use alloc::vec::Vec;

use lsm::coding::{get_fixed32, load_u64};
use lsm::random::Rng;
use unaligned::equal;

use crate::KEY_LEN;

/// Bytes of the pool.
pub const POOL_BYTES: usize = 1 << 20;
/// Bytes of a value's header: its key, its window's digest and length.
pub const HEADER: usize = KEY_LEN + 8;
/// The pool's seed (db_bench's value generator's, 301).
const POOL_SEED: u64 = 301;

/// The pool and where the next value's window starts. The pool is shared
/// ([`Values::share`]): a run's threads each write from their own cursor
/// without making (or holding) a pool each.
pub struct Values {
    pool: Arc<Vec<u8>>,
    pos: usize,
}

impl Values {
    /// The pool, made once per run (about 130,000 draws: each gives eight
    /// bytes).
    pub fn new() -> Values {
        let mut rng = Rng::new(POOL_SEED);
        let mut pool = Vec::with_capacity(POOL_BYTES);
        while pool.len() < POOL_BYTES {
            let w = rng.next_u64().to_le_bytes();
            pool.extend(w.iter().map(|b| b' ' + b % 95));
        }
        Values {
            pool: Arc::new(pool),
            pos: 0,
        }
    }

    /// A cursor of its own over the same pool, `ahead` bytes past this
    /// one's (wrapped into the pool): threads that write at once start at
    /// different places, so neighbouring writes of two threads do not carry
    /// the same bytes either.
    pub fn share(&self, ahead: usize) -> Values {
        Values {
            pool: Arc::clone(&self.pool),
            pos: (self.pos + ahead) % self.pool.len().max(1),
        }
    }

    /// Writes the next value of `size` bytes for `key` into `out` (at most
    /// the header and the pool: BENCH's `value_size` is at most
    /// [`MAX_VALUE_SIZE`](crate::args::MAX_VALUE_SIZE), the pool's size).
    pub fn next(&mut self, key: &[u8; KEY_LEN], size: usize, out: &mut Vec<u8>) {
        out.clear();
        let mut header = [0u8; HEADER];
        header[..KEY_LEN].copy_from_slice(key);
        if size <= HEADER {
            // The key and zeros, cut short: nothing to say about a window.
            out.extend_from_slice(&header[..size]);
            return;
        }
        let body = (size - HEADER).min(self.pool.len());
        if self.pos + body > self.pool.len() {
            self.pos = 0;
        }
        let window = &self.pool[self.pos..self.pos + body];
        header[KEY_LEN..KEY_LEN + 4].copy_from_slice(&digest(window).to_le_bytes());
        // It fits: a body is at most the pool, far below 4 GiB.
        header[KEY_LEN + 4..].copy_from_slice(&(body as u32).to_le_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(window);
        self.pos += body;
    }

    /// Whether `value` is one that [`next`](Self::next) makes for `key`, of
    /// any size. Inlined into readseq's visit, as the calls below: under TCG
    /// each return is a lookup of its target.
    #[inline(always)]
    pub fn check(&self, key: &[u8], value: &[u8]) -> bool {
        if value.len() <= HEADER {
            let (head, zeros) = value.split_at(value.len().min(KEY_LEN));
            return key.get(..head.len()) == Some(head) && zeros.iter().all(|&b| b == 0);
        }
        let (header, body) = value.split_at(HEADER);
        if !equal(&header[..KEY_LEN], key) {
            return false;
        }
        get_fixed32(header, KEY_LEN + 4).map(|n| n as usize) == Some(body.len())
            && get_fixed32(header, KEY_LEN) == Some(digest(body))
    }
}

/// A 32-bit digest of a value's body, which every byte and its place
/// change: two lanes of 8-byte words, each a multiply and a rotation (a
/// one-to-one step, so one changed word always changes its lane), the
/// last 16 bytes taken whole (overlapping the words before: the length
/// goes in first, so two lengths never meet), short bodies padded. A wrong
/// body passes for one in 2^32; a wrong key or length never does. Cheap
/// under TCG too: no call, no table, two multiplies per 16 bytes.
#[inline(always)]
pub fn digest(body: &[u8]) -> u32 {
    const K1: u64 = 0x9E37_79B9_7F4A_7C15;
    const K2: u64 = 0xC2B2_AE3D_27D4_EB4F;
    let (mut a, mut b) = (K1 ^ body.len() as u64, K2);
    let mut mix = |pair: &[u8; 16]| {
        let (x, y) = pair.split_at(8);
        let word = |w: &[u8]| w.first_chunk().map_or(0, |w| u64::from_le(load_u64(w)));
        a = (a ^ word(x)).wrapping_mul(K2).rotate_left(31);
        b = (b ^ word(y)).wrapping_mul(K1).rotate_left(27);
    };
    match body.len().checked_sub(16) {
        Some(last) => {
            let mut at = 0;
            while at < last {
                if let Some(pair) = body[at..].first_chunk() {
                    mix(pair);
                }
                at += 16;
            }
            if let Some(pair) = body[last..].first_chunk() {
                mix(pair);
            }
        }
        None => {
            let mut pair = [0u8; 16];
            pair[..body.len()].copy_from_slice(body);
            mix(&pair);
        }
    }
    let h = (a ^ b.rotate_left(32)).wrapping_mul(K1);
    (h >> 32) as u32
}

impl Default for Values {
    fn default() -> Self {
        Values::new()
    }
}

/// Whether `key` is one the workloads make ([`crate::key`]: 16 decimal
/// digits), whose value they can check. Eight bytes at a time: readseq asks
/// this of every entry.
#[inline]
pub fn is_bench_key(key: &[u8]) -> bool {
    const HIGH: u64 = 0xf0f0_f0f0_f0f0_f0f0;
    const THREES: u64 = 0x3030_3030_3030_3030;
    key.len() == KEY_LEN
        && key.chunks_exact(8).all(|c| {
            let w = c.first_chunk().map_or(0, |c| u64::from_le(load_u64(c)));
            // Every byte 0x30..=0x3f, and still so with 6 added (no byte
            // carries into the next: each is at most 0x3f).
            w & HIGH == THREES && (w + 0x0606_0606_0606_0606) & HIGH == THREES
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key;

    #[test]
    fn a_value_checks_for_its_own_key_only() {
        let mut v = Values::new();
        let mut out = Vec::new();
        v.next(&key(7), 100, &mut out);
        assert_eq!(out.len(), 100);
        assert!(v.check(&key(7), &out));
        assert!(!v.check(&key(8), &out));
        let mut bad = out.clone();
        bad[60] ^= 1;
        assert!(!v.check(&key(7), &bad));
        // Cut short, or with a byte too many.
        assert!(!v.check(&key(7), &out[..99]));
        let mut long = out.clone();
        long.push(b'x');
        assert!(!v.check(&key(7), &long));
        // The next value is another window.
        let mut second = Vec::new();
        v.next(&key(7), 100, &mut second);
        assert_ne!(out[HEADER..], second[HEADER..]);
        assert!(v.check(&key(7), &second));
    }

    #[test]
    fn the_digest_changes_with_every_byte_and_its_place() {
        let v = Values::new();
        for len in 0..=100 {
            let body = &v.pool[len * 7..len * 8];
            let d = digest(body);
            for at in 0..len {
                for bit in [0, 5] {
                    let mut bad = body.to_vec();
                    bad[at] ^= 1 << bit;
                    assert_ne!(digest(&bad), d, "len {len}, byte {at}");
                }
            }
            // Neighbouring words swapped, one byte fewer, a zero more.
            if len >= 16 {
                let mut swapped = body.to_vec();
                swapped[..16].rotate_left(8);
                if swapped != body {
                    assert_ne!(digest(&swapped), d, "len {len}");
                }
                assert_ne!(digest(&body[..len - 1]), d, "len {len}");
            }
            let mut longer = body.to_vec();
            longer.push(0);
            assert_ne!(digest(&longer), d, "len {len}");
        }
    }

    #[test]
    fn short_values_are_the_header_cut_short() {
        let mut v = Values::new();
        let mut out = Vec::new();
        for size in [0, 1, 16, 23, 24, 25] {
            v.next(&key(3), size, &mut out);
            assert_eq!(out.len(), size);
            assert!(v.check(&key(3), &out), "size {size}");
        }
        v.next(&key(3), 10, &mut out);
        assert!(!v.check(&key(4), b"0000000000000004xyz"));
        assert!(v.check(&key(3), &out));
    }

    #[test]
    fn windows_wrap_inside_the_pool() {
        let mut v = Values::new();
        let mut out = Vec::new();
        for i in 0..(POOL_BYTES / 1000 + 5) as u64 {
            v.next(&key(i), 1020, &mut out);
            assert!(v.check(&key(i), &out));
        }
        // A length or a digest that is not the body's is refused.
        for field in [KEY_LEN, KEY_LEN + 4] {
            let mut forged = out.clone();
            forged[field..field + 4].copy_from_slice(&u32::MAX.to_le_bytes());
            assert!(!v.check(&out[..KEY_LEN], &forged));
        }
    }

    #[test]
    fn bench_keys_are_sixteen_digits() {
        assert!(is_bench_key(&key(42)));
        assert!(is_bench_key(&key(9_999_999_999_999_999)));
        assert!(!is_bench_key(b"foo"));
        assert!(!is_bench_key(b"00000000000000042"));
        for bad in [b'/', b':', b'?', b' ', 0x80, 0xb5, 0xff, 0x00] {
            for at in 0..KEY_LEN {
                let mut k = key(1234);
                k[at] = bad;
                assert!(!is_bench_key(&k), "{bad:#x} at {at}");
            }
        }
    }
}

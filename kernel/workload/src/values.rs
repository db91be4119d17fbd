//! The values the workloads write, and the check every read makes of them.
//!
//! As db_bench's (and the anchors' kvbench), values are consecutive windows
//! of a 1 MiB pool of printable pseudo-random bytes, so no two neighbouring
//! writes carry the same bytes. Unlike db_bench's, each value also says
//! whose it is: it starts with its key and the window's offset in the pool,
//!
//! ```text
//!   value:  key (16 bytes) | offset (u32 LE) | length (u32 LE)
//!           | pool[offset .. offset + length]          length = value_size - 24
//! ```
//!
//! so a read can check that it got its own key's value, whole, and a wrong
//! value (another key's, a stale one cut short, garbage) cannot pass as a
//! fast read. Values shorter than the 24-byte header are the header's first
//! bytes. The pool comes from a fixed seed, the same in every run, so that a
//! run checks what an earlier run with another seed wrote.

use alloc::sync::Arc;
use alloc::vec::Vec;

use lsm::coding::load_u64;
use lsm::random::Rng;
use unaligned::equal;

use crate::KEY_LEN;

/// Bytes of the pool.
pub const POOL_BYTES: usize = 1 << 20;
/// Bytes of a value's header: its key, its window's offset and length.
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
        // Both fit: a body never ends past the pool, which is far below
        // 4 GiB.
        header[KEY_LEN..KEY_LEN + 4].copy_from_slice(&(self.pos as u32).to_le_bytes());
        header[KEY_LEN + 4..].copy_from_slice(&(body as u32).to_le_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(&self.pool[self.pos..self.pos + body]);
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
        let word = |at: usize| {
            let mut w = [0u8; 4];
            w.copy_from_slice(&header[at..at + 4]);
            u32::from_le_bytes(w) as usize
        };
        let (off, len) = (word(KEY_LEN), word(KEY_LEN + 4));
        len == body.len()
            && off
                .checked_add(len)
                .and_then(|end| self.pool.get(off..end))
                .is_some_and(|want| equal(want, body))
    }
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
        // An offset that points past the pool is refused, not a panic.
        let mut forged = out.clone();
        forged[KEY_LEN..KEY_LEN + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(!v.check(&out[..KEY_LEN], &forged));
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

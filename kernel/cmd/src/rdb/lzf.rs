//! LZF, the compression RDB uses for strings (Redis's src/lzf_c.c and
//! src/lzf_d.c, liblzf 3.6 as Redis builds it: `HLOG` 16, `VERY_FAST`,
//! pointers in the hash table, input checked when decompressing).
//!
//! The compressor is a port of Redis's, step for step, so that DUMP gives
//! the bytes Redis gives: the format leaves the encoder free to choose its
//! matches, and a different choice would be a valid but different payload.
//! One difference cannot be ported: Redis leaves its hash table
//! uninitialized (`INIT_HTAB` 0), so a slot it never wrote in this call
//! may hold a stale pointer from an earlier call that, by chance, points
//! into the input before the current position, where three bytes may
//! match. Here an unwritten slot is empty; Redis's output is this one
//! unless such a stale hit happens.
//!
//! ```text
//!   000LLLLL <L+1 bytes>          literal run of 1..32 bytes
//!   LLLooooo oooooooo             back reference: L+2 bytes (L < 7) from
//!                                 o+1 bytes back (1..8192)
//!   111ooooo LLLLLLLL oooooooo    back reference: L+9 bytes
//! ```

use alloc::vec;
use alloc::vec::Vec;

/// log2 of the hash table's slots.
const HLOG: u32 = 16;
/// The longest literal run.
const MAX_LIT: usize = 1 << 5;
/// How far back a reference reaches.
const MAX_OFF: usize = 1 << 13;
/// The longest reference.
const MAX_REF: usize = (1 << 8) + (1 << 3);
/// The most bytes a compressed byte can stand for: a long reference is 3
/// bytes for 7 + 255 + 2 = 264.
pub(crate) const MAX_EXPANSION: u64 = 88;

/// The first two bytes at `i`, as liblzf's `FRST`.
fn first(input: &[u8], i: usize) -> u32 {
    (u32::from(input[i]) << 8) | u32::from(input[i + 1])
}

/// `v` with the third byte at `i` shifted in, as liblzf's `NEXT`.
fn next(v: u32, input: &[u8], i: usize) -> u32 {
    (v << 8) | u32::from(input[i + 2])
}

/// liblzf's `IDX` under `VERY_FAST`, in its 32-bit unsigned arithmetic.
fn slot(h: u32) -> usize {
    ((h >> (3 * 8 - HLOG)).wrapping_sub(h.wrapping_mul(5)) & ((1 << HLOG) - 1)) as usize
}

/// Redis's `lzf_compress(input, len, out, len - 4)` (what
/// `rdbSaveLzfStringObject` asks): the compressed bytes, or `None` when
/// they would not fit in four bytes fewer than the input (Redis then
/// stores the string as it is). Inputs of fewer than 5 bytes, and of 4 GiB
/// or more (the table keeps 32-bit positions), are not compressed.
pub(crate) fn compress(input: &[u8]) -> Option<Vec<u8>> {
    let in_len = input.len();
    if in_len <= 4 || u32::try_from(in_len).is_err() {
        return None;
    }
    let out_len = in_len - 4;
    // A position per slot, 256 KiB a call as in Redis (on its stack there);
    // 0 for none, which is also what position 0 would say: a match needs
    // its reference after the input's first byte.
    let mut table = vec![0u32; 1 << HLOG];
    let mut out = Vec::with_capacity(out_len);
    // Where the open literal run's length byte is, and its length so far.
    let mut run = 0;
    let mut lit = 0usize;
    out.push(0);
    let mut ip = 0;
    let mut h = first(input, 0);
    while ip < in_len - 2 {
        h = next(h, input, ip);
        let s = slot(h);
        let r = table[s] as usize;
        table[s] = ip as u32;
        let matched = r > 0
            && r < ip
            && ip - r - 1 < MAX_OFF
            && input[r + 2] == input[ip + 2]
            && input[r..r + 2] == input[ip..ip + 2];
        if !matched {
            if out.len() >= out_len {
                return None;
            }
            lit += 1;
            out.push(input[ip]);
            ip += 1;
            if lit == MAX_LIT {
                out[run] = (MAX_LIT - 1) as u8;
                lit = 0;
                run = out.len();
                out.push(0);
            }
            continue;
        }
        let off = ip - r - 1;
        let maxlen = (in_len - ip - 2).min(MAX_REF);
        // liblzf's two tests: the reference and a new run's length byte
        // must fit, the empty run's byte given back.
        if out.len() + 4 >= out_len && out.len() - usize::from(lit == 0) + 4 >= out_len {
            return None;
        }
        out[run] = (lit as u8).wrapping_sub(1);
        if lit == 0 {
            out.pop();
        }
        let len = match_len(input, r, ip, maxlen) - 2;
        ip += 1;
        if len < 7 {
            out.push(((off >> 8) + (len << 5)) as u8);
        } else {
            out.push(((off >> 8) + (7 << 5)) as u8);
            out.push((len - 7) as u8);
        }
        out.push(off as u8);
        lit = 0;
        run = out.len();
        out.push(0);
        ip += len + 1;
        if ip >= in_len - 2 {
            break;
        }
        // VERY_FAST: the two positions before the next are hashed too.
        ip -= 2;
        h = first(input, ip);
        for _ in 0..2 {
            h = next(h, input, ip);
            table[slot(h)] = ip as u32;
            ip += 1;
        }
    }
    // At most two bytes are left, and a run's length byte.
    if out.len() + 3 > out_len {
        return None;
    }
    for &b in &input[ip..] {
        lit += 1;
        out.push(b);
        if lit == MAX_LIT {
            out[run] = (MAX_LIT - 1) as u8;
            lit = 0;
            run = out.len();
            out.push(0);
        }
    }
    out[run] = (lit as u8).wrapping_sub(1);
    if lit == 0 {
        out.pop();
    }
    Some(out)
}

/// How many bytes at `ip` repeat those at `r` (at least 3, known equal),
/// as liblzf counts them: with more than 16 to go it compares 16 more
/// before it looks at `maxlen`, so a match may run up to two bytes past
/// it (never past the input).
fn match_len(input: &[u8], r: usize, ip: usize, maxlen: usize) -> usize {
    let mut len = 2;
    if maxlen > 16 {
        for _ in 0..16 {
            len += 1;
            if input[r + len] != input[ip + len] {
                return len;
            }
        }
    }
    loop {
        len += 1;
        if len >= maxlen || input[r + len] != input[ip + len] {
            return len;
        }
    }
}

/// The `len` bytes `input` decompresses to, or `None` if it does not
/// decompress to exactly that many (Redis's `lzf_decompress(...) != len`):
/// a run or reference past `len` or past the input, or one reaching
/// before the output's start.
pub(crate) fn decompress(input: &[u8], len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(len);
    let mut ip = 0;
    while let Some(&ctrl) = input.get(ip) {
        let ctrl = usize::from(ctrl);
        ip += 1;
        if ctrl < MAX_LIT {
            let n = ctrl + 1;
            if out.len() + n > len {
                return None;
            }
            out.extend_from_slice(input.get(ip..ip + n)?);
            ip += n;
            continue;
        }
        let mut n = ctrl >> 5;
        if n == 7 {
            n += usize::from(*input.get(ip)?);
            ip += 1;
        }
        let back = ((ctrl & 0x1f) << 8) + usize::from(*input.get(ip)?) + 1;
        ip += 1;
        n += 2;
        if out.len() + n > len {
            return None;
        }
        let from = out.len().checked_sub(back)?;
        if back >= n {
            out.extend_from_within(from..from + n);
        } else {
            // Overlapping: each byte may be one this reference wrote.
            for i in from..from + n {
                out.push(out[i]);
            }
        }
    }
    (out.len() == len).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real Redis 7.0.15's DUMP of these strings, LZF bodies only (the
    /// bytes after `c3 <clen> <len>`).
    #[test]
    fn compresses_as_redis() {
        let a100 = [0x01, 0x61, 0x61, 0xe0, 0x57, 0x00, 0x01, 0x61, 0x61];
        assert_eq!(compress(&[b'a'; 100]).unwrap(), a100);
        let a21 = [0x01, 0x61, 0x61, 0xe0, 0x0a, 0x00];
        assert_eq!(compress(&[b'a'; 21]).unwrap(), a21);
        // Nothing repeats: Redis stores it as it is.
        assert_eq!(compress(b"abcdefghijklmnopqrstu"), None);
    }

    #[test]
    fn decompresses_what_it_compressed() {
        let inputs: [&[u8]; 5] = [
            &[b'a'; 100],
            &[b'a'; 21],
            b"abcabcabcabcabcabcabcabcabcabcabcabcabc, and then something else",
            &[0u8; 70_000],
            &(0..20_000u32).map(|i| (i % 251) as u8).collect::<Vec<_>>(),
        ];
        for input in inputs {
            let c = compress(input).unwrap();
            assert!(c.len() <= input.len() - 4);
            assert_eq!(decompress(&c, input.len()).as_deref(), Some(input));
        }
    }

    #[test]
    fn refuses_what_does_not_decompress_to_its_length() {
        let c = compress(&[b'a'; 100]).unwrap();
        assert_eq!(decompress(&c, 99), None);
        assert_eq!(decompress(&c, 101), None);
        for cut in 0..c.len() {
            assert_eq!(decompress(&c[..cut], 100), None, "{cut}");
        }
        // A literal run past the input, a reference before the start, a
        // long reference without its length or its offset.
        assert_eq!(decompress(&[0x05, b'a'], 6), None);
        assert_eq!(decompress(&[0x00, b'a', 0x20, 0x01], 4), None);
        assert_eq!(decompress(&[0x00, b'a', 0xe0], 10), None);
        assert_eq!(decompress(&[0x00, b'a', 0xe0, 0x00], 10), None);
        assert_eq!(decompress(&[], 0), Some(Vec::new()));
        assert_eq!(decompress(&[], 1), None);
    }

    #[test]
    fn a_reference_may_overlap_what_it_writes() {
        // "ab", then 6 bytes from 2 back: "abababab".
        let c = [0x01, b'a', b'b', 0x80, 0x01];
        assert_eq!(decompress(&c, 8).unwrap(), b"abababab");
    }
}

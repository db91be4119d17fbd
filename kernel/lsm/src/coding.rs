//! Little-endian fixed-width integers and LevelDB varints, the encodings of
//! every on-disk structure. Decoders return `None` on short or overlong input
//! instead of panicking: their input comes from the disk.

use alloc::vec::Vec;

pub use unaligned::{copy_short, copy_to, extend_short, load_u32, load_u64, store_u64};

/// Appends `v` as 4 little-endian bytes.
#[inline]
pub fn put_fixed32(dst: &mut Vec<u8>, v: u32) {
    dst.extend_from_slice(&v.to_le_bytes());
}

/// Appends `v` as 8 little-endian bytes.
#[inline]
pub fn put_fixed64(dst: &mut Vec<u8>, v: u64) {
    dst.extend_from_slice(&v.to_le_bytes());
}

/// How many leading bytes `a` and `b` share: eight at a time (a block
/// builder asks it of every key it adds, and a byte at a time it was a
/// third of the builder's instructions).
#[inline]
pub fn shared_prefix_len(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let (mut wa, mut wb) = (a[..n].chunks_exact(8), b[..n].chunks_exact(8));
    let mut i = 0;
    for (x, y) in (&mut wa).zip(&mut wb) {
        if let (Some(x), Some(y)) = (x.first_chunk(), y.first_chunk()) {
            // Little-endian: the first differing byte is the lowest
            // differing one.
            let d = u64::from_le(load_u64(x)) ^ u64::from_le(load_u64(y));
            if d != 0 {
                return i + (d.trailing_zeros() / 8) as usize;
            }
        }
        i += 8;
    }
    i + wa
        .remainder()
        .iter()
        .zip(wb.remainder())
        .take_while(|(x, y)| x == y)
        .count()
}

/// Reads 4 little-endian bytes at `at`, if there are that many.
#[inline]
pub fn get_fixed32(src: &[u8], at: usize) -> Option<u32> {
    let (b, _) = src.get(at..)?.split_first_chunk::<4>()?;
    Some(u32::from_le(load_u32(b)))
}

/// Reads 8 little-endian bytes at `at`, if there are that many.
#[inline]
pub fn get_fixed64(src: &[u8], at: usize) -> Option<u64> {
    let (b, _) = src.get(at..)?.split_first_chunk::<8>()?;
    Some(u64::from_le(load_u64(b)))
}

/// Appends `v` as a varint (7 bits a byte, high bit = more).
#[inline]
pub fn put_varint64(dst: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        dst.push((v as u8) | 0x80);
        v >>= 7;
    }
    dst.push(v as u8);
}

/// Appends `v` as a varint.
#[inline]
pub fn put_varint32(dst: &mut Vec<u8>, v: u32) {
    put_varint64(dst, u64::from(v));
}

/// Bytes a varint of `v` takes.
#[inline]
pub fn varint_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

/// Decodes a varint of at most 64 bits from the front of `src`; returns the
/// value and the bytes it took. Always inlined: a lookup decodes two per
/// block handle, and under TCG a call and its return cost more than the
/// loop.
#[inline(always)]
pub fn get_varint64(src: &[u8]) -> Option<(u64, usize)> {
    let mut result = 0u64;
    for (i, &b) in src.iter().enumerate().take(10) {
        let shift = 7 * i as u32;
        let bits = u64::from(b & 0x7f);
        // The tenth byte may carry only the top bit of a u64.
        if shift == 63 && bits > 1 {
            return None;
        }
        result |= bits << shift;
        if b & 0x80 == 0 {
            return Some((result, i + 1));
        }
    }
    None
}

/// Decodes a varint of at most 32 bits from the front of `src`.
#[inline]
pub fn get_varint32(src: &[u8]) -> Option<(u32, usize)> {
    let (v, n) = get_varint64(src)?;
    Some((u32::try_from(v).ok()?, n))
}

/// Appends `s` prefixed with its length as a varint. Inlined: with the
/// short copy in it the compiler kept it a call (a return a key of a SET).
#[inline]
pub fn put_length_prefixed(dst: &mut Vec<u8>, s: &[u8]) {
    put_varint64(dst, s.len() as u64);
    extend_short(dst, s);
}

/// Splits a length-prefixed slice off the front of `src`: the slice and the
/// rest. Always inlined: a write batch's every entry takes two, and a
/// SET's batch is walked three times (checked, logged, applied).
#[inline(always)]
pub fn get_length_prefixed(src: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, n) = get_varint64(src)?;
    let rest = &src[n..];
    let len = usize::try_from(len).ok()?;
    if len > rest.len() {
        return None;
    }
    Some(rest.split_at(len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn shared_prefix_len_is_the_first_difference() {
        let base: Vec<u8> = (0..40u8).map(|i| i.wrapping_mul(37) ^ 0x5a).collect();
        for len_a in 0..=24 {
            for len_b in 0..=24 {
                for differ_at in 0..=24 {
                    let a = &base[..len_a];
                    let mut b = base[..len_b].to_vec();
                    if differ_at < len_b {
                        b[differ_at] ^= 1 << (differ_at % 8);
                    }
                    let want = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
                    assert_eq!(
                        shared_prefix_len(a, &b),
                        want,
                        "{len_a} {len_b} {differ_at}"
                    );
                    assert_eq!(shared_prefix_len(&b, a), want);
                }
            }
        }
    }

    #[test]
    fn fixed_round_trip() {
        let mut v = Vec::new();
        put_fixed32(&mut v, 0xdead_beef);
        put_fixed64(&mut v, 0x0123_4567_89ab_cdef);
        assert_eq!(get_fixed32(&v, 0), Some(0xdead_beef));
        assert_eq!(get_fixed64(&v, 4), Some(0x0123_4567_89ab_cdef));
        assert_eq!(get_fixed64(&v, 5), None);
        assert_eq!(get_fixed32(&v, usize::MAX), None);
    }

    #[test]
    fn varint_round_trip_and_lengths() {
        let mut values = vec![0u64, 1, 127, 128, 255, 300, u32::MAX as u64, u64::MAX];
        for shift in 0..64 {
            values.push(1 << shift);
            values.push((1 << shift) - 1);
        }
        for &v in &values {
            let mut buf = Vec::new();
            put_varint64(&mut buf, v);
            assert_eq!(buf.len(), varint_len(v));
            assert_eq!(get_varint64(&buf), Some((v, buf.len())));
            // Every truncation is refused.
            for cut in 0..buf.len() {
                assert_eq!(get_varint64(&buf[..cut]), None);
            }
        }
    }

    #[test]
    fn varint_overflow_refused() {
        assert_eq!(get_varint64(&[0xff; 11]), None);
        assert_eq!(
            get_varint64(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]),
            None
        );
        let mut buf = Vec::new();
        put_varint64(&mut buf, u64::from(u32::MAX) + 1);
        assert_eq!(get_varint32(&buf), None);
    }

    #[test]
    fn length_prefixed() {
        let mut buf = Vec::new();
        put_length_prefixed(&mut buf, b"abc");
        put_length_prefixed(&mut buf, b"");
        let (a, rest) = get_length_prefixed(&buf).unwrap();
        assert_eq!(a, b"abc");
        let (b, rest) = get_length_prefixed(rest).unwrap();
        assert_eq!((b, rest), (&b""[..], &b""[..]));
        assert_eq!(get_length_prefixed(&[5, 1, 2]), None);
    }
}

//! Little-endian fixed-width integers and LevelDB varints, the encodings of
//! every on-disk structure. Decoders return `None` on short or overlong input
//! instead of panicking: their input comes from the disk.

use alloc::vec::Vec;

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

/// Eight bytes as a native-endian word, in one load wherever they lie.
///
/// `aarch64-unknown-none` assumes strict alignment (code there may run with
/// the MMU off, where an unaligned access faults), so the compiler builds
/// such a word from eight byte loads; keys are compared and tags read a word
/// at a time on every step of every search. With the `unaligned-loads`
/// feature (for an embedder that runs the store with the MMU on and
/// alignment checks off) one `ldr` does it.
#[inline(always)]
pub fn load_u64(b: &[u8; 8]) -> u64 {
    #[cfg(all(
        target_arch = "aarch64",
        target_os = "none",
        feature = "unaligned-loads"
    ))]
    {
        let v: u64;
        // SAFETY: `b` is eight readable bytes; the feature's contract is that
        // unaligned loads of normal memory are allowed where this runs.
        unsafe {
            core::arch::asm!("ldr {v}, [{p}]", v = out(reg) v, p = in(reg) b.as_ptr(),
                options(pure, readonly, nostack, preserves_flags))
        };
        v
    }
    #[cfg(not(all(
        target_arch = "aarch64",
        target_os = "none",
        feature = "unaligned-loads"
    )))]
    {
        u64::from_ne_bytes(*b)
    }
}

/// Four bytes as a native-endian word, in one load (see [`load_u64`]).
#[inline(always)]
pub fn load_u32(b: &[u8; 4]) -> u32 {
    #[cfg(all(
        target_arch = "aarch64",
        target_os = "none",
        feature = "unaligned-loads"
    ))]
    {
        let v: u32;
        // SAFETY: as in `load_u64`, for four bytes.
        unsafe {
            core::arch::asm!("ldr {v:w}, [{p}]", v = out(reg) v, p = in(reg) b.as_ptr(),
                options(pure, readonly, nostack, preserves_flags))
        };
        v
    }
    #[cfg(not(all(
        target_arch = "aarch64",
        target_os = "none",
        feature = "unaligned-loads"
    )))]
    {
        u32::from_ne_bytes(*b)
    }
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
/// value and the bytes it took.
#[inline]
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

/// Appends `s` prefixed with its length as a varint.
pub fn put_length_prefixed(dst: &mut Vec<u8>, s: &[u8]) {
    put_varint64(dst, s.len() as u64);
    dst.extend_from_slice(s);
}

/// Splits a length-prefixed slice off the front of `src`: the slice and the
/// rest.
#[inline]
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

//! Bytes moved as words wherever they lie, on a target that assumes strict
//! alignment.
//!
//! `aarch64-unknown-none` may run code with the MMU off, where an unaligned
//! access faults, so the compiler never makes one: a word read from a byte
//! slice is eight byte loads, and a copy of a length it does not know (or
//! of more than 32 bytes it does) is a call to `memcpy`. Under QEMU's TCG a
//! call's return is a jump the emulator looks up in a hash table, and a
//! pipelined SET made 16 copies of a few bytes each: a key, a value, a
//! batch, a reply. With the `unaligned-loads` feature, for code that runs
//! with the MMU on and alignment checks off (SCTLR_EL1.A = 0, as the unikv
//! kernel does once it has mapped memory), words move in one instruction
//! each and short copies are made inline; without it (hosted targets, or a
//! build that may run before the MMU is on) the same functions use the
//! compiler's own unaligned reads and writes.
//!
//! Shared by the store (`lsm`: keys, blocks, the WAL), the protocol
//! (`resp`: a request's arguments, replies) and the command layer.

#![no_std]
#![warn(missing_docs)]

extern crate alloc;

use alloc::vec::Vec;

use words::{move4, move8};

/// Eight bytes as a native-endian word, in one load wherever they lie.
///
/// `aarch64-unknown-none` assumes strict alignment (code there may run with
/// the MMU off, where an unaligned access faults), so the compiler builds
/// such a word from eight byte loads; the store compares keys and reads tags a
/// word at a time on every step of every search. With the `unaligned-loads`
/// feature (for code that runs with the MMU on and alignment
/// checks off) one `ldr` does it.
#[inline(always)]
pub fn load_u64(b: &[u8; 8]) -> u64 {
    words::load_u64(b)
}

/// Four bytes as a native-endian word, in one load (see [`load_u64`]).
#[inline(always)]
pub fn load_u32(b: &[u8; 4]) -> u32 {
    words::load_u32(b)
}

/// Stores `v` as eight native-endian bytes, in one store wherever they lie
/// (see [`load_u64`]).
#[inline(always)]
pub fn store_u64(b: &mut [u8; 8], v: u64) {
    words::store_u64(b, v)
}

/// Copies `src` into `dst` (of the same length) with [`copy_to`]: up to
/// 64 bytes without a `memcpy` call.
#[inline(always)]
pub fn copy_short(dst: &mut [u8], src: &[u8]) {
    if dst.len() != src.len() {
        dst.copy_from_slice(src);
        return;
    }
    // SAFETY: `dst` is `src.len()` writable bytes, and a `&mut` borrow
    // does not overlap the shared `src`.
    unsafe { copy_to(dst.as_mut_ptr(), src) };
}

/// Appends `src` to `dst`, up to 64 bytes without a `memcpy` call (see
/// [`copy_to`]): keys, short values and a SET's whole batch are appended
/// this way several times a write.
#[inline(always)]
pub fn extend_short(dst: &mut Vec<u8>, src: &[u8]) {
    if src.len() > SHORT_COPY {
        dst.extend_from_slice(src);
        return;
    }
    dst.reserve(src.len());
    let len = dst.len();
    // SAFETY: `reserve` made room for `src.len()` bytes past `len`, which
    // `copy_to` initialises before `set_len` exposes them; a `&mut Vec`
    // does not overlap the shared `src`.
    unsafe {
        copy_to(dst.as_mut_ptr().add(len), src);
        dst.set_len(len + src.len());
    }
}

/// Whether `a` and `b` hold the same bytes, compared as 8-byte words (the
/// last one overlapping the one before it) whose differences are gathered
/// and tested once, at the end: one load pair, `eor` and `orr` a word, where
/// the slices' `==` is a `bcmp` call (under TCG its return is a looked-up
/// jump) and a word loop that stops at the first difference is a branch a
/// word. For data that is almost always equal: a scan's check of every
/// value it reads, a key against the one it remembers.
#[inline(always)]
pub fn equal(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| s[at..].first_chunk().map_or(0, load_u64);
    let half = |s: &[u8], at: usize| s[at..].first_chunk().map_or(0, load_u32);
    if n >= 8 {
        let mut diff = word(a, n - 8) ^ word(b, n - 8);
        // Two words a turn (the loop's own count and branch are half of a
        // one-word turn), through pointers: zipped chunks compiled to a
        // call that built the zip and two `memcpy` calls that moved it,
        // indexed subslices to a length check a word.
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut at = 0;
        while at + 16 < n {
            // SAFETY: `at + 16 < n`, the length of both.
            diff |= unsafe { xor8(pa, pb, at) | xor8(pa, pb, at + 8) };
            at += 16;
        }
        if at + 8 < n {
            // SAFETY: `at + 8 < n`, the length of both.
            diff |= unsafe { xor8(pa, pb, at) };
        }
        diff == 0
    } else if n >= 4 {
        (half(a, 0) ^ half(b, 0)) | (half(a, n - 4) ^ half(b, n - 4)) == 0
    } else {
        a.iter().zip(b).all(|(x, y)| x == y)
    }
}

/// The 8 bytes at `at` of `a` xor those of `b`.
///
/// # Safety
/// Both must have 8 readable bytes at `at`.
#[inline(always)]
unsafe fn xor8(a: *const u8, b: *const u8, at: usize) -> u64 {
    // SAFETY: the caller's promise; a `[u8; 8]` may lie anywhere.
    let (x, y) = unsafe { (&*a.add(at).cast::<[u8; 8]>(), &*b.add(at).cast::<[u8; 8]>()) };
    load_u64(x) ^ load_u64(y)
}

/// Longest copy [`copy_to`] makes itself.
const SHORT_COPY: usize = 64;

/// Copies `src` to `dst`. Up to 64 bytes (keys, short values, records'
/// headers) move as 8-byte words, the last one overlapping the one before
/// it, and shorter than 8 as two 4-byte words or three bytes, all inline:
/// under QEMU's TCG a `memcpy` call's return is a jump the emulator looks
/// up in a hash table, and a SET made 16 such calls (a third of its
/// returns). Longer copies call `memcpy`, whose loop is faster.
///
/// # Safety
/// `dst` must be valid for writes of `src.len()` bytes, and the two ranges
/// must not overlap.
#[inline(always)]
pub unsafe fn copy_to(dst: *mut u8, src: &[u8]) {
    let (n, s) = (src.len(), src.as_ptr());
    if n > SHORT_COPY {
        // SAFETY: the caller's promise.
        unsafe { core::ptr::copy_nonoverlapping(s, dst, n) };
    } else if n >= 8 {
        let mut at = 0;
        while at + 8 < n {
            // SAFETY: `at + 8 < n`: both words are within the caller's
            // ranges.
            unsafe { move8(dst, s, at) };
            at += 8;
        }
        // SAFETY: `n >= 8`: the last 8 bytes of both ranges.
        unsafe { move8(dst, s, n - 8) };
    } else if n >= 4 {
        // SAFETY: `4 <= n < 8`: the first and the last 4 bytes of both
        // ranges.
        unsafe {
            move4(dst, s, 0);
            move4(dst, s, n - 4);
        }
    } else if n > 0 {
        // SAFETY: `0 < n < 4`: the first, the middle and the last byte of
        // both ranges (the same byte more than once when n < 3).
        unsafe {
            *dst = *s;
            *dst.add(n / 2) = *s.add(n / 2);
            *dst.add(n - 1) = *s.add(n - 1);
        }
    }
}

/// The accesses themselves, chosen once for the whole crate: one
/// instruction each where the `unaligned-loads` feature says unaligned
/// accesses of normal memory are allowed (`aarch64-unknown-none` with the
/// MMU on and alignment checks off), the compiler's unaligned reads and
/// writes everywhere else. `move8`/`move4` move the 8 or 4 bytes at `at`
/// from `s` to `d`; both ranges must be valid and disjoint.
#[cfg(all(
    target_arch = "aarch64",
    target_os = "none",
    feature = "unaligned-loads"
))]
mod words {
    use core::arch::asm;

    #[inline(always)]
    pub fn load_u64(b: &[u8; 8]) -> u64 {
        let v: u64;
        // SAFETY: `b` is eight readable bytes; the feature's contract is
        // that unaligned loads of normal memory are allowed where this runs.
        unsafe {
            asm!("ldr {v}, [{p}]", v = out(reg) v, p = in(reg) b.as_ptr(),
                options(pure, readonly, nostack, preserves_flags))
        };
        v
    }

    #[inline(always)]
    pub fn load_u32(b: &[u8; 4]) -> u32 {
        let v: u32;
        // SAFETY: as in `load_u64`, for four bytes.
        unsafe {
            asm!("ldr {v:w}, [{p}]", v = out(reg) v, p = in(reg) b.as_ptr(),
                options(pure, readonly, nostack, preserves_flags))
        };
        v
    }

    #[inline(always)]
    pub fn store_u64(b: &mut [u8; 8], v: u64) {
        // SAFETY: `b` is eight writable bytes; as in `load_u64`.
        unsafe {
            asm!("str {v}, [{p}]", v = in(reg) v, p = in(reg) b.as_mut_ptr(),
                options(nostack, preserves_flags))
        };
    }

    /// # Safety
    /// Both 8-byte ranges must be valid (read and write) and disjoint.
    #[inline(always)]
    pub unsafe fn move8(d: *mut u8, s: *const u8, at: usize) {
        // SAFETY: the caller's promise; unaligned as in `load_u64`.
        unsafe {
            asm!("ldr {t}, [{s}]", "str {t}, [{d}]", t = out(reg) _,
                s = in(reg) s.add(at), d = in(reg) d.add(at), options(nostack, preserves_flags))
        };
    }

    /// # Safety
    /// Both 4-byte ranges must be valid (read and write) and disjoint.
    #[inline(always)]
    pub unsafe fn move4(d: *mut u8, s: *const u8, at: usize) {
        // SAFETY: as in `move8`.
        unsafe {
            asm!("ldr {t:w}, [{s}]", "str {t:w}, [{d}]", t = out(reg) _,
                s = in(reg) s.add(at), d = in(reg) d.add(at), options(nostack, preserves_flags))
        };
    }
}

#[cfg(not(all(
    target_arch = "aarch64",
    target_os = "none",
    feature = "unaligned-loads"
)))]
mod words {
    #[inline(always)]
    pub fn load_u64(b: &[u8; 8]) -> u64 {
        u64::from_ne_bytes(*b)
    }

    #[inline(always)]
    pub fn load_u32(b: &[u8; 4]) -> u32 {
        u32::from_ne_bytes(*b)
    }

    #[inline(always)]
    pub fn store_u64(b: &mut [u8; 8], v: u64) {
        *b = v.to_ne_bytes();
    }

    /// # Safety
    /// Both 8-byte ranges must be valid (read and write) and disjoint.
    #[inline(always)]
    pub unsafe fn move8(d: *mut u8, s: *const u8, at: usize) {
        // SAFETY: the caller's promise.
        unsafe {
            d.add(at)
                .cast::<u64>()
                .write_unaligned(s.add(at).cast::<u64>().read_unaligned())
        };
    }

    /// # Safety
    /// Both 4-byte ranges must be valid (read and write) and disjoint.
    #[inline(always)]
    pub unsafe fn move4(d: *mut u8, s: *const u8, at: usize) {
        // SAFETY: the caller's promise.
        unsafe {
            d.add(at)
                .cast::<u32>()
                .write_unaligned(s.add(at).cast::<u32>().read_unaligned())
        };
    }
}

/// A copy that [`check`] found wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CopyError {
    /// Bytes copied.
    pub len: usize,
    /// The source's offset from 8-byte alignment.
    pub src_offset: usize,
    /// The destination's offset from 8-byte alignment.
    pub dst_offset: usize,
    /// The first wrong byte, as an index into the destination's buffer
    /// (which starts 8 bytes before the destination).
    pub at: usize,
    /// What that byte held.
    pub found: u8,
    /// What it should have held.
    pub wanted: u8,
}

impl core::fmt::Display for CopyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "a copy of {} bytes from offset {} to offset {}: byte {} is {:#x}, not {:#x}",
            self.len, self.src_offset, self.dst_offset, self.at, self.found, self.wanted
        )
    }
}

/// Lengths at the edges of [`copy_to`]'s paths: none, the byte path, the
/// two 4-byte words, one to eight 8-byte words with and without overlap,
/// and the `memcpy` call past 64.
const CHECKED_LENGTHS: [usize; 23] = [
    0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 40, 56, 63, 64, 65, 71, 72,
];

/// Checks [`copy_short`] at the lengths at its paths' edges and every pair of source
/// and destination offsets from 8-byte alignment, bytes around the
/// destination untouched. The kernel runs it once its MMU allows
/// unaligned accesses, before anything copies this way (a wrong copy
/// would corrupt anything): about 2 ms of its boot under QEMU (every
/// length to 72 took 14). The host's tests copy every length.
pub fn check() -> Result<(), CopyError> {
    const GUARD: u8 = 0xa5;
    let pattern = |i: usize| (i as u8).wrapping_mul(37).wrapping_add(11);
    let src: [u8; 96] = core::array::from_fn(pattern);
    let mut dst = [GUARD; 112];
    for len in CHECKED_LENGTHS {
        for s in 0..8 {
            for d in 0..8 {
                dst.fill(GUARD);
                copy_short(&mut dst[8 + d..8 + d + len], &src[s..s + len]);
                for (at, &found) in dst.iter().enumerate() {
                    let wanted = if (8 + d..8 + d + len).contains(&at) {
                        pattern(s + at - 8 - d)
                    } else {
                        GUARD
                    };
                    if found != wanted {
                        return Err(CopyError {
                            len,
                            src_offset: s,
                            dst_offset: d,
                            at,
                            found,
                            wanted,
                        });
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_short_copies_every_length_exactly() {
        let src: Vec<u8> = (1..=80).collect();
        for n in 0..=72 {
            for at in [0, 3] {
                let mut dst = [0xaa; 80];
                copy_short(&mut dst[at..at + n], &src[..n]);
                assert_eq!(&dst[at..at + n], &src[..n], "{n} bytes at {at}");
                assert!(dst[..at].iter().chain(&dst[at + n..]).all(|&b| b == 0xaa));
            }
        }
    }

    #[test]
    fn extend_short_appends_every_length() {
        let src: Vec<u8> = (1..=80).collect();
        for n in 0..=72 {
            for (len, cap) in [(0, 0), (3, 3), (5, 200), (1, 9)] {
                let mut v = Vec::with_capacity(cap);
                v.extend((0..len).map(|i| 0xa0 + i as u8));
                let mut want = v.clone();
                want.extend_from_slice(&src[..n]);
                extend_short(&mut v, &src[..n]);
                assert_eq!(v, want, "{n} bytes after {len} of capacity {cap}");
            }
        }
    }

    #[test]
    fn equal_finds_a_difference_in_any_byte_of_any_length() {
        let a: Vec<u8> = (1..=80).collect();
        for n in 0..=72 {
            for at in [0, 3] {
                let mut b = [0u8; 80];
                b[at..at + n].copy_from_slice(&a[..n]);
                assert!(equal(&a[..n], &b[at..at + n]), "{n} bytes at {at}");
                for i in 0..n {
                    b[at + i] ^= 0x40;
                    assert!(!equal(&a[..n], &b[at..at + n]), "byte {i} of {n}");
                    b[at + i] ^= 0x40;
                }
                // Lengths differ: not equal, even as a prefix.
                assert!(!equal(&a[..n], &b[at..at + n + 1]));
            }
        }
    }

    #[test]
    fn the_boot_check_passes() {
        assert_eq!(check(), Ok(()));
    }

    #[test]
    fn words_load_and_store_anywhere() {
        let mut b = [0u8; 24];
        for at in 0..16 {
            b.fill(0);
            let w: &mut [u8; 8] = (&mut b[at..at + 8]).try_into().unwrap();
            store_u64(w, 0x0102_0304_0506_0708);
            let w: &[u8; 8] = b[at..at + 8].try_into().unwrap();
            assert_eq!(load_u64(w), 0x0102_0304_0506_0708);
            let w: &[u8; 4] = b[at..at + 4].try_into().unwrap();
            assert_eq!(load_u32(w), u32::from_ne_bytes(*w));
            assert!(b[..at].iter().chain(&b[at + 8..]).all(|&x| x == 0));
        }
    }
}

//! CRC32C (Castagnoli), the checksum on every record and block the store
//! writes, with LevelDB's masking.
//!
//! Two implementations: a slicing-by-8 table one everywhere, and on aarch64
//! built with the `crc` target feature (cortex-a57 has it, but the
//! `aarch64-unknown-none` target does not enable it by default: build with
//! `-C target-feature=+crc`) the CRC32C instructions, which are used unless
//! [`use_software`] says otherwise. The instructions win by far on silicon;
//! under QEMU's TCG each is a call into the emulator and the two come
//! close, so the kernel times both at boot and keeps the faster (as Linux
//! picks its RAID checksum routines). Whether the instructions exist is decided at
//! compile time, so the kernel never executes one its CPU lacks.

use core::sync::atomic::{AtomicBool, Ordering};

const POLY: u32 = 0x82F6_3B78;

/// Set: the tables even where the instructions exist.
static SOFTWARE: AtomicBool = AtomicBool::new(false);

/// Makes [`extend`] use the table implementation (`true`) or, where built
/// in, the CRC32C instructions (`false`). Both give the same results.
pub fn use_software(yes: bool) {
    SOFTWARE.store(yes, Ordering::Relaxed);
}

/// Whether [`extend`] uses CRC32C instructions (aarch64's CRC32, x86's
/// SSE4.2).
pub fn uses_hardware() -> bool {
    #[cfg(target_arch = "x86_64")]
    let present = x86::has_sse42();
    #[cfg(not(target_arch = "x86_64"))]
    let present = cfg!(all(target_arch = "aarch64", target_feature = "crc"));
    present && !SOFTWARE.load(Ordering::Relaxed)
}

const fn make_tables() -> [[u32; 256]; 8] {
    let mut t = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
            k += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut i = 0;
    while i < 256 {
        let mut s = 1;
        while s < 8 {
            let prev = t[s - 1][i];
            t[s][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            s += 1;
        }
        i += 1;
    }
    t
}

static TABLES: [[u32; 256]; 8] = make_tables();

/// Joining the CRCs of neighbouring pieces, for the instructions' three
/// interleaved streams (x86's SSE4.2, aarch64's CRC).
#[cfg(any(
    target_arch = "x86_64",
    all(target_arch = "aarch64", target_feature = "crc")
))]
mod join {
    use super::POLY;

    /// Bytes each of three interleaved streams takes per step, where the
    /// instructions are used. A CRC instruction's result feeds the next, so
    /// one stream waits out each one's latency (three cycles on x86 and on the
    /// Cortex-A57, one issued a cycle): three independent streams over
    /// neighbouring pieces keep the unit busy, and their CRCs are joined by
    /// shifting the earlier over the later's length ([`shift`], four table
    /// lookups), as in LevelDB's SSE4.2 path and Mark Adler's crc32c.c.
    pub(super) const STRIDE: usize = 256;

    /// `a * b` modulo the polynomial, in the reflected representation (bit 31
    /// is x^0).
    const fn mult_mod_p(a: u32, mut b: u32) -> u32 {
        let mut m = 1u32 << 31;
        let mut p = 0;
        while m != 0 {
            if a & m != 0 {
                p ^= b;
            }
            m >>= 1;
            b = if b & 1 != 0 { (b >> 1) ^ POLY } else { b >> 1 };
        }
        p
    }

    /// Tables that move a CRC register over `n` zero bytes: entry `[k][b]` is
    /// byte `b` at byte `k` of the register, times x^(8n).
    const fn shift_tables(n: usize) -> [[u32; 256]; 4] {
        // x^(8n) by squaring: `square` runs through x^(2^i).
        let mut x8n = 1u32 << 31;
        let mut square = 1u32 << 30;
        let mut e = 8 * n;
        while e != 0 {
            if e & 1 != 0 {
                x8n = mult_mod_p(square, x8n);
            }
            square = mult_mod_p(square, square);
            e >>= 1;
        }
        let mut t = [[0u32; 256]; 4];
        let mut k = 0;
        while k < 4 {
            let mut b = 0;
            while b < 256 {
                t[k][b] = mult_mod_p(x8n, (b as u32) << (8 * k));
                b += 1;
            }
            k += 1;
        }
        t
    }

    static SHIFT: [[u32; 256]; 4] = shift_tables(STRIDE);

    /// The register `c` after [`STRIDE`] more bytes that were all zero: the
    /// CRC register is linear in its start and the data, so a stream's
    /// register from `c` equals `shift(c)` xor the same stream's from 0.
    #[inline]
    pub(super) fn shift(c: u32) -> u32 {
        SHIFT[0][(c & 0xff) as usize]
            ^ SHIFT[1][((c >> 8) & 0xff) as usize]
            ^ SHIFT[2][((c >> 16) & 0xff) as usize]
            ^ SHIFT[3][(c >> 24) as usize]
    }
}

/// The CRC32C of `data` appended to data whose CRC32C is `crc`.
#[inline]
pub fn extend(crc: u32, data: &[u8]) -> u32 {
    #[cfg(all(target_arch = "aarch64", target_feature = "crc"))]
    if !SOFTWARE.load(Ordering::Relaxed) {
        return extend_hardware(crc, data);
    }
    #[cfg(target_arch = "x86_64")]
    if x86::has_sse42() && !SOFTWARE.load(Ordering::Relaxed) {
        // SAFETY: the CPU reports SSE4.2, which the function needs.
        return unsafe { x86::extend(crc, data) };
    }
    extend_software(crc, data)
}

/// The CRC32C of `data`.
#[inline]
pub fn value(data: &[u8]) -> u32 {
    extend(0, data)
}

/// Table-driven CRC32C, eight bytes per step.
pub fn extend_software(crc: u32, data: &[u8]) -> u32 {
    let t = &TABLES;
    let mut c = !crc;
    // Whole aligned words in the middle (see `extend_hardware` on why).
    // SAFETY: every bit pattern is a valid u64; align_to only reinterprets
    // the aligned middle of the slice, whose bounds it computes.
    let (head, words, tail) = unsafe { data.align_to::<u64>() };
    for &b in head {
        c = t[0][((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8);
    }
    for &w in words {
        let w = u64::from_le(w);
        let lo = (w as u32) ^ c;
        let hi = (w >> 32) as u32;
        c = t[7][(lo & 0xff) as usize]
            ^ t[6][((lo >> 8) & 0xff) as usize]
            ^ t[5][((lo >> 16) & 0xff) as usize]
            ^ t[4][(lo >> 24) as usize]
            ^ t[3][(hi & 0xff) as usize]
            ^ t[2][((hi >> 8) & 0xff) as usize]
            ^ t[1][((hi >> 16) & 0xff) as usize]
            ^ t[0][(hi >> 24) as usize];
    }
    for &b in tail {
        c = t[0][((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

/// CRC32C with the ARMv8 CRC32 extension's instructions.
#[cfg(all(target_arch = "aarch64", target_feature = "crc"))]
pub fn extend_hardware(crc: u32, data: &[u8]) -> u32 {
    use core::arch::aarch64::{__crc32cb, __crc32cd};
    let mut c = !crc;
    // Whole aligned words in the middle: the target is +strict-align, so a
    // word assembled from an unaligned slice costs eight byte loads, which
    // dominated block verification.
    // SAFETY: every bit pattern is a valid u64; align_to only reinterprets
    // the aligned middle of the slice, whose bounds it computes.
    let (head, words, tail) = unsafe { data.align_to::<u64>() };
    for &b in head {
        // SAFETY: the intrinsic needs the `crc` feature, which the cfg on this
        // function guarantees at compile time.
        c = unsafe { __crc32cb(c, b) };
    }
    use join::{shift, STRIDE};
    const W: usize = STRIDE / 8;
    let mut triples = words.chunks_exact(3 * W);
    for t in &mut triples {
        let (a, rest) = t.split_at(W);
        let (b, d) = rest.split_at(W);
        let (mut cb, mut cd) = (0, 0);
        for i in 0..W {
            // SAFETY: as above.
            unsafe {
                c = __crc32cd(c, u64::from_le(a[i]));
                cb = __crc32cd(cb, u64::from_le(b[i]));
                cd = __crc32cd(cd, u64::from_le(d[i]));
            }
        }
        c = shift(shift(c) ^ cb) ^ cd;
    }
    for &w in triples.remainder() {
        // SAFETY: as above. CRC32C consumes the word's bytes in memory order,
        // which from_le gives on any endianness.
        c = unsafe { __crc32cd(c, u64::from_le(w)) };
    }
    for &b in tail {
        // SAFETY: as above.
        c = unsafe { __crc32cb(c, b) };
    }
    !c
}

/// SSE4.2's CRC32 instruction computes CRC32C: hosted builds (tests, the
/// host db_bench) use it when the CPU has it, found at run time with
/// `cpuid` since the baseline x86-64 target does not assume it (as LevelDB
/// does).
#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::{__cpuid, _mm_crc32_u64, _mm_crc32_u8};
    use core::sync::atomic::{AtomicU8, Ordering};

    /// 0 unknown, 1 absent, 2 present.
    static SSE42: AtomicU8 = AtomicU8::new(0);

    pub fn has_sse42() -> bool {
        match SSE42.load(Ordering::Relaxed) {
            0 => {
                let ecx = __cpuid(1).ecx;
                let yes = ecx & (1 << 20) != 0;
                SSE42.store(if yes { 2 } else { 1 }, Ordering::Relaxed);
                yes
            }
            v => v == 2,
        }
    }

    /// # Safety
    /// The CPU must have SSE4.2.
    #[target_feature(enable = "sse4.2")]
    pub unsafe fn extend(crc: u32, data: &[u8]) -> u32 {
        let mut c = u64::from(!crc);
        let word = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or([0; 8]));
        let mut triples = data.chunks_exact(3 * super::join::STRIDE);
        for t in &mut triples {
            let (a, rest) = t.split_at(super::join::STRIDE);
            let (b, d) = rest.split_at(super::join::STRIDE);
            let (mut cb, mut cd) = (0u64, 0u64);
            for ((a, b), d) in a
                .chunks_exact(8)
                .zip(b.chunks_exact(8))
                .zip(d.chunks_exact(8))
            {
                c = _mm_crc32_u64(c, word(a));
                cb = _mm_crc32_u64(cb, word(b));
                cd = _mm_crc32_u64(cd, word(d));
            }
            let joined = super::join::shift(super::join::shift(c as u32) ^ cb as u32) ^ cd as u32;
            c = u64::from(joined);
        }
        let mut chunks = triples.remainder().chunks_exact(8);
        for w in &mut chunks {
            c = _mm_crc32_u64(c, word(w));
        }
        let mut c = c as u32;
        for &b in chunks.remainder() {
            c = _mm_crc32_u8(c, b);
        }
        !c
    }
}

const MASK_DELTA: u32 = 0xa282_ead8;

/// A CRC stored next to data is masked, because the CRC of a string that
/// itself contains CRCs is otherwise degenerate (LevelDB's reasoning).
#[inline]
pub fn mask(crc: u32) -> u32 {
    crc.rotate_right(15).wrapping_add(MASK_DELTA)
}

/// Inverse of [`mask`].
#[inline]
pub fn unmask(masked: u32) -> u32 {
    masked.wrapping_sub(MASK_DELTA).rotate_left(15)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors from LevelDB's util/crc32c_test.cc (RFC 3720 section B.4).
    #[test]
    fn standard_results() {
        assert_eq!(value(&[0u8; 32]), 0x8a91_36aa);
        assert_eq!(value(&[0xffu8; 32]), 0x62a8_ab43);
        let ascending: [u8; 32] = core::array::from_fn(|i| i as u8);
        assert_eq!(value(&ascending), 0x46dd_794e);
        let descending: [u8; 32] = core::array::from_fn(|i| 31 - i as u8);
        assert_eq!(value(&descending), 0x113f_db5c);
        let iscsi: [u8; 48] = [
            0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14,
            0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];
        assert_eq!(value(&iscsi), 0xd996_3a56);
        assert_eq!(value(b"123456789"), 0xe306_9283);
    }

    #[test]
    fn values_differ() {
        assert_ne!(value(b"a"), value(b"foo"));
    }

    #[test]
    fn extend_matches_whole() {
        assert_eq!(value(b"hello world"), extend(value(b"hello "), b"world"));
        let data: alloc::vec::Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();
        for split in 0..data.len() {
            assert_eq!(extend(value(&data[..split]), &data[split..]), value(&data));
        }
    }

    /// Whatever `extend` dispatches to agrees with the tables, for every
    /// length and alignment (on this host, SSE4.2 if the CPU has it).
    #[test]
    fn dispatch_matches_software() {
        let data: alloc::vec::Vec<u8> = (0..1100u32).map(|i| (i * 193 + 11) as u8).collect();
        for start in 0..8 {
            for len in (0..1000).step_by(7) {
                let bytes = &data[start..start + len];
                assert_eq!(
                    extend(0x1234_5678, bytes),
                    extend_software(0x1234_5678, bytes)
                );
            }
        }
    }

    /// The three interleaved streams and their joining agree with the
    /// tables over several strides, from every alignment.
    #[test]
    fn interleaved_streams_match_software() {
        let data: alloc::vec::Vec<u8> = (0..9000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for start in 0..8 {
            for len in [767, 768, 769, 1536, 2000, 4096, 4103, 8191] {
                let bytes = &data[start..start + len];
                assert_eq!(extend(7, bytes), extend_software(7, bytes), "{start} {len}");
            }
        }
    }

    #[test]
    fn software_matches_bytewise_definition() {
        let data: alloc::vec::Vec<u8> = (0..265u32).map(|i| (i * 31) as u8).collect();
        // Every length from every alignment: head, words and tail.
        for start in 0..8 {
            for len in 0..data.len() - start {
                let bytes = &data[start..start + len];
                let mut c = !0u32;
                for &b in bytes {
                    c ^= u32::from(b);
                    for _ in 0..8 {
                        c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
                    }
                }
                assert_eq!(extend_software(0, bytes), !c);
            }
        }
    }

    #[test]
    fn mask_round_trips() {
        let crc = value(b"foo");
        assert_ne!(crc, mask(crc));
        assert_ne!(crc, mask(mask(crc)));
        assert_eq!(crc, unmask(mask(crc)));
        assert_eq!(crc, unmask(unmask(mask(mask(crc)))));
    }
}

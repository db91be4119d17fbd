//! The kernel's `memcpy` and `memset` (boot/mem.s), and the switch that
//! lets them copy by words once unaligned accesses are allowed.
//!
//! compiler-builtins' versions, written for `aarch64-unknown-none`'s strict
//! alignment, build each word of a copy between buffers that are not
//! mutually aligned from eight byte loads: about 2.5 instructions a byte,
//! the largest single cost of a write in the instruction profile (`BENCH
//! fillrandom`: 2,653 of 8,934 guest instructions per operation). With the
//! MMU on and alignment checks off, unaligned loads and stores of normal
//! memory are allowed, and boot/mem.s moves 32 bytes per four instructions.
//! Before that (the MMU off, every access to Device memory, where an
//! unaligned one faults), they go a byte at a time.

use core::sync::atomic::{AtomicU8, Ordering};

core::arch::global_asm!(
    include_str!("../../../../../boot/mem.s"),
    unaligned_ok = sym UNALIGNED_OK,
);

/// Nonzero once unaligned accesses are allowed: boot/mem.s reads it on
/// every call. A CPU must not run Rust code with its MMU off once it is set
/// (secondary CPUs turn theirs on first).
static UNALIGNED_OK: AtomicU8 = AtomicU8::new(0);

/// Called once the MMU is on with alignment checks off: switches the copy
/// routines to word accesses, then checks them at every pair of alignments
/// on [`LENGTHS`]. A wrong copy would corrupt anything, so a failure stops
/// the boot here, naming the case. About 1 ms under QEMU.
pub(crate) fn allow_word_copies() {
    UNALIGNED_OK.store(1, Ordering::Release);
    check();
}

/// Lengths for every path of boot/mem.s and their edges: memcpy's bits of
/// a length under 16, 16-32 (two overlapping pairs), and the 32-byte loop
/// once and twice before its last 32 from the end; memset's bits of a
/// length under 16, its 16-31 and its loop with every kind of tail.
const LENGTHS: [usize; 25] = [
    0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 24, 31, 32, 33, 40, 48, 49, 63, 64, 65, 72, 80,
];

/// The byte at index `i` of the check's source.
fn pattern(i: usize) -> u8 {
    (i as u8).wrapping_mul(37).wrapping_add(11)
}

fn check() {
    const MAX: usize = 80;
    const GUARD: u8 = 0xa5;
    let src: [u8; MAX + 16] = core::array::from_fn(pattern);
    let mut dst = [GUARD; MAX + 32];
    for len in LENGTHS {
        for s in 0..8 {
            for d in 0..8 {
                dst.fill(GUARD);
                // SAFETY: both ranges are inside their arrays (s + len <=
                // 87 < 96, 8 + d + len <= 95 < 112), and they are distinct
                // arrays, so they do not overlap.
                unsafe {
                    core::ptr::copy_nonoverlapping(
                        src.as_ptr().add(s),
                        dst.as_mut_ptr().add(8 + d),
                        core::hint::black_box(len),
                    );
                }
                for (i, &b) in dst.iter().enumerate() {
                    let want = if (8 + d..8 + d + len).contains(&i) {
                        pattern(s + i - 8 - d)
                    } else {
                        GUARD
                    };
                    assert!(
                        b == want,
                        "memcpy of {len} bytes from offset {s} to offset {d}: byte {i} is {b:#x}, not {want:#x}"
                    );
                }
                dst.fill(GUARD);
                // SAFETY: inside `dst`, as above.
                unsafe {
                    core::ptr::write_bytes(
                        dst.as_mut_ptr().add(8 + d),
                        core::hint::black_box(0x3c),
                        core::hint::black_box(len),
                    );
                }
                for (i, &b) in dst.iter().enumerate() {
                    let want = if (8 + d..8 + d + len).contains(&i) {
                        0x3c
                    } else {
                        GUARD
                    };
                    assert!(
                        b == want,
                        "memset of {len} bytes at offset {d}: byte {i} is {b:#x}, not {want:#x}"
                    );
                }
            }
        }
    }
}

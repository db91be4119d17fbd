//! Backtraces by walking frame records (the kernel is built with frame
//! pointers: each frame starts with the caller's x29 and the return address).
//!
//! Only addresses are printed; `tools/symbolize` (or gdb's `info symbol`)
//! turns them into function names with the ELF's symbols.

use core::fmt::Write;

const MAX_FRAMES: usize = 64;

/// Writes one line per frame, starting at `pc` if given, then the chain of
/// frame records from `fp`. Stops at a null or implausible frame pointer
/// rather than faulting: the stack being walked may be the thing that broke.
pub fn write(w: &mut dyn Write, fp: u64, pc: Option<u64>) {
    let mut n = 0;
    if let Some(pc) = pc {
        let _ = writeln!(w, "  #{n:<2} {pc:#018x}");
        n += 1;
    }
    let mut fp = fp;
    let mut last = 0;
    let mut repeats = 0u64;
    while n < MAX_FRAMES {
        if fp == 0 || !fp.is_multiple_of(16) || !crate::memory::is_stack(fp, 16) {
            break;
        }
        // SAFETY: fp is 16-aligned and the 16 bytes at it lie inside one of
        // the kernel's mapped stacks (checked just above).
        let (next, lr) = unsafe {
            let record = fp as *const u64;
            (record.read(), record.add(1).read())
        };
        if lr == 0 {
            break;
        }
        // The return address points after the call; the call is 4 bytes back.
        let pc = lr.saturating_sub(4);
        if pc == last {
            // Deep recursion (a stack overflow) would fill the screen.
            repeats += 1;
        } else {
            if repeats > 0 {
                let _ = writeln!(w, "      ... the frame above {repeats} more times");
                repeats = 0;
            }
            let _ = writeln!(w, "  #{n:<2} {pc:#018x}");
            n += 1;
            last = pc;
        }
        // Frames grow down: a caller's record is always above its callee's.
        if next <= fp {
            break;
        }
        fp = next;
    }
    if repeats > 0 {
        let _ = writeln!(w, "      ... the frame above {repeats} more times");
    }
}

/// The current frame pointer, for a backtrace from here.
#[inline(always)]
pub fn current_fp() -> u64 {
    let fp: u64;
    // SAFETY: reads a register; no memory access, no side effects.
    unsafe {
        core::arch::asm!("mov {}, x29", out(reg) fp, options(nomem, nostack, preserves_flags))
    };
    fp
}

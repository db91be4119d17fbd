//! Arm semihosting, used for one thing: telling QEMU's host side the kernel's
//! exit status, so a test can tell a panic (non-zero) from a clean exit.
//!
//! QEMU only intercepts `hlt #0xf000` when started with `-semihosting`;
//! otherwise the instruction traps as undefined. The sync exception handler
//! steps over such a trap (`is_failed_call`), so calling here is safe
//! either way and simply does nothing without the flag.

use core::sync::atomic::{AtomicBool, Ordering};

const HLT_0XF000: u32 = 0xd45e_0000;
const SYS_EXIT: u64 = 0x18;
const ADP_STOPPED_APPLICATION_EXIT: u64 = 0x2_0026;

static ABSENT: AtomicBool = AtomicBool::new(false);

/// Ends QEMU with `code` as its exit status, if semihosting is on.
pub fn exit_failure(code: u32) {
    if ABSENT.load(Ordering::Relaxed) {
        return;
    }
    let block: [u64; 2] = [ADP_STOPPED_APPLICATION_EXIT, u64::from(code)];
    // SAFETY: the semihosting ABI: x0 = operation, x1 = parameter block that
    // stays alive across the call. Without semihosting the hlt traps and the
    // handler resumes after it, leaving registers unchanged.
    unsafe {
        core::arch::asm!(
            "hlt #0xf000",
            inout("x0") SYS_EXIT => _,
            in("x1") block.as_ptr(),
            options(nostack)
        );
    }
}

/// Called from the sync exception handler with its ESR and ELR: whether the
/// fault is our semihosting `hlt` with semihosting off (noted, so later
/// calls do nothing); the handler then resumes after the 4-byte `hlt`.
pub fn is_failed_call(esr: u64, elr: u64) -> bool {
    if esr >> 26 != 0 {
        return false;
    }
    if !crate::memory::is_kernel_text(elr, 4) {
        return false;
    }
    // SAFETY: ELR lies in the kernel's text, which is mapped and readable.
    let insn = unsafe { (elr as *const u32).read() };
    if insn != HLT_0XF000 {
        return false;
    }
    ABSENT.store(true, Ordering::Relaxed);
    true
}

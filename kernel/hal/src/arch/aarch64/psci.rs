//! PSCI (Arm's power-state interface) through the conduit the device tree
//! names: power off, reset.

use core::sync::atomic::{AtomicBool, Ordering};

const SYSTEM_OFF: u64 = 0x8400_0008;
const SYSTEM_RESET: u64 = 0x8400_0009;

/// true: `smc`; false: `hvc` (QEMU virt without EL2 or EL3 firmware).
static USE_SMC: AtomicBool = AtomicBool::new(false);

pub fn set_conduit_smc(smc: bool) {
    USE_SMC.store(smc, Ordering::Relaxed);
}

fn call(function: u64) -> u64 {
    let ret: u64;
    if USE_SMC.load(Ordering::Relaxed) {
        // SAFETY: a PSCI call per the SMC calling convention; x0-x3 may be
        // clobbered by the firmware, nothing else.
        unsafe {
            core::arch::asm!("smc #0", inout("x0") function => ret,
                inout("x1") 0u64 => _, inout("x2") 0u64 => _, inout("x3") 0u64 => _,
                options(nostack))
        };
    } else {
        // SAFETY: as above, through the hypervisor conduit.
        unsafe {
            core::arch::asm!("hvc #0", inout("x0") function => ret,
                inout("x1") 0u64 => _, inout("x2") 0u64 => _, inout("x3") 0u64 => _,
                options(nostack))
        };
    }
    ret
}

/// Powers the machine off: QEMU exits with status 0.
pub fn system_off() -> ! {
    call(SYSTEM_OFF);
    super::cpu::halt()
}

/// Resets the machine: QEMU reloads the image and boots it again.
pub fn system_reset() -> ! {
    call(SYSTEM_RESET);
    super::cpu::halt()
}

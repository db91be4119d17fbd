//! PSCI (Arm's power-state interface) through the conduit the device tree
//! names: power off, reset, starting a CPU.

use core::sync::atomic::{AtomicBool, Ordering};

const SYSTEM_OFF: u64 = 0x8400_0008;
const SYSTEM_RESET: u64 = 0x8400_0009;
const CPU_ON: u64 = 0xc400_0003;

/// true: `smc`; false: `hvc` (QEMU virt without EL2 or EL3 firmware).
static USE_SMC: AtomicBool = AtomicBool::new(false);

pub fn set_conduit_smc(smc: bool) {
    USE_SMC.store(smc, Ordering::Relaxed);
}

fn call(function: u64, a1: u64, a2: u64, a3: u64) -> i64 {
    let ret: u64;
    if USE_SMC.load(Ordering::Relaxed) {
        // SAFETY: a PSCI call per the SMC calling convention; x0-x3 may be
        // clobbered by the firmware, nothing else.
        unsafe {
            core::arch::asm!("smc #0", inout("x0") function => ret,
                inout("x1") a1 => _, inout("x2") a2 => _, inout("x3") a3 => _,
                options(nostack))
        };
    } else {
        // SAFETY: as above, through the hypervisor conduit.
        unsafe {
            core::arch::asm!("hvc #0", inout("x0") function => ret,
                inout("x1") a1 => _, inout("x2") a2 => _, inout("x3") a3 => _,
                options(nostack))
        };
    }
    ret as i64
}

/// A PSCI call's failure, as the specification numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PsciError(pub i64);

impl core::fmt::Display for PsciError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let what = match self.0 {
            -1 => "not supported",
            -2 => "invalid parameters",
            -3 => "denied",
            -4 => "already on",
            -5 => "on pending",
            -6 => "internal failure",
            -7 => "not present",
            -8 => "disabled",
            -9 => "invalid address",
            _ => "unknown error",
        };
        write!(f, "PSCI error {} ({what})", self.0)
    }
}

/// Starts the CPU with affinity `mpidr` at the physical address `entry`,
/// with `context` in its x0.
pub fn cpu_on(mpidr: u64, entry: u64, context: u64) -> Result<(), PsciError> {
    match call(CPU_ON, mpidr, entry, context) {
        0 => Ok(()),
        e => Err(PsciError(e)),
    }
}

/// Powers the machine off: QEMU exits with status 0.
pub fn system_off() -> ! {
    call(SYSTEM_OFF, 0, 0, 0);
    super::cpu::halt()
}

/// Resets the machine: QEMU reloads the image and boots it again.
pub fn system_reset() -> ! {
    call(SYSTEM_RESET, 0, 0, 0);
    super::cpu::halt()
}

//! ARMv8-A at EL1: boot glue, exceptions, MMU, GICv3, generic timer, PSCI,
//! the other CPUs' bring-up, semihosting and backtraces.

pub mod backtrace;
pub mod cpu;
pub mod exception;
pub mod gicv3;
mod icc;
mod mem;
pub mod mmu;
pub mod psci;
pub mod semihosting;
pub mod smp;
pub mod timer;

core::arch::global_asm!(include_str!("../../../../../boot/entry.s"));
core::arch::global_asm!(include_str!("../../../../../boot/vectors.s"));

//! The executing CPU: interrupt masking, waiting, identification.

use aarch64_cpu::{
    asm,
    registers::{CurrentEL, ReadWriteable, Readable, DAIF, MIDR_EL1, MPIDR_EL1},
};

/// Whether IRQs were masked before `irq_save`.
#[derive(Clone, Copy)]
pub struct IrqState {
    was_masked: bool,
}

/// Masks IRQs and returns the previous state, for `irq_restore`.
///
/// The immediate forms (`daifset`/`daifclr`), and no write at all when
/// nothing changes: under QEMU's TCG a write to DAIF as a system register
/// ends the translation block and returns to the emulator's loop, and so
/// does `daifclr` (to deliver what became pending), but `daifset` does not.
/// A lock then costs one such exit instead of two.
#[inline]
pub fn irq_save() -> IrqState {
    let was_masked = DAIF.is_set(DAIF::I);
    if !was_masked {
        // SAFETY: masking IRQs at the current EL touches no memory and
        // breaks no invariant; `irq_restore` undoes it.
        unsafe { core::arch::asm!("msr daifset, #2", options(nostack, preserves_flags)) };
    }
    IrqState { was_masked }
}

#[inline]
pub fn irq_restore(state: IrqState) {
    if !state.was_masked {
        // SAFETY: unmasks what `irq_save` masked; handlers may run from
        // here on, which the caller's lock release already allows.
        unsafe { core::arch::asm!("msr daifclr, #2", options(nostack, preserves_flags)) };
    }
}

#[inline]
pub fn irq_enable() {
    DAIF.modify(DAIF::I::Unmasked);
}

/// Waits for the next interrupt without losing one that arrives between the
/// caller's last check and the wait: `wfi` wakes on a pending interrupt even
/// while IRQs are masked, and the handler runs once they are unmasked. The
/// time asleep is this CPU's idle time (`INFO cpu`).
pub fn wait_for_interrupt_if(cond: impl FnOnce() -> bool) {
    let saved = irq_save();
    if cond() {
        let me = crate::cpus::this();
        let t = super::timer::counter();
        me.falling_asleep(t);
        asm::wfi();
        me.woke(t, super::timer::counter());
    }
    irq_restore(saved);
}

pub fn exception_level() -> u64 {
    CurrentEL.read(CurrentEL::EL)
}

pub fn mpidr() -> u64 {
    MPIDR_EL1.get()
}

pub fn midr() -> u64 {
    MIDR_EL1.get()
}

/// Stops this CPU for good, with interrupts masked.
pub fn halt() -> ! {
    DAIF.modify(DAIF::I::Masked + DAIF::F::Masked);
    loop {
        asm::wfe();
    }
}

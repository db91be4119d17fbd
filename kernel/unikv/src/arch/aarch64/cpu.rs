//! The executing CPU: interrupt masking, waiting, identification.

use aarch64_cpu::{
    asm,
    registers::{CurrentEL, ReadWriteable, Readable, Writeable, DAIF, MIDR_EL1, MPIDR_EL1},
};

/// DAIF as it was before `irq_save`.
#[derive(Clone, Copy)]
pub struct IrqState(u64);

/// Masks IRQs and returns the previous state, for `irq_restore`.
#[inline]
pub fn irq_save() -> IrqState {
    let state = IrqState(DAIF.get());
    DAIF.modify(DAIF::I::Masked);
    state
}

#[inline]
pub fn irq_restore(state: IrqState) {
    DAIF.set(state.0);
}

#[inline]
pub fn irq_enable() {
    DAIF.modify(DAIF::I::Unmasked);
}

/// Waits for the next interrupt without losing one that arrives between the
/// caller's last check and the wait: `wfi` wakes on a pending interrupt even
/// while IRQs are masked, and the handler runs once they are unmasked.
pub fn wait_for_interrupt_if(cond: impl FnOnce() -> bool) {
    let saved = irq_save();
    if cond() {
        asm::wfi();
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

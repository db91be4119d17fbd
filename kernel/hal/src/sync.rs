//! Locks that are safe to take with interrupts around.
//!
//! unikv runs its services on one core; the only concurrency is an interrupt
//! handler preempting the code it interrupted. A spin lock alone would
//! deadlock there (the handler spins on a lock its victim holds), so every
//! lock shared with interrupt context masks IRQs while held.

use crate::arch::cpu;
use core::ops::{Deref, DerefMut};

pub struct IrqLock<T> {
    inner: spin::Mutex<T>,
}

pub struct IrqLockGuard<'a, T> {
    guard: Option<spin::MutexGuard<'a, T>>,
    saved: cpu::IrqState,
}

impl<T> IrqLock<T> {
    pub const fn new(value: T) -> Self {
        Self {
            inner: spin::Mutex::new(value),
        }
    }

    pub fn lock(&self) -> IrqLockGuard<'_, T> {
        let saved = cpu::irq_save();
        IrqLockGuard {
            guard: Some(self.inner.lock()),
            saved,
        }
    }

    /// For the panic path only: takes the lock even if its holder was
    /// interrupted by the panic, so a dying kernel can still print.
    ///
    /// # Safety
    /// Nothing else may run after this (the caller never returns).
    pub unsafe fn force_lock(&self) -> IrqLockGuard<'_, T> {
        let saved = cpu::irq_save();
        if self.inner.is_locked() {
            // SAFETY: the caller guarantees the holder never runs again.
            unsafe { self.inner.force_unlock() };
        }
        IrqLockGuard {
            guard: Some(self.inner.lock()),
            saved,
        }
    }
}

impl<T> Deref for IrqLockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.guard.as_ref().expect("guard is present until drop")
    }
}

impl<T> DerefMut for IrqLockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.guard.as_mut().expect("guard is present until drop")
    }
}

impl<T> Drop for IrqLockGuard<'_, T> {
    fn drop(&mut self) {
        // Release the lock before unmasking, or an interrupt could spin on it.
        self.guard = None;
        cpu::irq_restore(self.saved);
    }
}

/// A cell written once on the boot CPU before anything can observe it
/// concurrently (page tables, boot-time configuration). Transparent, so a
/// debugger finds the value at the cell's own address.
#[repr(transparent)]
pub struct BootCell<T>(core::cell::UnsafeCell<T>);

// SAFETY: only the boot CPU writes a BootCell, before interrupts are enabled
// or other CPUs started; other CPUs only read it after they start (the
// secondaries' MMU settings); see each use.
unsafe impl<T> Sync for BootCell<T> {}

impl<T> BootCell<T> {
    pub const fn new(value: T) -> Self {
        Self(core::cell::UnsafeCell::new(value))
    }

    pub fn get(&self) -> *mut T {
        self.0.get()
    }
}

//! `MmioRef`: the one place where a device address becomes a register block.
//!
//! Tock's `StaticRef`: creating one is `unsafe` (the caller vouches that the
//! address is a device of that layout, mapped as device memory, for the
//! kernel's lifetime); using it afterwards is safe, through `tock-registers`.

use core::{marker::PhantomData, ops::Deref};

pub struct MmioRef<T: 'static> {
    addr: usize,
    _block: PhantomData<&'static T>,
}

impl<T: 'static> MmioRef<T> {
    /// # Safety
    /// `addr` is the base of a live device whose registers have the layout
    /// `T`, identity-mapped as device memory for as long as the kernel runs,
    /// and nothing else creates a Rust reference to that memory.
    pub const unsafe fn new(addr: usize) -> Self {
        Self {
            addr,
            _block: PhantomData,
        }
    }

    pub fn addr(&self) -> usize {
        self.addr
    }
}

impl<T: 'static> Deref for MmioRef<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: `new`'s contract: a mapped device of layout `T` lives here
        // for the kernel's lifetime; register types only use volatile access.
        unsafe { &*(self.addr as *const T) }
    }
}

// SAFETY: the registers are accessed with volatile reads and writes only;
// callers serialize access where the device needs it.
unsafe impl<T: 'static> Sync for MmioRef<T> {}
// SAFETY: as above; the reference is just an address.
unsafe impl<T: 'static> Send for MmioRef<T> {}

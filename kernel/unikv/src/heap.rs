//! The kernel heap: `linked_list_allocator` over the RAM the image leaves
//! free, behind a plain spin lock.
//!
//! The lock does not mask interrupts, unlike the kernel's other shared
//! locks: under QEMU's TCG every write to DAIF ends the translation block
//! and returns to the emulator's main loop, and two per allocation (mask,
//! restore) cost the store's read path more than a quarter of its time
//! (`BENCH readrandom` 47k -> 61k ops/s without them). Interrupt handlers
//! (the tick, the UART's receive) never allocate; should one ever try while
//! the code it interrupted holds the lock, it gets an allocation failure
//! (and a free is leaked and counted) instead of a deadlock.

use crate::memory::Range;
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use linked_list_allocator::Heap;
use spin::Mutex;

pub struct KernelHeap(Mutex<Heap>);

#[global_allocator]
static HEAP: KernelHeap = KernelHeap(Mutex::new(Heap::empty()));

/// Interrupt handlers running (nested depth), set by the IRQ vector.
static IRQ_DEPTH: AtomicU32 = AtomicU32::new(0);
/// Bytes an interrupt handler freed while the heap was held: leaked.
static LEAKED_IN_IRQ: AtomicUsize = AtomicUsize::new(0);

/// Brackets an interrupt handler, so the heap knows not to wait for a lock
/// the interrupted code may hold.
pub fn in_irq<R>(f: impl FnOnce() -> R) -> R {
    IRQ_DEPTH.fetch_add(1, Ordering::Relaxed);
    let r = f();
    IRQ_DEPTH.fetch_sub(1, Ordering::Relaxed);
    r
}

impl KernelHeap {
    fn lock(&self) -> Option<spin::MutexGuard<'_, Heap>> {
        if IRQ_DEPTH.load(Ordering::Relaxed) == 0 {
            Some(self.0.lock())
        } else {
            self.0.try_lock()
        }
    }
}

// SAFETY: linked_list_allocator returns blocks that fit the layout and do
// not overlap; the lock serializes every use of the free list.
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.lock()
            .and_then(|mut h| h.allocate_first_fit(layout).ok())
            .map_or(ptr::null_mut(), NonNull::as_ptr)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let Some(p) = NonNull::new(ptr) else { return };
        match self.lock() {
            // SAFETY: the GlobalAlloc contract: ptr came from `alloc` with
            // this layout.
            Some(mut h) => unsafe { h.deallocate(p, layout) },
            None => {
                LEAKED_IN_IRQ.fetch_add(layout.size(), Ordering::Relaxed);
            }
        }
    }
}

/// Hands `region` to the allocator.
///
/// # Safety
/// `region` is mapped read-write RAM that nothing else uses, now or later.
pub unsafe fn init(region: Range) {
    // SAFETY: forwarded from the caller.
    unsafe {
        HEAP.0
            .lock()
            .init(region.start as *mut u8, region.len() as usize)
    };
}

pub struct HeapStats {
    pub total: usize,
    pub used: usize,
    pub free: usize,
    pub bottom: usize,
    pub leaked_in_irq: usize,
}

pub fn stats() -> HeapStats {
    let heap = HEAP.0.lock();
    HeapStats {
        total: heap.size(),
        used: heap.used(),
        free: heap.free(),
        bottom: heap.bottom() as usize,
        leaked_in_irq: LEAKED_IN_IRQ.load(Ordering::Relaxed),
    }
}

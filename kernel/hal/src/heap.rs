//! The kernel heap: `talc` (the allocator Hermit uses: binned free lists,
//! constant-time allocation and free) over the RAM the image leaves free,
//! behind a plain spin lock. `linked_list_allocator`, used before, keeps its
//! free list in address order and walks it on every free: with the read
//! cache's blocks coming and going across a large heap, frees grew with the
//! number of holes.
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
use spin::Mutex;
use talc::{ErrOnOom, Span, Talc};

pub struct KernelHeap(Mutex<Talc<ErrOnOom>>);

#[global_allocator]
static HEAP: KernelHeap = KernelHeap(Mutex::new(Talc::new(ErrOnOom)));

/// Where the heap starts, for `INFO memory` (talc does not keep it).
static BOTTOM: AtomicUsize = AtomicUsize::new(0);

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
    fn lock(&self) -> Option<spin::MutexGuard<'_, Talc<ErrOnOom>>> {
        if IRQ_DEPTH.load(Ordering::Relaxed) == 0 {
            Some(self.0.lock())
        } else {
            self.0.try_lock()
        }
    }
}

// SAFETY: talc returns blocks that fit the layout and do not overlap; the
// lock serializes every use of its free lists.
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.lock()
            // SAFETY: malloc's contract is GlobalAlloc's (a non-zero size,
            // which GlobalAlloc's caller guarantees).
            .and_then(|mut t| unsafe { t.malloc(layout) }.ok())
            .map_or(ptr::null_mut(), NonNull::as_ptr)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let Some(p) = NonNull::new(ptr) else { return };
        match self.lock() {
            // SAFETY: the GlobalAlloc contract: ptr came from `alloc` with
            // this layout.
            Some(mut t) => unsafe { t.free(p, layout) },
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
    let span = Span::from_base_size(region.start as *mut u8, region.len() as usize);
    // SAFETY: forwarded from the caller.
    if unsafe { HEAP.0.lock().claim(span) }.is_ok() {
        BOTTOM.store(region.start as usize, Ordering::Relaxed);
    }
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
    let c = heap.get_counters();
    HeapStats {
        total: c.claimed_bytes,
        // What is not available, the allocator's own bookkeeping included.
        used: c.claimed_bytes.saturating_sub(c.available_bytes),
        free: c.available_bytes,
        bottom: BOTTOM.load(Ordering::Relaxed),
        leaked_in_irq: LEAKED_IN_IRQ.load(Ordering::Relaxed),
    }
}

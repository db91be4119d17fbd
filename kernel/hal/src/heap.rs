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
use core::sync::atomic::{AtomicUsize, Ordering};
use spin::Mutex;
use talc::{ErrOnOom, Span, Talc};

pub struct KernelHeap(Mutex<Heap>);

/// The allocator and what it holds. talc's own counters (a feature) keep
/// six figures on every allocation and free, a tenth of a GET's
/// instructions under TCG; two sums do for `INFO memory` and the budgets.
struct Heap {
    talc: Talc<ErrOnOom>,
    /// Bytes handed to the allocator.
    claimed: usize,
    /// Bytes in use: each block's size with talc's per-block overhead
    /// (`chunk`), so that free space is not overstated by it.
    used: usize,
}

#[global_allocator]
static HEAP: KernelHeap = KernelHeap(Mutex::new(Heap {
    talc: Talc::new(ErrOnOom),
    claimed: 0,
    used: 0,
}));

/// What a block of `layout` takes from the heap: talc's tag (a word) and
/// its smallest chunk (four words), in words.
fn chunk(layout: Layout) -> usize {
    (layout.size() + 8).max(32).next_multiple_of(8)
}

/// Where the heap starts, for `INFO memory` (talc does not keep it).
static BOTTOM: AtomicUsize = AtomicUsize::new(0);

/// Bytes an interrupt handler freed while the heap was held: leaked.
static LEAKED_IN_IRQ: AtomicUsize = AtomicUsize::new(0);

/// Brackets an interrupt handler, so the heap knows not to wait for a lock
/// the interrupted code may hold.
pub fn in_irq<R>(f: impl FnOnce() -> R) -> R {
    let depth = &crate::cpus::this().irq_depth;
    depth.fetch_add(1, Ordering::Relaxed);
    let r = f();
    depth.fetch_sub(1, Ordering::Relaxed);
    r
}

impl KernelHeap {
    fn lock(&self) -> Option<spin::MutexGuard<'_, Heap>> {
        // Per CPU: a handler on one CPU may wait for a holder on another.
        if crate::cpus::this().irq_depth.load(Ordering::Relaxed) == 0 {
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
            .and_then(|mut h| {
                // SAFETY: malloc's contract is GlobalAlloc's (a non-zero
                // size, which GlobalAlloc's caller guarantees).
                let p = unsafe { h.talc.malloc(layout) }.ok()?;
                h.used += chunk(layout);
                Some(p)
            })
            .map_or(ptr::null_mut(), NonNull::as_ptr)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let Some(p) = NonNull::new(ptr) else { return };
        match self.lock() {
            Some(mut h) => {
                // SAFETY: the GlobalAlloc contract: ptr came from `alloc`
                // with this layout.
                unsafe { h.talc.free(p, layout) };
                h.used = h.used.saturating_sub(chunk(layout));
            }
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
    let mut heap = HEAP.0.lock();
    // SAFETY: forwarded from the caller.
    if unsafe { heap.talc.claim(span) }.is_ok() {
        heap.claimed += region.len() as usize;
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
    HeapStats {
        total: heap.claimed,
        used: heap.used,
        free: heap.claimed.saturating_sub(heap.used),
        bottom: BOTTOM.load(Ordering::Relaxed),
        leaked_in_irq: LEAKED_IN_IRQ.load(Ordering::Relaxed),
    }
}

//! The kernel heap: `linked_list_allocator` over the RAM the image leaves
//! free, behind a lock that masks interrupts so that interrupt handlers may
//! allocate too.

use crate::memory::Range;
use crate::sync::IrqLock;
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{self, NonNull};
use linked_list_allocator::Heap;

pub struct KernelHeap(IrqLock<Heap>);

#[global_allocator]
static HEAP: KernelHeap = KernelHeap(IrqLock::new(Heap::empty()));

// SAFETY: linked_list_allocator returns blocks that fit the layout and do
// not overlap; the lock serializes every use of the free list.
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.0
            .lock()
            .allocate_first_fit(layout)
            .map_or(ptr::null_mut(), NonNull::as_ptr)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(p) = NonNull::new(ptr) {
            // SAFETY: the GlobalAlloc contract: ptr came from `alloc` with
            // this layout.
            unsafe { self.0.lock().deallocate(p, layout) };
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
}

pub fn stats() -> HeapStats {
    let heap = HEAP.0.lock();
    HeapStats {
        total: heap.size(),
        used: heap.used(),
        free: heap.free(),
        bottom: heap.bottom() as usize,
    }
}

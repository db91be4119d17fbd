//! The kernel heap: a per-CPU cache of small free blocks in front of
//! `talc` (the allocator Hermit uses: binned free lists, constant-time
//! allocation and free) over the RAM the image leaves free, behind a plain
//! spin lock. `linked_list_allocator`, used before talc, keeps its free
//! list in address order and walks it on every free: with the read cache's
//! blocks coming and going across a large heap, frees grew with the number
//! of holes.
//!
//! The lock does not mask interrupts, unlike the kernel's other shared
//! locks: under QEMU's TCG every write to DAIF ends the translation block
//! and returns to the emulator's main loop, and two per allocation (mask,
//! restore) cost the store's read path more than a quarter of its time
//! (`BENCH readrandom` 47k -> 61k ops/s without them). Interrupt handlers
//! (the tick, the UART's receive) never allocate; should one ever try while
//! the code it interrupted holds the lock, it gets an allocation failure
//! (and a free is leaked and counted) instead of a deadlock.
//!
//! # The per-CPU cache
//!
//! Most blocks are small and short-lived (a request's arguments, keys and
//! values of a few bytes, write batches, reply buffers) and are freed on
//! the core that allocated them. Through talc alone an allocation and its
//! free cost about 190 guest instructions (the lock's atomics, talc's
//! bins): `tools/insn-profile set -c 10 -P 16` counted ~1,180 of a SET's
//! ~7,300 instructions in the heap for 6 allocations, and `get` ~370 of a
//! GET's ~3,900 for 2 (lock spinning left out). So, as tcmalloc, mimalloc
//! and Linux's SLUB do, every CPU keeps for each size class (`CLASSES`, up
//! to 256 bytes, alignment up to 16) a singly linked list of free blocks of
//! that class, the link in the free block's first word, at most 8 KiB of
//! them (`LIST_BYTES`: 512 blocks of 16 bytes, 32 of 256). A small
//! allocation pops from its CPU's list (no lock, no atomic
//! read-modify-write); an empty list first takes `BATCH` blocks from talc
//! under one lock. A small free pushes onto the freeing CPU's list,
//! wherever the block came from; a full list first gives `BATCH` blocks
//! back to talc under one lock. An allocation or a free is now ~33
//! instructions (~40 with `__rust_alloc`'s shim): the heap's share of a SET
//! fell to ~530 instructions (the SET to ~6,700) and of a GET to ~170
//! (~3,700), with no list refilled or flushed in either test. A
//! reallocation within a class (a `Vec` of 8 bytes growing to 16) keeps its
//! block.
//!
//! Every small block, cached or not, is allocated from talc with its
//! class's layout (size and 16-byte alignment) and freed with it, so that
//! any block of a class serves any request of that class; the interrupt
//! handlers' path below does the same.
//!
//! Why a list needs no lock: a CPU's lists are used only by that CPU, and
//! there is no preemption: a core's code is interrupted only by interrupt
//! handlers, and a handler (`irq_depth > 0`, see [`in_irq`]) never touches
//! the lists: it goes to talc through the lock's `try_lock` path, as every
//! allocation did before the cache. So a handler cannot find a list half
//! changed by the code it interrupted, and no two contexts ever change one
//! list at once. Each CPU's lists sit in cache lines of their own
//! (`#[repr(align(64))]`). Every CPU's index is in TPIDR_EL1 before any of
//! its Rust code runs (boot/entry.s sets it on the boot CPU and on every
//! started one, before `kernel_main` or `secondary_main`), so the index is
//! valid from the first allocation; one out of range would bypass the
//! cache all the same.
//!
//! Accounting: `used` counts what talc has handed out, each block with
//! talc's per-block overhead (`chunk`; a small block at its class's
//! size), less the free blocks parked in the per-CPU lists, which
//! [`HeapStats::cached`] reports: those count as free, if only for their
//! class on their CPU (at most ~80 KiB of them on each CPU).

use crate::memory::{Range, MAX_CPUS};
use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
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
    /// Bytes talc has handed out: each block's size with talc's per-block
    /// overhead (`chunk`), so that free space is not overstated by it.
    /// Blocks in the per-CPU lists are among them.
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
/// the interrupted code may hold, nor to touch the per-CPU lists.
pub fn in_irq<R>(f: impl FnOnce() -> R) -> R {
    let depth = &crate::cpus::this().irq_depth;
    depth.fetch_add(1, Ordering::Relaxed);
    let r = f();
    depth.fetch_sub(1, Ordering::Relaxed);
    r
}

/// The small blocks' sizes in bytes: multiples of 16, so that every block
/// of a class is 16-aligned and serves any alignment up to 16.
const CLASSES: [usize; 8] = [16, 32, 48, 64, 96, 128, 192, 256];
const NCLASSES: usize = CLASSES.len();
/// The largest small block.
const SMALL_MAX: usize = CLASSES[NCLASSES - 1];
/// The alignment of every small block (so the largest a small request may
/// ask for).
const SMALL_ALIGN: usize = 16;

/// What a CPU's list of one class holds at most, in bytes at the class's
/// size: enough for the 16-byte blocks a network core's SETs have in
/// flight at `redis-benchmark -c 10 -P 16` (with lists of 64 blocks, the
/// 16-byte list was refilled and flushed every ~20 SETs), and at most
/// ~80 KiB of talc's chunks per CPU in all.
const LIST_BYTES: usize = 8192;
/// The most free blocks a CPU keeps of each class: 512 of 16 bytes, ...,
/// 32 of 256.
const LIST_MAX: [u32; NCLASSES] = {
    let mut t = [0; NCLASSES];
    let mut c = 0;
    while c < NCLASSES {
        t[c] = (LIST_BYTES / CLASSES[c]) as u32;
        c += 1;
    }
    t
};
/// Blocks an empty list takes from talc, and a full one gives back to it,
/// under one lock.
const BATCH: u32 = 32;
const _: () = assert!(0 < BATCH && BATCH <= LIST_MAX[NCLASSES - 1]);

/// The class of a small size, by the size rounded up to 16 bytes:
/// `CLASS_OF[size.div_ceil(16)]`.
const CLASS_OF: [u8; SMALL_MAX / 16 + 1] = {
    let mut t = [0; SMALL_MAX / 16 + 1];
    let (mut i, mut c) = (0, 0);
    while i < t.len() {
        while CLASSES[c] < i * 16 {
            c += 1;
        }
        t[i] = c as u8;
        i += 1;
    }
    t
};

/// The layout talc allocates and frees every block of a class with.
const CLASS_LAYOUT: [Layout; NCLASSES] = {
    let mut t = [Layout::new::<u8>(); NCLASSES];
    let mut c = 0;
    while c < NCLASSES {
        t[c] = match Layout::from_size_align(CLASSES[c], SMALL_ALIGN) {
            Ok(layout) => layout,
            Err(_) => panic!("a size class is not a layout"),
        };
        c += 1;
    }
    t
};

/// The class of `layout`, if it is small.
#[inline]
fn class_of(layout: Layout) -> Option<usize> {
    if layout.size() <= SMALL_MAX && layout.align() <= SMALL_ALIGN {
        Some(CLASS_OF[layout.size().div_ceil(16)] as usize)
    } else {
        None
    }
}

/// One CPU's lists: a head for each class (a free block whose first word
/// is the next one, or null) and the room each list has left.
#[repr(align(64))]
struct Front {
    heads: UnsafeCell<[*mut u8; NCLASSES]>,
    /// `LIST_MAX[c]` less the length of list `c`: kept as the room left
    /// rather than the length, so that a free compares it with zero, not
    /// with a limit it would have to load. Written by the owning CPU only,
    /// with plain loads and stores (no read-modify-write); atomics so that
    /// `stats` may read them anywhere.
    room: [AtomicU32; NCLASSES],
}

// SAFETY: `heads`, and the free blocks on its lists, are reached only
// through a `Mine`, which `Mine::get` makes only for the running CPU's own
// `Front` and only outside interrupt handlers; a `Mine` lives for one
// allocator call and cannot leave the CPU (it is neither Send nor Sync).
// With no preemption, code on a CPU is interrupted only by handlers, which
// do not get a `Mine`; so at most one context on one CPU uses a `Front`'s
// lists at any time. `room` holds atomics, which anyone may read.
unsafe impl Sync for Front {}

impl Front {
    const fn new() -> Self {
        let mut room = [const { AtomicU32::new(0) }; NCLASSES];
        let mut c = 0;
        while c < NCLASSES {
            room[c] = AtomicU32::new(LIST_MAX[c]);
            c += 1;
        }
        Self {
            heads: UnsafeCell::new([ptr::null_mut(); NCLASSES]),
            room,
        }
    }

    /// Bytes of the free blocks on these lists, as `used` counted them.
    fn cached(&self) -> usize {
        (0..NCLASSES)
            .map(|c| {
                let len = LIST_MAX[c].saturating_sub(self.room[c].load(Ordering::Relaxed));
                len as usize * chunk(CLASS_LAYOUT[c])
            })
            .sum()
    }
}

/// Every CPU's lists, by index.
static FRONTS: [Front; MAX_CPUS] = [const { Front::new() }; MAX_CPUS];

/// The right to use the running CPU's lists, for one allocator call.
///
/// Invariant of every list: each block on it is free, was allocated from
/// talc with its class's layout (so is at least 16 bytes, 16-aligned),
/// holds the next block's address (or null) in its first word, and is
/// referred to by nothing but the list; `room` is its limit less its
/// length.
struct Mine {
    front: &'static Front,
    /// Neither Send nor Sync: the lists are this CPU's.
    _here: PhantomData<*mut ()>,
}

impl Mine {
    /// The running CPU's lists, unless in an interrupt handler.
    #[inline]
    fn get() -> Option<Self> {
        let cpu = crate::cpus::index();
        let front = FRONTS.get(cpu)?;
        if crate::cpus::get(cpu)?.irq_depth.load(Ordering::Relaxed) != 0 {
            return None;
        }
        Some(Self {
            front,
            _here: PhantomData,
        })
    }

    #[inline]
    fn heads(&mut self) -> &mut [*mut u8; NCLASSES] {
        // SAFETY: see `Front`'s Sync: this `Mine` is the only one on this
        // CPU now, and `&mut self` makes this the only reference through it.
        unsafe { &mut *self.front.heads.get() }
    }

    /// How many more blocks list `c` may take.
    #[inline]
    fn room(&self, c: usize) -> u32 {
        self.front.room[c].load(Ordering::Relaxed)
    }

    #[inline]
    fn set_room(&self, c: usize, n: u32) {
        self.front.room[c].store(n, Ordering::Relaxed);
    }

    /// A free block of class `c`, if the list has one.
    #[inline]
    fn pop(&mut self, c: usize) -> Option<NonNull<u8>> {
        let head = NonNull::new(self.heads()[c])?;
        // SAFETY: the list's invariant: `head` is a free block of ours,
        // aligned, with the next block's address in its first word.
        let next = unsafe { head.cast::<*mut u8>().read() };
        self.heads()[c] = next;
        self.set_room(c, self.room(c) + 1);
        Some(head)
    }

    /// Puts `p` on class `c`'s list, which has room for it.
    ///
    /// # Safety
    /// `p` was allocated from talc with `CLASS_LAYOUT[c]`, is free, and
    /// nothing else refers to it.
    #[inline]
    unsafe fn push(&mut self, c: usize, p: NonNull<u8>) {
        // SAFETY: from the caller.
        unsafe { self.push_with(c, p, self.room(c)) }
    }

    /// [`Mine::push`], given the list's room (one load less).
    ///
    /// # Safety
    /// As `push`'s; `room` is `self.room(c)`, not zero.
    #[inline]
    unsafe fn push_with(&mut self, c: usize, p: NonNull<u8>, room: u32) {
        debug_assert!(room > 0);
        let head = self.heads()[c];
        // SAFETY: from the caller: `p` is ours, at least 16 bytes and
        // 16-aligned, so its first word may hold the link.
        unsafe { p.cast::<*mut u8>().write(head) };
        self.heads()[c] = p.as_ptr();
        self.set_room(c, room - 1);
    }

    /// Takes the first `n` (> 0) blocks, the last freed, off class `c`'s
    /// list (all of them if it is shorter): a chain linked as the list
    /// was, null-terminated, or null.
    fn take(&mut self, c: usize, n: u32) -> *mut u8 {
        let room = self.room(c);
        let n = n.min(LIST_MAX[c] - room);
        let chain = self.heads()[c];
        if n == 0 {
            return ptr::null_mut();
        }
        let mut last = chain;
        for _ in 1..n {
            // SAFETY: the list's invariant; with at least `n` blocks on
            // it, its first `n` links are blocks, not null.
            last = unsafe { last.cast::<*mut u8>().read() };
        }
        // SAFETY: as above: `last` is the list's `n`th block.
        let rest = unsafe { last.cast::<*mut u8>().replace(ptr::null_mut()) };
        self.heads()[c] = rest;
        self.set_room(c, room + n);
        chain
    }
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

    /// A block for `layout` from talc: of its class's layout if small (in
    /// an interrupt handler), else of `layout`.
    #[inline(never)]
    fn alloc_from_talc(&self, layout: Layout) -> *mut u8 {
        let layout = class_of(layout).map_or(layout, |c| CLASS_LAYOUT[c]);
        self.lock()
            .and_then(|mut h| {
                // SAFETY: malloc's contract is GlobalAlloc's (a non-zero
                // size, which GlobalAlloc's caller guarantees and every
                // class has).
                let p = unsafe { h.talc.malloc(layout) }.ok()?;
                h.used += chunk(layout);
                Some(p)
            })
            .map_or(ptr::null_mut(), NonNull::as_ptr)
    }

    /// Gives `p` back to talc.
    ///
    /// # Safety
    /// `p` came from `alloc_from_talc(layout)` or, if small, from a list
    /// of its class, and nothing refers to it any more.
    #[inline(never)]
    unsafe fn free_to_talc(&self, p: NonNull<u8>, layout: Layout) {
        let layout = class_of(layout).map_or(layout, |c| CLASS_LAYOUT[c]);
        match self.lock() {
            Some(mut h) => {
                // SAFETY: from the caller; a small block is talc's with its
                // class's layout.
                unsafe { h.talc.free(p, layout) };
                h.used = h.used.saturating_sub(chunk(layout));
            }
            None => {
                LEAKED_IN_IRQ.fetch_add(layout.size(), Ordering::Relaxed);
            }
        }
    }

    /// Class `c`'s list is empty: takes [`BATCH`] blocks from talc under
    /// one lock, returns one and puts the others on the list (which has
    /// room for them: `BATCH <= LIST_MAX[c]`).
    #[cold]
    #[inline(never)]
    fn refill(&self, mut mine: Mine, c: usize) -> *mut u8 {
        let layout = CLASS_LAYOUT[c];
        // Not in a handler (there is a `Mine`): the lock may be waited for.
        let mut h = self.0.lock();
        let mut first = None;
        for _ in 0..BATCH {
            // SAFETY: a class's layout has a non-zero size.
            let Ok(p) = (unsafe { h.talc.malloc(layout) }) else {
                break;
            };
            h.used += chunk(layout);
            if first.is_none() {
                first = Some(p);
            } else {
                // SAFETY: `p` is new from talc with the class's layout.
                unsafe { mine.push(c, p) };
            }
        }
        first.map_or(ptr::null_mut(), NonNull::as_ptr)
    }

    /// Class `c`'s list is full: gives [`BATCH`] of its blocks back to
    /// talc under one lock, then puts `p` on it.
    ///
    /// # Safety
    /// As [`Mine::push`]'s.
    #[cold]
    #[inline(never)]
    unsafe fn flush(&self, mut mine: Mine, c: usize, p: NonNull<u8>) {
        let layout = CLASS_LAYOUT[c];
        let mut rest = mine.take(c, BATCH);
        let mut h = self.0.lock();
        let mut freed = 0;
        while let Some(block) = NonNull::new(rest) {
            // SAFETY: the chain's blocks keep the list's invariant; the
            // link is read before talc takes the block.
            rest = unsafe { block.cast::<*mut u8>().read() };
            // SAFETY: the list's invariant: from talc with `layout`, and
            // nothing else refers to it.
            unsafe { h.talc.free(block, layout) };
            freed += chunk(layout);
        }
        h.used = h.used.saturating_sub(freed);
        drop(h);
        // SAFETY: from the caller.
        unsafe { mine.push(c, p) };
    }
}

// SAFETY: talc returns blocks that fit the layout and do not overlap, and
// the lock serializes every use of its free lists. A small block is always
// talc's block of its class's layout (at least the size and alignment asked
// for), whether it comes from a list or from talc, and goes back to talc
// with that layout; a block on a list is used by no one (see `Mine`).
unsafe impl GlobalAlloc for KernelHeap {
    // The fast paths (a list's pop or push) call nothing; everything else
    // is a tail call. Not inlined into `__rust_alloc`, so that
    // tools/insn-profile finds and counts these calls by name.
    #[inline(never)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if let Some(c) = class_of(layout) {
            if let Some(mut mine) = Mine::get() {
                return match mine.pop(c) {
                    Some(p) => p.as_ptr(),
                    None => self.refill(mine, c),
                };
            }
        }
        self.alloc_from_talc(layout)
    }

    #[inline(never)]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let Some(p) = NonNull::new(ptr) else { return };
        if let Some(c) = class_of(layout) {
            if let Some(mut mine) = Mine::get() {
                let room = mine.room(c);
                if room == 0 {
                    // SAFETY: as below.
                    return unsafe { self.flush(mine, c, p) };
                }
                // SAFETY: the GlobalAlloc contract: `p`, of a layout of
                // class `c`, is the caller's no more; a small block is
                // talc's with its class's layout.
                return unsafe { mine.push_with(c, p, room) };
            }
        }
        // SAFETY: the GlobalAlloc contract: `p` came from `alloc` with
        // `layout`.
        unsafe { self.free_to_talc(p, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: GlobalAlloc::realloc's contract: `new_size` is non-zero
        // and, rounded up to `layout.align()`, does not overflow isize.
        let new = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // A small block already has its class's size: one that stays in
        // its class stays where it is.
        if class_of(layout).is_some() && class_of(new) == class_of(layout) {
            return ptr;
        }
        // SAFETY: `new` has a non-zero size.
        let to = unsafe { self.alloc(new) };
        if !to.is_null() {
            // SAFETY: both blocks hold at least the smaller size, and a
            // block just allocated does not overlap one still in use.
            unsafe { ptr::copy_nonoverlapping(ptr, to, layout.size().min(new_size)) };
            // SAFETY: forwarded from the caller: `ptr` came from `alloc`
            // with `layout`.
            unsafe { self.dealloc(ptr, layout) };
        }
        to
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
    /// In use: talc's blocks less those free in the per-CPU lists.
    pub used: usize,
    /// `total - used`; includes `cached`.
    pub free: usize,
    /// Free small blocks held in the per-CPU lists.
    pub cached: usize,
    pub bottom: usize,
    pub leaked_in_irq: usize,
}

pub fn stats() -> HeapStats {
    // Read without the lists' owners: a list changing meanwhile makes the
    // figure off by a few blocks for a moment, never unsafe.
    let cached = FRONTS.iter().map(Front::cached).sum();
    let heap = HEAP.0.lock();
    let used = heap.used.saturating_sub(cached);
    HeapStats {
        total: heap.claimed,
        used,
        free: heap.claimed.saturating_sub(used),
        cached,
        bottom: BOTTOM.load(Ordering::Relaxed),
        leaked_in_irq: LEAKED_IN_IRQ.load(Ordering::Relaxed),
    }
}

//! A bump allocator with LevelDB's `Arena` semantics.
//!
//! The memtable allocates millions of small, short-lived-together objects
//! (skiplist nodes and the entries they point to). Handing each to the global
//! allocator costs a lock and bookkeeping per object, and freeing them one by
//! one costs as much again; an arena carves them out of 4 KiB blocks and frees
//! every block at once when the memtable is dropped.
//!
//! ```text
//!   blocks: [ 4 KiB block | 4 KiB block | big block (> 1 KiB request) | ... ]
//!                              ^ alloc_ptr ------> remaining
//! ```
//!
//! Rules, as in LevelDB's `util/arena.cc`:
//! - a request that fits in what is left of the current block is carved from it;
//! - a request over a quarter of a block gets a block of its own, so that the
//!   current block's remainder is not thrown away for it (waste stays below 25%);
//! - otherwise a new 4 KiB block replaces the current one, wasting its remainder;
//! - [`Arena::allocate_aligned`] aligns to `max(size_of::<usize>(), 8)`;
//! - [`Arena::memory_usage`] counts every block plus the bookkeeping for it.
//!
//! # Lifetime contract of returned memory
//! Every allocation returns a [`NonNull<u8>`] to `bytes` bytes that:
//! - stays valid for reads and writes until the [`Arena`] is dropped, and never
//!   moves (blocks are never reallocated, and moving the `Arena` value does not
//!   move its blocks);
//! - is zero-filled when handed out (blocks come from `alloc_zeroed` and no byte
//!   is handed out twice), so it may be read as initialized `u8`s;
//! - is disjoint from every other allocation of the same arena.
//!
//! The arena never hands out references itself: the caller decides how the
//! memory is shared (the skiplist publishes nodes through atomics), and owns the
//! duty not to use a pointer after the arena is dropped.
#![no_std]
#![warn(missing_docs)]

extern crate alloc;

use alloc::alloc::{alloc_zeroed, dealloc, handle_alloc_error, Layout};
use alloc::vec::Vec;
use core::fmt;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicUsize, Ordering};

/// Size of an ordinary block.
pub const BLOCK_SIZE: usize = 4096;

/// Alignment of [`Arena::allocate_aligned`]: pointer size, but at least 8.
pub const ALIGN: usize = if core::mem::size_of::<usize>() > 8 {
    core::mem::size_of::<usize>()
} else {
    8
};

const _: () = assert!(ALIGN.is_power_of_two());

/// Bookkeeping charged to [`Arena::memory_usage`] per block, like LevelDB's
/// `sizeof(char*)` for its `blocks_` vector entry.
const BLOCK_OVERHEAD: usize = core::mem::size_of::<(NonNull<u8>, usize)>();

/// The global allocator refused a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllocError {
    /// Size of the block that could not be had.
    pub block_bytes: usize,
}

impl fmt::Display for AllocError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arena: out of memory for a {}-byte block",
            self.block_bytes
        )
    }
}

/// A LevelDB-style arena. See the module docs for the lifetime contract.
pub struct Arena {
    alloc_ptr: *mut u8,
    alloc_bytes_remaining: usize,
    /// Every block with its size, to rebuild its `Layout` on drop.
    blocks: Vec<(NonNull<u8>, usize)>,
    /// Atomic so that a reader holding `&Arena` (say, another core asking how
    /// big the memtable is) reads it without a lock, as in LevelDB.
    memory_usage: AtomicUsize,
}

// SAFETY: the arena exclusively owns its blocks; the raw pointers are not
// shared with any other owner, so moving the arena to another thread moves that
// ownership along with it.
unsafe impl Send for Arena {}
// SAFETY: the only operation through `&Arena` is reading an atomic counter;
// every mutation of the allocation state needs `&mut Arena`.
unsafe impl Sync for Arena {}

impl Default for Arena {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Arena {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Arena")
            .field("blocks", &self.blocks.len())
            .field("remaining", &self.alloc_bytes_remaining)
            .field("memory_usage", &self.memory_usage())
            .finish()
    }
}

impl Arena {
    /// An empty arena; it takes no memory until the first allocation.
    pub const fn new() -> Self {
        Self {
            alloc_ptr: core::ptr::null_mut(),
            alloc_bytes_remaining: 0,
            blocks: Vec::new(),
            memory_usage: AtomicUsize::new(0),
        }
    }

    /// `bytes` zeroed bytes with no alignment promise, valid until the arena
    /// is dropped. Aborts through `handle_alloc_error` if memory runs out; see
    /// [`Arena::try_allocate`] for the fallible form.
    #[inline]
    pub fn allocate(&mut self, bytes: usize) -> NonNull<u8> {
        match self.try_allocate(bytes) {
            Ok(p) => p,
            Err(e) => handle_alloc_error(block_layout(e.block_bytes)),
        }
    }

    /// Like [`Arena::allocate`], but reports an exhausted heap as an error.
    #[inline]
    pub fn try_allocate(&mut self, bytes: usize) -> Result<NonNull<u8>, AllocError> {
        if bytes == 0 {
            return Ok(NonNull::<u64>::dangling().cast());
        }
        if bytes <= self.alloc_bytes_remaining {
            let result = self.alloc_ptr;
            // SAFETY: `bytes <= remaining`, so `alloc_ptr + bytes` stays within
            // (or one past the end of) the current block.
            self.alloc_ptr = unsafe { self.alloc_ptr.add(bytes) };
            self.alloc_bytes_remaining -= bytes;
            // SAFETY: `remaining > 0` implies `alloc_ptr` points into a live
            // block, so it is not null.
            return Ok(unsafe { NonNull::new_unchecked(result) });
        }
        self.allocate_fallback(bytes)
    }

    /// `bytes` zeroed bytes aligned to [`ALIGN`], valid until the arena is
    /// dropped. Aborts through `handle_alloc_error` if memory runs out.
    #[inline]
    pub fn allocate_aligned(&mut self, bytes: usize) -> NonNull<u8> {
        match self.try_allocate_aligned(bytes) {
            Ok(p) => p,
            Err(e) => handle_alloc_error(block_layout(e.block_bytes)),
        }
    }

    /// Like [`Arena::allocate_aligned`], but reports an exhausted heap as an
    /// error.
    pub fn try_allocate_aligned(&mut self, bytes: usize) -> Result<NonNull<u8>, AllocError> {
        if bytes == 0 {
            return Ok(NonNull::<u64>::dangling().cast());
        }
        let current_mod = self.alloc_ptr as usize & (ALIGN - 1);
        let slop = if current_mod == 0 {
            0
        } else {
            ALIGN - current_mod
        };
        let needed = bytes.saturating_add(slop);
        if needed <= self.alloc_bytes_remaining {
            // SAFETY: `slop + bytes <= remaining`, so both offsets stay within
            // (or one past the end of) the current block.
            let result = unsafe { self.alloc_ptr.add(slop) };
            // SAFETY: as above.
            self.alloc_ptr = unsafe { result.add(bytes) };
            self.alloc_bytes_remaining -= needed;
            // SAFETY: `result` points into a live block, so it is not null.
            return Ok(unsafe { NonNull::new_unchecked(result) });
        }
        // Fresh blocks are allocated with ALIGN alignment, and the fallback
        // either returns a block's start or carves from a fresh block's start.
        self.allocate_fallback(bytes)
    }

    /// Copies `src` into the arena and returns where it now lives.
    pub fn copy_from_slice(&mut self, src: &[u8]) -> NonNull<u8> {
        let dst = self.allocate(src.len());
        // SAFETY: `dst` is a fresh allocation of `src.len()` bytes, disjoint
        // from `src` (which the arena never handed out mutably to the caller
        // while `&mut self` is held here).
        unsafe { core::ptr::copy_nonoverlapping(src.as_ptr(), dst.as_ptr(), src.len()) };
        dst
    }

    /// Bytes of memory held by the arena, counting whole blocks (even the
    /// unused tail of the current one) plus per-block bookkeeping.
    #[inline]
    pub fn memory_usage(&self) -> usize {
        self.memory_usage.load(Ordering::Relaxed)
    }

    /// Number of blocks held, for tests and statistics.
    pub fn block_count(&self) -> usize {
        self.blocks.len()
    }

    #[cold]
    fn allocate_fallback(&mut self, bytes: usize) -> Result<NonNull<u8>, AllocError> {
        if bytes > BLOCK_SIZE / 4 {
            // A block of its own keeps the current block's remainder usable.
            return self.allocate_new_block(bytes);
        }
        // The remainder of the current block is wasted, at most a quarter block
        // per new block, which bounds waste at 25% and in practice far less.
        let block = self.allocate_new_block(BLOCK_SIZE)?;
        // SAFETY: the new block holds BLOCK_SIZE >= bytes bytes.
        self.alloc_ptr = unsafe { block.as_ptr().add(bytes) };
        self.alloc_bytes_remaining = BLOCK_SIZE - bytes;
        Ok(block)
    }

    fn allocate_new_block(&mut self, block_bytes: usize) -> Result<NonNull<u8>, AllocError> {
        let err = AllocError { block_bytes };
        let layout = Layout::from_size_align(block_bytes, ALIGN).map_err(|_| err)?;
        self.blocks.try_reserve(1).map_err(|_| err)?;
        // SAFETY: `layout` has a non-zero size (callers pass bytes > 0).
        let raw = unsafe { alloc_zeroed(layout) };
        let block = NonNull::new(raw).ok_or(err)?;
        self.blocks.push((block, block_bytes));
        self.memory_usage
            .fetch_add(block_bytes + BLOCK_OVERHEAD, Ordering::Relaxed);
        Ok(block)
    }
}

fn block_layout(bytes: usize) -> Layout {
    Layout::from_size_align(bytes.max(1), ALIGN).unwrap_or(Layout::new::<u64>())
}

impl Drop for Arena {
    fn drop(&mut self) {
        for &(block, size) in &self.blocks {
            // SAFETY: every block was allocated by `allocate_new_block` with
            // exactly this size and ALIGN, and is freed only here, once.
            unsafe {
                dealloc(
                    block.as_ptr(),
                    Layout::from_size_align_unchecked(size, ALIGN),
                )
            };
        }
    }
}

#[cfg(test)]
mod tests;

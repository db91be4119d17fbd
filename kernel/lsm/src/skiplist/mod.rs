//! LevelDB's skiplist, with its nodes in an [`arena::Arena`].
//!
//! One writer at a time inserts (a writer flag serializes them; the store's
//! write path is serial anyway, so it is never contended), while any number of
//! readers search and iterate without locks, as in LevelDB: a node is fully
//! written before a release store links it in, and readers follow links with
//! acquire loads, so a reader sees either the list without the node or the
//! whole node. Nothing is ever removed; the arena frees every node at once
//! when the list is dropped.
//!
//! A node is one arena allocation:
//!
//! ```text
//!   abbrev [u64; 2] | key_len << 4 | height (u32) | value_len u32 | next[height] | key | value
//! ```
//!
//! `abbrev` is the comparator's abbreviation of the key: a search compares
//! it with the target's first, an integer comparison beside the links it
//! follows, and reads the key only on a tie (with 16-byte user keys, only
//! for an equal user key). The key's place follows from the height, so
//! the abbreviation costs a node 8 bytes, not 16 (fewer bytes per node,
//! fewer memtable flushes).

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::cmp::Ordering;
use core::ops::Deref;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering as Mo};

use arena::Arena;

use crate::comparator::Comparator;
use crate::error::{Error, Result};
use crate::iter::KvIter;

mod splice;
use splice::Splice;

/// Tallest tower; with branching 4 it suits lists of up to 4^12 = 16M nodes.
pub const MAX_HEIGHT: usize = 12;
const BRANCHING: u32 = 4;

#[repr(C)]
struct Node {
    /// `Comparator::abbreviate` of the key, high half first.
    abbrev: [u64; 2],
    /// The key's length shifted left by 4, or'ed with the node's height.
    key_len_height: u32,
    value_len: u32,
    // Followed by `height` AtomicPtr<Node>, then the key and value bytes.
}

const NODE_HEADER: usize = core::mem::size_of::<Node>();
/// Keys must be shorter than this, for their length to fit beside the height.
const MAX_KEY_LEN: usize = 1 << 28;
const _: () = assert!(MAX_HEIGHT < 16);
const _: () = assert!(NODE_HEADER.is_multiple_of(core::mem::align_of::<AtomicPtr<Node>>()));
const _: () = assert!(arena::ALIGN >= core::mem::align_of::<Node>());

/// The `i`th link of `node`.
///
/// # Safety
/// `node` points to a live node whose height is more than `i`, and the
/// returned reference is not used after its arena is dropped.
#[inline]
unsafe fn link<'a>(node: *const Node, i: usize) -> &'a AtomicPtr<Node> {
    // SAFETY: per the function's contract, the node's allocation holds
    // `height > i` links right after the header, aligned (asserted above) and
    // initialized (zeroed arena memory is a valid null AtomicPtr).
    unsafe {
        &*node
            .cast::<u8>()
            .add(NODE_HEADER)
            .cast::<AtomicPtr<Node>>()
            .add(i)
    }
}

/// A sorted set of key/value entries, keys unique under `C`.
pub struct SkipList<C: Comparator> {
    cmp: C,
    head: *const Node,
    max_height: AtomicUsize,
    len: AtomicUsize,
    memory_usage: AtomicUsize,
    writer: AtomicBool,
    /// Touched only by the writer holding `writer`.
    arena: UnsafeCell<Arena>,
    /// Touched only by the writer holding `writer`.
    rng: UnsafeCell<u32>,
    /// The last node at each level (`head` where there is none), so that a
    /// key past every other (a sequential fill's) is linked in without a
    /// search, as RocksDB's insert hint does. Touched only by the writer
    /// holding `writer`.
    tail: UnsafeCell<[*const Node; MAX_HEIGHT]>,
    /// Where the last insert went, for an insert right before it (a
    /// rewritten key's). Touched only by the writer holding `writer`.
    splice: UnsafeCell<Splice>,
    /// The last node inserted under each hint slot (null where none), for
    /// [`SkipList::last_inserted`]; empty unless made
    /// [`with_hints`](SkipList::with_hints). Written by the writer holding
    /// `writer`, after the node is linked in (release), read with acquire.
    hints: Box<[AtomicPtr<Node>]>,
}

// SAFETY: the list owns its arena and every node in it; nothing is shared with
// another owner, so it may move between threads when `C` may.
unsafe impl<C: Comparator + Send> Send for SkipList<C> {}
// SAFETY: through `&SkipList`, the arena and the PRNG are touched only by the
// single writer that holds the `writer` flag; readers only follow links and
// hint slots with acquire loads and read node bytes that were written before
// the release store that published them, and never written again.
unsafe impl<C: Comparator + Sync> Sync for SkipList<C> {}

struct WriterGuard<'a>(&'a AtomicBool);

impl Drop for WriterGuard<'_> {
    fn drop(&mut self) {
        self.0.store(false, Mo::Release);
    }
}

impl<C: Comparator> SkipList<C> {
    /// An empty list ordered by `cmp`.
    pub fn new(cmp: C) -> Self {
        let mut arena = Arena::new();
        let head = Self::alloc_node(&mut arena, MAX_HEIGHT, b"", b"", 0);
        let usage = arena.memory_usage();
        Self {
            cmp,
            head,
            max_height: AtomicUsize::new(1),
            len: AtomicUsize::new(0),
            memory_usage: AtomicUsize::new(usage),
            writer: AtomicBool::new(false),
            arena: UnsafeCell::new(arena),
            rng: UnsafeCell::new(0xdead_beef),
            tail: UnsafeCell::new([head; MAX_HEIGHT]),
            splice: UnsafeCell::new(Splice::new(head)),
            hints: Box::new([]),
        }
    }

    /// An empty list that also remembers, in `slots` (a power of two) hint
    /// slots, the last entry inserted under each (see
    /// [`insert_hinted`](Self::insert_hinted)).
    pub fn with_hints(cmp: C, slots: usize) -> Self {
        let slots = slots.next_power_of_two();
        Self {
            hints: (0..slots)
                .map(|_| AtomicPtr::new(ptr::null_mut()))
                .collect::<Vec<_>>()
                .into_boxed_slice(),
            ..Self::new(cmp)
        }
    }

    /// The key and value of the last entry inserted with a hint that shares
    /// `hint`'s slot, if any (always `None` for a list without hints).
    #[inline]
    pub fn last_inserted(&self, hint: u32) -> Option<(&[u8], &[u8])> {
        let node = self.hint_slot(hint)?.load(Mo::Acquire);
        (!node.is_null()).then(|| (self.key_of(node), self.value_of(node)))
    }

    fn alloc_node(
        arena: &mut Arena,
        height: usize,
        key: &[u8],
        value: &[u8],
        abbrev: u128,
    ) -> *const Node {
        let links = height * core::mem::size_of::<AtomicPtr<Node>>();
        let size = NODE_HEADER + links + key.len() + value.len();
        let p = arena.allocate_aligned(size).as_ptr();
        // SAFETY: `p` is a fresh, ALIGN-aligned, zeroed allocation of `size`
        // bytes that nothing else references; the header, the links (left
        // zero, i.e. null) and the bytes all fit in it.
        unsafe {
            let data = p.add(NODE_HEADER + links);
            crate::coding::copy_to(data, key);
            crate::coding::copy_to(data.add(key.len()), value);
            ptr::write(
                p.cast::<Node>(),
                Node {
                    abbrev: [(abbrev >> 64) as u64, abbrev as u64],
                    key_len_height: ((key.len() as u32) << 4) | height as u32,
                    value_len: value.len() as u32,
                },
            );
        }
        p.cast::<Node>()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len.load(Mo::Relaxed)
    }

    /// Whether the list has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of memory the list holds (its arena's usage).
    pub fn memory_usage(&self) -> usize {
        self.memory_usage.load(Mo::Relaxed)
    }

    /// `node`'s key and value bytes, one after the other.
    fn entry_of(&self, node: *const Node) -> (*const u8, usize, usize) {
        // SAFETY: `node` is a published node of this list: its header and
        // bytes were written before publication, are never written again, and
        // live as long as the arena, that is as long as `self`; its bytes
        // follow its `height` links.
        unsafe {
            let n = &*node;
            let height = (n.key_len_height & 15) as usize;
            let data = node
                .cast::<u8>()
                .add(NODE_HEADER + height * core::mem::size_of::<AtomicPtr<Node>>());
            (data, (n.key_len_height >> 4) as usize, n.value_len as usize)
        }
    }

    fn key_of(&self, node: *const Node) -> &[u8] {
        let (data, key_len, _) = self.entry_of(node);
        // SAFETY: as in `entry_of`.
        unsafe { core::slice::from_raw_parts(data, key_len) }
    }

    fn value_of(&self, node: *const Node) -> &[u8] {
        let (data, key_len, value_len) = self.entry_of(node);
        // SAFETY: as in `entry_of`; the value follows the key.
        unsafe { core::slice::from_raw_parts(data.add(key_len), value_len) }
    }

    /// `node`'s abbreviation.
    #[inline]
    fn abbrev_of(&self, node: *const Node) -> u128 {
        // SAFETY: as in `entry_of`.
        let [hi, lo] = unsafe { (*node).abbrev };
        (u128::from(hi) << 64) | u128::from(lo)
    }

    /// `node`'s number of links (for the tests' checks of every level).
    #[cfg(test)]
    fn height_of(&self, node: *const Node) -> usize {
        // SAFETY: as in `entry_of`.
        unsafe { ((*node).key_len_height & 15) as usize }
    }

    /// Whether `node`'s key sorts before `key`, whose abbreviation is
    /// `abbrev`. A yes/no, not an `Ordering`: the search needs no more, and
    /// a three-way comparison of the abbreviations costs twice the
    /// instructions of a `<`.
    #[inline]
    fn node_before(&self, node: *const Node, key: &[u8], abbrev: u128) -> bool {
        let a = self.abbrev_of(node);
        if a != abbrev {
            return a < abbrev;
        }
        self.cmp.compare_tied(self.key_of(node), key) == Ordering::Less
    }

    fn next(&self, node: *const Node, level: usize) -> *const Node {
        // SAFETY: every node reached from `head` at `level` has a height above
        // `level` (it was linked in at that level only if it is that tall).
        unsafe { link(node, level).load(Mo::Acquire) }
    }

    /// The first node with a key `>= key`, or null; fills `prev` with the
    /// last node before it at every level when asked.
    fn find_greater_or_equal(
        &self,
        key: &[u8],
        prev: Option<&mut [*const Node; MAX_HEIGHT]>,
    ) -> *const Node {
        self.find_abbreviated(key, self.cmp.abbreviate(key), prev)
    }

    /// [`find_greater_or_equal`](Self::find_greater_or_equal), given the
    /// key's abbreviation.
    fn find_abbreviated(
        &self,
        key: &[u8],
        abbrev: u128,
        mut prev: Option<&mut [*const Node; MAX_HEIGHT]>,
    ) -> *const Node {
        let mut x = self.head;
        let mut level = self.max_height.load(Mo::Relaxed) - 1;
        loop {
            let next = self.next(x, level);
            if !next.is_null() && self.node_before(next, key, abbrev) {
                x = next;
                continue;
            }
            if let Some(p) = prev.as_deref_mut() {
                p[level] = x;
            }
            if level == 0 {
                return next;
            }
            level -= 1;
        }
    }

    /// `hint`'s slot (`None` in a list without hints).
    #[inline]
    fn hint_slot(&self, hint: u32) -> Option<&AtomicPtr<Node>> {
        self.hints
            .get(hint as usize & self.hints.len().wrapping_sub(1))
    }

    fn random_height(rng: &mut u32) -> usize {
        let mut height = 1;
        while height < MAX_HEIGHT {
            // xorshift32: the writer's own stream, deterministic per list.
            *rng ^= *rng << 13;
            *rng ^= *rng >> 17;
            *rng ^= *rng << 5;
            if !(*rng).is_multiple_of(BRANCHING) {
                break;
            }
            height += 1;
        }
        height
    }

    fn lock_writer(&self) -> WriterGuard<'_> {
        while self
            .writer
            .compare_exchange_weak(false, true, Mo::Acquire, Mo::Relaxed)
            .is_err()
        {
            core::hint::spin_loop();
        }
        WriterGuard(&self.writer)
    }

    /// Inserts an entry. A key already present is refused (the memtable's
    /// keys carry unique sequence numbers, so this means a caller bug).
    pub fn insert(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.insert_with(key, value, || {})
    }

    /// [`insert`](Self::insert), calling `before` once the list is the
    /// caller's alone to write and before the entry is linked in: what
    /// `before` stores is then written by one writer at a time, and seen by
    /// any reader that finds the entry.
    pub fn insert_with(&self, key: &[u8], value: &[u8], before: impl FnOnce()) -> Result<()> {
        self.insert_inner(key, value, None, before)
    }

    /// [`insert_with`](Self::insert_with), then remembers the entry as the
    /// last inserted under `hint`'s slot.
    pub fn insert_hinted(
        &self,
        key: &[u8],
        value: &[u8],
        hint: u32,
        before: impl FnOnce(),
    ) -> Result<()> {
        self.insert_inner(key, value, Some(hint), before)
    }

    fn insert_inner(
        &self,
        key: &[u8],
        value: &[u8],
        hint: Option<u32>,
        before: impl FnOnce(),
    ) -> Result<()> {
        if key.len() >= MAX_KEY_LEN || u32::try_from(value.len()).is_err() {
            return Err(Error::InvalidArgument(
                "key of 256 MiB or more, or value of 4 GiB or more",
            ));
        }
        let _guard = self.lock_writer();
        // SAFETY: the writer flag is held, so this is the only access to the
        // PRNG, the arena, the tails and the splice until the guard drops.
        let (rng, arena, tail, splice) = unsafe {
            (
                &mut *self.rng.get(),
                &mut *self.arena.get(),
                &mut *self.tail.get(),
                &mut *self.splice.get(),
            )
        };
        before();
        let abbrev = self.cmp.abbreviate(key);
        let last = tail[0];
        if last != self.head && self.node_before(last, key, abbrev) {
            // Past the last node: the tails are the nodes before it.
            splice.prev = *tail;
        } else if !self.splice_fits(splice, key, abbrev) {
            let x = self.find_abbreviated(key, abbrev, Some(&mut splice.prev));
            if !x.is_null() && self.cmp.compare(self.key_of(x), key) == Ordering::Equal {
                splice.node = ptr::null();
                return Err(Error::InvalidArgument("duplicate key in skiplist"));
            }
        }
        let prev = &splice.prev;
        let height = Self::random_height(rng);
        let max = self.max_height.load(Mo::Relaxed);
        if height > max {
            // `prev` holds `head` at the new levels. Readers that see
            // the new height before the node find null links from `head`
            // there, which is correct.
            self.max_height.store(height, Mo::Relaxed);
        }
        let node = Self::alloc_node(arena, height, key, value, abbrev);
        for (i, &p) in prev.iter().enumerate().take(height) {
            let next = self.next(p, i);
            if next.is_null() {
                tail[i] = node;
            }
            // SAFETY: `node` has `height` links; `p` is `head` or a node found
            // at level `i`, so it has a link `i`.
            unsafe {
                link(node, i).store(next.cast_mut(), Mo::Relaxed);
                // Release: the node's bytes and links are visible to any
                // reader that acquires this link.
                link(p, i).store(node.cast_mut(), Mo::Release);
            }
        }
        splice.node = node;
        if let Some(slot) = hint.and_then(|h| self.hint_slot(h)) {
            // Release: a reader that acquires the slot finds the whole node,
            // linked in (a published node, live as long as the list).
            slot.store(node.cast_mut(), Mo::Release);
        }
        self.len.fetch_add(1, Mo::Relaxed);
        self.memory_usage.store(arena.memory_usage(), Mo::Relaxed);
        Ok(())
    }

    /// Whether an entry with a key equal to `key` is present.
    pub fn contains(&self, key: &[u8]) -> bool {
        let x = self.find_greater_or_equal(key, None);
        !x.is_null() && self.cmp.compare(self.key_of(x), key) == Ordering::Equal
    }

    /// A cursor borrowing the list.
    pub fn iter(&self) -> SkipIter<C, &Self> {
        SkipIter::new(self)
    }
}

/// A cursor over a [`SkipList`], which `L` keeps alive: `&SkipList` to
/// borrow, or `Arc<SkipList>` (or anything that derefs to it) to own a share.
pub struct SkipIter<C: Comparator, L: Deref<Target = SkipList<C>>> {
    list: L,
    node: *const Node,
}

// SAFETY: the cursor only reads published, immutable nodes of the list that
// `L` keeps alive; it is as sendable as `L` itself.
unsafe impl<C: Comparator, L: Deref<Target = SkipList<C>> + Send> Send for SkipIter<C, L> {}

impl<C: Comparator, L: Deref<Target = SkipList<C>>> SkipIter<C, L> {
    /// A cursor over `list`, not yet positioned.
    pub fn new(list: L) -> Self {
        Self {
            list,
            node: ptr::null(),
        }
    }
}

impl<'a, C: Comparator> SkipIter<C, &'a SkipList<C>> {
    /// The current key and value (empty when not valid), borrowed from the
    /// list rather than the cursor: they stay readable as the cursor moves
    /// on, so a walk can keep the previous key without copying it.
    pub fn entry(&self) -> (&'a [u8], &'a [u8]) {
        if self.node.is_null() {
            return (&[], &[]);
        }
        let list: &'a SkipList<C> = self.list;
        (list.key_of(self.node), list.value_of(self.node))
    }
}

impl<C: Comparator, L: Deref<Target = SkipList<C>>> KvIter for SkipIter<C, L> {
    fn valid(&self) -> bool {
        !self.node.is_null()
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.node = self.list.next(self.list.head, 0);
        Ok(())
    }

    fn seek(&mut self, target: &[u8]) -> Result<()> {
        self.node = self.list.find_greater_or_equal(target, None);
        Ok(())
    }

    fn next(&mut self) -> Result<()> {
        if !self.node.is_null() {
            self.node = self.list.next(self.node, 0);
        }
        Ok(())
    }

    fn key(&self) -> &[u8] {
        if self.node.is_null() {
            return &[];
        }
        self.list.key_of(self.node)
    }

    fn value(&self) -> &[u8] {
        if self.node.is_null() {
            return &[];
        }
        self.list.value_of(self.node)
    }
}

#[cfg(test)]
mod tests;

//! Per-core slots: state that readers on several cores would otherwise
//! share, kept once per core so that each core writes only its own cache
//! lines.
//!
//! A lookup that takes a lock or bumps a reference count writes the cache
//! line holding it; when two cores do that on every lookup, the line moves
//! between them each time. Under QEMU on this project's 2-core host,
//! taking a dozen such writes out of a lookup moved `BENCH readrandom
//! threads=2` by no more than the noise (about 1.46x one thread before and
//! after): the read cache's hit path, which still writes shared lines, is
//! what holds it back; the store's own path no longer does. The owner says
//! which core a caller runs on with a [`CoreIndex`] (the kernel's is
//! TPIDR_EL1); the default, [`CoreIndex::Shared`], puts every caller in
//! slot 0, which is correct (each slot has its own lock) but shares the
//! line again.

use core::cell::UnsafeCell;
use core::hint::spin_loop;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Slots kept: the kernel's cores (QEMU virt's `-smp` up to 8). Callers with
/// a higher index share slots (`index % SLOTS`), which stays correct.
pub const SLOTS: usize = 8;

/// How a caller learns which core it runs on; any `usize` (taken modulo
/// [`SLOTS`]).
#[derive(Clone, Copy, Debug)]
pub enum CoreIndex {
    /// One slot for everybody (the default): correct, each slot has its
    /// own lock, but every core writes the same line again.
    Shared,
    /// TPIDR_EL1 holds it, as this project's kernel keeps it from before
    /// its Rust code runs: read in place where a slot is picked, not
    /// asked of a function (under QEMU's TCG a call through a pointer and
    /// its return are two lookups of their targets, and a point read
    /// picks slots three times).
    #[cfg(all(target_arch = "aarch64", target_os = "none"))]
    Tpidr,
    /// Asked of a function (tests give each thread its own index).
    Fn(fn() -> usize),
}

impl CoreIndex {
    /// The caller's core.
    #[inline(always)]
    pub fn get(self) -> usize {
        match self {
            CoreIndex::Shared => 0,
            #[cfg(all(target_arch = "aarch64", target_os = "none"))]
            CoreIndex::Tpidr => {
                use aarch64_cpu::registers::{Readable, TPIDR_EL1};
                TPIDR_EL1.get() as usize
            }
            CoreIndex::Fn(f) => f(),
        }
    }
}

/// `T` alone in its cache lines (128 bytes: two lines of the Cortex-A57,
/// one pair of the host's, whose prefetcher fetches lines in pairs).
#[repr(align(128))]
#[derive(Debug, Default)]
pub struct Padded<T>(pub T);

impl<T> Deref for Padded<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Padded<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

/// One `T` per core, each behind its own lock, which only its core takes
/// (so it is never contended) except for a rare sweep over all of them.
pub struct PerCore<T> {
    slots: [Padded<spin::Mutex<T>>; SLOTS],
    core: CoreIndex,
}

impl<T: Default> PerCore<T> {
    /// Default slots, indexed by `core`.
    pub fn new(core: CoreIndex) -> Self {
        Self {
            slots: core::array::from_fn(|_| Padded(spin::Mutex::new(T::default()))),
            core,
        }
    }
}

impl<T> PerCore<T> {
    /// The caller's slot, or `None` if it is taken: by the caller itself
    /// further up its stack (a nested use), by a sweep, or by another
    /// context that shares the index. Callers then do without it.
    #[inline]
    pub fn try_mine(&self) -> Option<spin::MutexGuard<'_, T>> {
        self.slots[self.core.get() % SLOTS].try_lock()
    }

    /// Runs `f` on every slot that is free now (none is waited for, so
    /// a caller holding its own slot cannot deadlock).
    pub fn each_free(&self, mut f: impl FnMut(&mut T)) {
        for s in &self.slots {
            if let Some(mut g) = s.try_lock() {
                f(&mut g);
            }
        }
    }
}

/// A reader-writer lock for data read on every operation and written
/// seldom (the store behind its sessions): a reader counts itself in its
/// own core's counter and checks the writer's flag, which it only reads,
/// so readers on different cores write no common line (the big-reader lock
/// of Linux's past). A writer raises the flag, then waits until every
/// core's count is zero; readers that see the flag step back and wait, so
/// a writer is not starved by a stream of readers. Nor are readers starved
/// by a writer that locks again at once (a benchmark's loop of writes): a
/// reader that stepped back says so, and the next writer lets it in first.
///
/// A core must not take `read` again while it holds it (a writer waiting
/// in between would wait for it, and it for the writer), nor `write`
/// while it reads. Callers with a shared index (see [`CoreIndex::Shared`]) are still
/// excluded correctly, only not apart.
pub struct ReadMostly<T> {
    writer: Padded<AtomicBool>,
    /// Readers that stepped back for a writer and wait for their turn.
    waiting: Padded<AtomicUsize>,
    readers: [Padded<AtomicUsize>; SLOTS],
    core: CoreIndex,
    value: UnsafeCell<T>,
}

// SAFETY: the lock hands out `&T` to several readers at once (so `T: Sync`)
// and `&mut T` to one writer on any core (so `T: Send`), as `RwLock` does.
unsafe impl<T: Send + Sync> Sync for ReadMostly<T> {}
// SAFETY: moving the lock moves the `T` it owns.
unsafe impl<T: Send> Send for ReadMostly<T> {}

impl<T> ReadMostly<T> {
    /// `value`, unlocked, with readers counted per `core`.
    pub const fn new(value: T, core: CoreIndex) -> Self {
        Self {
            writer: Padded(AtomicBool::new(false)),
            waiting: Padded(AtomicUsize::new(0)),
            readers: [const { Padded(AtomicUsize::new(0)) }; SLOTS],
            core,
            value: UnsafeCell::new(value),
        }
    }

    /// Shared access, beside other readers.
    #[inline]
    pub fn read(&self) -> ReadGuard<'_, T> {
        let count = &self.readers[self.core.get() % SLOTS].0;
        loop {
            // Sequentially consistent, with the writer's flag and its
            // scan of the counts: either the writer sees this count or this
            // reader sees its flag (Dekker's handshake).
            count.fetch_add(1, Ordering::SeqCst);
            if !self.writer.load(Ordering::SeqCst) {
                return ReadGuard { lock: self, count };
            }
            count.fetch_sub(1, Ordering::Release);
            self.waiting.fetch_add(1, Ordering::SeqCst);
            while self.writer.load(Ordering::Relaxed) {
                spin_loop();
            }
            count.fetch_add(1, Ordering::SeqCst);
            let entered = !self.writer.load(Ordering::SeqCst);
            self.waiting.fetch_sub(1, Ordering::Release);
            if entered {
                return ReadGuard { lock: self, count };
            }
            count.fetch_sub(1, Ordering::Release);
        }
    }

    /// Exclusive access: waits for the other writer, then for every reader
    /// to leave.
    pub fn write(&self) -> WriteGuard<'_, T> {
        // Readers that stepped back for the last writer go first; new ones
        // arriving meanwhile do not count, so this wait ends.
        while self.waiting.load(Ordering::Acquire) != 0 {
            spin_loop();
        }
        while self
            .writer
            .compare_exchange_weak(false, true, Ordering::SeqCst, Ordering::Relaxed)
            .is_err()
        {
            spin_loop();
        }
        self.wait_for_readers()
    }

    /// Exclusive access if no other writer has it or waits for it: for
    /// upkeep that a busy lock's holder will see to (it still waits for
    /// readers to leave, as they do soon).
    pub fn try_write(&self) -> Option<WriteGuard<'_, T>> {
        if self.waiting.load(Ordering::Acquire) != 0
            || self
                .writer
                .compare_exchange(false, true, Ordering::SeqCst, Ordering::Relaxed)
                .is_err()
        {
            return None;
        }
        Some(self.wait_for_readers())
    }

    /// With the writer's flag raised: waits until no reader is in.
    fn wait_for_readers(&self) -> WriteGuard<'_, T> {
        for r in &self.readers {
            while r.load(Ordering::SeqCst) != 0 {
                spin_loop();
            }
        }
        WriteGuard { lock: self }
    }
}

/// What [`ReadMostly::read`] gives.
pub struct ReadGuard<'a, T> {
    lock: &'a ReadMostly<T>,
    count: &'a AtomicUsize,
}

impl<T> Deref for ReadGuard<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: this reader is counted and the writer's flag was down
        // after that, so no writer has `&mut T` until the count drops.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> Drop for ReadGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.count.fetch_sub(1, Ordering::Release);
    }
}

/// What [`ReadMostly::write`] gives.
pub struct WriteGuard<'a, T> {
    lock: &'a ReadMostly<T>,
}

impl<T> Deref for WriteGuard<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the flag is ours and every count was zero after it rose:
        // no other reference exists.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for WriteGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes it the only one.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for WriteGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.writer.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn try_write_gives_way_to_a_writer_and_not_to_none() {
        let l = ReadMostly::new(0u32, CoreIndex::Shared);
        let w = l.write();
        assert!(l.try_write().is_none());
        drop(w);
        *l.try_write().unwrap() += 1;
        assert_eq!(*l.read(), 1);
    }

    #[test]
    fn a_nested_use_finds_its_slot_taken_and_others_are_apart() {
        let p: PerCore<u32> = PerCore::new(CoreIndex::Shared);
        let mut a = p.try_mine().unwrap();
        *a += 1;
        assert!(p.try_mine().is_none());
        drop(a);
        assert_eq!(*p.try_mine().unwrap(), 1);
        let mut n = 0;
        p.each_free(|v| n += *v);
        assert_eq!(n, 1);
        assert!(core::mem::align_of::<Padded<u8>>() >= 128);
    }

    extern crate std;
    use std::sync::Arc;
    use std::thread;

    std::thread_local! {
        static INDEX: core::cell::Cell<usize> = const { core::cell::Cell::new(0) };
    }

    fn thread_core() -> usize {
        INDEX.with(|i| i.get())
    }

    /// Writers move units between two halves while readers check the sum:
    /// a reader that ever saw a writer's half-done change would see it off.
    fn readers_never_see_a_half_done_write(core: CoreIndex, per_thread: bool) {
        let lock = Arc::new(ReadMostly::new((100_000u64, 0u64), core));
        let mut threads = std::vec::Vec::new();
        for t in 0..6 {
            let lock = lock.clone();
            threads.push(thread::spawn(move || {
                if per_thread {
                    INDEX.with(|i| i.set(t));
                }
                for n in 0..20_000u64 {
                    if t < 2 && n % 4 == 0 {
                        let mut w = lock.write();
                        w.0 -= 1;
                        core::hint::spin_loop();
                        w.1 += 1;
                    } else {
                        let r = lock.read();
                        assert_eq!(r.0 + r.1, 100_000);
                    }
                }
            }));
        }
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*lock.read(), (100_000 - 10_000, 10_000));
    }

    #[test]
    fn readers_and_writers_on_their_own_slots() {
        readers_never_see_a_half_done_write(CoreIndex::Fn(thread_core), true);
    }

    #[test]
    fn readers_and_writers_sharing_one_slot() {
        readers_never_see_a_half_done_write(CoreIndex::Shared, false);
    }

    /// A writer that locks again as soon as it unlocks (a benchmark's
    /// loop of writes) still lets a reader in, again and again.
    #[test]
    fn a_writer_in_a_loop_does_not_starve_readers() {
        use std::sync::atomic::AtomicBool;
        let lock = Arc::new(ReadMostly::new(0u64, CoreIndex::Fn(thread_core)));
        let done = Arc::new(AtomicBool::new(false));
        let writer = {
            let (lock, done) = (lock.clone(), done.clone());
            thread::spawn(move || {
                INDEX.with(|i| i.set(1));
                let start = std::time::Instant::now();
                while !done.load(Ordering::Relaxed) {
                    *lock.write() += 1;
                    assert!(start.elapsed().as_secs() < 20, "the reader starved");
                }
            })
        };
        for _ in 0..2000 {
            let _ = *lock.read();
        }
        done.store(true, Ordering::Relaxed);
        writer.join().unwrap();
    }
}

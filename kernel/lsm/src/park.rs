//! [`ParkLock`]: a spin lock whose waiters sleep, for locks held across a
//! device request (hundreds of microseconds), through hooks the embedder
//! gives ([`Parking`]); without them it spins like any spin lock.
//!
//! Under an emulator a waiter that spins keeps a host CPU from the others,
//! among them the emulator's own I/O thread, which the holder (and so the
//! waiter) waits for; a waiter that sleeps gives it back. On a host with
//! two CPUs the store's writer, spinning for the disk while the background
//! core's table write was in flight, ran slower than if it had slept.

use core::ops::{Deref, DerefMut};
use core::sync::atomic::{fence, AtomicUsize, Ordering};

use crate::percore::CoreIndex;

/// How a waiter sleeps and how it is woken, from the embedder (the kernel:
/// `wfi` with interrupts masked around the look, and an SGI to each core).
#[derive(Clone, Copy)]
pub struct Parking {
    /// The caller's core, below `usize::BITS` (others share bits: a wake-up
    /// then reaches a core that did not ask, which looks again).
    pub core: CoreIndex,
    /// Sleeps while `still()` holds: looks once more where a wake-up can
    /// no longer be missed (interrupts masked), then waits for one. It may
    /// return early; the caller looks again.
    pub park: Option<fn(still: &dyn Fn() -> bool)>,
    /// Wakes the cores whose bits `cores` has.
    pub unpark: Option<fn(cores: usize)>,
}

impl Parking {
    /// No hooks: waiters spin.
    pub const SPIN: Parking = Parking {
        core: CoreIndex::Shared,
        park: None,
        unpark: None,
    };
}

impl Default for Parking {
    fn default() -> Self {
        Self::SPIN
    }
}

/// A spin lock whose waiters sleep when [`Parking`] says how.
pub struct ParkLock<T> {
    inner: spin::Mutex<T>,
    /// The bits of the cores asleep waiting for it.
    sleepers: AtomicUsize,
    parking: Parking,
}

/// What [`ParkLock::lock`] gives; letting it go wakes the sleepers.
pub struct ParkGuard<'a, T> {
    guard: Option<spin::MutexGuard<'a, T>>,
    lock: &'a ParkLock<T>,
}

impl<T> ParkLock<T> {
    /// `value`, unlocked; its waiters wait as `parking` says.
    pub fn new(value: T, parking: Parking) -> Self {
        Self {
            inner: spin::Mutex::new(value),
            sleepers: AtomicUsize::new(0),
            parking,
        }
    }

    /// The lock: at once if free, else asleep until its holder lets go
    /// (or spinning, without the hooks).
    pub fn lock(&self) -> ParkGuard<'_, T> {
        let guard = match self.inner.try_lock() {
            Some(g) => g,
            None => self.wait(),
        };
        ParkGuard {
            guard: Some(guard),
            lock: self,
        }
    }

    #[cold]
    fn wait(&self) -> spin::MutexGuard<'_, T> {
        let (Some(park), Some(_)) = (self.parking.park, self.parking.unpark) else {
            return self.inner.lock();
        };
        let me = 1usize << (self.parking.core.get() % usize::BITS as usize);
        loop {
            self.sleepers.fetch_or(me, Ordering::SeqCst);
            // With the holder's unlock and look at `sleepers` (fenced the
            // same way): one of the two sees the other, so either this
            // look finds it free or the holder wakes this core.
            fence(Ordering::SeqCst);
            park(&|| self.inner.is_locked());
            self.sleepers.fetch_and(!me, Ordering::SeqCst);
            if let Some(g) = self.inner.try_lock() {
                return g;
            }
        }
    }
}

impl<T> Drop for ParkGuard<'_, T> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let lock = self.lock;
        if let Some(unpark) = lock.parking.unpark {
            fence(Ordering::SeqCst);
            let sleepers = lock.sleepers.load(Ordering::SeqCst);
            if sleepers != 0 {
                unpark(sleepers);
            }
        }
    }
}

impl<T> Deref for ParkGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // Some until the drop.
        self.guard.as_deref().expect("held")
    }
}

impl<T> DerefMut for ParkGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.guard.as_deref_mut().expect("held")
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use alloc::sync::Arc;
    use alloc::vec::Vec;
    use core::sync::atomic::AtomicU64;
    use std::thread;

    static PARKS: AtomicU64 = AtomicU64::new(0);
    static UNPARKS: AtomicU64 = AtomicU64::new(0);

    /// A thread's "sleep": yields while the lock is held.
    fn park(still: &dyn Fn() -> bool) {
        PARKS.fetch_add(1, Ordering::Relaxed);
        while still() {
            thread::yield_now();
        }
    }

    fn unpark(cores: usize) {
        assert_ne!(cores, 0);
        UNPARKS.fetch_add(1, Ordering::Relaxed);
    }

    fn thread_core() -> usize {
        std::thread_local!(static ID: usize = {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            NEXT.fetch_add(1, Ordering::Relaxed)
        });
        ID.with(|id| *id)
    }

    fn excludes(parking: Parking) {
        let lock = Arc::new(ParkLock::new((0u64, 0u64), parking));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let lock = Arc::clone(&lock);
                thread::spawn(move || {
                    for _ in 0..2000 {
                        let mut g = lock.lock();
                        // Two fields changed apart: another holder at the
                        // same time would see them differ.
                        g.0 += 1;
                        thread::yield_now();
                        assert_eq!(g.0, g.1 + 1);
                        g.1 += 1;
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*lock.lock(), (8000, 8000));
    }

    #[test]
    fn waiters_that_spin_or_park_all_get_it_one_at_a_time() {
        excludes(Parking::SPIN);
        excludes(Parking {
            core: CoreIndex::Fn(thread_core),
            park: Some(park),
            unpark: Some(unpark),
        });
        // Holders let go while others slept, and woke them.
        assert!(PARKS.load(Ordering::Relaxed) > 0);
        assert!(UNPARKS.load(Ordering::Relaxed) > 0);
    }
}

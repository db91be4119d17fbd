//! Time, as the store sees it: only through [`Clock`], so that the kernel
//! supplies its generic timer and host tests a clock they move by hand.

use core::sync::atomic::{AtomicU64, Ordering};

/// A monotonic source of time.
pub trait Clock {
    /// Microseconds since an arbitrary origin; never decreases.
    fn now_micros(&self) -> u64;
}

/// A clock that moves only when told to, for tests.
#[derive(Debug, Default)]
pub struct ManualClock {
    micros: AtomicU64,
}

impl ManualClock {
    /// A clock reading `micros`.
    pub const fn new(micros: u64) -> Self {
        Self {
            micros: AtomicU64::new(micros),
        }
    }

    /// Moves the clock forward by `micros`.
    pub fn advance(&self, micros: u64) {
        self.micros.fetch_add(micros, Ordering::Relaxed);
    }
}

impl Clock for ManualClock {
    fn now_micros(&self) -> u64 {
        self.micros.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_when_told() {
        let c = ManualClock::new(5);
        assert_eq!(c.now_micros(), 5);
        c.advance(10);
        assert_eq!(c.now_micros(), 15);
    }
}

/// Where a free-running counter is read: a function to call, or (for an
/// embedder running at EL1, the kernel) the generic timer's physical
/// count, read in place: under QEMU's TCG a call through a pointer and its
/// return are two lookups of their targets, and a command reads the
/// counter twice (its time in the command statistics).
#[derive(Clone, Copy, Debug)]
pub enum Counter {
    /// CNTPCT_EL0.
    #[cfg(all(target_arch = "aarch64", target_os = "none"))]
    Cntpct,
    /// Asked of a function (hosted builds, tests).
    Fn(fn() -> u64),
}

impl Counter {
    /// The count now.
    #[inline(always)]
    pub fn read(self) -> u64 {
        match self {
            #[cfg(all(target_arch = "aarch64", target_os = "none"))]
            Counter::Cntpct => {
                use aarch64_cpu::registers::{Readable, CNTPCT_EL0};
                CNTPCT_EL0.get()
            }
            Counter::Fn(f) => f(),
        }
    }
}

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

/// The generic timer's physical count, for an embedder running at EL1
/// (the kernel): a counter function to hand out as a pointer, which
/// readers that know it (`kv::Clock::counter`) recognise by address and
/// call directly, inlined: under QEMU's TCG a call through a pointer and
/// its return are two lookups of their targets.
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
#[inline(always)]
pub fn cntpct_el0() -> u64 {
    use aarch64_cpu::registers::{Readable, CNTPCT_EL0};
    CNTPCT_EL0.get()
}

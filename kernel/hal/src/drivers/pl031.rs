//! The PL031 real-time clock (ARM DDI 0224): the time of day, in whole
//! seconds since the Unix epoch, which QEMU sets from the host's clock.
//!
//! It is read once, at boot; from then on the time of day is that second
//! plus the generic timer's count since (`wall_us`), which gives it the
//! counter's resolution and keeps it monotonic. Expiry times (Redis's
//! EXPIREAT, TTLs) are kept in Unix milliseconds, so they survive reboots.

use crate::arch::timer;
use crate::mmio::MmioRef;
use core::sync::atomic::{AtomicU64, Ordering};
use tock_registers::{interfaces::Readable, register_structs, registers::ReadOnly};

register_structs! {
    pub Pl031Regs {
        /// Data register: the current time, seconds.
        (0x00 => dr: ReadOnly<u32>),
        (0x04 => @END),
    }
}

/// Unix milliseconds at counter value `BASE_COUNTER` (0 until `init`).
static BASE_MS: AtomicU64 = AtomicU64::new(0);
static BASE_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Reads the clock at `base` once and starts the time of day from it.
///
/// # Safety
/// `base` is a PL031's register block, mapped as device memory.
pub unsafe fn init(base: usize) -> u64 {
    // SAFETY: forwarded from the caller.
    let rtc: MmioRef<Pl031Regs> = unsafe { MmioRef::new(base) };
    let secs = u64::from(rtc.dr.get());
    BASE_COUNTER.store(timer::counter(), Ordering::Relaxed);
    BASE_MS.store(secs * 1000, Ordering::Relaxed);
    secs
}

/// The time of day in Unix microseconds: the clock's second at boot plus
/// the counter since (the uptime when there is no clock).
pub fn wall_us() -> u64 {
    let ticks = timer::counter().wrapping_sub(BASE_COUNTER.load(Ordering::Relaxed));
    BASE_MS.load(Ordering::Relaxed) * 1000 + timer::ticks_to_us(ticks)
}

/// The time of day in Unix milliseconds.
pub fn wall_ms() -> u64 {
    wall_us() / 1000
}

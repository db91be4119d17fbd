//! The generic timer: the monotonic clock every timestamp comes from, and a
//! periodic tick on each CPU's EL1 physical timer (a PPI: every CPU has its
//! own). The boot CPU's tick counts `ticks()` and drives the profiler; every
//! CPU's flushes its own TLB for QEMU's sake.

use aarch64_cpu::registers::{
    Readable, Writeable, CNTFRQ_EL0, CNTPCT_EL0, CNTP_CTL_EL0, CNTP_CVAL_EL0,
};
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

pub const TICK_HZ: u64 = 100;

/// How often the tick flushes the TLB so that QEMU's can size itself (see
/// `mmu::flush_tlb_for_resize`): by time, not by ticks, since the
/// profiler raises the tick rate.
const TLB_FLUSH_HZ: u64 = 10;

static TICKS: AtomicU64 = AtomicU64::new(0);
static PERIOD: AtomicU64 = AtomicU64::new(0);
static INTID: AtomicU32 = AtomicU32::new(0);

/// Counter frequency in Hz (62.5 MHz on QEMU virt).
pub fn frequency() -> u64 {
    CNTFRQ_EL0.get().max(1)
}

pub fn counter() -> u64 {
    CNTPCT_EL0.get()
}

/// Time since the counter started (at machine reset), in microseconds.
pub fn now_us() -> u64 {
    ticks_to_us(counter())
}

/// `count` ticks in microseconds. Whole seconds and the rest apart, in
/// 64-bit arithmetic: a 128-bit division is a library routine (`__udivti3`)
/// that showed at 7% of a profile of pipelined SETs, as every clock read
/// goes through here.
pub fn ticks_to_us(count: u64) -> u64 {
    let hz = frequency().max(1);
    (count / hz) * 1_000_000 + (count % hz) * 1_000_000 / hz
}

/// Waits `us` microseconds on the counter, awake (a writer braked by the
/// store's level 0, which holds its lock meanwhile: nothing to sleep for).
pub fn delay_us(us: u64) {
    let end = counter() + us * frequency() / 1_000_000;
    while counter() < end {
        core::hint::spin_loop();
    }
}

/// Changes the tick rate (the profiler raises it while it samples); the
/// new period applies from the next tick.
pub fn set_tick_hz(hz: u64) {
    PERIOD.store(frequency() / hz.max(1), Ordering::Relaxed);
}

pub fn ticks() -> u64 {
    TICKS.load(Ordering::Relaxed)
}

pub fn intid() -> u32 {
    INTID.load(Ordering::Relaxed)
}

/// Starts the periodic tick on the boot CPU, on `intid` (the non-secure
/// physical timer PPI).
pub fn start_tick(intid: u32) -> Result<(), super::gicv3::GicError> {
    PERIOD.store(frequency() / TICK_HZ, Ordering::Relaxed);
    INTID.store(intid, Ordering::Relaxed);
    start_tick_here()
}

/// Starts the calling CPU's tick, at the boot CPU's rate and INTID.
pub fn start_tick_here() -> Result<(), super::gicv3::GicError> {
    resume_tick_here();
    super::gicv3::enable(INTID.load(Ordering::Relaxed), on_tick, false)
}

/// Stops the calling CPU's tick until [`resume_tick_here`]: a core with
/// nothing to do sleeps until an SGI rather than waking 100 times a second
/// (under QEMU each wake-up costs the host a little). The tick's interrupt
/// stays enabled at the GIC; only the timer stops.
pub fn stop_tick_here() {
    CNTP_CTL_EL0.write(CNTP_CTL_EL0::ENABLE::CLEAR + CNTP_CTL_EL0::IMASK::SET);
}

/// Restarts the calling CPU's tick after [`stop_tick_here`] (its interrupt
/// enabled by [`start_tick_here`] before): the timer's registers only, no
/// GIC write.
pub fn resume_tick_here() {
    CNTP_CVAL_EL0.set(counter() + PERIOD.load(Ordering::Relaxed));
    CNTP_CTL_EL0.write(CNTP_CTL_EL0::ENABLE::SET + CNTP_CTL_EL0::IMASK::CLEAR);
}

fn on_tick(_intid: u32) {
    if crate::cpus::index() == 0 {
        TICKS.fetch_add(1, Ordering::Relaxed);
    }
    crate::profile::on_tick();
    // Compare values advance by whole periods so the tick does not drift;
    // after a long stall (gdb) skip the missed ones instead of storming.
    let period = PERIOD.load(Ordering::Relaxed);
    let now = counter();
    let next_flush = &crate::cpus::this().next_tlb_flush;
    if now >= next_flush.load(Ordering::Relaxed) {
        next_flush.store(now + frequency() / TLB_FLUSH_HZ, Ordering::Relaxed);
        super::mmu::flush_tlb_for_resize();
    }
    let mut next = CNTP_CVAL_EL0.get() + period;
    if next <= now {
        next = now + period;
    }
    CNTP_CVAL_EL0.set(next);
}

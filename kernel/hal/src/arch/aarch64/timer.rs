//! The generic timer: the monotonic clock every timestamp comes from, and a
//! periodic tick on the EL1 physical timer.

use aarch64_cpu::registers::{
    Readable, Writeable, CNTFRQ_EL0, CNTPCT_EL0, CNTP_CTL_EL0, CNTP_CVAL_EL0,
};
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

pub const TICK_HZ: u64 = 100;

/// How often the tick flushes the TLB so that QEMU's can size itself (see
/// `mmu::flush_tlb_for_resize`): by time, not by ticks, since the
/// profiler raises the tick rate.
const TLB_FLUSH_HZ: u64 = 10;
static NEXT_TLB_FLUSH: AtomicU64 = AtomicU64::new(0);

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

/// Starts the periodic tick on `intid` (the non-secure physical timer PPI).
pub fn start_tick(intid: u32) -> Result<(), super::gicv3::GicError> {
    let period = frequency() / TICK_HZ;
    PERIOD.store(period, Ordering::Relaxed);
    INTID.store(intid, Ordering::Relaxed);
    CNTP_CVAL_EL0.set(counter() + period);
    CNTP_CTL_EL0.write(CNTP_CTL_EL0::ENABLE::SET + CNTP_CTL_EL0::IMASK::CLEAR);
    super::gicv3::enable(intid, on_tick, false)
}

fn on_tick(_intid: u32) {
    TICKS.fetch_add(1, Ordering::Relaxed);
    crate::profile::on_tick();
    // Compare values advance by whole periods so the tick does not drift;
    // after a long stall (gdb) skip the missed ones instead of storming.
    let period = PERIOD.load(Ordering::Relaxed);
    let now = counter();
    if now >= NEXT_TLB_FLUSH.load(Ordering::Relaxed) {
        NEXT_TLB_FLUSH.store(now + frequency() / TLB_FLUSH_HZ, Ordering::Relaxed);
        super::mmu::flush_tlb_for_resize();
    }
    let mut next = CNTP_CVAL_EL0.get() + period;
    if next <= now {
        next = now + period;
    }
    CNTP_CVAL_EL0.set(next);
}

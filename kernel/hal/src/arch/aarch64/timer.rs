//! The generic timer: the monotonic clock every timestamp comes from, and a
//! periodic tick on each CPU's EL1 physical timer (a PPI: every CPU has its
//! own). The boot CPU's tick counts `ticks()` and drives the profiler; every
//! CPU's flushes its own TLB for QEMU's sake. Each CPU's virtual timer ends
//! its sleeps in [`delay_us`].

use aarch64_cpu::registers::{
    Readable, Writeable, CNTFRQ_EL0, CNTPCT_EL0, CNTP_CTL_EL0, CNTP_CVAL_EL0, CNTVCT_EL0,
    CNTV_CTL_EL0, CNTV_CVAL_EL0,
};
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

pub const TICK_HZ: u64 = 100;

/// How often the tick flushes the TLB so that QEMU's can size itself (see
/// `mmu::flush_tlb_for_resize`): by time, not by ticks, since the
/// profiler raises the tick rate.
const TLB_FLUSH_HZ: u64 = 10;
/// A CPU's first busy ticks each flush its TLB, not every tenth of a
/// second: QEMU doubles the table at most once a flush, so from the 256
/// entries a vCPU starts with, ten doublings at 10 Hz took a second of
/// misses (see `mmu::flush_tlb_for_resize`).
const TLB_GROWTH_FLUSHES: u32 = 12;

static TICKS: AtomicU64 = AtomicU64::new(0);
static PERIOD: AtomicU64 = AtomicU64::new(0);
static INTID: AtomicU32 = AtomicU32::new(0);
/// The virtual timer's INTID, which wakes a core from [`delay_us`]'s
/// sleep (`NO_SLEEP`: none, so delays spin).
static VIRT_INTID: AtomicU32 = AtomicU32::new(NO_SLEEP);
const NO_SLEEP: u32 = u32::MAX;
/// Delays at least this long sleep; shorter ones spin (waking a sleeping
/// vCPU costs QEMU's host thread tens of microseconds).
const SLEEP_MIN_US: u64 = 100;

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

/// Waits `us` microseconds: asleep in `wfi` until the virtual timer's
/// interrupt if it is that long and the timer is set up (see
/// [`enable_sleep`]), else spinning on the counter. The store's writers
/// wait so at its level-0 slowdown (1 ms each, thousands in a large
/// overwrite): a vCPU that spins through them keeps a host core from the
/// background core's compaction and QEMU's I/O, which the writer waits
/// for; asleep, QEMU's thread for the vCPU sleeps too.
pub fn delay_us(us: u64) {
    let ticks = us * frequency() / 1_000_000;
    let end = counter() + ticks;
    if us >= SLEEP_MIN_US && VIRT_INTID.load(Ordering::Relaxed) != NO_SLEEP {
        // The virtual counter may be offset from the physical one (by an
        // EL2 that set CNTVOFF): its compare value is its own count.
        CNTV_CVAL_EL0.set(CNTVCT_EL0.get() + ticks);
        CNTV_CTL_EL0.write(CNTV_CTL_EL0::ENABLE::SET + CNTV_CTL_EL0::IMASK::CLEAR);
        // Any interrupt wakes the core; the timer's (masked by its handler)
        // only once, so a wake-up before it sleeps again.
        let asleep = || counter() < end && !CNTV_CTL_EL0.is_set(CNTV_CTL_EL0::IMASK);
        while asleep() {
            super::cpu::wait_for_interrupt_if(asleep);
        }
        CNTV_CTL_EL0.write(CNTV_CTL_EL0::ENABLE::CLEAR + CNTV_CTL_EL0::IMASK::SET);
    }
    while counter() < end {
        core::hint::spin_loop();
    }
}

/// Lets [`delay_us`] sleep, woken by the virtual timer's interrupt
/// (`intid`, a PPI), on every CPU that starts its tick after this.
pub fn enable_sleep(intid: u32) {
    VIRT_INTID.store(intid, Ordering::Relaxed);
}

/// The virtual timer fired: the sleep it ends is over. Masked, its line
/// drops (it is level-triggered) until the next sleep arms it.
fn on_virtual_timer(_intid: u32) {
    CNTV_CTL_EL0.write(CNTV_CTL_EL0::ENABLE::SET + CNTV_CTL_EL0::IMASK::SET);
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
    let virt = VIRT_INTID.load(Ordering::Relaxed);
    if virt != NO_SLEEP {
        CNTV_CTL_EL0.write(CNTV_CTL_EL0::ENABLE::CLEAR + CNTV_CTL_EL0::IMASK::SET);
        super::gicv3::enable(virt, on_virtual_timer, false)?;
    }
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
    let me = crate::cpus::this();
    let growing = me.tlb_growth_flushes.load(Ordering::Relaxed) < TLB_GROWTH_FLUSHES;
    if growing || now >= me.next_tlb_flush.load(Ordering::Relaxed) {
        me.next_tlb_flush
            .store(now + frequency() / TLB_FLUSH_HZ, Ordering::Relaxed);
        // Not after a quiet spell: QEMU would size its TLB by what the
        // sleep used (see `mmu::flush_tlb_for_resize`).
        if me.awake_since_last_look(now) {
            if growing {
                me.tlb_growth_flushes.fetch_add(1, Ordering::Relaxed);
            }
            super::mmu::flush_tlb_for_resize();
        }
    }
    let mut next = CNTP_CVAL_EL0.get() + period;
    if next <= now {
        next = now + period;
    }
    CNTP_CVAL_EL0.set(next);
}

//! The PL031 real-time clock (ARM DDI 0224): the time of day, in whole
//! seconds since the Unix epoch, which QEMU keeps from the host's clock.
//!
//! The time of day is the generic timer's count plus an offset (`wall_us`):
//! the counter gives the resolution and keeps it monotonic, the clock gives
//! the offset. A whole second read at boot leaves the offset up to a second
//! short, which Redis clients notice (a key set to expire at a Unix time
//! reports a TTL longer than it should). The clock's match interrupt cannot
//! fix that (QEMU fires it a whole number of seconds after it is set, not
//! at a turn of the second), so the main loop calls [`sync_step`]: it
//! watches for the second to turn (coarsely, at the loop's own pace), then
//! waits for the next turn, which it now knows to within one pass of the
//! loop, reading the clock in a tight loop for those few milliseconds, and
//! sets the offset from that instant. Expiry times (EXPIREAT, TTLs) are kept
//! in Unix milliseconds, so they survive reboots.

use crate::arch::timer;
use crate::mmio::MmioRef;
use core::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use tock_registers::{
    interfaces::Readable,
    register_structs,
    registers::{ReadOnly, ReadWrite, WriteOnly},
};

register_structs! {
    pub Pl031Regs {
        /// Data register: the current time, seconds.
        (0x00 => dr: ReadOnly<u32>),
        /// Match register: the interrupt fires when DR reaches it.
        (0x04 => mr: ReadWrite<u32>),
        /// Load register.
        (0x08 => lr: ReadWrite<u32>),
        /// Control register: bit 0 starts the counter.
        (0x0c => cr: ReadWrite<u32>),
        /// Interrupt mask: bit 0 enables the match interrupt.
        (0x10 => imsc: ReadWrite<u32>),
        (0x14 => ris: ReadOnly<u32>),
        (0x18 => mis: ReadOnly<u32>),
        /// Interrupt clear.
        (0x1c => icr: WriteOnly<u32>),
        (0x20 => @END),
    }
}

/// Unix microseconds minus the counter's microseconds: the time of day is
/// this plus `ticks_to_us(counter)`. One word, so a reader never sees half
/// of an update made by the interrupt handler.
static OFFSET_US: AtomicU64 = AtomicU64::new(0);
/// The registers' address, for the interrupt handler (0: none).
static BASE: AtomicUsize = AtomicUsize::new(0);

fn regs() -> Option<MmioRef<Pl031Regs>> {
    match BASE.load(Ordering::Relaxed) {
        0 => None,
        // SAFETY: `init`'s caller vouched that a PL031 is mapped there for
        // the kernel's life.
        base => Some(unsafe { MmioRef::new(base) }),
    }
}

fn set_offset(unix_secs: u64, counter: u64) {
    let offset = (unix_secs * 1_000_000).wrapping_sub(timer::ticks_to_us(counter));
    OFFSET_US.store(offset, Ordering::Relaxed);
}

/// Reads the clock at `base` and starts the time of day from it, to within
/// a second; [`sync_step`] makes it exact. Returns the seconds read.
///
/// # Safety
/// `base` is a PL031's register block, mapped as device memory, for the
/// kernel's life.
pub unsafe fn init(base: usize) -> u64 {
    BASE.store(base, Ordering::Relaxed);
    let Some(rtc) = regs() else { return 0 };
    let secs = rtc.dr.get();
    set_offset(u64::from(secs), timer::counter());
    LAST_SECS.store(secs, Ordering::Relaxed);
    LAST_COUNTER.store(timer::counter(), Ordering::Relaxed);
    u64::from(secs)
}

/// Where the synchronisation stands: 0 watching for a turn, 1 a turn seen
/// (it lies between `LAST_COUNTER` and `TURN_COUNTER`), 2 done.
static SYNC: AtomicU32 = AtomicU32::new(0);
/// The second and the counter at the last look.
static LAST_SECS: AtomicU32 = AtomicU32::new(0);
static LAST_COUNTER: AtomicU64 = AtomicU64::new(0);
/// The counter when the turn was first seen.
static TURN_COUNTER: AtomicU64 = AtomicU64::new(0);
/// Turns the exact step looked at too late, so far.
static RETRIES: AtomicU32 = AtomicU32::new(0);
/// Seconds the exact step tries for (each try lands before the turn about
/// half the time: the loop looks on the 100 Hz tick, the turn is known to
/// within one tick).
const MAX_RETRIES: u32 = 8;

/// One step of making the time of day exact; the main loop calls it on
/// every pass (cheap once done: one atomic load). Returns whether it is.
pub fn sync_step() -> bool {
    if SYNC.load(Ordering::Relaxed) == 2 {
        return true;
    }
    let Some(rtc) = regs() else {
        SYNC.store(2, Ordering::Relaxed);
        return true;
    };
    let hz = timer::frequency().max(1);
    let now = timer::counter();
    if SYNC.load(Ordering::Relaxed) == 0 {
        let secs = rtc.dr.get();
        if secs != LAST_SECS.load(Ordering::Relaxed) {
            // The turn was between the last look and now: the offset is
            // now right to within that interval (the clock reads ahead).
            set_offset(u64::from(secs), LAST_COUNTER.load(Ordering::Relaxed));
            LAST_SECS.store(secs, Ordering::Relaxed);
            TURN_COUNTER.store(now, Ordering::Relaxed);
            SYNC.store(1, Ordering::Relaxed);
        } else {
            LAST_COUNTER.store(now, Ordering::Relaxed);
        }
        return false;
    }
    // The next turn comes a second after the one seen, within the same
    // interval: wait for its start, then read in a tight loop through it.
    let from = LAST_COUNTER.load(Ordering::Relaxed) + hz;
    if now < from {
        return false;
    }
    let until = TURN_COUNTER.load(Ordering::Relaxed) + hz + hz / 100;
    let secs = LAST_SECS.load(Ordering::Relaxed);
    let first = rtc.dr.get();
    if first != secs && first != secs.wrapping_add(1) {
        // More than a second late (a long command on this core): watch for
        // a turn afresh.
        LAST_SECS.store(first, Ordering::Relaxed);
        LAST_COUNTER.store(now, Ordering::Relaxed);
        SYNC.store(0, Ordering::Relaxed);
        return false;
    }
    if first != secs {
        // This look came after the turn (the loop sleeps between ticks):
        // taking it as the turn would set the clock late by the wait, and
        // the clock must not read behind (Redis's clients compare absolute
        // expiry times with their own). The turn lies between `from` and
        // now: watch for the next one from that interval, a few times;
        // the coarse offset, which reads ahead, stays meanwhile.
        let retries = RETRIES.fetch_add(1, Ordering::Relaxed);
        set_offset(u64::from(first), from);
        if retries + 1 >= MAX_RETRIES {
            SYNC.store(2, Ordering::Relaxed);
            return true;
        }
        LAST_SECS.store(first, Ordering::Relaxed);
        LAST_COUNTER.store(from, Ordering::Relaxed);
        TURN_COUNTER.store(now.min(until), Ordering::Relaxed);
        return false;
    }
    loop {
        let c = timer::counter();
        if rtc.dr.get() != secs {
            set_offset(u64::from(secs) + 1, c);
            break;
        }
        if c > until {
            // Missed (the loop was late): keep the coarse offset.
            break;
        }
        core::hint::spin_loop();
    }
    SYNC.store(2, Ordering::Relaxed);
    true
}

/// The time of day in Unix microseconds (the uptime when there is no
/// clock).
pub fn wall_us() -> u64 {
    OFFSET_US
        .load(Ordering::Relaxed)
        .wrapping_add(timer::ticks_to_us(timer::counter()))
}

/// The time of day in Unix milliseconds.
pub fn wall_ms() -> u64 {
    wall_us() / 1000
}

//! Per-CPU records: which CPU is running (its index, kept in TPIDR_EL1 by
//! boot/entry.s), and for each CPU what `INFO cpu` and the gdb helpers show
//! (online, MPIDR, what it runs, time asleep, interrupts taken), plus the
//! little state that must be per CPU because an interrupt on one CPU says
//! nothing about another (the heap's "in an interrupt handler" depth, the
//! tick's next TLB flush).
//!
//! Records are atomics in a static array, written by their own CPU (the
//! role and the online flag also by the CPU that starts it) and read by
//! anyone: no locks, so an interrupt handler may touch its own.

use crate::memory::MAX_CPUS;
use aarch64_cpu::registers::{Readable, TPIDR_EL1};
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

/// One CPU's record.
pub struct Cpu {
    online: AtomicBool,
    mpidr: AtomicU64,
    /// Counter value when it came online.
    since: AtomicU64,
    /// Counter ticks spent waiting for an interrupt (`wfi`), up to the
    /// last wake-up.
    idle: AtomicU64,
    /// Counter value when the current wait began; 0 while awake. A core
    /// asleep without its tick may wait for minutes.
    asleep_since: AtomicU64,
    irqs: AtomicU64,
    /// Index into [`ROLES`] of what it runs.
    role: AtomicU32,
    /// Interrupt handlers running on it (nested depth): the heap must not
    /// wait for a lock the code they interrupted may hold.
    pub(crate) irq_depth: AtomicU32,
    /// Counter value of its next TLB flush (see `timer`).
    pub(crate) next_tlb_flush: AtomicU64,
    /// Counter value and `idle` at the tick's last look at whether it was
    /// busy enough to flush its TLB (see [`Cpu::awake_since_last_look`]).
    look_at: AtomicU64,
    look_idle: AtomicU64,
    /// TLB flushes made while its QEMU TLB grows from its first size
    /// (see `timer`).
    pub(crate) tlb_growth_flushes: AtomicU32,
}

impl Cpu {
    const fn new() -> Self {
        Self {
            online: AtomicBool::new(false),
            mpidr: AtomicU64::new(0),
            since: AtomicU64::new(0),
            idle: AtomicU64::new(0),
            asleep_since: AtomicU64::new(0),
            irqs: AtomicU64::new(0),
            role: AtomicU32::new(0),
            irq_depth: AtomicU32::new(0),
            next_tlb_flush: AtomicU64::new(0),
            look_at: AtomicU64::new(0),
            look_idle: AtomicU64::new(0),
            tlb_growth_flushes: AtomicU32::new(0),
        }
    }
}

/// Every CPU's record, by index; unmangled for the gdb helper `unikv-cpus`.
#[no_mangle]
static UNIKV_CPUS: [Cpu; MAX_CPUS] = [const { Cpu::new() }; MAX_CPUS];

/// What a CPU can be running; `set_role` takes one of these, so the record
/// stays one word that any CPU can read without a lock.
pub const ROLES: [&str; 8] = [
    "off",
    "starting",
    "sessions",
    "background",
    "idle",
    "job",
    "console",
    "network",
];

/// Roles by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Role {
    Off = 0,
    Starting = 1,
    /// The console and network sessions, in one loop.
    Sessions = 2,
    /// The store's flushes and compactions.
    Background = 3,
    /// Online, waiting for work.
    Idle = 4,
    /// Running a job another core gave it (`BENCH threads=N`).
    Job = 5,
    /// The console session alone (the network's has a core of its own).
    Console = 6,
    /// The network sessions.
    Network = 7,
}

/// The index of the CPU running this (0 is the boot CPU).
#[inline]
pub fn index() -> usize {
    TPIDR_EL1.get() as usize
}

/// The record of the CPU running this.
#[inline]
pub fn this() -> &'static Cpu {
    &UNIKV_CPUS[index() % MAX_CPUS]
}

/// The record of CPU `cpu`.
pub fn get(cpu: usize) -> Option<&'static Cpu> {
    UNIKV_CPUS.get(cpu)
}

/// Marks the calling CPU online with its MPIDR, now.
pub fn set_online(mpidr: u64) {
    let c = this();
    c.mpidr.store(mpidr, Ordering::Relaxed);
    c.since
        .store(crate::arch::timer::counter(), Ordering::Relaxed);
    c.online.store(true, Ordering::Release);
}

pub fn set_role(cpu: usize, role: Role) {
    if let Some(c) = get(cpu) {
        c.role.store(role as u32, Ordering::Relaxed);
    }
}

/// CPUs online.
pub fn online() -> usize {
    UNIKV_CPUS.iter().filter(|c| c.is_online()).count()
}

impl Cpu {
    pub fn is_online(&self) -> bool {
        self.online.load(Ordering::Acquire)
    }

    pub fn mpidr(&self) -> u64 {
        self.mpidr.load(Ordering::Relaxed)
    }

    pub fn role(&self) -> &'static str {
        ROLES
            .get(self.role.load(Ordering::Relaxed) as usize)
            .copied()
            .unwrap_or("?")
    }

    pub fn irqs(&self) -> u64 {
        self.irqs.load(Ordering::Relaxed)
    }

    /// (microseconds online, microseconds of it asleep in `wfi`).
    pub fn times_us(&self) -> (u64, u64) {
        use crate::arch::timer::{counter, ticks_to_us};
        if !self.is_online() {
            return (0, 0);
        }
        let now = counter();
        let up = now.saturating_sub(self.since.load(Ordering::Relaxed));
        let asleep = match self.asleep_since.load(Ordering::Relaxed) {
            0 => 0,
            t => now.saturating_sub(t),
        };
        let idle = self.idle.load(Ordering::Relaxed) + asleep;
        (ticks_to_us(up), ticks_to_us(idle.min(up)))
    }

    pub(crate) fn count_irq(&self) {
        self.irqs.fetch_add(1, Ordering::Relaxed);
    }

    /// Brackets a wait: `start` is the counter when it began.
    pub(crate) fn falling_asleep(&self, start: u64) {
        self.asleep_since.store(start.max(1), Ordering::Relaxed);
    }

    /// Whether, since the last call (`now` the counter), this CPU was
    /// awake for at least a quarter of the time. Its own tick asks, right
    /// after the wake-up that brought it, so `idle` is up to date.
    pub(crate) fn awake_since_last_look(&self, now: u64) -> bool {
        let idle = self.idle.load(Ordering::Relaxed);
        let elapsed = now.saturating_sub(self.look_at.swap(now, Ordering::Relaxed));
        let slept = idle.saturating_sub(self.look_idle.swap(idle, Ordering::Relaxed));
        slept.saturating_mul(4) <= elapsed.saturating_mul(3)
    }

    pub(crate) fn woke(&self, start: u64, end: u64) {
        self.idle
            .fetch_add(end.saturating_sub(start), Ordering::Relaxed);
        self.asleep_since.store(0, Ordering::Relaxed);
    }
}

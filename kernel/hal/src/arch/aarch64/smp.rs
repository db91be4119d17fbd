//! The other CPUs: started with PSCI CPU_ON at `_start_secondary`
//! (boot/entry.s), which gives each its slot of stacks, its vectors, its
//! index in TPIDR_EL1 and the boot CPU's MMU settings; then
//! `secondary_main` sets up its redistributor, CPU interface and tick,
//! marks it online and hands it to the kernel's function for it. A CPU
//! that sleeps in `wfi` is woken by [`wake`], an SGI.

use super::{cpu, gicv3, psci, timer};
use crate::cpus::{self, Role};
use crate::memory::MAX_CPUS;
use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::{Readable, MAIR_EL1, SCTLR_EL1, TCR_EL1, TTBR0_EL1};
use core::sync::atomic::{AtomicUsize, Ordering};

/// The SGI that wakes a sleeping CPU; its handler does nothing, the CPU's
/// loop looks for work once it returns.
pub const WAKE_SGI: u32 = 0;
/// The SGI that stops a CPU for good: a panic or a fatal exception on one
/// CPU stops the others, so that the report is the last thing printed and
/// nothing runs on over the state the failure left.
pub const STOP_SGI: u32 = 1;

/// MAIR, TCR, TTBR0 and SCTLR as the boot CPU runs with them, for
/// entry.s to load before the MMU is on: read with the caches off, so it
/// gets a cache line of its own, cleaned to memory once written.
#[repr(C, align(64))]
struct MmuSettings([u64; 8]);

#[no_mangle]
static SECONDARY_MMU: crate::sync::BootCell<MmuSettings> =
    crate::sync::BootCell::new(MmuSettings([0; 8]));

/// The kernel's function for a started CPU (`fn(usize) -> !`), as a word.
static MAIN: AtomicUsize = AtomicUsize::new(0);

/// Each CPU's MPIDR by index, as the device tree lists them.
static MPIDRS: [core::sync::atomic::AtomicU64; MAX_CPUS] =
    [const { core::sync::atomic::AtomicU64::new(u64::MAX) }; MAX_CPUS];

extern "C" {
    fn _start_secondary();
}

/// Why a CPU did not come up.
#[derive(Debug)]
pub enum SmpError {
    Psci { cpu: usize, error: psci::PsciError },
    Timeout { cpu: usize },
}

impl core::fmt::Display for SmpError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Psci { cpu, error } => write!(f, "CPU {cpu}: CPU_ON failed: {error}"),
            Self::Timeout { cpu } => write!(f, "CPU {cpu} did not come online within 1 s"),
        }
    }
}

/// Starts every CPU of `mpidrs` (the device tree's, the boot CPU's among
/// them) up to [`MAX_CPUS`], one after the other, each running `main(index)`
/// once set up. Returns how many came online besides the boot CPU and the
/// failures, one per CPU that did not.
pub fn start_all(mpidrs: &[u64], main: fn(usize) -> !) -> (usize, alloc::vec::Vec<SmpError>) {
    MAIN.store(main as usize, Ordering::Release);
    if let Err(e) = gicv3::enable(STOP_SGI, on_stop, false) {
        log::error!("CPU 0: stop SGI: {e}");
    }
    let boot = cpu::mpidr() & 0xff_00ff_ffff;
    publish_mmu_settings();
    let mut errors = alloc::vec::Vec::new();
    let mut started = 0;
    let mut index = 1;
    MPIDRS[0].store(boot, Ordering::Relaxed);
    for &mpidr in mpidrs {
        if mpidr == boot {
            continue;
        }
        if index == MAX_CPUS {
            log::warn!("smp: unikv brings up {MAX_CPUS} CPUs; the others stay off");
            break;
        }
        MPIDRS[index].store(mpidr, Ordering::Relaxed);
        cpus::set_role(index, Role::Starting);
        match start_one(index, mpidr) {
            Ok(()) => started += 1,
            Err(e) => {
                cpus::set_role(index, Role::Off);
                errors.push(e);
            }
        }
        index += 1;
    }
    (started, errors)
}

fn start_one(index: usize, mpidr: u64) -> Result<(), SmpError> {
    let entry = _start_secondary as *const () as u64;
    psci::cpu_on(mpidr, entry, index as u64)
        .map_err(|error| SmpError::Psci { cpu: index, error })?;
    let deadline = timer::counter() + timer::frequency();
    let record = cpus::get(index).expect("index < MAX_CPUS");
    while !record.is_online() {
        if timer::counter() > deadline {
            return Err(SmpError::Timeout { cpu: index });
        }
        core::hint::spin_loop();
    }
    Ok(())
}

fn publish_mmu_settings() {
    // SAFETY: written once, on the boot CPU, before any other CPU is
    // started (the only readers are those CPUs' entry code).
    let s = unsafe { &mut *SECONDARY_MMU.get() };
    s.0[0] = MAIR_EL1.get();
    s.0[1] = TCR_EL1.get();
    s.0[2] = TTBR0_EL1.get();
    s.0[3] = SCTLR_EL1.get();
    barrier::dsb(barrier::ISH);
    // SAFETY: cleaning a cache line of our own static to memory changes
    // nothing but where its bytes live.
    unsafe { core::arch::asm!("dc cvac, {}", in(reg) s as *const MmuSettings, options(nostack)) };
    barrier::dsb(barrier::SY);
}

/// The first Rust code on a started CPU, called by entry.s with its index.
#[no_mangle]
extern "C" fn secondary_main(index: usize) -> ! {
    if let Err(e) = gicv3::init_cpu() {
        log::error!("CPU {index}: GIC: {e}");
        cpu::halt();
    }
    if let Err(e) = timer::start_tick_here() {
        log::error!("CPU {index}: timer: {e}");
    }
    if let Err(e) = gicv3::enable(WAKE_SGI, |_| {}, false) {
        log::error!("CPU {index}: wake-up SGI: {e}");
    }
    if let Err(e) = gicv3::enable(STOP_SGI, on_stop, false) {
        log::error!("CPU {index}: stop SGI: {e}");
    }
    cpus::set_role(index, Role::Idle);
    cpus::set_online(cpu::mpidr());
    cpu::irq_enable();
    let main = MAIN.load(Ordering::Acquire);
    // SAFETY: only `start_all` stores into MAIN, a `fn(usize) -> !` as a
    // word, before it starts any CPU.
    let main: fn(usize) -> ! = unsafe { core::mem::transmute::<usize, fn(usize) -> !>(main) };
    main(index)
}

/// Wakes CPU `index` if it sleeps in `wfi` (an SGI); it then looks for
/// work. Does nothing for a CPU that is not online.
pub fn wake(index: usize) {
    let Some(slot) = MPIDRS.get(index) else {
        return;
    };
    if cpus::get(index).is_some_and(cpus::Cpu::is_online) {
        gicv3::send_sgi(WAKE_SGI, slot.load(Ordering::Relaxed));
    }
}

fn on_stop(_intid: u32) {
    cpu::halt()
}

/// Stops every other online CPU (see [`STOP_SGI`]); for the panic and
/// fatal exception paths.
pub fn stop_others() {
    let me = cpus::index();
    for (index, slot) in MPIDRS.iter().enumerate() {
        if index != me && cpus::get(index).is_some_and(cpus::Cpu::is_online) {
            gicv3::send_sgi(STOP_SGI, slot.load(Ordering::Relaxed));
        }
    }
}

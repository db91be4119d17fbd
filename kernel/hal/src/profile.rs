//! A sampling profiler on the timer interrupt, in the manner of `perf
//! record`: while it runs, the tick is raised (1 kHz by default) and every
//! tick records the address the CPU was interrupted at. `DEBUG PROFILE
//! STOP` prints the hottest addresses; `cargo run -p systest --bin bench --
//! --profile WORKLOAD` turns them into functions. It samples one CPU, the
//! boot CPU unless told another: each CPU's tick records where that CPU was.

use crate::arch::timer;
use crate::memory::MAX_CPUS;
use crate::sync::IrqLock;
use alloc::{collections::BTreeMap, vec::Vec};
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

const MAX_SAMPLES: usize = 1 << 18;

static ACTIVE: AtomicBool = AtomicBool::new(false);
/// The CPU sampled.
static CPU: AtomicUsize = AtomicUsize::new(0);
/// Where each CPU's current interrupt was taken (set by the IRQ entry).
static IRQ_ELR: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
static SAMPLES: IrqLock<Vec<u64>> = IrqLock::new(Vec::new());

/// Called on IRQ entry with the interrupted address.
pub fn note_irq(elr: u64) {
    if let Some(e) = IRQ_ELR.get(crate::cpus::index()) {
        e.store(elr, Ordering::Relaxed);
    }
}

/// Called by the tick handler, on every CPU: the sampled one records where
/// its tick found it (in `wfi` when it slept).
pub fn on_tick() {
    let me = crate::cpus::index();
    if ACTIVE.load(Ordering::Relaxed) && me == CPU.load(Ordering::Relaxed) {
        let mut s = SAMPLES.lock();
        if s.len() < s.capacity() {
            if let Some(elr) = IRQ_ELR.get(me) {
                s.push(elr.load(Ordering::Relaxed));
            }
        }
    }
}

/// Starts sampling `cpu` (an online CPU's index) at `hz`.
pub fn start(hz: u64, cpu: usize) -> Result<(), &'static str> {
    if !(10..=10_000).contains(&hz) {
        return Err("the sampling rate is 10 to 10000 Hz");
    }
    // A CPU that did not come up leaves a gap: its index is not online.
    if !crate::cpus::get(cpu).is_some_and(crate::cpus::Cpu::is_online) {
        return Err("no such CPU online (INFO cpu lists them)");
    }
    CPU.store(cpu, Ordering::Relaxed);
    let mut samples = Vec::new();
    samples
        .try_reserve_exact(MAX_SAMPLES)
        .map_err(|_| "no memory for the sample buffer")?;
    *SAMPLES.lock() = samples;
    timer::set_tick_hz(hz);
    ACTIVE.store(true, Ordering::Relaxed);
    Ok(())
}

/// Stops sampling; returns (total samples, the `top` hottest addresses with
/// their counts, hottest first).
pub fn stop(top: usize) -> (usize, Vec<(u64, u32)>) {
    ACTIVE.store(false, Ordering::Relaxed);
    timer::set_tick_hz(timer::TICK_HZ);
    let samples = core::mem::take(&mut *SAMPLES.lock());
    let mut counts: BTreeMap<u64, u32> = BTreeMap::new();
    for pc in &samples {
        *counts.entry(*pc).or_default() += 1;
    }
    let mut hot: Vec<(u64, u32)> = counts.into_iter().collect();
    hot.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    hot.truncate(top);
    (samples.len(), hot)
}

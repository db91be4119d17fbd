//! A sampling profiler on the timer interrupt, in the manner of `perf
//! record`: while it runs, the tick is raised (1 kHz by default) and every
//! tick records the address the CPU was interrupted at. `DEBUG PROFILE
//! STOP` prints the hottest addresses; `cargo run -p systest --bin bench --
//! --profile WORKLOAD` turns them into functions.

use crate::arch::timer;
use crate::sync::IrqLock;
use alloc::{collections::BTreeMap, vec::Vec};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

const MAX_SAMPLES: usize = 1 << 18;

static ACTIVE: AtomicBool = AtomicBool::new(false);
/// Where the current interrupt was taken (set by the IRQ entry).
static IRQ_ELR: AtomicU64 = AtomicU64::new(0);
static SAMPLES: IrqLock<Vec<u64>> = IrqLock::new(Vec::new());

/// Called on IRQ entry with the interrupted address. The profile samples
/// the boot CPU, which runs the sessions.
pub fn note_irq(elr: u64) {
    if crate::cpus::index() == 0 {
        IRQ_ELR.store(elr, Ordering::Relaxed);
    }
}

/// Called by the tick handler.
pub fn on_tick() {
    if ACTIVE.load(Ordering::Relaxed) {
        let mut s = SAMPLES.lock();
        if s.len() < s.capacity() {
            s.push(IRQ_ELR.load(Ordering::Relaxed));
        }
    }
}

pub fn start(hz: u64) -> Result<(), &'static str> {
    if !(10..=10_000).contains(&hz) {
        return Err("the sampling rate is 10 to 10000 Hz");
    }
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

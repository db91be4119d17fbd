//! The other cores: started at boot (every CPU of the device tree, up to
//! `hal::memory::MAX_CPUS`), each then runs [`core_main`]: the work its role
//! gives it, and `wfi` between. CPU 0 runs the sessions (`session::run`).
//!
//! For now every started core waits for work with nothing to do yet.

use hal::arch::{cpu, smp, timer};
use hal::cpus::{self, Role};

/// Starts the other cores; logs each that does not come up.
pub fn start(mpidrs: &[u64]) {
    cpus::set_online(cpu::mpidr());
    cpus::set_role(0, Role::Sessions);
    let (started, errors) = smp::start_all(mpidrs, core_main);
    for e in &errors {
        log::error!("smp: {e}");
    }
    log::info!(
        "smp: {} of {} CPUs online",
        started + 1,
        mpidrs.len().clamp(1, hal::memory::MAX_CPUS)
    );
}

/// What a started core runs, for good. With nothing to do it sleeps
/// without its tick, until an SGI (`smp::wake`) brings work.
fn core_main(index: usize) -> ! {
    loop {
        let _ = index;
        timer::stop_tick_here();
        cpu::wait_for_interrupt_if(|| true);
        if let Err(e) = timer::start_tick_here() {
            log::error!("CPU {index}: timer: {e}");
        }
    }
}

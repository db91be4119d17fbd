//! The other cores: started at boot (every CPU of the device tree, up to
//! `hal::memory::MAX_CPUS`), each then runs [`core_main`]: the loop a role
//! gives it for good ([`assign`]), or else the jobs other cores give it
//! ([`parallel`]), and `wfi` between, without its tick.
//!
//! Who does what, by the number of cores online:
//!
//! ```text
//!   1     CPU 0: console and network sessions (one loop); the store
//!         flushes and compacts inline, in the writes that need it
//!   2     CPU 0: console and network sessions
//!         CPU 1: the store's flushes and compactions
//!   3+    CPU 0: console session   CPU 1: flushes and compactions
//!         CPU 2: network sessions  others: jobs (BENCH threads=N)
//! ```

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use hal::arch::{cpu, smp, timer};
use hal::cpus::{self, Role};
use hal::memory::MAX_CPUS;

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
        mpidrs.len().clamp(1, MAX_CPUS)
    );
}

/// The core that runs the store's flushes and compactions when there are
/// two cores or more.
pub const BACKGROUND_CPU: usize = 1;

/// The core the store's background work has, if any.
pub fn background_core() -> Option<usize> {
    cpus::get(BACKGROUND_CPU)
        .is_some_and(cpus::Cpu::is_online)
        .then_some(BACKGROUND_CPU)
}

/// Gives the background core its loop (at boot, before the services
/// start, so that the store finds it).
pub fn start_background() {
    if let Some(core) = background_core() {
        assign(core, Role::Background, crate::services::kv::background_loop);
    }
}

/// Wakes the background core: the store has work for it.
pub fn wake_background() {
    // A core that is not online is not signalled.
    smp::wake(BACKGROUND_CPU);
}

/// The core that serves the network sessions when there are enough cores
/// for it to have its own (see the table above).
pub const NETWORK_CPU: usize = 2;

/// The core the network sessions get a loop of their own on, if any.
pub fn network_core() -> Option<usize> {
    cpus::get(NETWORK_CPU)
        .is_some_and(cpus::Cpu::is_online)
        .then_some(NETWORK_CPU)
}

/// Each core's loop for good, as a `fn() -> !` in a word (0: none).
static ASSIGNED: [core::sync::atomic::AtomicUsize; MAX_CPUS] =
    [const { core::sync::atomic::AtomicUsize::new(0) }; MAX_CPUS];

/// Gives `core` (online, not this one) `main` to run for good, in `role`;
/// it takes no jobs from then on.
pub fn assign(core: usize, role: Role, main: fn() -> !) {
    cpus::set_role(core, role);
    ASSIGNED[core].store(main as usize, core::sync::atomic::Ordering::Release);
    // A job taker claims the mailbox first: a core with a loop never frees it.
    *MAILBOXES[core].lock() = Mailbox::Reserved;
    smp::wake(core);
}

/// A job given to a core: `job(index)`. The reference's lifetime is erased
/// to `'static`; [`parallel`] does not return before the core has cleared
/// its mailbox, after the job returned.
#[derive(Clone, Copy)]
struct Posted {
    job: &'static (dyn Fn(usize) + Sync),
    index: usize,
}

/// A core's mailbox.
#[derive(Clone, Copy)]
enum Mailbox {
    Free,
    /// Claimed by a `parallel` that has not yet found all its cores.
    Reserved,
    /// The job it runs or is about to; only the core itself sets it
    /// `Free` again, once the job has returned.
    Run(Posted),
}

static MAILBOXES: [spin::Mutex<Mailbox>; MAX_CPUS] =
    [const { spin::Mutex::new(Mailbox::Free) }; MAX_CPUS];

fn is_free(mailbox: &spin::Mutex<Mailbox>) -> bool {
    matches!(*mailbox.lock(), Mailbox::Free)
}

fn has_job(mailbox: &spin::Mutex<Mailbox>) -> bool {
    matches!(*mailbox.lock(), Mailbox::Run(_))
}

/// What a started core runs, for good. With nothing to do it sleeps
/// without its tick, until an SGI (`smp::wake`) brings work.
fn core_main(index: usize) -> ! {
    let mailbox = &MAILBOXES[index];
    loop {
        let main = ASSIGNED[index].load(core::sync::atomic::Ordering::Acquire);
        if main != 0 {
            // SAFETY: only `assign` stores into ASSIGNED, a `fn() -> !` as
            // a word.
            let main = unsafe { core::mem::transmute::<usize, fn() -> !>(main) };
            main();
        }
        let posted = *mailbox.lock();
        if let Mailbox::Run(p) = posted {
            cpus::set_role(index, Role::Job);
            (p.job)(p.index);
            cpus::set_role(index, Role::Idle);
            *mailbox.lock() = Mailbox::Free;
            continue;
        }
        timer::stop_tick_here();
        cpu::wait_for_interrupt_if(|| {
            !has_job(mailbox) && ASSIGNED[index].load(core::sync::atomic::Ordering::Relaxed) == 0
        });
        timer::resume_tick_here();
    }
}

/// Runs `job(i)` for every `i` in `0..n` at once: job 0 here, each other on
/// a free core of its own; returns once all have returned. Fails, running
/// nothing, when fewer than `n - 1` other cores are free.
pub fn parallel(n: usize, job: &(dyn Fn(usize) + Sync)) -> Result<(), String> {
    if n <= 1 {
        job(0);
        return Ok(());
    }
    // SAFETY: the reference outlives every use: each core that gets it
    // clears its mailbox only after the job returned, and this function
    // waits for every mailbox it filled to be clear before it returns (a
    // job cannot unwind: a panic stops the machine).
    let job: &'static (dyn Fn(usize) + Sync) = unsafe {
        core::mem::transmute::<&(dyn Fn(usize) + Sync), &'static (dyn Fn(usize) + Sync)>(job)
    };
    let me = cpus::index();
    let mut claimed: Vec<usize> = Vec::new();
    for (core, mailbox) in MAILBOXES.iter().enumerate() {
        if claimed.len() == n - 1 {
            break;
        }
        // CPU 0 runs the sessions' loop, which takes no jobs (its mailbox
        // is never claimed by an `assign`, so it reads as free).
        if core == 0 || core == me || !cpus::get(core).is_some_and(cpus::Cpu::is_online) {
            continue;
        }
        let mut slot = mailbox.lock();
        if matches!(*slot, Mailbox::Free) {
            *slot = Mailbox::Reserved;
            claimed.push(core);
        }
    }
    if claimed.len() < n - 1 {
        let free = claimed.len() + 1;
        for &core in &claimed {
            *MAILBOXES[core].lock() = Mailbox::Free;
        }
        return Err(format!(
            "{n} threads need {n} cores; {free} can run one (this one and {} free of {} online)",
            free - 1,
            cpus::online()
        ));
    }
    for (i, &core) in claimed.iter().enumerate() {
        *MAILBOXES[core].lock() = Mailbox::Run(Posted { job, index: i + 1 });
        smp::wake(core);
    }
    job(0);
    for &core in &claimed {
        while !is_free(&MAILBOXES[core]) {
            core::hint::spin_loop();
        }
    }
    Ok(())
}

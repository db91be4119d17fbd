//! A run from several cores at once (`threads=N`): the caller's `parallel`
//! runs one job per thread, each with its own store handle, clock and hooks
//! from the caller's [`Team`]; thread 0 runs on the caller's core with the
//! caller's hooks.
//!
//! ```text
//!   [cores free? parallel(N, nothing)] ─► [YCSB: untimed load, here] ─► io() ─► timed_start
//!     ─► parallel(N): every thread arrives; thread 0 reads the clock (the start), then all go:
//!          thread i: its share of the n operations (see `work`)
//!          thread 0 also: should_stop -> the stop flag; progress; once its share is done,
//!                         the same until the last thread is
//!     ─► first failure (by thread) | stopped: sync, Interrupted | sync ─► elapsed ─► io() ─► result
//! ```
//!
//! How the work is split (N threads, `n` operations, thread `i` takes
//! `n*i/N .. n*(i+1)/N` of them):
//! - fillseq: the keys of those operation numbers: every key once;
//! - fillrandom, overwrite: random keys of its own `N`th of the key space,
//!   so no key is written by two threads;
//! - readrandom, readmissing: random keys of the whole key space;
//! - YCSB: the mix over the whole key space, inserts claiming the next key
//!   from a shared counter;
//! - readseq: an iteration of its own from the first key, its share of `n`
//!   entries long (the kernel's store lock is held per iteration, so these
//!   take turns there, and thread 0 hears Ctrl-C only between them);
//!
//! each thread drawing from `Rng(seed + i)` (thread 0: the seed, as a run of
//! one thread). The result is the sum (ops, bytes, found, the mix), the wall
//! time from the common start to the end of the final sync (so ops/s is the
//! throughput of all of them), the percentiles over every thread's
//! latencies, and each thread's own ops/s.

use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use crate::args::{Params, MAX_THREADS};
use crate::run::{
    interrupted, io_between, latencies, prepare, run, ticks_to_us, BenchError, BenchResult, Clock,
    Figures, Hooks, PerThread, State, Store,
};
use crate::work::{work, End, Marks, Shared, Tally};

/// What each thread of a run makes for itself, on its own core: a handle
/// on the store (each takes the store's lock per operation, as one thread
/// does), a clock (the same counter on every core), and the hooks of a
/// thread other than the first (only their `after_op` is called: the
/// first thread's are the caller's, which also stop the run and hear
/// progress).
pub trait Team: Sync {
    /// A thread's handle on the store.
    type Store: Store;
    /// A thread's clock.
    type Clock: Clock;
    /// A thread's hooks (threads 1 and on).
    type Hooks: Hooks;
    /// A handle on the store.
    fn store(&self) -> Self::Store;
    /// A clock.
    fn clock(&self) -> Self::Clock;
    /// Hooks for a thread other than the first.
    fn hooks(&self) -> Self::Hooks;
}

/// Runs `job(i)` for every `i` in `0..n` at once, job 0 on the calling
/// core, returning when all have; or fails, running nothing, saying how
/// many threads the host can run (the kernel's `Host::parallel`).
pub type Parallel<'a> = &'a dyn Fn(usize, &(dyn Fn(usize) + Sync)) -> Result<(), String>;

type StoreError<T> = <<T as Team>::Store as Store>::Error;

/// One thread's latencies, counters, outcome and end.
struct Slot<E> {
    lat: Vec<u32>,
    tally: Tally,
    /// `None` until the thread has finished.
    outcome: Option<Result<(), End<E>>>,
    /// The counter when its share ended.
    end: u64,
}

/// Counts a thread finished when dropped, after its slot's guard (declared
/// before it): thread 0 then finds the slot free.
struct Finish<'a>(&'a AtomicUsize);

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }
}

/// Runs `p` from `p.threads` threads at once (see the module doc); with one
/// thread, exactly [`run`] on the caller's core. `hooks` are the first
/// thread's: they hear progress and stop the run, and only that thread
/// calls them. `state` is updated as by [`run`], once.
pub fn run_threads<T, H>(
    p: &Params,
    state: &mut State,
    team: &T,
    hooks: &mut H,
    parallel: Parallel<'_>,
) -> Result<BenchResult, BenchError<StoreError<T>>>
where
    T: Team,
    H: Hooks + Send,
    StoreError<T>: Send,
{
    let mut store = team.store();
    let mut clock = team.clock();
    if p.threads <= 1 {
        return run(p, state, &mut store, &mut clock, hooks);
    }
    let n = p.threads.min(MAX_THREADS);
    // A run the host cannot give its cores does nothing at all: no load,
    // no change to the state.
    parallel(n, &|_| {}).map_err(BenchError::NoCores)?;
    let state_before = *state;
    let setup = prepare(p, state, &mut store, hooks)?;
    let before = store.io().map_err(BenchError::Store)?;
    let sh = Shared::new(p, setup.keys, &setup.picker, &setup.values, n);
    let mut slots = Vec::with_capacity(n);
    for i in 0..n {
        let (from, to) = sh.share(i);
        slots.push(spin::Mutex::new(Slot {
            lat: latencies(to - from, p.n)?,
            tally: Tally::default(),
            outcome: None,
            end: 0,
        }));
    }
    hooks.timed_start();
    let start = AtomicU64::new(0);
    let arrived = AtomicUsize::new(0);
    let go = AtomicBool::new(false);
    // Only thread 0 takes it: the lock is how a `Send` borrow of the
    // caller's hooks reaches the job, which every core shares.
    let lead = spin::Mutex::new(&mut *hooks);
    let job = |i: usize| {
        let mut store = team.store();
        let mut clock = team.clock();
        // However the job ends (a panic on the host), thread 0 stops
        // waiting for it.
        let _finish = Finish(&sh.finished);
        // Each thread's own slot: nobody else takes it until all are done.
        let mut slot = slots[i].lock();
        let s = &mut *slot;
        // A common start: no thread begins before the last one is here
        // (a core woken for its job may come a little later).
        arrived.fetch_add(1, Ordering::AcqRel);
        if i == 0 {
            while arrived.load(Ordering::Acquire) < n {
                core::hint::spin_loop();
            }
            start.store(clock.counter(), Ordering::Relaxed);
            go.store(true, Ordering::Release);
        } else {
            while !go.load(Ordering::Acquire) {
                core::hint::spin_loop();
            }
        }
        let outcome = if i == 0 {
            let mut h = lead.lock();
            let mut marks = Marks::new(p.n);
            let outcome = work(
                &sh,
                0,
                Some(&mut marks),
                &mut store,
                &mut clock,
                &mut **h,
                &mut s.lat,
                &mut s.tally,
            );
            s.end = clock.counter();
            if matches!(outcome, Err(End::Failed(_))) {
                sh.stop.store(true, Ordering::Relaxed);
            }
            // Still the one that hears Ctrl-C and reports progress, until
            // the last thread is done.
            while sh.finished.load(Ordering::Acquire) < n - 1 {
                // Asked until the answer is yes (or another thread failed).
                if !sh.stopped() && h.should_stop() {
                    sh.stop.store(true, Ordering::Relaxed);
                }
                marks.report(sh.total_done(), &mut **h);
                core::hint::spin_loop();
            }
            marks.report(sh.total_done(), &mut **h);
            outcome
        } else {
            let mut h = team.hooks();
            let outcome = work(
                &sh,
                i,
                None,
                &mut store,
                &mut clock,
                &mut h,
                &mut s.lat,
                &mut s.tally,
            );
            s.end = clock.counter();
            if matches!(outcome, Err(End::Failed(_))) {
                sh.stop.store(true, Ordering::Relaxed);
            }
            outcome
        };
        s.outcome = Some(outcome);
    };
    if let Err(why) = parallel(n, &job) {
        // Taken since the probe: nothing ran after all (YCSB's load did,
        // and stands).
        if p.workload.is_fill() {
            state.loaded_keys = state_before.loaded_keys;
        }
        return Err(BenchError::NoCores(why));
    }
    let start = start.load(Ordering::Relaxed);
    let mut slots: Vec<Slot<StoreError<T>>> =
        slots.into_iter().map(spin::Mutex::into_inner).collect();
    let mut stopped = false;
    for s in &mut slots {
        match s.outcome.take() {
            Some(Ok(())) => {}
            Some(Err(End::Failed(e))) => return Err(e),
            Some(Err(End::Stop)) | None => stopped = true,
        }
    }
    let ops: u64 = slots.iter().map(|s| s.lat.len() as u64).sum();
    if stopped {
        return Err(interrupted(&mut store, ops, p.n, false));
    }
    // Everything the run wrote is durable before the report.
    store.sync().map_err(BenchError::Store)?;
    let elapsed = clock.counter().saturating_sub(start);
    let after = store.io().map_err(BenchError::Store)?;
    let frequency = clock.frequency();
    let mut tally = Tally::default();
    let mut per_thread = PerThread {
        threads: n,
        ..PerThread::ONE
    };
    for (i, s) in slots.iter_mut().enumerate() {
        tally.add(&s.tally);
        s.lat.sort_unstable();
        per_thread.ops[i] = s.lat.len() as u64;
        per_thread.elapsed_us[i] = ticks_to_us(s.end.saturating_sub(start), frequency).max(1);
    }
    let lat: Vec<&[u32]> = slots.iter().map(|s| s.lat.as_slice()).collect();
    let figures = Figures {
        tally,
        elapsed,
        frequency,
        io: io_between(&before, &after),
        per_thread,
    };
    Ok(figures.result(p, &setup, &lat))
}

//! LevelDB db_bench's and YCSB's workloads over any store, as the kernel's
//! `BENCH` command and the host's `db_bench` example run them.
//!
//! ```text
//!   args::Params::parse(BENCH's arguments)      ArgError (Display: the console's message)
//!           │
//!   run::run(params, &mut State, store, clock, hooks) ─► BenchResult ─► report() ─► console::Report
//!           │                         │      │      │
//!           │   Store: get/put/scan/read_seq/sync/io   Clock: counter+frequency
//!           │   Hooks: timed_start, after_op (WAL write-out), progress, should_stop (Ctrl-C)
//!   threads::run_threads(params, &mut State, team, hooks, parallel): threads=N, one
//!           store/clock/hooks per thread from the Team, thread 0 the caller's
//!   work: one thread's share of the operations (the loop both runners share)
//!   ycsb: the A-F mixes, zipfian (scrambled), latest, uniform
//! ```
//!
//! Keys are 16 bytes, `%016d` of the key number ([`key`]), as db_bench's;
//! values `value_size` bytes, each a window of printable pseudo-random data
//! that names its key, which every read checks ([`values`]). Every draw
//! comes from `lsm::random::Rng` seeded by the run's seed, so a seed replays
//! a run exactly. The crate knows nothing of the kernel: the caller gives the
//! store, the clock and the hooks, and keeps the [`State`] between runs.
#![no_std]
#![warn(missing_docs)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod args;
pub mod report;
pub mod run;
pub mod threads;
pub mod values;
mod work;
pub mod ycsb;

pub use args::{ArgError, Params, Workload, MAX_THREADS, USAGE};
pub use report::{CacheCounters, CacheFigures};
pub use run::{
    run, BenchError, BenchResult, Clock, Hooks, Mix, PerThread, Progress, State, Store,
    PROGRESS_MIN_OPS,
};
pub use threads::{run_threads, Parallel, Team};

/// Bytes of every key the workloads make.
pub const KEY_LEN: usize = 16;

/// Key number `i` as db_bench writes it: `%016d` (the low 16 digits).
pub fn key(i: u64) -> [u8; KEY_LEN] {
    let mut k = [b'0'; KEY_LEN];
    let mut v = i;
    // The leading zeros are already there: a key below 10^6 costs six
    // divisions, not sixteen.
    for b in k.iter_mut().rev() {
        if v == 0 {
            break;
        }
        *b = b'0' + (v % 10) as u8;
        v /= 10;
    }
    k
}

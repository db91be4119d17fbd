//! A run on one thread, and what every run is made of: the [`Store`],
//! [`Clock`] and [`Hooks`] traits the caller implements, the [`State`] kept
//! between runs, the [`BenchResult`] and the [`BenchError`].
//!
//! ```text
//!   values and keys from Rng(seed) ─► [YCSB: untimed load of the missing keys, sync]
//!     ─► io() ─► timed_start ─► start ─► n operations, each: should_stop? op, after_op, latency,
//!                         progress every n/10 (n >= 200,000)
//!                         (readseq: one iteration; the clock and should_stop once per 64 entries)
//!     ─► sync ─► elapsed ─► io() ─► BenchResult
//! ```
//!
//! The operations themselves are `work`'s (one thread's share), and a run
//! from several cores is `threads`'s. The key space a run reads defaults to
//! the one the last fill loaded; that is the caller's [`State`], kept
//! between runs (the kernel keeps one per boot).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use lsm::db::IoStats;

use crate::args::{Params, Workload, MAX_THREADS};
use crate::values::Values;
pub use crate::work::READSEQ_BATCH;
use crate::work::{work, End, Marks, Shared, Tally};
use crate::ycsb::{Dist, Picker, Ycsb};
use crate::{key, KEY_LEN};

/// The store a workload runs against. Errors are the caller's own type;
/// the run stops at the first and returns it.
pub trait Store {
    /// Why an operation failed.
    type Error;
    /// Looks `key` up: its value into `value` (whatever `value` held before
    /// is dropped), and whether it has one.
    fn get(&mut self, key: &[u8], value: &mut Vec<u8>) -> Result<bool, Self::Error>;
    /// Writes `key`; with `sync`, returns once the write is on the disk.
    fn put(&mut self, key: &[u8], value: &[u8], sync: bool) -> Result<(), Self::Error>;
    /// Reads up to `limit` entries in key order from `start`, calling `visit`
    /// with each key and value: how many there were.
    fn scan(
        &mut self,
        start: &[u8],
        limit: usize,
        visit: &mut dyn FnMut(&[u8], &[u8]),
    ) -> Result<u64, Self::Error>;
    /// Iterates every entry in key order from the first, calling `visit` with
    /// each key and value, until it returns false.
    fn read_seq(&mut self, visit: &mut dyn FnMut(&[u8], &[u8]) -> bool) -> Result<(), Self::Error>;
    /// Makes every write so far durable.
    fn sync(&mut self) -> Result<(), Self::Error>;
    /// The store's device I/O so far (the report's disk figures are the
    /// difference over the timed run).
    fn io(&mut self) -> Result<IoStats, Self::Error>;
}

/// A monotonic counter and its frequency (the generic timer's counter in
/// the kernel, nanoseconds of an `Instant` on the host).
pub trait Clock {
    /// The counter now.
    fn counter(&mut self) -> u64;
    /// Counts per second.
    fn frequency(&self) -> u64;
}

/// What the caller does around the timed operations; every method has a
/// default that does nothing.
pub trait Hooks {
    /// Once, right before the timed operations (after YCSB's load and the
    /// store's first [`Store::io`]): where the caller snapshots figures of
    /// its own that the report compares, as the kernel does its read cache's
    /// counters.
    fn timed_start(&mut self) {}
    /// After each timed operation (inside its latency), not during readseq's
    /// iteration nor YCSB's load: `buffered` when it was a write with
    /// `sync=0`, whose WAL record is buffered (the kernel notes it and
    /// writes buffered records out on time here).
    fn after_op(&mut self, _buffered: bool) {}
    /// After every tenth of the operations, when there are at least
    /// [`PROGRESS_MIN_OPS`] (not for readseq).
    fn progress(&mut self, _p: Progress) {}
    /// Asked before every operation (and every key of YCSB's load, and every
    /// entry of readseq): true stops the run there with
    /// [`BenchError::Interrupted`], after a sync.
    fn should_stop(&mut self) -> bool {
        false
    }
}

/// No hooks.
impl Hooks for () {}

/// Runs of fewer operations report no progress.
pub const PROGRESS_MIN_OPS: u64 = 200_000;

/// How far a run is; prints as the kernel's progress line,
/// `progress: DONE/TOTAL ops`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Operations done.
    pub done: u64,
    /// Operations in the run.
    pub total: u64,
}

impl fmt::Display for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "progress: {}/{} ops", self.done, self.total)
    }
}

/// What runs leave for the next: the key space the last fill loaded
/// (0: none yet), which reads (and overwrite, and YCSB) default to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct State {
    /// Keys `0..loaded_keys` are the loaded key space.
    pub loaded_keys: u64,
}

impl State {
    /// Nothing loaded yet.
    pub const fn new() -> State {
        State { loaded_keys: 0 }
    }
}

/// YCSB's operations by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mix {
    /// Reads.
    pub reads: u64,
    /// Updates.
    pub updates: u64,
    /// Inserts.
    pub inserts: u64,
    /// Scans.
    pub scans: u64,
    /// Read-modify-writes.
    pub read_modify_writes: u64,
}

/// Every figure of a run (the report prints them; see
/// [`BenchResult::report`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BenchResult {
    /// What ran.
    pub workload: Workload,
    /// Operations timed (readseq: entries read).
    pub ops: u64,
    /// The key space.
    pub keys: u64,
    /// Bytes of each value written.
    pub value_size: usize,
    /// Whether writes were synced.
    pub sync: bool,
    /// Microseconds from the first operation to the end of the final sync
    /// (at least 1).
    pub elapsed_us: u64,
    /// Key and value bytes read and written.
    pub bytes: u64,
    /// Median latency, microseconds.
    pub p50_us: u64,
    /// 99th percentile latency.
    pub p99_us: u64,
    /// 99.9th percentile latency.
    pub p999_us: u64,
    /// Reads that found their key, plus entries scanned or iterated.
    pub found: u64,
    /// YCSB's distribution (`None` for the others).
    pub dist: Option<Dist>,
    /// YCSB's operations by kind (zero for the others).
    pub mix: Mix,
    /// Device I/O of the timed run.
    pub io: IoStats,
    /// The threads that ran it, and each one's figures.
    pub per_thread: PerThread,
}

/// A run's threads: how many, and (for runs of several) each one's
/// operations and time from the common start to its last operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PerThread {
    /// Threads that ran the workload.
    pub threads: usize,
    /// Operations of each (zero past `threads`, and for one thread).
    pub ops: [u64; MAX_THREADS],
    /// Microseconds each took (zero past `threads`, and for one thread).
    pub elapsed_us: [u64; MAX_THREADS],
}

impl PerThread {
    /// A run on one thread: no figures of its own beyond the run's.
    pub const ONE: PerThread = PerThread {
        threads: 1,
        ops: [0; MAX_THREADS],
        elapsed_us: [0; MAX_THREADS],
    };

    /// Each thread's operations per second over its own time.
    pub fn ops_per_sec(&self) -> impl Iterator<Item = f64> + '_ {
        self.ops
            .iter()
            .zip(&self.elapsed_us)
            .take(self.threads)
            .map(|(&ops, &us)| ops as f64 * 1e6 / us.max(1) as f64)
    }
}

impl BenchResult {
    /// Seconds the run took, as the report counts them (whole microseconds).
    pub fn secs(&self) -> f64 {
        self.elapsed_us as f64 / 1e6
    }

    /// Operations per second.
    pub fn ops_per_sec(&self) -> f64 {
        self.ops as f64 / self.secs()
    }

    /// Megabytes (10^6) of keys and values per second.
    pub fn mb_per_sec(&self) -> f64 {
        self.bytes as f64 / self.secs() / 1e6
    }
}

/// Why a run stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BenchError<E> {
    /// The store failed.
    Store(E),
    /// No room for `n` latencies (asked for up front, so a run too big for
    /// the memory is refused instead of dying halfway).
    NoMemory {
        /// Operations asked for.
        n: u64,
    },
    /// A read got a value that the workloads did not write for its key
    /// (another key's, cut short, or changed): the store is wrong, or
    /// something other than BENCH wrote the key.
    WrongValue {
        /// The key read.
        key: [u8; KEY_LEN],
    },
    /// [`Hooks::should_stop`] said stop; what was written so far is synced.
    Interrupted {
        /// Keys loaded (`loading`) or operations done.
        done: u64,
        /// Out of.
        of: u64,
        /// Whether YCSB's load phase was running.
        loading: bool,
    },
    /// The host cannot run the threads asked for (its message: how many it
    /// can); nothing ran.
    NoCores(String),
}

impl<E: fmt::Display> fmt::Display for BenchError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BenchError::Store(e) => e.fmt(f),
            BenchError::NoMemory { n } => write!(
                f,
                "not enough memory to record {n} latencies; use a smaller n or more RAM (-m)"
            ),
            BenchError::WrongValue { key } => write!(
                f,
                "key {} read back a value BENCH did not write for it",
                core::str::from_utf8(key).unwrap_or("?")
            ),
            BenchError::Interrupted {
                done,
                of,
                loading: true,
            } => write!(f, "interrupted while loading: {done} of {of} keys loaded"),
            BenchError::Interrupted { done, of, .. } => {
                write!(f, "interrupted after {done} of {of} operations")
            }
            BenchError::NoCores(why) => f.write_str(why),
        }
    }
}

impl<E: fmt::Display + fmt::Debug> core::error::Error for BenchError<E> {}

/// `count` ticks of a `frequency` Hz counter in microseconds.
pub fn ticks_to_us(count: u64, frequency: u64) -> u64 {
    (u128::from(count) * 1_000_000 / u128::from(frequency.max(1))) as u64
}

/// Syncs, then says where the run stopped.
pub(crate) fn interrupted<S: Store + ?Sized>(
    store: &mut S,
    done: u64,
    of: u64,
    loading: bool,
) -> BenchError<S::Error> {
    match store.sync() {
        Ok(()) => BenchError::Interrupted { done, of, loading },
        Err(e) => BenchError::Store(e),
    }
}

/// What a run settles before its timed operations.
pub(crate) struct Setup {
    pub keys: u64,
    pub ycsb: Option<Ycsb>,
    pub dist: Dist,
    pub picker: Picker,
    /// The value pool, its cursor past YCSB's load.
    pub values: Values,
}

/// The key space, YCSB's load (on the caller's thread), the distribution
/// and its picker. Fills mark their key space loaded in `state` here.
pub(crate) fn prepare<S, H>(
    p: &Params,
    state: &mut State,
    store: &mut S,
    hooks: &mut H,
) -> Result<Setup, BenchError<S::Error>>
where
    S: Store + ?Sized,
    H: Hooks + ?Sized,
{
    let mut values = Values::new();
    let fill = p.workload.is_fill();
    let loaded = state.loaded_keys;
    let keys = p
        .keys
        .unwrap_or(if fill || loaded == 0 { p.n } else { loaded })
        .max(1);
    if fill {
        state.loaded_keys = keys;
    }
    let ycsb = p.workload.ycsb();
    if ycsb.is_some() {
        load(state, store, hooks, keys, p.value_size, &mut values)?;
    }
    let dist = p
        .dist
        .unwrap_or_else(|| ycsb.map_or(Dist::Uniform, Ycsb::default_dist));
    // Only YCSB picks records; the others get a one-item generator, which
    // costs nothing to set up (a zipfian one over `keys` is O(keys)).
    let picker = Picker::new(dist, if ycsb.is_some() { keys } else { 1 });
    Ok(Setup {
        keys,
        ycsb,
        dist,
        picker,
        values,
    })
}

/// Room for `n` latencies, asked for up front: a run too big for the
/// memory is refused instead of dying halfway.
pub(crate) fn latencies<E>(n: u64, of: u64) -> Result<Vec<u32>, BenchError<E>> {
    let mut lat = Vec::new();
    lat.try_reserve_exact(n as usize)
        .map_err(|_| BenchError::NoMemory { n: of })?;
    Ok(lat)
}

/// Runs `p` against `store` on this thread (`p.threads` must be 1; see
/// [`run_threads`](crate::run_threads) for more). `state` says which key
/// space the last fill loaded and is updated by fills and YCSB's load.
pub fn run<S, C, H>(
    p: &Params,
    state: &mut State,
    store: &mut S,
    clock: &mut C,
    hooks: &mut H,
) -> Result<BenchResult, BenchError<S::Error>>
where
    S: Store + ?Sized,
    C: Clock + ?Sized,
    H: Hooks + ?Sized,
{
    if p.threads != 1 {
        return Err(BenchError::NoCores(format!(
            "{} threads: this runner runs one",
            p.threads
        )));
    }
    let setup = prepare(p, state, store, hooks)?;
    let before = store.io().map_err(BenchError::Store)?;
    let mut lat = latencies(p.n, p.n)?;
    let mut t = Tally::default();
    let sh = Shared::new(p, setup.keys, &setup.picker, &setup.values, 1);
    hooks.timed_start();
    let start = clock.counter();
    let mut marks = Marks::new(p.n);
    let done = work(
        &sh,
        0,
        Some(&mut marks),
        store,
        clock,
        hooks,
        &mut lat,
        &mut t,
    );
    match done {
        Ok(()) => {}
        Err(End::Stop) => return Err(interrupted(store, lat.len() as u64, p.n, false)),
        Err(End::Failed(e)) => return Err(e),
    }
    // Everything the run wrote is durable before the report.
    store.sync().map_err(BenchError::Store)?;
    let elapsed = clock.counter().saturating_sub(start);
    let after = store.io().map_err(BenchError::Store)?;
    lat.sort_unstable();
    let figures = Figures {
        tally: t,
        elapsed,
        frequency: clock.frequency(),
        io: io_between(&before, &after),
        per_thread: PerThread::ONE,
    };
    Ok(figures.result(p, &setup, &[&lat]))
}

/// A finished run's figures, before the latencies are read.
pub(crate) struct Figures {
    pub tally: Tally,
    /// Counter ticks from the first operation to the end of the final sync.
    pub elapsed: u64,
    pub frequency: u64,
    pub io: IoStats,
    pub per_thread: PerThread,
}

impl Figures {
    /// The result, its percentiles over every thread's latencies (each
    /// sorted).
    pub fn result(self, p: &Params, setup: &Setup, lat: &[&[u32]]) -> BenchResult {
        let ops: u64 = lat.iter().map(|l| l.len() as u64).sum();
        let pct = |q: f64| -> u64 {
            let Some(last) = ops.checked_sub(1) else {
                return 0;
            };
            let rank = ((ops as f64 * q) as u64).min(last);
            ticks_to_us(u64::from(nth(lat, rank)), self.frequency)
        };
        BenchResult {
            workload: p.workload,
            ops,
            keys: setup.keys,
            value_size: p.value_size,
            sync: p.sync,
            elapsed_us: ticks_to_us(self.elapsed, self.frequency).max(1),
            bytes: self.tally.bytes,
            p50_us: pct(0.50),
            p99_us: pct(0.99),
            p999_us: pct(0.999),
            found: self.tally.found,
            dist: setup.ycsb.map(|_| setup.dist),
            mix: self.tally.mix,
            io: self.io,
            per_thread: self.per_thread,
        }
    }
}

/// The `rank`-th smallest (from 0) of the union of sorted lists, which
/// must hold more than `rank` items: the smallest value with more than
/// `rank` items at or below it, found by halving the value range (32
/// steps, each a binary search per list) instead of merging lists of up
/// to `n` latencies.
fn nth(sorted: &[&[u32]], rank: u64) -> u32 {
    let (mut lo, mut hi) = (0u32, u32::MAX);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let at_most: u64 = sorted
            .iter()
            .map(|l| l.partition_point(|&x| x <= mid) as u64)
            .sum();
        if at_most > rank {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

/// YCSB's load phase, untimed: the records the run reads must exist. Keys
/// the last fill (or load) already wrote are not written again.
fn load<S, H>(
    state: &mut State,
    store: &mut S,
    hooks: &mut H,
    keys: u64,
    value_size: usize,
    values: &mut Values,
) -> Result<(), BenchError<S::Error>>
where
    S: Store + ?Sized,
    H: Hooks + ?Sized,
{
    let from = state.loaded_keys.min(keys);
    let mut value = Vec::new();
    for i in from..keys {
        if hooks.should_stop() {
            // Keys 0..i now exist: the next run loads from there.
            state.loaded_keys = i;
            return Err(interrupted(store, i, keys, true));
        }
        let k = key(i);
        values.next(&k, value_size, &mut value);
        store.put(&k, &value, false).map_err(BenchError::Store)?;
    }
    store.sync().map_err(BenchError::Store)?;
    state.loaded_keys = keys;
    Ok(())
}

/// The I/O between two snapshots of the store's counters.
pub fn io_between(before: &IoStats, after: &IoStats) -> IoStats {
    IoStats {
        reads: after.reads.saturating_sub(before.reads),
        read_bytes: after.read_bytes.saturating_sub(before.read_bytes),
        writes: after.writes.saturating_sub(before.writes),
        write_bytes: after.write_bytes.saturating_sub(before.write_bytes),
        flushes: after.flushes.saturating_sub(before.flushes),
    }
}

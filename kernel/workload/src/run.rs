//! The run loop: one workload against a [`Store`], timed by a [`Clock`], with
//! the caller's [`Hooks`] between operations.
//!
//! ```text
//!   values and keys from Rng(seed) ─► [YCSB: untimed load of the missing keys, sync]
//!     ─► io() ─► timed_start ─► start ─► n operations, each: should_stop? op, after_op, latency,
//!                         progress every n/10 (n >= 200,000)
//!                         (readseq: one iteration; the clock and should_stop once per 64 entries)
//!     ─► sync ─► elapsed ─► io() ─► BenchResult
//! ```
//!
//! The key space a run reads defaults to the one the last fill loaded; that
//! is the caller's [`State`], kept between runs (the kernel keeps one per
//! boot).

use alloc::vec::Vec;
use core::fmt;

use lsm::db::IoStats;
use lsm::random::Rng;

use crate::args::{Params, Workload};
use crate::values::{is_bench_key, Values};
use crate::ycsb::{Dist, Op, Picker, Ycsb};
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
        }
    }
}

impl<E: fmt::Display + fmt::Debug> core::error::Error for BenchError<E> {}

/// `count` ticks of a `frequency` Hz counter in microseconds.
pub fn ticks_to_us(count: u64, frequency: u64) -> u64 {
    (u128::from(count) * 1_000_000 / u128::from(frequency.max(1))) as u64
}

/// Syncs, then says where the run stopped.
fn interrupted<S: Store + ?Sized>(
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

/// The counters one run's operations add to.
#[derive(Default)]
struct Tally {
    found: u64,
    bytes: u64,
    mix: Mix,
}

/// Runs `p` against `store`. `state` says which key space the last fill
/// loaded and is updated by fills and YCSB's load.
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
    let mut rng = Rng::new(p.seed);
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
    let before = store.io().map_err(BenchError::Store)?;
    let mut lat: Vec<u32> = Vec::new();
    lat.try_reserve_exact(p.n as usize)
        .map_err(|_| BenchError::NoMemory { n: p.n })?;
    let mut t = Tally::default();
    hooks.timed_start();
    let start = clock.counter();
    if p.workload == Workload::ReadSeq {
        read_seq(p.n, store, clock, hooks, &values, &mut lat, &mut t)?;
    } else {
        let mut ops = Ops {
            p,
            keys,
            inserted: keys,
            values: &mut values,
            buf: Vec::new(),
            picker: &picker,
            rng: &mut rng,
        };
        let progress_every = if p.n >= PROGRESS_MIN_OPS {
            p.n / 10
        } else {
            u64::MAX
        };
        for i in 0..p.n {
            if hooks.should_stop() {
                return Err(interrupted(store, i, p.n, false));
            }
            let t0 = clock.counter();
            let wrote = ops.one(i, store, &mut t)?;
            hooks.after_op(wrote && !p.sync);
            lat.push(clock.counter().saturating_sub(t0).min(u64::from(u32::MAX)) as u32);
            if (i + 1) % progress_every == 0 {
                hooks.progress(Progress {
                    done: i + 1,
                    total: p.n,
                });
            }
        }
    }
    // Everything the run wrote is durable before the report.
    store.sync().map_err(BenchError::Store)?;
    let elapsed = clock.counter().saturating_sub(start);
    let after = store.io().map_err(BenchError::Store)?;

    let freq = clock.frequency();
    lat.sort_unstable();
    let pct = |q: f64| -> u64 {
        let Some(last) = lat.len().checked_sub(1) else {
            return 0;
        };
        ticks_to_us(
            u64::from(lat[((lat.len() as f64 * q) as usize).min(last)]),
            freq,
        )
    };
    Ok(BenchResult {
        workload: p.workload,
        ops: lat.len() as u64,
        keys,
        value_size: p.value_size,
        sync: p.sync,
        elapsed_us: ticks_to_us(elapsed, freq).max(1),
        bytes: t.bytes,
        p50_us: pct(0.50),
        p99_us: pct(0.99),
        p999_us: pct(0.999),
        found: t.found,
        dist: ycsb.map(|_| dist),
        mix: t.mix,
        io: io_between(&before, &after),
    })
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

/// Entries of readseq per clock read and stop check.
pub const READSEQ_BATCH: u32 = 64;

/// readseq: one iteration from the first key. An entry costs about a
/// microsecond under QEMU, as much as the harness would add by reading the
/// clock and asking whether to stop at each one (LevelDB's db_bench reads
/// no clock per entry either): both happen once per [`READSEQ_BATCH`]
/// entries, and each entry's latency is its batch's average.
fn read_seq<S, C, H>(
    n: u64,
    store: &mut S,
    clock: &mut C,
    hooks: &mut H,
    values: &Values,
    lat: &mut Vec<u32>,
    t: &mut Tally,
) -> Result<(), BenchError<S::Error>>
where
    S: Store + ?Sized,
    C: Clock + ?Sized,
    H: Hooks + ?Sized,
{
    let mut stopped = hooks.should_stop();
    let mut start = clock.counter();
    let mut in_batch = 0u32;
    let mut seen = 0u64;
    let mut wrong = None;
    // Closes the batch: its entries get its average latency.
    let mut settle = |lat: &mut Vec<u32>, clock: &mut C, in_batch: &mut u32| {
        let now = clock.counter();
        let per = now.saturating_sub(start) / u64::from((*in_batch).max(1));
        let per = per.min(u64::from(u32::MAX)) as u32;
        lat.extend(core::iter::repeat_n(per, *in_batch as usize));
        start = now;
        *in_batch = 0;
    };
    if !stopped {
        store
            .read_seq(&mut |k, v| {
                if is_bench_key(k) && !values.check(k, v) {
                    wrong = k.try_into().ok();
                    return false;
                }
                t.bytes += (k.len() + v.len()) as u64;
                t.found += 1;
                seen += 1;
                in_batch += 1;
                if in_batch == READSEQ_BATCH {
                    settle(lat, clock, &mut in_batch);
                    if hooks.should_stop() {
                        stopped = true;
                        return false;
                    }
                }
                seen < n
            })
            .map_err(BenchError::Store)?;
    }
    if let Some(key) = wrong {
        return Err(BenchError::WrongValue { key });
    }
    if in_batch > 0 {
        settle(lat, clock, &mut in_batch);
    }
    if stopped && seen < n {
        return Err(interrupted(store, lat.len() as u64, n, false));
    }
    Ok(())
}

/// One run's operations other than readseq.
struct Ops<'a> {
    p: &'a Params,
    keys: u64,
    /// Records YCSB's inserts have made so far (keys `0..inserted`).
    inserted: u64,
    values: &'a mut Values,
    /// The value being written, or the value read: one buffer for the run.
    buf: Vec<u8>,
    picker: &'a Picker,
    rng: &'a mut Rng,
}

impl Ops<'_> {
    /// Operation `i`; true if it wrote.
    fn one<S: Store + ?Sized>(
        &mut self,
        i: u64,
        store: &mut S,
        t: &mut Tally,
    ) -> Result<bool, BenchError<S::Error>> {
        let k = match self.p.workload {
            Workload::FillSeq => key(i),
            Workload::FillRandom | Workload::Overwrite => key(self.rng.uniform(self.keys)),
            Workload::ReadRandom => {
                let k = key(self.rng.uniform(self.keys));
                self.read(store, &k, t)?;
                return Ok(false);
            }
            Workload::ReadMissing => {
                // Keys that sort among the real ones but are never written.
                let mut k = [0u8; KEY_LEN + 1];
                k[..KEY_LEN].copy_from_slice(&key(self.rng.uniform(self.keys)));
                k[KEY_LEN] = b'.';
                if store.get(&k, &mut self.buf).map_err(BenchError::Store)? {
                    t.found += 1;
                }
                return Ok(false);
            }
            // One iteration, not operations: see `read_seq`.
            Workload::ReadSeq => return Ok(false),
            Workload::Ycsb(w) => match w.next_op(self.rng) {
                Op::Read => {
                    t.mix.reads += 1;
                    let k = key(self.pick());
                    self.read(store, &k, t)?;
                    return Ok(false);
                }
                Op::Update => {
                    t.mix.updates += 1;
                    key(self.pick())
                }
                Op::Insert => {
                    t.mix.inserts += 1;
                    self.inserted += 1;
                    key(self.inserted - 1)
                }
                Op::Scan(len) => {
                    t.mix.scans += 1;
                    let start = key(self.pick());
                    let values = &*self.values;
                    let mut wrong = None;
                    let found = store
                        .scan(&start, len as usize, &mut |k, v| {
                            if wrong.is_none() && is_bench_key(k) && !values.check(k, v) {
                                wrong = k.try_into().ok();
                            }
                        })
                        .map_err(BenchError::Store)?;
                    if let Some(key) = wrong {
                        return Err(BenchError::WrongValue { key });
                    }
                    t.found += found;
                    return Ok(false);
                }
                Op::ReadModifyWrite => {
                    t.mix.read_modify_writes += 1;
                    let k = key(self.pick());
                    let mut ignore = Tally::default();
                    self.read(store, &k, &mut ignore)?;
                    k
                }
            },
        };
        self.values.next(&k, self.p.value_size, &mut self.buf);
        store
            .put(&k, &self.buf, self.p.sync)
            .map_err(BenchError::Store)?;
        t.bytes += (KEY_LEN + self.buf.len()) as u64;
        Ok(true)
    }

    fn pick(&mut self) -> u64 {
        self.picker.pick(self.rng, self.inserted)
    }

    /// A read that checks what it got and counts what it found.
    fn read<S: Store + ?Sized>(
        &mut self,
        store: &mut S,
        k: &[u8; KEY_LEN],
        t: &mut Tally,
    ) -> Result<(), BenchError<S::Error>> {
        if store.get(k, &mut self.buf).map_err(BenchError::Store)? {
            if !self.values.check(k, &self.buf) {
                return Err(BenchError::WrongValue { key: *k });
            }
            t.found += 1;
            t.bytes += (KEY_LEN + self.buf.len()) as u64;
        }
        Ok(())
    }
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

//! One thread's share of a run's timed operations, and what a run's threads
//! share: the settings, the key space, YCSB's picker and insert counter,
//! the stop flag and each thread's count of operations done.
//!
//! ```text
//!   thread i of N: operations [n*i/N, n*(i+1)/N), its own Rng(seed + i),
//!   its own cursor into the value pool; before each: (thread 0) should_stop?
//!   -> set the flag; the flag set? stop. Then the op, after_op, latency,
//!   (thread 0) progress at every tenth of the run's total.
//! ```
//!
//! With one thread this is the run loop exactly as it always was: the same
//! draws, the same calls, the same hooks at the same moments.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use lsm::percore::Padded;
use lsm::random::Rng;

use crate::args::{Params, Workload, MAX_THREADS};
use crate::run::{BenchError, Clock, Hooks, Mix, Progress, Store, PROGRESS_MIN_OPS};
use crate::values::{is_bench_key, Values, POOL_BYTES};
use crate::ycsb::{Op, Picker};
use crate::{key, KEY_LEN};

/// The counters one thread's operations add to.
#[derive(Default)]
pub(crate) struct Tally {
    pub found: u64,
    pub bytes: u64,
    pub mix: Mix,
}

impl Tally {
    /// Adds another thread's counters.
    pub fn add(&mut self, o: &Tally) {
        self.found += o.found;
        self.bytes += o.bytes;
        self.mix.reads += o.mix.reads;
        self.mix.updates += o.mix.updates;
        self.mix.inserts += o.mix.inserts;
        self.mix.scans += o.mix.scans;
        self.mix.read_modify_writes += o.mix.read_modify_writes;
    }
}

/// What a run's threads share.
pub(crate) struct Shared<'a> {
    pub p: &'a Params,
    /// The key space.
    pub keys: u64,
    pub picker: &'a Picker,
    /// The pool, and where the first thread's values continue (after
    /// YCSB's load).
    pub values: &'a Values,
    pub threads: usize,
    /// YCSB's records so far (keys `0..inserted`); an insert claims the
    /// next key, so two threads never insert the same one.
    pub inserted: AtomicU64,
    /// Set by the first thread on Ctrl-C and by any thread that fails:
    /// every thread stops before its next operation.
    pub stop: AtomicBool,
    /// Operations each thread has done, each counter on lines of its own:
    /// each thread bumps its own after every operation, and neighbours
    /// sharing a line would make every bump a transfer between cores.
    pub done: [Padded<AtomicU64>; MAX_THREADS],
    /// Threads whose share has ended (done, stopped or failed).
    pub finished: AtomicUsize,
}

impl<'a> Shared<'a> {
    pub fn new(
        p: &'a Params,
        keys: u64,
        picker: &'a Picker,
        values: &'a Values,
        threads: usize,
    ) -> Shared<'a> {
        Shared {
            p,
            keys,
            picker,
            values,
            threads,
            inserted: AtomicU64::new(keys),
            stop: AtomicBool::new(false),
            done: Default::default(),
            finished: AtomicUsize::new(0),
        }
    }

    /// Thread `i`'s operations: `[from, to)` of `0..n`.
    pub fn share(&self, i: usize) -> (u64, u64) {
        split(self.p.n, self.threads, i)
    }

    /// Operations every thread has done so far.
    pub fn total_done(&self) -> u64 {
        self.done[..self.threads]
            .iter()
            .map(|d| d.load(Ordering::Relaxed))
            .sum()
    }

    #[inline]
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// Part `i` of `parts` of `0..total`, as even as whole numbers allow.
pub(crate) fn split(total: u64, parts: usize, i: usize) -> (u64, u64) {
    let parts = parts.max(1) as u128;
    let at = |i: usize| (u128::from(total) * i as u128 / parts) as u64;
    (at(i), at(i + 1))
}

/// Where the next progress line is due: at every tenth of the run's
/// operations, counted over all threads, from [`PROGRESS_MIN_OPS`].
pub(crate) struct Marks {
    every: u64,
    next: u64,
    total: u64,
}

impl Marks {
    pub fn new(n: u64) -> Marks {
        let every = if n >= PROGRESS_MIN_OPS {
            n / 10
        } else {
            u64::MAX
        };
        Marks {
            every,
            next: every,
            total: n,
        }
    }

    /// Reports every tenth that `done` operations have passed: whether it
    /// reported one. Inlined: asked after every operation.
    #[inline]
    pub fn report<H: Hooks + ?Sized>(&mut self, done: u64, hooks: &mut H) -> bool {
        let mut reported = false;
        while done >= self.next && self.next <= self.total {
            hooks.progress(Progress {
                done: self.next,
                total: self.total,
            });
            self.next = self.next.saturating_add(self.every);
            reported = true;
        }
        reported
    }
}

/// Why a thread's share ended before its end.
pub(crate) enum End<E> {
    /// Ctrl-C (the first thread's `should_stop`), or another thread's
    /// failure: nothing of this thread's is wrong.
    Stop,
    /// This thread's store failed, or a read got a wrong value.
    Failed(BenchError<E>),
}

impl<E> From<BenchError<E>> for End<E> {
    fn from(e: BenchError<E>) -> Self {
        End::Failed(e)
    }
}

/// Thread `i`'s share of the timed operations. The `lead` (thread 0, the
/// caller's core) asks `hooks.should_stop` before every operation and
/// reports progress; the others only watch the flag.
#[allow(clippy::too_many_arguments)]
pub(crate) fn work<S, C, H>(
    sh: &Shared<'_>,
    i: usize,
    lead: Option<&mut Marks>,
    store: &mut S,
    clock: &mut C,
    hooks: &mut H,
    lat: &mut Vec<u32>,
    t: &mut Tally,
) -> Result<(), End<S::Error>>
where
    S: Store + ?Sized,
    C: Clock + ?Sized,
    H: Hooks + ?Sized,
{
    let p = sh.p;
    let (from, to) = sh.share(i);
    // Each thread's windows start at its own part of the pool.
    let mut values = sh.values.share(POOL_BYTES / sh.threads.max(1) * i);
    if p.workload == Workload::ReadSeq {
        if to == from {
            return Ok(());
        }
        let is_lead = lead.is_some();
        let mut stop = || {
            if is_lead && hooks.should_stop() {
                sh.stop.store(true, Ordering::Relaxed);
            }
            sh.stopped()
        };
        let r = read_seq(to - from, store, clock, &mut stop, &values, lat, t);
        sh.done[i].store(lat.len() as u64, Ordering::Relaxed);
        return r;
    }
    let mut rng = Rng::new(p.seed.wrapping_add(i as u64));
    // Fills and overwrite write only their own part of the key space: no
    // key is written by two threads. (Too few keys for a part each: the
    // whole space.)
    let (klo, khi) = match split(sh.keys, sh.threads, i) {
        (lo, hi) if hi > lo => (lo, hi),
        _ => (0, sh.keys),
    };
    let mut ops = Ops {
        p,
        sh,
        klo,
        kspan: khi - klo,
        values: &mut values,
        buf: Vec::new(),
        rng: &mut rng,
    };
    let mut lead = lead;
    // One clock read an operation, not two: an operation's latency runs
    // from the end of the one before (the stop checks between them are a
    // few loads). Under TCG a counter read is a call into the emulator.
    let mut t0 = clock.counter();
    for j in from..to {
        if lead.is_some() && hooks.should_stop() {
            sh.stop.store(true, Ordering::Relaxed);
            return Err(End::Stop);
        }
        if sh.stopped() {
            return Err(End::Stop);
        }
        let wrote = ops.one(j, store, t)?;
        hooks.after_op(wrote && !p.sync);
        let t1 = clock.counter();
        lat.push(t1.saturating_sub(t0).min(u64::from(u32::MAX)) as u32);
        t0 = t1;
        let done = lat.len() as u64;
        sh.done[i].store(done, Ordering::Relaxed);
        if let Some(marks) = lead.as_deref_mut() {
            // Reading the other threads' counters takes their cache lines
            // from their cores: once per PROGRESS_EVERY operations, not
            // every one (the progress marks are a tenth of the run apart).
            let reported = if sh.threads == 1 {
                marks.report(done, hooks)
            } else {
                done.is_multiple_of(PROGRESS_EVERY) && marks.report(sh.total_done(), hooks)
            };
            if reported {
                // A progress line is not the next operation's time.
                t0 = clock.counter();
            }
        }
    }
    Ok(())
}

/// Operations between the first thread's looks at the others' counts.
const PROGRESS_EVERY: u64 = 256;

/// Entries of readseq per clock read and stop check.
pub const READSEQ_BATCH: u32 = 64;

/// readseq: one iteration from the first key. An entry costs about a
/// microsecond under QEMU, as much as the harness would add by reading the
/// clock and asking whether to stop at each one (LevelDB's db_bench reads
/// no clock per entry either): both happen once per [`READSEQ_BATCH`]
/// entries, and each entry's latency is its batch's average.
fn read_seq<S, C>(
    n: u64,
    store: &mut S,
    clock: &mut C,
    should_stop: &mut dyn FnMut() -> bool,
    values: &Values,
    lat: &mut Vec<u32>,
    t: &mut Tally,
) -> Result<(), End<S::Error>>
where
    S: Store + ?Sized,
    C: Clock + ?Sized,
{
    let mut stopped = should_stop();
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
                    if should_stop() {
                        stopped = true;
                        return false;
                    }
                }
                seen < n
            })
            .map_err(BenchError::Store)?;
    }
    if let Some(key) = wrong {
        return Err(BenchError::WrongValue { key }.into());
    }
    if in_batch > 0 {
        settle(lat, clock, &mut in_batch);
    }
    if stopped && seen < n {
        return Err(End::Stop);
    }
    Ok(())
}

/// One thread's operations other than readseq.
struct Ops<'a, 's> {
    p: &'a Params,
    sh: &'a Shared<'s>,
    /// The part of the key space fills and overwrite write: `klo..klo+kspan`.
    klo: u64,
    kspan: u64,
    values: &'a mut Values,
    /// The value being written, or the value read: one buffer for the run.
    buf: Vec<u8>,
    rng: &'a mut Rng,
}

impl Ops<'_, '_> {
    /// Operation `i`; true if it wrote.
    fn one<S: Store + ?Sized>(
        &mut self,
        i: u64,
        store: &mut S,
        t: &mut Tally,
    ) -> Result<bool, BenchError<S::Error>> {
        let k = match self.p.workload {
            Workload::FillSeq => key(i),
            Workload::FillRandom | Workload::Overwrite => {
                key(self.klo + self.rng.uniform(self.kspan))
            }
            Workload::ReadRandom => {
                let k = key(self.rng.uniform(self.sh.keys));
                self.read(store, &k, t)?;
                return Ok(false);
            }
            Workload::ReadMissing => {
                // Keys that sort among the real ones but are never written.
                let mut k = [0u8; KEY_LEN + 1];
                k[..KEY_LEN].copy_from_slice(&key(self.rng.uniform(self.sh.keys)));
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
                    key(self.sh.inserted.fetch_add(1, Ordering::Relaxed))
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

    /// A record YCSB reads or updates: among those inserted so far (by any
    /// thread; one another thread has claimed but not yet written reads as
    /// missing).
    fn pick(&mut self) -> u64 {
        self.sh
            .picker
            .pick(self.rng, self.sh.inserted.load(Ordering::Relaxed))
    }

    /// A read that checks what it got and counts what it found.
    #[inline]
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

//! Runs from several threads (`threads=N`, `run_threads`) against a model
//! store that std threads share: how the work is split, every key written
//! once, every read checked, the merged result, stopping (Ctrl-C on thread
//! 0, a failure on any), a host without the cores, and one thread as `run`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::thread::{self, ThreadId};

use lsm::db::IoStats;
use lsm::random::Rng;
use workload::values::Values;
use workload::{
    key, run, run_threads, BenchError, BenchResult, Clock, Hooks, Params, Progress, State, Store,
    Team,
};

const GET_COST: u64 = 3;
const PUT_COST: u64 = 5;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Call {
    Get(Vec<u8>),
    Put(Vec<u8>),
    Scan,
    ReadSeq,
    Sync,
}

/// The model: one map behind a lock, every call with the thread that made
/// it, one counter for a clock (each call moves it by its cost).
#[derive(Default)]
struct Model {
    map: Mutex<BTreeMap<Vec<u8>, Vec<u8>>>,
    calls: Mutex<Vec<(ThreadId, Call)>>,
    now: AtomicU64,
    puts: AtomicU64,
    /// The other threads' `after_op` calls.
    after_ops: AtomicU64,
    /// Puts from this many on fail with "disk full".
    fail_from: Option<u64>,
}

impl Model {
    fn record(&self, c: Call, cost: u64) {
        self.now.fetch_add(cost, Ordering::Relaxed);
        self.calls.lock().unwrap().push((thread::current().id(), c));
    }

    fn calls(&self) -> Vec<Call> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .map(|(_, c)| c.clone())
            .collect()
    }

    /// Each thread's puts, by thread.
    fn puts_by_thread(&self) -> HashMap<ThreadId, Vec<Vec<u8>>> {
        let mut by = HashMap::<ThreadId, Vec<Vec<u8>>>::new();
        for (t, c) in self.calls.lock().unwrap().iter() {
            if let Call::Put(k) = c {
                by.entry(*t).or_default().push(k.clone());
            }
        }
        by
    }

    fn count(&self, f: impl Fn(&Call) -> bool) -> usize {
        self.calls().iter().filter(|c| f(c)).count()
    }
}

/// A thread's handle on the model.
struct Handle<'a>(&'a Model);

impl Store for Handle<'_> {
    type Error = String;

    fn get(&mut self, key: &[u8], value: &mut Vec<u8>) -> Result<bool, String> {
        self.0.record(Call::Get(key.to_vec()), GET_COST);
        match self.0.map.lock().unwrap().get(key) {
            Some(v) => {
                value.clone_from(v);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn put(&mut self, key: &[u8], value: &[u8], _sync: bool) -> Result<(), String> {
        let n = self.0.puts.fetch_add(1, Ordering::Relaxed);
        if self.0.fail_from.is_some_and(|f| n >= f) {
            return Err("disk full".into());
        }
        self.0.record(Call::Put(key.to_vec()), PUT_COST);
        self.0
            .map
            .lock()
            .unwrap()
            .insert(key.to_vec(), value.to_vec());
        Ok(())
    }

    fn scan(
        &mut self,
        start: &[u8],
        limit: usize,
        visit: &mut dyn FnMut(&[u8], &[u8]),
    ) -> Result<u64, String> {
        self.0.record(Call::Scan, 11);
        let map = self.0.map.lock().unwrap();
        let mut n = 0;
        for (k, v) in map.range(start.to_vec()..).take(limit) {
            visit(k, v);
            n += 1;
        }
        Ok(n)
    }

    fn read_seq(&mut self, visit: &mut dyn FnMut(&[u8], &[u8]) -> bool) -> Result<(), String> {
        self.0.record(Call::ReadSeq, 0);
        let map = self.0.map.lock().unwrap();
        for (k, v) in map.iter() {
            self.0.now.fetch_add(1, Ordering::Relaxed);
            if !visit(k, v) {
                break;
            }
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<(), String> {
        self.0.record(Call::Sync, 7);
        Ok(())
    }

    fn io(&mut self) -> Result<IoStats, String> {
        Ok(IoStats::default())
    }
}

struct ModelClock<'a>(&'a AtomicU64);

impl Clock for ModelClock<'_> {
    fn counter(&mut self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
    fn frequency(&self) -> u64 {
        1_000_000
    }
}

/// Counts the other threads' `after_op` calls.
struct Counted<'a>(&'a AtomicU64);

impl Hooks for Counted<'_> {
    fn after_op(&mut self, _buffered: bool) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    fn should_stop(&mut self) -> bool {
        panic!("only thread 0 asks whether to stop");
    }
}

struct Crew<'a> {
    model: &'a Model,
}

impl<'a> Crew<'a> {
    fn new(model: &'a Model) -> Crew<'a> {
        Crew { model }
    }
}

impl<'a> Team for Crew<'a> {
    type Store = Handle<'a>;
    type Clock = ModelClock<'a>;
    type Hooks = Counted<'a>;
    fn store(&self) -> Handle<'a> {
        Handle(self.model)
    }
    fn clock(&self) -> ModelClock<'a> {
        ModelClock(&self.model.now)
    }
    fn hooks(&self) -> Counted<'a> {
        Counted(&self.model.after_ops)
    }
}

/// Thread 0's hooks: progress, after_op, and a stop from its `stop_at`-th
/// question on.
#[derive(Default)]
struct Lead {
    progress: Vec<Progress>,
    after_ops: u64,
    asked: u64,
    stop_at: Option<u64>,
    timed_start: u64,
}

impl Hooks for Lead {
    fn timed_start(&mut self) {
        self.timed_start += 1;
    }
    fn after_op(&mut self, _buffered: bool) {
        self.after_ops += 1;
    }
    fn progress(&mut self, p: Progress) {
        self.progress.push(p);
    }
    fn should_stop(&mut self) -> bool {
        self.asked += 1;
        self.stop_at.is_some_and(|k| self.asked >= k)
    }
}

/// std threads for cores, up to `cores`.
fn cores(cores: usize) -> impl Fn(usize, &(dyn Fn(usize) + Sync)) -> Result<(), String> {
    move |n, job| {
        if n > cores {
            return Err(format!("{n} threads need {n} cores; {cores} can run one"));
        }
        thread::scope(|s| {
            for i in 1..n {
                s.spawn(move || job(i));
            }
            job(0);
        });
        Ok(())
    }
}

fn params(line: &str) -> Params {
    let args: Vec<&str> = line.split(' ').collect();
    Params::parse(&args).unwrap()
}

type Outcome = Result<BenchResult, BenchError<String>>;

fn bench(m: &Model, s: &mut State, line: &str) -> Outcome {
    bench_with(m, s, line, &mut Lead::default())
}

fn bench_with(m: &Model, s: &mut State, line: &str, lead: &mut Lead) -> Outcome {
    run_threads(&params(line), s, &Crew::new(m), lead, &cores(8))
}

#[test]
fn fillseq_writes_every_key_once_split_in_order() {
    let m = Model::default();
    let mut s = State::new();
    let r = bench(&m, &mut s, "fillseq 1000 threads=4").unwrap();
    assert_eq!((r.ops, r.keys, r.per_thread.threads), (1000, 1000, 4));
    assert_eq!(r.per_thread.ops[..4], [250; 4]);
    assert_eq!(r.bytes, 1000 * 116);
    assert_eq!(s.loaded_keys, 1000);
    // Every key once; each thread its own quarter, in order.
    let by = m.puts_by_thread();
    assert_eq!(by.len(), 4);
    let mut quarters: Vec<Vec<Vec<u8>>> = by.into_values().collect();
    quarters.sort();
    for (q, keys) in quarters.iter().enumerate() {
        let want: Vec<Vec<u8>> = (q as u64 * 250..(q as u64 + 1) * 250)
            .map(|i| key(i).to_vec())
            .collect();
        assert_eq!(*keys, want);
    }
    // Every value is its key's, and no two threads wrote the same bytes.
    let values = Values::new();
    let map = m.map.lock().unwrap();
    assert!(map.iter().all(|(k, v)| values.check(k, v)));
    let bodies: HashSet<&[u8]> = map.values().map(|v| &v[24..]).collect();
    assert_eq!(bodies.len(), 1000);
    // Synced once, at the end.
    assert_eq!(m.calls().last(), Some(&Call::Sync));
    assert_eq!(m.count(|c| *c == Call::Sync), 1);
}

#[test]
fn fillrandom_threads_write_their_own_part_of_the_key_space() {
    let m = Model::default();
    let mut s = State::new();
    let r = bench(&m, &mut s, "fillrandom 4000 threads=4").unwrap();
    assert_eq!(r.ops, 4000);
    let by = m.puts_by_thread();
    assert_eq!(by.values().map(Vec::len).sum::<usize>(), 4000);
    let mut seen = HashSet::new();
    for keys in by.values() {
        assert_eq!(keys.len(), 1000);
        let parts: HashSet<u64> = keys
            .iter()
            .map(|k| std::str::from_utf8(k).unwrap().parse::<u64>().unwrap() / 1000)
            .collect();
        assert_eq!(parts.len(), 1, "one part of the key space per thread");
        assert!(seen.insert(*parts.iter().next().unwrap()));
    }
    // Random within the part: most of each thread's quarter, not in order.
    assert!(m.map.lock().unwrap().len() > 2000);
}

#[test]
fn reads_draw_from_seed_plus_thread_and_check_every_value() {
    let m = Model::default();
    let mut s = State::new();
    bench(&m, &mut s, "fillseq 2000").unwrap();
    let fill_calls = m.calls().len();
    let r = bench(&m, &mut s, "readrandom 3000 threads=3 seed=40").unwrap();
    assert_eq!((r.ops, r.found, r.keys), (3000, 3000, 2000));
    assert_eq!(r.bytes, 3000 * 116);
    // Thread i drew its 1000 keys from Rng(40 + i).
    let calls = m.calls.lock().unwrap();
    let mut per: HashMap<ThreadId, Vec<Vec<u8>>> = HashMap::new();
    for (t, c) in &calls[fill_calls..] {
        if let Call::Get(k) = c {
            per.entry(*t).or_default().push(k.clone());
        }
    }
    let mut got: Vec<Vec<Vec<u8>>> = per.into_values().collect();
    got.sort();
    let mut want: Vec<Vec<Vec<u8>>> = (0..3)
        .map(|i| {
            let mut rng = Rng::new(40 + i);
            (0..1000).map(|_| key(rng.uniform(2000)).to_vec()).collect()
        })
        .collect();
    want.sort();
    assert_eq!(got, want);
    drop(calls);

    // A wrong value stops the run with the thread that read it.
    m.map
        .lock()
        .unwrap()
        .insert(key(5).to_vec(), b"not this key's".to_vec());
    let e = bench(&m, &mut s, "readrandom 200000 threads=4").unwrap_err();
    assert_eq!(e, BenchError::WrongValue { key: key(5) });
}

#[test]
fn the_result_adds_up_every_thread() {
    let m = Model::default();
    let mut s = State::new();
    bench(&m, &mut s, "fillseq 500").unwrap();
    let mut lead = Lead::default();
    let crew = Crew::new(&m);
    let r = run_threads(
        &params("ycsb-b 4000 threads=4"),
        &mut s,
        &crew,
        &mut lead,
        &cores(4),
    )
    .unwrap();
    assert_eq!(r.ops, 4000);
    assert_eq!(r.mix.reads + r.mix.updates, 4000);
    assert_eq!(r.found, r.mix.reads);
    assert_eq!(r.per_thread.ops[..4], [1000; 4]);
    assert!(r.per_thread.ops[4..].iter().all(|&o| o == 0));
    // Each thread's time is within the run's; reads cost 3, updates 5 on
    // a clock all threads move, so the percentiles are those costs.
    assert!(r.per_thread.elapsed_us[..4]
        .iter()
        .all(|&us| us > 0 && us <= r.elapsed_us));
    assert!(r.p50_us >= GET_COST);
    assert_eq!(lead.timed_start, 1);
    assert_eq!(lead.after_ops, 1000, "thread 0's hooks hear its own ops");
    assert_eq!(m.after_ops.load(Ordering::Relaxed), 3000);
    let rates: Vec<f64> = r.per_thread.ops_per_sec().collect();
    assert_eq!(rates.len(), 4);

    // YCSB's inserts take distinct keys past the loaded ones.
    let before = m.puts_by_thread().values().map(Vec::len).sum::<usize>();
    let r = bench(&m, &mut s, "ycsb-d 4000 threads=4").unwrap();
    let puts: Vec<Vec<u8>> = m.puts_by_thread().into_values().flatten().collect();
    assert_eq!(puts.len() - before, r.mix.inserts as usize);
    let inserted: HashSet<&Vec<u8>> = puts
        .iter()
        .filter(|k| k.as_slice() >= &key(500)[..])
        .collect();
    assert_eq!(inserted.len() as u64, r.mix.inserts);
    let want: HashSet<Vec<u8>> = (500..500 + r.mix.inserts)
        .map(|i| key(i).to_vec())
        .collect();
    assert_eq!(inserted, want.iter().collect());
}

#[test]
fn readseq_threads_each_iterate_their_share() {
    let m = Model::default();
    let mut s = State::new();
    bench(&m, &mut s, "fillseq 1000").unwrap();
    let r = bench(&m, &mut s, "readseq 1000 threads=2").unwrap();
    assert_eq!((r.ops, r.found), (1000, 1000));
    assert_eq!(r.per_thread.ops[..2], [500, 500]);
    assert_eq!(m.count(|c| *c == Call::ReadSeq), 2);
    // More threads than entries: the extra ones read nothing.
    let r = bench(&m, &mut s, "readseq 3 threads=5").unwrap();
    assert_eq!(r.ops, 3);
}

#[test]
fn one_thread_is_run_exactly() {
    for line in [
        "fillrandom 3000 seed=7",
        "readrandom 2000",
        "ycsb-a 1500",
        "readseq 700",
    ] {
        let (a, b) = (Model::default(), Model::default());
        let (mut sa, mut sb) = (State::new(), State::new());
        bench(&a, &mut sa, "fillseq 1000").unwrap();
        bench(&b, &mut sb, "fillseq 1000").unwrap();
        let p = params(line);
        let (mut la, mut lb) = (Lead::default(), Lead::default());
        let ra = run(
            &p,
            &mut sa,
            &mut Handle(&a),
            &mut ModelClock(&a.now),
            &mut la,
        )
        .unwrap();
        let rb = run_threads(
            &params(&format!("{line} threads=1")),
            &mut sb,
            &Crew::new(&b),
            &mut lb,
            &cores(1),
        )
        .unwrap();
        assert_eq!(ra, rb, "{line}");
        assert_eq!(a.calls(), b.calls(), "{line}");
        assert_eq!((sa, la.asked, la.after_ops), (sb, lb.asked, lb.after_ops));
        assert_eq!(rb.report(None, 15), ra.report(None, 15));
        let names: Vec<String> = rb.report(None, 15).sections()[0]
            .fields
            .iter()
            .map(|f| f.0.clone())
            .collect();
        assert!(!names.iter().any(|n| n.starts_with("thread")), "{names:?}");
    }
    // run() itself takes one thread only.
    let m = Model::default();
    let e = run(
        &params("fillseq 10 threads=2"),
        &mut State::new(),
        &mut Handle(&m),
        &mut ModelClock(&m.now),
        &mut (),
    )
    .unwrap_err();
    assert!(matches!(e, BenchError::NoCores(_)), "{e:?}");
}

#[test]
fn the_report_names_the_threads_and_each_ones_rate() {
    let m = Model::default();
    let r = bench(&m, &mut State::new(), "fillseq 800 threads=2").unwrap();
    let fields = r.report(None, 15).sections()[0].fields.clone();
    let names: Vec<&str> = fields.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(
        names[..11],
        [
            "workload",
            "ops",
            "keys",
            "value_size",
            "sync",
            "threads",
            "elapsed_ms",
            "ops_per_sec",
            "mb_per_sec",
            "thread_ops_per_sec",
            "p50_us",
        ]
    );
    assert_eq!(fields[5].1, "2");
    let rates: Vec<f64> = fields[9].1.split(',').map(|r| r.parse().unwrap()).collect();
    assert_eq!(rates.len(), 2);
    assert!(rates.iter().all(|&r| r > 0.0), "{rates:?}");
}

#[test]
fn ctrl_c_on_thread_0_stops_every_thread() {
    let m = Model::default();
    let mut s = State::new();
    let mut lead = Lead {
        stop_at: Some(50),
        ..Lead::default()
    };
    let e = bench_with(&m, &mut s, "fillseq 400000 threads=4", &mut lead).unwrap_err();
    let BenchError::Interrupted { done, of, loading } = e else {
        panic!("{e:?}");
    };
    assert_eq!((of, loading), (400_000, false));
    assert!(done < 400_000, "{done}");
    assert_eq!(
        lead.asked, 50,
        "thread 0 stopped at the question that said stop"
    );
    // What was done is what was written, synced.
    assert_eq!(m.count(|c| matches!(c, Call::Put(_))) as u64, done);
    assert_eq!(m.calls().last(), Some(&Call::Sync));

    // Thread 0 keeps listening once its own share is done: a stop then
    // still ends the others. (Its share: no operations at all.)
    let m = Model::default();
    let mut lead = Lead {
        stop_at: Some(1),
        ..Lead::default()
    };
    let e = bench_with(&m, &mut s, "fillseq 3 threads=4", &mut lead);
    // Three operations for four threads: thread 0 has none; the run
    // either finished before the question or was stopped by it.
    assert!(
        e.is_ok() || matches!(e, Err(BenchError::Interrupted { .. })),
        "{e:?}"
    );
}

#[test]
fn a_failure_on_any_thread_stops_them_all_and_is_the_result() {
    let m = Model {
        fail_from: Some(100),
        ..Model::default()
    };
    let e = bench(&m, &mut State::new(), "fillseq 400000 threads=4").unwrap_err();
    assert_eq!(e, BenchError::Store("disk full".into()));
    // Each thread fails at most once before it sees the flag.
    assert!(
        m.puts.load(Ordering::Relaxed) < 100 + 4 + 4,
        "stopped promptly"
    );
}

#[test]
fn progress_counts_every_threads_operations() {
    let m = Model::default();
    let mut lead = Lead::default();
    bench_with(
        &m,
        &mut State::new(),
        "fillseq 200000 value_size=0 threads=4",
        &mut lead,
    )
    .unwrap();
    let want: Vec<Progress> = (1..=10)
        .map(|k| Progress {
            done: k * 20_000,
            total: 200_000,
        })
        .collect();
    assert_eq!(lead.progress, want);
}

#[test]
fn too_many_threads_for_the_host_run_nothing() {
    let m = Model::default();
    let mut s = State { loaded_keys: 77 };
    let mut lead = Lead::default();
    let e = run_threads(
        &params("fillseq 1000 threads=3"),
        &mut s,
        &Crew::new(&m),
        &mut lead,
        &cores(2),
    )
    .unwrap_err();
    assert_eq!(
        e,
        BenchError::NoCores("3 threads need 3 cores; 2 can run one".into())
    );
    assert_eq!(e.to_string(), "3 threads need 3 cores; 2 can run one");
    assert!(m.calls().is_empty());
    assert_eq!(s.loaded_keys, 77);
    assert_eq!((lead.timed_start, lead.asked), (0, 0));
    // YCSB's load does not run either.
    let e = run_threads(
        &params("ycsb-a 1000 threads=3"),
        &mut s,
        &Crew::new(&m),
        &mut lead,
        &cores(2),
    );
    assert!(matches!(e, Err(BenchError::NoCores(_))));
    assert!(m.calls().is_empty());
}

//! db_bench's workloads (16-byte keys, 100-byte values) on the engine alone,
//! over an in-memory device or a file, so the engine's own cost can be
//! profiled and compared with LevelDB natively. The workloads are the
//! kernel's `BENCH` ones, run by the same driver (`workload::run`).
//!
//! `cargo run --release -p workload --example db_bench -- [--keys N]
//! [--file PATH] [--cache-mb MB] [--benchmarks LIST] [--sync-num N]
//! [--background]`
//!
//! `--benchmarks` lists workloads as db_bench's flag does (default
//! `fillseq,fillrandom,overwrite,readrandom,readseq,readmissing,fillsync`;
//! `compact` compacts every level into the deepest, as db_bench's does):
//! a fill starts a fresh store, the others run on the last one; fillsync
//! is `--sync-num` (1,000) synced puts of random keys, as the anchors'
//! kvbench does. `tools/native-bench` runs it beside LevelDB and RocksDB.
//!
//! `--cache-mb` gives the store a CLOCK block cache of that many MiB (the
//! kernel's default is 8, like LevelDB's); without it every block a lookup
//! needs is read from the device and checked.
//!
//! `--background` runs the store's flushes and compactions on a thread of
//! their own (`lsm`'s background mode, as the kernel runs them on a core
//! of their own with two cores or more, and as LevelDB runs them); without
//! it they run inside the writes that need them.
//!
//! With `--file PATH`, each store lives in its own file `PATH.<fill>`,
//! zeroed and formatted afresh (put it on a real disk to measure syncs).

use lsm::db::{Db, IoStats, Options};
use lsm::iter::KvIter;
use std::fmt::Display;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};
use workload::{BenchResult, Clock, Params, State, Store, Workload};

mod clock_cache;
mod device;

use clock_cache::ClockCache;
use device::{device, Dev};

/// The engine as the workloads' store.
struct Engine(Db<Dev>);

/// `--background`: the thread that runs the store's flushes and
/// compactions, woken when the owner freezes a memtable or lookups ask for
/// a seek compaction (and every 10 ms, should a wake-up come between its
/// look and its park).
struct Worker {
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

/// The background thread, for the store's `wake` (a plain `fn`).
static WORKER: Mutex<Option<thread::Thread>> = Mutex::new(None);

fn wake_worker() {
    if let Some(t) = WORKER.lock().unwrap().as_ref() {
        t.unpark();
    }
}

impl Worker {
    fn start(db: &Db<Dev>) -> Worker {
        let (bg, stop) = (db.background(), Arc::new(AtomicBool::new(false)));
        let flag = stop.clone();
        let thread = thread::spawn(move || {
            while !flag.load(Ordering::Acquire) {
                match bg.work() {
                    Ok(true) => continue,
                    Ok(false) => {}
                    Err(e) => eprintln!("db_bench: background: {e}"),
                }
                if !bg.pending() {
                    thread::park_timeout(Duration::from_millis(10));
                }
            }
        });
        *WORKER.lock().unwrap() = Some(thread.thread().clone());
        Worker {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

fn options(background: bool) -> Options {
    if !background {
        return Options::default();
    }
    Options {
        background: true,
        wake: Some(wake_worker),
        wait: Some(thread::yield_now),
        delay_us: Some(|us| thread::sleep(Duration::from_micros(us))),
        ..Options::default()
    }
}

impl Store for Engine {
    type Error = lsm::Error;

    fn get(&mut self, key: &[u8], value: &mut Vec<u8>) -> Result<bool, lsm::Error> {
        self.0.get_into(key, None, value)
    }
    fn put(&mut self, key: &[u8], value: &[u8], sync: bool) -> Result<(), lsm::Error> {
        self.0.put(key, value, sync)
    }
    fn scan(
        &mut self,
        start: &[u8],
        limit: usize,
        visit: &mut dyn FnMut(&[u8], &[u8]),
    ) -> Result<u64, lsm::Error> {
        let mut it = self.0.iter(None)?;
        it.seek(start)?;
        let mut n = 0;
        while it.valid() && n < limit as u64 {
            visit(it.key(), it.value());
            n += 1;
            it.next()?;
        }
        Ok(n)
    }
    fn read_seq(&mut self, visit: &mut dyn FnMut(&[u8], &[u8]) -> bool) -> Result<(), lsm::Error> {
        let mut it = self.0.iter(None)?;
        it.seek_to_first()?;
        while it.valid() && visit(it.key(), it.value()) {
            it.next()?;
        }
        Ok(())
    }
    fn sync(&mut self) -> Result<(), lsm::Error> {
        let r = self.0.sync_wal();
        callgrind_mark();
        r
    }
    fn io(&mut self) -> Result<IoStats, lsm::Error> {
        Ok(self.0.stats().io)
    }
}

/// Nanoseconds since the bench began.
struct HostClock(Instant);

impl Clock for HostClock {
    fn counter(&mut self) -> u64 {
        self.0.elapsed().as_nanos() as u64
    }
    fn frequency(&self) -> u64 {
        1_000_000_000
    }
}

/// One store and the key space its fills loaded.
struct Bench {
    store: Engine,
    state: State,
    /// The store's background thread, if it has one: dropped after the
    /// store, which it then finds closed.
    _worker: Option<Worker>,
}

impl Bench {
    fn run(&mut self, p: &Params) -> Result<BenchResult, String> {
        let mut clock = HostClock(Instant::now());
        workload::run(p, &mut self.state, &mut self.store, &mut clock, &mut Marks).map_err(msg)
    }
}

/// db_bench's order (kvbench's, with readmissing): overwrite and the reads
/// run on fillrandom's store.
const DEFAULT_BENCHMARKS: &str =
    "fillseq,fillrandom,overwrite,readrandom,readseq,readmissing,fillsync";

fn msg(e: impl Display) -> String {
    e.to_string()
}

fn report(name: &str, r: &BenchResult) {
    let secs = r.secs();
    println!(
        "{name:12} {:>10.0} ops/s  {:>8.2} us/op",
        r.ops_per_sec(),
        secs * 1e6 / r.ops as f64
    );
}

/// Called where each workload's timed operations begin (the
/// `timed_start` hook) and where they end (after the final sync), so that
/// `valgrind --tool=callgrind --dump-before='*callgrind_mark*'` writes one
/// profile per workload (the even-numbered dumps), counting every thread.
#[inline(never)]
fn callgrind_mark() {
    std::hint::black_box(());
}

struct Marks;

impl workload::Hooks for Marks {
    fn timed_start(&mut self) {
        callgrind_mark();
    }
}

fn main() -> ExitCode {
    match bench() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("db_bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The store the workloads run on and whether every key of `0..n` is in
/// it (then readrandom must find them all).
struct Current {
    bench: Bench,
    dense: bool,
    fill: String,
}

impl Current {
    fn print_shape(&self) {
        let s = self.bench.store.0.stats();
        println!(
            "# {} store: levels (tables, bytes) {:?}",
            self.fill, s.levels
        );
        println!(
            "# {} store: compactions {}  flushes {}  write amplification {:.2}",
            self.fill,
            s.compactions,
            s.flushes,
            s.write_amplification()
        );
    }
}

fn bench() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let n: u64 = arg("--keys")
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000)
        .max(1);
    let path = arg("--file");
    let cache_mb: usize = arg("--cache-mb").and_then(|s| s.parse().ok()).unwrap_or(0);
    let sync_num: u64 = arg("--sync-num")
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000)
        .max(1);
    let list = arg("--benchmarks").unwrap_or_else(|| DEFAULT_BENCHMARKS.to_string());
    let background = args.iter().any(|a| a == "--background");
    let fresh = |tag: &str| -> Result<Bench, String> {
        let p = path.as_ref().map(|p| format!("{p}.{tag}"));
        let mut db = Db::open(device(p.as_deref())?, options(background))
            .map_err(msg)?
            .0;
        if cache_mb > 0 {
            db.set_block_cache(Some(Arc::new(ClockCache::new(cache_mb << 20))));
        }
        let worker = background.then(|| Worker::start(&db));
        Ok(Bench {
            store: Engine(db),
            state: State::new(),
            _worker: worker,
        })
    };
    println!(
        "{n} keys of 16 bytes, values of 100 bytes, on {}, CLOCK block cache {cache_mb} MiB, {}",
        path.as_deref().unwrap_or("memory"),
        if background {
            "flushes and compactions on a background thread"
        } else {
            "flushes and compactions inside the writes"
        }
    );

    let mut cur: Option<Current> = None;
    for (i, name) in list.split(',').filter(|s| !s.is_empty()).enumerate() {
        if name == "compact" {
            // db_bench's `compact`: every level into the deepest, timed
            // and marked as a workload is.
            let Some(c) = cur.as_mut() else {
                return Err("compact needs a fill before it".to_string());
            };
            let start = Instant::now();
            callgrind_mark();
            c.bench.store.0.compact_all().map_err(msg)?;
            callgrind_mark();
            println!("compact      {:>10.3} s", start.elapsed().as_secs_f64());
            continue;
        }
        // As in db_bench, a fill starts a fresh store and the others use
        // the last one; the old store goes first, so that its file (and
        // memory) is not held twice.
        let (workload, ops, sync) = match name {
            "fillseq" => (Workload::FillSeq, n, false),
            "fillrandom" => (Workload::FillRandom, n, false),
            "fillsync" => (Workload::FillRandom, sync_num, true),
            "overwrite" => (Workload::Overwrite, n, false),
            "readrandom" => (Workload::ReadRandom, n, false),
            "readseq" => (Workload::ReadSeq, n, false),
            "readmissing" => (Workload::ReadMissing, n, false),
            _ => {
                return Err(format!(
                    "unknown benchmark '{name}' (not in {DEFAULT_BENCHMARKS})"
                ))
            }
        };
        if workload.is_fill() {
            if let Some(old) = cur.take() {
                old.print_shape();
            }
            cur = Some(Current {
                bench: fresh(name)?,
                dense: workload == Workload::FillSeq,
                fill: name.to_string(),
            });
        }
        let Some(c) = cur.as_mut() else {
            return Err(format!("{name} needs a fill before it"));
        };
        let p = Params {
            n: ops,
            sync,
            keys: Some(n),
            // Each workload draws other keys (db_bench's generator runs
            // on): overwrite must not rewrite fillrandom's keys in order.
            seed: Params::new(workload).seed + i as u64,
            ..Params::new(workload)
        };
        let r = c.bench.run(&p)?;
        match workload {
            Workload::ReadRandom if c.dense && r.found != n => {
                return Err(format!("readrandom found {} of {n} keys", r.found));
            }
            Workload::ReadMissing if r.found != 0 => {
                return Err(format!("readmissing found {} keys", r.found));
            }
            Workload::ReadRandom => println!("# readrandom: found {} of {n}", r.found),
            Workload::ReadSeq => println!("# readseq: read {} entries", r.found),
            _ => {}
        }
        report(name, &r);
    }

    if let Some(c) = &cur {
        c.print_shape();
    }
    Ok(())
}

//! A model store (a BTreeMap that logs every call), a clock the store
//! advances by a fixed cost per operation, hooks that record what the run
//! told them, and `bench`, which runs a db_bench line against them.

#![allow(dead_code)]

use std::cell::Cell;
use std::collections::BTreeMap;
use std::rc::Rc;

use lsm::db::IoStats;
use workload::{run, BenchError, BenchResult, Clock, Hooks, Params, Progress, State, Store};

/// Ticks (1 MHz: microseconds) each kind of call costs on the shared clock.
pub const GET_COST: u64 = 3;
pub const PUT_COST: u64 = 5;
pub const SCAN_COST: u64 = 11;
pub const SYNC_COST: u64 = 7;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    Get(Vec<u8>),
    Put(Vec<u8>, bool),
    Scan(Vec<u8>, usize),
    ReadSeq,
    Sync,
}

/// The model: what is stored, every call in order, I/O counted as one read
/// per get or scan, one write (of key and value bytes) per put, one flush
/// per sync or synced put.
#[derive(Default)]
pub struct Model {
    pub map: BTreeMap<Vec<u8>, Vec<u8>>,
    pub calls: Vec<Call>,
    pub io: IoStats,
    pub now: Rc<Cell<u64>>,
    /// Puts so far, shared with hooks that check when they were called.
    pub puts: Rc<Cell<u64>>,
    /// The put (counted from 0) that fails with "disk full".
    pub fail_put: Option<u64>,
    /// Entries every scan so far returned.
    pub scanned: u64,
}

impl Model {
    pub fn new() -> Model {
        Model::default()
    }

    pub fn clock(&self) -> TestClock {
        TestClock(Rc::clone(&self.now))
    }

    fn spend(&self, ticks: u64) {
        self.now.set(self.now.get() + ticks);
    }

    pub fn puts_of(&self) -> Vec<(Vec<u8>, bool)> {
        self.calls
            .iter()
            .filter_map(|c| match c {
                Call::Put(k, s) => Some((k.clone(), *s)),
                _ => None,
            })
            .collect()
    }

    pub fn gets_of(&self) -> Vec<Vec<u8>> {
        self.calls
            .iter()
            .filter_map(|c| match c {
                Call::Get(k) => Some(k.clone()),
                _ => None,
            })
            .collect()
    }
}

impl Store for Model {
    type Error = String;

    fn get(&mut self, key: &[u8], value: &mut Vec<u8>) -> Result<bool, String> {
        self.spend(GET_COST);
        self.calls.push(Call::Get(key.to_vec()));
        self.io.reads += 1;
        match self.map.get(key) {
            Some(v) => {
                value.clone_from(v);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn put(&mut self, key: &[u8], value: &[u8], sync: bool) -> Result<(), String> {
        if self.fail_put == Some(self.puts.get()) {
            return Err("disk full".into());
        }
        self.spend(PUT_COST);
        self.calls.push(Call::Put(key.to_vec(), sync));
        self.io.writes += 1;
        self.io.write_bytes += (key.len() + value.len()) as u64;
        if sync {
            self.io.flushes += 1;
        }
        self.puts.set(self.puts.get() + 1);
        self.map.insert(key.to_vec(), value.to_vec());
        Ok(())
    }

    fn scan(
        &mut self,
        start: &[u8],
        limit: usize,
        visit: &mut dyn FnMut(&[u8], &[u8]),
    ) -> Result<u64, String> {
        self.spend(SCAN_COST);
        self.calls.push(Call::Scan(start.to_vec(), limit));
        self.io.reads += 1;
        let mut n = 0;
        for (k, v) in self.map.range(start.to_vec()..).take(limit) {
            visit(k, v);
            n += 1;
        }
        self.scanned += n;
        Ok(n)
    }

    fn read_seq(&mut self, visit: &mut dyn FnMut(&[u8], &[u8]) -> bool) -> Result<(), String> {
        self.calls.push(Call::ReadSeq);
        for (k, v) in &self.map {
            self.now.set(self.now.get() + 1);
            if !visit(k, v) {
                break;
            }
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<(), String> {
        self.spend(SYNC_COST);
        self.calls.push(Call::Sync);
        self.io.flushes += 1;
        Ok(())
    }

    fn io(&mut self) -> Result<IoStats, String> {
        Ok(self.io)
    }
}

/// Reads the model's time; reading costs nothing.
pub struct TestClock(pub Rc<Cell<u64>>);

impl Clock for TestClock {
    fn counter(&mut self) -> u64 {
        self.0.get()
    }
    fn frequency(&self) -> u64 {
        1_000_000
    }
}

/// Records every hook call; stops when `stop_at` calls of `should_stop`
/// have said no.
#[derive(Default)]
pub struct Recording {
    pub after_op: Vec<bool>,
    pub progress: Vec<(Progress, u64)>,
    pub stop_checks: u64,
    pub stop_at: Option<u64>,
    /// Puts the model had made when `timed_start` came, each time.
    pub timed_start: Vec<u64>,
    /// The model's put counter, to see when progress came.
    pub puts: Rc<Cell<u64>>,
}

impl Recording {
    pub fn new(model: &Model) -> Recording {
        Recording {
            puts: Rc::clone(&model.puts),
            ..Recording::default()
        }
    }
}

impl Hooks for Recording {
    fn timed_start(&mut self) {
        self.timed_start.push(self.puts.get());
    }
    fn after_op(&mut self, buffered: bool) {
        self.after_op.push(buffered);
    }
    fn progress(&mut self, p: Progress) {
        self.progress.push((p, self.puts.get()));
    }
    fn should_stop(&mut self) -> bool {
        let stop = self.stop_at == Some(self.stop_checks);
        self.stop_checks += 1;
        stop
    }
}

/// What a run gives.
pub type Outcome = Result<BenchResult, BenchError<String>>;

/// The parameters of a db_bench line (`fillseq 1000 keys=10`).
pub fn params(line: &str) -> Params {
    let args: Vec<&str> = line.split(' ').collect();
    Params::parse(&args).unwrap()
}

/// Runs a db_bench line against the model, with hooks that only record.
pub fn bench(m: &mut Model, s: &mut State, line: &str) -> Outcome {
    let mut h = Recording::new(m);
    bench_with(m, s, line, &mut h)
}

/// Runs a db_bench line against the model, with these hooks.
pub fn bench_with(m: &mut Model, s: &mut State, line: &str, h: &mut Recording) -> Outcome {
    let mut clock = m.clock();
    run(&params(line), s, m, &mut clock, h)
}

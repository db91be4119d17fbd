//! `BENCH`: the `workload` crate's db_bench and YCSB workloads against the
//! store service, with the store's own disk counters and the read cache's
//! hit counters in the report; `threads=N` runs them from N cores at once
//! (`Host::parallel`), every thread taking the store's lock per operation.

use alloc::vec::Vec;

use console::{Invocation, Reply};
use kv::StoreCell;
use lsm::db::{IoStats, WriteBatch};
use lsm::iter::KvIter;
use workload::{BenchError, CacheCounters, CacheFigures, Params, Progress, State, Team};

use crate::ctx::{CmdError, Ctx, Sink};

/// The store as the workloads see it: one lock per operation, as any other
/// session's command would take it; shared for reads, so that the threads
/// of `threads=N` read on their cores at once.
struct Target<'a> {
    cell: &'a StoreCell,
    /// The batch each put goes in, reset and filled again: a put allocates
    /// nothing ([`lsm::db::Db::write_batch`]).
    batch: WriteBatch,
}

impl Target<'_> {
    fn with<R>(
        &mut self,
        f: impl FnOnce(&mut kv::Store) -> lsm::Result<R>,
    ) -> Result<R, lsm::Error> {
        let mut guard = self.cell.lock();
        // The service cannot stop while a command holds the console; a
        // store that is gone reads as one that refuses.
        let store = guard.as_mut().ok_or(lsm::Error::ReadOnly)?;
        f(store)
    }

    fn reading<R>(&self, f: impl FnOnce(&kv::Store) -> lsm::Result<R>) -> Result<R, lsm::Error> {
        let guard = self.cell.read();
        let store = guard.as_ref().ok_or(lsm::Error::ReadOnly)?;
        f(store)
    }
}

impl workload::Store for Target<'_> {
    type Error = lsm::Error;

    fn get(&mut self, key: &[u8], value: &mut Vec<u8>) -> Result<bool, lsm::Error> {
        // One buffer for the run: a read copies its value once and
        // allocates nothing.
        self.reading(|s| Ok(s.get_into(key, || s.now_ms(), value)?.is_some()))
    }

    fn put(&mut self, key: &[u8], value: &[u8], sync: bool) -> Result<(), lsm::Error> {
        // The header beside the value, in the run's one batch.
        let header = kv::value::header(None);
        let header = header.as_bytes();
        let batch = &mut self.batch;
        batch.reset(WriteBatch::put_size(key.len(), header.len() + value.len()));
        batch.put_parts(key, &[header, value]);
        // As any session's write: a slowdown is waited out without the
        // lock, so the other threads of `threads=N` go on meanwhile.
        let mut guard = self.cell.lock_for_write();
        let store = guard.as_mut().ok_or(lsm::Error::ReadOnly)?;
        if sync {
            store.write_deferred_known(batch, false)?;
            store.commit()
        } else {
            // BENCH's values never expire.
            store.write_buffered(batch, false)
        }
    }

    fn scan(
        &mut self,
        start: &[u8],
        limit: usize,
        visit: &mut dyn FnMut(&[u8], &[u8]),
    ) -> Result<u64, lsm::Error> {
        self.reading(|s| {
            let mut it = s.scan(start, limit)?;
            let mut n = 0;
            while it.valid() && n < limit as u64 {
                visit(it.key(), payload(it.value()));
                n += 1;
                it.next()?;
            }
            Ok(n)
        })
    }

    fn read_seq(&mut self, visit: &mut dyn FnMut(&[u8], &[u8]) -> bool) -> Result<(), lsm::Error> {
        self.reading(|s| {
            let mut it = s.db().iter(None)?;
            it.seek(b"")?;
            while it.valid() && visit(it.key(), payload(it.value())) {
                it.next()?;
            }
            Ok(())
        })
    }

    fn sync(&mut self) -> Result<(), lsm::Error> {
        self.with(|s| s.sync())
    }

    fn io(&mut self) -> Result<IoStats, lsm::Error> {
        self.with(|s| Ok(s.stats().io))
    }
}

/// The value in stored bytes (empty if they are not a value: the
/// workload's check then fails on it).
fn payload(stored: &[u8]) -> &[u8] {
    kv::value::decode(stored).map_or(&[], |raw| raw.value)
}

/// The generic timer (or whatever the host's clock is).
struct Counter(kv::Clock);

impl workload::Clock for Counter {
    fn counter(&mut self) -> u64 {
        self.0.counter()
    }

    fn frequency(&self) -> u64 {
        self.0.hz
    }
}

/// Writes buffered (`sync=0`) WAL records out once their deadline has
/// passed: the store's tick, which no other core gives it while BENCH holds
/// the console.
fn write_out(cell: &StoreCell, buffered: bool) {
    if buffered {
        if let Some(store) = cell.lock().as_mut() {
            // A failed write-out latches the store: the next write says so.
            let _ = store.tick();
        }
    }
}

/// Between operations of the first thread (the session's core): the
/// sync=0 write-out deadline, progress lines, and Ctrl-C.
struct Hooks<'a> {
    cell: &'a StoreCell,
    out: &'a mut dyn Sink,
    cache_before: Option<CacheCounters>,
}

/// Between operations of the other threads: the write-out deadline only.
struct Tick<'a> {
    cell: &'a StoreCell,
}

impl workload::Hooks for Tick<'_> {
    fn after_op(&mut self, buffered: bool) {
        write_out(self.cell, buffered);
    }
}

/// What each thread makes on its core: the store behind the one lock, the
/// generic timer (one counter on every core), and its hooks.
struct Crew<'a> {
    cell: &'a StoreCell,
    clock: kv::Clock,
}

impl<'a> Team for Crew<'a> {
    type Store = Target<'a>;
    type Clock = Counter;
    type Hooks = Tick<'a>;

    fn store(&self) -> Target<'a> {
        Target {
            cell: self.cell,
            batch: WriteBatch::new(),
        }
    }

    fn clock(&self) -> Counter {
        Counter(self.clock)
    }

    fn hooks(&self) -> Tick<'a> {
        Tick { cell: self.cell }
    }
}

fn cache_counters(cell: &StoreCell) -> Option<(&'static str, CacheCounters)> {
    let store = cell.lock();
    let c = store.as_ref()?.cache()?;
    let s = c.stats();
    Some((
        c.policy().name(),
        CacheCounters {
            hits: s.hits,
            misses: s.misses,
        },
    ))
}

impl workload::Hooks for Hooks<'_> {
    fn timed_start(&mut self) {
        self.cache_before = cache_counters(self.cell).map(|(_, c)| c);
    }

    fn after_op(&mut self, buffered: bool) {
        write_out(self.cell, buffered);
    }

    fn progress(&mut self, p: Progress) {
        let line = alloc::format!("{p}");
        self.out.progress(&line);
    }

    fn should_stop(&mut self) -> bool {
        self.out.interrupted()
    }
}

pub fn run(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let params = Params::parse(&inv.args).map_err(|e| CmdError::Invalid(alloc::format!("{e}")))?;
    let (mut state, loss_bound_ms) = {
        let store = ctx.store()?;
        (
            State {
                loaded_keys: store.loaded_keys(),
            },
            store.wal_loss_bound_ms(),
        )
    };
    let cell = ctx.store_cell();
    let crew = Crew {
        cell,
        clock: ctx.host.clock(),
    };
    let mut hooks = Hooks {
        cell,
        out: &mut *ctx.out,
        cache_before: None,
    };
    let host = ctx.host;
    // One thread is `workload::run` on this core, as BENCH always ran.
    let result = workload::run_threads(&params, &mut state, &crew, &mut hooks, &|n, job| {
        host.parallel(n, job)
    });
    let cache_before = hooks.cache_before;
    if let Some(store) = cell.lock().as_mut() {
        store.set_loaded_keys(state.loaded_keys);
    }
    let result = result.map_err(|e| match e {
        BenchError::Store(e) => CmdError::from(e),
        BenchError::Interrupted { .. } => CmdError::Interrupted,
        BenchError::NoCores(why) => CmdError::Host(why),
        e @ (BenchError::NoMemory { .. } | BenchError::WrongValue { .. }) => {
            CmdError::Invalid(alloc::format!("{e}"))
        }
    })?;
    let cache = match (cache_before, cache_counters(cell)) {
        (Some(before), Some((policy, after))) => Some(CacheFigures {
            policy,
            before,
            after,
        }),
        _ => None,
    };
    Ok(Reply::Report(result.report(cache.as_ref(), loss_bound_ms)))
}

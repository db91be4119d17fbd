//! Group commit: deferred writes' tickets, and the commits that make
//! them durable: under the store's lock ([`Store::commit`]), or taken out
//! of it ([`Store::begin_commit`]) to run without it, whole
//! ([`CommitJob::run`]) or with the flush left to the device while the
//! taker serves on ([`CommitJob::start`]).

use super::{Disk, Store};
use lsm::{Error, Result};

/// A deferred write's place in line: durable once a commit covers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ticket(pub(super) u64);

/// Where a deferred write stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Commit {
    /// On disk: its `OK` may go out.
    Durable,
    /// Applied, waiting for the next commit.
    Pending,
    /// The commit that should have covered it failed: its reply is this error.
    Failed(Error),
}

/// What [`Store::begin_commit`] found.
pub enum BeginCommit {
    /// No write waits for a commit.
    Idle,
    /// Another core's commit is under way; the writes it does not cover
    /// wait for the next.
    Busy,
    /// This commit to run, without the store's lock, then to hand to
    /// [`Store::finish_commit`].
    Ready(CommitJob),
    /// The store could not commit (its fatal latch): every pending write
    /// fails with this.
    Failed(Error),
}

/// A group commit taken out of the store: the WAL's write and flush.
pub struct CommitJob {
    io: lsm::db::WalSync<Disk>,
    /// The last ticket it covers.
    through: u64,
    /// The counter when it was taken.
    started: u64,
    /// The store it came from (see [`Store::finish_commit`]).
    store: u64,
}

impl CommitJob {
    /// Writes and flushes; the result goes to [`Store::finish_commit`].
    pub fn run(self) -> CommitDone {
        CommitDone {
            result: self.io.run(),
            through: self.through,
            started: self.started,
            store: self.store,
            served_during: false,
        }
    }

    /// Writes, and hands the device the flush without waiting for it: the
    /// caller serves meanwhile (the writes it makes wait for the next
    /// commit) and polls the [`CommitFlight`].
    pub fn start(self) -> CommitFlight {
        CommitFlight {
            io: self.io.start(),
            through: self.through,
            started: self.started,
            store: self.store,
        }
    }
}

/// A [`CommitJob`] whose flush the device has; no other commit begins
/// until it is polled to its end (or dropped).
pub struct CommitFlight {
    io: lsm::db::WalFlush<Disk>,
    through: u64,
    started: u64,
    store: u64,
}

impl CommitFlight {
    /// The outcome for [`Store::finish_commit`] once the device is done;
    /// `None` meanwhile.
    pub fn poll(&mut self) -> Option<CommitDone> {
        Some(CommitDone {
            result: self.io.poll()?,
            through: self.through,
            started: self.started,
            store: self.store,
            served_during: true,
        })
    }
}

/// A [`CommitJob`]'s outcome.
pub struct CommitDone {
    result: Result<()>,
    through: u64,
    /// The counter when its commit was taken.
    started: u64,
    store: u64,
    /// Its taker served on while the device flushed (a [`CommitFlight`]).
    served_during: bool,
}

impl Store {
    /// Deferred writes not yet covered by a commit.
    pub fn pending(&self) -> u64 {
        self.written - self.settled_through()
    }

    /// The last ticket durable: every write up to it is (a failure covers
    /// only tickets after it).
    pub(super) fn durable_through(&self) -> u64 {
        self.durable
    }

    /// The last ticket settled: every write up to it is durable or failed.
    pub(super) fn settled_through(&self) -> u64 {
        match &self.failed {
            Some((_, through, _)) => self.durable.max(*through),
            None => self.durable,
        }
    }

    /// Makes every write so far durable with one WAL flush (group commit).
    /// On failure every pending ticket fails with the error, and the store
    /// refuses writes from then on (its state on disk is unknown).
    pub fn commit(&mut self) -> Result<()> {
        let n = self.pending();
        if n == 0 {
            return Ok(());
        }
        let started = self.clock.counter();
        match self.db.sync_wal() {
            Ok(()) => {
                self.note_commit_time(started);
                self.durable = self.written;
                self.buffered_since = None;
                self.group_commits += 1;
                self.group_commit_writes += n;
                Ok(())
            }
            Err(e) => {
                self.failed = Some((self.durable, self.written, e.clone()));
                Err(e)
            }
        }
    }

    /// Takes the group commit out of the store, to run without its lock:
    /// lookups and deferred writes go on while it writes and flushes, and
    /// the writes made meanwhile wait for the next. See [`BeginCommit`].
    pub fn begin_commit(&mut self) -> BeginCommit {
        if self.pending() == 0 {
            return BeginCommit::Idle;
        }
        match self.db.begin_wal_sync() {
            Ok(Some(io)) => BeginCommit::Ready(CommitJob {
                io,
                through: self.written,
                started: self.clock.counter(),
                store: self.id,
            }),
            Ok(None) => BeginCommit::Busy,
            Err(e) => {
                self.failed = Some((self.durable, self.written, e.clone()));
                BeginCommit::Failed(e)
            }
        }
    }

    /// Settles the tickets a [`CommitJob`] covered: durable, or failed
    /// with its error (the store refuses writes from then on). A commit
    /// under the lock may have covered them since; it is counted once.
    pub fn finish_commit(&mut self, done: CommitDone) -> Result<()> {
        if done.store != self.id {
            return Ok(());
        }
        if done.served_during {
            // Every write after the commit was taken was made while the
            // device flushed it.
            self.writes_during_flush += self.written.saturating_sub(done.through);
        }
        match done.result {
            Ok(()) => {
                self.note_commit_time(done.started);
                if done.through > self.durable {
                    self.group_commits += 1;
                    self.group_commit_writes += done.through - self.durable;
                    self.durable = done.through;
                }
                if self.durable == self.written {
                    self.buffered_since = None;
                }
                Ok(())
            }
            Err(e) => {
                if done.through > self.durable {
                    self.failed = Some((self.durable, done.through, e.clone()));
                }
                Err(e)
            }
        }
    }

    /// Counts a commit's time, taken at `started` and settled now.
    fn note_commit_time(&mut self, started: u64) {
        let ticks = self.clock.counter().wrapping_sub(started);
        let (n, sum, max) = &mut self.commit_ticks;
        *n += 1;
        *sum += ticks;
        *max = (*max).max(ticks);
    }

    /// The group commits' time, in microseconds: on average and the
    /// longest. From when a commit is taken to when its loop finds it
    /// done, i.e. what the writes it covers wait for beyond their own
    /// work: the WAL write made durable (under QEMU, the host's pwrite and
    /// fdatasync) and, for a commit left to the disk while its loop serves
    /// on, the rest of the round it was found done in.
    pub fn commit_latency_us(&self) -> (u64, u64) {
        let us = |ticks: u64| ticks.saturating_mul(1_000_000) / self.clock.hz.max(1);
        let (n, sum, max) = self.commit_ticks;
        (us(sum / n.max(1)), us(max))
    }

    /// Deferred writes made while a started commit's flush ran (see
    /// [`CommitJob::start`]): the serving that overlapped the disk.
    pub fn writes_during_flush(&self) -> u64 {
        self.writes_during_flush
    }

    /// Where the write with ticket `t` stands.
    pub fn status(&self, t: Ticket) -> Commit {
        match &self.failed {
            Some((from, through, e)) if t.0 > *from && t.0 <= *through => Commit::Failed(e.clone()),
            _ if t.0 <= self.durable => Commit::Durable,
            _ => Commit::Pending,
        }
    }
}

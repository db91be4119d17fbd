//! Background mode ([`Options::background`]): flushes and compactions run
//! on another core through a [`Background`] handle, while the owner reads
//! and writes; writers are braked only as LevelDB's `MakeRoomForWrite`
//! brakes them.
//!
//! ```text
//!   owner (under its own lock)             background core
//!   write: level 0 >= slowdown: delay once   loop {
//!          memtable full:                      work(): flush imm, else one
//!            imm still there: wait               compaction; pick and install
//!            level 0 >= stop: wait               under brief locks, merge and
//!            else freeze it, new log, wake       write tables without them
//!                                              sleep until woken when idle }
//! ```
//!
//! The owner's lock is never needed by a job: what a job commits into is in
//! the shared state (see `shared`), and a waiting writer waits on that.

use alloc::sync::Arc;
use core::sync::atomic::Ordering;

use super::shared::Shared;
use super::stop::Stop;
use super::{Db, Options};
use crate::device::BlockDevice;
use crate::error::{Error, Result};

/// A handle on a store's flushes and compactions, for another core: the
/// owner keeps the [`Db`] (behind its lock) and gives this to the core that
/// runs them. Cheap to clone; it keeps nothing of the store alive that the
/// store needs, and does nothing once the store is closed or dropped.
pub struct Background<D: BlockDevice> {
    sh: Arc<Shared<D>>,
}

impl<D: BlockDevice> Clone for Background<D> {
    fn clone(&self) -> Self {
        Self {
            sh: Arc::clone(&self.sh),
        }
    }
}

impl<D: BlockDevice> Background<D> {
    /// Does one unit of background work: flushes the frozen memtable if
    /// there is one, else runs one compaction that is due (by size, or a
    /// table lookups charged too often). Returns whether it did anything:
    /// `Ok(false)` when there was nothing to do, a compaction found no room
    /// (put off until something changes), another caller's job is in
    /// flight, or the store is closed.
    ///
    /// Safe to call from any core while the owner uses the store; one job
    /// runs at a time. An error is the job's (its output's space given
    /// back; the store is still correct): a writer waiting for it gets it
    /// too, and the caller should wait for the next wake before calling
    /// again.
    pub fn work(&self) -> Result<bool> {
        let sh = &*self.sh;
        if sh.closed.load(Ordering::Acquire) || sh.read_only {
            return Ok(false);
        }
        let Some(mut job) = sh.try_job() else {
            return Ok(false);
        };
        // Closed while the job was being taken: `Db::close` waits on the job
        // lock only once `closed` is set, so this sees it.
        if sh.closed.load(Ordering::Acquire) {
            return Ok(false);
        }
        sh.check_writable()?;
        let stop = &mut Stop::never();
        let r = if sh.has_imm.load(Ordering::Acquire) {
            job.flush_imm_reclaiming(stop).map(|()| true)
        } else {
            job.compact_step(stop)
        };
        if let Err(e) = &r {
            sh.state.lock().last_error = Some(e.clone());
            sh.stalled.store(true, Ordering::Relaxed);
            sh.failures.fetch_add(1, Ordering::Release);
            sh.notify();
        }
        r
    }

    /// Whether [`work`](Self::work) has something to do: a frozen memtable,
    /// a compaction due, or one a lookup asked for; a few loads, for the
    /// core's decision to sleep. False after a job failed or found no room,
    /// until the owner freezes a memtable or a writer waits.
    pub fn pending(&self) -> bool {
        let sh = &*self.sh;
        if sh.closed.load(Ordering::Relaxed)
            || sh.fatal.load(Ordering::Relaxed)
            || sh.stalled.load(Ordering::Relaxed)
            || sh.read_only
        {
            return false;
        }
        sh.has_imm.load(Ordering::Acquire)
            || sh.due.load(Ordering::Relaxed)
            || sh.seek.load(Ordering::Relaxed) != 0
    }
}

/// How long a write waits at the level-0 slowdown trigger (LevelDB's 1 ms).
pub const WRITE_SLOWDOWN_US: u64 = 1000;

impl<D: BlockDevice> Db<D> {
    /// The handle another core runs this store's flushes and compactions
    /// through (see [`Options::background`]).
    pub fn background(&self) -> Background<D> {
        Background {
            sh: Arc::clone(&self.sh),
        }
    }

    /// Background mode's [`make_room`](Self::make_room): LevelDB's
    /// `MakeRoomForWrite`. At [`Options::l0_slowdown_trigger`] level-0
    /// tables a write is delayed once by 1 ms (spreading the brake over
    /// many writes instead of one long stop); a full memtable is frozen
    /// and the background woken, unless the frozen one is still being
    /// flushed or level 0 is at [`Options::l0_stop_trigger`]: then the
    /// writer waits for the background work.
    pub(super) fn make_room_background(&mut self, size: usize) -> Result<()> {
        let opts: &Options = &self.sh.opts;
        let (slowdown, stop) = (opts.l0_slowdown_trigger, opts.l0_stop_trigger);
        let (buffer, delay) = (opts.write_buffer_size, opts.delay_us);
        let mut allow_delay = !core::mem::take(&mut self.delayed);
        loop {
            let l0 = self.sh.l0_files.load(Ordering::Relaxed);
            if allow_delay && l0 >= slowdown {
                self.stalls.slowdowns += 1;
                self.sh.wake();
                if let Some(d) = delay {
                    d(WRITE_SLOWDOWN_US);
                }
                allow_delay = false;
                continue;
            }
            let wal_fits = self.wal_fits(size);
            if wal_fits && self.mem.approximate_memory_usage() < buffer {
                return Ok(());
            }
            if self.mem.is_empty() {
                if wal_fits {
                    return Ok(());
                }
                return Err(Error::InvalidArgument("write larger than the WAL"));
            }
            if self.sh.has_imm.load(Ordering::Acquire) {
                // The next log's half still holds the frozen memtable's log.
                self.stalls.memtable += 1;
                self.wait_for(|sh| !sh.has_imm.load(Ordering::Acquire))?;
                continue;
            }
            if l0 >= stop {
                self.stalls.level0 += 1;
                self.wait_for(|sh| sh.l0_files.load(Ordering::Relaxed) < stop)?;
                continue;
            }
            // No frozen memtable: this freezes it without a flush.
            self.rotate(&mut Stop::never())?;
            self.sh.stalled.store(false, Ordering::Relaxed);
            self.sh.wake();
            return Ok(());
        }
    }

    /// The delay hook, if the next write would be delayed at the level-0
    /// slowdown trigger: for a caller that holds the store behind a lock of
    /// its own, which then waits [`WRITE_SLOWDOWN_US`] out with that lock
    /// let go (LevelDB sleeps with its mutex unlocked: lookups and other
    /// writers go on meanwhile) and says so with [`note_write_delayed`]
    /// before the write, which is then not delayed again.
    ///
    /// [`note_write_delayed`]: Self::note_write_delayed
    pub fn write_delay(&self) -> Option<fn(u64)> {
        let opts = &self.sh.opts;
        let due =
            opts.background && self.sh.l0_files.load(Ordering::Relaxed) >= opts.l0_slowdown_trigger;
        opts.delay_us.filter(|_| due)
    }

    /// The caller waited out the slowdown's delay (see
    /// [`write_delay`](Self::write_delay)): counted as one, the
    /// background woken, and the next write not delayed again.
    pub fn note_write_delayed(&mut self) {
        self.stalls.slowdowns += 1;
        self.sh.wake();
        self.delayed = true;
    }

    /// Waits (through the owner's wait hook) until `done`, with the
    /// background woken. Fails with the store's fatal error, or with the
    /// error of a job that failed twice while it waited (once it wakes the
    /// background again: a put-off compaction may find room the second
    /// time), so a writer never waits for work that cannot happen.
    fn wait_for(&self, done: impl Fn(&Shared<D>) -> bool) -> Result<()> {
        let sh = &*self.sh;
        let mut failures = sh.failures.load(Ordering::Acquire);
        let mut retried = false;
        sh.stalled.store(false, Ordering::Relaxed);
        sh.wake();
        while !done(sh) {
            sh.check_writable()?;
            let now = sh.failures.load(Ordering::Acquire);
            if now != failures {
                if done(sh) {
                    break;
                }
                if retried {
                    let e = sh.state.lock().last_error.clone();
                    return Err(e.unwrap_or(Error::NoSpace {
                        region: "table region",
                        needed: 0,
                    }));
                }
                retried = true;
                failures = now;
                sh.stalled.store(false, Ordering::Relaxed);
                sh.wake();
            }
            sh.wait();
        }
        Ok(())
    }
}

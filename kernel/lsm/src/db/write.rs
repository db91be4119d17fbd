//! The write path: a batch checked, given room (a frozen memtable and a new
//! log when the memtable or the WAL half is full), appended to the WAL and
//! applied to the memtable; group commit's `sync_wal`, and the space rule
//! that keeps a reserve for deletes.
//!
//! Separate because it is the path every `SET` takes and the one whose
//! order (WAL record, then memtable) makes an acknowledged write durable.

use alloc::sync::Arc;
use core::sync::atomic::Ordering;

use super::disk::DiskRef;
use super::maintain::space_reserve;
use super::open::log_u32;
use super::shared::{Current, Shared};
use super::stop::Stop;
use super::{Db, WriteBatch};
use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::key::ValueType;
use crate::memtable::MemTable;
use crate::wal::LogWriter;

impl<D: BlockDevice> Db<D> {
    /// Sets `key` to `value`; durable when this returns if `sync`.
    pub fn put(&mut self, key: &[u8], value: &[u8], sync: bool) -> Result<()> {
        // Sized once: a batch that grows from empty is reallocated twice.
        let mut b = WriteBatch::with_capacity(WriteBatch::put_size(key.len(), value.len()));
        b.put(key, value);
        self.write(b, sync)
    }

    /// Deletes `key`; durable when this returns if `sync`.
    pub fn delete(&mut self, key: &[u8], sync: bool) -> Result<()> {
        let mut b = WriteBatch::with_capacity(WriteBatch::delete_size(key.len()));
        b.delete(key);
        self.write(b, sync)
    }

    /// Applies `batch` atomically; durable when this returns if `sync`.
    pub fn write(&mut self, mut batch: WriteBatch, sync: bool) -> Result<()> {
        self.write_batch(&mut batch, sync)
    }

    /// [`write`](Self::write) of a batch its writer keeps, to
    /// [`reset`](WriteBatch::reset) and fill for its next write: a session
    /// that writes through one batch allocates nothing a write (a
    /// pipelined SET's allocation and free, ~70 guest instructions, two
    /// returns and the heap's lock, which every core's allocations take).
    /// The batch comes back with its sequence number set.
    pub fn write_batch(&mut self, batch: &mut WriteBatch, sync: bool) -> Result<()> {
        self.check_writable()?;
        let (max_key, max_value) = (self.sh.opts.max_key_len, self.sh.opts.max_value_len);
        let mut user_bytes = 0u64;
        let mut puts = false;
        batch.for_each(|_, kind, k, v| {
            puts |= kind == ValueType::Value;
            if k.len() > max_key {
                return Err(Error::TooLong {
                    what: "key",
                    len: k.len(),
                    max: max_key,
                });
            }
            if v.len() > max_value {
                return Err(Error::TooLong {
                    what: "value",
                    len: v.len(),
                    max: max_value,
                });
            }
            user_bytes += (k.len() + v.len()) as u64;
            Ok(())
        })?;
        if batch.count() == 0 {
            return Ok(());
        }
        if puts {
            self.check_space_for_puts(batch.size())?;
        }
        self.make_room(batch.size())?;
        let seq = self.last_seq + 1;
        batch.set_sequence(seq);
        if sync {
            self.wait_wal_io();
        }
        let disk = &mut DiskRef(&self.sh.disk);
        // Only the owner starts a `WalSync`, so one under way now was
        // started before: its bytes must reach the device before any of
        // the writer's own.
        let mut wal_result = if self.sh.wal_io.load(Ordering::Acquire) {
            self.wal.append_buffered(batch.contents())
        } else {
            self.wal.append(disk, batch.contents())
        };
        if wal_result.is_ok() && sync {
            wal_result = self.wal.sync(disk);
        }
        if let Err(e) = wal_result {
            if !matches!(e, Error::NoSpace { .. }) {
                self.sh.set_fatal(&e);
            }
            return Err(e);
        }
        let mem = &self.mem;
        let points = self.points.as_deref();
        batch.for_each(|s, kind, k, v| {
            if let Some(p) = points {
                p.invalidate(k);
            }
            mem.add(s, kind, k, v)
        })?;
        self.last_seq += u64::from(batch.count());
        // For a job's manifest records and its oldest snapshot.
        self.sh.last_seq.store(self.last_seq, Ordering::Release);
        self.user_bytes += user_bytes;
        Ok(())
    }

    /// Refuses a write that adds data once the table region, less what the
    /// memtables will take when flushed, is down to the reserve. Deletes and
    /// the compactions they make worthwhile may use the reserve: without it a
    /// full disk could not even flush the tombstones that would free it.
    fn check_space_for_puts(&self, batch_bytes: usize) -> Result<()> {
        let mut pending = self.mem.approximate_memory_usage() + batch_bytes;
        if self.sh.has_imm.load(Ordering::Acquire) {
            pending += self
                .sh
                .current()
                .imm
                .as_ref()
                .map_or(0, |m| m.approximate_memory_usage());
        }
        let needed = pending as u64 + self.space_reserve();
        if self.sh.free.load(Ordering::Relaxed) < needed && self.free_bytes() < needed {
            return Err(Error::NoSpace {
                region: "table region (the rest is kept for deletes and compaction)",
                needed: pending as u64,
            });
        }
        Ok(())
    }

    /// Table space kept back from writes that add data: enough for a
    /// level-0 compaction (its inputs stay until its last slice commits)
    /// and a few tables more, at most an eighth of the region.
    pub fn space_reserve(&self) -> u64 {
        space_reserve(&self.sh)
    }

    /// Free bytes of the table region, after giving back the space of
    /// deleted tables no reader holds any more.
    fn free_bytes(&self) -> u64 {
        let mut st = self.sh.state.lock();
        st.reclaim(&self.sh);
        st.alloc.free_bytes()
    }

    /// Makes every write so far durable with one flush (group commit).
    pub fn sync_wal(&mut self) -> Result<()> {
        self.check_writable()?;
        self.wait_wal_io();
        let r = self.wal.sync(&mut DiskRef(&self.sh.disk));
        if let Err(e) = &r {
            self.sh.set_fatal(e);
        }
        r
    }

    /// Writes buffered WAL records to the device without a flush, so that
    /// they reach the disk within the owner's timer period (`sync = 0`).
    pub fn write_out_wal(&mut self) -> Result<()> {
        self.check_writable()?;
        self.wait_wal_io();
        self.wal.write_out(&mut DiskRef(&self.sh.disk))
    }

    /// Takes the group commit's WAL write-out and flush out of the store,
    /// to run without the owner's lock (LevelDB's writer leaves its mutex
    /// for the log write and sync the same way): lookups and writes go on
    /// meanwhile, and the records written meanwhile wait for the next one.
    /// `None` while another is under way (its taker finishes it), its
    /// flush included. Every write before this call is durable once
    /// [`WalSync::run`] succeeds (or the [`WalFlush`] its `start` gives
    /// polls `Ok`).
    pub fn begin_wal_sync(&mut self) -> Result<Option<WalSync<D>>> {
        self.check_writable()?;
        if self.sh.wal_flush.load(Ordering::Acquire) || self.sh.wal_io.swap(true, Ordering::Acquire)
        {
            return Ok(None);
        }
        Ok(Some(WalSync {
            sh: Arc::clone(&self.sh),
            out: self.wal.take_write_out(),
        }))
    }

    /// Returns once no [`WalSync`] is under way. Its taker runs it at once,
    /// without any lock the owner holds, so the wait is one write and
    /// flush at most.
    pub(super) fn wait_wal_io(&self) {
        while self.sh.wal_io.load(Ordering::Acquire) {
            core::hint::spin_loop();
        }
    }

    /// Ensures the memtable and WAL can take `size` more bytes, freezing the
    /// memtable (and flushing a frozen one) if they cannot.
    fn make_room(&mut self, size: usize) -> Result<()> {
        if self.sh.opts.background {
            return self.make_room_background(size);
        }
        let wal_fits = self.wal_fits(size);
        if wal_fits && self.mem.approximate_memory_usage() < self.sh.opts.write_buffer_size {
            return Ok(());
        }
        if self.mem.is_empty() {
            if wal_fits {
                return Ok(());
            }
            return Err(Error::InvalidArgument("write larger than the WAL"));
        }
        self.rotate(&mut Stop::never())?;
        if self.sh.opts.inline_maintenance {
            self.maintenance()?;
        }
        Ok(())
    }

    /// Whether the WAL half can take a batch of `size` bytes more.
    pub(super) fn wal_fits(&self, size: usize) -> bool {
        self.wal.len() + self.wal.cost(size) <= self.sh.layout.wal_half
    }

    /// Freezes the memtable and starts the next log.
    pub(super) fn rotate(&mut self, stop: &mut Stop<'_>) -> Result<()> {
        if self.sh.has_imm.load(Ordering::Acquire) {
            // The next log's half still holds the frozen memtable's log.
            self.sh.job_or_stop(stop)?.flush_imm_reclaiming(stop)?;
        }
        self.sync_wal()?;
        let number = u64::from(self.wal.log_number()) + 1;
        let wal = LogWriter::new(self.sh.layout.wal_region(number), log_u32(number)?)?;
        self.wal = wal;
        let old = core::mem::replace(
            &mut self.mem,
            Arc::new(MemTable::with_capacity(self.sh.opts.write_buffer_size)),
        );
        // Only a job empties `imm`, and it is empty: nothing to undo.
        self.sh.update_current(|cur| Current {
            version: Arc::clone(&cur.version),
            imm: Some(old),
            imm_log: number,
        });
        Ok(())
    }
}

/// A group commit's WAL write-out and flush, taken out of the store by
/// [`Db::begin_wal_sync`] to run without its owner's lock.
pub struct WalSync<D: BlockDevice> {
    sh: Arc<Shared<D>>,
    /// The WAL's buffered bytes, if any, and where they go.
    out: Option<(u64, alloc::vec::Vec<u8>)>,
}

impl<D: BlockDevice> WalSync<D> {
    /// Writes the bytes and flushes the device: the writes before
    /// `begin_wal_sync` are durable if this succeeds. A failure latches
    /// the store's fatal error (what reached the disk is unknown).
    pub fn run(self) -> Result<()> {
        let disk = &self.sh.disk;
        let r = match &self.out {
            Some((at, bytes)) => disk.write_durable(*at, bytes),
            None => disk.flush(),
        }
        .map_err(Error::from);
        if let Err(e) = &r {
            self.sh.set_fatal(e);
        }
        r
    }
}

impl<D: BlockDevice> WalSync<D> {
    /// Writes the bytes and hands the device the flush without waiting for
    /// it: the taker goes on with other work (the owner's writes may go on
    /// too, the bytes being on the device) and polls the [`WalFlush`]. A
    /// failure, now or polled, latches the store's fatal error.
    pub fn start(mut self) -> WalFlush<D> {
        let disk = &self.sh.disk;
        // Set before `wal_io` clears (as `self` drops), so that no other
        // group commit begins in between.
        self.sh.wal_flush.store(true, Ordering::Release);
        let started = match self.out.take() {
            Some((at, bytes)) => disk.start_durable_write(at, bytes),
            None => disk.start_flush(),
        };
        let done = match started {
            Ok(true) => None,
            Ok(false) => Some(Ok(())),
            Err(e) => {
                let e = Error::from(e);
                self.sh.set_fatal(&e);
                Some(Err(e))
            }
        };
        WalFlush {
            sh: Arc::clone(&self.sh),
            done,
        }
    }
}

/// A group commit's flush handed to the device by [`WalSync::start`].
pub struct WalFlush<D: BlockDevice> {
    sh: Arc<Shared<D>>,
    /// Its outcome, when known without asking the device.
    done: Option<Result<()>>,
}

impl<D: BlockDevice> WalFlush<D> {
    /// The flush's outcome once the device is done with it; `None` while it
    /// runs. Every write before the `WalSync` was taken is durable when it
    /// is `Ok`.
    pub fn poll(&mut self) -> Option<Result<()>> {
        if let Some(done) = self.done.take() {
            return Some(done);
        }
        let r = self.sh.disk.poll_flush()?.map_err(Error::from);
        if let Err(e) = &r {
            self.sh.set_fatal(e);
        }
        Some(r)
    }
}

impl<D: BlockDevice> Drop for WalFlush<D> {
    fn drop(&mut self) {
        // Polled to its end or given up: the next commit may begin (and
        // its flush covers this one's writes too).
        self.sh.wal_flush.store(false, Ordering::Release);
    }
}

impl<D: BlockDevice> Drop for WalSync<D> {
    fn drop(&mut self) {
        // Run or not, the owner's WAL writes may go on.
        self.sh.wal_io.store(false, Ordering::Release);
    }
}

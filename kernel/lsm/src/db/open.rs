//! Mounting and letting go: format a blank disk, choose the superblock,
//! rebuild the live tables from the manifest, replay the WAL, and (for a
//! writable store) save what it held and start a new log and manifest;
//! `close` and the handles on the device.
//!
//! Separate because it runs once per mount, before any of the other paths,
//! and is where a disk's content is first trusted: every check that refuses
//! a foreign, future or damaged disk lives here.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::format;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use super::disk::{DeviceGuard, Disk, DiskRef, ExtentAllocator};
use super::shared::{Current, JobState, Shared, State};
use super::stop::Stop;
use super::superblock::{self, Layout, Superblock, FORMAT_VERSION};
use super::version::{Version, VersionEdit, NUM_LEVELS};
use super::WriteStalls;
use super::{Db, DbStats, OpenReport, Options, WriteBatch};
use crate::device::{BlockDevice, DeviceError};
use crate::error::{Corruption, CorruptionKind, Error, Result};
use crate::memtable::MemTable;
use crate::wal::{LogEnd, LogReader, LogWriter};

impl<D: BlockDevice> Db<D> {
    /// Mounts the store on `dev`: formats a blank disk (if asked), refuses a
    /// foreign one without writing to it, recovers from the manifest and the
    /// WAL, and starts a new log and manifest.
    pub fn open(dev: D, opts: Options) -> Result<(Self, OpenReport)> {
        let disk = Disk::new(dev, opts.parking());
        let mut report = OpenReport::default();
        let sb = match Self::read_superblock(&disk)? {
            Some(sb) => sb,
            None => {
                if !opts.create_if_missing {
                    return Err(Error::Unformatted);
                }
                report.formatted = true;
                Self::format(&disk, &opts)?
            }
        };
        Self::recover(disk, opts, sb, report)
    }

    /// Mounts the store on `dev` without ever writing to it (a tool
    /// inspecting a disk, or one that must not change): the tables the
    /// manifest names and the WAL's records replayed into the memtable, as
    /// [`open`](Self::open) would find them, but nothing saved and no new
    /// log or manifest started. A blank disk is refused with
    /// [`Error::Unformatted`], others as `open` refuses them; every change
    /// is refused with [`Error::ReadOnly`], and [`close`](Self::close)
    /// neither writes nor flushes.
    pub fn open_read_only(dev: D, opts: Options) -> Result<(Self, OpenReport)> {
        let disk = Disk::new(dev, opts.parking());
        let sb = Self::read_superblock(&disk)?.ok_or(Error::Unformatted)?;
        Self::load(disk, opts, sb, OpenReport::default(), true)
    }

    /// The superblock to mount, or `None` if the disk is blank; a disk
    /// that holds something else is refused (see [`superblock::choose`]).
    fn read_superblock(disk: &Disk<D>) -> Result<Option<Superblock>> {
        let capacity = disk.capacity();
        if capacity < superblock::SUPERBLOCK_AREA {
            return Err(Error::InvalidArgument("disk too small for a store"));
        }
        let mut area = Superblock::empty_area();
        disk.read(0, &mut area)?;
        let sb = superblock::choose(&area)?;
        if sb.is_some_and(|sb| sb.layout.capacity > capacity) {
            return Err(Corruption::at(
                "superblock",
                CorruptionKind::Malformed("layout larger than the disk"),
            )
            .into());
        }
        Ok(sb)
    }

    fn format(disk: &Disk<D>, opts: &Options) -> Result<Superblock> {
        let layout = Layout::for_capacity(disk.capacity(), opts.wal_half_bytes)
            .ok_or(Error::InvalidArgument("disk too small for a store"))?;
        let mut w = LogWriter::new(layout.manifest_region(0), 1)?;
        let edit = VersionEdit {
            log_number: Some(1),
            next_file_number: Some(1),
            last_sequence: Some(0),
            ..VersionEdit::default()
        };
        w.append(&mut DiskRef(disk), &edit.encode())?;
        w.sync(&mut DiskRef(disk))?;
        let sb = Superblock {
            version: FORMAT_VERSION,
            generation: 1,
            layout,
            manifest_half: 0,
            manifest_log: 1,
        };
        disk.write(sb.slot_offset(), &sb.encode())?;
        disk.flush()?;
        Ok(sb)
    }

    /// Recovers the store [`load`](Self::load) finds: saves what the WAL
    /// held in a table, then starts a new log and a new manifest.
    fn recover(
        disk: Disk<D>,
        opts: Options,
        sb: Superblock,
        report: OpenReport,
    ) -> Result<(Self, OpenReport)> {
        let (mut db, mut report) = Self::load(disk, opts, sb, report, false)?;
        let write_buffer = db.sh.opts.write_buffer_size;
        // Save what was replayed in a table, then start afresh: a new log
        // number (never appended to a log that may have a torn tail) and a
        // new manifest.
        let new_log = db.sh.state.lock().log_number + 2;
        let mem = core::mem::replace(&mut db.mem, Arc::new(MemTable::with_capacity(write_buffer)));
        let mut job = db.sh.job();
        let mut edit = VersionEdit::default();
        if !mem.is_empty() {
            for meta in job.write_level0(&mem, &mut Stop::never())? {
                edit.added.push((0, meta));
            }
        }
        let version = job.sh.version().apply(&edit)?;
        job.sh.disk.flush()?;
        job.write_new_manifest(&version, new_log)?;
        job.sh.state.lock().log_number = new_log;
        job.sh.install(version, true);
        drop(job);
        db.wal = LogWriter::new(sb.layout.wal_region(new_log), log_u32(new_log)?)?;
        report.tables = db.sh.version().files().count();
        Ok((db, report))
    }

    /// The store as the disk holds it, read without a write: the live
    /// tables from the manifest, and the records of the logs still needed
    /// replayed into the memtable; `read_only` refuses every change.
    fn load(
        disk: Disk<D>,
        opts: Options,
        sb: Superblock,
        mut report: OpenReport,
        read_only: bool,
    ) -> Result<(Self, OpenReport)> {
        let layout = sb.layout;
        // The manifest: a snapshot record, then edits.
        let mut reader = LogReader::new(layout.manifest_region(sb.manifest_half), sb.manifest_log)?;
        let mut version = Version::default();
        let (mut log_number, mut next_file, mut last_seq) = (None, None, None);
        let mut compact_pointers: [Vec<u8>; NUM_LEVELS] = Default::default();
        let mut records = 0;
        while let Some(rec) = reader.next_record(&mut DiskRef(&disk))? {
            let edit = VersionEdit::decode(&rec)?;
            version = version.apply(&edit)?;
            log_number = edit.log_number.or(log_number);
            next_file = edit.next_file_number.or(next_file);
            last_seq = edit.last_sequence.or(last_seq);
            for (level, key) in edit.compact_pointers {
                compact_pointers[level] = key;
            }
            records += 1;
        }
        report.manifest_torn = reader.end() == Some(LogEnd::Torn);
        let (Some(log_number), Some(next_file), Some(last_seq)) = (log_number, next_file, last_seq)
        else {
            let kind = if records == 0 {
                CorruptionKind::Truncated
            } else {
                CorruptionKind::Malformed("snapshot record")
            };
            return Err(Corruption::at("manifest", kind).into());
        };
        let alloc = ExtentAllocator::for_version(&layout, &version)?;
        let capacity = disk.capacity();
        let write_buffer = opts.write_buffer_size;
        let core = opts.core;
        let state = State {
            sb,
            next_file,
            log_number,
            alloc,
            stats: DbStats {
                capacity,
                table_region_bytes: layout.table_len,
                ..DbStats::default()
            },
            snapshots: BTreeMap::new(),
            fatal: None,
            last_error: None,
            retired: VecDeque::new(),
            cache: None,
            points: None,
            filter: None,
        };
        let job = JobState {
            // Replaced by a fresh manifest when recovered; never used.
            manifest: LogWriter::new(
                layout.manifest_region(sb.manifest_half),
                sb.manifest_log.max(1),
            )?,
            compact_pointers,
            reclaimed: false,
        };
        let current = Current {
            version: Arc::new(version),
            imm: None,
            imm_log: 0,
        };
        let mut db = Self {
            sh: Arc::new(Shared::new(disk, opts, read_only, current, state, job)),
            last_seq,
            wal: LogWriter::new(layout.wal_region(log_number), log_u32(log_number)?.max(1))?,
            mem: Arc::new(MemTable::with_capacity(write_buffer)),
            bufs: super::BufPool::new(core),
            cache: None,
            points: None,
            user_bytes: 0,
            stalls: WriteStalls::default(),
            delayed: false,
        };
        // The logs still needed, oldest first.
        for number in [log_number, log_number + 1] {
            let mut r = LogReader::new(layout.wal_region(number), log_u32(number)?)?;
            while let Some(rec) = r.next_record(&mut DiskRef(&db.sh.disk))? {
                let batch = WriteBatch::from_contents(rec)
                    .map_err(|e| e.within(&format!("WAL log {number}")))?;
                let mem = &db.mem;
                batch.for_each(|seq, kind, key, value| mem.add(seq, kind, key, value))?;
                let last = batch.sequence() + u64::from(batch.count()).saturating_sub(1);
                db.last_seq = db.last_seq.max(last);
                report.wal_records += 1;
            }
            report.wal_dropped_bytes += r.dropped_bytes();
            report.wal_torn |= r.end() == Some(LogEnd::Torn);
        }
        db.sh.last_seq.store(db.last_seq, Ordering::Release);
        report.tables = db.sh.version().files().count();
        report.last_sequence = db.last_seq;
        Ok((db, report))
    }

    /// Makes every write durable and returns the device, after a
    /// background job in flight; a [`Background`](super::Background) handle
    /// does nothing from then on. The next open replays the WAL as after
    /// any stop.
    pub fn close(mut self) -> Result<D> {
        self.stop_jobs();
        self.wait_wal_io();
        if self.check_writable().is_ok() {
            self.wal.sync(&mut DiskRef(&self.sh.disk))?;
        }
        self.sh
            .disk
            .take()
            .ok_or(Error::Device(DeviceError::Closed))
    }

    /// The device, for the owner's own requests (statistics, fault
    /// injection in tests), locked while the guard lives; writing to the
    /// store's regions breaks it.
    pub fn device_mut(&mut self) -> DeviceGuard<'_, D> {
        // Present: only `close` and `into_device`, which take the store,
        // give it back.
        self.sh.disk.device().expect("the store holds its device")
    }

    /// The device, without syncing: what a power cut leaves (for tests),
    /// after a background job in flight.
    pub fn into_device(mut self) -> D {
        self.stop_jobs();
        self.wait_wal_io();
        self.sh.disk.take().expect("the store holds its device")
    }

    /// Ends background work: a job in flight finishes, no other starts.
    fn stop_jobs(&mut self) {
        self.sh.closed.store(true, Ordering::Release);
        drop(self.sh.lock_job());
    }
}

impl<D: BlockDevice> Drop for Db<D> {
    /// Waits for a background job in flight and gives the device up (a
    /// [`Background`](super::Background) handle may outlive the store), as
    /// a power cut would leave it: nothing is written.
    fn drop(&mut self) {
        self.stop_jobs();
        drop(self.sh.disk.take());
        // A handle that outlives the store holds no table list or frozen
        // memtable either.
        let empty = Current {
            version: Arc::default(),
            imm: None,
            imm_log: 0,
        };
        drop(self.sh.update_current(|_| empty));
    }
}

pub(super) fn log_u32(n: u64) -> Result<u32> {
    u32::try_from(n).map_err(|_| Error::InvalidArgument("log numbers exhausted"))
}

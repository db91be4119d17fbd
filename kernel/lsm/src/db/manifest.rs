//! Committing a change of the live tables: the edit's manifest record
//! (after the tables it adds are durable), a new manifest in the other half
//! when the current one is full, and what the change leaves behind (freed
//! extents, cached blocks and point-cache pointers).
//!
//! Separate because flushes, compactions and recovery all commit through
//! it, and it holds the store's commit point: the order of flush, record
//! and superblock switch here is what makes a crash at any point safe.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use super::disk::DiskRef;
use super::maintain::Job;
use super::shared::Current;
use super::superblock::{Superblock, FORMAT_VERSION};
use super::version::{FileMeta, Version, VersionEdit};
use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::wal::LogWriter;

impl<D: BlockDevice> Job<'_, D> {
    /// Writes `version` as the first record of a new manifest in the other
    /// half, then points the superblock at it; `log_number` is the oldest
    /// log still needed as of `version`.
    pub(super) fn write_new_manifest(&mut self, version: &Version, log_number: u64) -> Result<()> {
        let sh = self.sh;
        let (old, next_file) = {
            let st = sh.state.lock();
            (st.sb, st.next_file)
        };
        let half = old.manifest_half ^ 1;
        let number = old
            .manifest_log
            .checked_add(1)
            .ok_or(Error::InvalidArgument("manifest numbers exhausted"))?;
        let mut w = LogWriter::new(sh.layout.manifest_region(half), number)?;
        let mut edit = version.snapshot_edit();
        edit.log_number = Some(log_number);
        edit.next_file_number = Some(next_file);
        edit.last_sequence = Some(sh.last_seq.load(Ordering::Acquire));
        edit.compact_pointers = self
            .js
            .compact_pointers
            .iter()
            .enumerate()
            .filter(|(_, k)| !k.is_empty())
            .map(|(l, k)| (l, k.clone()))
            .collect();
        let rec = edit.encode();
        if w.cost(rec.len()) > sh.layout.manifest_half {
            return Err(Error::NoSpace {
                region: "manifest region",
                needed: rec.len() as u64,
            });
        }
        w.append(&mut DiskRef(&sh.disk), &rec)?;
        w.sync(&mut DiskRef(&sh.disk))?;
        let sb = Superblock {
            version: FORMAT_VERSION,
            generation: old.generation + 1,
            manifest_half: half,
            manifest_log: number,
            ..old
        };
        sh.disk.write(sb.slot_offset(), &sb.encode())?;
        sh.disk.flush()?;
        sh.state.lock().sb = sb;
        self.js.manifest = w;
        Ok(())
    }

    /// Commits `edit`: the tables it adds must already be written. Durable
    /// when this returns; the extents of the tables it deletes are reused
    /// once no reader can hold them. With `new_log`, the edit moves the
    /// oldest log still needed there and the frozen memtable goes (it is
    /// in a table now, or cleared).
    ///
    /// The version it applies to is the current one: only a job changes
    /// it, and the job's lock is held.
    pub(super) fn log_and_apply(
        &mut self,
        mut edit: VersionEdit,
        new_log: Option<u64>,
    ) -> Result<()> {
        let sh = self.sh;
        let base = sh.version();
        let log_number = {
            let st = sh.state.lock();
            edit.next_file_number = Some(st.next_file);
            new_log.unwrap_or(st.log_number)
        };
        edit.log_number = Some(log_number);
        edit.last_sequence = Some(sh.last_seq.load(Ordering::Acquire));
        let version = base.apply(&edit)?;
        let mut gone: Vec<Arc<FileMeta>> = Vec::new();
        let mut moved: Vec<(u64, u8)> = Vec::new();
        for &(level, number) in &edit.deleted {
            if let Some((to, _)) = edit.added.iter().find(|(_, f)| f.number == number) {
                // Moved to another level, not deleted.
                moved.push((number, *to as u8));
                continue;
            }
            if let Some(f) = base.levels[level].iter().find(|f| f.number == number) {
                gone.push(Arc::clone(f));
            }
        }
        // Not held past the install: a version held keeps its tables' space.
        drop(base);
        if let Err(e) = self.commit(&edit, &version, log_number) {
            sh.set_fatal(&e);
            return Err(e);
        }
        let gone_numbers: Vec<u64> = gone.iter().map(|f| f.number).collect();
        let old = {
            let mut st = sh.state.lock();
            if new_log.is_some() {
                st.log_number = log_number;
            }
            let old = sh.install(version, new_log.is_some());
            st.retire(&old.version, gone);
            old
        };
        sh.notify();
        // The old view (and the frozen memtable it may hold) is freed
        // outside the locks; then what no reader holds is released.
        drop(old);
        sh.state.lock().reclaim(sh);
        if let Some(p) = &self.points {
            if !gone_numbers.is_empty() || !moved.is_empty() {
                // A pointer into a deleted table would read a dead block (or
                // another table's, once the extent is reused): drop it. A
                // moved table keeps its number and blocks: re-aim the level.
                p.retain_pointers(&mut |_, ptr| {
                    if gone_numbers.contains(&ptr.table) {
                        return false;
                    }
                    if let Some(&(_, to)) = moved.iter().find(|(n, _)| *n == ptr.table) {
                        ptr.level = to;
                    }
                    true
                });
            }
        }
        Ok(())
    }

    fn commit(&mut self, edit: &VersionEdit, version: &Version, log_number: u64) -> Result<()> {
        let disk = &self.sh.disk;
        // The tables the edit names are durable before the edit is.
        disk.flush()?;
        let rec = edit.encode();
        match self.js.manifest.append(&mut DiskRef(disk), &rec) {
            Ok(()) => self.js.manifest.sync(&mut DiskRef(disk)),
            Err(Error::NoSpace { .. }) => self.write_new_manifest(version, log_number),
            Err(e) => Err(e),
        }
    }
}

impl<D: BlockDevice> super::shared::Shared<D> {
    /// Makes `version` the live tables (and drops the frozen memtable if
    /// `drop_imm`), in one swap that readers see whole; returns the view it
    /// replaced.
    pub(super) fn install(&self, version: Version, drop_imm: bool) -> Arc<Current> {
        self.update_current(|cur| Current {
            version: Arc::new(version),
            imm: if drop_imm { None } else { cur.imm.clone() },
            imm_log: cur.imm_log,
        })
    }
}

//! Committing a change of the live tables: the edit's manifest record
//! (after the tables it adds are durable), a new manifest in the other half
//! when the current one is full, and what the change leaves behind (freed
//! extents, forgotten open tables, cached blocks and point-cache pointers).
//!
//! Separate because flushes, compactions and recovery all commit through
//! it, and it holds the store's commit point: the order of flush, record
//! and superblock switch here is what makes a crash at any point safe.

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::disk::DiskRef;
use super::superblock::Superblock;
use super::version::{Version, VersionEdit};
use super::Db;
use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::wal::LogWriter;

impl<D: BlockDevice> Db<D> {
    /// Writes `version` as the first record of a new manifest in the other
    /// half, then points the superblock at it.
    pub(super) fn write_new_manifest(&mut self, version: &Version) -> Result<()> {
        let half = self.sb.manifest_half ^ 1;
        let number = self
            .sb
            .manifest_log
            .checked_add(1)
            .ok_or(Error::InvalidArgument("manifest numbers exhausted"))?;
        let mut w = LogWriter::new(self.sb.layout.manifest_region(half), number)?;
        let mut edit = version.snapshot_edit();
        edit.log_number = Some(self.log_number);
        edit.next_file_number = Some(self.next_file);
        edit.last_sequence = Some(self.last_seq);
        edit.compact_pointers = self
            .compact_pointers
            .iter()
            .enumerate()
            .filter(|(_, k)| !k.is_empty())
            .map(|(l, k)| (l, k.clone()))
            .collect();
        let rec = edit.encode();
        if w.cost(rec.len()) > self.sb.layout.manifest_half {
            return Err(Error::NoSpace {
                region: "manifest region",
                needed: rec.len() as u64,
            });
        }
        w.append(&mut DiskRef(&self.disk), &rec)?;
        w.sync(&mut DiskRef(&self.disk))?;
        let sb = Superblock {
            generation: self.sb.generation + 1,
            manifest_half: half,
            manifest_log: number,
            ..self.sb
        };
        self.disk.write(sb.slot_offset(), &sb.encode())?;
        self.disk.flush()?;
        self.sb = sb;
        self.manifest = w;
        Ok(())
    }

    /// Commits `edit`: the tables it adds must already be written. Durable
    /// when this returns; the extents of the tables it deletes are reused.
    pub(super) fn log_and_apply(&mut self, mut edit: VersionEdit) -> Result<()> {
        edit.log_number = Some(self.log_number);
        edit.next_file_number = Some(self.next_file);
        edit.last_sequence = Some(self.last_seq);
        let version = self.version.apply(&edit)?;
        let r = self.commit(&edit, &version);
        if let Err(e) = r {
            self.fatal = Some(e.clone());
            return Err(e);
        }
        let mut gone: Vec<u64> = Vec::new();
        let mut moved: Vec<(u64, u8)> = Vec::new();
        for &(level, number) in &edit.deleted {
            if let Some((to, _)) = edit.added.iter().find(|(_, f)| f.number == number) {
                // Moved to another level, not deleted.
                moved.push((number, *to as u8));
                continue;
            }
            gone.push(number);
            if let Some(f) = self.version.levels[level]
                .iter()
                .find(|f| f.number == number)
            {
                self.alloc.release_extents(&f.extents);
            }
            self.tables.borrow_mut().remove(number);
            if let Some(c) = &self.cache {
                c.erase_table(number);
            }
        }
        if let Some(p) = &self.points {
            if !gone.is_empty() || !moved.is_empty() {
                // A pointer into a deleted table would read a dead block (or
                // another table's, once the extent is reused): drop it. A
                // moved table keeps its number and blocks: re-aim the level.
                p.retain_pointers(&mut |_, ptr| {
                    if gone.contains(&ptr.table) {
                        return false;
                    }
                    if let Some(&(_, to)) = moved.iter().find(|(n, _)| *n == ptr.table) {
                        ptr.level = to;
                    }
                    true
                });
            }
        }
        self.version = Arc::new(version);
        Ok(())
    }

    fn commit(&mut self, edit: &VersionEdit, version: &Version) -> Result<()> {
        // The tables the edit names are durable before the edit is.
        self.disk.flush()?;
        let rec = edit.encode();
        match self.manifest.append(&mut DiskRef(&self.disk), &rec) {
            Ok(()) => self.manifest.sync(&mut DiskRef(&self.disk)),
            Err(Error::NoSpace { .. }) => self.write_new_manifest(version),
            Err(e) => Err(e),
        }
    }
}

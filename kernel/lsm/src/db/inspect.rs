//! Read-only views of a mounted store for tools that inspect a disk (`ldb`):
//! the superblock it was mounted with, the manifest's counters, and one live
//! table seen block by block. Tables are read around every cache, so they
//! show what the disk holds, as [`Db::verify`] does.

use alloc::sync::Arc;

use super::{Db, FileMeta, Ikc, Superblock};
use crate::device::BlockDevice;
use crate::error::Result;
use crate::table::{Table, TableInspection};

/// A live table seen block by block (see [`Db::inspect_table`]).
#[derive(Debug, Clone)]
pub struct LiveTable {
    /// Its level.
    pub level: usize,
    /// What the manifest says of it: number, extents, size, key range.
    pub meta: Arc<FileMeta>,
    /// What its blocks hold.
    pub blocks: TableInspection,
}

impl<D: BlockDevice> Db<D> {
    /// The superblock the store was mounted with (or last wrote).
    pub fn superblock(&self) -> Superblock {
        self.sh.state.lock().sb
    }

    /// The oldest WAL log still needed: logs `n` and `n + 1` hold the
    /// writes that are in no table yet.
    pub fn log_number(&self) -> u64 {
        self.sh.state.lock().log_number
    }

    /// The number the next table will get.
    pub fn next_file_number(&self) -> u64 {
        self.sh.state.lock().next_file
    }

    /// Live table `number`, its footer and every block read from the disk
    /// and checked, each entry (internal key, value) handed to `entry` in
    /// order (see [`Table::inspect`]); `None` if no live table has that
    /// number.
    pub fn inspect_table(
        &self,
        number: u64,
        entry: impl FnMut(&[u8], &[u8]),
    ) -> Result<Option<LiveTable>> {
        let version = self.sh.version();
        let Some((level, meta)) = version.files().find(|(_, f)| f.number == number) else {
            return Ok(None);
        };
        let file = self.file(meta, false, None);
        let t = Table::open(&file, meta.number, meta.size, Ikc::default())?;
        let blocks = t.inspect(&file, entry)?;
        Ok(Some(LiveTable {
            level,
            meta: Arc::clone(meta),
            blocks,
        }))
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::super::{Options, WriteBatch};
    use super::*;
    use crate::device::MemDevice;
    use crate::key::{user_key, ParsedInternalKey, ValueType};
    use alloc::format;
    use alloc::vec::Vec;

    #[test]
    fn tables_are_seen_as_the_manifest_and_their_blocks_say() {
        let opts = Options {
            write_buffer_size: 16 << 10,
            table_size: 8 << 10,
            ..Options::default()
        };
        let (mut db, _) = Db::open(MemDevice::new(4 << 20), opts.clone()).unwrap();
        let mut batch = WriteBatch::new();
        for i in 0..200u32 {
            batch.put(format!("k{i:04}").as_bytes(), b"v");
        }
        db.write(batch, true).unwrap();
        // A snapshot keeps the value the deletion hides in the table.
        let snap = db.snapshot();
        let mut batch = WriteBatch::new();
        batch.delete(b"k0007");
        db.write(batch, true).unwrap();
        db.flush().unwrap();
        db.release_snapshot(snap);
        let sb = db.superblock();
        assert_eq!(sb.layout, db.layout());
        assert!(db.next_file_number() > 1);
        let (level, f) = db
            .version()
            .files()
            .map(|(l, f)| (l, Arc::clone(f)))
            .next()
            .unwrap();
        let mut entries = Vec::new();
        let t = db
            .inspect_table(f.number, |k, v| {
                let p = ParsedInternalKey::parse(k).unwrap();
                entries.push((p.user_key.to_vec(), p.sequence, p.kind, v.to_vec()));
            })
            .unwrap()
            .unwrap();
        assert_eq!((t.level, &t.meta), (level, &f));
        assert_eq!(t.blocks.entries(), 201);
        assert_eq!(entries.len(), 201);
        assert_eq!(
            entries[0],
            (b"k0000".to_vec(), 1, ValueType::Value, b"v".to_vec())
        );
        // The delete came last: sequence 201, newest first.
        assert_eq!(
            entries[7],
            (b"k0007".to_vec(), 201, ValueType::Deletion, Vec::new())
        );
        assert_eq!(
            entries[8],
            (b"k0007".to_vec(), 8, ValueType::Value, b"v".to_vec())
        );
        assert_eq!(user_key(&f.smallest), b"k0000");
        assert!(db
            .inspect_table(f.number + 1000, |_, _| {})
            .unwrap()
            .is_none());

        // Reopened read-only, the counters are the store's.
        let log = db.log_number();
        let next = db.next_file_number();
        let dev = db.close().unwrap();
        let (ro, _) = Db::open_read_only(dev, opts).unwrap();
        assert_eq!(ro.superblock(), sb);
        assert_eq!(ro.log_number(), log);
        assert_eq!(ro.next_file_number(), next);
    }
}

//! Looking inside one table block by block, for tools that show what a disk
//! holds (`ldb sst`, after RocksDB's `sst_dump`): what the footer, the filter
//! and the index say, and every entry in order with the data block that
//! holds it. Every block is fetched and checked as a lookup fetches it, so
//! damage is reported as the store reports it, never shown as data.

use alloc::format;
use alloc::vec::Vec;

use super::bloom::{self, FilterLayout};
use super::{Block, BlockHandle, BlockKind, ReadAt, Table};
use crate::comparator::{Bytewise, Comparator};
use crate::error::{Corruption, CorruptionKind, Result};
use crate::iter::KvIter;

/// What a table's filter block holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilterInfo {
    /// Where the block is (its size counts the layout's trailer).
    pub handle: BlockHandle,
    /// The filter's layout (see `kernel/lsm/doc/format.md`).
    pub layout: FilterLayout,
    /// Probes per key (0 for a filter of no known layout).
    pub probes: u8,
    /// Bits of the bit array (0 for a filter of no known layout).
    pub bits: u64,
}

impl FilterInfo {
    /// Whether the filter is a bloom filter this code reads; a reader
    /// treats any other as matching every key.
    pub fn is_bloom(&self) -> bool {
        self.layout != FilterLayout::Unknown
    }
}

/// One data block, as the index names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataBlockInfo {
    /// Where the block is (size without the trailer).
    pub handle: BlockHandle,
    /// The index entry's key: a separator `>=` the block's last key and `<`
    /// the next block's first.
    pub index_key: Vec<u8>,
    /// Entries the block holds.
    pub entries: u64,
    /// The block's last key (empty if it holds no entry).
    pub last_key: Vec<u8>,
}

/// A table seen block by block (see [`Table::inspect`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableInspection {
    /// The filter block.
    pub filter: FilterInfo,
    /// Where the index block is.
    pub index: BlockHandle,
    /// The data blocks, in index order.
    pub data_blocks: Vec<DataBlockInfo>,
}

impl TableInspection {
    /// Entries in all data blocks.
    pub fn entries(&self) -> u64 {
        self.data_blocks.iter().map(|b| b.entries).sum()
    }

    /// Bytes of all data blocks, without trailers.
    pub fn data_bytes(&self) -> u64 {
        self.data_blocks.iter().map(|b| b.handle.size).sum()
    }
}

impl<C: Comparator> Table<C> {
    /// Reads the filter, the index and every data block the index names,
    /// in order, handing each entry (key, value) to `entry`, and says what
    /// the blocks hold. Fails at the first damaged block, naming it as a
    /// lookup would.
    pub fn inspect<R: ReadAt + ?Sized>(
        &self,
        file: &R,
        mut entry: impl FnMut(&[u8], &[u8]),
    ) -> Result<TableInspection> {
        let id = self.id();
        let filter_h = self.filter_handle();
        let filter = self.fetch(file, filter_h, BlockKind::Filter)?;
        let (layout, bits, probes) = bloom::describe(&filter);
        let index_h = self.index_handle();
        let index = Block::new(self.fetch(file, index_h, BlockKind::Index)?).map_err(|e| {
            e.within(&format!(
                "table {id} index block at offset {}",
                index_h.offset
            ))
        })?;
        // Walking in stored order compares no keys, so any comparator does.
        let mut it = index.iter(Bytewise);
        let index_err = |e: crate::Error| e.within(&format!("table {id} index block"));
        it.seek_to_first().map_err(index_err)?;
        let mut data_blocks = Vec::new();
        while it.valid() {
            let (handle, _) = BlockHandle::decode(it.value()).ok_or_else(|| {
                Corruption::at(
                    format!("table {id} index block"),
                    CorruptionKind::Malformed("block handle"),
                )
            })?;
            let name = || format!("table {id} block at offset {}", handle.offset);
            let block = Block::new(self.fetch(file, handle, BlockKind::Data)?)
                .map_err(|e| e.within(&name()))?;
            let mut data = block.iter(Bytewise);
            let mut info = DataBlockInfo {
                handle,
                index_key: it.key().to_vec(),
                entries: 0,
                last_key: Vec::new(),
            };
            data.seek_to_first().map_err(|e| e.within(&name()))?;
            while data.valid() {
                entry(data.key(), data.value());
                info.entries += 1;
                info.last_key.clear();
                info.last_key.extend_from_slice(data.key());
                data.next().map_err(|e| e.within(&name()))?;
            }
            data_blocks.push(info);
            it.next().map_err(index_err)?;
        }
        Ok(TableInspection {
            filter: FilterInfo {
                handle: filter_h,
                layout,
                probes,
                bits,
            },
            index: index_h,
            data_blocks,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{internal_key, user_key, InternalKeyComparator, ValueType};
    use crate::table::{TableBuilder, TableOptions, BLOCK_TRAILER_SIZE, FOOTER_SIZE};
    use alloc::string::ToString;

    type Entries = Vec<(Vec<u8>, Vec<u8>)>;

    /// A table of `n` entries (every fifth a deletion) and those entries.
    fn table(n: u64) -> (Vec<u8>, Entries) {
        let cmp = InternalKeyComparator;
        let mut b = TableBuilder::new(cmp, TableOptions::default(), 7);
        let mut want = Vec::new();
        for i in 0..n {
            let kind = if i % 5 == 4 {
                ValueType::Deletion
            } else {
                ValueType::Value
            };
            let k = internal_key(format!("key{i:05}").as_bytes(), 100 + i, kind);
            let v = if kind == ValueType::Value {
                format!("value-{i}-{}", "x".repeat(40)).into_bytes()
            } else {
                Vec::new()
            };
            b.add(&k, &v).unwrap();
            want.push((k, v));
        }
        (b.finish().unwrap(), want)
    }

    #[test]
    fn every_entry_in_order_and_the_blocks_that_hold_them() {
        let (bytes, want) = table(500);
        let t = Table::open(&bytes, 7, bytes.len() as u64, InternalKeyComparator).unwrap();
        let mut seen = Vec::new();
        let info = t
            .inspect(&bytes, |k, v| seen.push((k.to_vec(), v.to_vec())))
            .unwrap();
        assert_eq!(seen, want);
        assert_eq!(info.entries(), 500);
        assert_eq!(info.index, t.index_handle());
        assert_eq!(info.filter.handle, t.filter_handle());
        // The builder's filter: 10 bits per key, 6 probes.
        assert_eq!(info.filter.probes, 6);
        assert!(info.filter.is_bloom());
        assert_eq!(info.filter.layout, FilterLayout::Local);
        // Whole 64-byte blocks, then the 5-byte trailer.
        assert_eq!(info.filter.bits, (500 * 10u64).div_ceil(512) * 512);
        assert_eq!(info.filter.handle.size, info.filter.bits / 8 + 5);
        // Data blocks tile the table from offset 0 up to the filter block.
        let data: Vec<_> = t
            .blocks(&bytes)
            .unwrap()
            .into_iter()
            .filter(|(_, k)| *k == BlockKind::Data)
            .map(|(h, _)| h)
            .collect();
        let handles: Vec<_> = info.data_blocks.iter().map(|b| b.handle).collect();
        assert_eq!(handles, data);
        assert!(info.data_blocks.len() > 3);
        let mut at = 0;
        let mut first = 0usize;
        for b in &info.data_blocks {
            assert_eq!(b.handle.offset, at);
            at += b.handle.size + BLOCK_TRAILER_SIZE as u64;
            first += b.entries as usize;
            assert_eq!(b.last_key, want[first - 1].0);
            let cmp = InternalKeyComparator;
            assert!(cmp.compare(&b.index_key, &b.last_key).is_ge());
            if first < want.len() {
                assert!(cmp.compare(&b.index_key, &want[first].0).is_lt());
            }
        }
        assert_eq!(at, info.filter.handle.offset);
        assert_eq!(
            info.data_bytes() + BLOCK_TRAILER_SIZE as u64 * info.data_blocks.len() as u64,
            at
        );
        assert_eq!(
            info.index.offset + info.index.size + (BLOCK_TRAILER_SIZE + FOOTER_SIZE) as u64,
            bytes.len() as u64
        );
        assert_eq!(
            user_key(&info.data_blocks[0].last_key),
            user_key(&want[info.data_blocks[0].entries as usize - 1].0)
        );
    }

    #[test]
    fn a_damaged_data_block_is_named() {
        let (mut bytes, _) = table(500);
        let t = Table::open(&bytes, 7, bytes.len() as u64, InternalKeyComparator).unwrap();
        let second = t.blocks(&bytes).unwrap()[3].0;
        bytes[second.offset as usize + 10] ^= 0x40;
        let mut n = 0;
        let err = t.inspect(&bytes, |_, _| n += 1).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "corruption: table 7 block at offset {}: checksum mismatch",
                second.offset
            )
        );
        // The entries of the blocks before it were handed over.
        let first = t.blocks(&bytes).unwrap()[2].0;
        assert!(n > 0 && first.offset < second.offset);
    }

    #[test]
    fn an_empty_table_has_no_data_entries() {
        let cmp = InternalKeyComparator;
        let bytes = TableBuilder::new(cmp, TableOptions::default(), 3)
            .finish()
            .unwrap();
        let t = Table::open(&bytes, 3, bytes.len() as u64, cmp).unwrap();
        let info = t.inspect(&bytes, |_, _| panic!("no entry")).unwrap();
        assert_eq!(info.entries(), 0);
        assert_eq!(info.data_bytes(), 0);
    }
}

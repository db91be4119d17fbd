//! Builds a table in memory, block by block.

use alloc::vec::Vec;
use core::cmp::Ordering;

use super::block::BlockBuilder;
use super::{bloom, encode_footer, BlockHandle, KIND_DATA, KIND_FILTER, KIND_INDEX};
use crate::coding::extend_short;
use crate::comparator::{eq_bytes, Comparator};
use crate::crc32c;
use crate::error::{Error, Result};

/// Shape of the tables a builder makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableOptions {
    /// Target size of a data block before its trailer.
    pub block_size: usize,
    /// Entries between restart points. A point lookup binary-searches the
    /// restarts, then decodes entries one by one (each key rebuilt from
    /// the one before) up to the one it wants: 4 rather than LevelDB's 16
    /// halves that scan for ~2% more block bytes (keys are whole at each
    /// restart). Natively, db_bench's readrandom at 100,000 keys: 5,698 ->
    /// 5,262 instructions per lookup (8: 5,374); readseq and the fills
    /// unchanged. In the kernel (`PRE=fillrandom tools/insn-profile bench
    /// readrandom`) 5,808 -> 5,508 per lookup, memcpy calls 16.9 -> 13.8.
    pub restart_interval: usize,
    /// Bloom filter bits per key (LevelDB's recommended 10 gives about 1%
    /// false positives).
    pub bloom_bits_per_key: usize,
    /// Whether data blocks carry a hash index of their user keys (RocksDB's
    /// `kDataBlockBinaryAndHash`, see `block`): a point lookup goes
    /// straight to its restart interval, for ~1.7% more block bytes (a
    /// byte per half entry).
    pub data_block_hash_index: bool,
}

impl Default for TableOptions {
    fn default() -> Self {
        Self {
            block_size: 4096,
            restart_interval: 4,
            bloom_bits_per_key: 10,
            data_block_hash_index: true,
        }
    }
}

/// Builds one table from keys added in increasing order.
#[derive(Debug)]
pub struct TableBuilder<C: Comparator> {
    cmp: C,
    id: u64,
    opts: TableOptions,
    out: Vec<u8>,
    data: BlockBuilder,
    index: BlockBuilder,
    /// The last data block written, waiting for the next key to choose its
    /// index separator (a shorter key than its own last key).
    pending: Option<BlockHandle>,
    last_key: Vec<u8>,
    first_key: Option<Vec<u8>>,
    /// The hash of each distinct filter key, in order: what the filter is
    /// built from. Kept instead of the keys, which cost a copy each and a
    /// second hashing at the end (in compaction, ~390 guest instructions
    /// a write at 1,000,000 keys, 2026-12-05).
    filter_hashes: Vec<u32>,
    /// The hash of the last filter key (the data block's hash index).
    last_hash: u32,
    entries: u64,
}

impl<C: Comparator> TableBuilder<C> {
    /// An empty builder of the table that will be known as `id`.
    pub fn new(cmp: C, opts: TableOptions, id: u64) -> Self {
        Self {
            cmp,
            id,
            opts,
            out: Vec::new(),
            data: if opts.data_block_hash_index {
                BlockBuilder::with_hash_index(opts.restart_interval)
            } else {
                BlockBuilder::new(opts.restart_interval)
            },
            // Index blocks are searched by binary search only: a restart per
            // entry keeps every key whole.
            index: BlockBuilder::new(1),
            pending: None,
            last_key: Vec::new(),
            first_key: None,
            filter_hashes: Vec::new(),
            last_hash: 0,
            entries: 0,
        }
    }

    /// Makes room for a table of about `bytes`, so that the table's buffer
    /// is not copied each time it doubles (about twice the table's size in
    /// copies, as it grows to 2 MiB or more).
    pub fn reserve(&mut self, bytes: usize) {
        self.out.reserve(bytes);
    }

    /// Adds an entry. Keys must strictly increase.
    pub fn add(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        if self.entries > 0 && self.cmp.compare(&self.last_key, key) != Ordering::Less {
            return Err(Error::InvalidArgument("table keys must strictly increase"));
        }
        // Asked of the last key before a block's separator replaces it.
        let fk = self.cmp.filter_key(key);
        let same_as_last = self.entries > 0 && eq_bytes(self.cmp.filter_key(&self.last_key), fk);
        if let Some(handle) = self.pending.take() {
            self.cmp.find_shortest_separator(&mut self.last_key, key);
            let mut enc = Vec::new();
            handle.encode_to(&mut enc);
            self.index.add(&self.last_key, &enc);
        }
        if !same_as_last {
            self.last_hash = bloom::key_hash(fk);
            self.filter_hashes.push(self.last_hash);
        }
        if self.first_key.is_none() {
            self.first_key = Some(key.to_vec());
        }
        self.last_key.clear();
        extend_short(&mut self.last_key, key);
        self.entries += 1;
        self.data.add_hashed(key, value, self.last_hash);
        if self.data.size_estimate() >= self.opts.block_size {
            self.flush_data();
        }
        Ok(())
    }

    fn flush_data(&mut self) {
        if self.data.is_empty() {
            return;
        }
        let block = self.data.finish();
        self.pending = Some(self.write_block(&block, KIND_DATA));
    }

    fn write_block(&mut self, block: &[u8], kind: u8) -> BlockHandle {
        let handle = BlockHandle {
            offset: self.out.len() as u64,
            size: block.len() as u64,
        };
        self.out.extend_from_slice(block);
        let crc = crc32c::extend(crc32c::value(block), &[kind]);
        self.out.push(kind);
        self.out.extend_from_slice(&crc32c::mask(crc).to_le_bytes());
        handle
    }

    /// Entries added so far.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// Size of the table if finished now, roughly.
    pub fn estimated_size(&self) -> u64 {
        (self.out.len()
            + self.data.size_estimate()
            + self.index.size_estimate()
            + self.filter_hashes.len() * self.opts.bloom_bits_per_key / 8) as u64
    }

    /// The smallest key added.
    pub fn first_key(&self) -> Option<&[u8]> {
        self.first_key.as_deref()
    }

    /// The largest key added.
    pub fn last_key(&self) -> &[u8] {
        &self.last_key
    }

    /// Writes the filter, the index and the footer and returns the table.
    pub fn finish(mut self) -> Result<Vec<u8>> {
        self.flush_data();
        let filter = bloom::build_from_hashes(&self.filter_hashes, self.opts.bloom_bits_per_key);
        let filter_handle = self.write_block(&filter, KIND_FILTER);
        if let Some(handle) = self.pending.take() {
            let mut last = core::mem::take(&mut self.last_key);
            self.cmp.find_short_successor(&mut last);
            let mut enc = Vec::new();
            handle.encode_to(&mut enc);
            self.index.add(&last, &enc);
        }
        let index = self.index.finish();
        let index_handle = self.write_block(&index, KIND_INDEX);
        let footer = encode_footer(filter_handle, index_handle, self.id)
            .ok_or(Error::InvalidArgument("table too large for its footer"))?;
        self.out.extend_from_slice(&footer);
        Ok(self.out)
    }
}

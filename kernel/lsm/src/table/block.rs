//! Blocks of sorted entries with prefix-compressed keys (LevelDB's
//! `block_builder.cc` / `block.cc`), used for data and index blocks.
//!
//! ```text
//!   entry:   varint shared | varint non_shared | varint value_len
//!            | key[shared..] | value
//!   trailer: fixed32 restart[0..n] | fixed32 n
//!   or, with a hash index (data blocks; the top bit of the last word set):
//!            fixed32 restart[0..n] | u8 bucket[0..b] | fixed16 b
//!            | fixed32 (n | 1 << 31)
//! ```
//!
//! Every `restart_interval`-th entry is a restart point that stores its
//! whole key; a seek binary-searches the restart points, then scans
//! forward. A data block may also carry RocksDB's data-block hash index
//! (`kDataBlockBinaryAndHash`): one byte per bucket, naming the restart
//! interval that holds every entry of the user keys hashed there (or none,
//! or several: then the lookup binary-searches as before). A point lookup
//! ([`BlockIter::seek_for_get`]) then goes straight to its interval
//! instead of comparing whole keys at three or four restart points. The decoder checks every length and offset against the block,
//! since a block that passed its checksum can still have been written by a
//! buggy or foreign writer.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cmp::Ordering;
use core::ops::Deref;

use crate::coding::{
    copy_short, extend_short, get_fixed32, get_varint32, put_fixed32, put_varint32,
    shared_prefix_len,
};

/// A bucket that no user key hashed to.
const NO_ENTRY: u8 = 255;
/// A bucket that user keys of two restart intervals hashed to.
const COLLISION: u8 = 254;
/// Restart intervals a bucket can name: blocks with more carry no index.
const MAX_HASHED_RESTARTS: usize = 254;
/// The trailer's flag for a hash index.
const HASH_INDEX_FLAG: u32 = 1 << 31;
use crate::comparator::Comparator;
use crate::error::{Corruption, CorruptionKind, Error, Result};
use crate::iter::KvIter;

/// Builds one block.
#[derive(Debug)]
pub struct BlockBuilder {
    buf: Vec<u8>,
    restarts: Vec<u32>,
    restart_interval: usize,
    counter: usize,
    last_key: Vec<u8>,
    entries: usize,
    /// For a hash index: each entry's user-key hash and restart interval.
    hashes: Option<Vec<(u32, usize)>>,
}

impl BlockBuilder {
    /// A builder placing a restart point every `restart_interval` entries.
    pub fn new(restart_interval: usize) -> Self {
        Self {
            buf: Vec::new(),
            restarts: alloc::vec![0],
            restart_interval: restart_interval.max(1),
            counter: 0,
            last_key: Vec::new(),
            entries: 0,
            hashes: None,
        }
    }

    /// As [`BlockBuilder::new`], for blocks that carry a hash index of
    /// their entries' user keys (entries added with
    /// [`BlockBuilder::add_hashed`]).
    pub fn with_hash_index(restart_interval: usize) -> Self {
        Self {
            hashes: Some(Vec::new()),
            ..Self::new(restart_interval)
        }
    }

    /// Adds an entry whose user key hashes to `hash` (the hash a point
    /// lookup gives [`BlockIter::seek_for_get`]).
    pub fn add_hashed(&mut self, key: &[u8], value: &[u8], hash: u32) {
        self.add(key, value);
        let restart = self.restarts.len() - 1;
        if let Some(h) = &mut self.hashes {
            h.push((hash, restart));
        }
    }

    /// Adds an entry; keys must come in increasing order.
    pub fn add(&mut self, key: &[u8], value: &[u8]) {
        let mut shared = 0;
        if self.counter < self.restart_interval {
            shared = shared_prefix_len(&self.last_key, key);
        } else {
            self.restarts.push(self.buf.len() as u32);
            self.counter = 0;
        }
        let non_shared = key.len() - shared;
        put_varint32(&mut self.buf, shared as u32);
        put_varint32(&mut self.buf, non_shared as u32);
        put_varint32(&mut self.buf, value.len() as u32);
        extend_short(&mut self.buf, &key[shared..]);
        extend_short(&mut self.buf, value);
        self.last_key.truncate(shared);
        extend_short(&mut self.last_key, &key[shared..]);
        self.counter += 1;
        self.entries += 1;
    }

    /// Size the block would have if finished now.
    pub fn size_estimate(&self) -> usize {
        let hash_index = match &self.hashes {
            Some(h) if !h.is_empty() => bucket_count(h.len()) + 2,
            _ => 0,
        };
        self.buf.len() + self.restarts.len() * 4 + 4 + hash_index
    }

    /// Whether no entry was added.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// The last key added.
    pub fn last_key(&self) -> &[u8] {
        &self.last_key
    }

    /// Appends the restart array and returns the block's bytes; the builder is
    /// reset for the next block.
    pub fn finish(&mut self) -> Vec<u8> {
        for &r in &self.restarts {
            put_fixed32(&mut self.buf, r);
        }
        let mut trailer = self.restarts.len() as u32;
        if let Some(hashes) = &mut self.hashes {
            if !hashes.is_empty() && self.restarts.len() <= MAX_HASHED_RESTARTS {
                let n = bucket_count(hashes.len());
                let at = self.buf.len();
                self.buf.resize(at + n, NO_ENTRY);
                let buckets = &mut self.buf[at..];
                for &(h, restart) in hashes.iter() {
                    let b = &mut buckets[h as usize % n];
                    *b = match *b {
                        NO_ENTRY => restart as u8,
                        same if same as usize == restart => same,
                        _ => COLLISION,
                    };
                }
                self.buf.extend_from_slice(&(n as u16).to_le_bytes());
                trailer |= HASH_INDEX_FLAG;
            }
            hashes.clear();
        }
        put_fixed32(&mut self.buf, trailer);
        // The next block is about as large: its buffer starts at this one's
        // size instead of regrowing from empty.
        let cap = self.buf.capacity();
        let out = core::mem::replace(&mut self.buf, Vec::with_capacity(cap));
        self.restarts.clear();
        self.restarts.push(0);
        self.counter = 0;
        self.last_key.clear();
        self.entries = 0;
        out
    }
}

/// Buckets for `entries` entries: two per entry, odd, within a 16-bit
/// count. At RocksDB's default (0.75 entries per bucket) about half the
/// lookups met a collision in blocks of ~35 entries with a restart every
/// 4, and binary-searched: 1,000,000 keys, `tools/insn-profile bench
/// readrandom` after `fillrandom overwrite readrandom`, 3,359 instructions
/// per lookup; 0.5 per bucket 3,286 (~1.7% more block bytes), 0.25 3,230
/// (~3.4%); none 3,501.
fn bucket_count(entries: usize) -> usize {
    ((entries * 2) | 1).min(u16::MAX as usize)
}

/// A decoded block: its bytes and where its restart array starts. It owns
/// them (`Arc<[u8]>`, a cached or just-read block) or borrows them
/// ([`view`](Block::view): a table's pinned index block, read without
/// touching its reference count, which lookups on several cores would
/// otherwise all write).
#[derive(Debug, Clone)]
pub struct Block<B: Deref<Target = [u8]> = Arc<[u8]>> {
    data: B,
    restarts_offset: usize,
    num_restarts: usize,
    /// Where the hash index's buckets start, and how many (0: none).
    buckets: (usize, usize),
}

fn corrupt(kind: CorruptionKind) -> Error {
    Error::Corruption(Corruption::new(kind))
}

impl Block {
    /// Checks the restart array's frame and wraps the block.
    pub fn new(data: Arc<[u8]>) -> Result<Self> {
        let n = data.len();
        let trailer = get_fixed32(&data, n.wrapping_sub(4))
            .ok_or_else(|| corrupt(CorruptionKind::Truncated))?;
        let (num, end, buckets) = if trailer & HASH_INDEX_FLAG == 0 {
            (trailer as usize, n - 4, (0, 0))
        } else {
            let bad = || corrupt(CorruptionKind::Malformed("hash index"));
            let count = data
                .get(n.wrapping_sub(6)..n - 4)
                .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
                .ok_or_else(bad)?;
            let at = (n - 6).checked_sub(count).ok_or_else(bad)?;
            if count == 0 {
                return Err(bad());
            }
            ((trailer & !HASH_INDEX_FLAG) as usize, at, (at, count))
        };
        if num == 0 || num > end / 4 || (buckets.1 > 0 && num > MAX_HASHED_RESTARTS) {
            return Err(corrupt(CorruptionKind::Malformed("restart count")));
        }
        let restarts_offset = end - num * 4;
        Ok(Self {
            data,
            restarts_offset,
            num_restarts: num,
            buckets,
        })
    }
}

impl<B: Deref<Target = [u8]>> Block<B> {
    /// The same block, borrowed.
    pub fn view(&self) -> Block<&[u8]> {
        Block {
            data: &self.data,
            restarts_offset: self.restarts_offset,
            num_restarts: self.num_restarts,
            buckets: self.buckets,
        }
    }

    /// A cursor that owns the block and builds its keys in `key_buf` (a
    /// buffer recycled from an earlier cursor, so a lookup allocates nothing).
    pub fn into_iter_with<C: Comparator>(self, cmp: C, key_buf: Vec<u8>) -> BlockIter<C, B> {
        let end = self.restarts_offset;
        BlockIter {
            block: self,
            cmp,
            current: end,
            next_offset: end,
            key: key_buf,
            key_len: 0,
            value: (0, 0),
        }
    }

    /// Bytes of the block.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the block holds no bytes (never true for a decoded block).
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Decodes the entry header at `p` (which must be `< restarts_offset`):
    /// shared key bytes, where the key's own bytes start, how many there are,
    /// and the value's length; checks that the entry ends inside the entries.
    #[inline(always)]
    fn entry_at(&self, p: usize) -> Result<Entry> {
        let limit = self.restarts_offset;
        let data = &self.data[..limit];
        let bad = || corrupt(CorruptionKind::Malformed("block entry"));
        let (shared, non_shared, value_len, key_start) = match data.get(p..p + 3) {
            // Fast path: three one-byte varints, the common case.
            Some(&[a, b, c]) if (a | b | c) < 0x80 => (a as usize, b as usize, c as usize, p + 3),
            _ => {
                let (shared, a) = get_varint32(&data[p..]).ok_or_else(bad)?;
                let (non_shared, b) = get_varint32(&data[p + a..]).ok_or_else(bad)?;
                let (value_len, c) = get_varint32(&data[p + a + b..]).ok_or_else(bad)?;
                (
                    shared as usize,
                    non_shared as usize,
                    value_len as usize,
                    p + a + b + c,
                )
            }
        };
        let end = key_start
            .checked_add(non_shared)
            .and_then(|v| v.checked_add(value_len))
            .ok_or_else(|| corrupt(CorruptionKind::OutOfBounds))?;
        if end > limit {
            return Err(corrupt(CorruptionKind::OutOfBounds));
        }
        Ok(Entry {
            shared,
            key_start,
            non_shared,
            value_len,
            end,
        })
    }

    /// Restart points.
    pub fn num_restarts(&self) -> usize {
        self.num_restarts
    }

    /// Whether the block carries a hash index.
    pub fn has_hash_index(&self) -> bool {
        self.buckets.1 > 0
    }

    /// The key and value of the entry at restart point `i`, which holds
    /// its whole key.
    #[inline]
    pub fn restart_entry(&self, i: usize) -> Result<(&[u8], &[u8])> {
        let p = self.restart_point(i)?;
        if p >= self.restarts_offset {
            return Err(corrupt(CorruptionKind::OutOfBounds));
        }
        let e = self.entry_at(p)?;
        if e.shared > 0 {
            return Err(corrupt(CorruptionKind::OutOfBounds));
        }
        let key_end = e.key_start + e.non_shared;
        Ok((&self.data[e.key_start..key_end], &self.data[key_end..e.end]))
    }

    /// Every entry's key, in order, if every entry is a restart point (an
    /// index block's layout, so that entry `i` is [`Self::restart_entry`]
    /// `i`); `None` for any other block or a damaged one.
    pub fn restart_keys(&self) -> Option<Vec<&[u8]>> {
        let mut keys = Vec::with_capacity(self.num_restarts);
        let mut p = 0;
        for i in 0..self.num_restarts {
            if self.restart_point(i).ok()? != p {
                return None;
            }
            let (key, _) = self.restart_entry(i).ok()?;
            keys.push(key);
            p = self.entry_at(p).ok()?.end;
        }
        (p == self.restarts_offset).then_some(keys)
    }

    #[inline(always)]
    fn restart_point(&self, i: usize) -> Result<usize> {
        let off = get_fixed32(&self.data, self.restarts_offset + 4 * i)
            .ok_or_else(|| corrupt(CorruptionKind::Truncated))? as usize;
        if off > self.restarts_offset {
            return Err(corrupt(CorruptionKind::OutOfBounds));
        }
        Ok(off)
    }
}

/// One entry's header, decoded and bounds-checked.
#[derive(Debug, Clone, Copy)]
struct Entry {
    shared: usize,
    key_start: usize,
    non_shared: usize,
    value_len: usize,
    end: usize,
}

impl<B: Deref<Target = [u8]> + Clone> Block<B> {
    /// A cursor over the block's entries in the order `cmp` defines.
    pub fn iter<C: Comparator>(&self, cmp: C) -> BlockIter<C, B> {
        self.clone().into_iter_with(cmp, Vec::new())
    }
}

/// A cursor over one block.
#[derive(Debug)]
pub struct BlockIter<C: Comparator, B: Deref<Target = [u8]> = Arc<[u8]>> {
    block: Block<B>,
    cmp: C,
    /// Offset of the current entry; `restarts_offset` when not valid.
    current: usize,
    /// Offset of the entry after the current one.
    next_offset: usize,
    /// The current key is `key[..key_len]`; the buffer's bytes past it are
    /// spare room (its length only grows, so that building a key never
    /// resizes it).
    key: Vec<u8>,
    key_len: usize,
    /// Start and length of the current value in the block.
    value: (usize, usize),
}

impl<C: Comparator, B: Deref<Target = [u8]>> BlockIter<C, B> {
    fn invalidate(&mut self) {
        self.current = self.block.restarts_offset;
        self.next_offset = self.block.restarts_offset;
        self.key_len = 0;
    }

    /// Gives back the key buffer, for the next cursor to reuse.
    pub fn into_key_buf(self) -> Vec<u8> {
        self.key
    }

    /// Decodes the entry at `next_offset` on top of `key`; false at the end.
    #[inline(always)]
    fn parse_next(&mut self) -> Result<bool> {
        let p = self.next_offset;
        if p >= self.block.restarts_offset {
            self.invalidate();
            return Ok(false);
        }
        let e = self.block.entry_at(p)?;
        if e.shared > self.key_len {
            return Err(corrupt(CorruptionKind::OutOfBounds));
        }
        let key_end = e.key_start + e.non_shared;
        let len = e.shared + e.non_shared;
        if len > self.key.len() {
            self.key.resize(len.max(64), 0);
        }
        copy_short(
            &mut self.key[e.shared..len],
            &self.block.data[e.key_start..key_end],
        );
        self.key_len = len;
        self.value = (key_end, e.value_len);
        self.current = p;
        self.next_offset = e.end;
        Ok(true)
    }

    fn seek_to_restart(&mut self, i: usize) -> Result<()> {
        self.key_len = 0;
        self.next_offset = self.block.restart_point(i)?;
        Ok(())
    }

    fn result<T>(&mut self, r: Result<T>) -> Result<T> {
        if r.is_err() {
            self.invalidate();
        }
        r
    }

    fn seek_inner(&mut self, target: &[u8]) -> Result<()> {
        // Binary search for the last restart point whose key is < target.
        // A restart point's entry holds its whole key, which is compared
        // where it lies in the block.
        let (mut left, mut right) = (0, self.block.num_restarts - 1);
        while left < right {
            let mid = (left + right).div_ceil(2);
            let p = self.block.restart_point(mid)?;
            if p >= self.block.restarts_offset {
                return Err(corrupt(CorruptionKind::OutOfBounds));
            }
            let e = self.block.entry_at(p)?;
            if e.shared > 0 {
                return Err(corrupt(CorruptionKind::OutOfBounds));
            }
            let key = &self.block.data[e.key_start..e.key_start + e.non_shared];
            if self.cmp.compare(key, target) == Ordering::Less {
                left = mid;
            } else {
                right = mid - 1;
            }
        }
        self.seek_to_restart(left)?;
        while self.parse_next()? {
            if self.cmp.compare(&self.key[..self.key_len], target) != Ordering::Less {
                return Ok(());
            }
        }
        Ok(())
    }
}

impl<C: Comparator, B: Deref<Target = [u8]>> BlockIter<C, B> {
    /// A point lookup's seek for `target`, whose user key hashes to `hash`
    /// (the bloom filter's [`super::bloom::key_hash`] of its filter key):
    /// if the block holds an entry of that user key `>= target`, the cursor
    /// is at the first one, as [`KvIter::seek`] would put it; if not, it is
    /// at some entry `>= target` of another user key, or past the end when
    /// every entry is `< target` (the next block may hold the key). With a
    /// hash index the scan starts at the interval the key's bucket names
    /// (RocksDB's `SeekForGet`); with none, or on a collision, it is a seek.
    pub fn seek_for_get(&mut self, target: &[u8], hash: u32) -> Result<()> {
        let r = self.seek_for_get_inner(target, hash);
        self.result(r)
    }

    fn seek_for_get_inner(&mut self, target: &[u8], hash: u32) -> Result<()> {
        let (at, count) = self.block.buckets;
        if count == 0 {
            return self.seek_inner(target);
        }
        let restart = match self.block.data[at + hash as usize % count] {
            COLLISION => return self.seek_inner(target),
            // Not in this block; the last interval says whether every
            // entry is below the target (the key may open the next block).
            NO_ENTRY => self.block.num_restarts - 1,
            r => r as usize,
        };
        if restart >= self.block.num_restarts {
            return Err(corrupt(CorruptionKind::Malformed("hash index")));
        }
        self.seek_to_restart(restart)?;
        while self.parse_next()? {
            if self.cmp.compare(&self.key[..self.key_len], target) != Ordering::Less {
                return Ok(());
            }
        }
        Ok(())
    }
}

impl<C: Comparator, B: Deref<Target = [u8]>> KvIter for BlockIter<C, B> {
    fn valid(&self) -> bool {
        self.current < self.block.restarts_offset
    }

    fn seek_to_first(&mut self) -> Result<()> {
        let r = self
            .seek_to_restart(0)
            .and_then(|()| self.parse_next().map(drop));
        self.result(r)
    }

    fn seek(&mut self, target: &[u8]) -> Result<()> {
        let r = self.seek_inner(target);
        self.result(r)
    }

    #[inline]
    fn next(&mut self) -> Result<()> {
        let r = self.parse_next().map(drop);
        self.result(r)
    }

    fn key(&self) -> &[u8] {
        &self.key[..self.key_len]
    }

    fn value(&self) -> &[u8] {
        let (start, len) = self.value;
        &self.block.data[start..start + len]
    }
}

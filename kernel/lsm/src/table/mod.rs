//! Sorted string tables: immutable sorted files, LevelDB's `table/` format.
//!
//! ```text
//!   [data block][trailer] ... [data block][trailer]
//!   [filter block][trailer]     bloom filter over every key's filter key
//!   [index block][trailer]      separator key >= block's last key -> handle
//!   [footer: 48 bytes]          filter handle, index handle (varints,
//!                               zero-padded to 28 bytes), fixed64 table id,
//!                               masked crc32c of those 36 bytes, fixed64 magic
//!   trailer: kind byte (1 data, 2 index, 3 filter) | masked crc32c(block, kind)
//!   handle:  varint64 offset | varint64 size (size excludes the trailer)
//! ```
//!
//! Where LevelDB's trailer byte names a compression type, ours names the
//! block's kind: blocks are not compressed (the disk is not the bottleneck
//! under QEMU; CPU is), and a handle damaged into pointing at a valid block of
//! another kind is caught instead of decoded as the wrong thing. The footer
//! has its own checksum for the same reason, and names its table: tables live
//! in reused extents of a raw disk, and a stale pointer to an extent that now
//! holds another (valid) table is caught at open instead of read as data.
//!
//! A table is built in memory ([`TableBuilder`]) and written by the store in
//! large sequential writes; it is read through [`ReadAt`] at any byte offset,
//! so the store decides how reads map to sectors and caches.

mod block;
pub mod bloom;
mod builder;
mod inspect;
mod iter;
mod lookup;
mod reader;

pub use block::{Block, BlockBuilder, BlockIter};
pub use builder::{TableBuilder, TableOptions};
pub use inspect::{DataBlockInfo, FilterInfo, TableInspection};
pub use iter::TableIter;
pub use lookup::{Located, LookupBufs, Probe};
pub use reader::{PinBudget, Table};

use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::coding::{get_varint64, put_varint64};
use crate::error::{Corruption, CorruptionKind, Result};

/// Bytes after every block: kind byte and masked CRC32C.
pub const BLOCK_TRAILER_SIZE: usize = 5;
/// Bytes of the footer at the end of every table.
pub const FOOTER_SIZE: usize = 48;
/// The last 8 bytes of every table ("unikvSST" read as little-endian bytes).
pub const TABLE_MAGIC: u64 = u64::from_le_bytes(*b"unikvSST");

const HANDLES_SIZE: usize = 28;
const CHECKED_SIZE: usize = HANDLES_SIZE + 8;

/// Kind byte of a data block.
pub const KIND_DATA: u8 = 1;
/// Kind byte of the index block.
pub const KIND_INDEX: u8 = 2;
/// Kind byte of the filter block.
pub const KIND_FILTER: u8 = 3;

/// What a block holds, so that caches and their statistics can tell the
/// blocks a lookup needs apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockKind {
    /// Sorted entries: keys and values.
    Data,
    /// Separator keys and data block handles.
    Index,
    /// The table's bloom filter.
    Filter,
}

impl BlockKind {
    /// All kinds, in trailer-byte order.
    pub const ALL: [BlockKind; 3] = [BlockKind::Data, BlockKind::Index, BlockKind::Filter];

    /// The kind byte in the block's trailer.
    pub fn byte(self) -> u8 {
        match self {
            BlockKind::Data => KIND_DATA,
            BlockKind::Index => KIND_INDEX,
            BlockKind::Filter => KIND_FILTER,
        }
    }

    /// The kind's name, as errors and statistics print it.
    pub fn name(self) -> &'static str {
        match self {
            BlockKind::Data => "data",
            BlockKind::Index => "index",
            BlockKind::Filter => "filter",
        }
    }
}

/// What a block read does with the bytes it was lent: checks them and makes
/// the block (see [`ReadAt::read_with`]).
pub type BlockCheck<'a> = dyn FnMut(&[u8]) -> Result<Arc<[u8]>> + 'a;

/// Random-access reads of a table's bytes, at any offset and length.
///
/// Takes `&self` so that many iterators can read one table at once; an
/// implementation over a device uses interior mutability.
pub trait ReadAt {
    /// Fills `buf` with the bytes at `offset`. Reading past the end is an
    /// error.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()>;

    /// A block of this table that was verified earlier, by its offset: a
    /// block cache's hit. Called before every block fetch, hit or not, so an
    /// implementation can count the blocks a lookup needs. The default caches
    /// nothing.
    fn cached_block(&self, _offset: u64, _kind: BlockKind) -> Option<Arc<[u8]>> {
        None
    }

    /// Offers a block that has just passed its checksum for caching.
    fn cache_block(&self, _offset: u64, _kind: BlockKind, _block: &Arc<[u8]>) {}

    /// A block the cache holds, taken without counting or recording it as
    /// a lookup (a table pinning its index and filter). The default has
    /// none.
    fn peek_block(&self, _offset: u64, _kind: BlockKind) -> Option<Arc<[u8]>> {
        None
    }

    /// Whether this reader is served from the index and filter blocks an
    /// open table keeps, and the budget a table that keeps none yet takes
    /// them from; `None` fetches them (through
    /// [`cached_block`](Self::cached_block)) on every use. The default
    /// does.
    fn pin_budget(&self) -> Option<&Arc<PinBudget>> {
        None
    }

    /// Reads `len` bytes at `offset` (as [`read_at`](Self::read_at) does)
    /// and hands them to `f`, returning what it made of them: the outer
    /// error is the read's, the inner one `f`'s. An implementation may lend
    /// a buffer of its own, so that a block read allocates only the block.
    fn read_with(
        &self,
        offset: u64,
        len: usize,
        f: &mut BlockCheck<'_>,
    ) -> Result<Result<Arc<[u8]>>> {
        let mut buf = alloc::vec![0u8; len];
        self.read_at(offset, &mut buf)?;
        Ok(f(&buf))
    }
}

impl ReadAt for [u8] {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        let src = start
            .checked_add(buf.len())
            .and_then(|end| self.get(start..end))
            .ok_or_else(|| Corruption::new(CorruptionKind::Truncated))?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn read_with(
        &self,
        offset: u64,
        len: usize,
        f: &mut BlockCheck<'_>,
    ) -> Result<Result<Arc<[u8]>>> {
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        let src = start
            .checked_add(len)
            .and_then(|end| self.get(start..end))
            .ok_or_else(|| Corruption::new(CorruptionKind::Truncated))?;
        Ok(f(src))
    }
}

impl<T: ReadAt + ?Sized> ReadAt for &T {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        (**self).read_at(offset, buf)
    }
    fn cached_block(&self, offset: u64, kind: BlockKind) -> Option<Arc<[u8]>> {
        (**self).cached_block(offset, kind)
    }
    fn cache_block(&self, offset: u64, kind: BlockKind, block: &Arc<[u8]>) {
        (**self).cache_block(offset, kind, block)
    }
    fn pin_budget(&self) -> Option<&Arc<PinBudget>> {
        (**self).pin_budget()
    }
    fn peek_block(&self, offset: u64, kind: BlockKind) -> Option<Arc<[u8]>> {
        (**self).peek_block(offset, kind)
    }
    fn read_with(
        &self,
        offset: u64,
        len: usize,
        f: &mut BlockCheck<'_>,
    ) -> Result<Result<Arc<[u8]>>> {
        (**self).read_with(offset, len, f)
    }
}

impl ReadAt for Vec<u8> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.as_slice().read_at(offset, buf)
    }
    fn read_with(
        &self,
        offset: u64,
        len: usize,
        f: &mut BlockCheck<'_>,
    ) -> Result<Result<Arc<[u8]>>> {
        self.as_slice().read_with(offset, len, f)
    }
}

/// Where a block lives in its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlockHandle {
    /// Byte offset of the block in the table.
    pub offset: u64,
    /// Size of the block, without its trailer.
    pub size: u64,
}

impl BlockHandle {
    /// Appends the handle's encoding.
    pub fn encode_to(&self, dst: &mut Vec<u8>) {
        put_varint64(dst, self.offset);
        put_varint64(dst, self.size);
    }

    /// Decodes a handle from the front of `src`; returns it and the bytes used.
    #[inline]
    pub fn decode(src: &[u8]) -> Option<(Self, usize)> {
        let (offset, a) = get_varint64(src)?;
        let (size, b) = get_varint64(&src[a..])?;
        Some((Self { offset, size }, a + b))
    }
}

/// The footer, or `None` if the handles do not fit (a table of more than
/// 2^35 bytes, which the builder never makes).
fn encode_footer(filter: BlockHandle, index: BlockHandle, id: u64) -> Option<Vec<u8>> {
    let mut f = Vec::with_capacity(FOOTER_SIZE);
    filter.encode_to(&mut f);
    index.encode_to(&mut f);
    if f.len() > HANDLES_SIZE {
        return None;
    }
    f.resize(HANDLES_SIZE, 0);
    f.extend_from_slice(&id.to_le_bytes());
    let crc = crate::crc32c::mask(crate::crc32c::value(&f));
    f.extend_from_slice(&crc.to_le_bytes());
    f.extend_from_slice(&TABLE_MAGIC.to_le_bytes());
    Some(f)
}

/// Decodes a footer: (filter handle, index handle, table id).
fn decode_footer(
    f: &[u8],
) -> core::result::Result<(BlockHandle, BlockHandle, u64), CorruptionKind> {
    use crate::coding::{get_fixed32, get_fixed64};
    if f.len() != FOOTER_SIZE {
        return Err(CorruptionKind::Truncated);
    }
    if get_fixed64(f, FOOTER_SIZE - 8) != Some(TABLE_MAGIC) {
        return Err(CorruptionKind::BadMagic);
    }
    let stored = get_fixed32(f, CHECKED_SIZE).ok_or(CorruptionKind::Truncated)?;
    if crate::crc32c::unmask(stored) != crate::crc32c::value(&f[..CHECKED_SIZE]) {
        return Err(CorruptionKind::ChecksumMismatch);
    }
    let bad = CorruptionKind::Malformed("block handle");
    let (filter, a) = BlockHandle::decode(&f[..HANDLES_SIZE]).ok_or(bad)?;
    let (index, _) = BlockHandle::decode(&f[a..HANDLES_SIZE]).ok_or(bad)?;
    let id = get_fixed64(f, HANDLES_SIZE).ok_or(CorruptionKind::Truncated)?;
    Ok((filter, index, id))
}

#[cfg(test)]
mod tests;

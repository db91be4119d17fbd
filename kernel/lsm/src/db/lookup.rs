//! What a point lookup tells its caller, and the point cache (AC-Key's KV
//! and KP parts) it may consult.
//!
//! ```text
//!   get(key): memtable, frozen memtable
//!             -> point cache: KV hit (no block read) | KP hit (one data
//!                block, then promote) | miss
//!             -> tables, level by level (filter, index, data blocks through
//!                the block cache) -> offer the value to the point cache
//! ```
//!
//! The point cache holds the newest value of a key (or where it is) as the
//! tables had it. It stays right because: every write and delete drops the
//! key's entries (a later lookup finds the key in the memtable until it is
//! flushed, and only lookups that reach the tables fill the cache); a flush
//! changes no key's newest value; a compaction drops the pointers into the
//! tables it deleted and re-aims those into tables it moved to another level.
//! Snapshot reads bypass it: it knows only the newest values.

use alloc::vec::Vec;

/// Where a key's newest version was found: a data block of a live table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct BlockPointer {
    /// The level the table was on when the pointer was made (or re-aimed).
    pub level: u8,
    /// The table's number.
    pub table: u64,
    /// The data block's offset in the table.
    pub offset: u64,
    /// The data block's size, without its trailer.
    pub size: u64,
}

impl BlockPointer {
    /// Bytes a pointer costs a cache, for charging KP entries.
    pub const CHARGE: u64 = 25;
}

/// What the point cache knows of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PointHit {
    /// Its newest value: no block needs reading.
    Kv(Vec<u8>),
    /// The data block holding its newest version: one block to read.
    Kp(BlockPointer),
    /// Nothing.
    Miss,
}

/// AC-Key's point parts as the store sees them (KV: key -> value, KP: key ->
/// data block). Takes `&self`: implementations lock inside, like
/// [`BlockCache`](super::BlockCache).
pub trait PointCache {
    /// Whether [`lookup`](Self::lookup) and [`insert`](Self::insert) can
    /// do anything now: a cache under a block-only policy answers false,
    /// and a point lookup then asks it nothing (under TCG its two calls,
    /// each through a recorder, were ~100 instructions and eight jumps a
    /// lookup for nothing).
    fn active(&self) -> bool {
        true
    }
    /// Looks `key` up in KV, then KP.
    fn lookup(&self, key: &[u8]) -> PointHit;
    /// After a miss that found `value` in the tables at `ptr`; `stats` says
    /// what the lookup cost (its reads make the entry's worth).
    fn insert(&self, key: &[u8], value: &[u8], ptr: BlockPointer, stats: &LookupStats);
    /// After a KP hit and its block read: the key is hot, keep its value.
    fn promote(&self, key: &[u8], value: &[u8]);
    /// The key was written or deleted: drop what is cached of it.
    fn invalidate(&self, key: &[u8]);
    /// After a compaction: keep the KP entries `keep` accepts (it may re-aim
    /// their pointers), drop the others.
    fn retain_pointers(&self, keep: &mut dyn FnMut(&[u8], &mut BlockPointer) -> bool);
    /// Drops every entry: the cache is being attached to a store whose
    /// writes it has not seen.
    fn clear(&self);
}

/// Where a lookup's answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LookupSource {
    /// No table or memtable holds the key.
    #[default]
    Nowhere,
    /// The memtable or the frozen memtable (a value or a tombstone).
    Memtable,
    /// The point cache's KV part.
    PointKv,
    /// The point cache's KP part and the one block it points to.
    PointKp,
    /// A table (a value or a tombstone), searched level by level.
    Table,
}

/// What one point lookup cost and where it found its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LookupStats {
    /// Device reads the lookup issued: blocks the block cache did not have,
    /// and footers of tables not yet open.
    pub disk_reads: u32,
    /// Blocks the lookup needed below the memtables (filter, index and data
    /// blocks of every table probed, or the one block of a KP hit), whether
    /// the block cache had them or not.
    pub block_reads: u32,
    /// Blocks the block cache had.
    pub cache_hits: u32,
    /// Tables whose filter was consulted.
    pub tables_probed: u32,
    /// Where the answer came from.
    pub source: LookupSource,
    /// The data block that holds the answer, when it came from a table
    /// (through the tree or a KP entry).
    pub location: Option<BlockPointer>,
}

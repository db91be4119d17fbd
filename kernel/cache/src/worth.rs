//! What a point entry is worth to AC-Key (its `b`): which of its lookup's
//! reads a hit spares ([`EReads`]), and the recent index and filter miss
//! rate that [`EReads::Expected`] weighs them by.

use lsm::db::LookupStats;

/// Which reads make a point entry's worth (AC-Key's `b` in `E = b / s`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EReads {
    /// The data block as one read, and the lookup's other blocks (filter and
    /// index blocks, and data blocks of filters' false positives) at the
    /// rate the cache has missed index and filter blocks: the reads a hit
    /// can be expected to spare the disk (the default). The block part keeps
    /// index and filter blocks ahead of data blocks, so once warm they are
    /// rarely read, and a KP entry (which spares only them) is worth little:
    /// counting them as reads made KP look two reads' worth per 40 bytes
    /// and took ~45% of the point side from KV at 512 KiB.
    #[default]
    Expected,
    /// Every block the lookup needed below the memtables, whether the block
    /// cache had it or not: what a hit spares the tree, independent of what
    /// else happens to be cached.
    Blocks,
    /// Only the device reads the lookup made: what a hit spared the disk
    /// when the entry was made.
    Disk,
}

/// How often the shard has lately missed index and filter blocks, for
/// [`EReads::Expected`]: hits and misses, both halved once they add up to
/// `MetaRate::SPAN`, so that the cold start's misses fade out and INFO's
/// counters (which a user may reset) play no part in caching decisions.
#[derive(Clone, Copy, Default)]
pub(crate) struct MetaRate {
    hits: u32,
    misses: u32,
}

impl MetaRate {
    const SPAN: u32 = 1024;

    pub(crate) fn count(&mut self, hit: bool) {
        if hit {
            self.hits += 1;
        } else {
            self.misses += 1;
        }
        if self.hits + self.misses >= Self::SPAN {
            self.hits /= 2;
            self.misses /= 2;
        }
    }

    /// [`EReads::Expected`]: one for the data block, plus the lookup's other
    /// blocks at the shard's index and filter miss ratio (rounded). A
    /// shard's blocks are a hash-picked sample of all of them, so its ratio
    /// stands for the cache's. With none seen since the shard started the
    /// tables keep their index and filter blocks themselves (`CACHE
    /// METADATA pinned`, the default; a lookup asks the cache for them
    /// before it inserts its entry otherwise), and a hit spares the data
    /// block alone. Nothing dilutes the rate once lookups stop asking: after
    /// `cached` back to `pinned` it stays as it was until a policy switch
    /// (or a resize that splits the shards anew) restarts the shard.
    pub(crate) fn expected_reads(self, stats: &LookupStats) -> u32 {
        let others = stats.block_reads.saturating_sub(1);
        let total = self.hits + self.misses;
        1 + (others * self.misses + total / 2)
            .checked_div(total)
            .unwrap_or(0)
    }
}

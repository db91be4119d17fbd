//! What the store asks of its cache, answered: [`lsm::db::BlockCache`]
//! (filter, index and data blocks, under every policy) and
//! [`lsm::db::PointCache`] (AC-Key's KV and KP entries; a silent miss under
//! the other policies), on the shards of a [`StoreCache`].
//!
//! Apart from the cache's construction and controls (`mod.rs`) because
//! this is the store's hot path: each lookup's requests and the priority
//! and room rules they follow.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;

use lsm::db::{BlockCache, BlockKind, BlockPointer, LookupStats, PointCache, PointHit as Found};

use super::{kind_index, StoreCache};
use crate::{EReads, PointHit, Priority, Stats};

/// Blocks of deleted tables erased under one hold of a shard's lock (see
/// `erase_tables`): a lookup that needs the shard meanwhile waits for this
/// many removals at most.
const ERASE_BATCH: usize = 32;

impl BlockCache for StoreCache {
    fn get(&self, table: u64, offset: u64) -> Option<Arc<[u8]>> {
        self.get_block(table, offset, BlockKind::Data)
    }

    fn insert(&self, table: u64, offset: u64, block: Arc<[u8]>) {
        self.insert_block(table, offset, BlockKind::Data, block)
    }

    fn erase_table(&self, table: u64) {
        self.erase_tables(&[table]);
    }

    /// One pass over every shard for all of them: a pass visits every
    /// cached entry (at 1,000,000 keys, one per deleted table cost the
    /// background core ~170 instructions per lookup of a readrandom that
    /// ran beside the compactions). A shard is held for at most
    /// `ERASE_BATCH` (32) blocks at a time, and the blocks are freed after
    /// it is let go: a compaction deletes thousands of blocks at once, and
    /// a lookup that needed the shard meanwhile spun for all of them (in a
    /// readrandom of 1,000,000 keys beside overwrite's compactions, ~190
    /// instructions a lookup of spinning on block shards).
    fn erase_tables(&self, tables: &[u64]) {
        if tables.is_empty() {
            return;
        }
        let (mut handles, mut gone) = (
            Vec::with_capacity(ERASE_BATCH),
            Vec::with_capacity(ERASE_BATCH),
        );
        for shard in &self.shards[..self.shard_count()] {
            for &t in tables {
                loop {
                    let mut s = shard.lock();
                    handles.clear();
                    handles.extend(
                        s.blocks
                            .range((t, 0)..=(t, u64::MAX))
                            .take(ERASE_BATCH)
                            .copied(),
                    );
                    for h in &handles {
                        s.blocks.remove(h);
                        gone.extend(s.cache.remove_block(h));
                    }
                    drop(s);
                    gone.clear();
                    if handles.len() < ERASE_BATCH {
                        break;
                    }
                }
            }
        }
    }

    fn get_block(&self, table: u64, offset: u64, kind: BlockKind) -> Option<Arc<[u8]>> {
        let mut s = self.block_shard(table, offset);
        let b = s.cache.get_block(&(table, offset)).cloned();
        let i = kind_index(kind);
        if b.is_some() {
            s.kinds.hits[i] += 1;
        } else {
            s.kinds.misses[i] += 1;
        }
        if kind != BlockKind::Data {
            s.meta.count(b.is_some());
        }
        b
    }

    /// Gives up on a shard another core holds: the peeker (a compaction)
    /// reads the block instead. Waiting costs more: under QEMU the holder's
    /// vCPU may not be running, and a spinning background core burned ~490
    /// instructions per lookup of a readrandom beside it.
    fn peek_block(&self, table: u64, offset: u64, _kind: BlockKind) -> Option<Arc<[u8]>> {
        let s = self.try_lock_picked(|n| Self::block_pick(table, offset) % n)?;
        s.cache.peek_block(&(table, offset)).cloned()
    }

    fn insert_block(&self, table: u64, offset: u64, kind: BlockKind, block: Arc<[u8]>) {
        let charge = block.len() as u64;
        // A block larger than its shard's budget is simply not cached.
        let mut s = self.block_shard(table, offset);
        if s.cache
            .insert_block_at((table, offset), block, charge, priority(kind))
            .is_ok()
        {
            s.blocks.insert((table, offset));
        }
    }

    /// Free room of the budget: written tables' blocks fill it (see
    /// `offer_block`) so that reads after writes hit, as they would in a
    /// page cache, without displacing anything a small cache holds.
    fn room(&self) -> u64 {
        room_of(&self.stats())
    }

    fn offer_block(&self, table: u64, offset: u64, kind: BlockKind, block: Arc<[u8]>) {
        let charge = block.len() as u64;
        let mut s = self.block_shard(table, offset);
        if charge <= room_of(&s.cache.stats())
            && s.cache
                .insert_block_at((table, offset), block, charge, priority(kind))
                .is_ok()
        {
            s.blocks.insert((table, offset));
        }
    }
}

/// Index and filter blocks serve every lookup into their table: AC-Key's
/// block part lets data blocks go first (RocksDB keeps them in its
/// high-priority pool for the same reason).
fn priority(kind: BlockKind) -> Priority {
    match kind {
        BlockKind::Data => Priority::Low,
        BlockKind::Index | BlockKind::Filter => Priority::High,
    }
}

/// Bytes the budget has left.
fn room_of(s: &Stats) -> u64 {
    s.capacity_bytes.saturating_sub(s.used_bytes)
}

impl PointCache for StoreCache {
    fn active(&self) -> bool {
        self.keeps_points()
    }

    fn lookup(&self, key: &[u8]) -> Found {
        if !self.keeps_points() {
            return Found::Miss;
        }
        let boxed: Box<[u8]> = key.into();
        self.with_point(key, |c| match c.get_point(&boxed) {
            PointHit::Kv(v) => Found::Kv(v.to_vec()),
            PointHit::Kp(p) => Found::Kp(*p),
            PointHit::Miss => Found::Miss,
        })
    }

    fn insert(&self, key: &[u8], value: &[u8], ptr: BlockPointer, stats: &LookupStats) {
        if !self.keeps_points() {
            return;
        }
        let klen = key.len() as u64;
        let (vcharge, pcharge) = (klen + value.len() as u64, klen + BlockPointer::CHARGE);
        let mut s = self.point_shard(key);
        let reads = match self.e_reads {
            EReads::Blocks => stats.block_reads,
            EReads::Disk => stats.disk_reads,
            EReads::Expected => s.meta.expected_reads(stats),
        };
        // An entry larger than the whole budget is simply not cached (and
        // any older entry of the key is gone: nothing stale stays).
        let _ = s
            .cache
            .insert_point(key.into(), value.into(), vcharge, ptr, pcharge, reads);
    }

    fn promote(&self, key: &[u8], value: &[u8]) {
        if !self.keeps_points() {
            return;
        }
        let charge = (key.len() + value.len()) as u64;
        let boxed: Box<[u8]> = key.into();
        let _ = self.with_point(key, |c| c.promote(&boxed, value.into(), charge));
    }

    fn invalidate(&self, key: &[u8]) {
        // Under a block-only policy there is no point entry to go stale
        // (switching to AC-Key starts it empty).
        if !self.keeps_points() {
            return;
        }
        let boxed: Box<[u8]> = key.into();
        self.with_point(key, |c| c.invalidate(&boxed));
    }

    fn retain_pointers(&self, keep: &mut dyn FnMut(&[u8], &mut BlockPointer) -> bool) {
        if !self.keeps_points() {
            return;
        }
        self.each(|s| s.cache.retain_kp(|k, p| keep(k, p)));
    }

    fn clear(&self) {
        // Blocks could stay (immutable, named by table numbers the store
        // never reuses), but the point parts cannot be emptied alone.
        self.each(|s| {
            s.cache.clear();
            s.blocks.clear();
        });
    }
}

//! AC-Key's public operations: point and block lookups, admission after a
//! miss, invalidation by writes, the compaction hooks, resizing, and the
//! targets and statistics reported.

use core::hash::Hash;

use super::{
    kp_saves, AcKey, AcKeyStats, GhostHit, Part, PartStats, Point, PointHit, Priority, Targets,
};
use super::{window::Lookup, FRAC};
use crate::{CacheError, Stats};

impl<K, V, P, H, B> AcKey<K, V, P, H, B>
where
    K: Hash + Eq + Clone,
    H: Hash + Eq + Clone,
{
    /// Looks `key` up in KV, then KP.
    pub fn get_point(&mut self, key: &K) -> PointHit<'_, V, P> {
        if let Some(slot) = self.kv.find(key) {
            self.kv.move_to_mru(slot, 0);
            let reads = self.kv.node(slot).value.reads;
            self.count_hit(Part::Kv, u64::from(reads));
            return PointHit::Kv(&self.kv.node(slot).value.item);
        }
        self.stats[Part::Kv.idx()].misses += 1;
        if let Some(slot) = self.kp.find(key) {
            self.kp.move_to_mru(slot, 0);
            let reads = self.kp.node(slot).value.reads;
            self.count_hit(Part::Kp, u64::from(kp_saves(reads)));
            return PointHit::Kp(&self.kp.node(slot).value.item);
        }
        self.stats[Part::Kp.idx()].misses += 1;
        self.count_miss(Lookup::Point);
        PointHit::Miss
    }

    /// Looks a block up by handle.
    pub fn get_block(&mut self, handle: &H) -> Option<&B> {
        match self.blocks.find(handle) {
            Some(slot) => {
                self.blocks.move_to_mru(slot, self.blocks.list_of(slot));
                let p = &mut self.blocks.node_mut(slot).value;
                p.reads = p.reads.saturating_add(1);
                self.count_hit(Part::Block, 1);
                Some(&self.blocks.node(slot).value.item)
            }
            None => {
                self.stats[Part::Block.idx()].misses += 1;
                self.count_miss(Lookup::Block);
                None
            }
        }
    }

    /// Whether `handle` is resident, without counting or touching anything.
    pub fn contains_block(&self, handle: &H) -> bool {
        self.blocks.find(handle).is_some()
    }

    /// The block under `handle`, without counting or touching anything.
    pub fn peek_block(&self, handle: &H) -> Option<&B> {
        self.blocks
            .find(handle)
            .map(|s| &self.blocks.node(s).value.item)
    }

    /// Which point part holds `key`, without counting or touching anything.
    pub fn point_part_of(&self, key: &K) -> Option<Part> {
        if self.kv.find(key).is_some() {
            Some(Part::Kv)
        } else if self.kp.find(key).is_some() {
            Some(Part::Kp)
        } else {
            None
        }
    }

    /// After a point miss: admits the entry as KV (if a ghost remembered the key,
    /// or the value is no bigger than the pointer) or as KP. `reads` is the
    /// number of blocks the lookup had to read below the memtable (filter and
    /// index blocks of each level probed, plus the data block), counted whether
    /// or not the block cache served them: what a later hit on this entry
    /// spares the tree. Returns the part it went to.
    pub fn insert_point(
        &mut self,
        key: K,
        value: V,
        value_charge: u64,
        ptr: P,
        ptr_charge: u64,
        reads: u32,
    ) -> Result<Part, CacheError> {
        self.invalidate(&key);
        let hit = self.take_ghost(&key, Part::Kv, Part::Kp);
        let to_kv = !matches!(hit, GhostHit::None) || value_charge <= ptr_charge;
        if to_kv {
            self.admit_kv(key, value, value_charge, reads)?;
            Ok(Part::Kv)
        } else {
            self.admit_kp(key, ptr, ptr_charge, reads)?;
            Ok(Part::Kp)
        }
    }

    /// After a KP hit and the block read: moves the entry to KV with its value
    /// (the second reference, as ARC moves T1 to T2). Does nothing if the key
    /// has gone from KP meanwhile.
    pub fn promote(&mut self, key: &K, value: V, value_charge: u64) -> Result<(), CacheError> {
        let Some(slot) = self.kp.find(key) else {
            return Ok(());
        };
        let node = self.kp.remove(slot);
        self.admit_kv(node.key, value, value_charge, node.value.reads)
    }

    /// After a block miss: admits the block at low priority (a data block).
    /// Returns which ghost list, if any, remembered it.
    pub fn insert_block(
        &mut self,
        handle: H,
        block: B,
        charge: u64,
    ) -> Result<GhostHit, CacheError> {
        self.insert_block_at(handle, block, charge, Priority::Low)
    }

    /// [`insert_block`](Self::insert_block) at `priority`.
    pub fn insert_block_at(
        &mut self,
        handle: H,
        block: B,
        charge: u64,
        priority: Priority,
    ) -> Result<GhostHit, CacheError> {
        if let Some(slot) = self.blocks.find(&handle) {
            self.blocks.remove(slot);
        }
        self.check_fits(charge)?;
        let hit = self.take_ghost(&handle, Part::Block, Part::Block);
        self.make_room(charge, Part::Block);
        self.blocks.push_mru(
            priority.list(),
            handle,
            Point {
                item: block,
                reads: 0,
            },
            charge,
        );
        self.stats[Part::Block.idx()].inserts += 1;
        Ok(hit)
    }

    /// Drops KV and KP entries of `key` (a write or delete made them stale).
    pub fn invalidate(&mut self, key: &K) {
        if let Some(slot) = self.kv.find(key) {
            self.kv.remove(slot);
        }
        if let Some(slot) = self.kp.find(key) {
            self.kp.remove(slot);
        }
    }

    /// Drops a block (its table was deleted), without a ghost.
    pub fn remove_block(&mut self, handle: &H) -> Option<B> {
        let slot = self.blocks.find(handle)?;
        Some(self.blocks.remove(slot).value.item)
    }

    /// Keeps the KP entries for which `f` returns true, letting it re-aim their
    /// pointers; drops the rest without ghosts. For compactions: O(entries).
    pub fn retain_kp(&mut self, mut f: impl FnMut(&K, &mut P) -> bool) {
        for slot in self.kp.slots() {
            let keep = {
                let node = self.kp.node_mut(slot);
                f(&node.key, &mut node.value.item)
            };
            if !keep {
                self.kp.remove(slot);
            }
        }
    }

    /// Keeps the blocks for which `f` returns true; drops the rest without ghosts.
    pub fn retain_blocks(&mut self, mut f: impl FnMut(&H) -> bool) {
        for slot in self.blocks.slots() {
            if !f(&self.blocks.node(slot).key) {
                self.blocks.remove(slot);
            }
        }
    }

    /// The current split of the capacity.
    pub fn targets(&self) -> Targets {
        let point = (self.point_target >> FRAC) as u64;
        let kv = (self.kv_target.min(self.point_target) >> FRAC) as u64;
        Targets {
            point,
            kv,
            kp: point - kv,
            block: self.capacity - point,
        }
    }

    /// Counters per part, targets and the ghost switch.
    pub fn ac_stats(&self) -> AcKeyStats {
        let t = self.targets();
        let part = |p: Part, target: u64| PartStats {
            stats: Stats {
                used_bytes: self.used(p),
                capacity_bytes: target,
                entries: self.len(p) as u64,
                ghost_entries: self.ghosts[p.idx()].len(0) as u64,
                ..self.stats[p.idx()]
            },
            ghost_bytes: self.ghosts[p.idx()].bytes(0),
            ghost_hits: self.ghost_hits[p.idx()],
        };
        AcKeyStats {
            total: self.total_stats(),
            kv: part(Part::Kv, t.kv),
            kp: part(Part::Kp, t.kp),
            block: part(Part::Block, t.block),
            targets: t,
            ghosts_enabled: self.ghosts_on,
        }
    }

    pub(super) fn total_stats(&self) -> Stats {
        let mut s = Stats {
            capacity_bytes: self.capacity,
            ..Stats::default()
        };
        for p in Part::ALL {
            let st = &self.stats[p.idx()];
            s.hits += st.hits;
            s.inserts += st.inserts;
            s.evictions += st.evictions;
            s.disk_reads_saved += st.disk_reads_saved;
            s.used_bytes += self.used(p);
            s.entries += self.len(p) as u64;
            s.ghost_entries += self.ghosts[p.idx()].len(0) as u64;
        }
        // A point miss is counted by both KV and KP; a lookup misses once.
        s.misses = self.stats[Part::Kp.idx()].misses + self.stats[Part::Block.idx()].misses;
        s
    }

    /// Changes the capacity, keeping the targets' proportions.
    pub fn set_capacity(&mut self, capacity_bytes: u64) {
        if self.capacity > 0 {
            let (old, new) = (u128::from(self.capacity), u128::from(capacity_bytes));
            self.point_target = self.point_target * new / old;
            self.kv_target = self.kv_target * new / old;
        } else {
            let cap = u128::from(capacity_bytes) << FRAC;
            self.point_target =
                cap * u128::from(self.config.initial_point_permille.min(1000)) / 1000;
            self.kv_target = self.point_target / 2;
        }
        self.capacity = capacity_bytes;
        self.make_room(0, Part::Block);
        self.bound_ghosts();
    }

    /// Drops every entry and ghost and restores the initial split.
    pub fn clear_all(&mut self) {
        self.kv.clear();
        self.kp.clear();
        self.blocks.clear();
        self.clear_ghosts();
        let fresh = Self::new(self.capacity, self.config);
        self.point_target = fresh.point_target;
        self.kv_target = fresh.kv_target;
        self.filling = [true; 2];
        self.last_used = [0; 2];
    }

    fn admit_kv(&mut self, key: K, value: V, charge: u64, reads: u32) -> Result<(), CacheError> {
        self.check_fits(charge)?;
        self.make_room(charge, Part::Kv);
        self.kv
            .push_mru(0, key, Point { item: value, reads }, charge);
        self.stats[Part::Kv.idx()].inserts += 1;
        Ok(())
    }

    fn admit_kp(&mut self, key: K, ptr: P, charge: u64, reads: u32) -> Result<(), CacheError> {
        self.check_fits(charge)?;
        self.make_room(charge, Part::Kp);
        self.kp.push_mru(0, key, Point { item: ptr, reads }, charge);
        self.stats[Part::Kp.idx()].inserts += 1;
        Ok(())
    }
}

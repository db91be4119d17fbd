//! Byte-weighted LRU: the simplest policy and the one the others must beat.

use core::hash::Hash;

use crate::list::Lists;
use crate::{Cache, CacheError, Policy, Stats};

/// Least recently used eviction under a byte budget.
pub struct LruCache<K, V> {
    lists: Lists<K, V, 1>,
    capacity: u64,
    stats: Stats,
}

impl<K: Hash + Eq + Clone, V> LruCache<K, V> {
    /// An empty cache holding at most `capacity_bytes` of charges.
    pub fn new(capacity_bytes: u64) -> Self {
        LruCache {
            lists: Lists::new(),
            capacity: capacity_bytes,
            stats: Stats::default(),
        }
    }

    fn evict_until_fits(&mut self, extra: u64) {
        while self.lists.bytes(0) + extra > self.capacity {
            let Some(slot) = self.lists.lru(0) else { break };
            self.lists.remove(slot);
            self.stats.evictions += 1;
        }
    }
}

impl<K: Hash + Eq + Clone, V> Cache<K, V> for LruCache<K, V> {
    fn policy(&self) -> Policy {
        Policy::Lru
    }

    fn get(&mut self, key: &K) -> Option<&V> {
        match self.lists.find(key) {
            Some(slot) => {
                self.stats.hits += 1;
                self.stats.disk_reads_saved += 1;
                self.lists.move_to_mru(slot, 0);
                Some(&self.lists.node(slot).value)
            }
            None => {
                self.stats.misses += 1;
                None
            }
        }
    }

    fn contains(&self, key: &K) -> bool {
        self.lists.find(key).is_some()
    }

    fn peek(&self, key: &K) -> Option<&V> {
        self.lists.find(key).map(|s| &self.lists.node(s).value)
    }

    fn insert(&mut self, key: K, value: V, charge: u64) -> Result<(), CacheError> {
        if let Some(slot) = self.lists.find(&key) {
            self.lists.remove(slot);
        }
        if charge > self.capacity {
            return Err(CacheError::TooLarge {
                charge,
                capacity: self.capacity,
            });
        }
        self.evict_until_fits(charge);
        self.lists.push_mru(0, key, value, charge);
        self.stats.inserts += 1;
        Ok(())
    }

    fn remove(&mut self, key: &K) -> Option<V> {
        let slot = self.lists.find(key)?;
        Some(self.lists.remove(slot).value)
    }

    fn retain(&mut self, keep: &mut dyn FnMut(&K) -> bool) {
        for slot in self.lists.slots() {
            if !keep(&self.lists.node(slot).key) {
                self.lists.remove(slot);
            }
        }
    }

    fn resize(&mut self, capacity_bytes: u64) {
        self.capacity = capacity_bytes;
        self.evict_until_fits(0);
    }

    fn clear(&mut self) {
        self.lists.clear();
    }

    fn stats(&self) -> Stats {
        Stats {
            used_bytes: self.lists.bytes(0),
            capacity_bytes: self.capacity,
            entries: self.lists.len(0) as u64,
            ghost_entries: 0,
            ..self.stats
        }
    }

    fn reset_stats(&mut self) {
        self.stats = Stats::default();
    }
}

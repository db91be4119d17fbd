//! The policy that caches nothing: the baseline every other one is measured
//! against, and what the store runs with when the cache is switched off.

use crate::{Cache, CacheError, Policy, Stats};

/// Counts lookups and keeps nothing.
#[derive(Debug, Default)]
pub struct NoCache {
    stats: Stats,
}

impl NoCache {
    /// A cache that will report `capacity_bytes` but use none of it.
    pub fn new(capacity_bytes: u64) -> Self {
        NoCache {
            stats: Stats {
                capacity_bytes,
                ..Stats::default()
            },
        }
    }
}

impl<K, V> Cache<K, V> for NoCache {
    fn policy(&self) -> Policy {
        Policy::None
    }
    fn get(&mut self, _key: &K) -> Option<&V> {
        self.stats.misses += 1;
        None
    }
    fn contains(&self, _key: &K) -> bool {
        false
    }
    fn peek(&self, _key: &K) -> Option<&V> {
        None
    }
    fn insert(&mut self, _key: K, _value: V, _charge: u64) -> Result<(), CacheError> {
        Ok(())
    }
    fn remove(&mut self, _key: &K) -> Option<V> {
        None
    }
    fn retain(&mut self, _keep: &mut dyn FnMut(&K) -> bool) {}
    fn resize(&mut self, capacity_bytes: u64) {
        self.stats.capacity_bytes = capacity_bytes;
    }
    fn clear(&mut self) {}
    fn stats(&self) -> Stats {
        self.stats
    }
    fn reset_stats(&mut self) {
        self.stats = NoCache::new(self.stats.capacity_bytes).stats;
    }
}

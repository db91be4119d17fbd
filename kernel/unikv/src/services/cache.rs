//! The cache service: the store's read cache, one byte budget under one
//! policy (`none`, `lru`, `arc`, `ackey` from the `cache` crate), switched
//! and resized at run time by `CACHE POLICY` and `CACHE SIZE`.
//!
//! What goes through it today: the store's data blocks, keyed by (table,
//! offset); every hit is a disk read saved. (Index and filter blocks live in
//! the store's table cache, and AC-Key's KV and KP parts need the store's
//! point-lookup path: issue 4.)

use alloc::{string::String, sync::Arc};
use cache::{AnyCache, Cache, Policy, Stats};
use kcore::registry::ServiceError;
use lsm::db::BlockCache;
use spin::Mutex;

/// LevelDB's default block cache size.
pub const DEFAULT_BYTES: u64 = 8 << 20;

type Blocks = AnyCache<(u64, u64), Arc<[u8]>>;

pub struct ReadCache {
    inner: Mutex<Blocks>,
}

impl BlockCache for ReadCache {
    fn get(&self, table: u64, offset: u64) -> Option<Arc<[u8]>> {
        self.inner.lock().get(&(table, offset)).cloned()
    }

    fn insert(&self, table: u64, offset: u64, block: Arc<[u8]>) {
        let charge = block.len() as u64;
        // A block larger than the whole budget is simply not cached.
        let _ = self.inner.lock().insert((table, offset), block, charge);
    }

    fn erase_table(&self, table: u64) {
        self.inner.lock().retain(&mut |k: &(u64, u64)| k.0 != table);
    }
}

static CACHE: Mutex<Option<Arc<ReadCache>>> = Mutex::new(None);

fn attach(c: Option<Arc<ReadCache>>) -> Result<(), String> {
    super::kv::with(|db| {
        db.set_block_cache(c.map(|c| c as Arc<dyn BlockCache + Send + Sync>));
        Ok(())
    })
}

fn init() -> Result<(), ServiceError> {
    let c = Arc::new(ReadCache {
        inner: Mutex::new(AnyCache::new(Policy::Lru, DEFAULT_BYTES)),
    });
    attach(Some(c.clone())).map_err(ServiceError::owned)?;
    *CACHE.lock() = Some(c);
    Ok(())
}

fn exit() -> Result<(), ServiceError> {
    CACHE.lock().take();
    // The store may already be gone (stopping everything at power-off).
    let _ = attach(None);
    Ok(())
}

fn with<R>(f: impl FnOnce(&mut Blocks) -> R) -> Result<R, String> {
    let guard = CACHE.lock();
    let c = guard.as_ref().ok_or_else(|| {
        String::from("the read cache is not running: service 'cache' is stopped or failed (see SERVICES, LOG)")
    })?;
    let mut blocks = c.inner.lock();
    Ok(f(&mut blocks))
}

/// Switches policy; the cache restarts empty under the same budget.
pub fn set_policy(p: Policy) -> Result<(), String> {
    with(|b| {
        let cap = b.stats().capacity_bytes;
        *b = AnyCache::new(p, cap);
    })
}

pub fn resize(bytes: u64) -> Result<(), String> {
    with(|b| b.resize(bytes))
}

pub fn reset() -> Result<(), String> {
    with(|b| b.reset_stats())
}

pub fn policy_and_stats() -> Result<(Policy, Stats), String> {
    with(|b| (b.policy(), b.stats()))
}

crate::service!(CACHE_SERVICE {
    name: "cache",
    description: "the store's read cache: none, LRU, ARC or AC-Key under one byte budget",
    author: "The unikv developers",
    license: "MIT OR Apache-2.0",
    alias: "readcache",
    depends: ["kv"],
    init: init,
    exit: Some(exit),
});

//! The cache service: the store's read cache, one byte budget under one
//! policy (`none`, `lru`, `arc`, `ackey` from the `cache` crate), switched
//! and resized at run time by `CACHE POLICY` and `CACHE SIZE`.
//!
//! Every block the store reads (data, index and filter) goes through it, so
//! every disk read it saves is counted; under `ackey` point lookups also go
//! through its KV and KP parts (a KP hit reads one block, then promotes the
//! entry to KV), all within the same budget.

use alloc::{string::String, sync::Arc};
use cache::{AcKeyStats, KindStats, Policy, Stats, StoreCache};
use kcore::registry::ServiceError;
use lsm::db::{BlockCache, PointCache};
use spin::Mutex;

/// The budget the cache starts with: a quarter of the free heap, at least
/// LevelDB's default block cache (8 MiB). No page cache sits under the
/// store, so this cache is where its tables live in RAM, as a dedicated
/// database server gives its buffer pool a large share of memory (InnoDB
/// recommends half or more); `CACHE SIZE` changes it.
fn default_bytes() -> u64 {
    (hal::heap::stats().free as u64 / 4).max(8 << 20)
}

static CACHE: Mutex<Option<Arc<StoreCache>>> = Mutex::new(None);

fn attach(c: Option<Arc<StoreCache>>) -> Result<(), String> {
    // The recorder sits in front of the cache; it costs one atomic load per
    // request while no trace is being recorded.
    let traced = c.map(|c| Arc::new(super::trace::Traced(c)));
    super::kv::with(|db| {
        db.set_block_cache(
            traced
                .clone()
                .map(|c| c as Arc<dyn BlockCache + Send + Sync>),
        );
        db.set_point_cache(traced.map(|c| c as Arc<dyn PointCache + Send + Sync>));
        Ok(())
    })
}

fn init() -> Result<(), ServiceError> {
    let c = Arc::new(StoreCache::new(Policy::Lru, default_bytes()));
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

fn get() -> Result<Arc<StoreCache>, String> {
    CACHE.lock().clone().ok_or_else(|| {
        String::from("the read cache is not running: service 'cache' is stopped or failed (see SERVICES, LOG)")
    })
}

/// Switches policy; the cache restarts empty under the same budget.
pub fn set_policy(p: Policy) -> Result<(), String> {
    get()?.set_policy(p);
    Ok(())
}

pub fn resize(bytes: u64) -> Result<(), String> {
    get()?.resize(bytes);
    Ok(())
}

pub fn reset() -> Result<(), String> {
    get()?.reset_stats();
    Ok(())
}

pub struct Snapshot {
    pub policy: Policy,
    pub stats: Stats,
    pub kinds: KindStats,
    pub ackey: Option<AcKeyStats>,
}

pub fn snapshot() -> Result<Snapshot, String> {
    let c = get()?;
    Ok(Snapshot {
        policy: c.policy(),
        stats: c.stats(),
        kinds: c.kind_stats(),
        ackey: c.ac_stats(),
    })
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

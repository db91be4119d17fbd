//! The cache service: puts the store's read cache under the store, one
//! byte budget (split into shards, one lock each, when several cores read)
//! under one policy (`none`, `lru`, `arc`, `ackey` from the
//! `cache` crate), switched and resized at run time by `CACHE POLICY` and
//! `CACHE SIZE`.
//!
//! Every block the store reads (data, index and filter) goes through it, so
//! every disk read it saves is counted; under `ackey` point lookups also go
//! through its KV and KP parts (a KP hit reads one block, then promotes the
//! entry to KV), all within the same budget. The store service keeps it
//! (`kv::Store::set_cache`), with the trace recorder in front while
//! `DEBUG TRACE` records.

use alloc::sync::Arc;
use cache::{AcKeyConfig, EReads, Policy, StoreCache};
use kcore::registry::ServiceError;

use super::kv::STORE;

/// The budget the cache starts with: three eighths of the free heap, at
/// least LevelDB's default block cache (8 MiB). No page cache sits under
/// the store, so this cache is where its tables live in RAM, as a
/// dedicated database server gives its buffer pool half of memory or more
/// (InnoDB's advice): with the eighth the open tables may keep of their
/// index and filter blocks, half the heap holds the store's blocks.
///
/// A quarter was too little at 1,000,000 keys: after `BENCH overwrite`
/// the tables of level 0 waiting for compaction and those of the levels
/// below held ~250 MB, the compactions' outputs were not offered once the
/// budget was full, and the lookups that followed read them from the disk
/// (3,000-9,000 reads in the next `BENCH readrandom`, against ~2,000 of
/// index, filter and compaction reads with three eighths).
/// `CACHE SIZE` changes it.
fn default_bytes() -> u64 {
    (hal::heap::stats().free as u64 / 8 * 3).max(8 << 20)
}

fn init() -> Result<(), ServiceError> {
    let bytes = default_bytes();
    // Split so that the cores reading at once rarely share a lock, and
    // split again by CACHE SIZE, so that no shard is too small to adapt.
    let cache = Arc::new(StoreCache::for_cores(
        Policy::Lru,
        bytes,
        AcKeyConfig::default(),
        EReads::default(),
        hal::cpus::online(),
    ));
    let mut store = STORE.lock();
    let store = store
        .as_mut()
        .ok_or(ServiceError::new("the store is not running"))?;
    store.set_cache(Some(cache));
    Ok(())
}

fn exit() -> Result<(), ServiceError> {
    // The store may already be gone (stopping everything at power-off).
    if let Some(store) = STORE.lock().as_mut() {
        store.set_cache(None);
    }
    Ok(())
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

//! What the disk was asked, request by request: the store's own counters
//! (`INFO storage`) count what it asked for (a durable write is a write and
//! a flush there, whichever way the driver did it); these count what the
//! device got, for `INFO devices`. Every virtio-blk disk adds to them (the
//! store uses one).

use core::sync::atomic::{AtomicU64, AtomicU8, Ordering};

use super::{T_FLUSH, T_IN, T_OUT};

static READS: AtomicU64 = AtomicU64::new(0);
static WRITES: AtomicU64 = AtomicU64::new(0);
static DURABLE_WRITES: AtomicU64 = AtomicU64::new(0);
static FLUSHES: AtomicU64 = AtomicU64::new(0);
static SWITCHES: AtomicU64 = AtomicU64::new(0);
static CACHE: AtomicU8 = AtomicU8::new(WriteCache::None as u8);

/// The device's write cache as the driver found it at attach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum WriteCache {
    /// No disk, or one without FLUSH: nothing volatile.
    None,
    /// Off from the start: every write is durable as it completes.
    Off,
    /// On, switched off for each durable write (CONFIG_WCE).
    Switched,
    /// On, with no switch: a durable write is a write and a FLUSH.
    On,
}

impl WriteCache {
    pub fn name(self) -> &'static str {
        match self {
            WriteCache::None => "none",
            WriteCache::Off => "off",
            WriteCache::Switched => "switched off for durable writes",
            WriteCache::On => "on, FLUSH after durable writes",
        }
    }
}

/// Requests handed to the device since boot, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Requests {
    pub reads: u64,
    pub writes: u64,
    /// Writes made with the cache off: durable as they complete.
    pub durable_writes: u64,
    pub flushes: u64,
    /// Times the driver switched the cache (each a config write).
    pub cache_switches: u64,
}

pub(super) fn set_cache(mode: WriteCache) {
    CACHE.store(mode as u8, Ordering::Relaxed);
}

/// The cache's mode, as the last disk attached found it.
pub fn write_cache() -> WriteCache {
    match CACHE.load(Ordering::Relaxed) {
        1 => WriteCache::Off,
        2 => WriteCache::Switched,
        3 => WriteCache::On,
        _ => WriteCache::None,
    }
}

/// Counts a request by the type in its `header`.
pub(super) fn count(header: &[u8; 16], cache_on: bool) {
    let kind = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let counter = match kind {
        T_IN => &READS,
        T_OUT if cache_on => &WRITES,
        T_OUT => &DURABLE_WRITES,
        T_FLUSH => &FLUSHES,
        _ => return,
    };
    counter.fetch_add(1, Ordering::Relaxed);
}

pub(super) fn switched() {
    SWITCHES.fetch_add(1, Ordering::Relaxed);
}

/// The counts so far.
pub fn requests() -> Requests {
    Requests {
        reads: READS.load(Ordering::Relaxed),
        writes: WRITES.load(Ordering::Relaxed),
        durable_writes: DURABLE_WRITES.load(Ordering::Relaxed),
        flushes: FLUSHES.load(Ordering::Relaxed),
        cache_switches: SWITCHES.load(Ordering::Relaxed),
    }
}

//! Recording what the store asks its read cache for, so that the host
//! simulator (`cachesim --format store`) can replay exactly the store's
//! requests through every policy and OPT.
//!
//! `DEBUG TRACE START` begins recording into memory, `DEBUG TRACE STOP`
//! ends it, `DEBUG TRACE DUMP` prints it. Record with a block policy (lru,
//! arc, none): AC-Key's point path short-circuits lookups, so a trace made
//! under it lacks the blocks those lookups would have needed.
//!
//! Format, one record per line (keys in lowercase hex):
//! `G key` a lookup past the memtables begins; `B table offset size kind`
//! a block it (or a scan) needed, kind d/i/f; `V key value_len table
//! offset size` the lookup found the key in that data block; `S key limit`
//! a range scan begins; `W key` a write or delete.

use alloc::{string::String, sync::Arc, vec::Vec};
use cache::StoreCache;
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, Ordering};
use lsm::db::{BlockCache, BlockKind, BlockPointer, LookupStats, PointCache, PointHit};
use spin::Mutex;

/// Traces stop growing here (a 100k-operation run needs ~10 MB).
const MAX_BYTES: usize = 64 << 20;

static ON: AtomicBool = AtomicBool::new(false);
static BUF: Mutex<Trace> = Mutex::new(Trace {
    text: String::new(),
    pending: None,
    truncated: false,
});

struct Trace {
    text: String,
    /// A block the cache missed: its size is known once the store inserts it.
    pending: Option<(u64, u64, char)>,
    truncated: bool,
}

impl Trace {
    fn push(&mut self, args: core::fmt::Arguments<'_>) {
        if self.text.len() >= MAX_BYTES {
            self.truncated = true;
            return;
        }
        let _ = self.text.write_fmt(args);
        self.text.push('\n');
    }

    fn flush_pending(&mut self) {
        if let Some((t, o, k)) = self.pending.take() {
            self.push(format_args!("B {t} {o} 0 {k}"));
        }
    }
}

fn hex(key: &[u8]) -> String {
    let mut s = String::with_capacity(key.len() * 2);
    for b in key {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn kind(k: BlockKind) -> char {
    match k {
        BlockKind::Data => 'd',
        BlockKind::Index => 'i',
        BlockKind::Filter => 'f',
    }
}

fn record(f: impl FnOnce(&mut Trace)) {
    if ON.load(Ordering::Relaxed) {
        f(&mut BUF.lock());
    }
}

pub fn start() {
    let mut t = BUF.lock();
    t.text = String::from("# unikv store trace v1\n");
    t.pending = None;
    t.truncated = false;
    ON.store(true, Ordering::Relaxed);
}

pub fn stop() -> (usize, bool) {
    ON.store(false, Ordering::Relaxed);
    let mut t = BUF.lock();
    t.flush_pending();
    (t.text.lines().count().saturating_sub(1), t.truncated)
}

/// The recorded trace, for `DEBUG TRACE DUMP`.
pub fn text() -> Vec<u8> {
    BUF.lock().text.as_bytes().to_vec()
}

/// A range scan is about to run (its blocks follow).
pub fn scan(start: &[u8], limit: usize) {
    record(|t| {
        t.flush_pending();
        t.push(format_args!("S {} {limit}", hex(start)));
    });
}

/// The kernel's read cache with a recorder in front of it.
pub struct Traced(pub Arc<StoreCache>);

impl BlockCache for Traced {
    fn get(&self, table: u64, offset: u64) -> Option<Arc<[u8]>> {
        self.get_block(table, offset, BlockKind::Data)
    }

    fn insert(&self, table: u64, offset: u64, block: Arc<[u8]>) {
        self.insert_block(table, offset, BlockKind::Data, block)
    }

    fn erase_table(&self, table: u64) {
        self.0.erase_table(table)
    }

    fn get_block(&self, table: u64, offset: u64, k: BlockKind) -> Option<Arc<[u8]>> {
        let hit = self.0.get_block(table, offset, k);
        record(|t| {
            t.flush_pending();
            match &hit {
                Some(b) => t.push(format_args!("B {table} {offset} {} {}", b.len(), kind(k))),
                None => t.pending = Some((table, offset, kind(k))),
            }
        });
        hit
    }

    fn room(&self) -> u64 {
        self.0.room()
    }

    /// Not a lookup, so not traced: a replay starts from the same cache only
    /// if no table was written into free room while recording.
    fn offer_block(&self, table: u64, offset: u64, k: BlockKind, block: Arc<[u8]>) {
        self.0.offer_block(table, offset, k, block)
    }

    fn insert_block(&self, table: u64, offset: u64, k: BlockKind, block: Arc<[u8]>) {
        record(|t| match t.pending.take() {
            Some((pt, po, pk)) if pt == table && po == offset => {
                t.push(format_args!("B {table} {offset} {} {pk}", block.len()))
            }
            other => {
                t.pending = other;
                t.flush_pending();
                t.push(format_args!(
                    "B {table} {offset} {} {}",
                    block.len(),
                    kind(k)
                ));
            }
        });
        self.0.insert_block(table, offset, k, block)
    }
}

impl PointCache for Traced {
    fn lookup(&self, key: &[u8]) -> PointHit {
        record(|t| {
            t.flush_pending();
            t.push(format_args!("G {}", hex(key)));
        });
        self.0.lookup(key)
    }

    fn insert(&self, key: &[u8], value: &[u8], ptr: BlockPointer, stats: &LookupStats) {
        record(|t| {
            t.flush_pending();
            t.push(format_args!(
                "V {} {} {} {} {}",
                hex(key),
                value.len(),
                ptr.table,
                ptr.offset,
                ptr.size
            ));
        });
        PointCache::insert(&*self.0, key, value, ptr, stats)
    }

    fn promote(&self, key: &[u8], value: &[u8]) {
        self.0.promote(key, value)
    }

    fn invalidate(&self, key: &[u8]) {
        record(|t| {
            t.flush_pending();
            t.push(format_args!("W {}", hex(key)));
        });
        self.0.invalidate(key)
    }

    fn retain_pointers(&self, keep: &mut dyn FnMut(&[u8], &mut BlockPointer) -> bool) {
        self.0.retain_pointers(keep)
    }

    fn clear(&self) {
        self.0.clear()
    }
}

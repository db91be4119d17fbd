//! Recording a store trace: [`Traced`] sits in front of the store's
//! [`StoreCache`] and writes a record for every lookup, block, find, scan
//! and write into a [`Recorder`]'s text, while the recorder is on.
//!
//! Record with a block policy (lru, arc, none): AC-Key's point path
//! short-circuits lookups, so a trace made under it lacks the blocks those
//! lookups would have needed.
//!
//! A block the cache misses is held back until the store inserts it, so its
//! `B` record carries its size; one that is never inserted is written with
//! size 0 before the next record.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::sync::Arc;
use core::fmt::Write;
use core::ops::Deref;
use core::sync::atomic::{AtomicBool, Ordering};

use lsm::db::{BlockCache, BlockPointer, LookupStats, PointCache, PointHit};
use spin::Mutex;

use super::{BlockKind, BlockRef, Found, Record, HEADER};
use crate::StoreCache;

/// The kernel's cap: a 100k-operation run needs ~10 MB.
pub const MAX_BYTES: usize = 64 << 20;

/// A trace being (or last) recorded, in memory.
pub struct Recorder {
    on: AtomicBool,
    max_bytes: usize,
    state: Mutex<State>,
}

struct State {
    text: String,
    records: usize,
    /// A block the cache missed, `(table, offset, kind)`: its size is known
    /// once the store inserts it.
    pending: Option<(u64, u64, BlockKind)>,
    truncated: bool,
}

/// What a recording came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Records in the text (the header not counted).
    pub records: usize,
    /// Whether records were dropped because the text reached the cap.
    pub truncated: bool,
}

impl State {
    fn push(&mut self, r: &Record<'_>, max_bytes: usize) {
        if self.text.len() >= max_bytes {
            self.truncated = true;
            return;
        }
        // Writing into a String cannot fail.
        let _ = writeln!(self.text, "{r}");
        self.records += 1;
    }

    fn flush_pending(&mut self, max_bytes: usize) {
        if let Some((table, offset, kind)) = self.pending.take() {
            let b = BlockRef {
                table,
                offset,
                size: 0,
                kind,
            };
            self.push(&Record::Block(b), max_bytes);
        }
    }
}

impl Recorder {
    /// Off, with no text; records stop being kept once the text reaches
    /// `max_bytes` (the record that crosses it is kept).
    pub const fn new(max_bytes: usize) -> Recorder {
        Recorder {
            on: AtomicBool::new(false),
            max_bytes,
            state: Mutex::new(State {
                text: String::new(),
                records: 0,
                pending: None,
                truncated: false,
            }),
        }
    }

    /// Starts a new trace (the old one is dropped): the header, then every
    /// request from now on.
    pub fn start(&self) {
        let mut s = self.state.lock();
        s.text = String::from(HEADER);
        s.text.push('\n');
        s.records = 0;
        s.pending = None;
        s.truncated = false;
        self.on.store(true, Ordering::Relaxed);
    }

    /// Stops recording; the text stays until the next start.
    pub fn stop(&self) -> Summary {
        self.on.store(false, Ordering::Relaxed);
        let mut s = self.state.lock();
        s.flush_pending(self.max_bytes);
        Summary {
            records: s.records,
            truncated: s.truncated,
        }
    }

    /// Whether it is recording.
    #[inline]
    pub fn is_recording(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    /// The text recorded (header and records, a line each), for
    /// `DEBUG TRACE DUMP`.
    pub fn text(&self) -> String {
        self.state.lock().text.clone()
    }

    /// A range scan from `start` of at most `limit` keys is about to run
    /// (its blocks follow): the caller says so, the cache cannot tell.
    pub fn scan(&self, start: &[u8], limit: usize) {
        self.record(|s, max| {
            s.flush_pending(max);
            let r = Record::Scan {
                start: Cow::Borrowed(start),
                limit: limit as u64,
            };
            s.push(&r, max);
        });
    }

    /// One atomic load while off.
    fn record(&self, f: impl FnOnce(&mut State, usize)) {
        if self.is_recording() {
            f(&mut self.state.lock(), self.max_bytes);
        }
    }
}

/// The store's read cache with a recorder in front of it: it forwards every
/// call to the cache and records the requests. `R` is how it holds the
/// recorder (`&'static Recorder` for a static one, `Arc<Recorder>`).
pub struct Traced<R: Deref<Target = Recorder>> {
    cache: Arc<StoreCache>,
    recorder: R,
}

impl<R: Deref<Target = Recorder>> Traced<R> {
    /// `cache` recorded into `recorder`.
    pub fn new(cache: Arc<StoreCache>, recorder: R) -> Self {
        Traced { cache, recorder }
    }

    /// The cache behind it.
    pub fn cache(&self) -> &Arc<StoreCache> {
        &self.cache
    }

    /// The recorder.
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }
}

impl<R: Deref<Target = Recorder>> BlockCache for Traced<R> {
    fn get(&self, table: u64, offset: u64) -> Option<Arc<[u8]>> {
        self.get_block(table, offset, BlockKind::Data)
    }

    fn insert(&self, table: u64, offset: u64, block: Arc<[u8]>) {
        self.insert_block(table, offset, BlockKind::Data, block)
    }

    fn erase_table(&self, table: u64) {
        self.cache.erase_table(table)
    }

    fn erase_tables(&self, tables: &[u64]) {
        self.cache.erase_tables(tables)
    }

    fn get_block(&self, table: u64, offset: u64, kind: BlockKind) -> Option<Arc<[u8]>> {
        let hit = self.cache.get_block(table, offset, kind);
        self.recorder.record(|s, max| {
            s.flush_pending(max);
            match &hit {
                Some(b) => {
                    let b = BlockRef {
                        table,
                        offset,
                        size: b.len() as u64,
                        kind,
                    };
                    s.push(&Record::Block(b), max)
                }
                None => s.pending = Some((table, offset, kind)),
            }
        });
        hit
    }

    fn room(&self) -> u64 {
        self.cache.room()
    }

    /// Not a lookup, so not recorded: a replay starts from the same cache
    /// only if no table was written into free room while recording.
    fn offer_block(&self, table: u64, offset: u64, kind: BlockKind, block: Arc<[u8]>) {
        self.cache.offer_block(table, offset, kind, block)
    }

    /// Not recorded: a peek changes nothing a replay would see.
    fn peek_block(&self, table: u64, offset: u64, kind: BlockKind) -> Option<Arc<[u8]>> {
        self.cache.peek_block(table, offset, kind)
    }

    fn insert_block(&self, table: u64, offset: u64, kind: BlockKind, block: Arc<[u8]>) {
        self.recorder.record(|s, max| {
            // The block the last miss was for: it is recorded as the kind
            // the lookup asked for, now with its size.
            let kind = match s.pending.take() {
                Some((t, o, k)) if t == table && o == offset => k,
                other => {
                    s.pending = other;
                    s.flush_pending(max);
                    kind
                }
            };
            let b = BlockRef {
                table,
                offset,
                size: block.len() as u64,
                kind,
            };
            s.push(&Record::Block(b), max);
        });
        self.cache.insert_block(table, offset, kind, block)
    }
}

impl<R: Deref<Target = Recorder>> PointCache for Traced<R> {
    fn active(&self) -> bool {
        // A trace records every lookup, whatever the policy keeps.
        self.recorder.is_recording() || self.cache.active()
    }

    fn lookup(&self, key: &[u8]) -> PointHit {
        self.recorder.record(|s, max| {
            s.flush_pending(max);
            s.push(
                &Record::Get {
                    key: Cow::Borrowed(key),
                },
                max,
            );
        });
        self.cache.lookup(key)
    }

    fn insert(&self, key: &[u8], value: &[u8], ptr: BlockPointer, stats: &LookupStats) {
        self.recorder.record(|s, max| {
            s.flush_pending(max);
            let found = Found {
                value_len: value.len() as u64,
                table: ptr.table,
                offset: ptr.offset,
                size: ptr.size,
            };
            s.push(
                &Record::Found {
                    key: Cow::Borrowed(key),
                    found,
                },
                max,
            );
        });
        PointCache::insert(&*self.cache, key, value, ptr, stats)
    }

    fn promote(&self, key: &[u8], value: &[u8]) {
        self.cache.promote(key, value)
    }

    fn invalidate(&self, key: &[u8]) {
        self.recorder.record(|s, max| {
            s.flush_pending(max);
            s.push(
                &Record::Write {
                    key: Cow::Borrowed(key),
                },
                max,
            );
        });
        self.cache.invalidate(key)
    }

    fn retain_pointers(&self, keep: &mut dyn FnMut(&[u8], &mut BlockPointer) -> bool) {
        self.cache.retain_pointers(keep)
    }

    fn clear(&self) {
        self.cache.clear()
    }
}

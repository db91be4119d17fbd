//! A trace recorded from a real store: `lsm::db::Db` on a `MemDevice`, its
//! `StoreCache` behind the recorder, a workload of lookups, scans and
//! writes. Parsed back, the trace is every request the store made of its
//! cache, in order, and agrees with what each lookup reported.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use cache::trace::{
    parse, BlockKind, BlockRef, Found, Record, Recorder, Traced, HEADER, MAX_BYTES,
};
use cache::{Policy, StoreCache};
use lsm::db::{
    BlockCache, BlockPointer, Db, LookupSource, LookupStats, Options, PointCache, PointHit,
};
use lsm::device::MemDevice;
use lsm::random::Rng;

/// A request the store made, and what the recorder in front of the cache
/// answered.
#[derive(Clone, Debug)]
enum Call {
    Lookup(Vec<u8>),
    GetBlock(u64, u64, BlockKind, Option<u64>),
    InsertBlock(u64, u64, BlockKind, u64),
    Insert(Vec<u8>, u64, BlockPointer),
    Invalidate(Vec<u8>),
    Scan(Vec<u8>, usize),
}

/// Watches the store's calls on their way into the recorder.
struct Spy {
    inner: Traced<Arc<Recorder>>,
    calls: Mutex<Vec<Call>>,
}

impl Spy {
    fn log(&self, c: Call) {
        self.calls.lock().unwrap().push(c);
    }
}

impl BlockCache for Spy {
    fn get(&self, table: u64, offset: u64) -> Option<Arc<[u8]>> {
        self.get_block(table, offset, BlockKind::Data)
    }
    fn insert(&self, table: u64, offset: u64, block: Arc<[u8]>) {
        self.insert_block(table, offset, BlockKind::Data, block)
    }
    fn erase_table(&self, table: u64) {
        self.inner.erase_table(table)
    }
    fn get_block(&self, table: u64, offset: u64, kind: BlockKind) -> Option<Arc<[u8]>> {
        let b = self.inner.get_block(table, offset, kind);
        self.log(Call::GetBlock(
            table,
            offset,
            kind,
            b.as_ref().map(|b| b.len() as u64),
        ));
        b
    }
    fn insert_block(&self, table: u64, offset: u64, kind: BlockKind, block: Arc<[u8]>) {
        self.log(Call::InsertBlock(table, offset, kind, block.len() as u64));
        self.inner.insert_block(table, offset, kind, block)
    }
    fn room(&self) -> u64 {
        self.inner.room()
    }
    fn offer_block(&self, table: u64, offset: u64, kind: BlockKind, block: Arc<[u8]>) {
        self.inner.offer_block(table, offset, kind, block)
    }
}

impl PointCache for Spy {
    // Forwarded, so that the store asks a block-only policy's cache about
    // points exactly when the recorder records them.
    fn active(&self) -> bool {
        self.inner.active()
    }
    fn lookup(&self, key: &[u8]) -> PointHit {
        self.log(Call::Lookup(key.to_vec()));
        self.inner.lookup(key)
    }
    fn insert(&self, key: &[u8], value: &[u8], ptr: BlockPointer, stats: &LookupStats) {
        self.log(Call::Insert(key.to_vec(), value.len() as u64, ptr));
        PointCache::insert(&self.inner, key, value, ptr, stats)
    }
    fn promote(&self, key: &[u8], value: &[u8]) {
        self.inner.promote(key, value)
    }
    fn invalidate(&self, key: &[u8]) {
        self.log(Call::Invalidate(key.to_vec()));
        self.inner.invalidate(key)
    }
    fn retain_pointers(&self, keep: &mut dyn FnMut(&[u8], &mut BlockPointer) -> bool) {
        self.inner.retain_pointers(keep)
    }
    fn clear(&self) {
        self.inner.clear()
    }
}

/// The records the format's rules make of the calls: a `B` per block asked
/// for (a missed one with the size of the insert that follows it, or 0),
/// `G` per lookup, `V` per find, `W` per invalidation, `S` per scan.
fn records_of(calls: &[Call]) -> Vec<Record<'static>> {
    let mut out = Vec::new();
    let mut pending: Option<(u64, u64, BlockKind)> = None;
    let flush = |out: &mut Vec<Record<'static>>, p: &mut Option<(u64, u64, BlockKind)>| {
        if let Some((table, offset, kind)) = p.take() {
            out.push(Record::Block(BlockRef {
                table,
                offset,
                size: 0,
                kind,
            }));
        }
    };
    let own = |k: &[u8]| Cow::Owned(k.to_vec());
    for c in calls {
        if let Call::InsertBlock(table, offset, kind, size) = *c {
            let kind = match pending {
                Some((t, o, k)) if (t, o) == (table, offset) => {
                    pending = None;
                    k
                }
                _ => {
                    flush(&mut out, &mut pending);
                    kind
                }
            };
            out.push(Record::Block(BlockRef {
                table,
                offset,
                size,
                kind,
            }));
            continue;
        }
        flush(&mut out, &mut pending);
        match c {
            Call::Lookup(k) => out.push(Record::Get { key: own(k) }),
            Call::GetBlock(table, offset, kind, Some(size)) => out.push(Record::Block(BlockRef {
                table: *table,
                offset: *offset,
                size: *size,
                kind: *kind,
            })),
            Call::GetBlock(t, o, k, None) => pending = Some((*t, *o, *k)),
            Call::Insert(k, value_len, p) => out.push(Record::Found {
                key: own(k),
                found: Found {
                    value_len: *value_len,
                    table: p.table,
                    offset: p.offset,
                    size: p.size,
                },
            }),
            Call::Invalidate(k) => out.push(Record::Write { key: own(k) }),
            Call::Scan(s, limit) => out.push(Record::Scan {
                start: own(s),
                limit: *limit as u64,
            }),
            Call::InsertBlock(..) => unreachable!("handled above"),
        }
    }
    flush(&mut out, &mut pending);
    out
}

fn key(i: u64) -> Vec<u8> {
    format!("key{i:06}").into_bytes()
}

/// What the workload itself saw, in order.
#[derive(Debug, PartialEq)]
enum Seen {
    /// A lookup that went past the memtables: its key, the blocks it
    /// needed, and where it found its value.
    Get(Vec<u8>, u32, Option<(u64, BlockPointer)>),
    Write(Vec<u8>),
    Scan(Vec<u8>, u64),
}

/// The trace's records grouped as the workload saw its operations.
fn seen_in(records: &[Record<'_>]) -> Vec<Seen> {
    let mut out: Vec<Seen> = Vec::new();
    for r in records {
        match (r, out.last_mut()) {
            (Record::Get { key }, _) => out.push(Seen::Get(key.to_vec(), 0, None)),
            (Record::Block(_), Some(Seen::Get(_, blocks, None))) => *blocks += 1,
            (Record::Block(_), _) => {}
            (Record::Found { found, .. }, Some(Seen::Get(_, _, slot))) => {
                let ptr = BlockPointer {
                    level: 0,
                    table: found.table,
                    offset: found.offset,
                    size: found.size,
                };
                *slot = Some((found.value_len, ptr));
            }
            (Record::Write { key }, _) => out.push(Seen::Write(key.to_vec())),
            (Record::Scan { start, limit }, _) => out.push(Seen::Scan(start.to_vec(), *limit)),
            (other, _) => panic!("the recorder wrote {other:?}"),
        }
    }
    out
}

#[test]
fn a_recorded_store_trace_parses_back_to_every_request() {
    let opts = Options {
        write_buffer_size: 16 << 10,
        table_size: 8 << 10,
        l1_max_bytes: 32 << 10,
        wal_half_bytes: 64 << 10,
        ..Options::default()
    };
    let mut db = Db::open(MemDevice::new(8 << 20), opts).unwrap().0;
    let recorder = Arc::new(Recorder::new(MAX_BYTES));
    // Small enough that blocks are evicted and missed again.
    let cache = Arc::new(StoreCache::new(Policy::Lru, 64 << 10));
    let spy = Arc::new(Spy {
        inner: Traced::new(cache, recorder.clone()),
        calls: Mutex::new(Vec::new()),
    });
    db.set_block_cache(Some(spy.clone() as Arc<dyn BlockCache + Send + Sync>));
    db.set_point_cache(Some(spy.clone() as Arc<dyn PointCache + Send + Sync>));
    let mut rng = Rng::new(42);
    for i in 0..3000 {
        let v = vec![b'a' + (i % 26) as u8; 20 + (i % 50) as usize];
        db.put(&key(i), &v, false).unwrap();
    }
    db.flush().unwrap();
    spy.calls.lock().unwrap().clear();

    recorder.start();
    let mut seen = Vec::new();
    for i in 0..3000u64 {
        match rng.uniform(10) {
            0..=5 => {
                // A tenth of the lookups miss.
                let k = key(rng.uniform(3300));
                let (v, stats) = db.get_with_stats(&k, None).unwrap();
                if stats.source != LookupSource::Memtable {
                    let at = v.as_ref().map(|v| v.len() as u64).zip(stats.location);
                    seen.push(Seen::Get(k, stats.block_reads, at));
                }
            }
            6 | 7 => {
                let k = key(rng.uniform(3300));
                db.put(&k, format!("new{i}").as_bytes(), false).unwrap();
                seen.push(Seen::Write(k));
            }
            _ => {
                let start = key(rng.uniform(3000));
                let limit = 1 + rng.uniform(40) as usize;
                recorder.scan(&start, limit);
                spy.log(Call::Scan(start.clone(), limit));
                let rows = db.range(&start, None, limit, None).unwrap();
                assert!(!rows.is_empty());
                seen.push(Seen::Scan(start, limit as u64));
            }
        }
    }
    let summary = recorder.stop();
    // Under LRU, with the recorder stopped, a lookup asks about no point.
    let before = spy.calls.lock().unwrap().len();
    assert!(!spy.active());
    db.get(&key(7), None).unwrap();
    assert!(spy.calls.lock().unwrap()[before..]
        .iter()
        .all(|c| !matches!(c, Call::Lookup(_) | Call::Insert(..))));
    spy.calls.lock().unwrap().truncate(before);
    let text = recorder.text();
    assert!(text.starts_with(&format!("{HEADER}\n")));
    let parsed = parse(&text).unwrap();
    assert!(!summary.truncated);
    assert_eq!(summary.records, parsed.len());
    assert_eq!(text.lines().count(), parsed.len() + 1);

    // Every request the store made, in order, by the format's rules.
    let calls = spy.calls.lock().unwrap().clone();
    assert_eq!(parsed, records_of(&calls));

    // And what the workload saw: a G for each lookup past the memtables
    // with as many blocks as it reported needing and a V with its value's
    // length and block, a W for each write, an S for each scan.
    let mut from_trace = seen_in(&parsed);
    for s in &mut from_trace {
        if let Seen::Get(_, _, Some((_, p))) = s {
            // The level is not in the format.
            p.level = 0;
        }
    }
    for s in &mut seen {
        if let Seen::Get(_, _, Some((_, p))) = s {
            p.level = 0;
        }
    }
    assert_eq!(from_trace, seen);

    // The workload was what it should be: lookups found and missed, blocks
    // hit and missed, and the last block of a find is its data block.
    let gets = seen.iter().filter(|s| matches!(s, Seen::Get(..))).count();
    let found = seen
        .iter()
        .filter(|s| matches!(s, Seen::Get(_, _, Some(_))))
        .count();
    assert!(
        gets > 1000 && found > gets / 2 && found < gets,
        "{gets} {found}"
    );
    let sizes: Vec<u64> = parsed
        .iter()
        .filter_map(|r| match r {
            Record::Block(b) => Some(b.size),
            _ => None,
        })
        .collect();
    assert!(
        sizes.iter().all(|&s| s > 0),
        "every missed block was inserted"
    );
    let misses = calls
        .iter()
        .filter(|c| matches!(c, Call::GetBlock(.., None)))
        .count();
    assert!(
        misses > 100 && misses < sizes.len() / 2,
        "{misses} of {}",
        sizes.len()
    );
    for w in parsed.windows(2) {
        if let [Record::Block(b), Record::Found { found, .. }] = w {
            assert_eq!(
                (b.kind, b.table, b.offset),
                (BlockKind::Data, found.table, found.offset)
            );
        }
    }
}

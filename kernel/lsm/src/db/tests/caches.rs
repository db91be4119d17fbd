//! The store with its caches: a block cache (read blocks, index and filter
//! blocks, blocks offered by written tables, deleted tables forgotten) and
//! a point cache (KP and KV hits, writes dropping entries, pointers kept
//! right across compactions), each as a plain map here.

use super::*;
use std::sync::atomic::Ordering::Relaxed;

type BlockMap = BTreeMap<(u64, u64), Arc<[u8]>>;

#[derive(Default)]
struct MapCache {
    blocks: std::sync::Mutex<BlockMap>,
    hits: std::sync::atomic::AtomicU64,
    erased: std::sync::atomic::AtomicU64,
}

impl BlockCache for MapCache {
    fn get(&self, table: u64, offset: u64) -> Option<Arc<[u8]>> {
        let b = self.blocks.lock().unwrap().get(&(table, offset)).cloned();
        if b.is_some() {
            self.hits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        b
    }
    fn insert(&self, table: u64, offset: u64, block: Arc<[u8]>) {
        self.blocks.lock().unwrap().insert((table, offset), block);
    }
    fn erase_table(&self, table: u64) {
        self.erased
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.blocks.lock().unwrap().retain(|k, _| k.0 != table);
    }
}

/// Writes 3000 keys in scattered order and flushes them to tables.
fn put_3000_and_flush(db: &mut Db<MemDevice>) -> Model {
    let mut model = Model::new();
    for i in 0..3000u32 {
        let k = format!("k{:05}", (i * 7919) % 3000).into_bytes();
        let v = format!("value{i}").into_bytes();
        db.put(&k, &v, false).unwrap();
        model.insert(k, v);
    }
    db.flush().unwrap();
    model
}

/// A [`KindCache`] with a byte budget: it takes blocks, read or offered,
/// only while they fit.
struct RoomyCache {
    inner: KindCache,
    used: std::sync::atomic::AtomicU64,
    budget: u64,
    offered: std::sync::atomic::AtomicU64,
}

impl RoomyCache {
    fn new(budget: u64) -> Self {
        Self {
            inner: KindCache {
                peekable: true,
                ..KindCache::default()
            },
            used: Default::default(),
            budget,
            offered: Default::default(),
        }
    }
}

impl BlockCache for RoomyCache {
    fn get(&self, table: u64, offset: u64) -> Option<Arc<[u8]>> {
        self.inner.get(table, offset)
    }
    fn insert(&self, table: u64, offset: u64, block: Arc<[u8]>) {
        self.inner.insert(table, offset, block)
    }
    fn get_block(&self, table: u64, offset: u64, kind: BlockKind) -> Option<Arc<[u8]>> {
        self.inner.get_block(table, offset, kind)
    }
    fn peek_block(&self, table: u64, offset: u64, kind: BlockKind) -> Option<Arc<[u8]>> {
        self.inner.peek_block(table, offset, kind)
    }
    fn insert_block(&self, table: u64, offset: u64, kind: BlockKind, block: Arc<[u8]>) {
        if block.len() as u64 <= self.room() {
            self.used
                .fetch_add(block.len() as u64, std::sync::atomic::Ordering::Relaxed);
            self.inner.insert_block(table, offset, kind, block);
        }
    }
    fn erase_table(&self, table: u64) {
        let gone: u64 = self
            .inner
            .blocks
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| k.0 == table)
            .map(|(_, (_, b))| b.len() as u64)
            .sum();
        self.inner.erase_table(table);
        self.used
            .fetch_sub(gone, std::sync::atomic::Ordering::Relaxed);
    }
    fn room(&self) -> u64 {
        self.budget - self.used.load(std::sync::atomic::Ordering::Relaxed)
    }
    fn offer_block(&self, table: u64, offset: u64, kind: BlockKind, block: Arc<[u8]>) {
        self.offered
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.insert_block(table, offset, kind, block);
    }
}

/// Tables written by flushes and compactions offer their blocks to a cache
/// with room: reads after writes need no device read but a table's footer
/// (a table pins its index and filter blocks from the cache's copies);
/// a cache without room is offered nothing and stays within its budget.
#[test]
fn written_tables_warm_a_cache_with_room() {
    for budget in [4u64 << 20, 16 << 10] {
        let (mut db, _) = Db::open(MemDevice::new(8 << 20), small_opts()).unwrap();
        let cache = Arc::new(RoomyCache::new(budget));
        db.set_block_cache(Some(cache.clone()));
        let model = put_3000_and_flush(&mut db);
        let reads_before = db.stats().io.reads;
        for (k, v) in &model {
            assert_eq!(db.get(k, None).unwrap().as_ref(), Some(v));
        }
        let reads = db.stats().io.reads - reads_before;
        let tables = db.version().files().count() as u64;
        let used = cache.used.load(std::sync::atomic::Ordering::Relaxed);
        assert!(used <= budget, "{used} of {budget}");
        if budget > 1 << 20 {
            assert!(cache.offered.load(std::sync::atomic::Ordering::Relaxed) > 0);
            assert!(reads <= tables, "{reads} reads for {tables} tables");
        } else {
            assert!(
                reads > tables,
                "{reads} reads: a full cache cannot have held it all"
            );
        }
        assert_eq!(contents(&db, None), model);
    }
}

#[test]
fn block_cache_serves_repeated_reads_and_forgets_deleted_tables() {
    let (mut db, _) = Db::open(MemDevice::new(8 << 20), small_opts()).unwrap();
    let cache = Arc::new(MapCache::default());
    db.set_block_cache(Some(cache.clone()));
    let model = put_3000_and_flush(&mut db);
    let reads_before = db.stats().io.reads;
    for _ in 0..2 {
        for (k, v) in &model {
            assert_eq!(db.get(k, None).unwrap().as_ref(), Some(v));
        }
    }
    let hits = cache.hits.load(std::sync::atomic::Ordering::Relaxed);
    assert!(hits >= model.len() as u64, "{hits} hits");
    // Each data block was read from the device once, each table opened once
    // (footer, index, filter): the second pass read only from the cache.
    let blocks = cache.blocks.lock().unwrap().len() as u64;
    let tables = db.version().files().count() as u64;
    assert!(db.stats().io.reads - reads_before <= blocks + 3 * tables);
    db.compact_all().unwrap();
    assert!(cache.erased.load(std::sync::atomic::Ordering::Relaxed) > 0);
    assert_eq!(contents(&db, None), model);
}

type KindMap = BTreeMap<(u64, u64), (BlockKind, Arc<[u8]>)>;

/// A block cache that remembers each block's kind.
#[derive(Default)]
pub(super) struct KindCache {
    pub(super) blocks: std::sync::Mutex<KindMap>,
    /// Answers peeks (a compaction's reads); counts them and lookups.
    pub(super) peekable: bool,
    peeks: std::sync::atomic::AtomicU64,
    /// Peeks for filter blocks: only a table pinning its blocks asks.
    pub(super) filter_peeks: std::sync::atomic::AtomicU64,
    gets: std::sync::atomic::AtomicU64,
}

impl BlockCache for KindCache {
    fn get(&self, _table: u64, _offset: u64) -> Option<Arc<[u8]>> {
        unreachable!("the store asks with the block's kind")
    }
    fn insert(&self, _table: u64, _offset: u64, _block: Arc<[u8]>) {
        unreachable!("the store offers with the block's kind")
    }
    fn get_block(&self, table: u64, offset: u64, kind: BlockKind) -> Option<Arc<[u8]>> {
        self.gets.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let m = self.blocks.lock().unwrap();
        let (k, b) = m.get(&(table, offset))?;
        assert_eq!(*k, kind, "block ({table}, {offset}) asked as another kind");
        Some(b.clone())
    }
    fn peek_block(&self, table: u64, offset: u64, kind: BlockKind) -> Option<Arc<[u8]>> {
        if kind == BlockKind::Filter {
            self.filter_peeks.fetch_add(1, Relaxed);
        }
        if !self.peekable {
            return None;
        }
        self.peeks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let m = self.blocks.lock().unwrap();
        let (k, b) = m.get(&(table, offset))?;
        assert_eq!(*k, kind, "block ({table}, {offset}) peeked as another kind");
        Some(b.clone())
    }
    fn insert_block(&self, table: u64, offset: u64, kind: BlockKind, block: Arc<[u8]>) {
        self.blocks
            .lock()
            .unwrap()
            .insert((table, offset), (kind, block));
    }
    fn erase_table(&self, table: u64) {
        self.blocks.lock().unwrap().retain(|k, _| k.0 != table);
    }
}

#[test]
fn index_and_filter_blocks_go_through_the_block_cache() {
    let (mut db, model) = filled(3000);
    db.set_pin_table_meta(false);
    let cache = Arc::new(KindCache::default());
    db.set_block_cache(Some(cache.clone()));
    for (k, v) in &model {
        assert_eq!(db.get(k, None).unwrap().as_ref(), Some(v));
    }
    let kinds: std::collections::BTreeSet<_> = cache
        .blocks
        .lock()
        .unwrap()
        .values()
        .map(|(k, _)| k.name())
        .collect();
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    // Every block is cached and every table open: a second pass reads
    // nothing from the disk.
    let reads = db.stats().io.reads;
    for (k, v) in &model {
        assert_eq!(db.get(k, None).unwrap().as_ref(), Some(v));
    }
    assert_eq!(db.stats().io.reads, reads);
    db.compact_all().unwrap();
    let live: Vec<u64> = db.version().files().map(|(_, f)| f.number).collect();
    assert!(cache
        .blocks
        .lock()
        .unwrap()
        .keys()
        .all(|(t, _)| live.contains(t)));
    assert_eq!(contents(&db, None), model);
}

#[test]
fn without_a_cache_every_lookup_reads_its_blocks_from_the_disk() {
    let (db, model) = filled(2000);
    db.set_pin_table_meta(false);
    for _ in 0..2 {
        for k in model.keys().step_by(7) {
            let reads = db.stats().io.reads;
            let (v, st) = db.get_with_stats(k, None).unwrap();
            assert_eq!(v.as_ref(), model.get(k));
            assert_eq!(st.source, LookupSource::Table);
            // Filter, index and data block of the table that holds it.
            assert!(st.disk_reads >= 3, "{st:?}");
            assert_eq!(st.cache_hits, 0);
            assert_eq!(u64::from(st.disk_reads), db.stats().io.reads - reads);
            let loc = st.location.unwrap();
            assert!(db.version().files().any(|(_, f)| f.number == loc.table));
        }
    }
    let (v, st) = db.get_with_stats(b"absent", None).unwrap();
    assert_eq!((v, st.source), (None, LookupSource::Nowhere));
}

/// A point cache that keeps every miss as a pointer (KP) and every KP hit as
/// a value (KV), without a budget: the store's side of AC-Key, alone.
#[derive(Default)]
pub(super) struct PointMap {
    pub(super) kv: std::sync::Mutex<BTreeMap<Vec<u8>, Vec<u8>>>,
    pub(super) kp: std::sync::Mutex<BTreeMap<Vec<u8>, BlockPointer>>,
    inserted_reads: std::sync::Mutex<Vec<LookupStats>>,
    /// Answers `active() == false` (a block-only policy), and then fails
    /// the test if asked anything.
    off: std::sync::atomic::AtomicBool,
}

impl PointMap {
    fn asked(&self) {
        assert!(
            !self.off.load(std::sync::atomic::Ordering::Relaxed),
            "an inactive point cache was asked"
        );
    }
}

impl PointCache for PointMap {
    fn active(&self) -> bool {
        !self.off.load(std::sync::atomic::Ordering::Relaxed)
    }
    fn lookup(&self, key: &[u8]) -> PointHit {
        self.asked();
        if let Some(v) = self.kv.lock().unwrap().get(key) {
            return PointHit::Kv(v.clone());
        }
        match self.kp.lock().unwrap().get(key) {
            Some(p) => PointHit::Kp(*p),
            None => PointHit::Miss,
        }
    }
    fn insert(&self, key: &[u8], _value: &[u8], ptr: BlockPointer, stats: &LookupStats) {
        self.asked();
        self.kp.lock().unwrap().insert(key.to_vec(), ptr);
        self.inserted_reads.lock().unwrap().push(*stats);
    }
    fn promote(&self, key: &[u8], value: &[u8]) {
        self.kp.lock().unwrap().remove(key);
        self.kv.lock().unwrap().insert(key.to_vec(), value.to_vec());
    }
    fn invalidate(&self, key: &[u8]) {
        self.kv.lock().unwrap().remove(key);
        self.kp.lock().unwrap().remove(key);
    }
    fn retain_pointers(&self, keep: &mut dyn FnMut(&[u8], &mut BlockPointer) -> bool) {
        self.kp.lock().unwrap().retain(|k, p| keep(k, p));
    }
    fn clear(&self) {
        self.kv.lock().unwrap().clear();
        self.kp.lock().unwrap().clear();
    }
}

#[test]
fn kp_hits_read_one_block_and_kv_hits_none() {
    let (mut db, model) = filled(3000);
    // The offered entries' costs include the filter and index reads.
    db.set_pin_table_meta(false);
    let points = Arc::new(PointMap::default());
    db.set_point_cache(Some(points.clone()));
    let keys: Vec<&Vec<u8>> = model.keys().step_by(37).collect();
    for k in &keys {
        let (v, st) = db.get_with_stats(k, None).unwrap();
        assert_eq!(v.as_ref(), model.get(*k));
        assert_eq!(st.source, LookupSource::Table);
        assert!(st.disk_reads >= 3, "{st:?}");
    }
    // The entries were offered with what their lookups cost.
    assert!(points
        .inserted_reads
        .lock()
        .unwrap()
        .iter()
        .all(|s| s.disk_reads >= 3 && s.block_reads >= 3));
    for k in &keys {
        let (v, st) = db.get_with_stats(k, None).unwrap();
        assert_eq!(v.as_ref(), model.get(*k));
        assert_eq!(st.source, LookupSource::PointKp);
        // No block cache: the one block the pointer names, from the disk.
        assert_eq!((st.block_reads, st.disk_reads), (1, 1), "{st:?}");
    }
    for k in &keys {
        let (v, st) = db.get_with_stats(k, None).unwrap();
        assert_eq!(v.as_ref(), model.get(*k));
        assert_eq!(st.source, LookupSource::PointKv);
        assert_eq!((st.block_reads, st.disk_reads), (0, 0), "{st:?}");
    }
    // Writes drop the key's entries; a snapshot never sees the cache.
    let snap = db.snapshot();
    let (k0, k1) = (keys[0].clone(), keys[1].clone());
    db.put(&k0, b"new", false).unwrap();
    db.delete(&k1, false).unwrap();
    assert_eq!(points.lookup(&k0), PointHit::Miss);
    assert_eq!(points.lookup(&k1), PointHit::Miss);
    assert_eq!(db.get(&k0, None).unwrap(), Some(b"new".to_vec()));
    assert_eq!(db.get(&k1, None).unwrap(), None);
    let (v, st) = db.get_with_stats(&k0, Some(&snap)).unwrap();
    assert_eq!(v.as_ref(), model.get(&k0));
    assert_eq!(st.source, LookupSource::Table);
    db.release_snapshot(snap);
    db.flush().unwrap();
    assert_eq!(db.get(&k0, None).unwrap(), Some(b"new".to_vec()));
    assert_eq!(db.get(&k1, None).unwrap(), None);
    // Compactions leave no pointer to a dead table.
    for k in model.keys().step_by(5) {
        db.get(k, None).unwrap();
    }
    assert!(!points.kp.lock().unwrap().is_empty());
    db.compact_all().unwrap();
    let live: Vec<(u64, u8)> = db
        .version()
        .files()
        .map(|(l, f)| (f.number, l as u8))
        .collect();
    for p in points.kp.lock().unwrap().values() {
        assert!(live.contains(&(p.table, p.level)), "{p:?} in {live:?}");
    }
    for (k, v) in &model {
        let want = if *k == k0 {
            Some(b"new".to_vec())
        } else if *k == k1 {
            None
        } else {
            Some(v.clone())
        };
        assert_eq!(db.get(k, None).unwrap(), want);
    }
}

#[test]
fn a_point_cache_that_is_not_active_is_asked_nothing() {
    let (mut db, model) = filled(500);
    let points = Arc::new(PointMap::default());
    points.off.store(true, std::sync::atomic::Ordering::Relaxed);
    db.set_point_cache(Some(points.clone()));
    for (k, v) in model.iter().step_by(7) {
        let (got, st) = db.get_with_stats(k, None).unwrap();
        assert_eq!(got.as_ref(), Some(v));
        assert_eq!(st.source, LookupSource::Table);
    }
    assert!(points.kp.lock().unwrap().is_empty());
    // Active again (a policy that keeps points): asked from the next lookup.
    points
        .off
        .store(false, std::sync::atomic::Ordering::Relaxed);
    let (k, v) = model.iter().next().unwrap();
    assert_eq!(db.get(k, None).unwrap().as_ref(), Some(v));
    assert_eq!(points.kp.lock().unwrap().len(), 1);
    let (got, st) = db.get_with_stats(k, None).unwrap();
    assert_eq!((got.as_ref(), st.source), (Some(v), LookupSource::PointKp));
}

#[test]
fn a_table_moved_down_keeps_its_pointers_re_aimed() {
    let opts = Options {
        l0_compaction_trigger: 1,
        l1_max_bytes: 6 << 10,
        ..small_opts()
    };
    let (mut db, _) = Db::open(MemDevice::new(8 << 20), opts).unwrap();
    let points = Arc::new(PointMap::default());
    db.set_point_cache(Some(points.clone()));
    let v = vec![b'v'; 100];
    for i in 0..40 {
        db.put(format!("a{i:03}").as_bytes(), &v, false).unwrap();
    }
    db.flush().unwrap();
    let first = db.version().levels[1][0].number;
    assert_eq!(db.version().levels[1].len(), 1);
    for i in 0..40 {
        db.get(format!("a{i:03}").as_bytes(), None).unwrap();
    }
    assert!(points.kp.lock().unwrap().values().all(|p| p.level == 1));
    for i in 0..40 {
        db.put(format!("b{i:03}").as_bytes(), &v, false).unwrap();
    }
    db.flush().unwrap();
    // Level 1 overflowed and its first table moved down untouched.
    assert!(db.version().levels[2].iter().any(|f| f.number == first));
    let kp = points.kp.lock().unwrap().clone();
    assert_eq!(kp.len(), 40);
    assert!(
        kp.values().all(|p| p.table == first && p.level == 2),
        "{kp:?}"
    );
    for i in 0..40 {
        let (got, st) = db
            .get_with_stats(format!("a{i:03}").as_bytes(), None)
            .unwrap();
        assert_eq!(got.as_ref(), Some(&v));
        assert_eq!(st.source, LookupSource::PointKp);
    }
}

/// Disk reads of a compaction of the 3000 keys (a third overwritten) after
/// every key was read through `cache`, and the cache's lookups meanwhile.
fn compaction_reads(cache: Arc<KindCache>) -> (u64, u64) {
    let (mut db, mut model) = filled(3000);
    db.set_block_cache(Some(cache.clone()));
    for (k, v) in &model {
        assert_eq!(db.get(k, None).unwrap().as_ref(), Some(v));
    }
    for i in (0..3000u32).step_by(3) {
        let k = format!("k{i:05}").into_bytes();
        db.put(&k, b"new", false).unwrap();
        model.insert(k, b"new".to_vec());
    }
    db.flush().unwrap();
    let (reads, gets) = (db.stats().io.reads, cache.gets.load(Relaxed));
    db.compact_all().unwrap();
    let reads = db.stats().io.reads - reads;
    let gets = cache.gets.load(Relaxed) - gets;
    assert_eq!(contents(&db, None), model);
    (reads, gets)
}

#[test]
fn a_compaction_takes_cached_input_blocks_without_looking_like_reuse() {
    let peeking = Arc::new(KindCache {
        peekable: true,
        ..KindCache::default()
    });
    let (with, gets) = compaction_reads(peeking.clone());
    let (without, _) = compaction_reads(Arc::new(KindCache::default()));
    assert!(peeking.peeks.load(Relaxed) > 0);
    assert_eq!(gets, 0, "a compaction's reads are not lookups");
    assert!(
        with < without,
        "{with} device reads with the cache's blocks, {without} without"
    );
}

//! The read cache plugged into the store: every policy, switched and resized
//! at random while the store is written, flushed, compacted and reopened,
//! never serves a stale or missing value, never exceeds its budget, and
//! saves the reads it should.

use std::collections::BTreeMap;
use std::sync::Arc;

use cache::{Policy, StoreCache};
use lsm::db::{BlockCache, Db, LookupSource, Options, PointCache, WriteBatch};
use lsm::device::MemDevice;
use lsm::random::Rng;

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

fn opts() -> Options {
    Options {
        write_buffer_size: 16 << 10,
        table_size: 8 << 10,
        l1_max_bytes: 32 << 10,
        wal_half_bytes: 64 << 10,
        ..Options::default()
    }
}

fn attach(db: &mut Db<MemDevice>, c: &Arc<StoreCache>) {
    db.set_block_cache(Some(c.clone() as Arc<dyn BlockCache + Send + Sync>));
    db.set_point_cache(Some(c.clone() as Arc<dyn PointCache + Send + Sync>));
}

fn key(rng: &mut Rng) -> Vec<u8> {
    // A hot tenth of the keys takes half the lookups, so the point parts
    // and the blocks see hits.
    let k = if rng.one_in(2) {
        rng.uniform(30)
    } else {
        rng.uniform(300)
    };
    format!("key{k:05}").into_bytes()
}

fn value(rng: &mut Rng, tag: u64) -> Vec<u8> {
    // Small values go straight to KV, larger ones to KP first.
    let len = match rng.uniform(10) {
        0..=3 => rng.uniform(12),
        4..=8 => 30 + rng.uniform(200),
        _ => 1000 + rng.uniform(2000),
    } as usize;
    let mut v = format!("v{tag}:").into_bytes();
    v.resize(v.len() + len, b'a' + (tag % 26) as u8);
    v
}

fn check_budget(c: &StoreCache, what: &str) {
    let s = c.stats();
    assert!(
        s.used_bytes <= s.capacity_bytes,
        "{what}: {} bytes used of {} under {}",
        s.used_bytes,
        s.capacity_bytes,
        c.policy()
    );
}

/// Every KP pointer names a live table, on the level it is on now.
fn check_pointers(db: &Db<MemDevice>, c: &StoreCache, what: &str) {
    let v = db.version();
    let live: Vec<(u64, u8)> = v.files().map(|(l, f)| (f.number, l as u8)).collect();
    c.each_shard(|rc| {
        rc.retain_kp(|_, p| {
            assert!(live.contains(&(p.table, p.level)), "{what}: {p:?}");
            true
        })
    });
}

#[test]
fn model_with_policy_switches_resizes_compactions_and_reopens() {
    // Seeds 0-2 on one shard, 3-4 on four (the kernel's split on several
    // cores): the same model must hold.
    for seed in 0..5u64 {
        let mut rng = Rng::new(seed);
        let (mut db, _) = Db::open(MemDevice::new(8 << 20), opts()).unwrap();
        let shards = if seed < 3 { 1 } else { 4 };
        let c = Arc::new(StoreCache::sharded(
            Policy::AcKey,
            64 << 10,
            cache::AcKeyConfig::default(),
            cache::EReads::default(),
            shards,
        ));
        attach(&mut db, &c);
        let mut model = Model::new();
        let mut sources = [0u64; 5];
        for step in 0..3000u64 {
            let what = format!("seed {seed} step {step}");
            match rng.uniform(1000) {
                0..=249 => {
                    let (k, v) = (key(&mut rng), value(&mut rng, step));
                    db.put(&k, &v, false).unwrap();
                    model.insert(k, v);
                }
                250..=319 => {
                    let k = key(&mut rng);
                    db.delete(&k, false).unwrap();
                    model.remove(&k);
                }
                320..=339 => {
                    let mut b = WriteBatch::new();
                    for _ in 0..rng.uniform(8) {
                        let k = key(&mut rng);
                        if rng.one_in(3) {
                            b.delete(&k);
                            model.remove(&k);
                        } else {
                            let v = value(&mut rng, step);
                            b.put(&k, &v);
                            model.insert(k, v);
                        }
                    }
                    db.write(b, false).unwrap();
                }
                340..=849 => {
                    let k = key(&mut rng);
                    // Again and again sometimes: KP hits, promotions, KV hits.
                    for _ in 0..1 + rng.uniform(3) {
                        let (v, st) = db.get_with_stats(&k, None).unwrap();
                        assert_eq!(v, model.get(&k).cloned(), "{what}: {st:?}");
                        let i = match st.source {
                            LookupSource::Nowhere => 0,
                            LookupSource::Memtable => 1,
                            LookupSource::PointKv => 2,
                            LookupSource::PointKp => 3,
                            LookupSource::Table => 4,
                        };
                        sources[i] += 1;
                        match st.source {
                            LookupSource::PointKv => assert_eq!(st.block_reads, 0, "{what}"),
                            LookupSource::PointKp => assert_eq!(st.block_reads, 1, "{what}"),
                            _ => {}
                        }
                        // Beyond its blocks, a lookup reads the footer of
                        // each table it opens, and the index and filter of
                        // each it pins.
                        assert!(
                            st.disk_reads <= st.block_reads + 3 * st.tables_probed,
                            "{what}"
                        );
                    }
                }
                850..=879 => {
                    let start = key(&mut rng);
                    let got = db.range(&start, None, 10, None).unwrap();
                    let want: Vec<(Vec<u8>, Vec<u8>)> = model
                        .range(start..)
                        .take(10)
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    assert_eq!(got, want, "{what}");
                }
                880..=929 => db.flush().unwrap(),
                930..=944 => db.compact_all().unwrap(),
                945..=959 => {
                    // AC-Key half the time: the point path is the subtle one.
                    let p = Policy::ALL[rng.uniform(8).min(3) as usize];
                    c.set_policy(p);
                }
                960..=974 => {
                    // From nothing to more than the data.
                    let bytes =
                        [0, 300, 4 << 10, 32 << 10, 256 << 10, 1 << 20][rng.uniform(6) as usize];
                    c.resize(bytes);
                }
                975..=984 => {
                    let dev = db.close().unwrap();
                    db = Db::open(dev, opts()).unwrap().0;
                    attach(&mut db, &c);
                }
                _ => {
                    // A write then a read of a key that is in the caches.
                    let k = key(&mut rng);
                    let v = value(&mut rng, step);
                    db.put(&k, &v, false).unwrap();
                    model.insert(k.clone(), v);
                    db.flush().unwrap();
                    assert_eq!(db.get(&k, None).unwrap(), model.get(&k).cloned(), "{what}");
                }
            }
            check_budget(&c, &what);
            check_pointers(&db, &c, &what);
        }
        for (k, v) in &model {
            assert_eq!(db.get(k, None).unwrap().as_ref(), Some(v), "seed {seed}");
        }
        // Each way of answering was exercised.
        assert!(sources.iter().all(|&n| n > 0), "seed {seed}: {sources:?}");
    }
}

fn filled(n: u32, value_len: usize) -> (Db<MemDevice>, Model) {
    let (mut db, _) = Db::open(MemDevice::new(16 << 20), opts()).unwrap();
    let mut model = Model::new();
    for i in 0..n {
        let k = format!("k{:05}", (i * 7919) % n).into_bytes();
        let mut v = format!("value{i}:").into_bytes();
        v.resize(value_len, b'x');
        db.put(&k, &v, false).unwrap();
        model.insert(k, v);
    }
    db.flush().unwrap();
    (db, model)
}

#[test]
fn a_large_enough_lru_makes_repeated_gets_free() {
    let (mut db, model) = filled(2000, 100);
    // Every kind of block through the cache (tables pin none).
    db.set_pin_table_meta(false);
    let c = Arc::new(StoreCache::new(Policy::Lru, 64 << 20));
    attach(&mut db, &c);
    let mut first = 0;
    for (k, v) in &model {
        let (got, st) = db.get_with_stats(k, None).unwrap();
        assert_eq!(got.as_ref(), Some(v));
        first += st.disk_reads;
    }
    // Each block once (and each footer): neighbours share blocks.
    assert!(first > 0);
    assert!(u64::from(first) <= db.stats().io.reads);
    let reads = db.stats().io.reads;
    for (k, v) in &model {
        let (got, st) = db.get_with_stats(k, None).unwrap();
        assert_eq!(got.as_ref(), Some(v));
        assert_eq!(st.disk_reads, 0, "{st:?}");
        assert_eq!(st.cache_hits, st.block_reads);
        // Under LRU the point calls are silent misses: the tree answers.
        assert_eq!(st.source, LookupSource::Table);
    }
    assert_eq!(db.stats().io.reads, reads);
    let kinds = c.kind_stats();
    assert!(kinds.hits.iter().all(|&h| h > 0), "{kinds:?}");
    check_budget(&c, "lru");
}

#[test]
fn ackey_kv_hits_cost_nothing_and_kp_hits_one_block() {
    // Values larger than a pointer: a first lookup makes a KP entry.
    let (mut db, model) = filled(2000, 200);
    let c = Arc::new(StoreCache::new(Policy::AcKey, 4 << 20));
    attach(&mut db, &c);
    let keys: Vec<&Vec<u8>> = model.keys().step_by(41).collect();
    for k in &keys {
        let (_, st) = db.get_with_stats(k, None).unwrap();
        assert_eq!(st.source, LookupSource::Table);
    }
    let ac = c.ac_stats().unwrap();
    assert_eq!(ac.kp.stats.entries, keys.len() as u64, "{ac:?}");
    for k in &keys {
        let (v, st) = db.get_with_stats(k, None).unwrap();
        assert_eq!(v.as_ref(), model.get(*k));
        assert_eq!(st.source, LookupSource::PointKp);
        assert_eq!(st.block_reads, 1, "{st:?}");
        assert!(st.disk_reads <= 1, "{st:?}");
    }
    for k in &keys {
        let (v, st) = db.get_with_stats(k, None).unwrap();
        assert_eq!(v.as_ref(), model.get(*k));
        assert_eq!(st.source, LookupSource::PointKv);
        assert_eq!((st.block_reads, st.disk_reads), (0, 0), "{st:?}");
    }
    // Small values go to KV at once.
    let (mut db, model) = filled(500, 8);
    let c = Arc::new(StoreCache::new(Policy::AcKey, 4 << 20));
    attach(&mut db, &c);
    for pass in 0..2 {
        for (k, v) in model.iter().step_by(13) {
            let (got, st) = db.get_with_stats(k, None).unwrap();
            assert_eq!(got.as_ref(), Some(v));
            let want = [LookupSource::Table, LookupSource::PointKv][pass];
            assert_eq!(st.source, want);
        }
    }
    check_budget(&c, "ackey");
}

#[test]
fn kp_hits_without_cached_blocks_read_exactly_one_block_from_the_disk() {
    let (mut db, model) = filled(2000, 200);
    let c = Arc::new(StoreCache::with_config(
        Policy::AcKey,
        1 << 20,
        cache::AcKeyConfig::default(),
        cache::EReads::Disk,
    ));
    attach(&mut db, &c);
    let keys: Vec<&Vec<u8>> = model.keys().step_by(97).collect();
    for k in &keys {
        db.get(k, None).unwrap();
    }
    // Keep the pointers, forget every block (as if evicted).
    c.each_shard(|rc| {
        rc.retain_blocks(|_| false);
    });
    for k in &keys {
        let reads = db.stats().io.reads;
        let (_, st) = db.get_with_stats(k, None).unwrap();
        assert_eq!(st.source, LookupSource::PointKp);
        assert_eq!((st.block_reads, st.disk_reads), (1, 1), "{st:?}");
        assert_eq!(db.stats().io.reads, reads + 1);
    }
}

#[test]
fn shards_split_the_budget_and_sum_their_counters() {
    assert_eq!(cache::shards_for(1, 1 << 30), 1);
    assert_eq!(cache::shards_for(4, 1 << 30), 8);
    assert_eq!(cache::shards_for(2, 1 << 30), 4);
    // Each shard keeps at least 2 MiB.
    assert_eq!(cache::shards_for(4, 1 << 20), 1);
    assert_eq!(cache::shards_for(4, 4 << 20), 2);
    assert_eq!(cache::shards_for(4, 100 << 10), 1);
    let c = StoreCache::sharded(
        Policy::Lru,
        (1 << 20) + 3,
        cache::AcKeyConfig::default(),
        cache::EReads::default(),
        4,
    );
    assert_eq!(c.shard_count(), 4);
    assert_eq!(c.stats().capacity_bytes, (1 << 20) + 3);
    use lsm::db::BlockCache;
    for t in 0..64u64 {
        BlockCache::insert(&c, t, 0, Arc::from(vec![t as u8; 1000]));
    }
    for t in 0..64u64 {
        let b = BlockCache::get(&c, t, 0);
        assert_eq!(b.as_deref(), Some(&vec![t as u8; 1000][..]));
    }
    let s = c.stats();
    assert_eq!((s.entries, s.used_bytes, s.hits), (64, 64_000, 64));
    // Every shard got some of the 64 blocks.
    let mut per = Vec::new();
    c.each_shard(|rc| per.push(rc.stats().entries));
    assert!(per.iter().all(|&n| n > 0), "{per:?}");
    c.resize(4 << 10);
    assert_eq!(c.stats().capacity_bytes, 4 << 10);
    assert!(c.stats().used_bytes <= 4 << 10);
    c.erase_table(3);
    assert!(BlockCache::get(&c, 3, 0).is_none());
}

/// A cache made for four cores splits into eight shards at a large budget,
/// into one at 512 KiB (each shard keeps 2 MiB or more, but the first),
/// two at 4 MiB and back, empty
/// after each new split and serving again at once; its budget adds up.
#[test]
fn a_cache_for_cores_splits_anew_when_resized() {
    use lsm::db::BlockCache;
    let c = StoreCache::for_cores(
        Policy::Lru,
        256 << 20,
        cache::AcKeyConfig::default(),
        cache::EReads::default(),
        4,
    );
    assert_eq!(c.shard_count(), 8);
    let fill = |c: &StoreCache| {
        for t in 0..64u64 {
            BlockCache::insert(c, t, 0, Arc::from(vec![t as u8; 1000]));
        }
    };
    fill(&c);
    assert_eq!(c.stats().entries, 64);
    for (bytes, shards) in [(512 << 10, 1), (4 << 20, 2), (4 << 20, 2), (64 << 20, 8)] {
        let before = c.shard_count();
        c.resize(bytes);
        assert_eq!(c.shard_count(), shards, "{bytes}");
        assert_eq!(c.stats().capacity_bytes, bytes);
        if shards != before {
            assert_eq!(c.stats().entries, 0, "a new split starts empty");
        }
        fill(&c);
        for t in 0..64u64 {
            assert_eq!(
                BlockCache::get(&c, t, 0).as_deref(),
                Some(&vec![t as u8; 1000][..])
            );
        }
        let mut per = Vec::new();
        c.each_shard(|rc| per.push(rc.stats().entries));
        assert_eq!(per.len(), shards);
        assert_eq!(per.iter().sum::<u64>(), 64);
    }
    // A cache with a fixed count keeps it.
    let fixed = StoreCache::sharded(
        Policy::Lru,
        256 << 20,
        cache::AcKeyConfig::default(),
        cache::EReads::default(),
        8,
    );
    fixed.resize(512 << 10);
    assert_eq!(fixed.shard_count(), 8);
}

/// Lookups, inserts and point invalidations on several threads while
/// another resizes back and forth across split points (each new split
/// empties every shard with all of them locked): nothing panics or
/// deadlocks, every block read is the one stored, and the budget ends as
/// the last resize set it.
#[test]
fn resizes_that_split_anew_are_safe_beside_lookups() {
    use lsm::db::{BlockCache, PointCache};
    use std::sync::atomic::{AtomicBool, Ordering};
    let c = Arc::new(StoreCache::for_cores(
        Policy::AcKey,
        4 << 20,
        cache::AcKeyConfig::default(),
        cache::EReads::default(),
        4,
    ));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..3u64)
        .map(|w| {
            let (c, stop) = (Arc::clone(&c), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let t = (i * 7 + w) % 97;
                    BlockCache::insert(&*c, t, 0, Arc::from(vec![t as u8; 700]));
                    if let Some(b) = BlockCache::get(&*c, t, 0) {
                        assert!(b.iter().all(|&x| x == t as u8));
                    }
                    let key = format!("k{}", i % 50).into_bytes();
                    PointCache::invalidate(&*c, &key);
                    let _ = PointCache::lookup(&*c, &key);
                    i += 1;
                }
            })
        })
        .collect();
    for round in 0..200u64 {
        c.resize(if round % 2 == 0 { 512 << 10 } else { 8 << 20 });
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(c.stats().capacity_bytes, 8 << 20);
    for i in 0..50u64 {
        let key = format!("k{i}").into_bytes();
        PointCache::invalidate(&*c, &key);
        assert!(matches!(
            PointCache::lookup(&*c, &key),
            lsm::db::PointHit::Miss
        ));
    }
}

/// What a KV hit spares under `EReads::Expected`: the data block, plus the
/// lookup's other blocks only as often as the cache has lately missed
/// index and filter blocks.
#[test]
fn a_point_entry_is_worth_the_reads_its_hits_can_be_expected_to_spare() {
    use lsm::db::{BlockKind, BlockPointer, LookupStats, PointHit as Found};
    let ptr = BlockPointer {
        level: 1,
        table: 9,
        offset: 0,
        size: 4096,
    };
    // Filter, index and data block: three blocks below the memtable.
    let three = LookupStats {
        block_reads: 3,
        ..LookupStats::default()
    };
    let saved_by_one_hit = |warm: bool| {
        let c = StoreCache::new(Policy::AcKey, 1 << 20);
        let block: Arc<[u8]> = vec![0u8; 1000].into();
        for t in 0..4u64 {
            assert!(c.get_block(t, 0, BlockKind::Filter).is_none());
            c.insert_block(t, 0, BlockKind::Filter, block.clone());
        }
        if warm {
            // Index and filter blocks found in the cache ever since.
            for i in 0..2000u64 {
                assert!(c.get_block(i % 4, 0, BlockKind::Filter).is_some());
            }
        }
        // A value no bigger than the pointer goes to KV at once.
        PointCache::insert(&c, b"k", b"v", ptr, &three);
        assert!(matches!(PointCache::lookup(&c, b"k"), Found::Kv(_)));
        c.ac_stats().unwrap().kv.stats.disk_reads_saved
    };
    assert_eq!(saved_by_one_hit(false), 3, "cold: every block a read");
    assert_eq!(saved_by_one_hit(true), 1, "warm: the data block alone");
    // No index or filter block asked of the cache: the tables pin them.
    let c = StoreCache::new(Policy::AcKey, 1 << 20);
    PointCache::insert(&c, b"k", b"v", ptr, &three);
    assert!(matches!(PointCache::lookup(&c, b"k"), Found::Kv(_)));
    assert_eq!(c.ac_stats().unwrap().kv.stats.disk_reads_saved, 1);
}

//! Tables that keep their index and filter blocks (the default): read once
//! per table, never through the block cache, and switched at run time to
//! the cache study's way (every block through the cache) and back.

use super::caches::KindCache;
use super::*;
use std::sync::atomic::Ordering::Relaxed;

/// The kinds of the blocks `cache` holds, by name.
fn kinds(cache: &KindCache) -> std::collections::BTreeSet<&'static str> {
    cache
        .blocks
        .lock()
        .unwrap()
        .values()
        .map(|(k, _)| k.name())
        .collect()
}

/// Bytes every table of the current version keeps: its index and filter
/// blocks and its index's fences (a window of 8 bytes per index entry).
fn meta_bytes(db: &Db<MemDevice>) -> u64 {
    db.version()
        .files()
        .map(|(_, f)| {
            let t = f.opened.get().expect("every table was probed");
            let blocks = t.index_handle().size + t.filter_handle().size;
            let kept = t.pinned_bytes() as u64;
            assert!(kept > blocks, "table {}: no fences", t.id());
            assert!(kept < blocks * 2, "table {}: {kept} bytes", t.id());
            kept
        })
        .sum()
}

#[test]
fn a_pinned_table_reads_its_index_and_filter_once_and_never_caches_them() {
    let (db, model) = filled(2000);
    assert!(db.pin_table_meta());
    assert_eq!(db.pinned_meta_bytes().0, 0, "nothing read yet");
    for (k, v) in &model {
        assert_eq!(db.get(k, None).unwrap().as_ref(), Some(v));
    }
    assert_eq!(db.pinned_meta_bytes().0, meta_bytes(&db));
    // From now on a lookup reads only data blocks: with no block cache,
    // each one it fetched came from the disk.
    for k in model.keys().step_by(7) {
        let reads = db.stats().io.reads;
        let (v, st) = db.get_with_stats(k, None).unwrap();
        assert_eq!(v.as_ref(), model.get(k));
        assert_eq!(st.source, LookupSource::Table);
        assert!(st.disk_reads >= 1, "{st:?}");
        assert_eq!(st.disk_reads, st.block_reads, "{st:?}");
        assert!(
            st.disk_reads <= st.tables_probed,
            "a data block per table whose filter admitted the key: {st:?}"
        );
        assert_eq!(u64::from(st.disk_reads), db.stats().io.reads - reads);
    }
}

#[test]
fn switching_to_cached_meta_puts_index_and_filter_under_the_cache_and_back() {
    let (mut db, model) = filled(3000);
    let cache = Arc::new(KindCache::default());
    db.set_block_cache(Some(cache.clone()));
    for (k, v) in &model {
        assert_eq!(db.get(k, None).unwrap().as_ref(), Some(v));
    }
    assert_eq!(kinds(&cache), ["data"].into());
    // The cache study's way: every block through the cache, at once.
    db.set_pin_table_meta(false);
    for (k, v) in &model {
        assert_eq!(db.get(k, None).unwrap().as_ref(), Some(v));
    }
    assert_eq!(kinds(&cache), ["data", "filter", "index"].into());
    let reads = db.stats().io.reads;
    for (k, v) in &model {
        let (got, st) = db.get_with_stats(k, None).unwrap();
        assert_eq!(got.as_ref(), Some(v));
        assert!(st.block_reads >= 3, "filter, index, data: {st:?}");
    }
    assert_eq!(db.stats().io.reads, reads, "all cached");
    // Back: the tables still keep their blocks, so no lookup asks the
    // cache for an index or filter block again.
    db.set_pin_table_meta(true);
    cache
        .blocks
        .lock()
        .unwrap()
        .retain(|_, (k, _)| *k == BlockKind::Data);
    for (k, v) in &model {
        let (got, st) = db.get_with_stats(k, None).unwrap();
        assert_eq!(got.as_ref(), Some(v));
        assert_eq!(st.disk_reads, 0, "{st:?}");
    }
    assert_eq!(kinds(&cache), ["data"].into());
}

#[test]
fn compaction_outputs_are_pinned_on_first_use_and_answer_the_same() {
    let (mut db, mut model) = filled(3000);
    for (k, v) in &model {
        assert_eq!(db.get(k, None).unwrap().as_ref(), Some(v));
    }
    let before = db.pinned_meta_bytes().0;
    assert!(before > 0);
    for i in (0..3000u32).step_by(3) {
        let k = format!("k{i:05}").into_bytes();
        db.delete(&k, false).unwrap();
        model.remove(&k);
    }
    db.flush().unwrap();
    db.compact_all().unwrap();
    // The deleted tables gave their bytes back; the new ones keep nothing
    // until a lookup uses them.
    assert_eq!(db.pinned_meta_bytes().0, 0);
    for i in 0..3000u32 {
        let k = format!("k{i:05}").into_bytes();
        assert_eq!(db.get(&k, None).unwrap(), model.get(&k).cloned(), "{i}");
    }
    assert_eq!(db.pinned_meta_bytes().0, meta_bytes(&db));
    assert_eq!(contents(&db, None), model);
}

#[test]
fn a_damaged_index_block_is_refused_every_time_not_pinned() {
    let (db, model) = filled(2000);
    let f = db.version().files().next().unwrap().1.clone();
    let index = db.table(&f, None).unwrap().index_handle();
    let mut dev = db.close().unwrap();
    dev.bytes_mut()[(f.extents[0].offset + index.offset) as usize + 1] ^= 0x5a;
    let (db, _) = Db::open(dev, small_opts()).unwrap();
    let mut refused = 0;
    for _ in 0..2 {
        for k in model.keys() {
            match db.get(k, None) {
                Ok(v) => assert_eq!(v.as_ref(), model.get(k)),
                Err(e) => {
                    let msg = e.to_string();
                    assert!(
                        msg.contains(&format!("table {} index block", f.number)),
                        "{msg}"
                    );
                    refused += 1;
                }
            }
        }
    }
    assert!(refused > 0);
    let f = db
        .version()
        .files()
        .find(|(_, g)| g.number == f.number)
        .unwrap()
        .1
        .clone();
    assert_eq!(f.opened.get().map_or(0, |t| t.pinned_bytes()), 0);
}

#[test]
fn tables_past_the_pinned_budget_are_served_through_the_cache() {
    let (db, model) = filled(3000);
    let sizes: Vec<u64> = db
        .version()
        .files()
        .map(|(_, f)| {
            let t = db.table(f, None).unwrap();
            t.index_handle().size + t.filter_handle().size
        })
        .collect();
    assert!(sizes.len() >= 3, "{sizes:?}");
    let dev = db.close().unwrap();
    // Room for the largest table's blocks, not for all of them.
    let limit = *sizes.iter().max().unwrap();
    let opts = Options {
        pinned_meta_limit: limit,
        ..small_opts()
    };
    let (mut db, _) = Db::open(dev, opts).unwrap();
    let cache = Arc::new(KindCache::default());
    db.set_block_cache(Some(cache.clone()));
    for _ in 0..2 {
        for (k, v) in &model {
            assert_eq!(db.get(k, None).unwrap().as_ref(), Some(v));
        }
    }
    let (used, max) = db.pinned_meta_bytes();
    assert_eq!(max, limit);
    assert!(used > 0 && used <= limit, "{used} of {limit}");
    let pinned = db
        .version()
        .files()
        .filter(|(_, f)| f.opened.get().is_some_and(|t| t.pinned_bytes() > 0))
        .count();
    assert!(
        pinned >= 1 && pinned < sizes.len(),
        "{pinned} of {}",
        sizes.len()
    );
    // The others' index and filter blocks went through the cache.
    assert_eq!(kinds(&cache), ["data", "filter", "index"].into());
}

#[test]
fn cursors_use_pinned_index_blocks_but_pin_none() {
    let (mut db, model) = filled(3000);
    let cache = Arc::new(KindCache::default());
    db.set_block_cache(Some(cache.clone()));
    // A scan, and a compaction (a cursor over each input), pin nothing:
    // pinning would read each table's filter, which no cursor needs.
    assert_eq!(contents(&db, None), model);
    db.compact_all().unwrap();
    assert_eq!(cache.filter_peeks.load(Relaxed), 0);
    assert_eq!(db.pinned_meta_bytes().0, 0);
    // Once lookups pinned the tables, a scan takes their index blocks
    // from them: none from the cache.
    for (k, v) in &model {
        assert_eq!(db.get(k, None).unwrap().as_ref(), Some(v));
    }
    assert_eq!(db.pinned_meta_bytes().0, meta_bytes(&db));
    cache.blocks.lock().unwrap().clear();
    assert_eq!(contents(&db, None), model);
    assert_eq!(kinds(&cache), ["data"].into());
}

//! Stop hooks: `compact_all_with` stopped at each point it asks leaves a
//! store that reads as before, has lost no space, survives a power cut and
//! compacts to the end afterwards; `verify_with` stops where it asks.

use super::*;

/// Four or more levels whose tables overlap, compacted in several slices.
fn sliced_opts() -> Options {
    Options {
        max_compaction_bytes: 28 << 10,
        l1_max_bytes: 8 << 10,
        level_ratio: 3,
        ..small_opts()
    }
}

/// A closed store of several levels (some keys deleted), as a device image.
fn multi_level_base(opts: &Options) -> (MemDevice, Model) {
    let (mut db, _) = Db::open(MemDevice::new(8 << 20), opts.clone()).unwrap();
    let mut model = Model::new();
    for round in 0..10u32 {
        for i in 0..1000u32 {
            let k = format!("key{:04}", (i * 37 + round * 11) % 4000).into_bytes();
            if (i + round) % 9 == 0 {
                db.delete(&k, false).unwrap();
                model.remove(&k);
            } else {
                let v = format!("r{round}-{i}-{}", "x".repeat((i % 10) as usize));
                db.put(&k, v.as_bytes(), false).unwrap();
                model.insert(k, v.into_bytes());
            }
        }
        db.flush().unwrap();
    }
    let levels = db.stats().levels;
    assert!(levels.iter().filter(|l| l.0 > 0).count() >= 4, "{levels:?}");
    (db.close().unwrap(), model)
}

/// Writes that stay in the memtable (so `compact_all` flushes them first),
/// made durable.
fn unflushed_writes<D: BlockDevice>(db: &mut Db<D>, model: &mut Model) {
    for i in 0..300u32 {
        let k = format!("key{:04}", (i * 53 + 7) % 4000).into_bytes();
        if i % 5 == 0 {
            db.delete(&k, false).unwrap();
            model.remove(&k);
        } else {
            let v = format!("top-{i}").into_bytes();
            db.put(&k, &v, false).unwrap();
            model.insert(k, v);
        }
    }
    db.sync_wal().unwrap();
}

/// The store answers exactly `model` by cursor and by lookup (of every
/// seventh key: a lookup stops at the first level holding the key, where a
/// cursor merges them all, so only lookups see an older version left
/// showing through), verifies clean, is not latched fatal, and its free
/// space is exactly the table region less its live tables (what an open
/// computes): nothing leaked.
fn assert_sound<D: BlockDevice>(db: &Db<D>, model: &Model, what: &str) {
    assert_eq!(contents(db, None), *model, "{what}");
    for i in (0..4000u32).step_by(7) {
        let k = format!("key{i:04}").into_bytes();
        assert_eq!(db.get(&k, None).unwrap(), model.get(&k).cloned(), "{what}");
    }
    let report = db.verify();
    assert!(report.errors.is_empty(), "{what}: {:?}", report.errors);
    assert!(!report.interrupted);
    assert_eq!(db.sh.state.lock().fatal, None, "{what}");
    let fresh = ExtentAllocator::for_version(&db.layout(), &db.version()).unwrap();
    assert_eq!(
        db.sh.state.lock().alloc,
        fresh,
        "{what}: table space leaked"
    );
}

/// Every key lives in one table entry (no tombstone, no old version), all
/// in one level.
fn assert_fully_compacted<D: BlockDevice>(db: &Db<D>, model: &Model, what: &str) {
    assert_eq!(db.verify().entries, model.len() as u64, "{what}");
    let levels = db.stats().levels;
    assert_eq!(levels.iter().filter(|l| l.0 > 0).count(), 1, "{what}");
}

#[test]
fn compact_all_stopped_at_every_check_point_loses_nothing() {
    let opts = sliced_opts();
    let (base, base_model) = multi_level_base(&opts);
    let open = || {
        let dev = FaultDevice::new(base.clone(), 5);
        let (mut db, _) = Db::open(dev, opts.clone()).unwrap();
        let mut model = base_model.clone();
        unflushed_writes(&mut db, &mut model);
        (db, model)
    };

    // How often an uninterrupted run asks.
    let (mut db, model) = open();
    let before = db.stats();
    let mut asked = 0u64;
    db.compact_all_with(&mut || {
        asked += 1;
        false
    })
    .unwrap();
    let after = db.stats();
    assert_eq!(after.flushes - before.flushes, 1);
    let merges = after.compactions - before.compactions;
    assert!(merges >= 5, "{merges} compaction slices");
    // At least once per slice, and more within the larger ones.
    assert!(
        asked > merges + 10,
        "asked {asked} times in {merges} slices"
    );
    assert_sound(&db, &model, "uninterrupted");
    assert_fully_compacted(&db, &model, "uninterrupted");

    let mut abandoned = 0;
    for k in 0..asked {
        let what = format!("stopped at question {k} of {asked}");
        let (mut db, mut model) = open();
        let mut calls = 0u64;
        let r = db.compact_all_with(&mut || {
            calls += 1;
            calls > k
        });
        assert_eq!(r, Err(Error::Interrupted), "{what}");
        assert_eq!(calls, k + 1, "{what}: asked again after stopping");
        // Every commit flushes: what is unflushed is tables of the slice
        // that was dropped.
        abandoned += usize::from(db.device_mut().unflushed_writes() > 0);
        assert_sound(&db, &model, &what);

        // Still a working store: it takes a write and compacts to the end.
        db.put(b"key0000", b"after", true).unwrap();
        model.insert(b"key0000".to_vec(), b"after".to_vec());
        db.compact_all().unwrap();
        assert_sound(&db, &model, &what);
        assert_fully_compacted(&db, &model, &what);
        let free = db.stats().table_free_bytes;
        let dev = db.close().unwrap();
        let (db, report) = Db::open(dev, opts.clone()).unwrap();
        assert_eq!(report.wal_records, 0, "{what}");
        assert_eq!(db.stats().table_free_bytes, free, "{what}");
        assert_sound(&db, &model, &what);

        // Stopped, then the power fails (abandoned tables' writes land
        // whole, torn or not at all): the next open finds the same store.
        let (mut db, model) = open();
        let mut calls = 0u64;
        let r = db.compact_all_with(&mut || {
            calls += 1;
            calls > k
        });
        assert_eq!(r, Err(Error::Interrupted), "{what}");
        let mut dev = db.into_device();
        dev.crash().unwrap();
        let (mut db, _) = Db::open(dev, opts.clone())
            .unwrap_or_else(|e| panic!("{what}: reopen after a crash: {e}"));
        assert_sound(&db, &model, &what);
        db.compact_all().unwrap();
        assert_sound(&db, &model, &what);
        assert_fully_compacted(&db, &model, &what);
    }
    // Many stops (a quarter or more; how many depends on how the memtables
    // filled and the tables split) came after the slice had written tables.
    assert!(
        abandoned as u64 * 4 >= asked,
        "{abandoned} of {asked} stops dropped tables"
    );
}

#[test]
fn interrupted_error_reads_interrupted() {
    assert_eq!(Error::Interrupted.to_string(), "interrupted");
}

/// (tables, entries) a verify stopped at each of its questions has read:
/// before each table, and before each data block after a table's first.
fn verify_check_points<D: BlockDevice>(db: &Db<D>) -> Vec<(usize, u64)> {
    let mut points = Vec::new();
    let mut entries = 0;
    for (n, (_, f)) in db.version().files().enumerate() {
        points.push((n, entries));
        let t = db.table(f, None).unwrap();
        let mut it = t.iter(db.file(f, false, None));
        it.seek_to_first().unwrap();
        let first = it.data_handle();
        let mut block = first;
        while it.valid() {
            if it.data_handle() != block {
                block = it.data_handle();
                points.push((n + 1, entries));
            }
            entries += 1;
            it.next().unwrap();
        }
    }
    points
}

#[test]
fn verify_stopped_reports_what_it_read() {
    let (db, model) = filled(3000);
    let tables = db.version().files().count();
    let points = verify_check_points(&db);
    assert!(points.len() > tables + 5, "{} blocks", points.len());
    let mut asked = 0;
    let full = db.verify_with(&mut || {
        asked += 1;
        false
    });
    assert_eq!(asked, points.len());
    assert!(!full.interrupted && full.errors.is_empty());
    assert_eq!((full.tables, full.entries), (tables, model.len() as u64));
    for (k, &(tables, entries)) in points.iter().enumerate() {
        let mut calls = 0;
        let r = db.verify_with(&mut || {
            calls += 1;
            calls > k
        });
        assert!(r.interrupted, "question {k}");
        assert!(r.errors.is_empty(), "question {k}: {:?}", r.errors);
        assert_eq!((r.tables, r.entries), (tables, entries), "question {k}");
        assert_eq!(calls, k + 1);
    }
}

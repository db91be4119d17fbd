//! `Db::clear` (Redis's FLUSHALL): every key goes in one manifest edit,
//! whatever level or memtable held it; the WAL the memtables came from is
//! never replayed again; a power cut at any device request leaves the
//! store either as it was or empty, and writes after it are kept.

use super::*;

/// A store with keys in several levels, in a frozen memtable (its WAL
/// written out, not flushed) and in the memtable, some deleted.
fn layered() -> (Db<MemDevice>, Model) {
    let opts = Options {
        l1_max_bytes: 8 << 10,
        level_ratio: 3,
        ..small_opts()
    };
    let (mut db, _) = Db::open(MemDevice::new(8 << 20), opts).unwrap();
    let mut model = Model::new();
    for round in 0..6u32 {
        for i in 0..400u32 {
            let k = format!("key{:04}", (i * 37 + round * 11) % 1500).into_bytes();
            if (i + round) % 7 == 0 {
                db.delete(&k, false).unwrap();
                model.remove(&k);
            } else {
                let v = format!("r{round}-{i}-{}", "x".repeat(60)).into_bytes();
                db.put(&k, &v, false).unwrap();
                model.insert(k, v);
            }
        }
        db.flush().unwrap();
    }
    db.rotate(&mut stop::Stop::never()).unwrap();
    for i in 0..50u32 {
        let k = format!("late{i:03}").into_bytes();
        db.put(&k, b"late", i % 10 == 0).unwrap();
        model.insert(k, b"late".to_vec());
    }
    assert!(db.stats().immutable_bytes > 0);
    assert!(db.stats().levels.iter().filter(|l| l.0 > 0).count() >= 2);
    (db, model)
}

#[test]
fn clear_drops_every_level_and_both_memtables() {
    let (mut db, model) = layered();
    assert_eq!(contents(&db, None), model);
    let region = db.stats().table_region_bytes;
    db.clear().unwrap();
    assert_eq!(contents(&db, None), Model::new());
    for k in model.keys() {
        assert_eq!(db.get(k, None).unwrap(), None);
    }
    let stats = db.stats();
    assert!(stats.levels.iter().all(|&(n, bytes)| n == 0 && bytes == 0));
    assert_eq!((stats.memtable_bytes > 0, stats.immutable_bytes), (true, 0));
    assert_eq!(stats.table_free_bytes, region, "every extent is free again");
    assert!(db.verify().errors.is_empty());
    // The store takes writes again, and clears again.
    db.put(b"after", b"1", true).unwrap();
    assert_eq!(db.get(b"after", None).unwrap(), Some(b"1".to_vec()));
    db.clear().unwrap();
    db.clear().unwrap();
    assert_eq!(contents(&db, None), Model::new());
}

#[test]
fn after_a_clear_only_later_writes_come_back() {
    let (mut db, _) = layered();
    db.clear().unwrap();
    let mut model = Model::new();
    // Enough writes to fill the memtable several times: the logs after the
    // clear rotate through both WAL halves, over the old logs' records.
    for i in 0..2000u32 {
        let k = format!("new{:05}", (i * 7919) % 2000).into_bytes();
        let v = format!("v{i}").into_bytes();
        db.put(&k, &v, i % 100 == 0).unwrap();
        model.insert(k, v);
    }
    db.sync_wal().unwrap();
    // A power cut (nothing flushed beyond the synced WAL), then recovery.
    let dev = db.into_device();
    let (db, report) = Db::open(dev, small_opts()).unwrap();
    assert!(report.wal_records > 0);
    assert_eq!(contents(&db, None), model);
    // And right after a clear, with nothing written since.
    let (mut db, _) = layered();
    db.clear().unwrap();
    let (db, report) = Db::open(db.into_device(), small_opts()).unwrap();
    assert_eq!((report.wal_records, report.tables), (0, 0));
    assert_eq!(contents(&db, None), Model::new());
}

#[test]
fn clear_is_all_or_nothing_at_every_crash_point() {
    let (db, model) = layered();
    let base = db.close().unwrap();
    let opts = small_opts();
    let (mut before, mut emptied) = (0, 0);
    for cut in 0.. {
        let (mut db, _) = Db::open(FaultDevice::new(base.clone(), cut), opts.clone()).unwrap();
        db.device_mut().cut_power_after(cut);
        match db.clear() {
            Ok(()) if !db.device_mut().is_powered_off() => {
                assert_eq!(contents(&db, None), Model::new());
                break;
            }
            Ok(()) => {}
            Err(e) => assert!(
                matches!(e, Error::Device(DeviceError::PowerLoss)),
                "cut {cut}: {e}"
            ),
        }
        let mut dev = db.into_device();
        dev.crash().unwrap();
        let (mut db, _) =
            Db::open(dev, opts.clone()).unwrap_or_else(|e| panic!("cut {cut}: reopen: {e}"));
        let got = contents(&db, None);
        if got == model {
            before += 1;
        } else {
            assert_eq!(got, Model::new(), "cut {cut}: neither before nor empty");
            emptied += 1;
        }
        assert!(db.verify().errors.is_empty(), "cut {cut}");
        // Whichever it is, the store goes on.
        db.put(b"next", b"1", true).unwrap();
        let (db, _) = Db::open(db.into_device(), opts.clone()).unwrap();
        assert_eq!(db.get(b"next", None).unwrap(), Some(b"1".to_vec()));
    }
    std::eprintln!("{before} crash points before the commit, {emptied} after");
    assert!(
        before > 0 && emptied > 0,
        "{before} before, {emptied} after the commit"
    );
}

#[test]
fn clear_empties_the_point_cache_and_forgets_the_tables() {
    let (mut db, model) = filled(3000);
    let points = Arc::new(caches::PointMap::default());
    db.set_point_cache(Some(points.clone()));
    for k in model.keys().step_by(7) {
        db.get(k, None).unwrap();
        db.get(k, None).unwrap();
        db.get(k, None).unwrap();
    }
    assert!(!points.kv.lock().unwrap().is_empty());
    let tables: Vec<u64> = db.version().files().map(|(_, f)| f.number).collect();
    db.clear().unwrap();
    assert!(points.kv.lock().unwrap().is_empty());
    assert!(points.kp.lock().unwrap().is_empty());
    assert_eq!(
        db.version()
            .files()
            .filter(|(_, f)| tables.contains(&f.number))
            .count(),
        0
    );
    for k in model.keys().step_by(7) {
        assert_eq!(db.get(k, None).unwrap(), None);
    }
}

#[test]
fn clear_is_refused_while_a_snapshot_is_held_or_read_only() {
    let (mut db, model) = filled(200);
    let snap = db.snapshot();
    assert_eq!(
        db.clear(),
        Err(Error::InvalidArgument("clear while a snapshot is held"))
    );
    assert_eq!(contents(&db, Some(&snap)), model);
    db.release_snapshot(snap);
    let dev = db.close().unwrap();
    let (mut ro, _) = Db::open_read_only(dev, small_opts()).unwrap();
    assert_eq!(ro.clear(), Err(Error::ReadOnly));
}

//! A full disk: writes that add data are refused while acknowledged ones
//! stay; deleting and compacting gives the space back; tables split over
//! free pieces read back and return their pieces.

use super::*;

#[test]
fn full_disk_refuses_writes_and_keeps_acknowledged_ones() {
    let opts = small_opts();
    let (mut db, _) = Db::open(MemDevice::new(2 << 20), opts.clone()).unwrap();
    let mut model = Model::new();
    let mut full = None;
    for i in 0..100_000u32 {
        let k = format!("key{i:06}").into_bytes();
        let v = vec![(i % 13) as u8; 500];
        match db.put(&k, &v, false) {
            Ok(()) => {
                model.insert(k, v);
            }
            Err(e) => {
                full = Some(e);
                break;
            }
        }
    }
    let e = full.expect("a 2 MiB disk must fill up");
    assert!(matches!(e, Error::NoSpace { .. }), "{e}");
    assert!(e.to_string().starts_with("no space"));
    for (k, v) in model.iter().step_by(97) {
        assert_eq!(db.get(k, None).unwrap().as_ref(), Some(v));
    }
    let dev = db.close().unwrap();
    let (db, _) = Db::open(dev, opts).unwrap();
    assert_eq!(contents(&db, None), model);
}

/// After the disk fills up, deleting half the keys and compacting must give
/// the space back (compaction on a nearly full disk works a slice at a
/// time), and the freed space must take new data. Sequential keys of one
/// size, then random keys of random sizes.
#[test]
fn deleting_and_compacting_a_full_disk_frees_space() {
    // The kernel's shape for an 8 MiB disk (64 KiB tables), filled in key
    // order with 4000-byte values: every level then holds its own key
    // range, and COMPACT must slice the upper levels too, not only the
    // bottom's tables.
    let kernel_like = Options::for_disk(8 << 20);
    for seed in 0..7u64 {
        let mut rng = Rng::new(seed);
        let (opts, disk) = if seed == 6 {
            (kernel_like.clone(), 8 << 20)
        } else {
            (small_opts(), 2 << 20)
        };
        let sequential = seed == 0 || seed == 6;
        let (mut db, _) = Db::open(MemDevice::new(disk), opts.clone()).unwrap();
        let mut model = Model::new();
        let next_value = |rng: &mut Rng, i: u64| {
            let len = match seed {
                0 => 500,
                6 => 4000,
                _ => 50 + rng.uniform(1500),
            };
            vec![(i % 13) as u8; len as usize]
        };
        let mut full = false;
        for i in 0..100_000u64 {
            let k = if sequential {
                format!("key{i:06}")
            } else {
                format!("key{:06}", rng.uniform(1_000_000))
            };
            let v = next_value(&mut rng, i);
            match db.put(k.as_bytes(), &v, false) {
                Ok(()) => {
                    model.insert(k.into_bytes(), v);
                }
                Err(e) => {
                    assert!(matches!(e, Error::NoSpace { .. }), "{e}");
                    full = true;
                    break;
                }
            }
        }
        assert!(full, "seed {seed}: the disk must fill up");
        let used = |db: &Db<MemDevice>| db.stats().table_region_bytes - db.stats().table_free_bytes;
        let used_full = used(&db);
        let keys: Vec<Vec<u8>> = model.keys().cloned().collect();
        for (i, k) in keys.iter().enumerate() {
            if (sequential && i % 2 == 0) || (!sequential && rng.one_in(2)) {
                db.delete(k, false)
                    .unwrap_or_else(|e| panic!("seed {seed}: delete {i} of {}: {e}", keys.len()));
                model.remove(k);
            }
        }
        db.compact_all()
            .unwrap_or_else(|e| panic!("seed {seed}: compact: {e}"));
        assert_eq!(contents(&db, None), model);
        let used_after = used(&db);
        assert!(
            used_after < used_full * 2 / 3,
            "seed {seed}: {used_after} of {used_full} bytes still used"
        );
        // The freed space takes new data: a third of what filled the disk.
        let mut added = 0;
        let mut i = 0;
        while added < used_full / 3 {
            let k = format!("new{i:06}").into_bytes();
            let v = next_value(&mut rng, i);
            added += (k.len() + v.len()) as u64;
            db.put(&k, &v, false)
                .unwrap_or_else(|e| panic!("seed {seed}: put {added} of {}: {e}", used_full / 3));
            model.insert(k, v);
            i += 1;
        }
        assert!(db.verify().errors.is_empty());
        let dev = db.close().unwrap();
        let (db, _) = Db::open(dev, opts).unwrap();
        assert_eq!(contents(&db, None), model);
    }
}

/// When the free space is only in pieces smaller than a table, the table is
/// split over several extents: it reads back, verifies, survives reopening,
/// and its extents return to the free space when it goes.
#[test]
fn tables_split_over_free_pieces_read_back() {
    let (mut db, _) = Db::open(MemDevice::new(4 << 20), small_opts()).unwrap();
    // Leave only 1 KiB holes: take everything in 1 KiB pieces, give back
    // every other one.
    let mut pieces = Vec::new();
    {
        let mut st = db.sh.state.lock();
        while let Some(off) = st.alloc.allocate(1024) {
            pieces.push(off);
        }
        for &off in pieces.iter().step_by(2) {
            st.alloc.release(off, 1024);
        }
        st.note_free(&db.sh);
    }
    let mut model = Model::new();
    for i in 0..60u32 {
        let k = format!("key{i:04}").into_bytes();
        let v = vec![b'a' + (i % 26) as u8; 100 + i as usize * 7];
        db.put(&k, &v, false).unwrap();
        model.insert(k, v);
    }
    db.flush().unwrap();
    let split: Vec<Arc<FileMeta>> = db
        .version()
        .files()
        .filter(|(_, f)| f.extents.len() > 1)
        .map(|(_, f)| Arc::clone(f))
        .collect();
    assert!(
        !split.is_empty(),
        "the flushes must have split their tables"
    );
    for f in &split {
        let (last, rest) = f.extents.split_last().unwrap();
        assert!(rest.iter().all(|e| e.len == 1024) && last.len <= 1024);
    }
    for (k, v) in &model {
        assert_eq!(db.get(k, None).unwrap().as_ref(), Some(v));
    }
    assert_eq!(contents(&db, None), model);
    assert!(db.verify().errors.is_empty());
    let dev = db.close().unwrap();
    let (mut db, _) = Db::open(dev, small_opts()).unwrap();
    assert_eq!(contents(&db, None), model);
    // Compaction rewrites it; its pieces come back.
    let free = db.sh.state.lock().alloc.free_bytes();
    db.compact_all().unwrap();
    assert_eq!(contents(&db, None), model);
    assert!(db
        .version()
        .files()
        .all(|(_, f)| split.iter().all(|s| s.number != f.number)));
    assert!(db.sh.state.lock().alloc.free_bytes() + 64 * 1024 > free);
}

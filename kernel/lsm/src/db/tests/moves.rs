//! Trivial moves: tables that share no key with each other or with the
//! level below go down as they are, level 0's together.

use super::*;

fn live_bytes(db: &Db<MemDevice>) -> u64 {
    db.stats().levels.iter().map(|&(_, bytes)| bytes).sum()
}

#[test]
fn a_sequential_load_moves_its_tables_down_unwritten() {
    let (mut db, _) = Db::open(MemDevice::new(8 << 20), small_opts()).unwrap();
    let mut model = Model::new();
    for i in 0..6000u64 {
        let (k, v) = (format!("key{i:06}"), format!("value{i}"));
        db.put(k.as_bytes(), v.as_bytes(), false).unwrap();
        model.insert(k.into_bytes(), v.into_bytes());
    }
    db.flush().unwrap();
    let s = db.stats();
    assert!(s.compactions >= 3 && s.tables_moved >= 3, "{s:?}");
    assert!(s.levels[1..].iter().any(|&(n, _)| n > 0), "{s:?}");
    // Every table ever written is live: none was copied by a merge.
    assert_eq!(s.table_bytes_written, live_bytes(&db), "{s:?}");
    assert_eq!(contents(&db, None), model);

    // A key inside the loaded range overlaps tables below: that merges.
    for round in 0..4u64 {
        for i in (0..6000u64).step_by(50) {
            let (k, v) = (format!("key{i:06}"), format!("again{round}"));
            db.put(k.as_bytes(), v.as_bytes(), false).unwrap();
            model.insert(k.into_bytes(), v.into_bytes());
        }
        db.flush().unwrap();
    }
    let s = db.stats();
    assert!(s.table_bytes_written > live_bytes(&db), "{s:?}");
    assert_eq!(contents(&db, None), model);
    let (db, _) = Db::open(db.close().unwrap(), small_opts()).unwrap();
    assert_eq!(contents(&db, None), model);
}

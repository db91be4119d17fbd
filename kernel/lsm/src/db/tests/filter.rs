//! Compaction filters: values declared dead go, without an older version
//! showing through, and snapshots keep what they see.

use super::*;

/// Values that start with "dead" are dead.
struct DeadPrefix;

impl CompactionFilter for DeadPrefix {
    fn is_dead(&self, _key: &[u8], value: &[u8]) -> bool {
        value.starts_with(b"dead")
    }
}

fn k(i: u32) -> Vec<u8> {
    format!("key{i:05}").into_bytes()
}

#[test]
fn dead_values_go_and_older_versions_do_not_come_back() {
    let (mut db, _) = Db::open(MemDevice::new(8 << 20), small_opts()).unwrap();
    // Old live versions, pushed down by a full compaction.
    for i in 0..2000 {
        db.put(&k(i), b"old-live", false).unwrap();
    }
    db.compact_all().unwrap();
    // Newer versions: every third dead, in a level above the old ones.
    for i in 0..2000 {
        let v: &[u8] = if i % 3 == 0 { b"dead-new" } else { b"new-live" };
        db.put(&k(i), v, false).unwrap();
    }
    db.flush().unwrap();
    db.set_compaction_filter(Some(Arc::new(DeadPrefix)));
    // A compaction that does not reach the bottom keeps a deletion, so the
    // old version stays hidden.
    db.compact_all().unwrap();
    for i in 0..2000 {
        let got = db.get(&k(i), None).unwrap();
        if i % 3 == 0 {
            assert_eq!(
                got, None,
                "key {i}: dead, and the old version must not show"
            );
        } else {
            assert_eq!(got.as_deref(), Some(&b"new-live"[..]), "key {i}");
        }
    }
    assert!(
        db.stats().filtered_values >= 667,
        "{}",
        db.stats().filtered_values
    );
    // Everything at the bottom now: a second compaction leaves no trace of
    // the dead keys, not even deletions.
    db.compact_all().unwrap();
    let mut it = db.iter(None).unwrap();
    it.seek(b"").unwrap();
    let mut n = 0;
    while it.valid() {
        assert_eq!(it.value(), b"new-live");
        n += 1;
        it.next().unwrap();
    }
    assert_eq!(n, 2000 - 667);
    let v = db.verify();
    assert!(v.errors.is_empty(), "{:?}", v.errors);
    assert_eq!(v.entries, 2000 - 667, "no deletion left behind");
}

#[test]
fn a_snapshot_keeps_seeing_what_it_saw() {
    let (mut db, _) = Db::open(MemDevice::new(8 << 20), small_opts()).unwrap();
    for i in 0..500 {
        db.put(&k(i), b"dead-but-seen", false).unwrap();
    }
    let snap = db.snapshot();
    for i in 0..500 {
        db.put(&k(i), b"dead-later", false).unwrap();
    }
    db.set_compaction_filter(Some(Arc::new(DeadPrefix)));
    db.compact_all().unwrap();
    // The filter is asked only about values every snapshot sees as the
    // newest: while the snapshot lives, both versions stay as they were.
    for i in 0..500 {
        assert_eq!(
            db.get(&k(i), None).unwrap().as_deref(),
            Some(&b"dead-later"[..])
        );
        assert_eq!(
            db.get(&k(i), Some(&snap)).unwrap().as_deref(),
            Some(&b"dead-but-seen"[..])
        );
    }
    assert_eq!(db.stats().filtered_values, 0);
    db.release_snapshot(snap);
}

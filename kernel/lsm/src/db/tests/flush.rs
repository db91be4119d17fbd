//! What a flush writes: every version a reader can still ask for, and no
//! other.

use super::*;
use crate::key::{ParsedInternalKey, ValueType};

/// Each table's entries as (user key, sequence, kind), newest table first.
fn tables(db: &Db<MemDevice>) -> Vec<Vec<(Vec<u8>, u64, ValueType)>> {
    let mut files: Vec<u64> = db.version().files().map(|(_, f)| f.number).collect();
    files.sort_unstable_by(|a, b| b.cmp(a));
    files
        .into_iter()
        .map(|number| {
            let mut entries = Vec::new();
            db.inspect_table(number, |k, _| {
                let p = ParsedInternalKey::parse(k).unwrap();
                entries.push((p.user_key.to_vec(), p.sequence, p.kind));
            })
            .unwrap()
            .unwrap();
            entries
        })
        .collect()
}

#[test]
fn a_flush_leaves_out_versions_no_reader_can_ask_for() {
    let opts = Options {
        write_buffer_size: 1 << 20,
        ..small_opts()
    };
    let (mut db, _) = Db::open(MemDevice::new(8 << 20), opts).unwrap();
    db.put(b"gone", b"x", false).unwrap(); // 1
    db.delete(b"gone", false).unwrap(); // 2
    db.put(b"cold", b"c", false).unwrap(); // 3
    let mut snap = None;
    for i in 0..500u64 {
        db.put(b"hot", format!("v{i}").as_bytes(), false).unwrap(); // 4..=503
        if i == 199 {
            snap = Some(db.snapshot()); // sees v199, sequence 203
        }
    }
    let snap = snap.unwrap();
    db.flush().unwrap();
    // Every version from the one the oldest snapshot reads on (LevelDB's
    // rule: versions between two snapshots are kept too), and the deletion,
    // which hides what older tables may hold.
    let want = |k: &[u8], s, t| (k.to_vec(), s, t);
    let mut expected = vec![
        want(b"cold", 3, ValueType::Value),
        want(b"gone", 2, ValueType::Deletion),
    ];
    expected.extend((203..=503).rev().map(|s| want(b"hot", s, ValueType::Value)));
    assert_eq!(tables(&db), vec![expected]);
    assert_eq!(db.get(b"hot", None).unwrap().unwrap(), b"v499");
    assert_eq!(db.get(b"hot", Some(&snap)).unwrap().unwrap(), b"v199");
    assert_eq!(db.get(b"gone", Some(&snap)).unwrap(), None);
    db.release_snapshot(snap);

    // Without snapshots, only the newest version of each key.
    for i in 0..50u64 {
        db.put(b"hot", format!("w{i}").as_bytes(), false).unwrap();
        db.put(b"warm", format!("w{i}").as_bytes(), false).unwrap();
    }
    db.flush().unwrap();
    assert_eq!(
        tables(&db)[0],
        vec![
            want(b"hot", 602, ValueType::Value),
            want(b"warm", 603, ValueType::Value),
        ]
    );
    assert_eq!(db.get(b"hot", None).unwrap().unwrap(), b"w49");
    db.compact_all().unwrap();
    let all = contents(&db, None);
    assert_eq!(all.len(), 3);
    assert_eq!(all[&b"hot"[..]], b"w49");
}

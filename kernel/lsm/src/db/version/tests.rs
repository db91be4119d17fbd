use super::*;
use crate::key::{internal_key, ValueType};
use alloc::vec;

fn file(number: u64, a: &[u8], b: &[u8]) -> FileMeta {
    FileMeta {
        number,
        extents: Arc::from([Extent {
            offset: number * 4096,
            len: (1000 + number).next_multiple_of(512),
        }]),
        size: 1000 + number,
        smallest: internal_key(a, 5, ValueType::Value),
        largest: internal_key(b, 1, ValueType::Value),
        allowed_seeks: SeekBudget::for_size(1000 + number),
        opened: Default::default(),
    }
}

#[test]
fn edit_round_trip_and_damage() {
    let e = VersionEdit {
        log_number: Some(7),
        next_file_number: Some(100),
        last_sequence: Some(1 << 40),
        compact_pointers: vec![(2, b"ptr".to_vec())],
        deleted: vec![(1, 5), (3, 9)],
        added: vec![(0, file(10, b"a", b"m")), (6, file(11, b"n", b"z"))],
    };
    let enc = e.encode();
    assert_eq!(VersionEdit::decode(&enc).unwrap(), e);
    for cut in 1..enc.len() {
        // A cut either lands between fields (a valid, smaller edit) or is
        // refused; it never panics.
        if let Ok(d) = VersionEdit::decode(&enc[..cut]) {
            assert_ne!(d, e);
        }
    }
    assert!(VersionEdit::decode(&[99, 1]).is_err());
    assert!(VersionEdit::decode(&[6, 9, 1]).is_err());
}

#[test]
fn split_table_round_trips_and_bad_extents_are_refused() {
    let mut f = file(12, b"a", b"k");
    f.size = 5000;
    f.extents = Arc::from([
        Extent {
            offset: 1 << 20,
            len: 3072,
        },
        Extent {
            offset: 8192,
            len: 2048,
        },
    ]);
    let e = VersionEdit {
        added: vec![(2, f.clone()), (3, file(13, b"l", b"z"))],
        ..VersionEdit::default()
    };
    let enc = e.encode();
    assert_eq!(enc[0] as u64, TAG_NEW_FILE_EXTENTS);
    assert_eq!(VersionEdit::decode(&enc).unwrap(), e);
    for cut in 1..enc.len() {
        if let Ok(d) = VersionEdit::decode(&enc[..cut]) {
            assert_ne!(d, e);
        }
    }
    let encode_one = |f: &FileMeta| {
        VersionEdit {
            added: vec![(1, f.clone())],
            ..VersionEdit::default()
        }
        .encode()
    };
    // Extents that do not add up to the size, or are not whole sectors.
    let mut short = f.clone();
    short.size = 6000;
    assert!(VersionEdit::decode(&encode_one(&short)).is_err());
    let mut ragged = f.clone();
    ragged.extents = Arc::from([
        Extent {
            offset: 0,
            len: 3000,
        },
        Extent {
            offset: 8192,
            len: 2120,
        },
    ]);
    assert!(VersionEdit::decode(&encode_one(&ragged)).is_err());
}

#[test]
fn apply_orders_levels_and_refuses_nonsense() {
    let v = Version::default();
    let e = VersionEdit {
        added: vec![
            (0, file(1, b"a", b"z")),
            (0, file(2, b"b", b"c")),
            (1, file(3, b"m", b"p")),
            (1, file(4, b"a", b"f")),
        ],
        ..VersionEdit::default()
    };
    let v = v.apply(&e).unwrap();
    assert_eq!(
        v.levels[0].iter().map(|f| f.number).collect::<Vec<_>>(),
        [2, 1]
    );
    assert_eq!(
        v.levels[1].iter().map(|f| f.number).collect::<Vec<_>>(),
        [4, 3]
    );
    assert_eq!(v.overlapping(1, Some(b"g"), Some(b"l")).len(), 0);
    assert_eq!(v.overlapping(1, Some(b"f"), Some(b"m")).len(), 2);
    assert_eq!(v.overlapping(1, None, None).len(), 2);
    let probe = internal_key(b"g", 9, ValueType::Value);
    assert_eq!(Version::find_file(&v.levels[1], &probe), 1);
    let del = VersionEdit {
        deleted: vec![(1, 99)],
        ..VersionEdit::default()
    };
    assert!(v.apply(&del).is_err());
    let dup = VersionEdit {
        added: vec![(2, file(3, b"x", b"y"))],
        ..VersionEdit::default()
    };
    assert!(v.apply(&dup).is_err());
    let snap = v.snapshot_edit();
    assert_eq!(Version::default().apply(&snap).unwrap().levels[1].len(), 2);
}

#[test]
fn level_search_by_fences_matches_the_whole_key_search() {
    use alloc::format;
    // Numbered keys (long shared prefix), then short keys whose windows
    // tie ("k" and "k\0"), so both paths of the search are taken.
    let mut ranges: Vec<(Vec<u8>, Vec<u8>)> = (0..60)
        .map(|i| {
            let a = format!("{:016}", 1000 + i * 100).into_bytes();
            let b = format!("{:016}", 1000 + i * 100 + 50).into_bytes();
            (a, b)
        })
        .collect();
    ranges.extend([
        (b"k".to_vec(), b"k".to_vec()),
        (b"k\0".to_vec(), b"k\0".to_vec()),
        (b"k\0\x01".to_vec(), b"ka".to_vec()),
    ]);
    let added = ranges
        .iter()
        .enumerate()
        .map(|(i, (a, b))| (2, file(10 + i as u64, a, b)))
        .collect();
    let v = Version::default()
        .apply(&VersionEdit {
            added,
            ..VersionEdit::default()
        })
        .unwrap();
    let mut users: Vec<Vec<u8>> = (0..70)
        .map(|i| format!("{:016}", 900 + i * 97).into_bytes())
        .collect();
    users.extend(ranges.iter().flat_map(|(a, b)| [a.clone(), b.clone()]));
    users.extend([
        b"".to_vec(),
        b"0".to_vec(),
        b"k\0\0".to_vec(),
        b"z".to_vec(),
    ]);
    for u in &users {
        for seq in [0, 1, 2, 9] {
            let probe = internal_key(u, seq, ValueType::Value);
            assert_eq!(
                v.find_in_level(2, &probe),
                Version::find_file(&v.levels[2], &probe),
                "{u:?} at {seq}"
            );
        }
    }
}

/// A table's range check by abbreviated bounds answers as comparing the
/// keys does, for bounds and keys that tie on their first 16 bytes (keys
/// longer than that, keys that differ only in trailing zeros), on level 0
/// (both bounds) and below (the smallest only).
#[test]
fn range_checks_by_abbreviation_match_the_whole_keys() {
    let keys: Vec<Vec<u8>> = [
        &b""[..],
        b"\0",
        b"a",
        b"a\0",
        b"a\0\0",
        b"0000000000001000",
        b"0000000000001000\0",
        b"0000000000001000x",
        b"0000000000001000y",
        b"0000000000001001",
        b"00000000000010",
        b"0000000000002000",
        b"0000000000002000zz",
        b"b",
        b"\xff\xff",
    ]
    .iter()
    .map(|k| k.to_vec())
    .collect();
    let mut edit = VersionEdit::default();
    let mut n = 1;
    for (i, a) in keys.iter().enumerate() {
        for b in &keys[i..] {
            edit.added.push((0, file(n, a, b)));
            n += 1;
        }
    }
    // A sorted level of tables that do not overlap.
    for (i, pair) in keys.chunks(2).enumerate() {
        let b = pair.last().unwrap();
        edit.added.push((2, file(1000 + i as u64, &pair[0], b)));
    }
    let v = Version::default().apply(&edit).unwrap();
    for key in &keys {
        let abbr = bytewise_prefix(key);
        for level in [0, 2] {
            for (i, f) in v.levels[level].iter().enumerate() {
                let lo = user_key(&f.smallest) <= &key[..];
                let hi = &key[..] <= user_key(&f.largest);
                assert_eq!(
                    v.covers(level, i, key, abbr, true),
                    lo && hi,
                    "{key:?} in {i}"
                );
                assert_eq!(v.covers(level, i, key, abbr, false), lo, "{key:?} from {i}");
            }
        }
    }
}

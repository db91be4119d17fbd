extern crate std;

use super::*;
use crate::comparator::Bytewise;
use crate::random::Rng;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;

fn k(i: u64) -> [u8; 8] {
    i.to_be_bytes()
}

#[test]
fn empty() {
    let list = SkipList::new(Bytewise);
    assert!(list.is_empty());
    assert!(!list.contains(b"x"));
    let mut it = list.iter();
    assert!(!it.valid());
    it.seek_to_first().unwrap();
    assert!(!it.valid());
    it.seek(b"a").unwrap();
    assert!(!it.valid());
}

#[test]
fn insert_and_lookup_against_a_model() {
    const N: u64 = 2000;
    const R: u64 = 5000;
    let mut rnd = Rng::new(1000);
    let mut model = BTreeMap::new();
    let list = SkipList::new(Bytewise);
    for _ in 0..N {
        let key = rnd.uniform(R);
        let value = (key * 7).to_le_bytes();
        if model.insert(key, value).is_none() {
            list.insert(&k(key), &value).unwrap();
        } else {
            assert!(list.insert(&k(key), &value).is_err());
        }
    }
    assert_eq!(list.len(), model.len());
    for i in 0..R {
        assert_eq!(list.contains(&k(i)), model.contains_key(&i));
    }
    // Forward iteration from the start.
    let mut it = list.iter();
    it.seek_to_first().unwrap();
    for (key, value) in &model {
        assert!(it.valid());
        assert_eq!(it.key(), &k(*key));
        assert_eq!(it.value(), value);
        it.next().unwrap();
    }
    assert!(!it.valid());
    // Seek lands on the first key >= target.
    for i in 0..R {
        it.seek(&k(i)).unwrap();
        match model.range(i..).next() {
            Some((key, _)) => assert_eq!(it.key(), &k(*key)),
            None => assert!(!it.valid()),
        }
    }
}

#[test]
fn entries_of_all_sizes_survive() {
    let list = SkipList::new(Bytewise);
    let mut rnd = Rng::new(9);
    let mut model = BTreeMap::new();
    for i in 0..500u64 {
        let key: Vec<u8> = (0..rnd.skewed(10))
            .map(|j| (i + j) as u8)
            .chain(k(i))
            .collect();
        let value: Vec<u8> = (0..rnd.skewed(14)).map(|j| (i * j) as u8).collect();
        list.insert(&key, &value).unwrap();
        model.insert(key, value);
    }
    let mut it = list.iter();
    it.seek_to_first().unwrap();
    for (key, value) in &model {
        assert_eq!((it.key(), it.value()), (&key[..], &value[..]));
        it.next().unwrap();
    }
    assert!(list.memory_usage() > model.values().map(Vec::len).sum::<usize>());
}

#[test]
fn owning_iterator_keeps_the_list_alive() {
    let list = Arc::new(SkipList::new(Bytewise));
    list.insert(b"a", b"1").unwrap();
    let mut it = SkipIter::new(Arc::clone(&list));
    drop(list);
    it.seek_to_first().unwrap();
    assert_eq!((it.key(), it.value()), (&b"a"[..], &b"1"[..]));
}

/// LevelDB's concurrent test, reduced: one writer inserts increasing keys
/// while readers iterate; every reader sees a sorted list whose entries are
/// intact, and each reader's view only grows.
#[test]
fn readers_run_while_a_writer_inserts() {
    let list = Arc::new(SkipList::new(Bytewise));
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let list = Arc::clone(&list);
            let done = Arc::clone(&done);
            std::thread::spawn(move || {
                let mut rounds = 0;
                let mut last_len = 0;
                while !done.load(Mo::Acquire) || rounds < 3 {
                    let mut it = list.iter();
                    it.seek_to_first().unwrap();
                    let mut prev: Option<u64> = None;
                    let mut n = 0;
                    while it.valid() {
                        let key = u64::from_be_bytes(it.key().try_into().unwrap());
                        assert_eq!(it.value(), &(key ^ 0x5555).to_le_bytes());
                        assert!(prev.is_none_or(|p| p < key));
                        prev = Some(key);
                        n += 1;
                        it.next().unwrap();
                    }
                    assert!(n >= last_len);
                    last_len = n;
                    rounds += 1;
                }
            })
        })
        .collect();
    let mut rnd = Rng::new(77);
    for _ in 0..20_000 {
        let key = rnd.next_u64();
        let _ = list.insert(&k(key), &(key ^ 0x5555).to_le_bytes());
    }
    done.store(true, Mo::Release);
    for r in readers {
        r.join().unwrap();
    }
}

/// Keys whose abbreviations tie (equal first 16 bytes of the user key, or
/// equal user keys with other sequence numbers) still sort by the full
/// comparison, and the seeks that pass over them land right.
#[test]
fn keys_that_abbreviate_alike_sort_by_the_whole_key() {
    use crate::key::{append_internal_key, InternalKeyComparator, ValueType};
    let list = SkipList::new(InternalKeyComparator);
    let mut model = BTreeMap::new();
    let mut rng = Rng::new(7);
    for i in 0..2000u64 {
        let mut user = b"shared-prefix-16".to_vec();
        // Short keys, 16-byte ones and longer ones under one prefix.
        match rng.uniform(3) {
            0 => user.truncate(rng.uniform(17) as usize),
            1 => {}
            _ => user.extend_from_slice(&k(rng.uniform(50))),
        }
        let seq = 1 + i;
        let mut ikey = Vec::new();
        append_internal_key(&mut ikey, &user, seq, ValueType::Value);
        list.insert(&ikey, &seq.to_le_bytes()).unwrap();
        model.insert((user, core::cmp::Reverse(seq)), ikey);
    }
    let want: Vec<&Vec<u8>> = model.values().collect();
    let mut it = list.iter();
    it.seek_to_first().unwrap();
    for w in &want {
        assert!(it.valid());
        assert_eq!(it.key(), w.as_slice());
        it.next().unwrap();
    }
    assert!(!it.valid());
    for w in &want {
        it.seek(w).unwrap();
        assert_eq!(it.key(), w.as_slice());
        assert!(list.contains(w));
    }
}

#[test]
fn keys_of_256_mib_are_refused() {
    let list = SkipList::new(Bytewise);
    let big = alloc::vec![0u8; MAX_KEY_LEN];
    assert!(list.insert(&big, b"").is_err());
    assert!(list.insert(&big[..MAX_KEY_LEN - 1], b"v").is_ok());
}

/// Appends (each key past the last) and inserts elsewhere, interleaved:
/// the tails the appends link after stay right.
#[test]
fn appends_between_inserts_keep_the_order() {
    let list = SkipList::new(Bytewise);
    let mut model = BTreeMap::new();
    let mut rng = Rng::new(3);
    let mut next = 1_000_000u64;
    for _ in 0..5000 {
        let key = if rng.uniform(3) == 0 {
            rng.uniform(next)
        } else {
            next += 1 + rng.uniform(3);
            next
        };
        if model.insert(key, ()).is_none() {
            list.insert(&k(key), b"").unwrap();
        } else {
            assert!(list.insert(&k(key), b"").is_err());
        }
    }
    let mut it = list.iter();
    it.seek_to_first().unwrap();
    for key in model.keys() {
        assert_eq!(it.key(), &k(*key));
        it.next().unwrap();
    }
    assert!(!it.valid());
    for key in model.keys() {
        it.seek(&k(*key)).unwrap();
        assert_eq!(it.key(), &k(*key));
    }
}

/// Every level's links run in key order, and level 0 holds the model.
fn check_structure(list: &SkipList<Bytewise>, model: &BTreeMap<Vec<u8>, ()>) {
    for level in 0..list.max_height.load(Mo::Relaxed) {
        let mut x = list.next(list.head, level);
        let mut last: Option<&[u8]> = None;
        while !x.is_null() {
            assert!(list.height_of(x) > level);
            let key = list.key_of(x);
            assert!(last.is_none_or(|l| l < key), "level {level} out of order");
            last = Some(key);
            x = list.next(x, level);
        }
    }
    let mut it = list.iter();
    it.seek_to_first().unwrap();
    for key in model.keys() {
        assert_eq!(it.key(), key.as_slice());
        it.next().unwrap();
    }
    assert!(!it.valid());
}

/// Inserts beside the last one (a rewritten key's versions, each before
/// the one before it; ascending and descending runs) mixed with inserts
/// elsewhere and with duplicates of the keys around the splice: the
/// splice's shortcut builds the list the search would.
#[test]
fn inserts_beside_the_last_keep_every_level_in_order() {
    let list = SkipList::new(Bytewise);
    let mut model: BTreeMap<Vec<u8>, ()> = BTreeMap::new();
    let mut rng = Rng::new(11);
    // (hot key, version): versions sort newest first, as a memtable's do.
    let versioned = |hot: u64, version: u64| {
        let mut key = hot.to_be_bytes().to_vec();
        key.extend_from_slice(&(u64::MAX - version).to_be_bytes());
        key
    };
    let mut versions = [0u64; 4];
    let mut last: Vec<u8> = Vec::new();
    for round in 0..6000u64 {
        let key = match rng.uniform(8) {
            // The same hot key again and again, now and then another.
            0..=3 => {
                let hot = if rng.uniform(10) == 0 {
                    rng.uniform(4)
                } else {
                    0
                };
                versions[hot as usize] += 1;
                versioned(hot * 1000, versions[hot as usize])
            }
            // Right after or right before the last key.
            4 => {
                let mut k = last.clone();
                k.push(rng.uniform(256) as u8);
                k
            }
            5 => {
                let mut k = last.clone();
                match k.last_mut() {
                    Some(b) if *b > 0 => *b -= 1,
                    _ => k.clear(),
                }
                k
            }
            // A duplicate of the last key or of one beside it.
            6 => {
                let near: Vec<&Vec<u8>> = model
                    .range(last.clone()..)
                    .take(2)
                    .map(|(k, _)| k)
                    .chain(model.range(..last.clone()).next_back().map(|(k, _)| k))
                    .collect();
                match near.get(rng.uniform(near.len().max(1) as u64) as usize) {
                    Some(k) => (*k).clone(),
                    None => last.clone(),
                }
            }
            _ => versioned(rng.uniform(5000), round),
        };
        if model.insert(key.clone(), ()).is_none() {
            list.insert(&key, b"v").unwrap();
        } else {
            assert!(list.insert(&key, b"v").is_err(), "duplicate taken");
        }
        last = key;
        if round % 1000 == 999 {
            check_structure(&list, &model);
        }
    }
    check_structure(&list, &model);
}

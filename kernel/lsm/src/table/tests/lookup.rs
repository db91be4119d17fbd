//! Point lookups through a pinned index's fences and data blocks' hash
//! indexes.

use super::*;
use crate::table::block::BlockBuilder;

/// A file whose tables keep their index and filter blocks.
struct PinningFile {
    bytes: Vec<u8>,
    budget: Arc<PinBudget>,
}

impl ReadAt for PinningFile {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.bytes.read_at(offset, buf)
    }
    fn pin_budget(&self) -> Option<&Arc<PinBudget>> {
        Some(&self.budget)
    }
}

/// A pinned table searches its index by fences: every lookup answers as
/// the index block's own search does, where keys share long prefixes, tie
/// on their windows (differing only in trailing zeros or past the eighth
/// byte after the shared prefix), or carry several versions of one key.
#[test]
fn fenced_index_lookups_answer_as_the_index_block_does() {
    let cmp = InternalKeyComparator;
    let mut users: Vec<Vec<u8>> = (0..300)
        .map(|i| format!("{:016}", 5_000_000 + i * 11).into_bytes())
        .collect();
    for tail in [
        &b""[..],
        b"\0",
        b"\0\0",
        b"abcdefgh",
        b"abcdefghX",
        b"abcdefghY",
    ] {
        let mut k = b"0000000005zz".to_vec();
        k.extend_from_slice(tail);
        users.push(k);
    }
    users.sort();
    let mut e: Entries = Vec::new();
    for (i, u) in users.iter().enumerate() {
        // Three versions of every tenth key, newest first.
        let seqs: &[u64] = if i % 10 == 0 { &[30, 20, 10] } else { &[5] };
        for &s in seqs {
            e.push((
                internal_key(u, s, ValueType::Value),
                format!("v{i}.{s}").into_bytes(),
            ));
        }
    }
    // Tiny blocks (an index entry per one or two entries), and a filter
    // that lets most absent keys through to the index.
    let opts = TableOptions {
        block_size: 64,
        bloom_bits_per_key: 1,
        ..TableOptions::default()
    };
    let bytes = build(cmp, &e, opts);
    let file = PinningFile {
        bytes: bytes.clone(),
        budget: Arc::new(PinBudget::new(1 << 20)),
    };
    let t = Table::open(&file, 12, bytes.len() as u64, cmp).unwrap();
    let mut probes: Vec<Vec<u8>> = users.clone();
    probes.extend(users.iter().map(|u| [&u[..], b"\0"].concat()));
    probes.extend(users.iter().map(|u| u[..u.len() - 1].to_vec()));
    probes.extend([
        b"".to_vec(),
        b"0".to_vec(),
        b"1".to_vec(),
        b"0000000005zz\0\0\0".to_vec(),
    ]);
    for u in &probes {
        for seq in [0, 5, 15, 25, 40] {
            let probe = internal_key(u, seq, ValueType::Value);
            let want = t.get(&bytes, &probe).unwrap();
            assert_eq!(t.get(&file, &probe).unwrap(), want, "{u:?} at {seq}");
        }
    }
    let blocks = t.index_handle().size + t.filter_handle().size;
    assert!(t.pinned_bytes() as u64 > blocks, "the fences were built");
}

/// A data block's hash index sends a point lookup straight to its restart
/// interval: whatever the block's keys (several versions of one key,
/// versions across a restart, keys that collide in a bucket), the lookup
/// lands where a seek would whenever the block holds an entry of the
/// probe's user key at or past the probe, and otherwise on an entry of
/// another key past the probe, or past the end only if every entry is
/// before the probe.
#[test]
fn seek_for_get_answers_as_a_seek_for_every_key_it_holds() {
    let cmp = InternalKeyComparator;
    let mut rng = crate::random::Rng::new(11);
    for round in 0..60 {
        let n_users = 1 + rng.uniform(if round % 3 == 0 { 400 } else { 40 }) as usize;
        let mut users: Vec<Vec<u8>> = (0..n_users)
            .map(|_| format!("u{:05}", rng.uniform(2000)).into_bytes())
            .collect();
        users.sort();
        users.dedup();
        let mut b = BlockBuilder::with_hash_index(1 + rng.uniform(6) as usize);
        let mut entries = Vec::new();
        for u in &users {
            let versions = 1 + rng.uniform(4);
            for v in 0..versions {
                let k = internal_key(u, 100 - v * 10, ValueType::Value);
                b.add_hashed(&k, u, bloom::key_hash(u));
                entries.push(k);
            }
        }
        let block = Block::new(b.finish().into()).unwrap();
        assert_eq!(
            block.has_hash_index(),
            block.num_restarts() <= 254,
            "round {round}"
        );
        let mut probes: Vec<Vec<u8>> = users.clone();
        probes.extend((0..50).map(|_| format!("u{:05}", rng.uniform(2100)).into_bytes()));
        for u in &probes {
            for seq in [0, 75, 95, 200] {
                let target = internal_key(u, seq, ValueType::Value);
                let mut exact = block.iter(cmp);
                exact.seek(&target).unwrap();
                let mut fast = block.iter(cmp);
                fast.seek_for_get(&target, bloom::key_hash(u)).unwrap();
                let holds = exact.valid() && crate::key::user_key(exact.key()) == &u[..];
                if holds {
                    assert_eq!(fast.key(), exact.key(), "round {round} {u:?}@{seq}");
                    assert_eq!(fast.value(), exact.value());
                } else if fast.valid() {
                    assert!(cmp.compare(fast.key(), &target).is_ge());
                    assert_ne!(crate::key::user_key(fast.key()), &u[..]);
                } else {
                    assert!(
                        !exact.valid(),
                        "round {round} {u:?}@{seq}: ran past an entry"
                    );
                }
            }
        }
    }
}

/// Old blocks (no hash index) and tables built without one read as before,
/// and a damaged hash index is refused, not followed out of the block.
#[test]
fn blocks_without_a_hash_index_and_damaged_ones() {
    let e = entries(500, 20);
    let opts = TableOptions {
        data_block_hash_index: false,
        ..TableOptions::default()
    };
    let plain = build(Bytewise, &e, opts);
    let hashed = build(Bytewise, &e, TableOptions::default());
    assert!(hashed.len() > plain.len());
    for bytes in [&plain, &hashed] {
        let t = Table::open(bytes, 12, bytes.len() as u64, Bytewise).unwrap();
        assert_eq!(scan(&t, bytes).unwrap(), e);
        let mut bufs = LookupBufs::default();
        for (k, v) in &e {
            let probe = Probe::new(&Bytewise, k);
            let got = t.get_probe(bytes, &probe, &mut bufs, |k, v, _| (k.to_vec(), v.to_vec()));
            assert_eq!(got.unwrap(), Some((k.clone(), v.clone())));
        }
    }
    // A bucket naming a restart interval the block does not have.
    let mut b = BlockBuilder::with_hash_index(2);
    for i in 0..10u32 {
        let k = format!("k{i}").into_bytes();
        b.add_hashed(&k, b"v", bloom::key_hash(&k));
    }
    let mut raw = b.finish();
    let n = raw.len();
    let buckets = u16::from_le_bytes([raw[n - 6], raw[n - 5]]) as usize;
    raw[n - 6 - buckets..n - 6].fill(200);
    let block = Block::new(raw.into()).unwrap();
    let mut it = block.iter(Bytewise);
    assert!(it.seek_for_get(b"k3", bloom::key_hash(b"k3")).is_err());
    assert!(!it.valid());
    // A bucket count running out of the block.
    let mut b = BlockBuilder::with_hash_index(2);
    b.add_hashed(b"a", b"v", 1);
    let mut raw = b.finish();
    let n = raw.len();
    raw[n - 6..n - 4].copy_from_slice(&60000u16.to_le_bytes());
    assert!(Block::new(raw.into()).is_err());
}

/// A table's pinned filter answers a lookup's first question: nothing
/// before the table pins its blocks, then what the filter says; a probe
/// past the filter finds what a probe that asks it finds, for every key
/// the filter admits (keys it rules out are never asked past it).
#[test]
fn the_pinned_filter_is_asked_once_per_table() {
    let cmp = InternalKeyComparator;
    let e: Entries = (0..400u32)
        .map(|i| {
            let u = format!("{:016}", i * 2).into_bytes();
            (internal_key(&u, 7, ValueType::Value), u)
        })
        .collect();
    let bytes = build(cmp, &e, TableOptions::default());
    let file = PinningFile {
        bytes: bytes.clone(),
        budget: Arc::new(PinBudget::new(1 << 20)),
    };
    let t = Table::open(&file, 12, bytes.len() as u64, cmp).unwrap();
    let first = internal_key(b"0000000000000000", 9, ValueType::FOR_SEEK);
    assert_eq!(t.pinned_filter(&Probe::new(&cmp, &first)), None);
    let mut bufs = LookupBufs::default();
    let (mut admitted, mut ruled_out) = (0, 0);
    for i in 0..800u32 {
        let u = format!("{:016}", i).into_bytes();
        let key = internal_key(&u, 9, ValueType::FOR_SEEK);
        let probe = Probe::new(&cmp, &key);
        let get = |p: &Probe<'_>, bufs: &mut LookupBufs| {
            t.get_probe(&file, p, bufs, |k, v, _| (k.to_vec(), v.to_vec()))
                .unwrap()
                .filter(|(k, _)| crate::key::user_key(k) == &u[..])
        };
        let asked = get(&probe, &mut bufs);
        // The lookup above pinned the blocks.
        match t.pinned_filter(&probe) {
            Some(true) => {
                admitted += 1;
                assert_eq!(get(&probe.past_filter(), &mut bufs), asked, "{i}");
            }
            Some(false) => {
                ruled_out += 1;
                assert_eq!(
                    asked, None,
                    "{i}: the filter ruled out a key the table holds"
                );
            }
            None => panic!("{i}: no pinned filter after a pinned lookup"),
        }
        assert_eq!(asked.is_some(), i % 2 == 0, "{i}");
    }
    assert!(admitted >= 400, "every key the table holds is admitted");
    assert!(
        ruled_out > 300,
        "the filter rules most absent keys out: {ruled_out}"
    );
}

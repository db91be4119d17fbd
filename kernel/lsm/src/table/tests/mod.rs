extern crate std;

use super::*;
use crate::comparator::{Bytewise, Comparator};
use crate::error::Error;
use crate::iter::KvIter;
use crate::key::{internal_key, InternalKeyComparator, ValueType};
use alloc::format;
use alloc::vec::Vec;

type Entries = Vec<(Vec<u8>, Vec<u8>)>;

fn entries(n: usize, value_len: usize) -> Entries {
    (0..n)
        .map(|i| {
            let k = format!("key{:08}", i * 3).into_bytes();
            let v: Vec<u8> = (0..value_len).map(|j| (i + j) as u8).collect();
            (k, v)
        })
        .collect()
}

fn build<C: Comparator>(cmp: C, e: &Entries, opts: TableOptions) -> Vec<u8> {
    build_id(cmp, e, opts, 12)
}

fn build_id<C: Comparator>(cmp: C, e: &Entries, opts: TableOptions, id: u64) -> Vec<u8> {
    let mut b = TableBuilder::new(cmp, opts, id);
    for (k, v) in e {
        b.add(k, v).unwrap();
    }
    assert_eq!(b.entries(), e.len() as u64);
    b.finish().unwrap()
}

fn scan<C: Comparator>(t: &Table<C>, file: &Vec<u8>) -> Result<Entries> {
    let mut it = t.iter(file);
    it.seek_to_first()?;
    let mut out = Vec::new();
    while it.valid() {
        out.push((it.key().to_vec(), it.value().to_vec()));
        it.next()?;
    }
    Ok(out)
}

#[test]
fn empty_table_round_trip() {
    let bytes = build(Bytewise, &Vec::new(), TableOptions::default());
    let t = Table::open(&bytes, 12, bytes.len() as u64, Bytewise).unwrap();
    assert!(scan(&t, &bytes).unwrap().is_empty());
    assert_eq!(t.get(&bytes, b"a").unwrap(), None);
}

#[test]
fn round_trip_scan_seek_get() {
    for (n, vlen, block_size) in [
        (1, 10, 4096),
        (100, 10, 4096),
        (2000, 100, 4096),
        (500, 3, 64),
    ] {
        let e = entries(n, vlen);
        let opts = TableOptions {
            block_size,
            ..TableOptions::default()
        };
        let bytes = build(Bytewise, &e, opts);
        let t = Table::open(&bytes, 12, bytes.len() as u64, Bytewise).unwrap();
        assert_eq!(scan(&t, &bytes).unwrap(), e);
        let mut it = t.iter(&bytes);
        for (i, (k, v)) in e.iter().enumerate() {
            assert_eq!(t.get(&bytes, k).unwrap(), Some((k.clone(), v.clone())));
            // Between two keys: the next one.
            let mid = format!("key{:08}", i * 3 + 1).into_bytes();
            it.seek(&mid).unwrap();
            match e.get(i + 1) {
                Some((k2, _)) => assert_eq!(it.key(), &k2[..]),
                None => assert!(!it.valid()),
            }
        }
        // Keys never added are mostly kept out by the filter.
        let misses = (0..1000)
            .filter(|i| {
                t.may_contain(&bytes, format!("nokey{i}").as_bytes())
                    .unwrap()
            })
            .count();
        assert!(misses < 50, "{misses} false positives of 1000");
    }
}

#[test]
fn internal_keys_filter_on_user_key() {
    let cmp = InternalKeyComparator;
    let mut e = Vec::new();
    for i in 0..300u64 {
        let uk = format!("user{i:05}").into_bytes();
        for s in [3u64, 2, 1] {
            e.push((
                internal_key(&uk, i * 10 + s, ValueType::Value),
                s.to_le_bytes().to_vec(),
            ));
        }
    }
    let bytes = build(cmp, &e, TableOptions::default());
    let t = Table::open(&bytes, 12, bytes.len() as u64, cmp).unwrap();
    assert_eq!(scan(&t, &bytes).unwrap(), e);
    // A lookup at a sequence between versions finds the newest visible one.
    let probe = internal_key(b"user00042", 422, ValueType::Value);
    let (k, _) = t.get(&bytes, &probe).unwrap().unwrap();
    assert_eq!(k, internal_key(b"user00042", 422, ValueType::Value));
    let probe = internal_key(b"user00042", 421, ValueType::Value);
    let (k, _) = t.get(&bytes, &probe).unwrap().unwrap();
    assert_eq!(k, internal_key(b"user00042", 421, ValueType::Value));
    assert!(t
        .may_contain(&bytes, &internal_key(b"user00299", 1, ValueType::Value))
        .unwrap());
}

/// The filter holds each user key once, whatever versions it has and
/// wherever a data block ends among them: the same filter as one built
/// from the distinct user keys.
#[test]
fn the_filter_is_built_from_each_user_key_once() {
    let cmp = InternalKeyComparator;
    let mut e = Vec::new();
    let mut users = Vec::new();
    for i in 0..200u64 {
        let uk = format!("u{:04}", i * 7 % 1000).into_bytes();
        if users.last() == Some(&uk) {
            continue;
        }
        // 1 to 4 versions, 60-byte values: blocks of 256 bytes end
        // between versions of one key as often as between keys.
        for s in (1..=(i % 4 + 1)).rev() {
            e.push((
                internal_key(&uk, i * 10 + s, ValueType::Value),
                [7u8; 60].to_vec(),
            ));
        }
        users.push(uk);
    }
    e.sort_by(|a, b| cmp.compare(&a.0, &b.0));
    users.sort();
    let opts = TableOptions {
        block_size: 256,
        ..TableOptions::default()
    };
    let bytes = build(cmp, &e, opts);
    let t = Table::open(&bytes, 12, bytes.len() as u64, cmp).unwrap();
    let f = t.filter_handle();
    let filter = &bytes[f.offset as usize..(f.offset + f.size) as usize];
    let keys: Vec<&[u8]> = users.iter().map(|u| &u[..]).collect();
    assert_eq!(filter, &bloom::build(&keys, opts.bloom_bits_per_key)[..]);
}

#[test]
fn keys_out_of_order_are_refused() {
    let mut b = TableBuilder::new(Bytewise, TableOptions::default(), 1);
    b.add(b"b", b"1").unwrap();
    assert!(matches!(b.add(b"a", b"2"), Err(Error::InvalidArgument(_))));
    assert!(matches!(b.add(b"b", b"2"), Err(Error::InvalidArgument(_))));
}

#[test]
fn truncated_tables_are_refused() {
    let e = entries(50, 20);
    let bytes = build(
        Bytewise,
        &e,
        TableOptions {
            block_size: 256,
            ..TableOptions::default()
        },
    );
    for cut in 0..bytes.len() {
        let short = bytes[..cut].to_vec();
        let r = Table::open(&short, 3, cut as u64, Bytewise);
        match r {
            Err(Error::Corruption(c)) => assert!(c.location.starts_with("table 3"), "{c}"),
            other => panic!("cut {cut}: {other:?}"),
        }
    }
}

/// Flips every bit of a small table: opening or a full scan and lookup must
/// fail with a corruption error naming the table; never panic, never return
/// different data.
#[test]
fn bit_flip_at_every_position_is_detected() {
    let e = entries(40, 8);
    let opts = TableOptions {
        block_size: 128,
        ..TableOptions::default()
    };
    let bytes = build(Bytewise, &e, opts);
    let mut damaged = bytes.clone();
    for byte in 0..bytes.len() {
        for bit in 0..8 {
            damaged[byte] ^= 1 << bit;
            let result = Table::open(&damaged, 12, bytes.len() as u64, Bytewise).and_then(|t| {
                let all = scan(&t, &damaged)?;
                assert_eq!(all, e, "flip {byte}.{bit} returned wrong data");
                for (k, _) in &e {
                    t.get(&damaged, k)?;
                }
                Ok(())
            });
            match result {
                Err(Error::Corruption(c)) => {
                    assert!(c.location.starts_with("table 12"), "{c}");
                }
                other => panic!("flip {byte}.{bit} not detected: {other:?}"),
            }
            damaged[byte] ^= 1 << bit;
        }
    }
}

#[test]
fn error_messages_name_the_damage() {
    let e = entries(200, 30);
    let bytes = build(Bytewise, &e, TableOptions::default());
    let mut damaged = bytes.clone();
    damaged[4096 + 10] ^= 1;
    let t = Table::open(&damaged, 12, bytes.len() as u64, Bytewise).unwrap();
    let err = scan(&t, &damaged).unwrap_err();
    let msg = format!("{err}");
    assert!(
        msg.starts_with("corruption: table 12 block at offset ")
            && msg.ends_with(": checksum mismatch"),
        "{msg}"
    );
    let mut damaged = bytes.clone();
    let n = damaged.len();
    damaged[n - 1] ^= 1;
    let err = Table::open(&damaged, 12, n as u64, Bytewise).unwrap_err();
    assert_eq!(
        format!("{err}"),
        "corruption: table 12 footer: bad magic number"
    );
}

#[test]
fn a_table_in_the_wrong_place_is_refused() {
    let bytes = build_id(Bytewise, &entries(10, 5), TableOptions::default(), 7);
    let err = Table::open(&bytes, 8, bytes.len() as u64, Bytewise).unwrap_err();
    assert!(
        format!("{err}").starts_with("corruption: table 8 footer: malformed table id"),
        "{err}"
    );
}

/// Counts the reads that reach the file.
struct CountingFile {
    bytes: Vec<u8>,
    reads: core::cell::Cell<usize>,
}

impl ReadAt for CountingFile {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.reads.set(self.reads.get() + 1);
        self.bytes.read_at(offset, buf)
    }
}

/// A scan reads ahead: a few large reads instead of one per block, and every
/// block is still checked, including one in the middle of a window.
#[test]
fn scans_read_ahead_and_still_check_every_block() {
    let e = entries(20_000, 100);
    let bytes = build(Bytewise, &e, TableOptions::default());
    let blocks = bytes.len() / 4096;
    assert!(blocks > 300, "{blocks} blocks");
    let file = CountingFile {
        bytes: bytes.clone(),
        reads: core::cell::Cell::new(0),
    };
    let t = Table::open(&file, 12, bytes.len() as u64, Bytewise).unwrap();
    let mut it = t.iter(&file);
    it.seek_to_first().unwrap();
    let mut n = 0;
    while it.valid() {
        assert_eq!((it.key(), it.value()), (&e[n].0[..], &e[n].1[..]));
        n += 1;
        it.next().unwrap();
    }
    assert_eq!(n, e.len());
    let reads = file.reads.get();
    assert!(reads < blocks / 10, "{reads} reads for {blocks} blocks");

    // A flipped byte in the middle of the table: the scan stops there with
    // an error naming the block, having returned only good entries.
    let mut bad = bytes.clone();
    let at = bytes.len() / 2;
    bad[at] ^= 0x40;
    let t = Table::open(&bad, 12, bad.len() as u64, Bytewise).unwrap();
    let mut it = t.iter(&bad);
    let mut seen = 0;
    let r = (|| -> Result<()> {
        it.seek_to_first()?;
        while it.valid() {
            assert_eq!((it.key(), it.value()), (&e[seen].0[..], &e[seen].1[..]));
            seen += 1;
            it.next()?;
        }
        Ok(())
    })();
    let err = r.expect_err("the damaged block must be found");
    let err = format!("{err}");
    assert!(err.contains("block at offset"), "{err}");
    assert!(
        seen > 1000 && seen < e.len(),
        "{seen} entries before the damage"
    );
}

mod block;
mod lookup;

//! Blocks: entries, restarts, seeks, and damage.

use crate::comparator::Bytewise;
use crate::iter::KvIter;
use crate::table::block::*;
use alloc::format;
use alloc::vec::Vec;

type Entries = Vec<(Vec<u8>, Vec<u8>)>;

fn build(n: usize) -> (Entries, Block) {
    let (entries, raw) = raw(n, false);
    (entries, Block::new(raw.into()).unwrap())
}

/// A block of `n` entries' bytes, with a hash index if `hashed`.
fn raw(n: usize, hashed: bool) -> (Entries, Vec<u8>) {
    let entries: Entries = (0..n)
        .map(|i| {
            (
                format!("key{:06}", i * 2).into_bytes(),
                format!("value{i}").into_bytes(),
            )
        })
        .collect();
    let mut b = if hashed {
        BlockBuilder::with_hash_index(16)
    } else {
        BlockBuilder::new(16)
    };
    for (k, v) in &entries {
        b.add_hashed(k, v, crate::table::bloom::key_hash(k));
    }
    (entries, b.finish())
}

#[test]
fn empty_block() {
    let mut b = BlockBuilder::new(16);
    assert!(b.is_empty());
    let block = Block::new(b.finish().into()).unwrap();
    let mut it = block.iter(Bytewise);
    it.seek_to_first().unwrap();
    assert!(!it.valid());
    it.seek(b"a").unwrap();
    assert!(!it.valid());
}

#[test]
fn iterate_and_seek() {
    for n in [1, 2, 15, 16, 17, 100, 257] {
        let (entries, block) = build(n);
        let mut it = block.iter(Bytewise);
        it.seek_to_first().unwrap();
        for (k, v) in &entries {
            assert!(it.valid());
            assert_eq!((it.key(), it.value()), (&k[..], &v[..]));
            it.next().unwrap();
        }
        assert!(!it.valid());
        for (i, (k, v)) in entries.iter().enumerate() {
            it.seek(k).unwrap();
            assert_eq!((it.key(), it.value()), (&k[..], &v[..]));
            // A key between entries finds the next one.
            let between = format!("key{:06}", i * 2 + 1).into_bytes();
            it.seek(&between).unwrap();
            match entries.get(i + 1) {
                Some((k2, _)) => assert_eq!(it.key(), &k2[..]),
                None => assert!(!it.valid()),
            }
        }
        it.seek(b"a").unwrap();
        assert_eq!(it.key(), &entries[0].0[..]);
        it.seek(b"z").unwrap();
        assert!(!it.valid());
    }
}

#[test]
fn prefix_compression_shrinks_the_block() {
    let (entries, block) = build(160);
    let raw: usize = entries.iter().map(|(k, v)| k.len() + v.len()).sum();
    assert!(block.len() < raw, "{} >= {raw}", block.len());
}

#[test]
fn every_byte_garbled_errors_or_decodes_without_panic() {
    for hashed in [false, true] {
        garble(&raw(40, hashed).1);
    }
}

fn garble(bytes: &[u8]) {
    let probe = b"key000040";
    let hash = crate::table::bloom::key_hash(probe);
    for i in 0..bytes.len() {
        for x in [0x01u8, 0x80, 0xff] {
            let mut b = bytes.to_vec();
            b[i] ^= x;
            // Without the checksum (the table layer's job), damage must
            // still never panic or loop.
            if let Ok(block) = Block::new(b.into()) {
                let mut it = block.iter(Bytewise);
                let mut steps = 0;
                if it.seek_to_first().is_ok() {
                    while it.valid() && it.next().is_ok() {
                        steps += 1;
                        assert!(steps <= 41);
                    }
                }
                let _ = it.seek(probe);
                let _ = it.seek_for_get(probe, hash);
            }
        }
    }
    for cut in 0..bytes.len() {
        if let Ok(block) = Block::new(bytes[..cut].to_vec().into()) {
            let mut it = block.iter(Bytewise);
            let _ = it.seek_to_first();
            let _ = it.seek(b"key000010");
            let _ = it.seek_for_get(probe, hash);
        }
    }
}

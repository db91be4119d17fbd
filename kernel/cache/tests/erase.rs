//! Blocks of deleted tables leave the cache: `erase_tables` drops every
//! block of the tables it is given, under every policy and across shards,
//! wherever a block sits (inserted, offered, evicted to a ghost list and
//! back), and keeps every other table's.

use std::sync::Arc;

use cache::{Policy, StoreCache};
use lsm::db::{BlockCache, BlockKind};

/// A compaction's inputs go in one pass: every block of the listed tables,
/// none of the others.
#[test]
fn erase_tables_drops_every_listed_table_and_keeps_the_rest() {
    let c = StoreCache::new(Policy::Lru, 1 << 20);
    for table in 1..=6u64 {
        for offset in 0..4u64 {
            BlockCache::insert(&c, table, offset * 4096, Arc::from(vec![table as u8; 100]));
        }
    }
    c.erase_tables(&[2, 4, 5]);
    for table in 1..=6u64 {
        for offset in 0..4u64 {
            let cached = BlockCache::get(&c, table, offset * 4096).is_some();
            assert_eq!(
                cached,
                ![2, 4, 5].contains(&table),
                "table {table} offset {offset}"
            );
        }
    }
    assert_eq!(c.stats().entries, 12);
}

/// Tables of many blocks in each shard (more than one hold of a shard's
/// lock erases) go whole, and their neighbours in table order stay.
#[test]
fn erase_tables_drops_large_tables_whole_across_shards() {
    let c = StoreCache::sharded(
        Policy::Lru,
        64 << 20,
        cache::AcKeyConfig::default(),
        cache::EReads::default(),
        4,
    );
    for table in 10..=13u64 {
        for offset in 0..500u64 {
            BlockCache::insert(&c, table, offset * 4096, Arc::from(vec![table as u8; 100]));
        }
    }
    assert_eq!(c.stats().entries, 2000);
    c.erase_tables(&[11, 12]);
    for table in 10..=13u64 {
        let kept = (0..500u64)
            .filter(|o| BlockCache::get(&c, table, o * 4096).is_some())
            .count();
        let want = if [11, 12].contains(&table) { 0 } else { 500 };
        assert_eq!(kept, want, "table {table}");
    }
    assert_eq!(c.stats().entries, 1000);
}

/// The erase finds a table's blocks by table, under every policy and
/// across shards, whether they came in on a miss or were offered by a
/// write, inserted again, or evicted before.
#[test]
fn erase_tables_finds_blocks_inserted_offered_evicted_and_again() {
    for policy in [Policy::Lru, Policy::Arc, Policy::AcKey] {
        let c = StoreCache::sharded(
            policy,
            256 << 10,
            cache::AcKeyConfig::default(),
            cache::EReads::default(),
            4,
        );
        let block = |t: u64| -> Arc<[u8]> { Arc::from(vec![t as u8; 1000]) };
        for table in 1..=6u64 {
            for offset in 0..2u64 {
                c.offer_block(table, offset * 4096, BlockKind::Data, block(table));
            }
        }
        for offset in [2u64, 3, 2, 3] {
            for table in 1..=6u64 {
                BlockCache::insert(&c, table, offset * 4096, block(table));
            }
        }
        c.erase_tables(&[2, 4]);
        let mut kept = 0;
        for table in 1..=6u64 {
            for offset in 0..4u64 {
                let cached = BlockCache::get(&c, table, offset * 4096).is_some();
                assert!(
                    !(cached && [2, 4].contains(&table)),
                    "{policy:?} table {table}"
                );
                kept += u64::from(cached);
            }
        }
        assert_eq!(kept, 16, "{policy:?}: the other tables' blocks stay");
        // Far more than fits: most of table 7's blocks are evicted again
        // and again before it goes.
        for offset in 0..2000u64 {
            BlockCache::insert(&c, 7, offset * 4096, block(7));
        }
        c.erase_tables(&[7]);
        assert!(
            (0..2000u64).all(|o| BlockCache::get(&c, 7, o * 4096).is_none()),
            "{policy:?}"
        );
    }
}

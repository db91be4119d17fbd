//! Behaviour of each policy on small, hand-checked cases; AC-Key's adaptive
//! split (its ghost hits and ghost tracking) is in tests/ackey_split.rs.

use cache::{
    AcKey, AcKeyConfig, AnyCache, Cache, CacheError, GhostHit, LruCache, NoCache, Part, PointHit,
    Policy, Priority, ReadCache,
};

type Ac = AcKey<u64, u64, u64, u64, u64>;

#[test]
fn policy_names_round_trip() {
    for p in Policy::ALL {
        assert_eq!(p.to_string().parse::<Policy>(), Ok(p));
        assert_eq!(p.name().to_uppercase().parse::<Policy>(), Ok(p));
    }
    assert_eq!("ac-key".parse::<Policy>(), Ok(Policy::AcKey));
    let err = "mru".parse::<Policy>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown cache policy `mru` (expected none, lru, arc or ackey)"
    );
}

#[test]
fn too_large_is_refused_and_drops_the_stale_entry() {
    // NoCache admits nothing, so it has nothing to refuse.
    for policy in [Policy::Lru, Policy::Arc, Policy::AcKey] {
        let mut c: AnyCache<u64, u64> = AnyCache::new(policy, 100);
        c.insert(1, 10, 50).unwrap();
        let err = c.insert(1, 11, 101).unwrap_err();
        assert_eq!(
            err,
            CacheError::TooLarge {
                charge: 101,
                capacity: 100
            }
        );
        assert_eq!(
            err.to_string(),
            "entry of 101 bytes does not fit in a cache of 100 bytes"
        );
        assert!(!c.contains(&1), "{policy} kept a stale value");
    }
}

#[test]
fn no_cache_only_counts() {
    let mut c = NoCache::new(1000);
    assert!(!Cache::<u64, u64>::access(&mut c, 1, 1, 1));
    assert!(!Cache::<u64, u64>::access(&mut c, 1, 1, 1));
    let s = Cache::<u64, u64>::stats(&c);
    assert_eq!(
        (s.hits, s.misses, s.used_bytes, s.capacity_bytes),
        (0, 2, 0, 1000)
    );
}

#[test]
fn lru_evicts_least_recent_first_and_counts() {
    let mut c: LruCache<u64, u64> = LruCache::new(300);
    for k in 0..3 {
        c.insert(k, k, 100).unwrap();
    }
    assert_eq!(c.get(&0), Some(&0)); // 0 is now the most recent
    c.insert(3, 3, 100).unwrap(); // evicts 1
    assert!(c.contains(&0) && !c.contains(&1) && c.contains(&2) && c.contains(&3));
    c.insert(4, 4, 200).unwrap(); // evicts 2 and 0
    assert!(!c.contains(&2) && !c.contains(&0) && c.contains(&3));
    let s = c.stats();
    assert_eq!((s.hits, s.misses, s.inserts, s.evictions), (1, 0, 5, 3));
    assert_eq!((s.used_bytes, s.entries, s.disk_reads_saved), (300, 2, 1));
    c.resize(150);
    // 3 goes first (least recent), and 4 alone is still over 150.
    assert!(!c.contains(&3) && !c.contains(&4));
    assert_eq!(c.stats().used_bytes, 0);
    c.reset_stats();
    assert_eq!(c.stats().hits, 0);
}

#[test]
fn lru_overwrite_is_not_an_eviction() {
    let mut c: LruCache<u64, u64> = LruCache::new(300);
    c.insert(1, 1, 100).unwrap();
    c.insert(1, 2, 250).unwrap();
    assert_eq!(c.get(&1), Some(&2));
    let s = c.stats();
    assert_eq!((s.used_bytes, s.evictions, s.entries), (250, 0, 1));
}

#[test]
fn arc_ghost_hit_on_b1_grows_t1_target() {
    let mut c: cache::ArcCache<u64, ()> = cache::ArcCache::new(4);
    for k in 0..4 {
        c.access(k, (), 1);
    }
    c.access(0, (), 1); // 0 to T2
    c.access(10, (), 1); // T1 over p = 0: 1 goes to B1
    assert_eq!(c.target_t1(), 0.0);
    assert!(!c.access(1, (), 1), "a ghost is not a hit");
    assert_eq!(c.target_t1(), 1.0);
    assert!(c.contains(&1));
    let s = Cache::stats(&c);
    assert_eq!((s.entries, s.used_bytes), (4, 4));
}

#[test]
fn ackey_places_small_values_in_kv_and_large_in_kp() {
    let mut ac = Ac::new(10_000, AcKeyConfig::default());
    assert_eq!(ac.insert_point(1, 100, 16, 7, 24, 3), Ok(Part::Kv));
    assert_eq!(ac.insert_point(2, 200, 500, 8, 24, 3), Ok(Part::Kp));
    assert_eq!(ac.get_point(&1), PointHit::Kv(&100));
    assert_eq!(ac.get_point(&2), PointHit::Kp(&8));
    assert_eq!(ac.get_point(&3), PointHit::Miss);
    let st = ac.ac_stats();
    // KV saves all 3 reads; KP still reads the data block.
    assert_eq!(st.kv.stats.disk_reads_saved, 3);
    assert_eq!(st.kp.stats.disk_reads_saved, 2);
    assert_eq!(st.total.hits, 2);
    assert_eq!(st.total.misses, 1);
    assert_eq!(st.total.used_bytes, 16 + 24);

    // The second reference promotes KP to KV.
    ac.promote(&2, 200, 500).unwrap();
    assert_eq!(ac.point_part_of(&2), Some(Part::Kv));
    assert_eq!(ac.get_point(&2), PointHit::Kv(&200));
    assert_eq!(ac.ac_stats().kv.stats.disk_reads_saved, 6);
}

#[test]
fn ackey_invalidation_and_compaction_make_no_ghosts() {
    let mut ac = Ac::new(10_000, AcKeyConfig::default());
    for k in 0..10 {
        ac.insert_point(k, k, 500, k + 100, 24, 4).unwrap();
    }
    ac.retain_kp(|k, p| {
        *p += 1000; // re-aimed at the compaction's output
        k % 2 == 0
    });
    assert_eq!(ac.get_point(&4), PointHit::Kp(&1104));
    assert_eq!(ac.get_point(&5), PointHit::Miss);
    ac.invalidate(&4);
    assert_eq!(ac.point_part_of(&4), None);
    ac.insert_block(9, 9, 100).unwrap();
    ac.retain_blocks(|&h| h != 9);
    assert!(!ac.contains_block(&9));
    let st = ac.ac_stats();
    assert_eq!(st.total.ghost_entries, 0);
    assert_eq!(st.total.evictions, 0);
}

#[test]
fn elru_spares_a_costly_entry_at_the_lru_end() {
    let mut ac = Ac::new(100_000, AcKeyConfig::default());
    // Key 0 is least recent but saves 10 reads per 100 bytes; the others one.
    ac.insert_point(0, 0, 100, 0, 200, 10).unwrap();
    for k in 1..16 {
        ac.insert_point(k, k, 100, 0, 200, 1).unwrap();
    }
    ac.set_capacity(1_550);
    // Capacity fell below 1 600 bytes: exactly one of the 16 entries goes.
    assert_eq!(ac.ac_stats().total.entries, 15);
    assert_eq!(
        ac.point_part_of(&0),
        Some(Part::Kv),
        "the costly entry was evicted"
    );
    assert_eq!(
        ac.point_part_of(&1),
        None,
        "E-LRU should take the cheap LRU-most one"
    );
}

#[test]
fn elru_with_equal_efficiency_is_lru() {
    let mut ac = Ac::new(100_000, AcKeyConfig::default());
    for k in 0..16 {
        ac.insert_point(k, k, 100, 0, 200, 2).unwrap();
    }
    ac.set_capacity(1_450);
    assert_eq!(ac.point_part_of(&0), None);
    assert_eq!(ac.point_part_of(&1), None);
    assert_eq!(ac.point_part_of(&2), Some(Part::Kv));
}

#[test]
fn data_blocks_give_way_before_index_and_filter_blocks() {
    let mut ac = Ac::new(10_000, AcKeyConfig::default());
    for h in 0..4 {
        ac.insert_block_at(h, h, 2_000, Priority::High).unwrap();
    }
    // Older than every data block below, and never touched again: LRU
    // would take them first.
    for h in 100..200 {
        ac.insert_block(h, h, 500).unwrap();
        assert!((0..4).all(|m| ac.contains_block(&m)), "at {h}");
    }
    assert!(ac.ac_stats().block.stats.evictions > 0);
    // With only high-priority blocks left, they give way to each other.
    for h in 10..14 {
        ac.insert_block_at(h, h, 2_000, Priority::High).unwrap();
    }
    assert!((10..14).all(|m| ac.contains_block(&m)));
    assert!((0..4).filter(|m| ac.contains_block(m)).count() < 4);
    assert!(ac.ac_stats().total.used_bytes <= 10_000);
    // Only AC-Key orders blocks so: LRU stays the plain baseline.
    let mut rc: ReadCache<u64, u64, u64, u64, u64> = ReadCache::new(Policy::Lru, 2_000);
    rc.insert_block_at(1, 1, 1_000, Priority::High).unwrap();
    rc.insert_block(2, 2, 1_000).unwrap();
    rc.insert_block(3, 3, 1_000).unwrap();
    assert!(rc.get_block(&1).is_none());
}

#[test]
fn ackey_through_the_generic_interface_is_a_block_cache() {
    let mut c: AnyCache<u64, u64> = AnyCache::new(Policy::AcKey, 300);
    assert_eq!(c.policy(), Policy::AcKey);
    for k in 0..3 {
        assert!(!c.access(k, k, 100));
    }
    assert!(c.access(0, 0, 100));
    assert!(!c.access(3, 3, 100)); // evicts 1, the least recent
    assert!(!c.contains(&1) && c.contains(&0));
    assert_eq!(c.stats().used_bytes, 300);
    c.clear();
    assert_eq!(c.stats().used_bytes, 0);
}

#[test]
fn retain_drops_rejected_blocks_under_every_policy() {
    for policy in Policy::ALL {
        let mut c: AnyCache<u64, u64> = AnyCache::new(policy, 1000);
        for k in 0..10 {
            c.access(k, k, 10);
        }
        c.retain(&mut |k| k % 3 != 0);
        for k in 0..10 {
            assert!(!(c.contains(&k) && k % 3 == 0), "{policy} kept {k}");
        }
        if policy != Policy::None {
            assert_eq!(c.stats().entries, 6, "{policy}");
            assert_eq!(c.stats().used_bytes, 60, "{policy}");
            assert_eq!(c.stats().evictions, 0, "{policy}");
        }
    }
}

#[test]
fn read_cache_switches_policy_and_keeps_its_budget() {
    let mut rc: ReadCache<u64, u64, u64, u64, u64> = ReadCache::new(Policy::Arc, 1000);
    assert_eq!(rc.policy(), Policy::Arc);
    // Without AC-Key, point calls are silent misses and no-ops.
    assert_eq!(rc.get_point(&1), PointHit::Miss);
    assert_eq!(rc.insert_point(1, 1, 10, 1, 24, 3), Ok(None));
    assert_eq!(rc.stats().misses, 0);
    assert!(rc.get_block(&7).is_none());
    assert_eq!(rc.insert_block(7, 70, 100), Ok(GhostHit::None));
    assert_eq!(rc.get_block(&7), Some(&70));
    assert!(rc.ac_stats().is_none());

    rc.set_policy(Policy::AcKey);
    assert_eq!(rc.policy(), Policy::AcKey);
    assert_eq!(rc.capacity_bytes(), 1000);
    assert!(rc.get_block(&7).is_none(), "a new policy starts cold");
    assert_eq!(rc.insert_point(1, 11, 10, 5, 24, 3), Ok(Some(Part::Kv)));
    assert_eq!(rc.get_point(&1), PointHit::Kv(&11));
    rc.invalidate(&1);
    assert_eq!(rc.get_point(&1), PointHit::Miss);
    rc.insert_block(8, 80, 600).unwrap();
    rc.insert_block(9, 90, 600).unwrap();
    assert!(rc.stats().used_bytes <= 1000);
    rc.retain_blocks(|_| false);
    assert_eq!(rc.stats().used_bytes, 0);
    rc.resize(10);
    assert_eq!(rc.capacity_bytes(), 10);
    let st = rc.ac_stats().unwrap();
    assert_eq!(st.targets.point + st.targets.block, 10);
}

#[test]
fn a_peek_finds_without_counting_or_touching_recency() {
    for policy in [Policy::Lru, Policy::Arc, Policy::AcKey] {
        let mut c: AnyCache<u64, u64> = AnyCache::new(policy, 300);
        for k in 0..3 {
            c.insert(k, k * 10, 100).unwrap();
        }
        let before = c.stats();
        assert_eq!(c.peek(&0), Some(&0), "{policy}");
        assert_eq!(c.peek(&7), None, "{policy}");
        let after = c.stats();
        assert_eq!(
            (after.hits, after.misses),
            (before.hits, before.misses),
            "{policy}"
        );
        // 0 is still the oldest, seen once: the next insert evicts it.
        c.insert(3, 30, 100).unwrap();
        assert!(!c.contains(&0), "{policy} kept the peeked entry");
        assert_eq!(c.peek(&3), Some(&30), "{policy}");
    }
    let c = NoCache::new(100);
    assert_eq!(Cache::<u64, u64>::peek(&c, &1), None);
}

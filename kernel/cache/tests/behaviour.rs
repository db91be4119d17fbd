//! Behaviour of each policy on small, hand-checked cases.

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

/// Fills a 10 000-byte AC-Key with 5 000 bytes of blocks and then more KV
/// entries than the point side's target, so KV has to give some up.
fn squeezed() -> Ac {
    let mut ac = Ac::new(10_000, AcKeyConfig::default());
    for b in 0..5 {
        ac.insert_block(1000 + b, b, 1000).unwrap();
    }
    for k in 0..60 {
        ac.insert_point(k, k, 100, 0, 200, 3).unwrap();
    }
    ac
}

#[test]
fn ackey_ghost_kv_hit_grows_the_point_and_kv_targets() {
    let mut ac = squeezed();
    let before = ac.targets();
    assert_eq!((before.point, before.kv, before.block), (5000, 2500, 5000));
    let st = ac.ac_stats();
    assert!(st.kv.stats.evictions > 0 && st.kv.ghost_bytes > 0);
    let evicted = (0..60).find(|k| ac.point_part_of(k).is_none()).unwrap();
    assert_eq!(ac.get_point(&evicted), PointHit::Miss);
    assert_eq!(ac.insert_point(evicted, 1, 100, 0, 200, 3), Ok(Part::Kv));
    let after = ac.targets();
    assert!(after.point > before.point, "{after:?}");
    assert!(after.kv > before.kv, "{after:?}");
    assert_eq!(ac.ac_stats().kv.ghost_hits, 1);
    assert!(ac.ac_stats().total.used_bytes <= 10_000);
}

#[test]
fn ackey_ghost_kp_hit_readmits_into_kv_and_grows_kp() {
    let mut ac = Ac::new(10_000, AcKeyConfig::default());
    for b in 0..5 {
        ac.insert_block(1000 + b, b, 1000).unwrap();
    }
    for k in 0..60 {
        // Values larger than the pointer: KP entries.
        assert_eq!(ac.insert_point(k, k, 500, k, 100, 3), Ok(Part::Kp));
    }
    let before = ac.targets();
    let evicted = (0..60).find(|k| ac.point_part_of(k).is_none()).unwrap();
    assert_eq!(ac.insert_point(evicted, 1, 500, 0, 100, 3), Ok(Part::Kv));
    let after = ac.targets();
    assert!(after.point > before.point);
    assert!(after.kv < before.kv, "KP's target grew at KV's expense");
    assert_eq!(ac.ac_stats().kp.ghost_hits, 1);
}

#[test]
fn ackey_ghost_block_hit_shrinks_the_point_side() {
    let mut ac = Ac::new(10_000, AcKeyConfig::default());
    // More than the point side's 5 000-byte target: it has filled it.
    for k in 0..60 {
        ac.insert_point(k, k, 100, 0, 200, 3).unwrap();
    }
    for b in 0..12 {
        ac.insert_block(1000 + b, b, 1000).unwrap();
    }
    assert!(ac.ac_stats().block.stats.evictions > 0);
    let before = ac.targets();
    let evicted = (1000..1012).find(|h| !ac.contains_block(h)).unwrap();
    assert_eq!(ac.insert_block(evicted, 0, 1000), Ok(GhostHit::Block));
    let after = ac.targets();
    assert!(after.point < before.point, "{before:?} -> {after:?}");
    assert!(after.kv <= before.kv && after.kp <= before.kp);
}

#[test]
fn a_block_ghost_hit_takes_no_room_from_a_point_side_still_filling() {
    // A cold cache: the blocks borrow the room the point side has not filled
    // yet, and their ghosts come back before the point side has had an
    // eviction (so a ghost) of its own.
    let mut ac = Ac::new(10_000, AcKeyConfig::default());
    for k in 0..30 {
        ac.insert_point(k, k, 100, 0, 200, 3).unwrap();
    }
    for b in 0..12 {
        ac.insert_block(1000 + b, b, 1000).unwrap();
    }
    let before = ac.targets();
    let evicted = (1000..1012).find(|h| !ac.contains_block(h)).unwrap();
    assert_eq!(ac.insert_block(evicted, 0, 1000), Ok(GhostHit::Block));
    assert_eq!(ac.ac_stats().block.ghost_hits, 1);
    assert_eq!(ac.targets(), before);
    // Once the point side has filled its target and given way, the same
    // kind of hit takes room from it.
    for k in 30..80 {
        ac.insert_point(k, k, 100, 0, 200, 3).unwrap();
    }
    assert!(ac.ac_stats().kv.stats.evictions > 0);
    let mut moved = false;
    for h in 1000..1012 {
        if !ac.contains_block(&h) {
            let before = ac.targets().point;
            if ac.insert_block(h, 0, 1000) == Ok(GhostHit::Block) {
                moved |= ac.targets().point < before;
            }
        }
    }
    assert!(moved, "{:?}", ac.targets());
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
fn a_ghost_kp_hit_whose_entry_spared_nothing_leaves_kv_and_kp_as_they_were() {
    // A lookup that read only its data block: a KP entry of it spares no
    // read, so a hit on its ghost is no evidence for KP.
    let mut ac = Ac::new(10_000, AcKeyConfig::default());
    for b in 0..5 {
        ac.insert_block(1000 + b, b, 1000).unwrap();
    }
    for k in 0..60 {
        assert_eq!(ac.insert_point(k, k, 500, k, 100, 1), Ok(Part::Kp));
    }
    let before = ac.targets();
    let evicted = (0..60).find(|k| ac.point_part_of(k).is_none()).unwrap();
    assert_eq!(ac.insert_point(evicted, 1, 500, 0, 100, 1), Ok(Part::Kv));
    assert_eq!(ac.ac_stats().kp.ghost_hits, 1);
    let after = ac.targets();
    assert_eq!((after.point, after.kv), (before.point, before.kv));
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
fn ghosts_switch_off_while_steady_and_back_on_when_the_ratio_moves() {
    let config = AcKeyConfig {
        window: 100,
        steady_windows: 2,
        ..AcKeyConfig::default()
    };
    let mut ac = Ac::new(100_000, config);
    for h in 0..10 {
        ac.insert_block(h, h, 100).unwrap();
    }
    assert!(ac.ac_stats().ghosts_enabled);
    for i in 0..400 {
        assert!(ac.get_block(&(i % 10)).is_some());
    }
    assert!(
        !ac.ac_stats().ghosts_enabled,
        "a steady 100% should stop ghosts"
    );
    for i in 0..100 {
        assert!(ac.get_block(&(1000 + i)).is_none());
    }
    assert!(
        ac.ac_stats().ghosts_enabled,
        "a collapse of the hit ratio restarts them"
    );
}

#[test]
fn a_block_ghost_hit_takes_only_the_room_a_filled_point_side_leaves_unused() {
    let config = AcKeyConfig {
        window: u64::MAX,
        ..AcKeyConfig::default()
    };
    let mut ac = Ac::new(10_000, config);
    // KV and KP fill their 2 500 bytes each, the blocks their 5 000 and one
    // more, which pushes a block out (a ghost).
    for k in 0..25 {
        assert_eq!(ac.insert_point(k, k, 100, 0, 200, 3), Ok(Part::Kv));
        assert_eq!(ac.insert_point(100 + k, k, 500, k, 100, 3), Ok(Part::Kp));
    }
    for b in 0..6 {
        ac.insert_block(1000 + b, b, 1000).unwrap();
    }
    // One more KV entry: KV gives way, so the point side's filling is over.
    ac.insert_point(25, 25, 100, 0, 200, 3).unwrap();
    let st = ac.ac_stats();
    assert_eq!((st.kv.stats.evictions, st.block.stats.evictions), (1, 1));
    assert_eq!((st.targets.point, st.kv.stats.used_bytes), (5_000, 2_500));
    // A write drops a KV entry (no ghost): 100 bytes of the point side's
    // room lie unused.
    ac.invalidate(&25);
    // The block's ghost comes back, worth more than those 100 bytes (a read
    // is worth 1 100 / 4 bytes at the ghosts' margin): the target falls to
    // what the point side holds, and no further.
    assert_eq!(ac.insert_block(1000, 0, 1000), Ok(GhostHit::Block));
    assert_eq!(ac.targets().point, 4_900);
}

#[test]
fn tracking_stays_on_while_the_point_side_fills() {
    // Every lookup a miss and no ghost hit: the hit ratio and the target
    // stand still, but the point side grows window after window.
    let config = AcKeyConfig {
        window: 100,
        steady_windows: 2,
        ..AcKeyConfig::default()
    };
    let mut ac = Ac::new(100_000, config);
    for k in 0..1000 {
        assert_eq!(ac.get_point(&k), PointHit::Miss);
        ac.insert_point(k, k, 40, 0, 60, 3).unwrap();
    }
    let st = ac.ac_stats();
    assert_eq!((st.total.evictions, st.targets.point), (0, 50_000));
    assert!(st.ghosts_enabled, "still filling: {st:?}");
    // The same keys again: all hits, the point side holds what it held.
    for k in 0..400 {
        assert!(matches!(ac.get_point(&(k % 1000)), PointHit::Kv(_)));
    }
    assert!(!ac.ac_stats().ghosts_enabled, "filled and steady");
}

#[test]
fn ghosts_come_back_on_when_point_lookups_start_at_an_unchanged_hit_ratio() {
    // A scan phase leaves a cache of blocks whose hit ratio the returning
    // point lookups need not change; that they return is the change.
    let config = AcKeyConfig {
        window: 100,
        steady_windows: 2,
        ..AcKeyConfig::default()
    };
    let mut ac = Ac::new(100_000, config);
    for k in 0..10 {
        ac.insert_point(k, k, 8, 0, 24, 3).unwrap();
    }
    for h in 0..10 {
        ac.insert_block(100 + h, h, 100).unwrap();
    }
    for i in 0..400 {
        assert!(ac.get_block(&(100 + i % 10)).is_some());
    }
    assert!(!ac.ac_stats().ghosts_enabled, "blocks alone, all hits");
    // Still every lookup a hit, but now a third of them are point lookups.
    for i in 0..150 {
        if i % 3 == 0 {
            assert_eq!(ac.get_point(&(i % 10)), PointHit::Kv(&(i % 10)));
        } else {
            assert!(ac.get_block(&(100 + i % 10)).is_some());
        }
    }
    assert_eq!(ac.ac_stats().total.misses, 0);
    assert!(
        ac.ac_stats().ghosts_enabled,
        "point lookups started: the workload moved"
    );
}

/// How far one ghost-KV hit moves the point target after `block_hits` hits
/// on each of the resident blocks.
fn kv_ghost_step(block_hits: u32) -> u64 {
    // No window closes, so tracking stays on however many lookups there are.
    let config = AcKeyConfig {
        window: u64::MAX,
        ..AcKeyConfig::default()
    };
    let mut ac = Ac::new(10_000, config);
    for b in 0..5 {
        ac.insert_block(1000 + b, b, 1000).unwrap();
    }
    for k in 0..60 {
        ac.insert_point(k, k, 100, 0, 200, 3).unwrap();
    }
    for _ in 0..block_hits {
        for b in 0..5 {
            assert!(ac.get_block(&(1000 + b)).is_some());
        }
    }
    let before = ac.targets().point;
    let evicted = (0..60).find(|k| ac.point_part_of(k).is_none()).unwrap();
    assert_eq!(ac.get_point(&evicted), PointHit::Miss);
    ac.insert_point(evicted, 1, 100, 0, 200, 3).unwrap();
    assert_eq!(ac.ac_stats().kv.ghost_hits, 1);
    ac.targets().point - before
}

#[test]
fn a_ghost_hit_moves_the_split_as_far_however_old_the_resident_blocks() {
    // A block's worth grows with its hits; the exchange rate of a ghost hit
    // must not, or the split freezes as the cache ages.
    let young = kv_ghost_step(0);
    assert!(young > 0);
    assert_eq!(kv_ghost_step(10_000), young);
}

#[test]
fn one_ghost_hit_moves_the_split_by_at_most_a_64th_of_the_capacity() {
    let config = AcKeyConfig {
        window: u64::MAX,
        ..AcKeyConfig::default()
    };
    let mut ac = Ac::new(64_000, config);
    // The point side fills its half first: a side still filling its target
    // for the first time gives none of it to the other's ghost hits.
    for k in 0..400 {
        ac.insert_point(k, k, 100, 0, 200, 1).unwrap();
    }
    ac.insert_block(1, 1, 40_000).unwrap();
    for _ in 0..10_000 {
        assert!(ac.get_block(&1).is_some());
    }
    // The only block gives way to another: a ghost worth 10 001 reads.
    ac.insert_block(2, 2, 40_000).unwrap();
    assert!(!ac.contains_block(&1));
    assert_eq!(ac.targets().point, 32_000);
    assert_eq!(ac.insert_block(1, 1, 40_000), Ok(GhostHit::Block));
    // Uncapped it would have taken the whole point side: it is the only
    // ghost, so its E is the margin's and its step its own 40 000 bytes.
    assert_eq!(ac.targets().point, 32_000 - 64_000 / 64);
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

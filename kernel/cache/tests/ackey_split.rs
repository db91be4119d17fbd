//! AC-Key's adaptive split on small, hand-checked cases: how far a ghost
//! hit of each kind (KV, KP, block) moves the point and KV targets, when it
//! moves them not at all, and when ghost tracking switches off and back on.

use cache::{AcKey, AcKeyConfig, GhostHit, Part, PointHit};

type Ac = AcKey<u64, u64, u64, u64, u64>;

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

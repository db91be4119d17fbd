//! No policy ever holds more than its budget, whatever the sizes, and none
//! ever serves a value other than the last one written under its key.

use std::collections::HashMap;

use cache::{AcKey, AcKeyConfig, AnyCache, ArcCache, Cache, CacheError, Policy};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Access { key: u64, size: u64 },
    Insert { key: u64, size: u64 },
    Remove(u64),
    Resize(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => (0u64..40, 1u64..300).prop_map(|(key, size)| Op::Access { key, size }),
        3 => (0u64..40, 1u64..300).prop_map(|(key, size)| Op::Insert { key, size }),
        2 => (0u64..40).prop_map(Op::Remove),
        1 => (0u64..2000).prop_map(Op::Resize),
    ]
}

/// Drives `cache` with `ops`, checking the budget and the values after each.
fn drive(cache: &mut dyn Cache<u64, (u64, u64)>, capacity: u64, ops: &[Op]) {
    cache.resize(capacity);
    let mut capacity = capacity;
    let mut version = 0u64;
    let mut latest: HashMap<u64, u64> = HashMap::new();
    for op in ops {
        version += 1;
        match *op {
            Op::Access { key, size } => {
                if let Some(&(k, v)) = cache.get(&key) {
                    assert_eq!(k, key);
                    assert_eq!(Some(&v), latest.get(&key), "stale value for {key}");
                } else {
                    let r = cache.insert(key, (key, version), size);
                    latest.insert(key, version);
                    check_insert(r, size, capacity);
                }
            }
            Op::Insert { key, size } => {
                let r = cache.insert(key, (key, version), size);
                latest.insert(key, version);
                check_insert(r, size, capacity);
            }
            Op::Remove(key) => {
                cache.remove(&key);
                assert!(!cache.contains(&key));
            }
            Op::Resize(c) => {
                capacity = c;
                cache.resize(c);
            }
        }
        let s = cache.stats();
        assert_eq!(s.capacity_bytes, capacity);
        assert!(
            s.used_bytes <= s.capacity_bytes,
            "{}: {} bytes used of {} after {op:?}",
            cache.policy(),
            s.used_bytes,
            s.capacity_bytes
        );
    }
}

fn check_insert(r: Result<(), CacheError>, size: u64, capacity: u64) {
    match r {
        Ok(()) => {}
        Err(CacheError::TooLarge {
            charge,
            capacity: c,
        }) => {
            assert_eq!((charge, c), (size, capacity));
            assert!(size > capacity);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn no_policy_exceeds_its_budget(capacity in 0u64..2000, ops in prop::collection::vec(op(), 0..300)) {
        for policy in Policy::ALL {
            let mut cache: AnyCache<u64, (u64, u64)> = AnyCache::new(policy, capacity);
            drive(&mut cache, capacity, &ops);
        }
    }

    #[test]
    fn byte_weighted_arc_keeps_its_invariants(capacity in 1u64..2000, ops in prop::collection::vec(op(), 0..300)) {
        let mut arc: ArcCache<u64, (u64, u64)> = ArcCache::new(capacity);
        let mut c = capacity;
        for op in &ops {
            match *op {
                Op::Access { key, size } => { arc.access(key, (key, 0), size); }
                Op::Insert { key, size } => { let _ = arc.insert(key, (key, 0), size); }
                Op::Remove(key) => { Cache::remove(&mut arc, &key); }
                Op::Resize(n) => { c = n; arc.resize(n); }
            }
            let s = arc.shape();
            prop_assert!(s.t1 + s.t2 <= c, "resident {} > {c}", s.t1 + s.t2);
            prop_assert!(s.t1 + s.b1 <= c, "T1+B1 {} > {c}", s.t1 + s.b1);
            prop_assert!(s.t1 + s.t2 + s.b1 + s.b2 <= 2 * c, "directory over 2c");
            prop_assert!(arc.target_t1() <= c as f64);
            let mut keys = arc.lists_mru_to_lru().concat();
            let n = keys.len();
            keys.sort_unstable();
            keys.dedup();
            prop_assert_eq!(keys.len(), n);
        }
    }

    #[test]
    fn ackey_point_and_block_parts_share_one_budget(
        capacity in 0u64..4000,
        ops in prop::collection::vec((0u8..6, 0u64..60, 1u64..400, 1u32..8), 0..400),
    ) {
        let config = AcKeyConfig { window: 32, ..AcKeyConfig::default() };
        let mut ac: AcKey<u64, u64, u64, u64, u64> = AcKey::new(capacity, config);
        let mut latest: HashMap<u64, u64> = HashMap::new();
        for (i, &(kind, key, size, reads)) in ops.iter().enumerate() {
            let i = i as u64;
            match kind {
                0 | 1 => match ac.get_point(&key) {
                    cache::PointHit::Kv(v) => prop_assert_eq!(Some(v), latest.get(&key)),
                    cache::PointHit::Kp(p) => {
                        prop_assert_eq!(*p, key + 1000);
                        let v = latest[&key];
                        let _ = ac.promote(&key, v, size / 2 + 1);
                    }
                    cache::PointHit::Miss => {
                        latest.insert(key, i);
                        let _ = ac.insert_point(key, i, size, key + 1000, 24, reads);
                    }
                },
                2 => {
                    if ac.get_block(&key).is_none() {
                        let _ = ac.insert_block(key, key, size);
                    }
                }
                3 => {
                    ac.invalidate(&key);
                    latest.remove(&key);
                    prop_assert!(ac.point_part_of(&key).is_none());
                }
                4 => ac.set_capacity(size * 8),
                _ => ac.retain_kp(|k, _| k % 2 == 0),
            }
            let st = ac.ac_stats();
            prop_assert!(st.total.used_bytes <= st.total.capacity_bytes,
                "{} used of {}", st.total.used_bytes, st.total.capacity_bytes);
            let t = st.targets;
            prop_assert_eq!(t.point + t.block, st.total.capacity_bytes);
            prop_assert_eq!(t.kv + t.kp, t.point);
            let ghosts = st.kv.ghost_bytes + st.kp.ghost_bytes + st.block.ghost_bytes;
            prop_assert!(ghosts <= st.total.capacity_bytes);
        }
    }
}

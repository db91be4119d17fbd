//! The modelled-LSM point-lookup workload: sane accounting for every policy.

use cache::Policy;
use cachesim::lsm_model::{run_lookups, zipf_keys, LsmModel};

#[test]
fn zipf_keys_are_skewed_in_range_and_repeatable() {
    let keys = zipf_keys(10_000, 0.99, 50_000, 7);
    assert_eq!(keys, zipf_keys(10_000, 0.99, 50_000, 7));
    assert!(keys.iter().all(|&k| k < 10_000));
    let mut counts = std::collections::HashMap::new();
    for &k in &keys {
        *counts.entry(k).or_insert(0u32) += 1;
    }
    let top = *counts.values().max().unwrap();
    // Rank 0 of a theta 0.99 Zipfian over 10k keys takes about 1/zeta(n), ~10%.
    assert!(top > 50_000 / 20, "hottest key seen only {top} times");
    assert!(counts.len() > 2_000, "only {} distinct keys", counts.len());
}

#[test]
fn caches_save_reads_and_none_saves_nothing() {
    let model = LsmModel::new(100_000, 16, 100);
    let keys = zipf_keys(100_000, 0.99, 100_000, 1);
    let none = run_lookups(&model, &keys, Policy::None, 1 << 20);
    assert_eq!(none.free_lookups, 0);
    // Keys sit at levels 1..=3 (1%, 9%, 90%): l + 2 reads each.
    let per = none.disk_reads as f64 / none.lookups as f64;
    assert!((3.0..=5.0).contains(&per), "{per}");
    for policy in [Policy::Lru, Policy::Arc, Policy::AcKey] {
        let r = run_lookups(&model, &keys, policy, 1 << 20);
        assert_eq!(r.lookups, 100_000);
        assert!(r.disk_reads < none.disk_reads / 2, "{r}");
        assert!(r.free_lookups > 0, "{r}");
        let bigger = run_lookups(&model, &keys, policy, 8 << 20);
        assert!(bigger.disk_reads <= r.disk_reads, "{bigger} vs {r}");
    }
}

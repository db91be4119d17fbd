//! YCSB's generators: the operation mixes, zipfian's frequencies, the
//! scrambling, latest and uniform.

use std::collections::HashMap;

use lsm::random::Rng;
use workload::ycsb::{fnv1a, unit, Dist, Op, Picker, Ycsb, Zipfian, THETA};

/// The exact zipfian probability of item `i` of `n`.
fn zipf_p(i: u64, n: u64) -> f64 {
    let zetan: f64 = (1..=n).map(|k| 1.0 / (k as f64).powf(THETA)).sum();
    1.0 / ((i + 1) as f64).powf(THETA) / zetan
}

fn counts(z: &Zipfian, samples: u64, seed: u64) -> Vec<u64> {
    let mut rng = Rng::new(seed);
    let mut c = vec![0u64; z.items() as usize];
    for _ in 0..samples {
        c[z.sample(unit(&mut rng)) as usize] += 1;
    }
    c
}

#[test]
fn zipfian_item_0_is_the_most_popular_and_frequencies_follow_theta() {
    let n = 1000;
    let samples = 1_000_000;
    let c = counts(&Zipfian::new(n), samples, 1);
    let share = |i: usize| c[i] as f64 / samples as f64;
    let max = *c.iter().max().unwrap();
    assert_eq!(c[0], max);
    assert!(c[0] > c[1] && c[1] > c[2] && c[2] > c[3] && c[3] > c[9]);
    // Items 0 and 1 are drawn exactly (Gray's method), the rest by its
    // approximation, which YCSB shares: item 2 comes out ~16% too often,
    // later items within 10%.
    for i in [0u64, 1] {
        let r = share(i as usize) / zipf_p(i, n);
        assert!((r - 1.0).abs() < 0.01, "item {i}: {r}");
    }
    for i in [2u64, 3, 5, 9, 19, 49, 99, 499] {
        let r = share(i as usize) / zipf_p(i, n);
        assert!((0.9..1.2).contains(&r), "item {i}: ratio {r}");
    }
    // The rank-frequency slope over a decade (items 10 and 100) is theta.
    let slope = (share(9) / share(99)).log10();
    assert!((slope - THETA).abs() < 0.05, "slope {slope}");
    // Every item can come up, none beyond the range.
    assert!(c.iter().all(|&k| k > 0));
}

#[test]
fn zipfian_edges() {
    let z = Zipfian::new(1000);
    assert_eq!(z.sample(0.0), 0);
    assert_eq!(z.sample(0.999_999_999), 999);
    // One item (or none asked for): always item 0.
    for n in [0, 1] {
        let z = Zipfian::new(n);
        assert_eq!(z.items(), 1);
        assert!([0.0, 0.5, 0.99].iter().all(|&u| z.sample(u) == 0));
    }
    // Two items: 0 then 1.
    let c = counts(&Zipfian::new(2), 100_000, 3);
    assert_eq!(c.len(), 2);
    let p0 = c[0] as f64 / 100_000.0;
    assert!((p0 - zipf_p(0, 2)).abs() < 0.01, "{p0}");
}

#[test]
fn fnv1a_hashes_the_items_eight_little_endian_bytes() {
    fn reference(bytes: &[u8]) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h
    }
    for x in [0u64, 1, 255, 256, 0x0123_4567_89ab_cdef, u64::MAX] {
        assert_eq!(fnv1a(x), reference(&x.to_le_bytes()), "{x}");
    }
}

#[test]
fn scrambled_zipfian_spreads_the_popular_keys() {
    let keys = 100_000;
    let picker = Picker::new(Dist::Zipfian, keys);
    let mut rng = Rng::new(7);
    let mut hits: HashMap<u64, u64> = HashMap::new();
    for _ in 0..200_000 {
        *hits.entry(picker.pick(&mut rng, keys)).or_default() += 1;
    }
    // The most picked key is item 0's hash, and the popular ones are the
    // first items' hashes.
    let mut by_count: Vec<(u64, u64)> = hits.into_iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    assert_eq!(by_count[0].0, fnv1a(0) % keys);
    assert_eq!(by_count[1].0, fnv1a(1) % keys);
    // The 100 most popular items land all over the key space: every tenth
    // of it gets some.
    let mut deciles = [0u32; 10];
    for i in 0..100 {
        deciles[(fnv1a(i) % keys * 10 / keys) as usize] += 1;
    }
    assert!(deciles.iter().all(|&d| d > 0), "{deciles:?}");
    // Unscrambled they would be keys 0..100, the first thousandth; scrambled,
    // about as many fall there as chance puts there.
    let first_thousandth = (0..100).filter(|&i| fnv1a(i) % keys < keys / 1000).count();
    assert!(first_thousandth <= 2, "{first_thousandth}");
}

#[test]
fn inserts_do_not_move_the_zipfian_hot_set() {
    // The same draws before and after the run inserted a thousand records
    // pick the same records: the popular ones stay popular.
    let keys = 10_000;
    let picker = Picker::new(Dist::Zipfian, keys);
    let (mut a, mut b) = (Rng::new(3), Rng::new(3));
    for _ in 0..1000 {
        assert_eq!(picker.pick(&mut a, keys), picker.pick(&mut b, keys + 1000));
    }
}

#[test]
fn latest_favours_the_newest_records() {
    let picker = Picker::new(Dist::Latest, 1000);
    let mut rng = Rng::new(11);
    let inserted = 1500;
    let mut newest_tenth = 0;
    let mut c: HashMap<u64, u64> = HashMap::new();
    for _ in 0..100_000 {
        let k = picker.pick(&mut rng, inserted);
        assert!(k < inserted);
        if k >= inserted - 150 {
            newest_tenth += 1;
        }
        *c.entry(k).or_default() += 1;
    }
    let top = c.iter().max_by_key(|(_, n)| **n).map(|(k, _)| *k);
    assert_eq!(top, Some(inserted - 1));
    assert!(c[&(inserted - 1)] > c[&(inserted - 2)]);
    assert!(c[&(inserted - 2)] > c[&(inserted - 10)]);
    // Zipfian over 1000 items puts ~3/4 of the draws on the first 150.
    assert!(newest_tenth > 70_000, "{newest_tenth}");
    // Fewer records than the generator's items: beyond the oldest, the
    // oldest.
    let mut rng = Rng::new(12);
    assert!((0..10_000).all(|_| picker.pick(&mut rng, 5) < 5));
}

#[test]
fn uniform_covers_every_record_evenly() {
    let picker = Picker::new(Dist::Uniform, 1000);
    let mut rng = Rng::new(13);
    let mut deciles = [0u64; 10];
    for _ in 0..100_000 {
        deciles[(picker.pick(&mut rng, 2000) / 200) as usize] += 1;
    }
    // Over all 2000 inserted records, not only the 1000 loaded.
    assert!(
        deciles.iter().all(|&d| (9_500..10_500).contains(&d)),
        "{deciles:?}"
    );
}

#[test]
fn each_workload_has_its_mix() {
    let draws = 200_000;
    let want: [(Ycsb, [f64; 5]); 6] = [
        // read, update, insert, scan, read-modify-write
        (Ycsb::A, [0.5, 0.5, 0.0, 0.0, 0.0]),
        (Ycsb::B, [0.95, 0.05, 0.0, 0.0, 0.0]),
        (Ycsb::C, [1.0, 0.0, 0.0, 0.0, 0.0]),
        (Ycsb::D, [0.95, 0.0, 0.05, 0.0, 0.0]),
        (Ycsb::E, [0.0, 0.0, 0.05, 0.95, 0.0]),
        (Ycsb::F, [0.5, 0.0, 0.0, 0.0, 0.5]),
    ];
    for (w, shares) in want {
        let mut rng = Rng::new(17);
        let mut c = [0u64; 5];
        let mut scan_total = 0u64;
        for _ in 0..draws {
            let slot = match w.next_op(&mut rng) {
                Op::Read => 0,
                Op::Update => 1,
                Op::Insert => 2,
                Op::Scan(len) => {
                    assert!((1..=100).contains(&len));
                    scan_total += u64::from(len);
                    3
                }
                Op::ReadModifyWrite => 4,
            };
            c[slot] += 1;
        }
        for (got, want) in c.iter().zip(shares) {
            let got = *got as f64 / draws as f64;
            assert!((got - want).abs() < 0.005, "{w:?}: {c:?}");
        }
        if c[3] > 0 {
            let mean = scan_total as f64 / c[3] as f64;
            assert!((mean - 50.5).abs() < 0.5, "{w:?}: mean scan {mean}");
        }
    }
}

#[test]
fn choose_splits_at_the_workloads_share() {
    assert_eq!(Ycsb::A.choose(0.499, 5), Op::Read);
    assert_eq!(Ycsb::A.choose(0.5, 5), Op::Update);
    assert_eq!(Ycsb::B.choose(0.949, 5), Op::Read);
    assert_eq!(Ycsb::B.choose(0.95, 5), Op::Update);
    assert_eq!(Ycsb::C.choose(0.999, 5), Op::Read);
    assert_eq!(Ycsb::D.choose(0.95, 5), Op::Insert);
    assert_eq!(Ycsb::E.choose(0.1, 42), Op::Scan(42));
    assert_eq!(Ycsb::E.choose(0.96, 42), Op::Insert);
    assert_eq!(Ycsb::F.choose(0.7, 5), Op::ReadModifyWrite);
}

#[test]
fn names_letters_and_default_distributions() {
    for (w, l) in Ycsb::ALL.into_iter().zip(['a', 'b', 'c', 'd', 'e', 'f']) {
        assert_eq!(w.letter(), l);
        assert_eq!(Ycsb::from_letter(l), Some(w));
        let want = if w == Ycsb::D {
            Dist::Latest
        } else {
            Dist::Zipfian
        };
        assert_eq!(w.default_dist(), want);
    }
    assert_eq!(Ycsb::from_letter('g'), None);
    for d in [Dist::Zipfian, Dist::Latest, Dist::Uniform] {
        assert_eq!(Dist::parse(d.name()), Some(d));
    }
    assert_eq!(Dist::parse("Zipfian"), None);
}

#[test]
fn unit_is_in_zero_one_and_uses_53_bits() {
    let mut rng = Rng::new(5);
    let mut copy = rng.clone();
    for _ in 0..1000 {
        let u = unit(&mut rng);
        assert!((0.0..1.0).contains(&u));
        assert_eq!(u, (copy.next_u64() >> 11) as f64 / (1u64 << 53) as f64);
    }
}

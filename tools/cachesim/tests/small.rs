//! The simulator's parts on small inputs: trace parsing, OPT against brute
//! force, the output line, the plot.

use std::collections::HashSet;
use std::io::Cursor;

use cache::Policy;
use cachesim::opt::{next_uses, opt_hits};
use cachesim::trace::{parse, Format, Request, TraceError};
use cachesim::{simulate, SimPolicy, SimResult};
use proptest::prelude::*;

#[test]
fn lis_lines_expand_to_one_request_per_page() {
    let t = parse(Cursor::new("10 3 0 0\n\n7 1 0 1\n"), Format::Lis).unwrap();
    let keys: Vec<u64> = t.requests.iter().map(|r| r.key).collect();
    assert_eq!(keys, [10, 11, 12, 7]);
    assert!(!t.sized);
    assert_eq!(t.unique_keys(), 4);
}

#[test]
fn key_lines_may_carry_sizes_and_names() {
    let t = parse(
        Cursor::new("# comment\n5 100\nuser:1 40\n5 100\nuser:1\n"),
        Format::Keys,
    )
    .unwrap();
    assert!(t.sized);
    assert_eq!(t.requests[0], Request { key: 5, size: 100 });
    assert_eq!(t.requests[1].key, t.requests[3].key);
    assert_eq!(t.requests[3].size, 1);
    assert_eq!(t.unique_keys(), 2);
}

#[test]
fn bad_lines_are_reported_with_their_number() {
    let e = parse(Cursor::new("1 1 0 0\nx 1 0 0\n"), Format::Lis).unwrap_err();
    assert!(matches!(e, TraceError::Parse { line: 2, .. }), "{e}");
    assert_eq!(
        e.to_string(),
        "trace line 2: start block `x` is not a number"
    );
    let e = parse(Cursor::new("k 0\n"), Format::Keys).unwrap_err();
    assert!(matches!(e, TraceError::Parse { line: 1, .. }));
}

#[test]
fn result_lines_have_the_documented_shape() {
    let r = SimResult {
        policy: SimPolicy::Cache(Policy::Arc),
        size: 1000,
        requests: 914_145,
        hits: 356_057,
    };
    assert_eq!(
        r.to_string(),
        "policy=arc size=1000 requests=914145 hits=356057 hit_ratio=0.389497"
    );
    assert_eq!("opt".parse::<SimPolicy>(), Ok(SimPolicy::Opt));
    assert_eq!("opt-bypass".parse::<SimPolicy>(), Ok(SimPolicy::OptBypass));
    assert!("fifo".parse::<SimPolicy>().is_err());
}

/// The best number of hits over every eviction choice (exponential; tiny inputs).
fn brute_force(keys: &[u64], c: usize, bypass: bool) -> u64 {
    fn go(keys: &[u64], i: usize, cache: &mut Vec<u64>, c: usize, bypass: bool) -> u64 {
        let Some(&x) = keys.get(i) else { return 0 };
        if cache.contains(&x) {
            return 1 + go(keys, i + 1, cache, c, bypass);
        }
        if cache.len() < c {
            cache.push(x);
            let r = go(keys, i + 1, cache, c, bypass);
            cache.pop();
            return r;
        }
        let mut best = if bypass {
            go(keys, i + 1, cache, c, bypass)
        } else {
            0
        };
        for j in 0..cache.len() {
            let old = std::mem::replace(&mut cache[j], x);
            best = best.max(go(keys, i + 1, cache, c, bypass));
            cache[j] = old;
        }
        best
    }
    go(keys, 0, &mut Vec::new(), c, bypass)
}

proptest! {
    #[test]
    fn opt_is_optimal_for_unit_sizes(keys in prop::collection::vec(0u64..6, 0..13), c in 1usize..4) {
        let requests: Vec<Request> = keys.iter().map(|&key| Request { key, size: 1 }).collect();
        let next = next_uses(&requests);
        prop_assert_eq!(opt_hits(&requests, &next, c as u64, false), brute_force(&keys, c, false));
        prop_assert_eq!(opt_hits(&requests, &next, c as u64, true), brute_force(&keys, c, true));
    }

    #[test]
    fn every_policy_stays_at_or_below_opt(keys in prop::collection::vec(0u64..30, 0..300), c in 1u64..20) {
        let requests: Vec<Request> = keys.iter().map(|&key| Request { key, size: 1 }).collect();
        let policies = [
            SimPolicy::Cache(Policy::None),
            SimPolicy::Cache(Policy::Lru),
            SimPolicy::Cache(Policy::Arc),
            SimPolicy::Cache(Policy::AcKey),
            SimPolicy::Opt,
            SimPolicy::OptBypass,
        ];
        let r = simulate(&requests, &policies, &[c]);
        let bound = r[5].hits;
        prop_assert!(r[4].hits <= bound);
        for x in &r[..4] {
            prop_assert!(x.hits <= bound, "{} beat OPT", x);
        }
        prop_assert_eq!(r[0].hits, 0);
    }
}

#[test]
fn sized_traces_use_byte_capacities() {
    let mut requests = Vec::new();
    for round in 0..3 {
        for key in 0..10u64 {
            requests.push(Request {
                key,
                size: 100 * (key + 1),
            });
        }
        let _ = round;
    }
    let r = simulate(
        &requests,
        &[SimPolicy::Cache(Policy::Lru), SimPolicy::Opt],
        &[5500],
    );
    // 1+...+10 = 55 hundred bytes: everything fits, so only the first round misses.
    assert_eq!(r[0].hits, 20);
    assert_eq!(r[1].hits, 20);
    let r = simulate(&requests, &[SimPolicy::Cache(Policy::Arc)], &[1000]);
    assert!(r[0].hits <= 20);
}

#[test]
fn the_plot_is_an_svg_with_every_policy() {
    let requests: Vec<Request> = (0..2000u64)
        .map(|i| Request {
            key: (i * 7919) % 97 % (1 + i % 50),
            size: 1,
        })
        .collect();
    let policies = [
        SimPolicy::Cache(Policy::Lru),
        SimPolicy::Cache(Policy::Arc),
        SimPolicy::Opt,
    ];
    let results = simulate(&requests, &policies, &[5, 10, 20, 40]);
    let dir = std::env::temp_dir().join(format!("cachesim-plot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("plot.svg");
    cachesim::plot::write_svg(&out, "test", "pages", &results).unwrap();
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(svg.starts_with("<svg"));
    let names: HashSet<&str> = ["lru", "arc", "opt"].into_iter().collect();
    for n in names {
        assert!(
            svg.contains(&format!(">{n}<")) || svg.contains(n),
            "legend lacks {n}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

//! The run loop against a model store: what each workload writes and reads,
//! what it finds, the key space state, determinism, stopping, progress,
//! timing and the report. YCSB's runs are in tests/ycsb_run.rs.

mod common;

use common::{bench, bench_with, Call, Model, Recording, GET_COST, PUT_COST, SYNC_COST};
use lsm::db::IoStats;
use lsm::random::Rng;
use workload::run::ticks_to_us;
use workload::values::{Values, HEADER};
use workload::{
    key, BenchError, BenchResult, CacheCounters, CacheFigures, Mix, PerThread, Progress, State,
    Workload,
};

#[test]
fn fillseq_writes_keys_in_order() {
    let (mut m, mut s) = (Model::new(), State::new());
    let mut h = Recording::new(&m);
    let r = bench_with(&mut m, &mut s, "fillseq 1000", &mut h).unwrap();
    let want: Vec<(Vec<u8>, bool)> = (0..1000).map(|i| (key(i).to_vec(), false)).collect();
    assert_eq!(m.puts_of(), want);
    assert_eq!(m.calls.last(), Some(&Call::Sync));
    // Each value names its key and is a window of printable bytes; no two
    // are the same.
    let values = Values::new();
    assert!(m.map.iter().all(|(k, v)| values.check(k, v)));
    assert!(m
        .map
        .values()
        .all(|v| v[HEADER..].iter().all(|b| (b' '..=b'~').contains(b))));
    let bodies: std::collections::HashSet<&[u8]> = m.map.values().map(|v| &v[HEADER..]).collect();
    assert_eq!(bodies.len(), 1000);
    assert_eq!(s.loaded_keys, 1000);
    assert_eq!(h.after_op, vec![true; 1000]);
    assert_eq!(
        r,
        BenchResult {
            workload: Workload::FillSeq,
            ops: 1000,
            keys: 1000,
            value_size: 100,
            sync: false,
            elapsed_us: 1000 * PUT_COST + SYNC_COST,
            bytes: 1000 * 116,
            p50_us: PUT_COST,
            p99_us: PUT_COST,
            p999_us: PUT_COST,
            found: 0,
            dist: None,
            mix: Mix::default(),
            io: IoStats {
                writes: 1000,
                write_bytes: 1000 * 116,
                flushes: 1,
                ..IoStats::default()
            },
            per_thread: PerThread::ONE,
        }
    );
}

#[test]
fn synced_writes_are_not_buffered() {
    let (mut m, mut s) = (Model::new(), State::new());
    let mut h = Recording::new(&m);
    let r = bench_with(&mut m, &mut s, "fillseq 300 sync=1 value_size=10", &mut h).unwrap();
    assert!(m.puts_of().iter().all(|(_, sync)| *sync));
    assert_eq!(h.after_op, vec![false; 300]);
    assert_eq!((r.io.flushes, r.bytes), (301, 300 * 26));
    assert!(m.map.values().all(|v| v.len() == 10));
}

#[test]
fn fillrandom_writes_uniform_keys_of_the_key_space() {
    let (mut m, mut s) = (Model::new(), State::new());
    bench(&mut m, &mut s, "fillrandom 10000 seed=4").unwrap();
    let mut rng = Rng::new(4);
    let want: Vec<(Vec<u8>, bool)> = (0..10_000)
        .map(|_| (key(rng.uniform(10_000)).to_vec(), false))
        .collect();
    assert_eq!(m.puts_of(), want);
    // n draws over n keys leave 1 - 1/e of them written.
    let share = m.map.len() as f64 / 10_000.0;
    assert!((share - 0.632).abs() < 0.01, "{share}");
    assert_eq!(s.loaded_keys, 10_000);
}

/// readrandom's `found` is exactly the number of its keys the store holds.
fn check_found(m: &Model, r: &BenchResult, gets_from: usize) {
    let gets = &m.gets_of()[gets_from..];
    assert_eq!(gets.len() as u64, r.ops);
    let present = gets.iter().filter(|k| m.map.contains_key(*k)).count() as u64;
    assert_eq!(r.found, present);
    assert_eq!(r.bytes, present * 116);
}

/// A value the workloads did not write for its key stops every kind of
/// read with an error naming the key, whatever wrote it.
#[test]
fn reads_refuse_a_value_that_is_not_their_keys() {
    let (mut m, mut s) = (Model::new(), State::new());
    bench(&mut m, &mut s, "fillseq 100").unwrap();
    let wrong = Err(BenchError::WrongValue { key: key(7) });
    // Another key's value, a value cut short, one byte changed.
    let other = m.map[&key(8)[..]].clone();
    let mut changed = m.map[&key(7)[..]].clone();
    changed[HEADER + 3] ^= 0x20;
    let short = changed[..50].to_vec();
    for bad in [other, short, changed] {
        m.map.insert(key(7).to_vec(), bad);
        assert_eq!(bench(&mut m, &mut s, "readrandom 2000"), wrong);
        assert_eq!(bench(&mut m, &mut s, "readseq 100"), wrong);
        assert_eq!(
            bench(&mut m, &mut s, "ycsb-e 2000 keys=100 dist=uniform"),
            wrong
        );
    }
    // Keys that are not the workloads' are read past, not checked.
    m.map.insert(key(7).to_vec(), m.map[&key(6)[..]].clone());
    bench(&mut m, &mut s, "fillseq 100").unwrap();
    m.map.insert(b"user:1".to_vec(), b"hello".to_vec());
    assert_eq!(bench(&mut m, &mut s, "readseq 101").unwrap().found, 101);
}

#[test]
fn readrandom_finds_what_the_fills_wrote() {
    let n = 20_000;
    // Different seeds: after fillrandom, 1 - 1/e of random keys exist; after
    // an overwrite too, 1 - 1/e^2.
    let (mut m, mut s) = (Model::new(), State::new());
    bench(&mut m, &mut s, &format!("fillrandom {n} seed=1")).unwrap();
    let r = bench(&mut m, &mut s, &format!("readrandom {n} seed=2")).unwrap();
    check_found(&m, &r, 0);
    let share = r.found as f64 / n as f64;
    assert!((share - 0.632).abs() < 0.01, "{share}");
    bench(&mut m, &mut s, &format!("overwrite {n} seed=3")).unwrap();
    let before = m.gets_of().len();
    let r = bench(&mut m, &mut s, &format!("readrandom {n} seed=2")).unwrap();
    check_found(&m, &r, before);
    let share = r.found as f64 / n as f64;
    assert!((share - 0.865).abs() < 0.01, "{share}");

    // With the same seed (every run's default is 301) a readrandom draws
    // the very keys the fillrandom wrote: it finds all of them.
    let (mut m, mut s) = (Model::new(), State::new());
    bench(&mut m, &mut s, &format!("fillrandom {n}")).unwrap();
    let r = bench(&mut m, &mut s, &format!("readrandom {n}")).unwrap();
    check_found(&m, &r, 0);
    assert_eq!(r.found, n);

    // After fillseq every key exists.
    let (mut m, mut s) = (Model::new(), State::new());
    bench(&mut m, &mut s, "fillseq 5000").unwrap();
    let r = bench(&mut m, &mut s, "readrandom 3000 seed=9").unwrap();
    assert_eq!((r.keys, r.found), (5000, 3000));
    assert!(m.gets_of().iter().all(|k| m.map.contains_key(k)));
}

#[test]
fn readmissing_finds_nothing_among_the_real_keys() {
    let (mut m, mut s) = (Model::new(), State::new());
    bench(&mut m, &mut s, "fillseq 1000").unwrap();
    let r = bench(&mut m, &mut s, "readmissing 2000").unwrap();
    assert_eq!((r.ops, r.found, r.bytes), (2000, 0, 0));
    let gets = m.gets_of();
    assert_eq!(gets.len(), 2000);
    for k in &gets {
        assert_eq!(k.len(), 17);
        assert_eq!(k[16], b'.');
        let n: u64 = std::str::from_utf8(&k[..16]).unwrap().parse().unwrap();
        assert!(n < 1000);
    }
}

#[test]
fn readseq_iterates_in_key_order_up_to_n() {
    let (mut m, mut s) = (Model::new(), State::new());
    bench(&mut m, &mut s, "fillseq 1000").unwrap();
    let mut h = Recording::new(&m);
    let r = bench_with(&mut m, &mut s, "readseq 400", &mut h).unwrap();
    assert_eq!(
        (r.ops, r.found, r.bytes, r.keys),
        (400, 400, 400 * 116, 1000)
    );
    // One tick per entry in the model: every latency is 1 us.
    assert_eq!((r.p50_us, r.p999_us), (1, 1));
    assert!(h.after_op.is_empty() && h.progress.is_empty());
    let r = bench(&mut m, &mut s, "readseq 100000").unwrap();
    assert_eq!((r.ops, r.found), (1000, 1000));
    assert_eq!(m.calls.iter().filter(|c| **c == Call::ReadSeq).count(), 2);
}

#[test]
fn reads_and_overwrite_default_to_the_last_fills_key_space() {
    let (mut m, mut s) = (Model::new(), State::new());
    // Nothing loaded yet: the key space is n.
    let r = bench(&mut m, &mut s, "readrandom 300").unwrap();
    assert_eq!((r.keys, s.loaded_keys), (300, 0));
    bench(&mut m, &mut s, "fillseq 500").unwrap();
    let puts = m.puts_of().len();
    let r = bench(&mut m, &mut s, "overwrite 2000").unwrap();
    assert_eq!(r.keys, 500);
    let keys: Vec<Vec<u8>> = (0..500).map(|i| key(i).to_vec()).collect();
    assert!(m.puts_of()[puts..].iter().all(|(k, _)| keys.contains(k)));
    assert_eq!(s.loaded_keys, 500);
    // An explicit key space is used but not remembered, except by a fill.
    assert_eq!(
        bench(&mut m, &mut s, "readrandom 10 keys=50").unwrap().keys,
        50
    );
    assert_eq!(s.loaded_keys, 500);
    bench(&mut m, &mut s, "fillrandom 10 keys=70").unwrap();
    assert_eq!(s.loaded_keys, 70);
    assert_eq!(bench(&mut m, &mut s, "readrandom 10").unwrap().keys, 70);
}

#[test]
fn a_seed_replays_a_run_exactly() {
    let go = |seed: u64| {
        let (mut m, mut s) = (Model::new(), State::new());
        let r = bench(
            &mut m,
            &mut s,
            &format!("ycsb-e 3000 keys=2000 seed={seed}"),
        )
        .unwrap();
        let r2 = bench(&mut m, &mut s, &format!("fillrandom 3000 seed={seed}")).unwrap();
        (r, r2, m.calls, m.map)
    };
    let a = go(5);
    assert!(a == go(5));
    let b = go(6);
    assert!(a.2 != b.2 && a.3 != b.3);
}

#[test]
fn a_stop_ends_the_run_at_the_next_operation_with_writes_synced() {
    let (mut m, mut s) = (Model::new(), State::new());
    let mut h = Recording::new(&m);
    h.stop_at = Some(250);
    let e = bench_with(&mut m, &mut s, "fillseq 1000", &mut h).unwrap_err();
    assert_eq!(
        e,
        BenchError::Interrupted {
            done: 250,
            of: 1000,
            loading: false
        }
    );
    assert_eq!(e.to_string(), "interrupted after 250 of 1000 operations");
    let want: Vec<(Vec<u8>, bool)> = (0..250).map(|i| (key(i).to_vec(), false)).collect();
    assert_eq!(m.puts_of(), want);
    assert_eq!(m.calls.last(), Some(&Call::Sync));
    assert_eq!(h.stop_checks, 251);
    assert_eq!(h.timed_start, [0]);

    // Stopped before the first: nothing but the sync.
    let (mut m, mut s) = (Model::new(), State::new());
    let mut h = Recording::new(&m);
    h.stop_at = Some(0);
    let e = bench_with(&mut m, &mut s, "readrandom 10", &mut h).unwrap_err();
    assert!(matches!(e, BenchError::Interrupted { done: 0, .. }));
    assert_eq!(m.calls, [Call::Sync]);

    // readseq asks before the first entry and after every batch of
    // READSEQ_BATCH, and stops between batches.
    let (mut m, mut s) = (Model::new(), State::new());
    bench(&mut m, &mut s, "fillseq 300").unwrap();
    let mut h = Recording::new(&m);
    h.stop_at = Some(2);
    let e = bench_with(&mut m, &mut s, "readseq 250", &mut h).unwrap_err();
    let batch = u64::from(workload::run::READSEQ_BATCH);
    assert_eq!(
        e,
        BenchError::Interrupted {
            done: 2 * batch,
            of: 250,
            loading: false
        }
    );
    let mut h = Recording::new(&m);
    h.stop_at = Some(0);
    let e = bench_with(&mut m, &mut s, "readseq 250", &mut h).unwrap_err();
    assert!(matches!(e, BenchError::Interrupted { done: 0, .. }));
}

#[test]
fn progress_comes_every_tenth_from_200000_operations() {
    let (mut m, mut s) = (Model::new(), State::new());
    let mut h = Recording::new(&m);
    bench_with(&mut m, &mut s, "fillseq 200000 value_size=0", &mut h).unwrap();
    let want: Vec<(Progress, u64)> = (1..=10)
        .map(|k| {
            (
                Progress {
                    done: k * 20_000,
                    total: 200_000,
                },
                k * 20_000,
            )
        })
        .collect();
    // Each right after its operation: the model had that many puts.
    assert_eq!(h.progress, want);
    assert_eq!(h.progress[0].0.to_string(), "progress: 20000/200000 ops");

    let mut h = Recording::new(&m);
    bench_with(&mut m, &mut s, "readrandom 199999", &mut h).unwrap();
    assert!(h.progress.is_empty());
    let mut h = Recording::new(&m);
    bench_with(&mut m, &mut s, "readrandom 250005", &mut h).unwrap();
    let done: Vec<u64> = h.progress.iter().map(|(p, _)| p.done).collect();
    assert_eq!(done, (1..=10).map(|k| k * 25_000).collect::<Vec<_>>());
    let mut h = Recording::new(&m);
    bench_with(&mut m, &mut s, "readseq 300000", &mut h).unwrap();
    assert!(h.progress.is_empty());
}

#[test]
fn a_store_error_ends_the_run_with_it() {
    let (mut m, mut s) = (Model::new(), State::new());
    m.fail_put = Some(10);
    let e = bench(&mut m, &mut s, "fillseq 100").unwrap_err();
    assert_eq!(e, BenchError::Store("disk full".into()));
    assert_eq!(e.to_string(), "disk full");
    assert_eq!(m.puts_of().len(), 10);
    let e: BenchError<String> = BenchError::NoMemory { n: 7 };
    assert_eq!(
        e.to_string(),
        "not enough memory to record 7 latencies; use a smaller n or more RAM (-m)"
    );
}

#[test]
fn counter_ticks_become_microseconds() {
    assert_eq!(ticks_to_us(62_500_000, 62_500_000), 1_000_000);
    assert_eq!(ticks_to_us(62, 62_500_000), 0);
    assert_eq!(ticks_to_us(63, 62_500_000), 1);
    assert_eq!(ticks_to_us(u64::MAX, 1_000_000_000), u64::MAX / 1000);
    assert_eq!(ticks_to_us(5, 0), 5_000_000);
}

fn fields(r: &console::Report) -> Vec<(String, String)> {
    assert_eq!(r.sections().len(), 1);
    assert_eq!(r.sections()[0].name, "Bench");
    r.sections()[0].fields.clone()
}

#[test]
fn the_report_has_benchs_fields_in_order() {
    // ycsb-b over a loaded model: reads cost 3 us, updates 5.
    let (mut m, mut s) = (Model::new(), State::new());
    bench(&mut m, &mut s, "fillseq 1000").unwrap();
    let r = bench(&mut m, &mut s, "ycsb-b 1000").unwrap();
    let (reads, updates) = (r.mix.reads, r.mix.updates);
    assert_eq!(reads + updates, 1000);
    assert!((20..80).contains(&updates), "{updates}");
    let elapsed = reads * GET_COST + updates * PUT_COST + SYNC_COST;
    assert_eq!(
        (r.elapsed_us, r.p50_us, r.p99_us, r.p999_us),
        (elapsed, 3, 5, 5)
    );
    let cache = CacheFigures {
        policy: "lru",
        before: CacheCounters {
            hits: 10,
            misses: 5,
        },
        after: CacheCounters {
            hits: 40,
            misses: 15,
        },
    };
    let secs = elapsed as f64 / 1e6;
    let text = |v: u64| v.to_string();
    let want = vec![
        ("workload", "ycsb-b".to_string()),
        ("ops", text(1000)),
        ("keys", text(1000)),
        ("value_size", text(100)),
        ("sync", text(0)),
        ("elapsed_ms", text(elapsed / 1000)),
        ("ops_per_sec", format!("{:.0}", 1000.0 / secs)),
        ("mb_per_sec", format!("{:.2}", 1000.0 * 116.0 / secs / 1e6)),
        ("p50_us", text(3)),
        ("p99_us", text(5)),
        ("p999_us", text(5)),
        ("found", text(reads)),
        ("dist", "zipfian".into()),
        ("reads", text(reads)),
        ("updates", text(updates)),
        ("inserts", text(0)),
        ("scans", text(0)),
        ("read_modify_writes", text(0)),
        ("cache_policy", "lru".into()),
        ("cache_hits", text(30)),
        ("cache_hit_ratio", "0.750000".into()),
        ("disk_reads", text(reads)),
        ("disk_writes", text(updates)),
        ("disk_reads_per_op", format!("{:.3}", reads as f64 / 1000.0)),
        (
            "disk_writes_per_op",
            format!("{:.3}", updates as f64 / 1000.0),
        ),
        ("bytes_written_to_disk", text(updates * 116)),
        ("disk_flushes", text(1)),
        ("wal_loss_bound_ms", text(15)),
    ];
    let want: Vec<(String, String)> = want.into_iter().map(|(a, b)| (a.to_string(), b)).collect();
    assert_eq!(fields(&r.report(Some(&cache), 15)), want);

    // A fill: no found, no mix; no cache; synced, so no loss bound.
    let r = bench(&mut m, &mut s, "fillseq 10 sync=1").unwrap();
    let names: Vec<String> = fields(&r.report(None, 15))
        .into_iter()
        .map(|f| f.0)
        .collect();
    let want = [
        "workload",
        "ops",
        "keys",
        "value_size",
        "sync",
        "elapsed_ms",
        "ops_per_sec",
        "mb_per_sec",
        "p50_us",
        "p99_us",
        "p999_us",
        "cache_policy",
        "cache_hit_ratio",
        "disk_reads",
        "disk_writes",
        "disk_reads_per_op",
        "disk_writes_per_op",
        "bytes_written_to_disk",
        "disk_flushes",
    ];
    assert_eq!(names, want);
    let f = fields(&r.report(None, 15));
    assert_eq!(f[4], ("sync".into(), "1".into()));
    assert_eq!(f[11], ("cache_policy".into(), "none".into()));
    assert_eq!(f[12], ("cache_hit_ratio".into(), "0".into()));
    // readrandom, readseq and readmissing report found; no lookups is a 0 ratio.
    let r = bench(&mut m, &mut s, "readmissing 10").unwrap();
    let idle = CacheFigures {
        policy: "arc",
        before: CacheCounters::default(),
        after: CacheCounters::default(),
    };
    let f = fields(&r.report(Some(&idle), 15));
    assert_eq!(f[11], ("found".into(), "0".into()));
    assert_eq!(f[14], ("cache_hit_ratio".into(), "0.000000".into()));
}

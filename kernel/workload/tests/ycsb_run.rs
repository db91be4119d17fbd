//! The run loop's YCSB workloads against a model store: the untimed load
//! of the missing records (and a stop during it), exactly the store calls
//! the public generators draw, each workload's mix, and workload D's reads
//! of the newest records.

mod common;

use common::{bench, bench_with, Call, Model, Recording, GET_COST, SYNC_COST};
use lsm::random::Rng;
use workload::ycsb::{Dist, Op, Picker, Ycsb};
use workload::{key, BenchError, Mix, State};

#[test]
fn ycsb_loads_the_missing_keys_untimed_first() {
    let (mut m, mut s) = (Model::new(), State::new());
    let mut h = Recording::new(&m);
    let r = bench_with(&mut m, &mut s, "ycsb-c 1000 keys=5000", &mut h).unwrap();
    // The timed part begins once, after the load.
    assert_eq!(h.timed_start, [5000]);
    let load: Vec<Call> = (0..5000)
        .map(|i| Call::Put(key(i).to_vec(), false))
        .chain([Call::Sync])
        .collect();
    assert_eq!(m.calls[..5001], load[..]);
    assert_eq!(s.loaded_keys, 5000);
    // The load is neither timed nor in the run's I/O; every read finds.
    assert_eq!(r.elapsed_us, 1000 * GET_COST + SYNC_COST);
    assert_eq!((r.io.writes, r.io.reads, r.found), (0, 1000, 1000));
    // A larger key space loads only the keys past the last.
    let calls = m.calls.len();
    bench(&mut m, &mut s, "ycsb-c 10 keys=8000").unwrap();
    let puts: Vec<Vec<u8>> = m.calls[calls..]
        .iter()
        .filter_map(|c| match c {
            Call::Put(k, _) => Some(k.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        puts,
        (5000..8000).map(|i| key(i).to_vec()).collect::<Vec<_>>()
    );
    // A smaller one loads nothing and becomes the loaded key space.
    let puts = m.puts_of().len();
    assert_eq!(
        bench(&mut m, &mut s, "ycsb-c 10 keys=100").unwrap().keys,
        100
    );
    assert_eq!((m.puts_of().len(), s.loaded_keys), (puts, 100));
    // After a fill of that size, nothing is loaded either.
    let (mut m, mut s) = (Model::new(), State::new());
    bench(&mut m, &mut s, "fillseq 2000").unwrap();
    let r = bench(&mut m, &mut s, "ycsb-b 100").unwrap();
    assert_eq!(r.keys, 2000);
    assert_eq!(m.puts_of().len() as u64, 2000 + r.mix.updates);
}

/// The store calls a YCSB run makes, from the public generators in the
/// order the run draws: the operation, then its record.
fn expected_ycsb(w: Ycsb, dist: Dist, seed: u64, n: u64, keys: u64) -> (Vec<Call>, Mix) {
    let mut rng = Rng::new(seed);
    let picker = Picker::new(dist, keys);
    let mut inserted = keys;
    let mut calls = Vec::new();
    let mut mix = Mix::default();
    for _ in 0..n {
        match w.next_op(&mut rng) {
            Op::Read => {
                mix.reads += 1;
                calls.push(Call::Get(key(picker.pick(&mut rng, inserted)).to_vec()));
            }
            Op::Update => {
                mix.updates += 1;
                calls.push(Call::Put(
                    key(picker.pick(&mut rng, inserted)).to_vec(),
                    false,
                ));
            }
            Op::Insert => {
                mix.inserts += 1;
                calls.push(Call::Put(key(inserted).to_vec(), false));
                inserted += 1;
            }
            Op::Scan(len) => {
                mix.scans += 1;
                let start = key(picker.pick(&mut rng, inserted)).to_vec();
                calls.push(Call::Scan(start, len as usize));
            }
            Op::ReadModifyWrite => {
                mix.read_modify_writes += 1;
                let k = key(picker.pick(&mut rng, inserted)).to_vec();
                calls.push(Call::Get(k.clone()));
                calls.push(Call::Put(k, false));
            }
        }
    }
    calls.push(Call::Sync);
    (calls, mix)
}

#[test]
fn ycsb_runs_make_exactly_their_generators_calls() {
    let (n, keys) = (20_000u64, 10_000u64);
    for w in Ycsb::ALL {
        for dist in [None, Some(Dist::Uniform)] {
            let (mut m, mut s) = (Model::new(), State::new());
            let mut line = format!("ycsb-{} {n} keys={keys} seed=8", w.letter());
            if let Some(d) = dist {
                line += &format!(" dist={}", d.name());
            }
            let mut h = Recording::new(&m);
            let r = bench_with(&mut m, &mut s, &line, &mut h).unwrap();
            let dist = dist.unwrap_or_else(|| w.default_dist());
            let (calls, mix) = expected_ycsb(w, dist, 8, n, keys);
            // After the load (keys puts and a sync).
            assert_eq!(m.calls[keys as usize + 1..], calls[..], "{line}");
            assert_eq!((r.mix, r.dist, r.ops), (mix, Some(dist), n), "{line}");
            // Every record read exists (loaded, or inserted before it was
            // picked); scans count what they returned. A read-modify-write's
            // read is not counted.
            assert_eq!(r.found, mix.reads + m.scanned, "{line}");
            assert_eq!(m.scanned > 0, w == Ycsb::E, "{line}");
            // Writes (updates, inserts, read-modify-writes) buffer WAL records.
            let writes = mix.updates + mix.inserts + mix.read_modify_writes;
            assert_eq!(
                h.after_op.iter().filter(|b| **b).count() as u64,
                writes,
                "{line}"
            );
            assert_eq!(h.after_op.len() as u64, n);
        }
    }
}

#[test]
fn ycsb_mixes_have_their_shares() {
    let n = 20_000;
    for (w, read, write) in [
        (Ycsb::A, 0.5, 0.5),
        (Ycsb::B, 0.95, 0.05),
        (Ycsb::C, 1.0, 0.0),
        (Ycsb::D, 0.95, 0.05),
        (Ycsb::E, 0.95, 0.05),
        (Ycsb::F, 0.5, 0.5),
    ] {
        let (mut m, mut s) = (Model::new(), State::new());
        let r = bench(
            &mut m,
            &mut s,
            &format!("ycsb-{} {n} keys=2000", w.letter()),
        )
        .unwrap();
        let x = r.mix;
        let reads = (x.reads + x.scans) as f64 / n as f64;
        let writes = (x.updates + x.inserts + x.read_modify_writes) as f64 / n as f64;
        assert!((reads - read).abs() < 0.01, "{w:?} {x:?}");
        assert!((writes - write).abs() < 0.01, "{w:?} {x:?}");
        assert_eq!(
            x.reads + x.updates + x.inserts + x.scans + x.read_modify_writes,
            n
        );
    }
}

#[test]
fn ycsb_d_reads_the_newest_records_and_inserts_past_the_loaded_ones() {
    let (mut m, mut s) = (Model::new(), State::new());
    let r = bench(&mut m, &mut s, "ycsb-d 20000 keys=1000").unwrap();
    let inserts: Vec<Vec<u8>> = m.puts_of()[1000..].iter().map(|(k, _)| k.clone()).collect();
    let want: Vec<Vec<u8>> = (1000..1000 + r.mix.inserts)
        .map(|i| key(i).to_vec())
        .collect();
    assert_eq!(inserts, want);
    // The most read record is a newly inserted one, and reads find them all.
    let gets = m.gets_of();
    let recent = gets
        .iter()
        .filter(|k| k.as_slice() >= key(1000).as_slice())
        .count();
    assert!(
        recent as f64 > 0.5 * gets.len() as f64,
        "{recent} of {}",
        gets.len()
    );
    assert_eq!(r.found, r.mix.reads);
}

#[test]
fn a_stop_during_ycsbs_load_keeps_what_was_loaded() {
    let (mut m, mut s) = (Model::new(), State::new());
    let mut h = Recording::new(&m);
    h.stop_at = Some(300);
    let e = bench_with(&mut m, &mut s, "ycsb-c 100 keys=1000", &mut h).unwrap_err();
    assert_eq!(
        e,
        BenchError::Interrupted {
            done: 300,
            of: 1000,
            loading: true
        }
    );
    assert_eq!(
        e.to_string(),
        "interrupted while loading: 300 of 1000 keys loaded"
    );
    assert_eq!(s.loaded_keys, 300);
    assert_eq!(m.puts_of().len(), 300);
    assert_eq!(m.calls.last(), Some(&Call::Sync));
    // The next run loads the rest.
    bench(&mut m, &mut s, "ycsb-c 100 keys=1000").unwrap();
    let loaded: Vec<Vec<u8>> = m.puts_of()[300..].iter().map(|(k, _)| k.clone()).collect();
    assert_eq!(
        loaded,
        (300..1000).map(|i| key(i).to_vec()).collect::<Vec<_>>()
    );
    assert_eq!(s.loaded_keys, 1000);
}

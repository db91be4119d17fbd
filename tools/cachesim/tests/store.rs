//! Store traces: parsing, replay through the kernel's cache with hand-checked
//! counts, OPT as the bound of block caches, and AC-Key's split on a
//! phase-changing trace.

use std::io::Cursor;

use cache::Policy;
use cachesim::phase::{phase_trace, PhaseSpec};
use cachesim::store_sim::{phase_splits, replay, simulate_store, ReplayConfig, StoreResult};
use cachesim::store_trace::{parse, BlockRef, Found, Op, StoreTrace};
use cachesim::trace::{self, Format, TraceError};
use cachesim::SimPolicy;
use lsm::db::BlockKind;

/// Table 7: data blocks at 0 and 4096 (4000 bytes each), index at 8192 (200
/// bytes), filter at 8392 (100 bytes). Key 0a01 lives in the first data block
/// with a 100-byte value, key 0a02 in the second with a 3000-byte value.
const SMALL: &str = "\
# unikv store trace v1
# phase warm
G 0a01
B 7 8392 100 f
B 7 8192 200 i
B 7 0 4000 d
V 0a01 100 7 0 4000
G 0a01
B 7 8392 100 f
B 7 8192 200 i
B 7 0 4000 d
V 0a01 100 7 0 4000
G 0a02
B 7 8392 100 f
B 7 8192 200 i
B 7 4096 4000 d
V 0a02 3000 7 4096 4000
G 0a02
B 7 8392 100 f
B 7 8192 200 i
B 7 4096 4000 d
V 0a02 3000 7 4096 4000
W 0a01
# phase again
G 0a01
B 7 8392 100 f
B 7 8192 200 i
B 7 0 4000 d
V 0a01 100 7 0 4000
S 0a01 10
B 7 8192 200 i
B 7 0 4000 d
B 7 4096 4000 d
G 0a02
B 7 8392 100 f
B 7 8192 200 i
B 7 4096 4000 d
V 0a02 3000 7 4096 4000
G 0a01
B 7 8392 100 f
B 7 8192 200 i
B 7 0 4000 d
V 0a01 100 7 0 4000
G 0aff
B 7 8392 100 f
";

fn small() -> StoreTrace {
    parse(Cursor::new(SMALL)).expect("the small trace parses")
}

fn run(t: &StoreTrace, policy: Policy, size: u64) -> StoreResult {
    replay(t, policy, size, ReplayConfig::default(), 0, |_| {})
}

#[test]
fn a_hand_written_trace_parses_into_its_operations() {
    let t = small();
    let c = t.counts();
    assert_eq!(
        (c.lookups, c.found, c.scans, c.writes, c.blocks),
        (8, 7, 1, 1, 25)
    );
    assert_eq!(c.found_without_blocks, 0);
    assert_eq!(t.keys.len(), 3);
    assert_eq!(&*t.keys[0], &[0x0a, 0x01]);
    assert_eq!(t.phases, [(0, "warm".into()), (5, "again".into())]);
    let Op::Get { key, blocks, found } = &t.ops[2] else {
        panic!("op 2 is a lookup: {:?}", t.ops[2]);
    };
    assert_eq!(*key, 1);
    assert_eq!(
        t.blocks_of(blocks),
        [
            BlockRef {
                table: 7,
                offset: 8392,
                size: 100,
                kind: BlockKind::Filter
            },
            BlockRef {
                table: 7,
                offset: 8192,
                size: 200,
                kind: BlockKind::Index
            },
            BlockRef {
                table: 7,
                offset: 4096,
                size: 4000,
                kind: BlockKind::Data
            },
        ]
    );
    assert_eq!(
        *found,
        Some(Found {
            value_len: 3000,
            table: 7,
            offset: 4096,
            size: 4000
        })
    );
    assert!(matches!(t.ops[4], Op::Write { key: 0 }));
    assert!(matches!(&t.ops[6], Op::Scan { limit: 10, blocks, .. } if blocks.len() == 3));
    assert!(matches!(&t.ops[9], Op::Get { found: None, blocks, .. } if blocks.len() == 1));
    // Written out and read back, it is the same trace.
    let again = parse(Cursor::new(t.to_text())).unwrap();
    assert_eq!(again.ops, t.ops);
    assert_eq!(again.blocks, t.blocks);
    assert_eq!(again.phases, t.phases);
    // As a plain request list: its blocks, four distinct, sized.
    let plain = trace::parse(Cursor::new(SMALL), Format::Store).unwrap();
    assert!(plain.sized);
    assert_eq!(plain.requests.len(), 25);
    assert_eq!(plain.unique_keys(), 4);
}

#[test]
fn a_replay_counts_from_the_measure_phase() {
    // The same trace with its second phase marked `measure`: the first four
    // lookups (12 blocks, 4 of them distinct) only warm the cache.
    let t = parse(Cursor::new(
        SMALL.replace("# phase again", "# phase measure"),
    ))
    .unwrap();
    assert_eq!(t.measured_from(), 5);
    assert_eq!(t.measured_first_block(), 12);
    let m = t.measured_counts();
    assert_eq!(
        (m.lookups, m.found, m.scans, m.writes, m.blocks),
        (4, 3, 1, 0, 13)
    );
    // Without a cache every measured block is a read; with room for all four
    // blocks the warm-up brought them in, and the measured run reads none.
    assert_eq!(run(&t, Policy::None, 100_000).disk_reads, 13);
    let lru = run(&t, Policy::Lru, 100_000);
    assert_eq!(
        (lru.lookups, lru.disk_reads, lru.block_requests),
        (4, 0, 13)
    );
    assert_eq!(run(&small(), Policy::Lru, 100_000).disk_reads, 4);
    let r = simulate_store(&t, &[SimPolicy::Opt], &[100_000], ReplayConfig::default());
    assert_eq!((r[0].disk_reads, r[0].block_requests), (0, 13));
}

#[test]
fn malformed_records_are_reported_with_their_line() {
    let cases = [
        ("B 1 0 10 d\n", 1, "outside a lookup or scan"),
        ("G 0a\nV 0b 1 1 0 10\n", 2, "does not follow a G"),
        ("G 0a\nV 0a 1 1 0 10\nB 1 0 10 d\n", 3, "outside"),
        ("G 0a\nB 1 0 10 x\n", 2, "block kind `x`"),
        ("G 0g\n", 1, "not hex"),
        ("G abc\n", 1, "not hex"),
        ("S 0a\n", 1, "`S` needs 2 fields, found 1"),
        ("Q 0a\n", 1, "unknown record `Q`"),
        ("G 0a\nB 1 x 10 d\n", 2, "`x` is not a number"),
    ];
    for (text, line, why) in cases {
        let e = parse(Cursor::new(text)).unwrap_err();
        match &e {
            TraceError::Parse { line: l, reason } => {
                assert_eq!(*l, line, "{text:?}: {e}");
                assert!(reason.contains(why), "{text:?}: {e}");
            }
            other => panic!("{text:?}: {other}"),
        }
    }
}

#[test]
fn the_header_line_selects_the_store_format() {
    let dir = std::env::temp_dir().join(format!("cachesim-store-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = dir.join("run.txt");
    std::fs::write(&store, SMALL).unwrap();
    assert_eq!(trace::detect(&store).unwrap(), Format::Store);
    let plain = dir.join("keys.txt");
    std::fs::write(&plain, "1\n2\n").unwrap();
    assert_eq!(trace::detect(&plain).unwrap(), Format::Keys);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn replay_counts_match_the_hand_checked_ones() {
    let t = small();
    // Everything fits in 100 kB: a block cache reads each of the 4 distinct
    // blocks once; without a cache every one of the 25 block records is a read.
    let none = run(&t, Policy::None, 100_000);
    assert_eq!((none.block_requests, none.disk_reads), (25, 25));
    assert_eq!(none.blocks_needed, 25);
    assert_eq!((none.lookups, none.scans), (8, 1));
    for p in [Policy::Lru, Policy::Arc] {
        let r = run(&t, p, 100_000);
        assert_eq!((r.block_requests, r.disk_reads), (25, 4), "{r}");
        assert_eq!((r.kv_hits, r.kp_hits), (0, 0), "{r}");
    }
    // AC-Key, by operation (values are larger than a pointer, so a miss
    // makes a KP entry and a KP hit promotes it to KV):
    //   G 0a01  miss: f i d0 (3 reads), KP entry
    //   G 0a01  KP hit: d0 only (cached), promoted to KV
    //   G 0a02  miss: f i d1 (d1 read), KP entry
    //   G 0a02  KP hit: d1 only, promoted to KV
    //   W 0a01  drops 0a01's KV entry
    //   G 0a01  miss again (the write made it stale): f i d0, KP entry
    //   S       i d0 d1
    //   G 0a02  KV hit: no block at all
    //   G 0a01  KP hit: d0 only, promoted
    //   G 0aff  not found: f
    let a = run(&t, Policy::AcKey, 100_000);
    assert_eq!((a.kv_hits, a.kp_hits), (1, 3), "{a}");
    assert_eq!(a.block_requests, 3 + 1 + 3 + 1 + 3 + 3 + 1 + 1, "{a}");
    assert_eq!(a.disk_reads, 4, "{a}");
    assert!((a.disk_reads_per_lookup() - 4.0 / 9.0).abs() < 1e-12);
    assert!((a.hit_ratio() - (1.0 - 4.0 / 25.0)).abs() < 1e-12);
}

#[test]
fn a_kv_hit_saves_every_block_even_when_blocks_do_not_fit() {
    // 20 lookups of one key whose data block (4000 bytes) is larger than a
    // 3000-byte cache: a block cache reads it every time; AC-Key reads the
    // blocks once, keeps a 102-byte KV entry after the second lookup (the
    // KP hit reads the data block again) and then reads nothing.
    let mut text = String::from("# unikv store trace v1\n");
    for _ in 0..20 {
        text.push_str("G 0a01\nB 7 8392 100 f\nB 7 8192 200 i\nB 7 0 4000 d\n");
        text.push_str("V 0a01 100 7 0 4000\n");
    }
    let t = parse(Cursor::new(text)).unwrap();
    let lru = run(&t, Policy::Lru, 3000);
    assert_eq!((lru.block_requests, lru.disk_reads), (60, 20 + 2), "{lru}");
    let a = run(&t, Policy::AcKey, 3000);
    assert_eq!((a.kv_hits, a.kp_hits), (18, 1), "{a}");
    assert_eq!((a.block_requests, a.disk_reads), (3 + 1, 3 + 1), "{a}");
}

#[test]
fn pointers_into_deleted_tables_are_dropped_with_or_without_d() {
    let first = "G 0a01\nB 7 8392 100 f\nB 7 8192 200 i\nB 7 0 4000 d\nV 0a01 100 7 0 4000\n";
    let moved = "G 0a01\nB 9 8392 100 f\nB 9 8192 200 i\nB 9 0 4000 d\nV 0a01 100 9 0 4000\n";
    for between in ["D 7\n", ""] {
        let t = parse(Cursor::new(format!("{first}{between}{moved}"))).unwrap();
        let a = run(&t, Policy::AcKey, 100_000);
        // The KP entry aimed at table 7 is not used: the second lookup
        // searches table 9 (3 new blocks).
        assert_eq!((a.kv_hits, a.kp_hits), (0, 0), "{between:?}: {a}");
        assert_eq!((a.block_requests, a.disk_reads), (6, 6), "{between:?}: {a}");
    }
}

fn small_phase_spec() -> PhaseSpec {
    PhaseSpec {
        keys: 20_000,
        point_ops: 20_000,
        scan_ops: 10_000,
        scan_len: 100,
        ..PhaseSpec::default()
    }
}

#[test]
fn opt_reads_no_more_than_any_block_cache() {
    let t = phase_trace(&PhaseSpec {
        point_ops: 5_000,
        scan_ops: 2_000,
        ..small_phase_spec()
    });
    let policies = [
        SimPolicy::Cache(Policy::None),
        SimPolicy::Cache(Policy::Lru),
        SimPolicy::Cache(Policy::Arc),
        SimPolicy::Opt,
    ];
    let sizes = [50_000, 300_000, 2_000_000];
    let results = simulate_store(&t, &policies, &sizes, ReplayConfig::default());
    assert_eq!(results.len(), 12);
    for &size in &sizes {
        let at = |p: SimPolicy| {
            *results
                .iter()
                .find(|r| r.policy == p && r.size == size)
                .unwrap()
        };
        let opt = at(SimPolicy::Opt);
        assert_eq!(opt.vs_opt(), Some(1.0));
        for p in &policies[..3] {
            let r = at(*p);
            assert_eq!(r.block_requests, t.counts().blocks, "{r}");
            assert!(opt.disk_reads <= r.disk_reads, "{opt} vs {r}");
            assert_eq!(r.opt_disk_reads, Some(opt.disk_reads), "{r}");
        }
    }
}

#[test]
fn the_phase_trace_has_three_phases_with_the_right_operations() {
    let spec = small_phase_spec();
    let t = phase_trace(&spec);
    let names: Vec<&str> = t.phases.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(names, ["points", "scans", "points"]);
    let (p1, s, p2) = (t.phases[0].0, t.phases[1].0, t.phases[2].0);
    assert_eq!((p1, s - p1, p2 - s), (0, 20_000, 10_000));
    assert_eq!(t.ops.len(), 50_000);
    assert!(t.ops[..s]
        .iter()
        .all(|o| matches!(o, Op::Get { found: Some(_), .. })));
    assert!(t.ops[s..p2].iter().all(|o| matches!(o, Op::Scan { .. })));
    // Every lookup ends on a data block, the one its V names.
    for op in &t.ops[..s] {
        let Op::Get {
            blocks,
            found: Some(f),
            ..
        } = op
        else {
            unreachable!()
        };
        let last = t.blocks_of(blocks).last().unwrap();
        assert_eq!(
            (last.kind, last.table, last.offset),
            (BlockKind::Data, f.table, f.offset)
        );
    }
}

fn splits(size: u64) -> Vec<cachesim::store_sim::PhaseSplit> {
    let t = phase_trace(&small_phase_spec());
    let mut samples = Vec::new();
    replay(&t, Policy::AcKey, size, ReplayConfig::default(), 250, |s| {
        samples.push(s)
    });
    assert!(samples.len() >= 200);
    assert!(samples
        .iter()
        .all(|s| s.kv + s.kp + s.block <= size && s.targets.point <= size));
    phase_splits(&t, &samples, 0.5)
}

/// What the paper's figure shows and the issue asks for: the split follows
/// the phase both ways. The point share falls while the workload scans and
/// comes back when point lookups return. At 300 KB it came back only to 0.18
/// of 0.30 while a ghost hit's step shrank with the cache's age; at 800 KB
/// the returning lookups did not move the hit ratio, so tracking stayed off
/// and the point side at nothing until a kind of lookup starting counted as
/// a change of workload.
///
/// The first phase's share is where the split stood while both sides were
/// still filling (no ghost hit takes room from a side that has had no
/// evictions of its own). The second point phase starts from an empty point
/// side, so its share is the ghosts' alone: it must come back to most of the
/// first phase's. It may settle above it or a little below (0.67 against
/// 0.40 at 300 KB, 0.25 against 0.35 at 800 KB), as ghosts are tracked
/// until 16 windows in a row look alike, but never to the whole budget:
/// the index and filter blocks every lookup needs stay.
#[test]
fn ackey_split_follows_the_phase_both_ways() {
    for size in [300_000, 800_000] {
        let s = splits(size);
        assert_eq!(s.len(), 3);
        let (points1, scans, points2) = (&s[0], &s[1], &s[2]);
        let all = format!("at {size}:\n{points1}\n{scans}\n{points2}");
        assert!(points1.point_share() > 0.2, "{all}");
        assert!(
            // 0.17 of 0.52 at 300 KB: the share falls over the whole scan
            // phase, and the mean is over its second half.
            scans.point_share() < 0.4 * points1.point_share(),
            "the point share falls while the workload scans, {all}"
        );
        assert!(
            points2.point_share() > 0.6 * points1.point_share() && points2.point_share() < 0.9,
            "and comes back when point lookups return, {all}"
        );
        assert!(points2.point_target > 2.5 * scans.point_target, "{all}");
    }
}

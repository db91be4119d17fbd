//! Power cuts: at random points of random workloads (every acknowledged
//! write kept, a prefix of the rest), and at every device request of a
//! `COMPACT` (the store reads exactly as before).

use super::*;

#[derive(Clone)]
pub(super) enum Op {
    Put(Vec<u8>, Vec<u8>),
    Del(Vec<u8>),
}

pub(super) fn apply(m: &mut Model, ops: &[Op]) {
    for op in ops {
        match op {
            Op::Put(k, v) => {
                m.insert(k.clone(), v.clone());
            }
            Op::Del(k) => {
                m.remove(k);
            }
        }
    }
}

/// Whether `got` is `durable` (every acknowledged write) with a prefix of
/// `pending` (the unacknowledged ones, in order) applied: what a power cut
/// may leave.
pub(super) fn acked_plus_prefix(got: &Model, durable: &Model, pending: &[Op]) -> bool {
    let mut candidate = durable.clone();
    if *got == candidate {
        return true;
    }
    pending.iter().any(|op| {
        apply(&mut candidate, core::slice::from_ref(op));
        *got == candidate
    })
}

/// Power cuts to run: `LSM_CRASH_SEEDS` (the inline test's count, which
/// the background tests divide), or `default`.
pub(super) fn seeds(default: u64, divide: u64) -> u64 {
    std::env::var("LSM_CRASH_SEEDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map_or(default, |n| n / divide)
}

/// Reopens `dev` after its power cut and checks what recovery shows: every
/// acknowledged write (`durable`) with a prefix of `pending`, and a store
/// that verifies clean. `at` names the case in a failure. Returns the
/// store and what it holds.
pub(super) fn recover<D: BlockDevice>(
    dev: D,
    opts: Options,
    durable: &Model,
    pending: &[Op],
    at: &str,
) -> (Db<D>, Model) {
    let (db, _) = Db::open(dev, opts).unwrap_or_else(|e| panic!("{at}: reopen failed: {e}"));
    let got = contents(&db, None);
    assert!(
        acked_plus_prefix(&got, durable, pending),
        "{at}: recovered state is not acked + a prefix"
    );
    let report = db.verify();
    assert!(report.errors.is_empty(), "{at}: {:?}", report.errors);
    (db, got)
}

pub(super) fn is_power_loss(e: &Error) -> bool {
    matches!(e, Error::Device(DeviceError::PowerLoss))
}

/// Runs a random workload and cuts the power after `cut` device requests.
/// Returns (state of acknowledged writes, writes since then in order).
pub(super) fn crash_workload(
    db: &mut Db<FaultDevice<MemDevice>>,
    rng: &mut Rng,
    durable: &mut Model,
) -> Vec<Op> {
    let mut pending: Vec<Op> = Vec::new();
    for step in 0..400u64 {
        let r = match rng.uniform(21) {
            0..=11 => {
                let (k, v) = (key(rng, 150), value(rng, step));
                let sync = rng.one_in(2);
                pending.push(Op::Put(k.clone(), v.clone()));
                db.put(&k, &v, sync).map(|()| sync)
            }
            12..=15 => {
                let k = key(rng, 150);
                let sync = rng.one_in(2);
                pending.push(Op::Del(k.clone()));
                db.delete(&k, sync).map(|()| sync)
            }
            16 => db.sync_wal().map(|()| true),
            17 => db.flush().map(|()| true),
            18 => db.compact_all().map(|()| true),
            19 => db.write_out_wal().map(|()| false),
            _ => {
                let k = key(rng, 150);
                // Reads may fail after the power cut, never return garbage.
                if let Ok(v) = db.get(&k, None) {
                    let mut m = durable.clone();
                    apply(&mut m, &pending);
                    assert_eq!(v, m.get(&k).cloned());
                }
                Ok(false)
            }
        };
        match r {
            Ok(true) => {
                apply(durable, &pending);
                pending.clear();
            }
            Ok(false) => {}
            Err(e) if is_power_loss(&e) => return pending,
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    pending
}

/// Power cuts at random points of random workloads: recovery keeps every
/// acknowledged write, shows a prefix of the unacknowledged ones (nothing
/// that was not written), and the store verifies clean.
#[test]
fn crash_at_random_points_keeps_acknowledged_writes() {
    let seeds = seeds(600, 1);
    let (mut cuts, mut lost_writes, mut prefixes) = (0, 0, 0);
    for seed in 0..seeds {
        let mut rng = Rng::new(seed * 7919 + 1);
        let dev = FaultDevice::new(MemDevice::new(8 << 20), seed);
        let (mut db, _) = Db::open(dev, small_opts()).unwrap();
        let mut durable = Model::new();
        for round in 0..2 {
            db.device_mut().cut_power_after(rng.uniform(600));
            let pending = crash_workload(&mut db, &mut rng, &mut durable);
            let mut dev = db.into_device();
            cuts += u32::from(dev.is_powered_off());
            let crash = dev.crash().unwrap();
            lost_writes += crash.dropped + crash.torn;
            if rng.one_in(3) {
                // Power fails again during recovery itself.
                dev.cut_power_after(rng.uniform(8));
                match Db::open(&mut dev, small_opts()) {
                    Ok((db, _)) => drop(db),
                    Err(e) => assert!(is_power_loss(&e), "seed {seed}: {e}"),
                }
                dev.crash().unwrap();
            }
            let at = format!("seed {seed} round {round}");
            let (reopened, got) = recover(dev, small_opts(), &durable, &pending, &at);
            db = reopened;
            prefixes += usize::from(got != durable);
            durable = got;
        }
    }
    // The test must really cut power mid-workload and lose unflushed writes.
    std::eprintln!(
        "{cuts} power cuts, {lost_writes} writes lost or torn, {prefixes} partial replays"
    );
    assert!(cuts as u64 > seeds, "{cuts} cuts in {seeds} seeds");
    assert!(lost_writes as u64 > seeds / 2, "{lost_writes} lost writes");
    assert!(prefixes as u64 > seeds / 4, "{prefixes} partial replays");
}

/// COMPACT merges every level into the bottom a slice at a time, dropping
/// upper tables as they are wholly merged (unless an older overlapping one
/// would show through): a power cut after any write or flush of it leaves a
/// store that reads exactly as before and verifies clean. On a roomy disk it
/// is one slice; on a tighter one, several.
#[test]
fn compacting_everything_is_safe_at_every_crash_point() {
    for (slice_bytes, min_slices) in [(0, 1), (32 << 10, 5)] {
        // Small levels (8 KiB, then x3), so the keys spread over four or
        // more: upper tables of several levels overlap each other and the
        // bottom's slices.
        let opts = Options {
            max_compaction_bytes: slice_bytes,
            l1_max_bytes: 8 << 10,
            level_ratio: 3,
            ..small_opts()
        };
        // Versions of the same keys in several levels, some deleted.
        let (mut db, _) = Db::open(MemDevice::new(8 << 20), opts.clone()).unwrap();
        let mut model = Model::new();
        for round in 0..10u32 {
            for i in 0..600u32 {
                let k = format!("key{:04}", (i * 37 + round * 11) % 2000).into_bytes();
                if (i + round) % 9 == 0 {
                    db.delete(&k, false).unwrap();
                    model.remove(&k);
                } else {
                    let v = format!("r{round}-{i}-{}", "x".repeat(100 + (i % 100) as usize))
                        .into_bytes();
                    db.put(&k, &v, false).unwrap();
                    model.insert(k, v);
                }
            }
            db.flush().unwrap();
        }
        // And two level-0 tables above the rest.
        for round in 0..2u32 {
            for i in 0..40u32 {
                let k = format!("key{:04}", (i * 53 + round) % 2000).into_bytes();
                let v = format!("top{round}-{i}").into_bytes();
                db.put(&k, &v, false).unwrap();
                model.insert(k, v);
            }
            db.flush().unwrap();
        }
        let levels = db.stats().levels;
        assert!(levels.iter().filter(|l| l.0 > 0).count() >= 4, "{levels:?}");
        let base = db.close().unwrap();
        let mut cuts = 0;
        for cut in 0.. {
            let (mut db, _) = Db::open(FaultDevice::new(base.clone(), cut), opts.clone()).unwrap();
            let before = db.stats().compactions;
            db.device_mut().cut_power_after(cut);
            match db.compact_all() {
                Ok(()) if !db.device_mut().is_powered_off() => {
                    assert_eq!(contents(&db, None), model);
                    let slices = db.stats().compactions - before;
                    assert!(
                        slices >= min_slices,
                        "{slices} slices of {slice_bytes} bytes"
                    );
                    break;
                }
                Ok(()) => {}
                Err(e) => assert!(is_power_loss(&e), "cut {cut}: {e}"),
            }
            cuts += 1;
            let mut dev = db.into_device();
            dev.crash().unwrap();
            let (db, _) = Db::open(dev, opts.clone())
                .unwrap_or_else(|e| panic!("cut {cut}: reopen failed: {e}"));
            assert_eq!(contents(&db, None), model, "cut {cut}");
            // Lookups stop at the first level holding a key, where a cursor
            // merges them all: an older version left showing through a
            // dropped table is seen only this way.
            for i in (0..2000u32).step_by(3) {
                let k = format!("key{i:04}").into_bytes();
                assert_eq!(
                    db.get(&k, None).unwrap(),
                    model.get(&k).cloned(),
                    "cut {cut} key {i}"
                );
            }
            let report = db.verify();
            assert!(report.errors.is_empty(), "cut {cut}: {:?}", report.errors);
        }
        assert!(cuts > 10, "only {cuts} crash points");
    }
}

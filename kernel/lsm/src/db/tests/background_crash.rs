//! Power cuts with background mode's work in flight: at random points
//! with a background thread running, and inside background jobs by
//! construction.

use super::background::{bg_opts, Workers};
use super::*;

/// Power cuts at random points with background threads flushing and
/// compacting: recovery keeps every acknowledged write and shows a prefix of
/// the others (as the inline crash test checks), and verifies clean.
#[test]
fn crash_with_background_work_in_flight_keeps_acknowledged_writes() {
    let seeds = crash::seeds(150, 4);
    let (mut cuts, mut mid_job, mut units) = (0, 0, 0);
    for seed in 0..seeds {
        let mut rng = Rng::new(seed * 104_729 + 7);
        let dev = FaultDevice::new(MemDevice::new(8 << 20), seed);
        let (mut db, _) = Db::open(dev, bg_opts()).unwrap();
        let mut durable = Model::new();
        for round in 0..2 {
            let workers = Workers::start(&db.background(), 1);
            db.device_mut().cut_power_after(rng.uniform(900));
            let pending = crash::crash_workload(&mut db, &mut rng, &mut durable);
            let mut dev = db.into_device();
            let (done, failed) = workers.finish();
            units += done;
            // A job the power cut failed (the owner's own failures are
            // its writes').
            mid_job += u32::from(failed > 0);
            cuts += u32::from(dev.is_powered_off());
            dev.crash().unwrap();
            let at = format!("seed {seed} round {round}");
            let (reopened, got) = crash::recover(dev, bg_opts(), &durable, &pending, &at);
            db = reopened;
            durable = got;
        }
    }
    std::eprintln!(
        "{cuts} power cuts, {mid_job} of them failing a background job; {units} background units"
    );
    // How many land in a job depends on the scheduler (see the next test
    // for cuts in jobs by construction).
    assert!(cuts as u64 > seeds, "{cuts} cuts in {seeds} seeds");
}

/// Power cuts inside background jobs by construction: one thread writes
/// and runs the background's work itself whenever there is some, and the
/// cut is armed just before one of the jobs (a flush or a compaction), a
/// few device requests in. Recovery keeps every acknowledged write and a
/// prefix of the others, and verifies clean.
#[test]
fn power_cut_inside_a_background_job_keeps_acknowledged_writes() {
    let seeds = crash::seeds(200, 3);
    let mut in_job = 0;
    for seed in 0..seeds {
        let mut rng = Rng::new(seed * 7_919 + 3);
        let dev = FaultDevice::new(MemDevice::new(8 << 20), seed);
        let (mut db, _) = Db::open(dev, bg_opts()).unwrap();
        let bg = db.background();
        let (mut durable, mut pending) = (Model::new(), Vec::new());
        let cut_job = rng.uniform(12);
        let mut jobs = 0;
        'run: for step in 0..1500u64 {
            let k = key(&mut rng, 300);
            let sync = rng.one_in(4);
            let r = if rng.one_in(4) {
                pending.push(crash::Op::Del(k.clone()));
                db.delete(&k, sync)
            } else {
                let v = value(&mut rng, step);
                pending.push(crash::Op::Put(k.clone(), v.clone()));
                db.put(&k, &v, sync)
            };
            match r {
                Ok(()) if sync => {
                    crash::apply(&mut durable, &pending);
                    pending.clear();
                }
                Ok(()) => {}
                Err(e) => {
                    assert!(crash::is_power_loss(&e), "seed {seed}: {e}");
                    break 'run;
                }
            }
            while bg.pending() {
                if jobs == cut_job {
                    db.device_mut().cut_power_after(rng.uniform(6));
                }
                jobs += 1;
                if let Err(e) = bg.work() {
                    assert!(crash::is_power_loss(&e), "seed {seed}: {e}");
                    in_job += 1;
                    break 'run;
                }
            }
        }
        let mut dev = db.into_device();
        dev.crash().unwrap();
        crash::recover(dev, bg_opts(), &durable, &pending, &format!("seed {seed}"));
    }
    std::eprintln!("{in_job} of {seeds} power cuts failed a background job");
    assert!(in_job as u64 > seeds / 2, "{in_job} cuts in a job");
}

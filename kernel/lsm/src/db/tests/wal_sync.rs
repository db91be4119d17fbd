//! Group commit without the owner's lock: a [`WalSync`] taken out of the
//! store makes every earlier write durable while writes go on, and the
//! owner's own WAL writes wait for it; a started one hands the device its
//! flush and counts once polled done.

use super::crash::{acked_plus_prefix, Op};
use super::*;

fn put(db: &mut Db<FaultDevice<MemDevice>>, i: u32, ops: &mut Vec<Op>) {
    let (k, v) = (
        format!("key{i:04}").into_bytes(),
        format!("v{i}").repeat(7).into_bytes(),
    );
    db.put(&k, &v, false).unwrap();
    ops.push(Op::Put(k, v));
}

/// The store as a power cut leaves it: crashed, then opened again.
fn after_a_crash(db: Db<FaultDevice<MemDevice>>) -> Db<FaultDevice<MemDevice>> {
    let mut dev = db.into_device();
    dev.crash().unwrap();
    Db::open(dev, small_opts()).unwrap().0
}

/// Writes before the sync was taken survive a power cut after it ran;
/// writes made while it was out (appended behind it, in the sector it
/// wrote too) survive as a prefix, never damaging the log.
#[test]
fn a_taken_sync_makes_earlier_writes_durable_while_writes_go_on() {
    for seed in 0..20u64 {
        let dev = FaultDevice::new(MemDevice::new(8 << 20), seed);
        let (mut db, _) = Db::open(dev, small_opts()).unwrap();
        let (mut before, mut during) = (Vec::new(), Vec::new());
        for i in 0..30 {
            put(&mut db, i, &mut before);
        }
        let sync = db.begin_wal_sync().unwrap().expect("none under way");
        assert!(db.begin_wal_sync().unwrap().is_none(), "one at a time");
        for i in 30..30 + seed as u32 {
            put(&mut db, i, &mut during);
        }
        // From another thread, as another core runs it.
        std::thread::spawn(move || sync.run())
            .join()
            .unwrap()
            .unwrap();
        for i in 100..110 {
            put(&mut db, i, &mut during);
        }
        let db = after_a_crash(db);
        let mut durable = Model::new();
        crash::apply(&mut durable, &before);
        let got = contents(&db, None);
        assert!(
            acked_plus_prefix(&got, &durable, &during),
            "seed {seed}: not the synced writes plus a prefix"
        );
        assert!(db.verify().errors.is_empty());
    }
}

/// A synced write (and `sync_wal`) while a taken sync is out waits for it,
/// then covers everything: nothing the taken sync wrote is rewritten
/// under it.
#[test]
fn the_owners_sync_waits_for_a_taken_one() {
    let dev = FaultDevice::new(MemDevice::new(8 << 20), 7);
    let (mut db, _) = Db::open(dev, small_opts()).unwrap();
    let mut ops = Vec::new();
    for i in 0..20 {
        put(&mut db, i, &mut ops);
    }
    let sync = db.begin_wal_sync().unwrap().unwrap();
    let runner = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(30));
        sync.run()
    });
    for i in 20..40 {
        put(&mut db, i, &mut ops);
    }
    db.sync_wal().unwrap();
    assert!(
        runner.is_finished(),
        "sync_wal returned before the taken sync ran"
    );
    runner.join().unwrap().unwrap();
    let db = after_a_crash(db);
    let mut durable = Model::new();
    crash::apply(&mut durable, &ops);
    assert_eq!(contents(&db, None), durable);
}

/// A taken sync whose device fails latches the store's fatal error: the
/// writes it covered are not known to be on the disk, and no more are
/// taken.
#[test]
fn a_failed_taken_sync_stops_the_store() {
    let dev = FaultDevice::new(MemDevice::new(8 << 20), 3);
    let (mut db, _) = Db::open(dev, small_opts()).unwrap();
    let mut ops = Vec::new();
    put(&mut db, 1, &mut ops);
    db.device_mut().cut_power_after(0);
    let sync = db.begin_wal_sync().unwrap().unwrap();
    assert!(sync.run().is_err());
    assert!(db.put(b"k", b"v", false).is_err(), "writes refused after");
    assert!(db.begin_wal_sync().is_err());
}

/// A started sync's flush makes the earlier writes durable only once it is
/// polled done: a power cut before then may lose them (only ever as a
/// prefix of the log), one after cannot. The owner's writes go on
/// meanwhile, and no other group commit begins until it is done.
#[test]
fn a_started_flush_counts_once_polled_done() {
    for seed in 0..20u64 {
        let cut_before_done = seed % 2 == 0;
        let dev = FaultDevice::new(MemDevice::new(8 << 20), seed);
        let (mut db, _) = Db::open(dev, small_opts()).unwrap();
        let (mut before, mut during) = (Vec::new(), Vec::new());
        for i in 0..30 {
            put(&mut db, i, &mut before);
        }
        let mut flush = db.begin_wal_sync().unwrap().unwrap().start();
        assert!(
            db.device_mut().flush_in_flight(),
            "handed over, not waited for"
        );
        for i in 30..30 + seed as u32 {
            put(&mut db, i, &mut during);
        }
        assert!(
            db.begin_wal_sync().unwrap().is_none(),
            "no commit begins while one's flush runs"
        );
        if !cut_before_done {
            assert!(matches!(flush.poll(), Some(Ok(()))));
        }
        let db = after_a_crash(db);
        let got = contents(&db, None);
        let mut durable = Model::new();
        if cut_before_done {
            let mut all = before.clone();
            all.extend(during.iter().cloned());
            assert!(
                acked_plus_prefix(&got, &durable, &all),
                "seed {seed}: not a prefix of the log"
            );
        } else {
            crash::apply(&mut durable, &before);
            assert!(
                acked_plus_prefix(&got, &durable, &during),
                "seed {seed}: not the flushed writes plus a prefix"
            );
        }
        assert!(db.verify().errors.is_empty());
    }
}

/// The owner's own synced write while a started flush runs covers it (its
/// flush waits for the device's), and the started one then polls done.
#[test]
fn the_owners_sync_covers_a_started_flush() {
    let dev = FaultDevice::new(MemDevice::new(8 << 20), 11);
    let (mut db, _) = Db::open(dev, small_opts()).unwrap();
    let mut ops = Vec::new();
    for i in 0..20 {
        put(&mut db, i, &mut ops);
    }
    let mut flush = db.begin_wal_sync().unwrap().unwrap().start();
    for i in 20..40 {
        put(&mut db, i, &mut ops);
    }
    db.sync_wal().unwrap();
    assert!(matches!(flush.poll(), Some(Ok(()))));
    drop(flush);
    assert!(
        db.begin_wal_sync().unwrap().is_some(),
        "free once polled done"
    );
    let db = after_a_crash(db);
    let mut durable = Model::new();
    crash::apply(&mut durable, &ops);
    assert_eq!(contents(&db, None), durable);
}

/// A started flush the device fails polls the error and latches the
/// store's fatal error.
#[test]
fn a_failed_started_flush_stops_the_store() {
    let dev = FaultDevice::new(MemDevice::new(8 << 20), 5);
    let (mut db, _) = Db::open(dev, small_opts()).unwrap();
    let mut ops = Vec::new();
    put(&mut db, 1, &mut ops);
    let mut flush = db.begin_wal_sync().unwrap().unwrap().start();
    db.device_mut().cut_power_after(0);
    assert!(matches!(flush.poll(), Some(Err(_))));
    assert!(db.put(b"k", b"v", false).is_err(), "writes refused after");
}

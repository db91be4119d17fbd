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

/// Counts what the store asks of its device, doing it the default way.
struct Counting {
    inner: FaultDevice<MemDevice>,
    plain_writes: usize,
    durable: usize,
}

impl BlockDevice for Counting {
    fn read(&mut self, offset: u64, buf: &mut [u8]) -> core::result::Result<(), DeviceError> {
        self.inner.read(offset, buf)
    }
    fn write(&mut self, offset: u64, data: &[u8]) -> core::result::Result<(), DeviceError> {
        self.plain_writes += 1;
        self.inner.write(offset, data)
    }
    fn flush(&mut self) -> core::result::Result<(), DeviceError> {
        self.inner.flush()
    }
    fn capacity(&self) -> u64 {
        self.inner.capacity()
    }
    fn start_flush(&mut self) -> core::result::Result<bool, DeviceError> {
        self.inner.start_flush()
    }
    fn poll_flush(&mut self) -> Option<core::result::Result<(), DeviceError>> {
        self.inner.poll_flush()
    }
    fn start_durable_write(
        &mut self,
        offset: u64,
        data: Vec<u8>,
    ) -> core::result::Result<bool, DeviceError> {
        self.durable += 1;
        self.inner.write(offset, &data)?;
        self.inner.start_flush()
    }
    fn write_durable(&mut self, offset: u64, data: &[u8]) -> core::result::Result<(), DeviceError> {
        self.durable += 1;
        self.inner.write(offset, data)?;
        self.inner.flush()
    }
}

/// A group commit's write and a synced write each reach the device as one
/// durable write (which virtio-blk does in one request), never as a plain
/// write and a flush; what they covered survives a power cut.
#[test]
fn commits_reach_the_device_as_durable_writes() {
    let dev = Counting {
        inner: FaultDevice::new(MemDevice::new(8 << 20), 13),
        plain_writes: 0,
        durable: 0,
    };
    let (mut db, _) = Db::open(dev, small_opts()).unwrap();
    let counts = |db: &mut Db<Counting>| {
        let d = db.device_mut();
        (d.plain_writes, d.durable)
    };
    let (plain, durable) = counts(&mut db);
    db.put(b"a", b"1", false).unwrap();
    let mut flush = db.begin_wal_sync().unwrap().unwrap().start();
    assert!(matches!(flush.poll(), Some(Ok(()))));
    drop(flush);
    db.put(b"b", b"2", true).unwrap();
    let (plain_after, durable_after) = counts(&mut db);
    assert_eq!((plain_after - plain, durable_after - durable), (0, 2));
    let mut dev = db.into_device();
    dev.inner.crash().unwrap();
    let (db, _) = Db::open(dev, small_opts()).unwrap();
    assert_eq!(db.get(b"a", None).unwrap().as_deref(), Some(&b"1"[..]));
    assert_eq!(db.get(b"b", None).unwrap().as_deref(), Some(&b"2"[..]));
}

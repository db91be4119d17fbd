//! The service's promises, on a real store over an in-memory disk that
//! the test can watch (flushes counted) and fail (power cut).

extern crate std;

use super::*;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use cache::Policy;
use lsm::db::{Db, Options};
use lsm::device::{DeviceError, FaultDevice, MemDevice};
use std::cell::Cell;
use std::sync::{Arc as StdArc, Mutex};

/// A disk the test keeps a handle on while the store owns it.
#[derive(Clone)]
struct Shared(StdArc<Mutex<FaultDevice<MemDevice>>>);

impl BlockDevice for Shared {
    fn read(&mut self, offset: u64, buf: &mut [u8]) -> core::result::Result<(), DeviceError> {
        self.0.lock().unwrap().read(offset, buf)
    }
    fn write(&mut self, offset: u64, data: &[u8]) -> core::result::Result<(), DeviceError> {
        self.0.lock().unwrap().write(offset, data)
    }
    fn flush(&mut self) -> core::result::Result<(), DeviceError> {
        self.0.lock().unwrap().flush()
    }
    fn capacity(&self) -> u64 {
        self.0.lock().unwrap().capacity()
    }
    fn start_flush(&mut self) -> core::result::Result<bool, DeviceError> {
        self.0.lock().unwrap().start_flush()
    }
    fn poll_flush(&mut self) -> Option<core::result::Result<(), DeviceError>> {
        self.0.lock().unwrap().poll_flush()
    }
}

impl Shared {
    fn new() -> Shared {
        Shared(StdArc::new(Mutex::new(FaultDevice::new(
            MemDevice::new(8 << 20),
            7,
        ))))
    }
    fn flushes(&self) -> u64 {
        self.0.lock().unwrap().counts().1
    }
    fn writes(&self) -> u64 {
        self.0.lock().unwrap().counts().0
    }
}

std::thread_local! {
    /// The clock, one per test (tests run on threads of their own): a
    /// shared one let one test's time jump under another's feet.
    static NOW: Cell<u64> = const { Cell::new(0) };
}
fn now() -> u64 {
    NOW.get()
}
fn set_now(us: u64) {
    NOW.set(us);
}
fn advance(us: u64) {
    NOW.set(NOW.get() + us);
}
/// A counter at 1 MHz, moved by hand.
fn wall() -> u64 {
    1_700_000_000_000_000 + now()
}
const CLOCK: Clock = Clock {
    now: lsm::clock::Counter::Fn(now),
    hz: 1_000_000,
    tick_hz: 100,
    wall_us: wall,
};

fn open(disk: &Shared) -> Store {
    let (db, _) = Db::open(
        Box::new(disk.clone()) as Disk,
        Options::for_disk(disk.capacity()),
    )
    .expect("open");
    Store::new(db, CLOCK)
}

fn put(k: &str, v: &str) -> WriteBatch {
    let mut b = WriteBatch::new();
    b.put(k.as_bytes(), &value::encode(v.as_bytes(), None));
    b
}

fn get(s: &Store, k: &str) -> Option<Vec<u8>> {
    s.get(k.as_bytes()).unwrap().map(|e| e.value)
}

#[test]
fn deferred_writes_are_seen_at_once_and_share_one_flush() {
    let disk = Shared::new();
    let mut s = open(&disk);
    let before = disk.flushes();
    let tickets: Vec<Ticket> = (0..50)
        .map(|i| {
            s.write_deferred(put(&std::format!("k{i}"), "v"))
                .expect("write")
        })
        .collect();
    assert_eq!(s.pending(), 50);
    assert_eq!(get(&s, "k7"), Some(b"v".to_vec()));
    assert!(tickets.iter().all(|t| s.status(*t) == Commit::Pending));
    assert_eq!(disk.flushes(), before, "nothing flushed before the commit");
    s.commit().expect("commit");
    assert_eq!(disk.flushes(), before + 1, "one flush for the group");
    assert!(tickets.iter().all(|t| s.status(*t) == Commit::Durable));
    assert_eq!(s.pending(), 0);
    assert_eq!(s.group_stats(), (1, 50));
    // Nothing pending: a commit is free.
    s.commit().expect("empty commit");
    assert_eq!(disk.flushes(), before + 1);
    assert_eq!(s.group_stats(), (1, 50));
}

/// A commit taken out of the store covers the writes made before it was
/// taken; those made while it ran stay pending for the next, and a second
/// taker finds it busy meanwhile.
#[test]
fn a_commit_run_without_the_lock_covers_what_came_before_it() {
    let disk = Shared::new();
    let mut s = open(&disk);
    let before = disk.flushes();
    let early: Vec<Ticket> = (0..10)
        .map(|i| s.write_deferred(put(&std::format!("e{i}"), "v")).unwrap())
        .collect();
    let BeginCommit::Ready(job) = s.begin_commit() else {
        panic!("a commit to take")
    };
    assert!(matches!(s.begin_commit(), BeginCommit::Busy));
    let late = s.write_deferred(put("late", "v")).unwrap();
    let done = job.run();
    assert_eq!(disk.flushes(), before + 1);
    s.finish_commit(done).unwrap();
    assert!(early.iter().all(|t| s.status(*t) == Commit::Durable));
    assert_eq!(s.status(late), Commit::Pending);
    assert_eq!((s.pending(), s.group_stats()), (1, (1, 10)));
    assert_eq!(s.writes_during_flush(), 0, "its taker waited for the flush");
    let BeginCommit::Ready(job) = s.begin_commit() else {
        panic!("the late write to commit")
    };
    s.finish_commit(job.run()).unwrap();
    assert_eq!(s.status(late), Commit::Durable);
    assert!(matches!(s.begin_commit(), BeginCommit::Idle));
}

/// Each commit's time, from when it is taken to when it is settled, on
/// average and the longest; a commit under the lock is timed around its
/// flush.
#[test]
fn commits_are_timed_from_taken_to_settled() {
    let disk = Shared::new();
    let mut s = open(&disk);
    assert_eq!(s.commit_latency_us(), (0, 0));
    s.write_deferred(put("a", "v")).unwrap();
    let BeginCommit::Ready(job) = s.begin_commit() else {
        panic!("a commit to take")
    };
    let mut flight = job.start();
    advance(300);
    s.finish_commit(flight.poll().unwrap()).unwrap();
    drop(flight);
    s.write_deferred(put("b", "v")).unwrap();
    let BeginCommit::Ready(job) = s.begin_commit() else {
        panic!("a commit to take")
    };
    let done = job.run();
    advance(100);
    s.finish_commit(done).unwrap();
    assert_eq!(s.commit_latency_us(), (200, 300));
    // Under the lock: the test clock does not move during the flush.
    s.write_deferred(put("c", "v")).unwrap();
    s.commit().unwrap();
    assert_eq!(s.commit_latency_us(), (133, 300));
}

/// A commit whose flush is handed to the device: what it covers stays
/// pending until it polls done, the writes made meanwhile wait for the
/// next, and no other commit begins until then.
#[test]
fn a_started_commit_settles_when_polled_done() {
    let disk = Shared::new();
    let mut s = open(&disk);
    let early: Vec<Ticket> = (0..10)
        .map(|i| s.write_deferred(put(&std::format!("e{i}"), "v")).unwrap())
        .collect();
    let BeginCommit::Ready(job) = s.begin_commit() else {
        panic!("a commit to take")
    };
    let mut flight = job.start();
    assert!(disk.0.lock().unwrap().flush_in_flight(), "not waited for");
    let late = s.write_deferred(put("late", "v")).unwrap();
    assert!(matches!(s.begin_commit(), BeginCommit::Busy));
    assert!(early.iter().all(|t| s.status(*t) == Commit::Pending));
    s.finish_commit(flight.poll().expect("the device is done"))
        .unwrap();
    assert!(early.iter().all(|t| s.status(*t) == Commit::Durable));
    assert_eq!(s.status(late), Commit::Pending);
    assert_eq!(
        s.writes_during_flush(),
        1,
        "the late write was made meanwhile"
    );
    drop(flight);
    let BeginCommit::Ready(job) = s.begin_commit() else {
        panic!("the late write to commit")
    };
    let mut flight = job.start();
    s.finish_commit(flight.poll().unwrap()).unwrap();
    assert_eq!(s.status(late), Commit::Durable);
    assert_eq!(s.group_stats(), (2, 11));
}

/// A commit that outlived its store (closed and opened again while the
/// flush ran) settles nothing in the next one.
#[test]
fn a_commit_outliving_its_store_settles_nothing_in_the_next() {
    let disk = Shared::new();
    let mut s = open(&disk);
    s.write_deferred(put("a", "1")).unwrap();
    let BeginCommit::Ready(job) = s.begin_commit() else {
        panic!("a commit to take")
    };
    let mut flight = job.start();
    s.close().unwrap();
    let mut s = open(&disk);
    let t = s.write_deferred(put("b", "2")).unwrap();
    let _ = s.finish_commit(flight.poll().unwrap());
    assert_eq!(s.status(t), Commit::Pending);
    assert_eq!(s.group_stats(), (0, 0));
    s.commit().unwrap();
    assert_eq!(s.status(t), Commit::Durable);
}

/// A commit under the lock while a taken one runs covers everything; the
/// taken one's finish then changes nothing and counts nothing twice.
#[test]
fn a_locked_commit_and_a_taken_one_count_each_write_once() {
    let disk = Shared::new();
    let mut s = open(&disk);
    let t = s.write_deferred(put("a", "1")).unwrap();
    let BeginCommit::Ready(job) = s.begin_commit() else {
        panic!("a commit to take")
    };
    let done = job.run();
    let u = s.write_deferred(put("b", "2")).unwrap();
    s.commit().unwrap();
    s.finish_commit(done).unwrap();
    assert_eq!(
        (s.status(t), s.status(u)),
        (Commit::Durable, Commit::Durable)
    );
    assert_eq!((s.pending(), s.group_stats()), (0, (1, 2)));
}

/// A taken commit that fails fails the writes it covered, with its error,
/// and the store refuses writes from then on.
#[test]
fn a_failed_taken_commit_fails_its_writes() {
    let disk = Shared::new();
    let mut s = open(&disk);
    let t = s.write_deferred(put("a", "1")).unwrap();
    let BeginCommit::Ready(job) = s.begin_commit() else {
        panic!("a commit to take")
    };
    disk.0.lock().unwrap().cut_power_after(0);
    let err = s.finish_commit(job.run()).expect_err("the flush fails");
    assert_eq!(s.status(t), Commit::Failed(err));
    assert!(s.write_deferred(put("b", "2")).is_err());
}

#[test]
fn what_a_commit_covered_survives_a_power_cut() {
    let disk = Shared::new();
    let mut s = open(&disk);
    for i in 0..20 {
        s.write_deferred(put(&std::format!("a{i}"), "durable"))
            .unwrap();
    }
    s.commit().unwrap();
    drop(s);
    disk.0.lock().unwrap().crash().unwrap();
    let s = open(&disk);
    for i in 0..20 {
        assert_eq!(get(&s, &std::format!("a{i}")), Some(b"durable".to_vec()));
    }
}

#[test]
fn a_failed_commit_fails_every_pending_write_and_refuses_more() {
    let disk = Shared::new();
    let mut s = open(&disk);
    let early = s.write_deferred(put("early", "1")).unwrap();
    s.commit().unwrap();
    let t1 = s.write_deferred(put("x", "1")).unwrap();
    let t2 = s.write_deferred(put("y", "2")).unwrap();
    disk.0.lock().unwrap().cut_power_after(0);
    let err = s.commit().expect_err("the flush fails");
    assert_eq!(err, Error::Device(DeviceError::PowerLoss));
    assert_eq!(s.status(early), Commit::Durable);
    assert_eq!(s.status(t1), Commit::Failed(err.clone()));
    assert_eq!(s.status(t2), Commit::Failed(err.clone()));
    assert_eq!(s.pending(), 0, "failed writes are settled, not pending");
    assert!(
        s.write_deferred(put("z", "3")).is_err(),
        "a store whose WAL flush failed refuses writes"
    );
}

#[test]
fn a_synchronous_write_makes_earlier_deferred_ones_durable() {
    let disk = Shared::new();
    let mut s = open(&disk);
    let t = s.write_deferred(put("a", "1")).unwrap();
    let before = disk.flushes();
    s.write(put("b", "2")).unwrap();
    assert_eq!(disk.flushes(), before + 1);
    assert_eq!(s.status(t), Commit::Durable);
    assert_eq!(s.pending(), 0);
}

#[test]
fn buffered_writes_go_out_after_the_deadline_and_not_before() {
    let disk = Shared::new();
    let mut s = open(&disk);
    set_now(1_000);
    s.write_buffered(&mut put("a", "1"), false).unwrap();
    let writes = disk.writes();
    set_now(1_000 + WAL_WRITEOUT_US - 1);
    s.tick().unwrap();
    assert_eq!(disk.writes(), writes, "not before the deadline");
    set_now(1_000 + WAL_WRITEOUT_US);
    s.tick().unwrap();
    assert!(disk.writes() > writes, "written out at the deadline");
    let written = disk.writes();
    set_now(1_000 + 10 * WAL_WRITEOUT_US);
    s.tick().unwrap();
    assert_eq!(disk.writes(), written, "once only");
    assert_eq!(s.wal_loss_bound_ms(), 5 + 10);
}

/// `key0000`..`key0299` flushed to a table, under a 1 MiB LRU cache.
fn tables_under_a_cache(disk: &Shared) -> Store {
    let mut s = open(disk);
    for i in 0..300 {
        s.write(put(&std::format!("key{i:04}"), "value")).unwrap();
    }
    s.flush().unwrap();
    s.set_cache(Some(Arc::new(StoreCache::new(Policy::Lru, 1 << 20))));
    s
}

#[test]
fn scans_are_recorded_before_their_blocks() {
    let disk = Shared::new();
    let mut s = tables_under_a_cache(&disk);
    s.start_trace();
    let mut it = s.scan(b"key0100", 5).unwrap();
    let mut keys = vec![];
    while it.valid() && keys.len() < 5 {
        keys.push(String::from_utf8(it.key().to_vec()).unwrap());
        it.next().unwrap();
    }
    drop(it);
    s.stop_trace();
    assert_eq!(
        keys,
        ["key0100", "key0101", "key0102", "key0103", "key0104"]
    );
    let text = s.recorder().text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], cache::trace::HEADER);
    assert_eq!(lines[1], "S 6b657930313030 5");
    assert!(
        lines[2..].iter().all(|l| l.starts_with("B ")),
        "the scan's blocks follow it: {lines:?}"
    );
    assert!(lines.len() > 2);
}

#[test]
fn the_recorder_sees_requests_only_while_it_records() {
    let disk = Shared::new();
    let mut s = tables_under_a_cache(&disk);
    // Not recording: the cache has no recorder in front of it.
    assert_eq!(get(&s, "key0001").as_deref(), Some(&b"value"[..]));
    let held = |s: &Store| s.cache().unwrap().stats().used_bytes;
    let before = held(&s);
    assert!(before > 0);
    s.start_trace();
    // Putting the recorder in front keeps what the cache holds.
    assert_eq!(held(&s), before);
    // A new cache while recording (CACHE POLICY, CACHE SIZE) keeps the
    // recorder in front.
    s.set_cache(Some(Arc::new(StoreCache::new(Policy::Arc, 1 << 20))));
    assert_eq!(get(&s, "key0002").as_deref(), Some(&b"value"[..]));
    let before = held(&s);
    let summary = s.stop_trace();
    assert_eq!(held(&s), before, "taking it away keeps it too");
    let recorded = s.recorder().text();
    assert!(summary.records >= 2, "a lookup and its block: {recorded}");
    assert!(recorded.contains("6b657930303032"), "key0002: {recorded}");
    assert!(!recorded.contains("6b657930303031"), "key0001: {recorded}");
    // Stopped: the text stays as it was.
    assert_eq!(get(&s, "key0003").as_deref(), Some(&b"value"[..]));
    assert_eq!(s.recorder().text(), recorded);
}

#[test]
fn clear_settles_pending_writes_then_drops_every_key() {
    let disk = Shared::new();
    let mut s = open(&disk);
    s.write(put("flushed", "1")).unwrap();
    s.flush().unwrap();
    let t = s.write_deferred(put("pending", "2")).unwrap();
    s.set_loaded_keys(100);
    s.clear().unwrap();
    // The deferred write was made durable before the clear, which then
    // removed it with everything else.
    assert_eq!(s.status(t), Commit::Durable);
    assert_eq!((get(&s, "flushed"), get(&s, "pending")), (None, None));
    assert_eq!(s.loaded_keys(), 0);
    s.write(put("after", "3")).unwrap();
    drop(s);
    let s = open(&disk);
    assert_eq!(get(&s, "after"), Some(b"3".to_vec()));
    assert_eq!(get(&s, "flushed"), None);
}

#[test]
fn close_leaves_everything_in_tables() {
    let disk = Shared::new();
    let mut s = open(&disk);
    s.write_deferred(put("k", "v")).unwrap();
    s.close().unwrap();
    let (db, report) = Db::open(
        Box::new(disk.clone()) as Disk,
        Options::for_disk(disk.capacity()),
    )
    .unwrap();
    assert_eq!(report.wal_records, 0, "nothing left to replay");
    assert_eq!(report.tables, 1);
    assert_eq!(db.get(b"k", None).unwrap(), Some(b"\x00v".to_vec()));
}

#[test]
fn expired_values_read_as_absent_and_compactions_reclaim_them() {
    let disk = Shared::new();
    let mut s = open(&disk);
    let now = s.now_ms();
    let mut b = WriteBatch::new();
    for i in 0..100 {
        let at = if i % 2 == 0 { Some(now + 1) } else { None };
        b.put(std::format!("k{i:03}").as_bytes(), &value::encode(b"v", at));
    }
    s.write(b).unwrap();
    assert!(get(&s, "k000").is_some(), "not expired yet");
    // 2 ms on the wall clock (the fake counter moves it 1 ms per 1000).
    advance(2_000);
    assert_eq!(get(&s, "k000"), None, "expired reads as absent");
    assert_eq!(get(&s, "k001"), Some(b"v".to_vec()));
    s.compact_all(&mut || false).unwrap();
    assert_eq!(s.stats().filtered_values, 50);
    assert_eq!(s.verify(&mut || false).entries, 50);
}

#[test]
fn active_expiry_walks_a_bounded_number_of_keys_from_where_it_stopped() {
    let disk = Shared::new();
    let mut s = open(&disk);
    assert_eq!(s.expire_step(10).unwrap(), 0, "an empty store");
    let now = s.now_ms();
    let mut b = WriteBatch::new();
    // k000..k099; every third expires 1 ms from now, but k051 in an hour.
    for i in 0..100 {
        let at = match i {
            51 => Some(now + 3_600_000),
            _ if i % 3 == 0 => Some(now + 1),
            _ => None,
        };
        b.put(std::format!("k{i:03}").as_bytes(), &value::encode(b"v", at));
    }
    s.write(b).unwrap();
    assert_eq!(s.expire_step(100).unwrap(), 0, "nothing has expired yet");
    advance(2_000);
    let raw = |s: &Store, k: &str| s.db().get(k.as_bytes(), None).unwrap();
    // k000..k029 hold 10 expired keys (k000, k003, ... k027).
    assert_eq!(s.expire_step(30).unwrap(), 10);
    assert_eq!(raw(&s, "k027"), None, "deleted, not only hidden");
    assert!(raw(&s, "k030").is_some(), "beyond the budget");
    assert_eq!(s.expired_keys(), 10);
    // On from k030: k030..k099 hold 23 more (k051 is the one that stays).
    assert_eq!(s.expire_step(1000).unwrap(), 23);
    assert_eq!(s.expired_keys(), 33);
    assert!(raw(&s, "k051").is_some() && raw(&s, "k001").is_some());
    // The walk wrapped around: the next step starts at the first key again
    // and finds nothing more.
    assert_eq!(s.expire_step(1000).unwrap(), 0);
    assert_eq!(s.pending(), 0, "buffered deletions, no ticket to wait for");
    s.sync().unwrap();
    assert_eq!(s.verify(&mut || false).errors.len(), 0);
    let live = (0..100).filter(|i| get(&s, &std::format!("k{i:03}")).is_some());
    assert_eq!(live.count(), 67);
}

#[test]
fn the_largest_string_is_the_largest_value_less_the_header() {
    let disk = Shared::new();
    let s = open(&disk);
    assert_eq!(
        s.max_string_len(),
        s.db().max_value_len() - value::MAX_HEADER
    );
    // An 8 MiB disk's 512 KiB WAL half holds less than the 1 MiB the
    // options allow.
    assert!(s.max_string_len() > 500 << 10 && s.max_string_len() < 512 << 10);
}

/// A store on `disk` holding `k0`..`k9`, none with an expiry.
fn ten_plain_keys(disk: &Shared) -> Store {
    let mut s = open(disk);
    let mut b = WriteBatch::new();
    for i in 0..10 {
        b.put(std::format!("k{i}").as_bytes(), &value::encode(b"v", None));
    }
    s.write(b).unwrap();
    s
}

#[test]
fn the_active_expiry_rests_while_no_key_expires() {
    let disk = Shared::new();
    let mut s = ten_plain_keys(&disk);
    // One whole pass finds no expiry: from then on a step reads nothing.
    assert_eq!(s.expire_step(100).unwrap(), 0);
    let reads = s.stats().io.reads;
    let before = s.db().stats().memtable_bytes;
    assert_eq!(s.expire_step(100).unwrap(), 0);
    assert_eq!(
        (s.stats().io.reads, s.db().stats().memtable_bytes),
        (reads, before)
    );
    assert!(!s.may_expire);
    // A value with an expiry wakes it up.
    let now = s.now_ms();
    let mut b = WriteBatch::new();
    b.put(b"soon", &value::encode(b"v", Some(now)));
    s.write(b).unwrap();
    assert!(s.may_expire);
    advance(2_000);
    assert_eq!(s.expire_step(100).unwrap(), 1);
}

/// A value with an expiry written behind a pass's cursor (the pass will
/// not meet it) keeps the active expiry awake for the next pass, which
/// deletes it once it has expired.
#[test]
fn an_expiring_write_behind_the_cursor_keeps_the_active_expiry_awake() {
    let disk = Shared::new();
    let mut s = ten_plain_keys(&disk);
    assert_eq!(s.expire_step(5).unwrap(), 0, "half a pass");
    let now = s.now_ms();
    let mut b = WriteBatch::new();
    b.put(b"a", &value::encode(b"v", Some(now + 1)));
    s.write(b).unwrap();
    assert_eq!(s.expire_step(100).unwrap(), 0, "the pass ends past k9");
    assert!(
        s.may_expire,
        "\"a\" is behind the cursor: not seen by that pass"
    );
    advance(2_000);
    assert_eq!(s.expire_step(100).unwrap(), 1);
}

mod cores;

//! Background mode: flushes and compactions on other threads while the
//! owner writes and reads, checked against a model; snapshots held across
//! them; the writers' brakes; a flush inside a long compaction; a handle
//! that outlives its store. Power cuts are in `background_crash`.

use super::*;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc as StdArc;
use std::thread;

fn yield_now() {
    thread::yield_now();
}

pub(super) fn bg_opts() -> Options {
    Options {
        background: true,
        wait: Some(yield_now),
        ..small_opts()
    }
}

/// Threads that loop over [`Background::work`], yielding when idle, until
/// dropped; `paused` holds them off (from the start if asked).
pub(super) struct Workers {
    stop: StdArc<AtomicBool>,
    paused: StdArc<AtomicBool>,
    threads: Vec<thread::JoinHandle<(u64, u64)>>,
}

impl Workers {
    pub(super) fn start<D: BlockDevice + Send + 'static>(bg: &Background<D>, n: usize) -> Workers {
        Self::start_paused(bg, n, false)
    }

    fn start_paused<D: BlockDevice + Send + 'static>(
        bg: &Background<D>,
        n: usize,
        paused: bool,
    ) -> Workers {
        let stop = StdArc::new(AtomicBool::new(false));
        let paused = StdArc::new(AtomicBool::new(paused));
        let threads = (0..n)
            .map(|_| {
                let (bg, stop, paused) = (bg.clone(), stop.clone(), paused.clone());
                thread::spawn(move || {
                    let (mut done, mut failed) = (0u64, 0u64);
                    while !stop.load(Ordering::Relaxed) {
                        if paused.load(Ordering::Relaxed) {
                            thread::yield_now();
                            continue;
                        }
                        match bg.work() {
                            Ok(true) => done += 1,
                            // Idle, put off, or another thread's job.
                            Ok(false) => thread::yield_now(),
                            // A job that failed (a power cut): wait a moment.
                            Err(_) => {
                                failed += 1;
                                thread::yield_now();
                            }
                        }
                    }
                    (done, failed)
                })
            })
            .collect();
        Workers {
            stop,
            paused,
            threads,
        }
    }

    /// Stops the threads; the units of work they did, and the jobs that
    /// failed.
    pub(super) fn finish(mut self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        self.threads
            .drain(..)
            .map(|t| t.join().unwrap())
            .fold((0, 0), |(a, b), (c, d)| (a + c, b + d))
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

static NOTIFIES: AtomicU64 = AtomicU64::new(0);

fn count_notify() {
    NOTIFIES.fetch_add(1, Ordering::Relaxed);
}

/// Two background threads flush and compact while the owner writes,
/// overwrites, deletes and reads random keys: every read and cursor agrees
/// with the model throughout, snapshots keep what they saw, and after a
/// close and a reopen the store is the model.
#[test]
fn background_threads_keep_up_with_a_model() {
    for seed in 0..2u64 {
        let mut rng = Rng::new(seed + 100);
        let opts = Options {
            notify: Some(count_notify),
            ..bg_opts()
        };
        let (mut db, _) = Db::open(MemDevice::new(16 << 20), opts).unwrap();
        let workers = Workers::start(&db.background(), 2);
        let mut model = Model::new();
        let mut snaps: Vec<(Snapshot, Model)> = Vec::new();
        for step in 0..25_000u64 {
            match rng.uniform(100) {
                0..=59 => {
                    let (k, v) = (key(&mut rng, 3000), value(&mut rng, step));
                    db.put(&k, &v, rng.one_in(50)).unwrap();
                    model.insert(k, v);
                }
                60..=74 => {
                    let k = key(&mut rng, 3000);
                    db.delete(&k, false).unwrap();
                    model.remove(&k);
                }
                75..=97 => {
                    let k = key(&mut rng, 3000);
                    assert_eq!(db.get(&k, None).unwrap(), model.get(&k).cloned());
                }
                98 => {
                    // A short scan from a random key.
                    let start = key(&mut rng, 3000);
                    let got = db.range(&start, None, 20, None).unwrap();
                    let want: Vec<(Vec<u8>, Vec<u8>)> = model
                        .range(start..)
                        .take(20)
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    assert_eq!(got, want, "step {step}");
                }
                _ => {
                    if snaps.len() < 3 {
                        snaps.push((db.snapshot(), model.clone()));
                    } else {
                        let (s, m) = snaps.remove(0);
                        assert_eq!(contents(&db, Some(&s)), m, "step {step}");
                        db.release_snapshot(s);
                    }
                }
            }
            if step % 5000 == 4999 {
                assert_eq!(contents(&db, None), model, "step {step}");
            }
        }
        for (s, m) in snaps {
            assert_eq!(contents(&db, Some(&s)), m);
            db.release_snapshot(s);
        }
        assert_eq!(contents(&db, None), model);
        let stats = db.stats();
        assert!(stats.flushes >= 20, "{} flushes", stats.flushes);
        // Every flush and compaction told waiting writers.
        let installs = stats.flushes + stats.compactions;
        assert!(NOTIFIES.swap(0, Ordering::Relaxed) >= installs);
        assert!(stats.compactions >= 5, "{} compactions", stats.compactions);
        let bg = db.background();
        let dev = db.close().unwrap();
        let (units, failed) = workers.finish();
        assert!(
            units >= 25 && failed == 0,
            "{units} units of work, {failed} failed"
        );
        // A handle that outlives its store does nothing.
        assert!(!bg.pending());
        assert!(!bg.work().unwrap());
        let (db, _) = Db::open(dev, bg_opts()).unwrap();
        assert_eq!(contents(&db, None), model);
        for k in model.keys().step_by(13) {
            assert_eq!(db.get(k, None).unwrap().as_ref(), model.get(k));
        }
        assert!(db.verify().errors.is_empty());
    }
}

/// A snapshot taken before many background flushes and compactions still
/// reads what it saw, by lookups and by a cursor, while the store is
/// rewritten under it.
#[test]
fn snapshots_survive_background_compactions() {
    let (mut db, _) = Db::open(MemDevice::new(16 << 20), bg_opts()).unwrap();
    let workers = Workers::start(&db.background(), 1);
    let k = |i: u32| format!("key{i:05}").into_bytes();
    for i in 0..3000u32 {
        db.put(&k(i), format!("old{i}").as_bytes(), false).unwrap();
    }
    let snap = db.snapshot();
    let compactions = db.stats().compactions;
    for round in 0..6u32 {
        for i in 0..3000u32 {
            if (i + round) % 3 == 0 {
                db.delete(&k(i), false).unwrap();
            } else {
                db.put(&k(i), format!("new{round}-{i}").as_bytes(), false)
                    .unwrap();
            }
        }
    }
    // Until the background has compacted at least once under the snapshot.
    while db.stats().compactions < compactions + 3 {
        db.put(b"filler", &[0; 100], false).unwrap();
    }
    for i in (0..3000u32).step_by(7) {
        let v = db.get(&k(i), Some(&snap)).unwrap();
        assert_eq!(v, Some(format!("old{i}").into_bytes()));
    }
    let seen = contents(&db, Some(&snap));
    assert_eq!(seen.len(), 3000);
    assert!(seen
        .iter()
        .all(|(key, v)| v.starts_with(b"old") && key.starts_with(b"key")));
    db.release_snapshot(snap);
    drop(workers);
}

static DELAYS: AtomicU64 = AtomicU64::new(0);

fn count_delay(_us: u64) {
    DELAYS.fetch_add(1, Ordering::Relaxed);
}

/// The brakes: with the background paused, a writer that fills the memtable
/// while the frozen one waits, or while level 0 is at the stop trigger,
/// waits (and is delayed once per write at the slowdown trigger); once the
/// background runs, it goes on.
#[test]
fn writers_wait_for_a_paused_background_then_go_on() {
    // Level 0 at the stop trigger: 12 tables flushed by an inline store
    // that never compacts them.
    let inline = Options {
        l0_compaction_trigger: 100,
        ..small_opts()
    };
    let (mut db, _) = Db::open(MemDevice::new(16 << 20), inline).unwrap();
    let mut model = Model::new();
    for t in 0..12u32 {
        for i in 0..50u32 {
            let k = format!("key{:04}", i * 12 + t).into_bytes();
            db.put(&k, b"first", false).unwrap();
            model.insert(k, b"first".to_vec());
        }
        db.flush().unwrap();
    }
    assert_eq!(db.stats().levels[0].0, 12);
    let dev = db.close().unwrap();
    // LevelDB's triggers, which the 12 tables above meet.
    let opts = Options {
        delay_us: Some(count_delay),
        l0_slowdown_trigger: 8,
        l0_stop_trigger: 12,
        ..bg_opts()
    };
    let (db, _) = Db::open(dev, opts).unwrap();
    let bg = db.background();
    assert!(bg.pending(), "a level-0 compaction is due");
    let workers = Workers::start_paused(&bg, 1, true);
    let written = StdArc::new(AtomicU64::new(0));
    let count = written.clone();
    let writer = thread::spawn(move || {
        let mut db = db;
        let mut model = model;
        for i in 0..2000u32 {
            let k = format!("late{i:05}").into_bytes();
            db.put(&k, &[b'x'; 64], false).unwrap();
            model.insert(k, vec![b'x'; 64]);
            count.fetch_add(1, Ordering::Relaxed);
        }
        (db, model)
    });
    // The writer stops when its memtable is full: level 0 is at the stop
    // trigger, and nothing compacts it.
    let mut last = u64::MAX;
    loop {
        thread::sleep(std::time::Duration::from_millis(100));
        let now = written.load(Ordering::Relaxed);
        if now == last {
            break;
        }
        last = now;
    }
    assert!(!writer.is_finished(), "the writer went through the stop");
    assert!(last > 0 && last < 2000, "{last} writes before the stop");
    assert!(DELAYS.load(Ordering::Relaxed) >= last, "each write delayed");
    workers.paused.store(false, Ordering::Relaxed);
    let (db, model) = writer.join().unwrap();
    assert_eq!(written.load(Ordering::Relaxed), 2000);
    let stats = db.stats();
    assert!(
        stats.compactions >= 1 && stats.levels[0].0 < 12,
        "{stats:?}"
    );
    assert_eq!(contents(&db, None), model);
    drop(workers);
}

/// Without a level-0 backlog the one brake is the frozen memtable: a
/// writer that fills the next one while the background is paused waits
/// until it flushes.
#[test]
fn a_full_memtable_waits_for_the_frozen_one() {
    let (db, _) = Db::open(MemDevice::new(16 << 20), bg_opts()).unwrap();
    let bg = db.background();
    let written = StdArc::new(AtomicU64::new(0));
    let count = written.clone();
    let writer = thread::spawn(move || {
        let mut db = db;
        for i in 0..1000u32 {
            db.put(format!("k{i:05}").as_bytes(), &[7; 100], false)
                .unwrap();
            count.fetch_add(1, Ordering::Relaxed);
        }
        db
    });
    let mut last = u64::MAX;
    loop {
        thread::sleep(std::time::Duration::from_millis(100));
        let now = written.load(Ordering::Relaxed);
        // At least one memtable's worth goes in before any wait: a pause
        // below that is the scheduler's, not the store's.
        if now == last && now >= 150 {
            break;
        }
        last = now;
    }
    // Two memtables' worth (16 KiB each, ~130 bytes a write), no more.
    assert!((150..400).contains(&last), "{last} writes before the wait");
    assert!(bg.pending());
    while !writer.is_finished() {
        bg.work().unwrap();
        thread::yield_now();
    }
    let db = writer.join().unwrap();
    assert_eq!(db.get(b"k00999", None).unwrap(), Some(vec![7; 100]));
    while bg.work().unwrap() {}
    assert!(!bg.pending());
    assert!(db.stats().flushes >= 4);
}

/// The handle goes to another core whatever the device, as long as the
/// device can move: the kernel's is a boxed one.
#[test]
fn the_handle_can_go_to_another_core() {
    fn is_send_sync_clone<T: Send + Sync + Clone>() {}
    fn handle<D: BlockDevice + Send>() {
        is_send_sync_clone::<Background<D>>();
    }
    handle::<MemDevice>();
    handle::<Box<dyn BlockDevice + Send>>();
}

/// Values the slow filter has been asked about.
static FILTERED: AtomicU64 = AtomicU64::new(0);

/// A compaction filter that takes a moment per value (and keeps them all),
/// so that a compaction lasts long enough to be caught in the middle,
/// without holding any lock of the store meanwhile.
struct SlowFilter;

impl CompactionFilter for SlowFilter {
    fn is_dead(&self, _key: &[u8], _value: &[u8]) -> bool {
        FILTERED.fetch_add(1, Ordering::Relaxed);
        thread::sleep(std::time::Duration::from_micros(50));
        false
    }
}

/// A memtable frozen while a long compaction merges is flushed in the
/// middle of it (LevelDB's check of `imm_` in `DoCompactionWork`): the
/// writer waiting for it goes on before the compaction ends.
#[test]
fn a_memtable_frozen_during_a_compaction_is_flushed_within_it() {
    let opts = Options {
        l0_compaction_trigger: 100,
        l1_max_bytes: 64 << 20,
        ..small_opts()
    };
    let (mut db, _) = Db::open(MemDevice::new(16 << 20), opts).unwrap();
    let k = |i: u32| format!("key{i:05}").into_bytes();
    for i in 0..6000u32 {
        db.put(&k(i), &[b'a'; 150], false).unwrap();
    }
    db.compact_all().unwrap();
    // Four level-0 tables over the whole key range: one compaction of
    // everything is due once level 0's trigger is back to four.
    for t in 0..4u32 {
        for i in (t..6000).step_by(97) {
            db.put(&k(i), &[b'b'; 150], false).unwrap();
        }
        db.flush().unwrap();
    }
    let dev = db.close().unwrap();
    let opts = Options {
        l1_max_bytes: 64 << 20,
        ..bg_opts()
    };
    let (mut db, _) = Db::open(dev, opts).unwrap();
    db.set_compaction_filter(Some(Arc::new(SlowFilter)));
    let bg = db.background();
    assert!(bg.pending());
    let workers = Workers::start(&bg, 1);
    // The compaction asks about 6,000 values at 50 us each: well under way
    // after the first hundred.
    while FILTERED.load(Ordering::Relaxed) < 100 {
        assert_eq!(db.stats().compactions, 0);
        thread::yield_now();
    }
    // Two memtables' worth: the second waits for the first's flush.
    for i in 0..300u32 {
        db.put(format!("new{i:04}").as_bytes(), &[b'c'; 100], false)
            .unwrap();
    }
    let stats = db.stats();
    assert!(stats.flushes >= 1, "{stats:?}");
    assert_eq!(stats.compactions, 0, "the writer waited for the compaction");
    while db.stats().compactions == 0 {
        thread::yield_now();
    }
    drop(workers);
    assert_eq!(db.get(b"key00097", None).unwrap(), Some(vec![b'b'; 150]));
    assert_eq!(db.get(b"new0299", None).unwrap(), Some(vec![b'c'; 100]));
}

/// Not a check: the rate of random fills with the store's work inline and
/// on a background thread (`cargo test --release -p lsm fill_rate --
/// --ignored --nocapture`; `LSM_FILL_KEYS` keys, 300,000 by default).
#[test]
#[ignore]
fn fill_rate_inline_and_background() {
    let keys: u64 = std::env::var("LSM_FILL_KEYS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300_000);
    let capacity = 512u64 << 20;
    for background in [false, true] {
        let opts = Options {
            background,
            wait: Some(yield_now),
            ..Options::for_disk(capacity)
        };
        let (mut db, _) = Db::open(MemDevice::new(capacity as usize), opts).unwrap();
        let workers = background.then(|| Workers::start(&db.background(), 1));
        let mut rng = Rng::new(1);
        let value = [b'v'; 100];
        let start = std::time::Instant::now();
        for _ in 0..keys {
            let k = format!("{:016}", rng.uniform(keys));
            db.put(k.as_bytes(), &value, false).unwrap();
        }
        let secs = start.elapsed().as_secs_f64();
        let s = db.stats();
        std::eprintln!(
            "background {background}: {keys} puts in {secs:.2} s, {:.0} ops/s; {} flushes, {} compactions, level 0 at the end {}",
            keys as f64 / secs,
            s.flushes,
            s.compactions,
            s.levels[0].0
        );
        drop(db);
        drop(workers);
    }
}

static SEEK_WAKES: AtomicU64 = AtomicU64::new(0);

fn count_seek_wake() {
    SEEK_WAKES.fetch_add(1, Ordering::Relaxed);
}

/// In background mode, lookups that use up a table's seek budget wake the
/// background (which sleeps until woken), and its work then compacts the
/// table away.
#[test]
fn a_seek_compaction_asked_by_lookups_wakes_the_background() {
    let k = |i: u32| format!("k{i:04}").into_bytes();
    // Two overlapping level-0 tables, made inline, then the store reopened
    // in background mode.
    let (mut db, _) = Db::open(MemDevice::new(8 << 20), small_opts()).unwrap();
    super::two_overlapping_tables(&mut db);
    let dev = db.close().unwrap();
    let opts = Options {
        wake: Some(count_seek_wake),
        ..bg_opts()
    };
    let (db, _) = Db::open(dev, opts).unwrap();
    assert_eq!(db.stats().levels[0].0, 2);
    let before = SEEK_WAKES.load(Ordering::Relaxed);
    // Odd keys are only in the older table: the newer one is probed in vain.
    for _ in 0..4 {
        for i in (1..200).step_by(2) {
            assert_eq!(db.get(&k(i), None).unwrap().as_deref(), Some(&b"old"[..]));
        }
    }
    assert!(db.seek_compaction_pending());
    assert_eq!(SEEK_WAKES.load(Ordering::Relaxed), before + 1, "woken once");
    let bg = db.background();
    assert!(bg.pending());
    while bg.work().unwrap() {}
    assert_eq!(db.stats().levels[0].0, 0);
    for i in 0..200 {
        let want: &[u8] = if i % 2 == 0 { b"new" } else { b"old" };
        assert_eq!(db.get(&k(i), None).unwrap().as_deref(), Some(want));
    }
}

static CALLER_DELAYS: AtomicU64 = AtomicU64::new(0);

fn count_caller_delay(us: u64) {
    assert_eq!(us, WRITE_SLOWDOWN_US);
    CALLER_DELAYS.fetch_add(1, Ordering::Relaxed);
}

/// A caller that waits a write's slowdown out itself (without its lock)
/// says so, and that write is not delayed again; the next one is.
#[test]
fn a_write_its_caller_delayed_is_not_delayed_again() {
    let (db, _) = Db::open(MemDevice::new(16 << 20), bg_opts()).unwrap();
    assert!(db.write_delay().is_none(), "no level-0 backlog, no delay");
    drop(db);
    let inline = Options {
        l0_compaction_trigger: 100,
        ..small_opts()
    };
    let (mut db, _) = Db::open(MemDevice::new(16 << 20), inline).unwrap();
    for t in 0..9u32 {
        for i in 0..20u32 {
            db.put(format!("key{:04}", i * 9 + t).as_bytes(), b"v", false)
                .unwrap();
        }
        db.flush().unwrap();
    }
    let opts = Options {
        delay_us: Some(count_caller_delay),
        l0_slowdown_trigger: 8,
        l0_stop_trigger: 12,
        ..bg_opts()
    };
    let (mut db, _) = Db::open(db.close().unwrap(), opts).unwrap();
    let delay = db
        .write_delay()
        .expect("level 0 is at the slowdown trigger");
    delay(WRITE_SLOWDOWN_US);
    db.note_write_delayed();
    db.put(b"a", b"1", false).unwrap();
    assert_eq!(CALLER_DELAYS.load(Ordering::Relaxed), 1);
    db.put(b"b", b"2", false).unwrap();
    assert_eq!(CALLER_DELAYS.load(Ordering::Relaxed), 2);
    assert_eq!(db.stats().write_stalls.slowdowns, 2);
    assert_eq!(db.get(b"a", None).unwrap().unwrap(), b"1");
}

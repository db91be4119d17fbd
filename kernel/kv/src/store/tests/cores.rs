//! The store under several threads at once, as the kernel's cores use
//! it: a background thread's flushes and compactions while others read and
//! write, readers on several cores, and the cell's lock-free answers.

use super::*;
use lsm::percore::CoreIndex;

fn yield_now() {
    std::thread::yield_now();
}

/// Background mode with small memtables and tables, so that a test's few
/// hundred writes make many flushes and compactions.
fn background_opts(disk: &Shared, core: CoreIndex) -> Options {
    Options {
        background: true,
        wait: Some(yield_now),
        write_buffer_size: 32 << 10,
        table_size: 16 << 10,
        l1_max_bytes: 64 << 10,
        core,
        ..Options::for_disk(disk.capacity())
    }
}

/// A store in background mode, its flushes and compactions on another
/// thread that never takes the store's lock: group commits, reads and
/// expiry work as inline, the background does the flushes and compactions,
/// and after the service's close (which flushes) the disk holds every key.
#[test]
fn a_background_store_serves_while_another_thread_compacts() {
    use core::sync::atomic::{AtomicBool, Ordering};
    let disk = Shared::new();
    let opts = background_opts(&disk, CoreIndex::Shared);
    let (db, _) = Db::open(Box::new(disk.clone()) as Disk, opts.clone()).expect("open");
    let store = StdArc::new(StoreCell::new(Some(Store::new(db, CLOCK))));
    let bg = store.lock().as_ref().unwrap().background();
    let stop = StdArc::new(AtomicBool::new(false));
    let worker = {
        let (bg, stop) = (bg.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut units = 0u64;
            while !stop.load(Ordering::Relaxed) {
                match bg.work() {
                    Ok(true) => units += 1,
                    _ => std::thread::yield_now(),
                }
            }
            units
        })
    };
    let mut model = std::collections::BTreeMap::new();
    for round in 0..40u32 {
        let mut guard = store.lock();
        let s = guard.as_mut().unwrap();
        for i in 0..100u32 {
            let k = std::format!("key{:05}", (i * 7 + round * 13) % 3000);
            let v = std::format!("r{round}-{i}-{}", "v".repeat(100));
            s.write_deferred(put(&k, &v)).unwrap();
            model.insert(k, v);
        }
        s.commit().unwrap();
        for k in model.keys().step_by(37) {
            assert_eq!(get(s, k), Some(model[k].as_bytes().to_vec()), "{k}");
        }
        // A seek compaction asked for by a lookup is the background's.
        assert!(!s.idle_compaction().unwrap());
    }
    let stats = store.lock().as_ref().unwrap().stats();
    assert!(stats.flushes > 5 && stats.compactions > 0, "{stats:?}");
    let s = store.lock().take().unwrap();
    s.close().unwrap();
    stop.store(true, Ordering::Relaxed);
    assert!(worker.join().unwrap() > 5);
    assert!(!bg.work().unwrap(), "a closed store's handle does nothing");
    let (db, report) = Db::open(Box::new(disk.clone()) as Disk, opts).unwrap();
    assert_eq!(report.wal_records, 0, "the close flushed everything");
    for (k, v) in &model {
        let stored = db.get(k.as_bytes(), None).unwrap().unwrap();
        assert_eq!(value::decode(&stored).unwrap().value, v.as_bytes());
    }
}

std::thread_local! {
    static CORE: core::cell::Cell<usize> = const { core::cell::Cell::new(0) };
}

fn thread_core() -> usize {
    CORE.with(|c| c.get())
}

/// Readers on their own per-core slots (the lock's counters, the store's
/// views and lookup buffers) while a writer overwrites and a background
/// thread flushes and compacts: every read is a value the key has had,
/// never older than what the writer had committed before the read began.
#[test]
fn readers_on_several_cores_see_every_committed_write() {
    use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    let disk = Shared::new();
    let opts = background_opts(&disk, CoreIndex::Fn(thread_core));
    let (db, _) = Db::open(Box::new(disk.clone()) as Disk, opts).expect("open");
    let store = StdArc::new(StoreCell::per_core(
        Some(Store::new(db, CLOCK)),
        CoreIndex::Fn(thread_core),
    ));
    let bg = store.lock().as_ref().unwrap().background();
    let stop = StdArc::new(AtomicBool::new(false));
    // The round every key was last written in, once committed.
    let committed = StdArc::new(AtomicU32::new(0));
    const KEYS: u32 = 400;
    let key = |i: u32| std::format!("key{i:04}");
    let value = |round: u32, i: u32| std::format!("{round:06}-{i}-{}", "v".repeat(60));
    let mut threads = Vec::new();
    {
        let (bg, stop) = (bg.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            CORE.with(|c| c.set(1));
            while !stop.load(Ordering::Relaxed) {
                if !matches!(bg.work(), Ok(true)) {
                    std::thread::yield_now();
                }
            }
            0
        }));
    }
    for reader in 0..3 {
        let (store, stop, committed) = (store.clone(), stop.clone(), committed.clone());
        threads.push(std::thread::spawn(move || {
            CORE.with(|c| c.set(2 + reader));
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let i = (n * 31 + reader as u32 * 7) % KEYS;
                let floor = committed.load(Ordering::Acquire);
                if floor == 0 {
                    std::thread::yield_now();
                    continue;
                }
                let guard = store.read();
                let got = get(guard.as_ref().unwrap(), &key(i)).expect("every key is there");
                let round: u32 = core::str::from_utf8(&got[..6]).unwrap().parse().unwrap();
                assert!(
                    round >= floor,
                    "key {i}: round {round} read after {floor} committed"
                );
                assert_eq!(got, value(round, i).as_bytes());
                n += 1;
            }
            n
        }));
    }
    for round in 1..=60u32 {
        {
            let mut guard = store.lock();
            let s = guard.as_mut().unwrap();
            for i in 0..KEYS {
                s.write_deferred(put(&key(i), &value(round, i))).unwrap();
            }
            s.commit().unwrap();
        }
        committed.store(round, Ordering::Release);
    }
    stop.store(true, Ordering::Relaxed);
    let reads: u32 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert!(reads > 0);
    let stats = store.lock().as_ref().unwrap().stats();
    assert!(stats.flushes > 5 && stats.compactions > 0, "{stats:?}");
    store.lock().take().unwrap().close().unwrap();
}

#[test]
fn the_loops_learn_of_upkeep_without_the_lock_as_each_writer_lets_go() {
    let disk = Shared::new();
    let cell = StoreCell::new(None);
    assert!(!cell.has_pending() && !cell.has_upkeep(0) && !cell.may_expire());
    assert_eq!(cell.max_string_len(), None);
    set_now(1_000);
    *cell.lock() = Some(open(&disk));
    assert_eq!(
        cell.max_string_len(),
        Some(cell.read().as_ref().unwrap().max_string_len())
    );
    assert!(
        !cell.has_upkeep(u64::MAX - 1),
        "an idle store has nothing due"
    );
    assert_eq!(
        cell.may_expire(),
        cell.read().as_ref().unwrap().may_expire()
    );
    // A buffered write is due for write-out at its deadline, not before.
    cell.lock()
        .as_mut()
        .unwrap()
        .write_buffered(&mut put("a", "1"), false)
        .unwrap();
    assert!(!cell.has_pending());
    assert!(!cell.has_upkeep(1_000 + WAL_WRITEOUT_US - 1));
    assert!(cell.has_upkeep(1_000 + WAL_WRITEOUT_US));
    set_now(1_000 + WAL_WRITEOUT_US);
    cell.lock().as_mut().unwrap().tick().unwrap();
    assert!(!cell.has_upkeep(u64::MAX - 1), "written out: nothing due");
    // A deferred write waits for a commit, and its write-out clock is to
    // be started at once.
    cell.lock()
        .as_mut()
        .unwrap()
        .write_deferred(put("b", "2"))
        .unwrap();
    assert!(cell.has_pending() && cell.has_upkeep(0));
    cell.lock().as_mut().unwrap().commit().unwrap();
    assert!(!cell.has_pending() && !cell.has_upkeep(u64::MAX - 1));
    // A store taken out leaves nothing to do.
    drop(cell.lock().take());
    assert!(!cell.has_pending() && !cell.has_upkeep(u64::MAX - 1) && !cell.may_expire());
}

/// What a connection holding replies asks every round, answered without
/// the lock where it can be: as the store itself says, for pending,
/// durable and failed writes, and durable once the store is gone.
#[test]
fn the_cell_tells_a_tickets_commit_as_the_store_does() {
    let disk = Shared::new();
    let cell = StoreCell::new(Some(open(&disk)));
    let ticket = |k: &str| {
        cell.lock()
            .as_mut()
            .unwrap()
            .write_deferred(put(k, "v"))
            .unwrap()
    };
    let first = ticket("a");
    assert_eq!(cell.commit_status(first), Commit::Pending);
    cell.lock().as_mut().unwrap().commit().unwrap();
    assert_eq!(cell.commit_status(first), Commit::Durable);
    let second = ticket("b");
    assert_eq!(cell.commit_status(second), Commit::Pending);
    disk.0.lock().unwrap().cut_power_after(0);
    let err = cell
        .lock()
        .as_mut()
        .unwrap()
        .commit()
        .expect_err("the flush fails");
    assert_eq!(cell.commit_status(second), Commit::Failed(err));
    assert_eq!(cell.commit_status(first), Commit::Durable);
    // A store closed and taken out made its pending writes durable.
    let disk = Shared::new();
    let cell = StoreCell::new(Some(open(&disk)));
    let t = cell
        .lock()
        .as_mut()
        .unwrap()
        .write_deferred(put("c", "v"))
        .unwrap();
    assert_eq!(cell.commit_status(t), Commit::Pending);
    cell.lock().take().unwrap().close().unwrap();
    assert_eq!(cell.commit_status(t), Commit::Durable);
}

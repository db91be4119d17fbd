//! Tests of the store, through its API as its users call it: the helpers
//! every file here shares (options for small disks, a model to check
//! against, random keys and values, a filled store), then the whole-store
//! tests; those of one concern are in `tests/`: `background` (flushes and
//! compactions on other threads) and `background_crash` (power cuts with
//! them in flight), `caches` (block and point caches), `clear` (emptying
//! the store), `crash` (power cuts), `disks` (foreign, future and damaged
//! disks), `interrupt` (stop hooks), `moves` (trivial moves), `read_only`,
//! `space` (a full disk).

extern crate std;

use super::*;
use crate::device::{DeviceError, FaultDevice, MemDevice};
use crate::error::{Corruption, CorruptionKind};
use crate::iter::KvIter;
use crate::random::Rng;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::ToString;
use alloc::vec;
use std::format;

mod background;
mod background_crash;
mod caches;
mod clear;
mod concurrent_read;
mod crash;
mod disks;
mod filter;
mod flush;
mod interrupt;
mod moves;
mod pinned;
mod read_only;
mod space;
mod wal_sync;

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

fn small_opts() -> Options {
    Options {
        write_buffer_size: 16 << 10,
        table_size: 8 << 10,
        l1_max_bytes: 32 << 10,
        wal_half_bytes: 64 << 10,
        ..Options::default()
    }
}

fn contents<D: BlockDevice>(db: &Db<D>, snap: Option<&Snapshot>) -> Model {
    let mut it = db.iter(snap).unwrap();
    it.seek_to_first().unwrap();
    let mut out = Model::new();
    while it.valid() {
        out.insert(it.key().to_vec(), it.value().to_vec());
        it.next().unwrap();
    }
    out
}

fn key(rng: &mut Rng, space: u64) -> Vec<u8> {
    format!("key{:05}", rng.uniform(space)).into_bytes()
}

fn value(rng: &mut Rng, tag: u64) -> Vec<u8> {
    let len = if rng.one_in(50) {
        2000 + rng.uniform(3000)
    } else {
        rng.uniform(200)
    } as usize;
    let mut v = format!("v{tag}:").into_bytes();
    v.resize(v.len() + len, b'a' + (tag % 26) as u8);
    v
}

fn filled(n: u32) -> (Db<MemDevice>, Model) {
    let (mut db, _) = Db::open(MemDevice::new(8 << 20), small_opts()).unwrap();
    let mut model = Model::new();
    for i in 0..n {
        let k = format!("k{:05}", (i * 7919) % n).into_bytes();
        let v = format!("value{i}").into_bytes();
        db.put(&k, &v, false).unwrap();
        model.insert(k, v);
    }
    db.flush().unwrap();
    (db, model)
}

#[test]
fn smoke() {
    let (mut db, report) = Db::open(MemDevice::new(4 << 20), small_opts()).unwrap();
    assert!(report.formatted);
    db.put(b"a", b"1", true).unwrap();
    db.put(b"b", b"2", false).unwrap();
    db.delete(b"a", true).unwrap();
    assert_eq!(db.get(b"a", None).unwrap(), None);
    assert_eq!(db.get(b"b", None).unwrap(), Some(b"2".to_vec()));
    let dev = db.close().unwrap();
    let (db, report) = Db::open(dev, small_opts()).unwrap();
    assert!(!report.formatted);
    assert_eq!(report.wal_records, 3);
    assert_eq!(db.get(b"a", None).unwrap(), None);
    assert_eq!(db.get(b"b", None).unwrap(), Some(b"2".to_vec()));
    assert!(db.verify().errors.is_empty());
}

/// One batch, kept by its writer and reset between writes, writes each
/// time what it holds then, with a sequence number of its own; the WAL
/// replays them so.
#[test]
fn a_kept_batch_writes_what_it_holds_each_time() {
    let (mut db, _) = Db::open(MemDevice::new(4 << 20), small_opts()).unwrap();
    let mut b = WriteBatch::new();
    for (i, value) in [&b"one"[..], b"two-two", b"3"].iter().enumerate() {
        b.reset(WriteBatch::put_size(1, value.len()) * 2);
        b.put(b"k", value);
        if i == 1 {
            b.put(b"other", b"x");
        }
        db.write_batch(&mut b, false).unwrap();
        assert_eq!(db.get(b"k", None).unwrap(), Some(value.to_vec()));
    }
    b.reset(0);
    b.delete(b"other");
    db.write_batch(&mut b, true).unwrap();
    let dev = db.close().unwrap();
    let (db, report) = Db::open(dev, small_opts()).unwrap();
    assert_eq!(report.wal_records, 4);
    assert_eq!(db.get(b"k", None).unwrap(), Some(b"3".to_vec()));
    assert_eq!(db.get(b"other", None).unwrap(), None);
}

/// Random operations against a `BTreeMap`, with flushes, compactions,
/// snapshots and reopenings; every read is checked against the model.
#[test]
fn model_based_against_btreemap() {
    for seed in 0..4u64 {
        let mut rng = Rng::new(seed);
        let (mut db, _) = Db::open(MemDevice::new(8 << 20), small_opts()).unwrap();
        let mut model = Model::new();
        let mut snaps: Vec<(Snapshot, Model)> = Vec::new();
        for step in 0..2500u64 {
            match rng.uniform(100) {
                0..=54 => {
                    let (k, v) = (key(&mut rng, 400), value(&mut rng, step));
                    db.put(&k, &v, rng.one_in(3)).unwrap();
                    model.insert(k, v);
                }
                55..=69 => {
                    let k = key(&mut rng, 400);
                    db.delete(&k, false).unwrap();
                    model.remove(&k);
                }
                70..=72 => {
                    let mut b = WriteBatch::new();
                    for _ in 0..rng.uniform(10) {
                        let k = key(&mut rng, 400);
                        if rng.one_in(3) {
                            b.delete(&k);
                            model.remove(&k);
                        } else {
                            let v = value(&mut rng, step);
                            b.put(&k, &v);
                            model.insert(k, v);
                        }
                    }
                    db.write(b, false).unwrap();
                }
                73..=87 => {
                    let k = key(&mut rng, 400);
                    assert_eq!(
                        db.get(&k, None).unwrap(),
                        model.get(&k).cloned(),
                        "seed {seed} step {step}"
                    );
                }
                88..=91 => {
                    let start = key(&mut rng, 400);
                    let got = db.range(&start, None, 15, None).unwrap();
                    let want: Vec<(Vec<u8>, Vec<u8>)> = model
                        .range(start..)
                        .take(15)
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    assert_eq!(got, want, "seed {seed} step {step}");
                }
                92 => db.flush().unwrap(),
                93 => db.compact_all().unwrap(),
                94 | 95 => {
                    if snaps.len() < 3 {
                        snaps.push((db.snapshot(), model.clone()));
                    } else {
                        let (s, m) = snaps.remove(0);
                        assert_eq!(contents(&db, Some(&s)), m, "seed {seed} step {step}");
                        db.release_snapshot(s);
                    }
                }
                96 => {
                    for (s, _) in snaps.drain(..) {
                        db.release_snapshot(s);
                    }
                    let dev = db.close().unwrap();
                    let (reopened, report) = Db::open(dev, small_opts()).unwrap();
                    assert!(!report.wal_torn);
                    db = reopened;
                }
                _ => {
                    assert_eq!(contents(&db, None), model, "seed {seed} step {step}");
                }
            }
        }
        assert_eq!(contents(&db, None), model);
        for (s, m) in snaps.drain(..) {
            assert_eq!(contents(&db, Some(&s)), m);
            db.release_snapshot(s);
        }
        let report = db.verify();
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        let stats = db.stats();
        assert!(stats.compactions > 0 && stats.flushes > 0, "{stats:?}");
        assert!(stats.levels[1..].iter().any(|&(n, _)| n > 0));
        // Compacting everything leaves no tombstones and the same contents.
        db.compact_all().unwrap();
        assert_eq!(contents(&db, None), model);
        let in_tables: u64 = db.verify().entries;
        assert_eq!(in_tables, model.len() as u64);
    }
}

/// Tables of 1/128 of the disk between 64 KiB and 2 MiB, a memtable of
/// two tables (at most 4 MiB), five tables in level 1; the rest default.
#[test]
fn options_for_a_disk_scale_with_it() {
    let sizes = |o: &Options| (o.table_size, o.write_buffer_size, o.l1_max_bytes);
    for (capacity, want) in [
        (2u64 << 20, (64 << 10, 128 << 10, 320 << 10)),
        (8 << 20, (64 << 10, 128 << 10, 320 << 10)),
        (100 << 20, (819_200, 1_638_400, 4_096_000)),
        (256 << 20, (2 << 20, 4 << 20, 10 << 20)),
        (1 << 30, (2 << 20, 4 << 20, 10 << 20)),
    ] {
        let o = Options::for_disk(capacity);
        assert_eq!(sizes(&o), want, "{capacity} bytes");
        let d = Options::default();
        assert_eq!(
            (
                o.l0_compaction_trigger,
                o.level_ratio,
                o.max_compaction_bytes
            ),
            (
                d.l0_compaction_trigger,
                d.level_ratio,
                d.max_compaction_bytes
            )
        );
        let (wal_half, max_value) = if capacity >= LARGE_VALUE_DISK {
            (LARGE_VALUE_WAL_HALF, LARGE_VALUE_LEN)
        } else {
            (d.wal_half_bytes, d.max_value_len)
        };
        assert_eq!(
            (o.wal_half_bytes, o.max_key_len, o.max_value_len),
            (wal_half, d.max_key_len, max_value)
        );
        assert_eq!(o.table, d.table);
        assert!(o.create_if_missing && o.inline_maintenance);
    }
}

#[test]
fn oversized_keys_and_values_are_refused() {
    let (mut db, _) = Db::open(MemDevice::new(4 << 20), small_opts()).unwrap();
    assert_eq!(
        db.put(&[1; 1025], b"v", false),
        Err(Error::TooLong {
            what: "key",
            len: 1025,
            max: 1024
        })
    );
    assert_eq!(
        Error::TooLong {
            what: "key",
            len: 1025,
            max: 1024
        }
        .to_string(),
        "key too long (1025 bytes; the store keeps keys of at most 1024 bytes)"
    );
    assert!(db.put(&[1; 1024], b"v", false).is_ok());
    assert_eq!(
        db.put(b"k", &vec![0; (1 << 20) + 1], false),
        Err(Error::TooLong {
            what: "value",
            len: (1 << 20) + 1,
            max: 1 << 20
        })
    );
}

#[test]
fn a_large_disk_takes_16_mib_values_through_the_wal_a_flush_and_a_compaction() {
    let capacity = LARGE_VALUE_DISK;
    let (mut db, _) = Db::open(
        MemDevice::new(capacity as usize),
        Options::for_disk(capacity),
    )
    .unwrap();
    assert_eq!(db.max_value_len(), LARGE_VALUE_LEN);
    let big = |i: u8| vec![i; LARGE_VALUE_LEN];
    for i in 0..3u8 {
        db.put(&[b'k', i], &big(i), true).unwrap();
        db.put(b"small", &[i], true).unwrap();
    }
    assert_eq!(
        db.put(b"k", &vec![0; LARGE_VALUE_LEN + 1], false),
        Err(Error::TooLong {
            what: "value",
            len: LARGE_VALUE_LEN + 1,
            max: LARGE_VALUE_LEN
        })
    );
    // Replayed from the WAL.
    let dev = db.close().unwrap();
    let (mut db, report) = Db::open(dev, Options::for_disk(capacity)).unwrap();
    assert!(report.wal_records > 0);
    assert_eq!(db.get(b"k\x02", None).unwrap(), Some(big(2)));
    db.flush().unwrap();
    db.compact_all_with(&mut || false).unwrap();
    for i in 0..3u8 {
        assert_eq!(db.get(&[b'k', i], None).unwrap(), Some(big(i)));
    }
    assert_eq!(db.get(b"small", None).unwrap(), Some(vec![2]));
}

#[test]
fn the_largest_value_is_what_the_wal_half_of_the_format_holds() {
    // Formatted with the default (small) WAL half, opened with large-value
    // options: the WAL bounds what a write can carry.
    let capacity = LARGE_VALUE_DISK;
    let mut small = Options::for_disk(capacity);
    small.wal_half_bytes = 0;
    let (db, _) = Db::open(MemDevice::new(capacity as usize), small).unwrap();
    let dev = db.close().unwrap();
    let (mut db, _) = Db::open(dev, Options::for_disk(capacity)).unwrap();
    let max = db.max_value_len();
    assert!(
        max < db.layout().wal_half as usize && max > (8 << 20) - (64 << 10),
        "{max}"
    );
    db.put(&[b'k'; 1024], &vec![1; max], false).unwrap();
    // The bound is safe, and wastes less than 8 KiB.
    assert!(db.put(&[b'k'; 1024], &vec![1; max + 8192], false).is_err());
}

#[test]
fn stats_count_io_and_levels() {
    let (mut db, _) = Db::open(MemDevice::new(8 << 20), small_opts()).unwrap();
    for i in 0..2000u32 {
        db.put(format!("k{i:05}").as_bytes(), &[7; 100], false)
            .unwrap();
    }
    db.flush().unwrap();
    let s = db.stats();
    assert!(s.io.writes > 0 && s.io.write_bytes > 0 && s.io.flushes > 0);
    assert!(s.levels.iter().map(|l| l.0).sum::<usize>() > 0);
    assert!(s.write_amplification() > 1.0);
    assert!(s.table_free_bytes < s.table_region_bytes);
    assert_eq!(s.last_sequence, 2000);
}

#[test]
fn frozen_memtable_is_read_while_a_new_one_takes_writes() {
    let opts = Options {
        inline_maintenance: false,
        ..small_opts()
    };
    let (mut db, _) = Db::open(MemDevice::new(8 << 20), opts.clone()).unwrap();
    let mut model = Model::new();
    let mut rng = Rng::new(3);
    let mut saw_frozen = false;
    for step in 0..3000u64 {
        let (k, v) = (key(&mut rng, 300), value(&mut rng, step));
        db.put(&k, &v, false).unwrap();
        model.insert(k, v);
        saw_frozen |= db.stats().immutable_bytes > 0;
        if step % 500 == 499 {
            assert_eq!(contents(&db, None), model);
            db.maintenance().unwrap();
        }
    }
    assert!(saw_frozen);
    assert_eq!(contents(&db, None), model);
    let dev = db.close().unwrap();
    let (db, _) = Db::open(dev, opts).unwrap();
    assert_eq!(contents(&db, None), model);
}

#[test]
fn the_store_can_move_between_threads() {
    fn is_send<T: Send>() {}
    // For every device that can move, not only the ones named here.
    fn store_is_send<D: BlockDevice + Send>() {
        is_send::<Db<D>>();
    }
    store_is_send::<MemDevice>();
    store_is_send::<Box<dyn BlockDevice + Send>>();
    is_send::<Arc<crate::memtable::MemTable>>();
}

/// The kernel and host tools hold the store over a boxed device of a type
/// chosen at run time: it opens, writes, compacts, moves to another thread,
/// closes, and reopens, read-only too.
#[test]
fn a_store_on_a_boxed_device_works() {
    type Boxed = Box<dyn BlockDevice + Send>;
    let dev: Boxed = Box::new(MemDevice::new(8 << 20));
    let (mut db, report) = Db::open(dev, small_opts()).unwrap();
    assert!(report.formatted);
    let mut model = Model::new();
    for i in 0..2000u32 {
        let k = format!("k{i:05}").into_bytes();
        let v = format!("v{i}").into_bytes();
        db.put(&k, &v, false).unwrap();
        model.insert(k, v);
    }
    db.compact_all().unwrap();
    db.put(b"k00000", b"last", true).unwrap();
    model.insert(b"k00000".to_vec(), b"last".to_vec());
    let db = std::thread::spawn(move || {
        assert_eq!(db.get(b"k00000", None).unwrap(), Some(b"last".to_vec()));
        db
    })
    .join()
    .unwrap();
    let dev: Boxed = db.close().unwrap();
    let (db, report) = Db::open_read_only(dev, small_opts()).unwrap();
    assert_eq!(report.wal_records, 1);
    assert_eq!(contents(&db, None), model);
    let (db, _) = Db::open(db.close().unwrap(), small_opts()).unwrap();
    assert_eq!(contents(&db, None), model);
    assert!(db.verify().errors.is_empty());
}

#[test]
fn largest_keys_and_values_round_trip() {
    let opts = Options::default();
    let (mut db, _) = Db::open(MemDevice::new(64 << 20), opts.clone()).unwrap();
    let big: Vec<u8> = (0..1u32 << 20).map(|i| (i % 253) as u8).collect();
    let long_key = vec![b'k'; 1024];
    db.put(&long_key, &big, true).unwrap();
    db.put(b"small", b"v", true).unwrap();
    assert_eq!(db.get(&long_key, None).unwrap().as_ref(), Some(&big));
    let dev = db.close().unwrap();
    // Replayed from the WAL, then read from the level-0 table it was saved in.
    let (mut db, report) = Db::open(dev, opts.clone()).unwrap();
    assert_eq!(report.wal_records, 2);
    assert_eq!(db.get(&long_key, None).unwrap().as_ref(), Some(&big));
    db.compact_all().unwrap();
    assert_eq!(db.get(&long_key, None).unwrap().as_ref(), Some(&big));
    assert_eq!(db.get(b"small", None).unwrap(), Some(b"v".to_vec()));
    assert!(db.verify().errors.is_empty());
}

/// Two level-0 tables: `k0000`..`k0199` = "old", then the even keys
/// "new"; a lookup of an odd key probes the newer table in vain.
pub(super) fn two_overlapping_tables<D: BlockDevice>(db: &mut Db<D>) {
    let k = |i: u32| format!("k{i:04}").into_bytes();
    for i in 0..200 {
        db.put(&k(i), b"old", false).unwrap();
    }
    db.flush().unwrap();
    for i in (0..200).step_by(2) {
        db.put(&k(i), b"new", false).unwrap();
    }
    db.flush().unwrap();
}

/// Lookups that must look past a level-0 table use up its seek budget;
/// the maintenance that follows compacts level 0 away, and every key
/// still reads as written (LevelDB's seek compaction).
#[test]
fn lookups_that_look_past_a_table_get_it_compacted() {
    let (mut db, _) = Db::open(MemDevice::new(8 << 20), small_opts()).unwrap();
    let k = |i: u32| format!("k{i:04}").into_bytes();
    two_overlapping_tables(&mut db);
    assert_eq!(db.stats().levels[0].0, 2);
    assert!(!db.seek_compaction_pending());
    // Odd keys are only in the older table: the newer one is probed in vain.
    for round in 0..4 {
        for i in (1..200).step_by(2) {
            assert_eq!(db.get(&k(i), None).unwrap().as_deref(), Some(&b"old"[..]));
        }
        if round == 0 {
            // A table's budget is at least 100 lookups; this round charged
            // the newer table 99 (k0199 is past its range).
            assert!(!db.seek_compaction_pending());
        }
    }
    assert!(db.seek_compaction_pending());
    assert!(db.maintenance().unwrap());
    assert!(!db.seek_compaction_pending());
    assert_eq!(db.stats().levels[0].0, 0);
    for i in 0..200 {
        let want: &[u8] = if i % 2 == 0 { b"new" } else { b"old" };
        assert_eq!(db.get(&k(i), None).unwrap().as_deref(), Some(want));
    }
    // A pending compaction that cannot run is forgotten, not retried at once.
    db.forget_seek_compaction();
    assert!(!db.seek_compaction_pending());
}

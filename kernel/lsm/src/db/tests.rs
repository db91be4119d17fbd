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

mod crash;
mod interrupt;
mod read_only;

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

/// A disk that starts like an ELF file.
fn foreign_image() -> MemDevice {
    let mut dev = MemDevice::new(4 << 20);
    dev.bytes_mut()[..4].copy_from_slice(b"\x7fELF");
    dev
}

/// A store whose superblocks say format `version`, checksums right.
fn other_version_image(version: u32) -> MemDevice {
    let (db, _) = Db::open(MemDevice::new(4 << 20), small_opts()).unwrap();
    let mut dev = db.close().unwrap();
    for slot in [0usize, 4096] {
        let b = &mut dev.bytes_mut()[slot..slot + 88];
        if b.iter().all(|&x| x == 0) {
            continue;
        }
        b[8..12].copy_from_slice(&version.to_le_bytes());
        let crc = crate::crc32c::mask(crate::crc32c::value(&b[..84]));
        b[84..88].copy_from_slice(&crc.to_le_bytes());
    }
    dev
}

#[test]
fn foreign_and_future_disks_are_refused_untouched() {
    let dev = foreign_image();
    let before = dev.bytes().to_vec();
    let mut fault = FaultDevice::new(dev, 1);
    let r = Db::open(&mut fault, small_opts());
    assert_eq!(r.err(), Some(Error::ForeignFormat));
    assert_eq!(fault.counts(), (0, 0), "a foreign disk was written to");
    assert_eq!(fault.into_inner().bytes(), &before[..]);

    // A unikv disk of another version.
    let mut fault = FaultDevice::new(other_version_image(7), 1);
    let err = Db::open(&mut fault, small_opts()).err().unwrap();
    assert_eq!(
        err,
        Error::UnsupportedVersion {
            found: 7,
            supported: 1
        }
    );
    assert!(err.to_string().contains("refusing"));
    assert_eq!(fault.counts(), (0, 0));

    let opts = Options {
        create_if_missing: false,
        ..small_opts()
    };
    assert_eq!(
        Db::open(MemDevice::new(4 << 20), opts).err(),
        Some(Error::Unformatted)
    );
}

#[test]
fn damaged_table_is_reported_never_misread() {
    let (mut db, _) = Db::open(MemDevice::new(8 << 20), small_opts()).unwrap();
    let mut model = Model::new();
    for i in 0..400u32 {
        let k = format!("k{i:04}").into_bytes();
        let v = vec![(i % 251) as u8; 40];
        db.put(&k, &v, false).unwrap();
        model.insert(k, v);
    }
    db.flush().unwrap();
    let v = db.version();
    let f = v.files().next().unwrap().1.clone();
    let mut dev = db.close().unwrap();
    // Flip a byte in the middle of the table's first data block.
    dev.bytes_mut()[f.extents[0].offset as usize + 100] ^= 0x10;
    let (db, _) = Db::open(dev, small_opts()).unwrap();
    let report = db.verify();
    assert_eq!(report.errors.len(), 1);
    let msg = report.errors[0].to_string();
    assert!(
        msg.contains(&format!(
            "table {} block at offset 0: checksum mismatch",
            f.number
        )),
        "{msg}"
    );
    // Every read is right or an error naming the damage.
    let mut errors = 0;
    for (k, v) in &model {
        match db.get(k, None) {
            Ok(got) => assert_eq!(got.as_ref(), Some(v)),
            Err(e) => {
                assert!(e.to_string().starts_with("corruption: table"), "{e}");
                errors += 1;
            }
        }
    }
    assert!(errors > 0);
}

#[test]
fn full_disk_refuses_writes_and_keeps_acknowledged_ones() {
    let opts = small_opts();
    let (mut db, _) = Db::open(MemDevice::new(2 << 20), opts.clone()).unwrap();
    let mut model = Model::new();
    let mut full = None;
    for i in 0..100_000u32 {
        let k = format!("key{i:06}").into_bytes();
        let v = vec![(i % 13) as u8; 500];
        match db.put(&k, &v, false) {
            Ok(()) => {
                model.insert(k, v);
            }
            Err(e) => {
                full = Some(e);
                break;
            }
        }
    }
    let e = full.expect("a 2 MiB disk must fill up");
    assert!(matches!(e, Error::NoSpace { .. }), "{e}");
    assert!(e.to_string().starts_with("no space"));
    for (k, v) in model.iter().step_by(97) {
        assert_eq!(db.get(k, None).unwrap().as_ref(), Some(v));
    }
    let dev = db.close().unwrap();
    let (db, _) = Db::open(dev, opts).unwrap();
    assert_eq!(contents(&db, None), model);
}

/// After the disk fills up, deleting half the keys and compacting must give
/// the space back (compaction on a nearly full disk works a slice at a
/// time), and the freed space must take new data. Sequential keys of one
/// size, then random keys of random sizes.
#[test]
fn deleting_and_compacting_a_full_disk_frees_space() {
    // The kernel's shape for an 8 MiB disk (64 KiB tables), filled in key
    // order with 4000-byte values: every level then holds its own key
    // range, and COMPACT must slice the upper levels too, not only the
    // bottom's tables.
    let kernel_like = Options::for_disk(8 << 20);
    for seed in 0..7u64 {
        let mut rng = Rng::new(seed);
        let (opts, disk) = if seed == 6 {
            (kernel_like.clone(), 8 << 20)
        } else {
            (small_opts(), 2 << 20)
        };
        let sequential = seed == 0 || seed == 6;
        let (mut db, _) = Db::open(MemDevice::new(disk), opts.clone()).unwrap();
        let mut model = Model::new();
        let next_value = |rng: &mut Rng, i: u64| {
            let len = match seed {
                0 => 500,
                6 => 4000,
                _ => 50 + rng.uniform(1500),
            };
            vec![(i % 13) as u8; len as usize]
        };
        let mut full = false;
        for i in 0..100_000u64 {
            let k = if sequential {
                format!("key{i:06}")
            } else {
                format!("key{:06}", rng.uniform(1_000_000))
            };
            let v = next_value(&mut rng, i);
            match db.put(k.as_bytes(), &v, false) {
                Ok(()) => {
                    model.insert(k.into_bytes(), v);
                }
                Err(e) => {
                    assert!(matches!(e, Error::NoSpace { .. }), "{e}");
                    full = true;
                    break;
                }
            }
        }
        assert!(full, "seed {seed}: the disk must fill up");
        let used = |db: &Db<MemDevice>| db.stats().table_region_bytes - db.stats().table_free_bytes;
        let used_full = used(&db);
        let keys: Vec<Vec<u8>> = model.keys().cloned().collect();
        for (i, k) in keys.iter().enumerate() {
            if (sequential && i % 2 == 0) || (!sequential && rng.one_in(2)) {
                db.delete(k, false)
                    .unwrap_or_else(|e| panic!("seed {seed}: delete {i} of {}: {e}", keys.len()));
                model.remove(k);
            }
        }
        db.compact_all()
            .unwrap_or_else(|e| panic!("seed {seed}: compact: {e}"));
        assert_eq!(contents(&db, None), model);
        let used_after = used(&db);
        assert!(
            used_after < used_full * 2 / 3,
            "seed {seed}: {used_after} of {used_full} bytes still used"
        );
        // The freed space takes new data: a third of what filled the disk.
        let mut added = 0;
        let mut i = 0;
        while added < used_full / 3 {
            let k = format!("new{i:06}").into_bytes();
            let v = next_value(&mut rng, i);
            added += (k.len() + v.len()) as u64;
            db.put(&k, &v, false)
                .unwrap_or_else(|e| panic!("seed {seed}: put {added} of {}: {e}", used_full / 3));
            model.insert(k, v);
            i += 1;
        }
        assert!(db.verify().errors.is_empty());
        let dev = db.close().unwrap();
        let (db, _) = Db::open(dev, opts).unwrap();
        assert_eq!(contents(&db, None), model);
    }
}

/// When the free space is only in pieces smaller than a table, the table is
/// split over several extents: it reads back, verifies, survives reopening,
/// and its extents return to the free space when it goes.
#[test]
fn tables_split_over_free_pieces_read_back() {
    let (mut db, _) = Db::open(MemDevice::new(4 << 20), small_opts()).unwrap();
    // Leave only 1 KiB holes: take everything in 1 KiB pieces, give back
    // every other one.
    let mut pieces = Vec::new();
    while let Some(off) = db.alloc.allocate(1024) {
        pieces.push(off);
    }
    for &off in pieces.iter().step_by(2) {
        db.alloc.release(off, 1024);
    }
    let mut model = Model::new();
    for i in 0..60u32 {
        let k = format!("key{i:04}").into_bytes();
        let v = vec![b'a' + (i % 26) as u8; 100 + i as usize * 7];
        db.put(&k, &v, false).unwrap();
        model.insert(k, v);
    }
    db.flush().unwrap();
    let split: Vec<Arc<FileMeta>> = db
        .version()
        .files()
        .filter(|(_, f)| f.extents.len() > 1)
        .map(|(_, f)| Arc::clone(f))
        .collect();
    assert!(
        !split.is_empty(),
        "the flushes must have split their tables"
    );
    for f in &split {
        let (last, rest) = f.extents.split_last().unwrap();
        assert!(rest.iter().all(|e| e.len == 1024) && last.len <= 1024);
    }
    for (k, v) in &model {
        assert_eq!(db.get(k, None).unwrap().as_ref(), Some(v));
    }
    assert_eq!(contents(&db, None), model);
    assert!(db.verify().errors.is_empty());
    let dev = db.close().unwrap();
    let (mut db, _) = Db::open(dev, small_opts()).unwrap();
    assert_eq!(contents(&db, None), model);
    // Compaction rewrites it; its pieces come back.
    let free = db.alloc.free_bytes();
    db.compact_all().unwrap();
    assert_eq!(contents(&db, None), model);
    assert!(db
        .version()
        .files()
        .all(|(_, f)| split.iter().all(|s| s.number != f.number)));
    assert!(db.alloc.free_bytes() + 64 * 1024 > free);
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
        assert_eq!(
            (o.wal_half_bytes, o.max_key_len, o.max_value_len),
            (d.wal_half_bytes, d.max_key_len, d.max_value_len)
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
        Err(Error::InvalidArgument("key too long"))
    );
    assert!(db.put(&[1; 1024], b"v", false).is_ok());
    assert_eq!(
        db.put(b"k", &vec![0; (1 << 20) + 1], false),
        Err(Error::InvalidArgument("value too long"))
    );
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

type BlockMap = BTreeMap<(u64, u64), Arc<[u8]>>;

#[derive(Default)]
struct MapCache {
    blocks: std::sync::Mutex<BlockMap>,
    hits: std::sync::atomic::AtomicU64,
    erased: std::sync::atomic::AtomicU64,
}

impl BlockCache for MapCache {
    fn get(&self, table: u64, offset: u64) -> Option<Arc<[u8]>> {
        let b = self.blocks.lock().unwrap().get(&(table, offset)).cloned();
        if b.is_some() {
            self.hits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        b
    }
    fn insert(&self, table: u64, offset: u64, block: Arc<[u8]>) {
        self.blocks.lock().unwrap().insert((table, offset), block);
    }
    fn erase_table(&self, table: u64) {
        self.erased
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.blocks.lock().unwrap().retain(|k, _| k.0 != table);
    }
}

/// Writes 3000 keys in scattered order and flushes them to tables.
fn put_3000_and_flush(db: &mut Db<MemDevice>) -> Model {
    let mut model = Model::new();
    for i in 0..3000u32 {
        let k = format!("k{:05}", (i * 7919) % 3000).into_bytes();
        let v = format!("value{i}").into_bytes();
        db.put(&k, &v, false).unwrap();
        model.insert(k, v);
    }
    db.flush().unwrap();
    model
}

/// A [`KindCache`] with a byte budget: it takes blocks, read or offered,
/// only while they fit.
struct RoomyCache {
    inner: KindCache,
    used: std::sync::atomic::AtomicU64,
    budget: u64,
    offered: std::sync::atomic::AtomicU64,
}

impl RoomyCache {
    fn new(budget: u64) -> Self {
        Self {
            inner: KindCache::default(),
            used: Default::default(),
            budget,
            offered: Default::default(),
        }
    }
}

impl BlockCache for RoomyCache {
    fn get(&self, table: u64, offset: u64) -> Option<Arc<[u8]>> {
        self.inner.get(table, offset)
    }
    fn insert(&self, table: u64, offset: u64, block: Arc<[u8]>) {
        self.inner.insert(table, offset, block)
    }
    fn get_block(&self, table: u64, offset: u64, kind: BlockKind) -> Option<Arc<[u8]>> {
        self.inner.get_block(table, offset, kind)
    }
    fn insert_block(&self, table: u64, offset: u64, kind: BlockKind, block: Arc<[u8]>) {
        if block.len() as u64 <= self.room() {
            self.used
                .fetch_add(block.len() as u64, std::sync::atomic::Ordering::Relaxed);
            self.inner.insert_block(table, offset, kind, block);
        }
    }
    fn erase_table(&self, table: u64) {
        let gone: u64 = self
            .inner
            .blocks
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| k.0 == table)
            .map(|(_, (_, b))| b.len() as u64)
            .sum();
        self.inner.erase_table(table);
        self.used
            .fetch_sub(gone, std::sync::atomic::Ordering::Relaxed);
    }
    fn room(&self) -> u64 {
        self.budget - self.used.load(std::sync::atomic::Ordering::Relaxed)
    }
    fn offer_block(&self, table: u64, offset: u64, kind: BlockKind, block: Arc<[u8]>) {
        self.offered
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.insert_block(table, offset, kind, block);
    }
}

/// Tables written by flushes and compactions offer their blocks to a cache
/// with room: reads after writes need no device read but a table's footer;
/// a cache without room is offered nothing and stays within its budget.
#[test]
fn written_tables_warm_a_cache_with_room() {
    for budget in [4u64 << 20, 16 << 10] {
        let (mut db, _) = Db::open(MemDevice::new(8 << 20), small_opts()).unwrap();
        let cache = Arc::new(RoomyCache::new(budget));
        db.set_block_cache(Some(cache.clone()));
        let model = put_3000_and_flush(&mut db);
        let reads_before = db.stats().io.reads;
        for (k, v) in &model {
            assert_eq!(db.get(k, None).unwrap().as_ref(), Some(v));
        }
        let reads = db.stats().io.reads - reads_before;
        let tables = db.version().files().count() as u64;
        let used = cache.used.load(std::sync::atomic::Ordering::Relaxed);
        assert!(used <= budget, "{used} of {budget}");
        if budget > 1 << 20 {
            assert!(cache.offered.load(std::sync::atomic::Ordering::Relaxed) > 0);
            assert!(reads <= tables, "{reads} reads for {tables} tables");
        } else {
            assert!(
                reads > tables,
                "{reads} reads: a full cache cannot have held it all"
            );
        }
        assert_eq!(contents(&db, None), model);
    }
}

#[test]
fn block_cache_serves_repeated_reads_and_forgets_deleted_tables() {
    let (mut db, _) = Db::open(MemDevice::new(8 << 20), small_opts()).unwrap();
    let cache = Arc::new(MapCache::default());
    db.set_block_cache(Some(cache.clone()));
    let model = put_3000_and_flush(&mut db);
    let reads_before = db.stats().io.reads;
    for _ in 0..2 {
        for (k, v) in &model {
            assert_eq!(db.get(k, None).unwrap().as_ref(), Some(v));
        }
    }
    let hits = cache.hits.load(std::sync::atomic::Ordering::Relaxed);
    assert!(hits >= model.len() as u64, "{hits} hits");
    // Each data block was read from the device once, each table opened once
    // (footer, index, filter): the second pass read only from the cache.
    let blocks = cache.blocks.lock().unwrap().len() as u64;
    let tables = db.version().files().count() as u64;
    assert!(db.stats().io.reads - reads_before <= blocks + 3 * tables);
    db.compact_all().unwrap();
    assert!(cache.erased.load(std::sync::atomic::Ordering::Relaxed) > 0);
    assert_eq!(contents(&db, None), model);
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

type KindMap = BTreeMap<(u64, u64), (BlockKind, Arc<[u8]>)>;

/// A block cache that remembers each block's kind.
#[derive(Default)]
struct KindCache {
    blocks: std::sync::Mutex<KindMap>,
}

impl BlockCache for KindCache {
    fn get(&self, _table: u64, _offset: u64) -> Option<Arc<[u8]>> {
        unreachable!("the store asks with the block's kind")
    }
    fn insert(&self, _table: u64, _offset: u64, _block: Arc<[u8]>) {
        unreachable!("the store offers with the block's kind")
    }
    fn get_block(&self, table: u64, offset: u64, kind: BlockKind) -> Option<Arc<[u8]>> {
        let m = self.blocks.lock().unwrap();
        let (k, b) = m.get(&(table, offset))?;
        assert_eq!(*k, kind, "block ({table}, {offset}) asked as another kind");
        Some(b.clone())
    }
    fn insert_block(&self, table: u64, offset: u64, kind: BlockKind, block: Arc<[u8]>) {
        self.blocks
            .lock()
            .unwrap()
            .insert((table, offset), (kind, block));
    }
    fn erase_table(&self, table: u64) {
        self.blocks.lock().unwrap().retain(|k, _| k.0 != table);
    }
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
fn index_and_filter_blocks_go_through_the_block_cache() {
    let (mut db, model) = filled(3000);
    let cache = Arc::new(KindCache::default());
    db.set_block_cache(Some(cache.clone()));
    for (k, v) in &model {
        assert_eq!(db.get(k, None).unwrap().as_ref(), Some(v));
    }
    let kinds: std::collections::BTreeSet<_> = cache
        .blocks
        .lock()
        .unwrap()
        .values()
        .map(|(k, _)| k.name())
        .collect();
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    // Every block is cached and every table open: a second pass reads
    // nothing from the disk.
    let reads = db.stats().io.reads;
    for (k, v) in &model {
        assert_eq!(db.get(k, None).unwrap().as_ref(), Some(v));
    }
    assert_eq!(db.stats().io.reads, reads);
    db.compact_all().unwrap();
    let live: Vec<u64> = db.version().files().map(|(_, f)| f.number).collect();
    assert!(cache
        .blocks
        .lock()
        .unwrap()
        .keys()
        .all(|(t, _)| live.contains(t)));
    assert_eq!(contents(&db, None), model);
}

#[test]
fn without_a_cache_every_lookup_reads_its_blocks_from_the_disk() {
    let (db, model) = filled(2000);
    for _ in 0..2 {
        for k in model.keys().step_by(7) {
            let reads = db.stats().io.reads;
            let (v, st) = db.get_with_stats(k, None).unwrap();
            assert_eq!(v.as_ref(), model.get(k));
            assert_eq!(st.source, LookupSource::Table);
            // Filter, index and data block of the table that holds it.
            assert!(st.disk_reads >= 3, "{st:?}");
            assert_eq!(st.cache_hits, 0);
            assert_eq!(u64::from(st.disk_reads), db.stats().io.reads - reads);
            let loc = st.location.unwrap();
            assert!(db.version().files().any(|(_, f)| f.number == loc.table));
        }
    }
    let (v, st) = db.get_with_stats(b"absent", None).unwrap();
    assert_eq!((v, st.source), (None, LookupSource::Nowhere));
}

/// A point cache that keeps every miss as a pointer (KP) and every KP hit as
/// a value (KV), without a budget: the store's side of AC-Key, alone.
#[derive(Default)]
struct PointMap {
    kv: std::sync::Mutex<BTreeMap<Vec<u8>, Vec<u8>>>,
    kp: std::sync::Mutex<BTreeMap<Vec<u8>, BlockPointer>>,
    inserted_reads: std::sync::Mutex<Vec<LookupStats>>,
}

impl PointCache for PointMap {
    fn lookup(&self, key: &[u8]) -> PointHit {
        if let Some(v) = self.kv.lock().unwrap().get(key) {
            return PointHit::Kv(v.clone());
        }
        match self.kp.lock().unwrap().get(key) {
            Some(p) => PointHit::Kp(*p),
            None => PointHit::Miss,
        }
    }
    fn insert(&self, key: &[u8], _value: &[u8], ptr: BlockPointer, stats: &LookupStats) {
        self.kp.lock().unwrap().insert(key.to_vec(), ptr);
        self.inserted_reads.lock().unwrap().push(*stats);
    }
    fn promote(&self, key: &[u8], value: &[u8]) {
        self.kp.lock().unwrap().remove(key);
        self.kv.lock().unwrap().insert(key.to_vec(), value.to_vec());
    }
    fn invalidate(&self, key: &[u8]) {
        self.kv.lock().unwrap().remove(key);
        self.kp.lock().unwrap().remove(key);
    }
    fn retain_pointers(&self, keep: &mut dyn FnMut(&[u8], &mut BlockPointer) -> bool) {
        self.kp.lock().unwrap().retain(|k, p| keep(k, p));
    }
    fn clear(&self) {
        self.kv.lock().unwrap().clear();
        self.kp.lock().unwrap().clear();
    }
}

#[test]
fn kp_hits_read_one_block_and_kv_hits_none() {
    let (mut db, model) = filled(3000);
    let points = Arc::new(PointMap::default());
    db.set_point_cache(Some(points.clone()));
    let keys: Vec<&Vec<u8>> = model.keys().step_by(37).collect();
    for k in &keys {
        let (v, st) = db.get_with_stats(k, None).unwrap();
        assert_eq!(v.as_ref(), model.get(*k));
        assert_eq!(st.source, LookupSource::Table);
        assert!(st.disk_reads >= 3, "{st:?}");
    }
    // The entries were offered with what their lookups cost.
    assert!(points
        .inserted_reads
        .lock()
        .unwrap()
        .iter()
        .all(|s| s.disk_reads >= 3 && s.block_reads >= 3));
    for k in &keys {
        let (v, st) = db.get_with_stats(k, None).unwrap();
        assert_eq!(v.as_ref(), model.get(*k));
        assert_eq!(st.source, LookupSource::PointKp);
        // No block cache: the one block the pointer names, from the disk.
        assert_eq!((st.block_reads, st.disk_reads), (1, 1), "{st:?}");
    }
    for k in &keys {
        let (v, st) = db.get_with_stats(k, None).unwrap();
        assert_eq!(v.as_ref(), model.get(*k));
        assert_eq!(st.source, LookupSource::PointKv);
        assert_eq!((st.block_reads, st.disk_reads), (0, 0), "{st:?}");
    }
    // Writes drop the key's entries; a snapshot never sees the cache.
    let snap = db.snapshot();
    let (k0, k1) = (keys[0].clone(), keys[1].clone());
    db.put(&k0, b"new", false).unwrap();
    db.delete(&k1, false).unwrap();
    assert_eq!(points.lookup(&k0), PointHit::Miss);
    assert_eq!(points.lookup(&k1), PointHit::Miss);
    assert_eq!(db.get(&k0, None).unwrap(), Some(b"new".to_vec()));
    assert_eq!(db.get(&k1, None).unwrap(), None);
    let (v, st) = db.get_with_stats(&k0, Some(&snap)).unwrap();
    assert_eq!(v.as_ref(), model.get(&k0));
    assert_eq!(st.source, LookupSource::Table);
    db.release_snapshot(snap);
    db.flush().unwrap();
    assert_eq!(db.get(&k0, None).unwrap(), Some(b"new".to_vec()));
    assert_eq!(db.get(&k1, None).unwrap(), None);
    // Compactions leave no pointer to a dead table.
    for k in model.keys().step_by(5) {
        db.get(k, None).unwrap();
    }
    assert!(!points.kp.lock().unwrap().is_empty());
    db.compact_all().unwrap();
    let live: Vec<(u64, u8)> = db
        .version()
        .files()
        .map(|(l, f)| (f.number, l as u8))
        .collect();
    for p in points.kp.lock().unwrap().values() {
        assert!(live.contains(&(p.table, p.level)), "{p:?} in {live:?}");
    }
    for (k, v) in &model {
        let want = if *k == k0 {
            Some(b"new".to_vec())
        } else if *k == k1 {
            None
        } else {
            Some(v.clone())
        };
        assert_eq!(db.get(k, None).unwrap(), want);
    }
}

#[test]
fn a_table_moved_down_keeps_its_pointers_re_aimed() {
    let opts = Options {
        l0_compaction_trigger: 1,
        l1_max_bytes: 6 << 10,
        ..small_opts()
    };
    let (mut db, _) = Db::open(MemDevice::new(8 << 20), opts).unwrap();
    let points = Arc::new(PointMap::default());
    db.set_point_cache(Some(points.clone()));
    let v = vec![b'v'; 100];
    for i in 0..40 {
        db.put(format!("a{i:03}").as_bytes(), &v, false).unwrap();
    }
    db.flush().unwrap();
    let first = db.version().levels[1][0].number;
    assert_eq!(db.version().levels[1].len(), 1);
    for i in 0..40 {
        db.get(format!("a{i:03}").as_bytes(), None).unwrap();
    }
    assert!(points.kp.lock().unwrap().values().all(|p| p.level == 1));
    for i in 0..40 {
        db.put(format!("b{i:03}").as_bytes(), &v, false).unwrap();
    }
    db.flush().unwrap();
    // Level 1 overflowed and its first table moved down untouched.
    assert!(db.version().levels[2].iter().any(|f| f.number == first));
    let kp = points.kp.lock().unwrap().clone();
    assert_eq!(kp.len(), 40);
    assert!(
        kp.values().all(|p| p.table == first && p.level == 2),
        "{kp:?}"
    );
    for i in 0..40 {
        let (got, st) = db
            .get_with_stats(format!("a{i:03}").as_bytes(), None)
            .unwrap();
        assert_eq!(got.as_ref(), Some(&v));
        assert_eq!(st.source, LookupSource::PointKp);
    }
}

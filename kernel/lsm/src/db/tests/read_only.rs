//! `Db::open_read_only`: never a write or a flush, the WAL's records seen,
//! every change refused, blank and foreign disks refused as `open` refuses
//! them, and a later `open` recovers the same store.

use super::disks::{foreign_image, other_version_image, set_version};
use super::*;

/// A device that fails the test at any write or flush.
struct NoWrites<D>(D);

impl<D: BlockDevice> BlockDevice for NoWrites<D> {
    fn read(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        self.0.read(offset, buf)
    }
    fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        panic!("a read-only store wrote {} bytes at {offset}", data.len())
    }
    fn flush(&mut self) -> Result<(), DeviceError> {
        panic!("a read-only store flushed the device")
    }
    fn capacity(&self) -> u64 {
        self.0.capacity()
    }
}

/// Every operation that changes the store is refused, and the store still
/// reads `model` afterwards.
fn assert_refuses_changes<D: BlockDevice>(db: &mut Db<D>, model: &Model) {
    let refused = Err(Error::ReadOnly);
    assert_eq!(db.put(b"new", b"v", true), refused);
    assert_eq!(db.put(b"new", b"v", false), refused);
    assert_eq!(db.delete(b"k00001", true), refused);
    let mut batch = WriteBatch::new();
    batch.put(b"new", b"v");
    assert_eq!(db.write(batch, false), refused);
    assert_eq!(db.write(WriteBatch::new(), false), refused);
    assert_eq!(db.flush(), refused);
    assert_eq!(db.compact_all(), refused);
    assert_eq!(db.compact_all_with(&mut || false), refused);
    assert_eq!(db.maintenance(), Err(Error::ReadOnly));
    assert_eq!(db.sync_wal(), refused);
    assert_eq!(db.write_out_wal(), refused);
    assert!(db.is_read_only());
    assert_eq!(contents(db, None), *model);
}

/// Reads of every kind see exactly `model`.
fn assert_reads<D: BlockDevice>(db: &mut Db<D>, model: &Model) {
    assert_eq!(contents(db, None), *model);
    for (k, v) in model.iter().step_by(3) {
        assert_eq!(db.get(k, None).unwrap().as_ref(), Some(v));
    }
    assert_eq!(db.get(b"absent", None).unwrap(), None);
    let from = model.keys().nth(model.len() / 2).unwrap().clone();
    let want: Vec<(Vec<u8>, Vec<u8>)> = model
        .range(from.clone()..)
        .take(10)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(db.range(&from, None, 10, None).unwrap(), want);
    let snap = db.snapshot();
    assert_eq!(contents(db, Some(&snap)), *model);
    db.release_snapshot(snap);
    let report = db.verify();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.tables, db.version().files().count());
}

/// A store of tables and records still in the WAL (of two logs: the
/// frozen memtable's and the active one's, maintenance being left to the
/// owner), the WAL synced; with the model of its content and its layout.
fn store_with_wal_records() -> (Db<MemDevice>, Model, u64) {
    let opts = Options {
        inline_maintenance: false,
        ..small_opts()
    };
    let (mut db, _) = Db::open(MemDevice::new(8 << 20), opts).unwrap();
    let mut model = Model::new();
    for i in 0..1500u32 {
        let k = format!("k{:05}", (i * 7919) % 1500).into_bytes();
        let v = format!("table-{i}").into_bytes();
        db.put(&k, &v, false).unwrap();
        model.insert(k, v);
    }
    db.flush().unwrap();
    assert!(db.version().files().count() > 0);
    let flushes = db.stats().flushes;
    // Only in the WAL from here: until a memtable freezes, then 40 more.
    let mut records = 0u64;
    let mut after_freeze = 0;
    while after_freeze < 40 {
        let k = format!("k{:05}", (records * 31) % 2000).into_bytes();
        if records.is_multiple_of(7) {
            db.delete(&k, false).unwrap();
            model.remove(&k);
        } else {
            let v = format!("wal-{records}-{}", "w".repeat(60)).into_bytes();
            db.put(&k, &v, false).unwrap();
            model.insert(k, v);
        }
        records += 1;
        if db.stats().immutable_bytes > 0 {
            after_freeze += 1;
        }
    }
    assert_eq!(db.stats().flushes, flushes, "a frozen memtable was flushed");
    db.sync_wal().unwrap();
    (db, model, records)
}

/// What the store `db` was before it was closed or killed, for comparing.
struct Before {
    layout: Layout,
    levels: [(usize, u64); NUM_LEVELS],
    tables: usize,
    last_sequence: SequenceNumber,
}

impl Before {
    fn of<D: BlockDevice>(db: &Db<D>) -> Self {
        Self {
            layout: db.layout(),
            levels: db.stats().levels,
            tables: db.version().files().count(),
            last_sequence: db.stats().last_sequence,
        }
    }
}

/// Opens `image` read-only: the report is `want` (given the store's
/// tables and sequence from `before`), every read sees `model`, every
/// change is refused, and the image is unchanged after; a normal open then
/// replays the same WAL into the same store.
fn assert_read_only_open(image: MemDevice, model: &Model, before: &Before, mut want: OpenReport) {
    want.tables = before.tables;
    want.last_sequence = before.last_sequence;
    let (mut db, report) = Db::open_read_only(NoWrites(image.clone()), small_opts()).unwrap();
    assert_eq!(report, want);
    assert_eq!(db.layout(), before.layout);
    let stats = db.stats();
    assert_eq!(stats.levels, before.levels);
    assert_eq!(stats.last_sequence, before.last_sequence);
    assert!(stats.memtable_bytes > 0);
    assert_reads(&mut db, model);
    assert_refuses_changes(&mut db, model);
    let after = db.close().unwrap().0;
    assert_eq!(after.bytes(), image.bytes());

    let (db, report) = Db::open(after, small_opts()).unwrap();
    assert_eq!(
        (report.wal_records, report.wal_torn, report.last_sequence),
        (want.wal_records, want.wal_torn, want.last_sequence)
    );
    assert_eq!(contents(&db, None), *model);
}

#[test]
fn read_only_open_of_a_closed_store_sees_tables_and_wal() {
    let (db, model, records) = store_with_wal_records();
    let before = Before::of(&db);
    let want = OpenReport {
        formatted: false,
        wal_records: records,
        wal_dropped_bytes: 0,
        wal_torn: false,
        manifest_torn: false,
        ..OpenReport::default()
    };
    assert_read_only_open(db.close().unwrap(), &model, &before, want);
}

#[test]
fn read_only_open_of_a_killed_store_drops_a_torn_last_record() {
    let (mut db, model, records) = store_with_wal_records();
    let before = Before::of(&db);
    // One more record, acknowledged, then torn on the disk: its first
    // sector lost its checksum.
    let region = db.layout().wal_region(u64::from(db.wal.log_number()));
    let at = db.wal.len();
    assert!(at % crate::wal::BLOCK_SIZE as u64 + 11 <= crate::wal::BLOCK_SIZE as u64);
    db.put(b"torn", b"never-seen", true).unwrap();
    let mut image = db.into_device();
    image.bytes_mut()[(region.start + at) as usize] ^= 0x55;
    let want = OpenReport {
        formatted: false,
        wal_records: records,
        // The torn record was one fragment, dropped whole.
        wal_dropped_bytes: 0,
        wal_torn: true,
        manifest_torn: false,
        ..OpenReport::default()
    };
    assert!(!model.contains_key(&b"torn"[..]));
    assert_read_only_open(image, &model, &before, want);
}

#[test]
fn read_only_open_refuses_blank_and_foreign_disks_untouched() {
    let blank = Db::open_read_only(NoWrites(MemDevice::new(4 << 20)), small_opts());
    let err = blank.err().unwrap();
    assert_eq!(err, Error::Unformatted);
    assert_eq!(
        err.to_string(),
        "the disk is blank: it holds no unikv store"
    );
    assert_eq!(
        Db::open_read_only(NoWrites(MemDevice::new(4096)), small_opts()).err(),
        Some(Error::InvalidArgument("disk too small for a store"))
    );

    let mut damaged = other_version_image(FORMAT_VERSION);
    for slot in [0usize, 4096] {
        damaged.bytes_mut()[slot + 84] ^= 1;
    }
    let cases = [
        (foreign_image(), Error::ForeignFormat),
        (
            other_version_image(FORMAT_VERSION + 1),
            Error::UnsupportedVersion {
                found: FORMAT_VERSION + 1,
                supported: FORMAT_VERSION,
            },
        ),
        (
            damaged,
            Corruption::at("superblock", CorruptionKind::ChecksumMismatch).into(),
        ),
    ];
    for (image, want) in cases {
        let ro = Db::open_read_only(NoWrites(image.clone()), small_opts());
        assert_eq!(ro.err().as_ref(), Some(&want));
        let rw = Db::open(NoWrites(image), small_opts());
        assert_eq!(rw.err(), Some(want));
    }
}

#[test]
fn read_only_error_says_so() {
    assert_eq!(Error::ReadOnly.to_string(), "the store is open read-only");
}

/// The format version in the superblock slot of the higher generation.
fn newest_slot_version(bytes: &[u8]) -> u32 {
    let field = |at: usize, len: usize| -> u64 {
        bytes[at..at + len]
            .iter()
            .rev()
            .fold(0, |v, &b| (v << 8) | u64::from(b))
    };
    let slot = [0usize, 4096]
        .into_iter()
        .max_by_key(|&s| field(s + 12, 8))
        .unwrap();
    field(slot + 8, 4) as u32
}

/// A version 2 disk (data blocks without hash indexes) opens read-only
/// untouched, and for writing: then its superblock says version 3 before
/// the first table with hash indexes is live, and the data reads the same.
#[test]
fn a_version_2_disk_is_read_and_upgraded_when_written() {
    let (mut db, _) = Db::open(MemDevice::new(4 << 20), small_opts()).unwrap();
    for i in 0..300u32 {
        db.put(format!("k{i:04}").as_bytes(), b"old", false)
            .unwrap();
    }
    db.compact_all().unwrap();
    let mut v2 = db.close().unwrap();
    set_version(&mut v2, 2);
    let before = v2.bytes().to_vec();
    let (ro, _) = Db::open_read_only(NoWrites(v2.clone()), small_opts()).unwrap();
    assert_eq!(
        ro.get(b"k0007", None).unwrap().as_deref(),
        Some(&b"old"[..])
    );
    drop(ro);
    assert_eq!(v2.bytes(), &before[..]);
    let (ro, _) = Db::open_read_only(NoWrites(v2.clone()), small_opts()).unwrap();
    assert_eq!(ro.superblock().version, 2);
    drop(ro);
    let (mut db, _) = Db::open(v2, small_opts()).unwrap();
    assert_eq!(newest_slot_version(db.device_mut().bytes()), FORMAT_VERSION);
    assert_eq!(db.superblock().version, FORMAT_VERSION);
    db.put(b"k0007", b"new", true).unwrap();
    db.compact_all().unwrap();
    assert_eq!(
        db.get(b"k0007", None).unwrap().as_deref(),
        Some(&b"new"[..])
    );
    assert_eq!(
        db.get(b"k0008", None).unwrap().as_deref(),
        Some(&b"old"[..])
    );
}

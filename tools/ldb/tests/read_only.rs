//! The read commands on images the `lsm` crate wrote: what is only in the
//! WAL is seen, and the image is byte for byte what it was after every
//! command; damage is reported by verify and sst, naming it.

mod common;

use std::collections::BTreeMap;

use common::{dump_text, field, ldb, lsm_image, put, Scratch, Value};

const MIB: usize = 1 << 20;

/// Every read command (sst of table 1 if `with_sst`), each leaving the
/// image as it was; their outputs by command.
fn read_everything(s: &Scratch, image: &[u8], with_sst: bool) -> BTreeMap<&'static str, String> {
    let disk = s.path("disk.img");
    let mut commands: Vec<(&str, &[&str])> = vec![
        ("info", &["disk.img", "info"]),
        ("verify", &["disk.img", "verify"]),
        ("dump", &["disk.img", "dump"]),
        ("scan", &["disk.img", "scan", "k03", "k07"]),
        ("get", &["disk.img", "get", "k05"]),
        ("get_deleted", &["disk.img", "get", "k02"]),
    ];
    if with_sst {
        commands.push(("sst", &["disk.img", "sst", "1"]));
    }
    let mut outs = BTreeMap::new();
    for (name, args) in commands {
        let r = ldb(s, args);
        assert_eq!(r.code, 0, "{name}: {r:?}");
        assert!(
            std::fs::read(&disk).unwrap() == image,
            "{name} changed the image"
        );
        outs.insert(name, r.out());
    }
    outs
}

/// The store after `k00..k09` were set to `value(i)`, `k02` deleted and
/// `k05` set to `k05`, none of them expiring.
fn expected(value: impl Fn(u32) -> Vec<u8>, k05: &[u8]) -> BTreeMap<Vec<u8>, Value> {
    let mut m: BTreeMap<Vec<u8>, Value> = (0..10u32)
        .map(|i| (format!("k{i:02}").into_bytes(), (value(i), None)))
        .collect();
    m.remove(&b"k02"[..]);
    m.insert(b"k05".to_vec(), (k05.to_vec(), None));
    m
}

#[test]
fn records_only_in_the_wal_are_read_and_the_image_is_left_as_it_was() {
    let s = Scratch::new("wal-only");
    let image = lsm_image(8 * MIB, |db| {
        for i in 0..10u32 {
            let key = format!("k{i:02}");
            put(db, key.as_bytes(), format!("v{i}").as_bytes(), None, true);
        }
        db.delete(b"k02", true).unwrap();
        put(db, b"k05", b"five\x00", None, true);
    });
    s.file("disk.img", &image);
    let outs = read_everything(&s, &image, false);
    let info = &outs["info"];
    assert_eq!(field(info, "WAL", "records").as_deref(), Some("12"));
    assert_eq!(field(info, "WAL", "torn").as_deref(), Some("0"));
    assert_eq!(field(info, "WAL", "last_sequence").as_deref(), Some("12"));
    assert_eq!(field(info, "Levels", "tables").as_deref(), Some("0"));
    assert!(!info.contains("# Table "));
    assert_eq!(outs["verify"], "# Verify\ntables:0\nentries:0\nerrors:0\n");
    let want = expected(|i| format!("v{i}").into_bytes(), b"five\x00");
    assert_eq!(outs["dump"], dump_text(&want));
    assert_eq!(
        outs["scan"],
        dump_text(want.range(b"k03".to_vec()..b"k07".to_vec()))
    );
    assert_eq!(outs["get"], "\"five\\x00\"\n");
    assert_eq!(outs["get_deleted"], "(nil)\n");

    // No table yet: sst finds none, and says so.
    let r = ldb(&s, &["disk.img", "sst", "1"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        "ldb: no live table has number 1 (ldb DISK info lists the tables)\n"
    );
    assert!(std::fs::read(s.path("disk.img")).unwrap() == image);
}

#[test]
fn tables_and_wal_records_together_the_newest_winning() {
    let s = Scratch::new("tables-and-wal");
    let image = lsm_image(8 * MIB, |db| {
        for i in 0..10u32 {
            put(db, format!("k{i:02}").as_bytes(), b"old", None, false);
        }
        db.flush().unwrap();
        // After the flush, only in the WAL: a delete of a key in the
        // table, and a new value over one.
        db.delete(b"k02", true).unwrap();
        put(db, b"k05", b"new", None, true);
    });
    s.file("disk.img", &image);
    let outs = read_everything(&s, &image, true);
    let info = &outs["info"];
    assert_eq!(field(info, "WAL", "records").as_deref(), Some("2"));
    assert_eq!(field(info, "WAL", "last_sequence").as_deref(), Some("12"));
    assert_eq!(field(info, "Levels", "tables").as_deref(), Some("1"));
    assert_eq!(field(info, "Table 1", "level").as_deref(), Some("0"));
    assert_eq!(
        field(info, "Table 1", "smallest").as_deref(),
        Some("\"k00\"")
    );
    assert_eq!(
        field(info, "Table 1", "largest").as_deref(),
        Some("\"k09\"")
    );
    assert_eq!(outs["verify"], "# Verify\ntables:1\nentries:10\nerrors:0\n");
    assert_eq!(outs["get"], "\"new\"\n");
    assert_eq!(outs["get_deleted"], "(nil)\n");
    let want = expected(|_| b"old".to_vec(), b"new");
    assert_eq!(outs["dump"], dump_text(&want));
    // The table holds the old values: sst shows the disk, not the store,
    // each value as stored (tagged) and then decoded.
    let sst = &outs["sst"];
    let entries: String = (0..10u32)
        .map(|i| format!("\"k{i:02}\" {} value \"\\x00old\" string\n", i + 1))
        .collect();
    assert!(sst.ends_with(&format!("\n# Entries\n{entries}")), "{sst}");
    assert_eq!(
        field(sst, "Table", "smallest").as_deref(),
        Some("\"k00\" 1 value")
    );
    assert_eq!(
        field(sst, "Table", "largest").as_deref(),
        Some("\"k09\" 10 value")
    );
    assert_eq!(field(sst, "Table", "entries").as_deref(), Some("10"));
    assert_eq!(field(sst, "Blocks", "data_blocks").as_deref(), Some("1"));
    // The one data block runs up to the filter block and its trailer; the
    // index key of a table's last block is its last key's short successor.
    let filter_at: u64 = field(sst, "Footer", "filter_offset")
        .unwrap()
        .parse()
        .unwrap();
    let block = filter_at - 5;
    assert_eq!(
        field(sst, "Index", "block_0"),
        Some(format!(
            "offset=0 size={block} entries=10 last_key=\"k09\" index_key=\"l\""
        ))
    );
    assert_eq!(field(sst, "Blocks", "data_bytes"), Some(block.to_string()));
    assert_eq!(field(sst, "Blocks", "trailer_bytes").as_deref(), Some("15"));
}

#[test]
fn damage_is_named_by_verify_and_sst_and_exits_non_zero() {
    let s = Scratch::new("damage");
    let mut image = lsm_image(8 * MIB, |db| {
        for i in 0..200u32 {
            put(db, format!("k{i:04}").as_bytes(), &[b'v'; 100], None, false);
        }
        db.flush().unwrap();
    });
    s.file("disk.img", &image);
    let info = ldb(&s, &["disk.img", "info"]).ok();
    let extents = field(&info, "Table 1", "extents").unwrap();
    let (start, _) = extents.split_once('+').unwrap();
    // A byte of the first data block, which starts the table.
    let at: usize = start.parse::<usize>().unwrap() + 100;
    image[at] ^= 0x01;
    s.file("disk.img", &image);

    let r = ldb(&s, &["disk.img", "verify"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.out(), "# Verify\ntables:1\nentries:0\nerrors:1\n");
    assert_eq!(
        r.stderr,
        "ldb: verify found 1 problem(s):\n  corruption: table 1 block at offset 0: checksum mismatch\n"
    );
    let r = ldb(&s, &["disk.img", "sst", "1"]);
    assert_eq!((r.code, r.out()), (1, String::new()));
    assert_eq!(
        r.stderr,
        "ldb: disk.img: corruption: table 1 block at offset 0: checksum mismatch\n"
    );
    assert!(std::fs::read(s.path("disk.img")).unwrap() == image);
}

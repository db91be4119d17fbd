//! Values as the kernel stores them (`kv::value`): ldb shows an expiring
//! value with `PXAT <unix-ms>`, hides an expired one as the kernel does,
//! loads `PXAT` lines back into the same bytes, and reports a value that
//! does not decode as damage naming its key.

mod common;

use common::{field, ldb, line, lsm_image, put, Scratch, EARLIER, LATER};

const MIB: usize = 1 << 20;

/// Runs `args`, expecting exit status 1 with `stdout` and `stderr` exactly.
fn fails(s: &Scratch, args: &[&str], stdout: &str, stderr: &str) {
    let r = ldb(s, args);
    assert_eq!(
        (r.code, r.out().as_str(), r.stderr.as_str()),
        (1, stdout, stderr),
        "{args:?}"
    );
}

#[test]
fn expiring_values_of_an_lsm_image_are_shown_and_expired_ones_hidden() {
    let s = Scratch::new("expiring");
    let image = lsm_image(8 * MIB, |db| {
        put(db, b"a", b"1", None, false);
        put(db, b"b", b"2", Some(LATER), false);
        put(db, b"c", b"gone", Some(EARLIER), false);
        put(db, b"d", b"old", None, false);
        db.flush().unwrap();
        // Only in the WAL: an expired value over a live one, which hides
        // it, and two more.
        put(db, b"d", b"dead", Some(EARLIER), true);
        put(db, b"e", b"5 5", Some(LATER + 1), true);
        put(db, b"f", b"", Some(EARLIER), true);
    });
    let disk = s.file("disk.img", &image);
    let dump = format!(
        "{}{}{}",
        line(b"a", b"1", None),
        line(b"b", b"2", Some(LATER)),
        line(b"e", b"5 5", Some(LATER + 1))
    );
    assert_eq!(
        dump,
        "\"a\" \"1\"\n\"b\" \"2\" PXAT 4102444800000\n\"e\" \"5 5\" PXAT 4102444800001\n"
    );
    assert_eq!(ldb(&s, &["disk.img", "dump"]).ok(), dump);
    assert_eq!(ldb(&s, &["disk.img", "scan"]).ok(), dump);
    assert_eq!(ldb(&s, &["disk.img", "get", "a"]).ok(), "\"1\"\n");
    assert_eq!(
        ldb(&s, &["disk.img", "get", "b"]).ok(),
        "\"2\" PXAT 4102444800000\n"
    );
    for gone in ["c", "d", "f", "z"] {
        assert_eq!(
            ldb(&s, &["disk.img", "get", gone]).ok(),
            "(nil)\n",
            "{gone}"
        );
    }
    // Expired pairs are absent: they are not counted by --limit.
    assert_eq!(
        ldb(&s, &["disk.img", "scan", "c", "--limit", "1"]).ok(),
        line(b"e", b"5 5", Some(LATER + 1))
    );
    assert_eq!(
        ldb(&s, &["disk.img", "scan", "a", "--limit", "2"]).ok(),
        "\"a\" \"1\"\n\"b\" \"2\" PXAT 4102444800000\n"
    );
    assert_eq!(
        ldb(&s, &["disk.img", "scan", "b", "e"]).ok(),
        line(b"b", b"2", Some(LATER))
    );
    assert_eq!(ldb(&s, &["disk.img", "scan", "c", "e"]).ok(), "");

    // sst shows what the table holds, the expired value too: the stored
    // bytes (tag, expiry, payload), then what they decode to.
    let sst = ldb(&s, &["disk.img", "sst", "1"]).ok();
    let (_, entries) = sst.split_once("\n# Entries\n").unwrap();
    assert_eq!(
        entries,
        "\"a\" 1 value \"\\x001\" string\n\
         \"b\" 2 value \"\\x80\\x00\\xd8\\xc3,\\xbb\\x03\\x00\\x002\" string expires 4102444800000\n\
         \"c\" 3 value \"\\x80\\x00\\x10\\xa5\\xd4\\xe8\\x00\\x00\\x00gone\" string expires 1000000000000\n\
         \"d\" 4 value \"\\x00old\" string\n"
    );
    assert_eq!(field(&sst, "Table", "entries").as_deref(), Some("4"));
    assert!(std::fs::read(&disk).unwrap() == image, "ldb never writes");
}

#[test]
fn pxat_lines_load_and_dump_back_identically() {
    let s = Scratch::new("pxat-load");
    s.file("disk.img", &vec![0u8; 8 * MIB]);
    let file = "\"a\" \"1\" PXAT 4102444800000\n\
                \"b\" \"two words\"\n\
                \"c\" \"\" PXAT 4102444800001\n\
                \"k\\x00\" \"\\xff\\\"q\\\"\" PXAT 18446744073709551615\n\
                \"plain\" \"PXAT\"\n";
    s.file("pairs.txt", file.as_bytes());
    assert_eq!(
        ldb(&s, &["disk.img", "load", "pairs.txt"]).ok(),
        "# Load\npairs:5\nexpired:0\nbatches:1\nformatted:1\nlast_sequence:5\n"
    );
    let dump = ldb(&s, &["disk.img", "dump"]).ok();
    assert_eq!(dump, file);
    assert_eq!(
        ldb(&s, &["disk.img", "get", r#""k\x00""#]).ok(),
        "\"\\xff\\\"q\\\"\" PXAT 18446744073709551615\n"
    );
    // The stored bytes are the kv service's encoding.
    let sst = ldb(&s, &["disk.img", "sst", "1"]).ok();
    assert!(
        sst.contains(
            "\n\"c\" 3 value \"\\x80\\x01\\xd8\\xc3,\\xbb\\x03\\x00\\x00\" string expires 4102444800001\n"
        ),
        "{sst}"
    );

    // dump's output loads into another image and dumps back the same.
    s.file("again.img", &vec![0u8; 8 * MIB]);
    s.file("dump.txt", dump.as_bytes());
    ldb(&s, &["again.img", "load", "dump.txt"]).ok();
    assert_eq!(ldb(&s, &["again.img", "dump"]).ok(), file);

    // Pairs already expired are written all the same (and counted): the
    // key ends with the file's last value, which hides the older one.
    s.file(
        "expired.txt",
        b"a \"new\" PXAT 1000000000000\nz \"z\" pxat 1\nb \"2\" PXAT 4102444800000\n",
    );
    assert_eq!(
        ldb(&s, &["disk.img", "load", "expired.txt"]).ok(),
        "# Load\npairs:3\nexpired:2\nbatches:1\nformatted:0\nlast_sequence:8\n"
    );
    assert_eq!(
        ldb(&s, &["disk.img", "dump"]).ok(),
        "\"b\" \"2\" PXAT 4102444800000\n\
         \"c\" \"\" PXAT 4102444800001\n\
         \"k\\x00\" \"\\xff\\\"q\\\"\" PXAT 18446744073709551615\n\
         \"plain\" \"PXAT\"\n"
    );
    assert_eq!(ldb(&s, &["disk.img", "get", "a"]).ok(), "(nil)\n");
    assert_eq!(ldb(&s, &["disk.img", "get", "z"]).ok(), "(nil)\n");
    let sst = ldb(&s, &["disk.img", "sst", "2"]).ok();
    let (_, entries) = sst.split_once("\n# Entries\n").unwrap();
    assert!(
        entries.starts_with("\"a\" 6 value \"\\x80\\x00\\x10\\xa5\\xd4\\xe8\\x00\\x00\\x00new\" string expires 1000000000000\n"),
        "{entries}"
    );
}

#[test]
fn a_value_that_does_not_decode_is_damage_naming_its_key() {
    let s = Scratch::new("foreign-value");
    let image = lsm_image(8 * MIB, |db| {
        put(db, b"a", b"1", None, false);
        // Bytes the kv service never writes: an unknown tag, an expiry cut
        // short, nothing at all.
        db.put(b"bad", b"\x41raw", false).unwrap();
        db.put(b"cut", b"\x80\x01\x02", false).unwrap();
        db.put(b"empty", b"", false).unwrap();
        put(db, b"z", b"26", Some(LATER), false);
        db.flush().unwrap();
    });
    let disk = s.file("disk.img", &image);
    let good = "\"a\" \"1\"\n\"z\" \"26\" PXAT 4102444800000\n";
    // The live pairs are printed, the damaged ones named on stderr.
    fails(
        &s,
        &["disk.img", "dump"],
        good,
        "ldb: disk.img: 3 damaged value(s), not printed:\n  \
         \"bad\": a stored value has an unknown type tag 0x41\n  \
         \"cut\": a stored value is cut short\n  \
         \"empty\": a stored value is cut short\n",
    );
    fails(
        &s,
        &["disk.img", "scan", "a", "c"],
        "\"a\" \"1\"\n",
        "ldb: disk.img: 1 damaged value(s), not printed:\n  \
         \"bad\": a stored value has an unknown type tag 0x41\n",
    );
    fails(
        &s,
        &["disk.img", "get", "empty"],
        "",
        "ldb: disk.img: 1 damaged value(s), not printed:\n  \
         \"empty\": a stored value is cut short\n",
    );
    assert_eq!(ldb(&s, &["disk.img", "get", "a"]).ok(), "\"1\"\n");
    assert_eq!(
        ldb(&s, &["disk.img", "scan", "f", "--limit", "1"]).ok(),
        "\"z\" \"26\" PXAT 4102444800000\n"
    );

    // sst shows the bytes as they are and says they do not decode.
    let sst = ldb(&s, &["disk.img", "sst", "1"]).ok();
    let (_, entries) = sst.split_once("\n# Entries\n").unwrap();
    let lines: Vec<&str> = entries.lines().collect();
    assert_eq!(
        lines[1..4],
        [
            "\"bad\" 2 value \"Araw\" undecodable",
            "\"cut\" 3 value \"\\x80\\x01\\x02\" undecodable",
            "\"empty\" 4 value \"\" undecodable",
        ]
    );
    // verify checks the blocks, not what the values mean.
    assert_eq!(
        ldb(&s, &["disk.img", "verify"]).ok(),
        "# Verify\ntables:1\nentries:5\nerrors:0\n"
    );
    assert!(std::fs::read(&disk).unwrap() == image, "ldb never writes");
}

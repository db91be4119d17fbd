//! The bitmap commands, with the replies native redis-server 7.0.15 gives
//! (as the console renders them); `tcl_*` tests are those of Redis's
//! tests/unit/bitops.tcl and bitfield.tcl.

mod common;

use common::{expect, line, server, set_expiring, store, Session};

/// "BITCOUNT against test vector #n" and the range tests.
#[test]
fn tcl_bitcount() {
    let s = store(16 << 20);
    expect(
        &s,
        &[
            ("BITCOUNT no-key", "(integer) 0"),
            ("BITCOUNT no-key 0 1000 bit", "(integer) 0"),
            // A missing key answers before its arguments are looked at.
            ("BITCOUNT no-key a b c", "(integer) 0"),
            ("SET str xxxx", "OK"),
            ("BITCOUNT str 4 10", "(integer) 0"),
            ("BITCOUNT str 32 87 bit", "(integer) 0"),
            ("BITCOUNT str -6 -7", "(integer) 0"),
            ("BITCOUNT str -6 -15 bit", "(integer) 0"),
            ("SET v \"\"", "OK"),
            ("BITCOUNT v", "(integer) 0"),
            ("SET v \"\\xaa\"", "OK"),
            ("BITCOUNT v", "(integer) 4"),
            ("SET v \"\\x00\\x00\\xff\"", "OK"),
            ("BITCOUNT v", "(integer) 8"),
            ("SET v 123", "OK"),
            ("BITCOUNT v", "(integer) 10"),
            ("SET s foobar", "OK"),
            ("BITCOUNT s", "(integer) 26"),
            ("BITCOUNT s 0 -1", "(integer) 26"),
            ("BITCOUNT s 1 -2", "(integer) 18"),
            ("BITCOUNT s -2 1", "(integer) 0"),
            ("BITCOUNT s 0 1000", "(integer) 26"),
            ("BITCOUNT s 0 -1 bit", "(integer) 26"),
            ("BITCOUNT s 0 -1 BYTE", "(integer) 26"),
            ("BITCOUNT s 10 14 bit", "(integer) 4"),
            ("BITCOUNT s 3 14 bit", "(integer) 7"),
            ("BITCOUNT s 3 29 bit", "(integer) 16"),
            ("BITCOUNT s 10 -34 bit", "(integer) 4"),
            ("BITCOUNT s 3 -34 bit", "(integer) 7"),
            ("BITCOUNT s 3 -19 bit", "(integer) 16"),
            ("BITCOUNT s -2 1 bit", "(integer) 0"),
            ("BITCOUNT s 0 1000 bit", "(integer) 26"),
            ("BITCOUNT s 0", "(error) ERR syntax error"),
            ("BITCOUNT s 0 1 hello", "(error) ERR syntax error"),
            ("BITCOUNT s 0 1 bit extra", "(error) ERR syntax error"),
            (
                "BITCOUNT s x 1",
                "(error) ERR value is not an integer or out of range",
            ),
            ("SET str ab", "OK"),
            ("BITCOUNT str 1 -1", "(integer) 3"),
            ("SET str __PPxxxxxxxxxxxxxxxxRR__", "OK"),
            ("BITCOUNT str 2 -3", "(integer) 74"),
            // "regression test for github issue #582": a 64-bit end.
            ("DEL foo", "(integer) 0"),
            ("SETBIT foo 0 1", "(integer) 0"),
            ("BITCOUNT foo 0 4294967296", "(integer) 1"),
        ],
    );
}

#[test]
fn tcl_bitop() {
    let s = store(16 << 20);
    expect(
        &s,
        &[
            ("SET s \"\"", "OK"),
            ("BITOP not dest s", "(integer) 0"),
            ("GET dest", "(nil)"),
            ("SET s \"\\xaa\\x00\\xff\\x55\"", "OK"),
            ("BITOP not dest s", "(integer) 4"),
            ("GET dest", "\"U\\xff\\x00\\xaa\""),
            ("BITOP not s s", "(integer) 4"),
            ("GET s", "\"U\\xff\\x00\\xaa\""),
            ("SET a \"\\x01\\x02\\xff\"", "OK"),
            ("BITOP and res1 a", "(integer) 3"),
            ("BITOP or res2 a", "(integer) 3"),
            ("BITOP xor res3 a", "(integer) 3"),
            ("MGET res1 res2 res3", "1) \"\\x01\\x02\\xff\"\n2) \"\\x01\\x02\\xff\"\n3) \"\\x01\\x02\\xff\""),
            ("BITOP and res1 no-such-key a", "(integer) 3"),
            ("BITOP or res2 no-such-key a no-such-key", "(integer) 3"),
            ("BITOP xor res3 no-such-key a", "(integer) 3"),
            ("MGET res1 res2 res3", "1) \"\\x00\\x00\\x00\"\n2) \"\\x01\\x02\\xff\"\n3) \"\\x01\\x02\\xff\""),
            ("SET a \"\\x01\\x02\\xff\\xff\"", "OK"),
            ("SET b \"\\x01\\x02\\xff\"", "OK"),
            ("BITOP and res1 a b", "(integer) 4"),
            ("BITOP or res2 a b", "(integer) 4"),
            ("BITOP xor res3 a b", "(integer) 4"),
            ("MGET res1 res2 res3", "1) \"\\x01\\x02\\xff\\x00\"\n2) \"\\x01\\x02\\xff\\xff\"\n3) \"\\x00\\x00\\x00\\xff\""),
            ("SET a 1", "OK"),
            ("SET b 2", "OK"),
            ("BITOP xor dest a b a", "(integer) 1"),
            ("GET dest", "\"2\""),
            ("OBJECT ENCODING dest", "\"raw\""),
            ("SET a \"\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\"", "OK"),
            ("DEL b", "(integer) 1"),
            ("BITOP or x a b", "(integer) 32"),
            ("BITOP nand x a b", "(error) ERR syntax error"),
            (
                "BITOP not x a b",
                "(error) ERR BITOP NOT must be called with a single source key.",
            ),
            // An empty result deletes the target.
            ("BITOP and x nothing", "(integer) 0"),
            ("EXISTS x", "(integer) 0"),
        ],
    );
}

/// The result has no expiry, as a SET's; its sources keep theirs.
#[test]
fn bitop_drops_the_targets_expiry() {
    let s = store(16 << 20);
    let far = common::now_ms() + 100_000_000;
    set_expiring(&s, "dest", "old", far);
    set_expiring(&s, "src", "\u{1}", far);
    expect(
        &s,
        &[
            ("BITOP or dest src", "(integer) 1"),
            ("TTL dest", "(integer) -1"),
            ("SETBIT src 15 1", "(integer) 0"),
            ("GET src", "\"\\x01\\x01\""),
        ],
    );
    assert_ne!(line(&s, "TTL src"), "(integer) -1\n");
}

#[test]
fn tcl_bitpos() {
    let s = store(16 << 20);
    let mut words = String::from("\\xff\\xff\\xff");
    words.push_str(&"\\xff".repeat(24));
    let ones = format!("SET str \"{words}\\x0f\"");
    let zeros = format!("SET str \"{}\\xf0\"", "\\x00".repeat(27));
    expect(
        &s,
        &[
            ("BITPOS str 0", "(integer) 0"),
            ("BITPOS str 0 0 -1 bit", "(integer) 0"),
            ("BITPOS str 1", "(integer) -1"),
            ("BITPOS str 1 0 -1", "(integer) -1"),
            ("SET str \"\\xff\\xf0\\x00\"", "OK"),
            ("BITPOS str 0", "(integer) 12"),
            ("BITPOS str 0 0 -1 bit", "(integer) 12"),
            ("BITPOS str 0 1", "(integer) 12"),
            ("BITPOS str 0 1 -1 bit", "(integer) 12"),
            ("SET str \"\\x00\\x0f\\x00\"", "OK"),
            ("BITPOS str 1", "(integer) 12"),
            ("BITPOS str 1 0 -1 bit", "(integer) 12"),
            ("SET str \"\\x00\\x0f\\xff\"", "OK"),
            ("BITPOS str 1 1", "(integer) 12"),
            ("BITPOS str 1 1 -1 bit", "(integer) 12"),
            (&ones, "OK"),
            ("BITPOS str 0", "(integer) 216"),
            ("BITPOS str 0 8", "(integer) 216"),
            ("BITPOS str 0 1 -1 bit", "(integer) 216"),
            ("BITPOS str 0 65 -1 bit", "(integer) 216"),
            (&zeros, "OK"),
            ("BITPOS str 1", "(integer) 216"),
            ("BITPOS str 1 7", "(integer) 216"),
            ("BITPOS str 1 57 -1 bit", "(integer) 216"),
            ("SET str \"\\x00\\xff\\x00\"", "OK"),
            ("BITPOS str 0 0 -1", "(integer) 0"),
            ("BITPOS str 0 1 -1", "(integer) 16"),
            ("BITPOS str 0 2 200", "(integer) 16"),
            ("BITPOS str 0 1 1", "(integer) -1"),
            ("BITPOS str 0 8 -1 bit", "(integer) 16"),
            ("BITPOS str 0 16 200 bit", "(integer) 16"),
            ("BITPOS str 0 8 8 bit", "(integer) -1"),
            ("BITPOS str 1 0 -1", "(integer) 8"),
            ("BITPOS str 1 2 -1", "(integer) -1"),
            ("BITPOS str 1 1 1", "(integer) 8"),
            ("BITPOS str 1 16 -1 bit", "(integer) -1"),
            ("BITPOS str 1 8 8 bit", "(integer) 8"),
            ("SET str \"\\xff\\xff\\xff\"", "OK"),
            ("BITPOS str 0", "(integer) 24"),
            ("BITPOS str 0 0", "(integer) 24"),
            ("BITPOS str 0 0 -1", "(integer) -1"),
            ("BITPOS str 0 0 -1 bit", "(integer) -1"),
            ("SET str \"\"", "OK"),
            ("BITPOS str 1", "(integer) -1"),
            ("BITPOS str 0", "(integer) -1"),
            (
                "BITPOS str 2",
                "(error) ERR The bit argument must be 1 or 0.",
            ),
            (
                "BITPOS str x",
                "(error) ERR value is not an integer or out of range",
            ),
            ("BITPOS str 1 0 1 bit x", "(error) ERR syntax error"),
            ("BITPOS str 1 0 1 word", "(error) ERR syntax error"),
        ],
    );
}

#[test]
fn setbit_and_getbit() {
    let s = store(16 << 20);
    expect(
        &s,
        &[
            ("SETBIT k 7 1", "(integer) 0"),
            ("GET k", "\"\\x01\""),
            ("SETBIT k 7 1", "(integer) 1"),
            ("SETBIT k 0 1", "(integer) 0"),
            ("GET k", "\"\\x81\""),
            ("SETBIT k 23 1", "(integer) 0"),
            ("GET k", "\"\\x81\\x00\\x01\""),
            ("OBJECT ENCODING k", "\"raw\""),
            ("GETBIT k 0", "(integer) 1"),
            ("GETBIT k 1", "(integer) 0"),
            ("GETBIT k 23", "(integer) 1"),
            ("GETBIT k 100000", "(integer) 0"),
            ("GETBIT nokey 3", "(integer) 0"),
            ("SETBIT k 0 0", "(integer) 1"),
            ("GET k", "\"\\x01\\x00\\x01\""),
            // An integer is its digits: "1" is 0x31.
            ("SET n 1", "OK"),
            ("GETBIT n 2", "(integer) 1"),
            ("GETBIT n 7", "(integer) 1"),
            ("GETBIT n 6", "(integer) 0"),
            ("SETBIT n 6 1", "(integer) 0"),
            ("GET n", "\"3\""),
            (
                "SETBIT k -1 1",
                "(error) ERR bit offset is not an integer or out of range",
            ),
            (
                "SETBIT k x 1",
                "(error) ERR bit offset is not an integer or out of range",
            ),
            (
                "SETBIT k 4294967296000 1",
                "(error) ERR bit offset is not an integer or out of range",
            ),
            (
                "GETBIT k 4294967296000",
                "(error) ERR bit offset is not an integer or out of range",
            ),
            (
                "SETBIT k 0 2",
                "(error) ERR bit is not an integer or out of range",
            ),
            (
                "SETBIT k 0 -1",
                "(error) ERR bit is not an integer or out of range",
            ),
            (
                "SETBIT k 0 01",
                "(error) ERR bit is not an integer or out of range",
            ),
            ("GET k", "\"\\x01\\x00\\x01\""),
        ],
    );
}

/// Within `proto-max-bulk-len` but past what the store keeps: the store's
/// own limit, and nothing written.
#[test]
fn a_bit_past_the_largest_string_is_refused() {
    let s = store(16 << 20);
    let reply = line(&s, "SETBIT big 500000000 1");
    assert!(
        reply.starts_with("(error) ERR string exceeds maximum allowed size"),
        "{reply}"
    );
    assert_eq!(line(&s, "EXISTS big"), "(integer) 0\n");
    let reply = line(&s, "BITFIELD big SET u8 400000000 1");
    assert!(
        reply.starts_with("(error) ERR string exceeds maximum allowed size"),
        "{reply}"
    );
    assert_eq!(line(&s, "EXISTS big"), "(integer) 0\n");
}

#[test]
fn tcl_bitfield() {
    let s = store(16 << 20);
    expect(
        &s,
        &[
            ("BITFIELD bits SET i8 0 -100", "1) (integer) 0"),
            ("BITFIELD bits SET i8 0 101", "1) (integer) -100"),
            ("BITFIELD bits GET i8 0", "1) (integer) 101"),
            ("DEL bits", "(integer) 1"),
            ("BITFIELD bits SET u8 0 255", "1) (integer) 0"),
            ("BITFIELD bits SET u8 0 100", "1) (integer) 255"),
            ("BITFIELD bits GET u8 0", "1) (integer) 100"),
            ("DEL bits", "(integer) 1"),
            (
                "BITFIELD bits SET i8 0 255 SET i8 0 100 GET i8 0",
                "1) (integer) 0\n2) (integer) -1\n3) (integer) 100",
            ),
            ("DEL bits", "(integer) 1"),
            (
                "BITFIELD bits SET u8 0 255 INCRBY u8 0 100 GET u8 0",
                "1) (integer) 0\n2) (integer) 99\n3) (integer) 99",
            ),
            ("DEL bits", "(integer) 1"),
            ("BITFIELD bits", "(empty array)"),
            ("BITFIELD bits SET u8 #0 65", "1) (integer) 0"),
            ("BITFIELD bits SET u8 #1 66", "1) (integer) 0"),
            ("BITFIELD bits SET u8 #2 67", "1) (integer) 0"),
            ("GET bits", "\"ABC\""),
            ("DEL bits", "(integer) 1"),
            ("BITFIELD bits SET u8 #0 10", "1) (integer) 0"),
            (
                "BITFIELD bits INCRBY u8 #0 100 INCRBY u8 #0 100",
                "1) (integer) 110\n2) (integer) 210",
            ),
            ("BITFIELD bits SET u8 #0 100", "1) (integer) 210"),
            (
                "BITFIELD bits OVERFLOW wrap INCRBY u8 #0 257",
                "1) (integer) 101",
            ),
            (
                "BITFIELD bits OVERFLOW wrap INCRBY u8 #0 255",
                "1) (integer) 100",
            ),
            (
                "BITFIELD bits OVERFLOW sat INCRBY u8 #0 257",
                "1) (integer) 255",
            ),
            (
                "BITFIELD bits OVERFLOW sat INCRBY u8 #0 -255",
                "1) (integer) 0",
            ),
            ("BITFIELD bits SET u8 #0 100", "1) (integer) 0"),
            (
                "BITFIELD bits OVERFLOW sat INCRBY i8 #0 257",
                "1) (integer) 127",
            ),
            (
                "BITFIELD bits OVERFLOW sat INCRBY i8 #0 -255",
                "1) (integer) -128",
            ),
            ("BITFIELD bits SET i8 #0 100", "1) (integer) -128"),
            (
                "BITFIELD bits OVERFLOW wrap INCRBY i8 #0 257",
                "1) (integer) 101",
            ),
            ("BITFIELD bits GET i8 #0", "1) (integer) 101"),
            // FAIL: nil, and nothing written; the next operations go on.
            (
                "BITFIELD bits OVERFLOW fail INCRBY i8 #0 100 INCRBY i8 #0 -1",
                "1) (nil)\n2) (integer) 100",
            ),
            // "regression for #3221": the digit 1 is 0x31.
            ("SET bits 1", "OK"),
            ("BITFIELD bits GET u1 0", "1) (integer) 0"),
            // "regression for #3564".
            ("DEL mystring", "(integer) 0"),
            (
                "BITFIELD mystring SET i8 0 10 SET i8 64 10 INCRBY i8 10 99900",
                "1) (integer) 0\n2) (integer) 0\n3) (integer) 60",
            ),
            ("STRLEN mystring", "(integer) 9"),
            (
                "BITFIELD_RO mystring GET i8 64 GET u4 #1",
                "1) (integer) 10\n2) (integer) 10",
            ),
            ("BITFIELD_RO mystring", "(empty array)"),
            (
                "BITFIELD_RO mystring SET u8 0 100 GET u8 0",
                "(error) ERR BITFIELD_RO only supports the GET subcommand",
            ),
            // Fields of 64 bits: i64 reads back whole; u64 is no type.
            (
                "BITFIELD w SET i64 3 -9223372036854775808 GET i64 3 GET u63 4",
                "1) (integer) 0\n2) (integer) -9223372036854775808\n3) (integer) 0",
            ),
            (
                "BITFIELD w INCRBY i64 3 -1",
                "1) (integer) 9223372036854775807",
            ),
        ],
    );
}

#[test]
fn bitfield_errors_change_nothing() {
    let s = store(16 << 20);
    let bad_type = "(error) ERR Invalid bitfield type. Use something like i16 u8. \
                    Note that u64 is not supported but i64 is.";
    expect(
        &s,
        &[
            ("SET bits ab", "OK"),
            ("BITFIELD bits SET u8 0 1 GET u64 0", bad_type),
            ("BITFIELD bits SET u8 0 1 GET i65 0", bad_type),
            ("BITFIELD bits SET u8 0 1 GET i0 0", bad_type),
            ("BITFIELD bits SET u8 0 1 GET I8 0", bad_type),
            ("BITFIELD bits SET u8 0 1 GET u08 0", bad_type),
            ("BITFIELD bits SET u8 0 1 GET 8 0", bad_type),
            (
                "BITFIELD bits SET u8 0 1 GET u8 -1",
                "(error) ERR bit offset is not an integer or out of range",
            ),
            (
                "BITFIELD bits SET u8 0 1 GET u8 #-1",
                "(error) ERR bit offset is not an integer or out of range",
            ),
            (
                "BITFIELD bits SET u8 0 1 GET u8 #9223372036854775807",
                "(error) ERR bit offset is not an integer or out of range",
            ),
            (
                "BITFIELD bits SET u8 0 x",
                "(error) ERR value is not an integer or out of range",
            ),
            (
                "BITFIELD bits SET u8 0 1 OVERFLOW up",
                "(error) ERR Invalid OVERFLOW type specified",
            ),
            (
                "BITFIELD bits SET u8 0 1 GET u8",
                "(error) ERR syntax error",
            ),
            (
                "BITFIELD bits SET u8 0 1 PUT u8 0",
                "(error) ERR syntax error",
            ),
            (
                "BITFIELD bits SET u8 0 1 OVERFLOW",
                "(error) ERR syntax error",
            ),
            ("GET bits", "\"ab\""),
        ],
    );
}

/// A write that changes no bit and no length writes nothing: a
/// transaction watching the key still runs (Redis does not signal the
/// key either); a change aborts it.
#[test]
fn writes_that_change_nothing_leave_watchers_alone() {
    let (s, srv) = (store(16 << 20), server());
    let mut a = Session::network(&s, &srv);
    let mut b = Session::network(&s, &srv);
    assert_eq!(b.run("SETBIT k 3 1"), "(integer) 0\n");
    let unchanged = "1) \"\\x10\"\n";
    for (write, exec) in [
        ("SETBIT k 3 1", unchanged),
        ("SETBIT k 4 0", unchanged),
        ("BITFIELD k SET u4 0 1", unchanged),
        ("BITFIELD k OVERFLOW FAIL SET u2 0 7", unchanged),
        ("SETBIT k 3 0", "(nil)\n"),
        ("SETBIT k 9 0", "(nil)\n"),
        ("BITFIELD k INCRBY u4 0 1", "(nil)\n"),
        ("BITOP or k k", "(nil)\n"),
    ] {
        assert_eq!(a.run("WATCH k"), "OK\n");
        b.run(write);
        assert_eq!(a.run("MULTI"), "OK\n");
        assert_eq!(a.run("GET k"), "QUEUED\n");
        assert_eq!(a.run("EXEC"), exec, "{write}");
    }
}

/// Bitmaps written in a transaction are read back by its later commands,
/// and committed as one batch.
#[test]
fn bitmaps_inside_a_transaction() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    assert_eq!(c.run("MULTI"), "OK\n");
    for cmd in [
        "SETBIT m 1 1",
        "SETBIT m 2 1",
        "BITCOUNT m",
        "BITPOS m 1",
        "BITFIELD m GET u3 0",
    ] {
        assert_eq!(c.run(cmd), "QUEUED\n");
    }
    assert_eq!(
        c.run("EXEC"),
        "1) (integer) 0\n2) (integer) 0\n3) (integer) 2\n4) (integer) 1\n5) 1) (integer) 3\n"
    );
    assert_eq!(line(&s, "GET m"), "\"`\"\n");
}

//! The string commands, reply by reply, as native redis-server 7.0.15
//! answers the same commands (checked with redis-cli against Debian's
//! build). Tests named `tcl_*` cover the tests of Redis's
//! tests/unit/type/string.tcl that need only strings and expiry; each
//! names the Tcl tests it covers. SETRANGE and GETRANGE are in
//! `ranges.rs`, the counters in `incr.rs`, LCS in `lcs.rs`, OBJECT in
//! `object.rs`.

mod common;

use common::{advance_ms, expect, freeze_clock, line, server, store, Session};

/// A day in 2023, in Unix microseconds.
const T0_US: u64 = 1_700_000_000_000_000;

/// "SET and GET an item", "SET and GET an empty item".
#[test]
fn tcl_set_and_get_an_item_and_an_empty_item() {
    let s = store(16 << 20);
    expect(
        &s,
        &[
            ("SET x foobar", "OK"),
            ("GET x", "\"foobar\""),
            ("SET x \"\"", "OK"),
            ("GET x", "\"\""),
            ("put x v", "OK"),
            ("GET x", "\"v\""),
        ],
    );
}

/// "Very big payload in GET/SET", "Very big payload random access", and
/// values up to 16 MiB on a disk of 256 MiB: written whole, grown by
/// SETRANGE and APPEND, and refused past the store's largest value.
#[test]
fn tcl_very_big_payload_in_get_set_and_16_mib_values() {
    let s = store(256 << 20);
    let big = "abcd".repeat(1_000_000);
    assert_eq!(line(&s, &format!("SET foo {big}")), "OK\n");
    assert_eq!(line(&s, "GET foo"), format!("\"{big}\"\n"));
    for j in 0..10 {
        let v = format!("pl-{j}").repeat(1 + j * 10_000);
        assert_eq!(line(&s, &format!("SET bigpayload_{j} {v}")), "OK\n");
    }
    for j in (0..10).rev() {
        let v = format!("pl-{j}").repeat(1 + j * 10_000);
        assert_eq!(
            line(&s, &format!("GET bigpayload_{j}")),
            format!("\"{v}\"\n")
        );
    }
    let max = 16 << 20;
    expect(
        &s,
        &[
            (&format!("SETRANGE big {} x", max - 1), "(integer) 16777216"),
            ("STRLEN big", "(integer) 16777216"),
            ("APPEND big 0123456789", "(integer) 16777226"),
            ("GETRANGE big 16777214 -1", "\"\\x00x0123456789\""),
        ],
    );
    // 16 MiB + 64 stored bytes, less kv's 9-byte header.
    let err = "(error) ERR string exceeds maximum allowed size \
               (the store keeps strings of at most 16777271 bytes)";
    expect(
        &s,
        &[
            ("SETRANGE big 16777271 x", err),
            ("SETRANGE big 16777270 x", "(integer) 16777271"),
            ("APPEND big x", err),
            ("STRLEN big", "(integer) 16777271"),
        ],
    );
    let too_big = "x".repeat(16777272);
    assert_eq!(line(&s, &format!("SET huge {too_big}")), format!("{err}\n"));
    assert_eq!(line(&s, "EXISTS huge"), "(integer) 0\n");
}

/// "SET 10000 numeric keys and access all them in reverse order" (a
/// thousand here).
#[test]
fn tcl_set_numeric_keys_and_access_them_in_reverse_order() {
    let s = store(16 << 20);
    for x in 0..1000 {
        assert_eq!(line(&s, &format!("SET {x} {x}")), "OK\n");
    }
    for x in (0..1000).rev() {
        assert_eq!(line(&s, &format!("GET {x}")), format!("\"{x}\"\n"));
    }
}

/// "SETNX target key missing", "SETNX target key exists", "SETNX against
/// not-expired volatile key", "SETNX against expired volatile key".
#[test]
fn tcl_setnx() {
    freeze_clock(T0_US);
    let s = store(16 << 20);
    expect(
        &s,
        &[
            ("SETNX novar foobared", "(integer) 1"),
            ("GET novar", "\"foobared\""),
            ("SETNX novar blabla", "(integer) 0"),
            ("GET novar", "\"foobared\""),
            ("SET x 10", "OK"),
            ("EXPIRE x 10000", "(integer) 1"),
            ("SETNX x 20", "(integer) 0"),
            ("GET x", "\"10\""),
            ("EXPIRE x 1", "(integer) 1"),
        ],
    );
    advance_ms(2000);
    expect(
        &s,
        &[
            ("SETNX x 20", "(integer) 1"),
            ("GET x", "\"20\""),
            ("TTL x", "(integer) -1"),
        ],
    );
}

/// "GETEX EX option", "GETEX PX option", "GETEX EXAT option", "GETEX PXAT
/// option", "GETEX PERSIST option", "GETEX no option", "GETEX syntax
/// errors", "GETEX no arguments"; and its edge cases: a time past deletes
/// the key, an invalid time on a missing key is not looked at.
#[test]
fn tcl_getex() {
    freeze_clock(T0_US);
    let s = store(16 << 20);
    expect(
        &s,
        &[
            ("SET foo bar", "OK"),
            ("GETEX foo ex 10", "\"bar\""),
            ("TTL foo", "(integer) 10"),
            ("GETEX foo px 10000", "\"bar\""),
            ("PTTL foo", "(integer) 10000"),
            ("GETEX foo exat 1700000010", "\"bar\""),
            ("TTL foo", "(integer) 10"),
            ("GETEX foo pxat 1700000010000", "\"bar\""),
            ("PTTL foo", "(integer) 10000"),
            ("GETEX foo persist", "\"bar\""),
            ("TTL foo", "(integer) -1"),
            ("GETEX foo persist", "\"bar\""),
            ("SET foo bar", "OK"),
            ("GETEX foo", "\"bar\""),
            ("GETEX foo", "\"bar\""),
            ("GETEX foo non-existent-option", "(error) ERR syntax error"),
            ("GETEX foo keepttl", "(error) ERR syntax error"),
            ("GETEX foo nx", "(error) ERR syntax error"),
            ("GETEX foo get", "(error) ERR syntax error"),
            ("GETEX foo persist ex 1", "(error) ERR syntax error"),
            ("GETEX foo ex 1 persist", "(error) ERR syntax error"),
            ("GETEX foo ex 1 px 1", "(error) ERR syntax error"),
            ("GETEX foo ex", "(error) ERR syntax error"),
            (
                "GETEX",
                "(error) ERR wrong number of arguments for 'GETEX': usage GETEX key \
                 [EX seconds|PX milliseconds|EXAT unix-time-seconds|\
                 PXAT unix-time-milliseconds|PERSIST]",
            ),
            ("GETEX nokey ex -1", "(nil)"),
            (
                "GETEX foo ex -1",
                "(error) ERR invalid expire time in 'getex' command",
            ),
            (
                "GETEX foo ex abc",
                "(error) ERR value is not an integer or out of range",
            ),
            ("GETEX foo exat 1", "\"bar\""),
            ("GET foo", "(nil)"),
            ("SET foo bar", "OK"),
            ("GETEX foo pxat 1700000000000", "\"bar\""),
            ("EXISTS foo", "(integer) 0"),
            ("SET foo bar", "OK"),
            ("GETEX foo pxat 1700000000001", "\"bar\""),
            ("PTTL foo", "(integer) 1"),
        ],
    );
}

/// "GETDEL command".
#[test]
fn tcl_getdel() {
    let s = store(16 << 20);
    expect(
        &s,
        &[
            ("SET foo bar", "OK"),
            ("GETDEL foo", "\"bar\""),
            ("GETDEL foo", "(nil)"),
            ("EXISTS foo", "(integer) 0"),
        ],
    );
}

/// "MGET", "MGET against non existing key", "MSET base case", "MSET/MSETNX
/// wrong number of args", "MSETNX with already existent key", "MSETNX with
/// not existing keys", "MSETNX with not existing keys - same key twice",
/// "MSETNX with already existing keys - same key twice".
#[test]
fn tcl_mget_mset_msetnx() {
    freeze_clock(T0_US);
    let s = store(16 << 20);
    expect(
        &s,
        &[
            ("SET foo{t} BAR", "OK"),
            ("SET bar{t} FOO", "OK"),
            ("MGET foo{t} bar{t}", "1) \"BAR\"\n2) \"FOO\""),
            (
                "MGET foo{t} baazz{t} bar{t}",
                "1) \"BAR\"\n2) (nil)\n3) \"FOO\"",
            ),
            (
                "MSET x{t} 10 y{t} \"foo bar\" z{t} \"x x x x x x x\\n\\n\\r\\n\"",
                "OK",
            ),
            (
                "MGET x{t} y{t} z{t}",
                "1) \"10\"\n2) \"foo bar\"\n3) \"x x x x x x x\\n\\n\\r\\n\"",
            ),
            (
                "MSET x{t} 10 y{t} \"foo bar\" z{t}",
                "(error) ERR wrong number of arguments for 'mset' command",
            ),
            (
                "MSETNX x{t} 20 y{t} \"foo bar\" z{t}",
                "(error) ERR wrong number of arguments for 'msetnx' command",
            ),
            ("MSETNX x1{t} xxx y2{t} yyy x{t} 20", "(integer) 0"),
            ("EXISTS x1{t}", "(integer) 0"),
            ("EXISTS y2{t}", "(integer) 0"),
            ("MSETNX x1{t} xxx y2{t} yyy", "(integer) 1"),
            ("MGET x1{t} y2{t}", "1) \"xxx\"\n2) \"yyy\""),
            ("DEL x1{t}", "(integer) 1"),
            ("MSETNX x1{t} xxx x1{t} yyy", "(integer) 1"),
            ("GET x1{t}", "\"yyy\""),
            ("MSETNX x1{t} xxx x1{t} zzz", "(integer) 0"),
            ("GET x1{t}", "\"yyy\""),
            // MSET drops an expiry.
            ("SET v 1 EX 100", "OK"),
            ("MSET v 2", "OK"),
            ("TTL v", "(integer) -1"),
        ],
    );
}

/// "GETSET (set new value)", "GETSET (replace old value)"; the new value
/// has no expiry.
#[test]
fn tcl_getset() {
    let s = store(16 << 20);
    expect(
        &s,
        &[
            ("GETSET foo xyz", "(nil)"),
            ("GET foo", "\"xyz\""),
            ("SET foo bar EX 100", "OK"),
            ("GETSET foo xyz", "\"bar\""),
            ("GET foo", "\"xyz\""),
            ("TTL foo", "(integer) -1"),
        ],
    );
}

/// "STRLEN against non-existing key", "STRLEN against integer-encoded
/// value", "STRLEN against plain string".
#[test]
fn tcl_strlen() {
    let s = store(16 << 20);
    expect(
        &s,
        &[
            ("STRLEN notakey", "(integer) 0"),
            ("SET myinteger -555", "OK"),
            ("STRLEN myinteger", "(integer) 4"),
            ("SET mystring \"foozzz0123456789 baz\"", "OK"),
            ("STRLEN mystring", "(integer) 20"),
        ],
    );
}

/// "Extended SET can detect syntax errors", "Extended SET NX option",
/// "Extended SET XX option", "Extended SET GET option", "... with no
/// previous value", "... with XX", "... with XX and no previous value",
/// "... with NX", "... with NX and previous value", "Extended SET EX
/// option", "Extended SET PX option", "Extended SET EXAT option", "Extended
/// SET PXAT option", "Extended SET using multiple options at once"; and
/// the options' conflicts and repeats as Redis parses them.
#[test]
fn tcl_extended_set() {
    freeze_clock(T0_US);
    let s = store(16 << 20);
    let syntax = "(error) ERR syntax error";
    expect(
        &s,
        &[
            ("SET foo bar non-existing-option", syntax),
            ("SET foo 1 nx", "OK"),
            ("SET foo 2 nx", "(nil)"),
            ("GET foo", "\"1\""),
            ("DEL foo", "(integer) 1"),
            ("SET foo 1 xx", "(nil)"),
            ("SET foo bar", "OK"),
            ("SET foo 2 xx", "OK"),
            ("GET foo", "\"2\""),
            ("SET foo bar", "OK"),
            ("SET foo bar2 GET", "\"bar\""),
            ("GET foo", "\"bar2\""),
            ("DEL foo", "(integer) 1"),
            ("SET foo bar GET", "(nil)"),
            ("GET foo", "\"bar\""),
            ("SET foo baz GET XX", "\"bar\""),
            ("GET foo", "\"baz\""),
            ("DEL foo", "(integer) 1"),
            ("SET foo bar GET XX", "(nil)"),
            ("GET foo", "(nil)"),
            ("SET foo bar GET NX", "(nil)"),
            ("GET foo", "\"bar\""),
            ("SET foo baz GET NX", "\"bar\""),
            ("GET foo", "\"bar\""),
            ("SET foo bar ex 10", "OK"),
            ("TTL foo", "(integer) 10"),
            ("SET foo bar px 10000", "OK"),
            ("PTTL foo", "(integer) 10000"),
            ("SET foo bar exat 1700000010", "OK"),
            ("TTL foo", "(integer) 10"),
            ("SET foo bar pxat 1700000010000", "OK"),
            ("PTTL foo", "(integer) 10000"),
            ("SET foo val", "OK"),
            ("SET foo bar xx px 10000", "OK"),
            ("TTL foo", "(integer) 10"),
            // Conflicts, repeats and missing arguments.
            ("SET foo bar nx xx", syntax),
            ("SET foo bar xx nx", syntax),
            ("SET foo bar ex 10 px 100", syntax),
            ("SET foo bar keepttl ex 1", syntax),
            ("SET foo bar ex 1 keepttl", syntax),
            ("SET foo bar ex", syntax),
            ("SET foo bar persist", syntax),
            ("SET foo bar nx nx", "(nil)"),
            ("SET foo bar ex 10 ex 20", "OK"),
            ("TTL foo", "(integer) 20"),
            ("SET foo bar get get", "\"bar\""),
            ("SET foo bar Ex 5 gEt", "\"bar\""),
            ("TTL foo", "(integer) 5"),
        ],
    );
}

/// SET's expiry arguments: "SET with EX with big integer should report an
/// error", "SET with EX with smallest integer should report an error"
/// (expire.tcl), and the rest of Redis's checks for SET, SETEX and PSETEX.
#[test]
fn set_expiry_arguments_are_checked_as_redis_checks_them() {
    freeze_clock(T0_US);
    let s = store(16 << 20);
    let invalid = |cmd: &str| format!("(error) ERR invalid expire time in '{cmd}' command");
    expect(
        &s,
        &[
            ("SET foo bar EX 10000000000000000", &invalid("set")),
            ("SET foo bar EX -9999999999999999", &invalid("set")),
            ("SET foo bar EX 0", &invalid("set")),
            ("SET foo bar PX -1", &invalid("set")),
            ("SET foo bar PXAT 0", &invalid("set")),
            ("PUT foo bar EX 0", &invalid("set")),
            ("SET foo bar PX 9223372036854775807", &invalid("set")),
            (
                "SET foo bar EX abc",
                "(error) ERR value is not an integer or out of range",
            ),
            ("SET foo bar EXAT 1", "OK"),
            ("GET foo", "(nil)"),
            ("SETEX a -1 v", &invalid("setex")),
            ("SETEX a 0 v", &invalid("setex")),
            ("SETEX a 10000000000000000 v", &invalid("setex")),
            ("PSETEX a 0 v", &invalid("psetex")),
            ("PSETEX a 9223372036854775807 v", &invalid("psetex")),
            (
                "SETEX a x v",
                "(error) ERR value is not an integer or out of range",
            ),
            ("EXISTS a", "(integer) 0"),
            ("PSETEX a 1500 v", "OK"),
            ("PTTL a", "(integer) 1500"),
            ("TTL a", "(integer) 2"),
            ("SET foo bar PXAT 9223372036854775807", "OK"),
            ("PEXPIRETIME foo", "(integer) 9223372036854775807"),
        ],
    );
}

/// APPEND creates, grows, and keeps the expiry.
#[test]
fn append() {
    freeze_clock(T0_US);
    let s = store(16 << 20);
    expect(
        &s,
        &[
            ("APPEND a new", "(integer) 3"),
            ("APPEND a xyz", "(integer) 6"),
            ("GET a", "\"newxyz\""),
            ("APPEND a \"\"", "(integer) 6"),
            ("EXPIRE a 100", "(integer) 1"),
            ("APPEND a 1", "(integer) 7"),
            ("TTL a", "(integer) 100"),
        ],
    );
}

/// Every string command's arity, as the console reports it.
#[test]
fn arity_errors_name_the_usage() {
    let s = store(16 << 20);
    expect(
        &s,
        &[
            ("SETNX k", "(error) ERR wrong number of arguments for 'SETNX': usage SETNX key value"),
            ("SETEX k 1", "(error) ERR wrong number of arguments for 'SETEX': usage SETEX key seconds value"),
            ("GETRANGE k 1", "(error) ERR wrong number of arguments for 'GETRANGE': usage GETRANGE key start end"),
            ("INCR", "(error) ERR wrong number of arguments for 'INCR': usage INCR key"),
            ("LCS a", "(error) ERR wrong number of arguments for 'LCS': usage LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]"),
            ("MGET", "(error) ERR wrong number of arguments for 'MGET': usage MGET key [key ...]"),
        ],
    );
}

/// A command that names enough large values to fill the heap is refused
/// with an OOM error once its reads pass a quarter of the free heap (the
/// test double's 64 MiB: 16 MiB; its first value always goes through),
/// and nothing is lost: the kernel would
/// otherwise stop at the failed allocation.
#[test]
fn reads_past_a_quarter_of_the_free_heap_are_refused() {
    let (s, srv) = (store(256 << 20), server());
    let mut c = Session::network(&s, &srv);
    assert_eq!(c.run("SETRANGE big 1048575 x"), "(integer) 1048576\n");
    let mget = |n: usize| format!("MGET{}", " big".repeat(n));
    let reply = c.run(&mget(15));
    assert_eq!(reply.matches(") \"").count(), 15);
    let reply = c.run(&mget(20));
    assert!(
        reply.starts_with("(error) OOM command not allowed: the values it reads (17825792 bytes so far) pass a quarter of the free memory (67108864 bytes)"),
        "{reply}"
    );
    // BITOP's sources, and a transaction's reads all together.
    let bitop = format!("BITOP OR dest{}", " big".repeat(20));
    assert!(c.run(&bitop).starts_with("(error) OOM "));
    assert_eq!(c.run("EXISTS dest"), "(integer) 0\n");
    assert_eq!(c.run("MULTI"), "OK\n");
    for _ in 0..20 {
        assert_eq!(c.run("STRLEN big"), "QUEUED\n");
    }
    assert_eq!(c.run("SET after 1"), "QUEUED\n");
    let exec = c.run("EXEC");
    assert_eq!(exec.matches("(integer) 1048576").count(), 16, "{exec}");
    assert_eq!(exec.matches("(error) OOM").count(), 4, "{exec}");
    assert_eq!(c.run("GET after"), "\"1\"\n");
    assert_eq!(c.run("STRLEN big"), "(integer) 1048576\n");
}

/// A key past the store's 1 KiB is refused with the limit named, and
/// nothing of its command is written.
#[test]
fn keys_past_the_stores_limit_are_refused_with_it() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    let long = "k".repeat(1025);
    assert_eq!(c.run(&format!("SET {} v", &long[..1024])), "OK\n");
    let refused =
        "(error) ERR key too long (1025 bytes; the store keeps keys of at most 1024 bytes)\n";
    assert_eq!(c.run(&format!("SET {long} v")), refused);
    assert_eq!(c.run(&format!("MSET a 1 {long} v")), refused);
    assert_eq!(c.run("EXISTS a"), "(integer) 0\n");
    assert_eq!(c.run(&format!("GET {long}")), "(nil)\n");
}

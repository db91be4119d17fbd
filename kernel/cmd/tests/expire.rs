//! The expiry commands and TIME, reply by reply, as native redis-server
//! 7.0.15 answers the same commands, on a wall clock each test stops and
//! moves by hand. Tests named `tcl_*` cover the tests of Redis's
//! tests/unit/expire.tcl that need only strings and expiry; each names the
//! Tcl tests it covers.

mod common;

use common::{advance_ms, advance_us, expect, freeze_clock, line, store};

/// 2023-11-14 22:13:20 UTC, in Unix microseconds.
const T0_US: u64 = 1_700_000_000_000_000;

/// "EXPIRE - set timeouts multiple times", "EXPIRE - It should be still
/// possible to read 'x'", "EXPIRE - After 2.1 seconds the key should no
/// longer be here", "EXPIRE - write on expire should work" (with a string).
#[test]
fn tcl_expire_set_timeouts_multiple_times_and_expiry() {
    freeze_clock(T0_US);
    let s = store(16 << 20);
    expect(
        &s,
        &[
            ("SET x foobar", "OK"),
            ("EXPIRE x 5", "(integer) 1"),
            ("TTL x", "(integer) 5"),
            ("EXPIRE x 10", "(integer) 1"),
            ("TTL x", "(integer) 10"),
            ("EXPIRE x 2", "(integer) 1"),
            ("GET x", "\"foobar\""),
        ],
    );
    advance_ms(2000);
    expect(&s, &[("GET x", "\"foobar\""), ("PTTL x", "(integer) 0")]);
    advance_ms(100);
    expect(
        &s,
        &[
            ("GET x", "(nil)"),
            ("EXISTS x", "(integer) 0"),
            ("SET x foo", "OK"),
            ("EXPIRE x 1000", "(integer) 1"),
            ("APPEND x bar", "(integer) 6"),
            ("GET x", "\"foobar\""),
            ("TTL x", "(integer) 1000"),
        ],
    );
}

/// "EXPIREAT - Check for EXPIRE alike behavior", "SETEX - Set + Expire
/// combo operation. Check for TTL", "SETEX - Check value", "SETEX -
/// Overwrite old key", "SETEX - Wait for the key to expire", "SETEX - Wrong
/// time parameter".
#[test]
fn tcl_expireat_and_setex() {
    freeze_clock(T0_US);
    let s = store(16 << 20);
    expect(
        &s,
        &[
            ("SET x foo", "OK"),
            ("EXPIREAT x 1700000015", "(integer) 1"),
            ("TTL x", "(integer) 15"),
            ("SETEX x 12 test", "OK"),
            ("TTL x", "(integer) 12"),
            ("GET x", "\"test\""),
            ("SETEX y 1 foo", "OK"),
            ("GET y", "\"foo\""),
        ],
    );
    advance_ms(1100);
    expect(
        &s,
        &[
            ("GET y", "(nil)"),
            (
                "SETEX z -10 foo",
                "(error) ERR invalid expire time in 'setex' command",
            ),
        ],
    );
}

/// "PERSIST can undo an EXPIRE", "PERSIST returns 0 against non existing
/// or non volatile keys".
#[test]
fn tcl_persist() {
    freeze_clock(T0_US);
    let s = store(16 << 20);
    expect(
        &s,
        &[
            ("SET x foo", "OK"),
            ("EXPIRE x 50", "(integer) 1"),
            ("TTL x", "(integer) 50"),
            ("PERSIST x", "(integer) 1"),
            ("TTL x", "(integer) -1"),
            ("GET x", "\"foo\""),
            ("PERSIST x", "(integer) 0"),
            ("SET x foo", "OK"),
            ("PERSIST foo", "(integer) 0"),
            ("PERSIST nokeyatall", "(integer) 0"),
        ],
    );
}

/// "EXPIRE precision is now the millisecond", "PSETEX can set sub-second
/// expires", "PEXPIRE can set sub-second expires", "PEXPIREAT can set
/// sub-second expires" (with TIME's reply, as the Tcl test builds it).
#[test]
fn tcl_millisecond_precision() {
    freeze_clock(T0_US + 123_456);
    let s = store(16 << 20);
    expect(&s, &[("SETEX x 1 somevalue", "OK")]);
    advance_ms(900);
    expect(&s, &[("GET x", "\"somevalue\"")]);
    advance_ms(1100);
    expect(&s, &[("GET x", "(nil)"), ("PSETEX x 100 somevalue", "OK")]);
    expect(&s, &[("GET x", "\"somevalue\"")]);
    advance_ms(101);
    expect(
        &s,
        &[
            ("GET x", "(nil)"),
            ("SET x somevalue", "OK"),
            ("PEXPIRE x 100", "(integer) 1"),
            ("GET x", "\"somevalue\""),
        ],
    );
    advance_ms(101);
    expect(&s, &[("GET x", "(nil)"), ("SET x somevalue", "OK")]);
    let time = line(&s, "TIME");
    // 2.202 s after T0 + 123.456 ms.
    assert_eq!(time, "1) \"1700000002\"\n2) \"325456\"\n");
    let at = 1_700_000_002_325u64 + 200;
    expect(
        &s,
        &[
            (&format!("PEXPIREAT x {at}"), "(integer) 1"),
            ("GET x", "\"somevalue\""),
        ],
    );
    advance_ms(201);
    expect(&s, &[("GET x", "(nil)")]);
}

/// "TTL returns time to live in seconds", "PTTL returns time to live in
/// milliseconds", "TTL / PTTL / EXPIRETIME / PEXPIRETIME return -1 if key
/// has no expire", "... return -2 if key does not exit", "EXPIRETIME
/// returns absolute expiration time in seconds", "PEXPIRETIME returns
/// absolute expiration time in milliseconds"; TTL rounds to the nearest
/// second, and reads 0 through the key's last millisecond.
#[test]
fn tcl_ttl_pttl_expiretime_pexpiretime() {
    freeze_clock(T0_US);
    let s = store(16 << 20);
    expect(
        &s,
        &[
            ("SETEX x 10 somevalue", "OK"),
            ("TTL x", "(integer) 10"),
            ("SETEX x 1 somevalue", "OK"),
            ("PTTL x", "(integer) 1000"),
            ("SET x hello", "OK"),
            ("TTL x", "(integer) -1"),
            ("PTTL x", "(integer) -1"),
            ("EXPIRETIME x", "(integer) -1"),
            ("PEXPIRETIME x", "(integer) -1"),
            ("DEL x", "(integer) 1"),
            ("TTL x", "(integer) -2"),
            ("PTTL x", "(integer) -2"),
            ("EXPIRETIME x", "(integer) -2"),
            ("PEXPIRETIME x", "(integer) -2"),
            ("SET x somevalue EXAT 1700000100", "OK"),
            ("EXPIRETIME x", "(integer) 1700000100"),
            ("SET x somevalue PXAT 1700000100000", "OK"),
            ("PEXPIRETIME x", "(integer) 1700000100000"),
            ("PSETEX x 1499 v", "OK"),
            ("TTL x", "(integer) 1"),
            ("PSETEX x 1500 v", "OK"),
            ("TTL x", "(integer) 2"),
            ("PSETEX x 1501 v", "OK"),
            ("PEXPIRETIME x", "(integer) 1700000001501"),
            ("EXPIRETIME x", "(integer) 1700000002"),
        ],
    );
    advance_ms(1501);
    expect(&s, &[("PTTL x", "(integer) 0"), ("TTL x", "(integer) 0")]);
    advance_us(1000);
    expect(&s, &[("PTTL x", "(integer) -2"), ("GET x", "(nil)")]);
}

/// "EXPIRE should not resurrect keys (issue #1026)", "5 keys in, 5 keys
/// out" (less KEYS), "EXPIRE with empty string as TTL should report an
/// error".
#[test]
fn tcl_expire_does_not_resurrect_and_errors() {
    freeze_clock(T0_US);
    let s = store(16 << 20);
    expect(
        &s,
        &[("SET foo bar", "OK"), ("PEXPIRE foo 500", "(integer) 1")],
    );
    advance_ms(1000);
    expect(
        &s,
        &[
            ("EXPIRE foo 10", "(integer) 0"),
            ("EXISTS foo", "(integer) 0"),
            ("SET a c", "OK"),
            ("EXPIRE a 5", "(integer) 1"),
            ("MGET a t", "1) \"c\"\n2) (nil)"),
            ("SET foo bar", "OK"),
            (
                "EXPIRE foo \"\"",
                "(error) ERR value is not an integer or out of range",
            ),
        ],
    );
}

/// "GETEX with big integer should report an error", "GETEX with smallest
/// integer should report an error", "EXPIRE with big integer overflows when
/// converted to milliseconds", "PEXPIRE with big integer overflow when
/// basetime is added", "EXPIRE with big negative integer", "PEXPIREAT with
/// big integer works", "PEXPIREAT with big negative integer works".
#[test]
fn tcl_expire_times_that_overflow() {
    freeze_clock(T0_US);
    let s = store(16 << 20);
    let invalid = |cmd: &str| format!("(error) ERR invalid expire time in '{cmd}' command");
    expect(
        &s,
        &[
            ("SET foo bar", "OK"),
            ("GETEX foo EX 10000000000000000", &invalid("getex")),
            ("GETEX foo EX -9999999999999999", &invalid("getex")),
            ("EXPIRE foo 9223370399119966", &invalid("expire")),
            ("EXPIRE foo 9223372036854776", &invalid("expire")),
            ("EXPIRE foo 10000000000000000", &invalid("expire")),
            ("EXPIRE foo 18446744073709561", &invalid("expire")),
            ("TTL foo", "(integer) -1"),
            ("PEXPIRE foo 9223372036854770000", &invalid("pexpire")),
            ("EXPIRE foo -9223372036854776", &invalid("expire")),
            ("EXPIRE foo -9999999999999999", &invalid("expire")),
            ("EXPIREAT foo 9223372036854776", &invalid("expireat")),
            ("TTL foo", "(integer) -1"),
            ("PEXPIREAT foo 9223372036854770000", "(integer) 1"),
            ("PEXPIRETIME foo", "(integer) 9223372036854770000"),
            ("TTL foo", "(integer) 9223370336854770"),
            ("PEXPIREAT foo -9223372036854770000", "(integer) 1"),
            ("TTL foo", "(integer) -2"),
            ("SET foo bar", "OK"),
            ("EXPIRE foo 0", "(integer) 1"),
            ("EXISTS foo", "(integer) 0"),
            ("SET foo bar", "OK"),
            ("PEXPIREAT foo 1700000000000", "(integer) 1"),
            ("EXISTS foo", "(integer) 0"),
            ("SET foo bar", "OK"),
            ("PEXPIREAT foo 1700000000001", "(integer) 1"),
            ("PTTL foo", "(integer) 1"),
        ],
    );
}

/// "SET command will remove expire", "SET - use KEEPTTL option, TTL should
/// not be removed", "GETEX use of PERSIST option should remove TTL".
#[test]
fn tcl_set_removes_expire_unless_keepttl() {
    freeze_clock(T0_US);
    let s = store(16 << 20);
    expect(
        &s,
        &[
            ("SET foo bar EX 100", "OK"),
            ("SET foo bar", "OK"),
            ("TTL foo", "(integer) -1"),
            ("SET foo bar EX 100", "OK"),
            ("SET foo bar KEEPTTL", "OK"),
            ("TTL foo", "(integer) 100"),
            ("SET foo bar2 keepttl GET", "\"bar\""),
            ("TTL foo", "(integer) 100"),
            ("SET nokey bar KEEPTTL", "OK"),
            ("TTL nokey", "(integer) -1"),
            ("SET foo bar EX 100", "OK"),
            ("GETEX foo PERSIST", "\"bar\""),
            ("TTL foo", "(integer) -1"),
        ],
    );
}

/// "EXPIRE with NX option on a key with ttl", "... without ttl", "EXPIRE
/// with XX option on a key with ttl", "... without ttl", "EXPIRE with GT
/// option on a key with lower ttl", "... with higher ttl", "... without
/// ttl", "EXPIRE with LT option on a key with higher ttl", "... with lower
/// ttl", "... without ttl", "EXPIRE with LT and XX option on a key with
/// ttl", "... without ttl", "EXPIRE with conflicting options: LT GT", "...
/// NX GT", "... NX LT", "... NX XX", "EXPIRE with unsupported options" (both),
/// "EXPIRE with negative expiry", "EXPIRE with negative expiry on a
/// non-valitale key", "EXPIRE with non-existed key".
#[test]
fn tcl_expire_conditions() {
    freeze_clock(T0_US);
    let s = store(16 << 20);
    let nx = "(error) ERR NX and XX, GT or LT options at the same time are not compatible";
    expect(
        &s,
        &[
            ("SET foo bar EX 100", "OK"),
            ("EXPIRE foo 200 NX", "(integer) 0"),
            ("TTL foo", "(integer) 100"),
            ("SET foo bar", "OK"),
            ("EXPIRE foo 200 NX", "(integer) 1"),
            ("TTL foo", "(integer) 200"),
            ("SET foo bar EX 100", "OK"),
            ("EXPIRE foo 200 XX", "(integer) 1"),
            ("TTL foo", "(integer) 200"),
            ("SET foo bar", "OK"),
            ("EXPIRE foo 200 XX", "(integer) 0"),
            ("TTL foo", "(integer) -1"),
            ("SET foo bar EX 100", "OK"),
            ("EXPIRE foo 200 GT", "(integer) 1"),
            ("TTL foo", "(integer) 200"),
            ("SET foo bar EX 200", "OK"),
            ("EXPIRE foo 100 GT", "(integer) 0"),
            ("EXPIRE foo 200 GT", "(integer) 0"),
            ("TTL foo", "(integer) 200"),
            ("SET foo bar", "OK"),
            ("EXPIRE foo 200 GT", "(integer) 0"),
            ("TTL foo", "(integer) -1"),
            ("SET foo bar EX 100", "OK"),
            ("EXPIRE foo 200 LT", "(integer) 0"),
            ("EXPIRE foo 100 LT", "(integer) 0"),
            ("TTL foo", "(integer) 100"),
            ("SET foo bar EX 200", "OK"),
            ("EXPIRE foo 100 LT", "(integer) 1"),
            ("TTL foo", "(integer) 100"),
            ("SET foo bar", "OK"),
            ("EXPIRE foo 100 LT", "(integer) 1"),
            ("TTL foo", "(integer) 100"),
            ("SET foo bar EX 200", "OK"),
            ("EXPIRE foo 100 LT XX", "(integer) 1"),
            ("TTL foo", "(integer) 100"),
            ("SET foo bar", "OK"),
            ("EXPIRE foo 200 LT XX", "(integer) 0"),
            ("TTL foo", "(integer) -1"),
            (
                "EXPIRE foo 200 LT GT",
                "(error) ERR GT and LT options at the same time are not compatible",
            ),
            ("EXPIRE foo 200 NX GT", nx),
            ("EXPIRE foo 200 NX LT", nx),
            ("EXPIRE foo 200 NX XX", nx),
            ("EXPIRE foo 200 lt gt nx", nx),
            ("EXPIRE foo 200 AB", "(error) ERR Unsupported option AB"),
            ("EXPIRE foo 200 XX AB", "(error) ERR Unsupported option AB"),
            ("EXPIRE foo abc AB", "(error) ERR Unsupported option AB"),
            ("PEXPIREAT foo 1 xx gt", "(integer) 0"),
            ("SET foo bar EX 100", "OK"),
            ("EXPIRE foo -10 LT", "(integer) 1"),
            ("TTL foo", "(integer) -2"),
            ("SET foo bar", "OK"),
            ("EXPIRE foo -10 LT", "(integer) 1"),
            ("TTL foo", "(integer) -2"),
            ("EXPIRE none 100 NX", "(integer) 0"),
            ("EXPIRE none 100 XX", "(integer) 0"),
            ("EXPIRE none 100 GT", "(integer) 0"),
            ("EXPIRE none 100 LT", "(integer) 0"),
            ("EXPIRE none 100", "(integer) 0"),
        ],
    );
}

/// "Redis should actively expire keys incrementally", "Redis should lazy
/// expire keys": the store's active expiry deletes what has expired (the
/// kernel calls it every tick), and a read of an expired key misses
/// before it does.
#[test]
fn tcl_active_and_lazy_expiry() {
    freeze_clock(T0_US);
    let s = store(16 << 20);
    expect(
        &s,
        &[
            ("PSETEX key1 500 a", "OK"),
            ("PSETEX key2 500 a", "OK"),
            ("PSETEX key3 500 a", "OK"),
            ("SET key4 a", "OK"),
        ],
    );
    advance_ms(1000);
    expect(&s, &[("MGET key1 key4", "1) (nil)\n2) \"a\"")]);
    let mut st = s.lock();
    let st = st.as_mut().unwrap();
    assert_eq!(st.expire_step(2).unwrap(), 2);
    assert_eq!(st.expire_step(2).unwrap(), 1);
    assert_eq!(st.expired_keys(), 3);
    assert!(st.db().get(b"key3", None).unwrap().is_none(), "deleted");
    assert!(st.db().get(b"key4", None).unwrap().is_some());
}

/// TIME: the seconds and microseconds of the time of day, as strings.
#[test]
fn time() {
    freeze_clock(T0_US + 999_999);
    let s = store(16 << 20);
    expect(&s, &[("TIME", "1) \"1700000000\"\n2) \"999999\"")]);
    advance_us(1);
    expect(&s, &[("TIME", "1) \"1700000001\"\n2) \"0\"")]);
    assert_eq!(
        line(&s, "TIME now"),
        "(error) ERR wrong number of arguments for 'TIME': usage TIME\n"
    );
}

/// Expiry is kept in the value, in Unix milliseconds: it goes through a
/// flush and a compaction unchanged.
#[test]
fn expiry_is_kept_with_the_value_through_flush_and_compaction() {
    freeze_clock(T0_US);
    let s = store(16 << 20);
    expect(&s, &[("SET k v PX 5000", "OK"), ("FLUSH", "OK")]);
    advance_ms(2000);
    expect(&s, &[("PTTL k", "(integer) 3000"), ("COMPACT", "OK")]);
    expect(&s, &[("PTTL k", "(integer) 3000")]);
    advance_ms(3001);
    expect(&s, &[("GET k", "(nil)"), ("TTL k", "(integer) -2")]);
}

/// A command's write with an expiry wakes the active expiry that a whole
/// pass without one put to rest (the command says so as it writes, the
/// store does not parse its batch).
#[test]
fn a_commands_expiry_wakes_the_resting_active_expiry() {
    freeze_clock(T0_US);
    let s = store(16 << 20);
    expect(&s, &[("SET plain a", "OK")]);
    {
        let mut st = s.lock();
        let st = st.as_mut().unwrap();
        assert_eq!(st.expire_step(100).unwrap(), 0);
        assert!(!st.may_expire(), "a whole pass met no expiry");
    }
    expect(&s, &[("SET soon a PX 500", "OK")]);
    advance_ms(1000);
    let mut st = s.lock();
    let st = st.as_mut().unwrap();
    assert!(st.may_expire());
    assert_eq!(st.expire_step(100).unwrap(), 1);
}

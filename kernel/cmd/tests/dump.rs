//! DUMP and RESTORE, reply by reply, as native redis-server 7.0.15
//! answers them: unikv's DUMPs compared byte for byte with a real
//! redis-server 7.0.15's of the same strings, and its payloads restored
//! here. Tests named `tcl_*` cover the tests of Redis's tests/unit/dump.tcl
//! that need only strings, keys and expiry (MIGRATE needs a second server
//! and is out of scope).

mod common;

use cmd::Reply;
use common::{advance_ms, expect, freeze_clock, line, server, store, Session};
use console::quote;

/// 2023-11-14 22:13:20 UTC, in Unix microseconds.
const T0_US: u64 = 1_700_000_000_000_000;
const T0_MS: u64 = T0_US / 1000;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Redis 7.0.15's DUMP of "bar", "123" (an `int`), "abcdefghij" (stored
/// as it is), 100 `a`s (LZF-compressed), and of a list (RPUSH l a b c).
const BAR: &str = "00036261720a00e6be4960ee66fd17";
const INT_123: &str = "00c07b0a0048e253e1007a67b9";
const RAW_10: &str = "000a6162636465666768696a0a0053434dd27d952d4c";
const LZF_100: &str = "00c3094064016161e057000161610a00e8a3b507b06df271";
const LIST: &str = "12010210100000000300816102816202816302ff0a00c818b90c9533529e";

/// `RESTORE key ttl payload options`, the payload quoted for the console.
fn restore(key: &str, ttl: &str, payload: &[u8], options: &str) -> String {
    format!("RESTORE {key} {ttl} {} {options}", quote(payload))
}

/// DUMP's payload of `key`, which must exist.
fn dumped(c: &mut Session<'_>, key: &str) -> Vec<u8> {
    match c.reply(&format!("DUMP {key}")) {
        Reply::Value(v) => v,
        other => panic!("DUMP {key}: {other:?}"),
    }
}

/// A payload of `body` with RDB version `version` and its CRC-64 (as
/// Redis's crc64.c computes it, bit by bit here, against the crate's
/// table-driven one).
fn framed(body: &[u8], version: u16) -> Vec<u8> {
    let mut p = body.to_vec();
    p.extend_from_slice(&version.to_le_bytes());
    let mut crc = 0u64;
    for &b in &p {
        crc ^= u64::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x95ac_9329_ac4b_c9b5
            } else {
                crc >> 1
            };
        }
    }
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

/// "DUMP of non existing key returns nil".
#[test]
fn tcl_dump_of_non_existing_key_returns_nil() {
    let s = store(16 << 20);
    expect(
        &s,
        &[
            ("DUMP nonexisting_key", "(nil)"),
            (
                "DUMP",
                "(error) ERR wrong number of arguments for 'DUMP': usage DUMP key",
            ),
            (
                "DUMP a b",
                "(error) ERR wrong number of arguments for 'DUMP': usage DUMP key",
            ),
        ],
    );
}

/// Redis's bytes for the same strings, whatever Redis's encoding: a
/// string changed in place (Redis's `raw` "123") dumps as its integer, and
/// an expiry is not part of the payload.
#[test]
fn dumps_as_redis() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    let a100 = "a".repeat(100);
    for (value, payload) in [
        ("bar", BAR),
        ("123", INT_123),
        ("abcdefghij", RAW_10),
        (a100.as_str(), LZF_100),
    ] {
        assert_eq!(c.run(&format!("SET k {value}")), "OK\n");
        assert_eq!(dumped(&mut c, "k"), hex(payload), "{value}");
    }
    assert_eq!(c.run("APPEND n 12"), "(integer) 2\n");
    assert_eq!(c.run("APPEND n 3"), "(integer) 3\n");
    assert_eq!(c.run("OBJECT ENCODING n"), "\"raw\"\n");
    assert_eq!(dumped(&mut c, "n"), hex(INT_123));
    assert_eq!(c.run("SET foo bar EX 100"), "OK\n");
    assert_eq!(dumped(&mut c, "foo"), hex(BAR));
}

/// Every byte value, which nothing compresses: a 14-bit length and the
/// bytes as they are.
#[test]
fn dumps_binary_values() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    let all: Vec<u8> = (0..=255u8).collect();
    assert_eq!(c.run(&format!("SET v {}", quote(&all))), "OK\n");
    let mut body = vec![0x00, 0x41, 0x00];
    body.extend_from_slice(&all);
    assert_eq!(dumped(&mut c, "v"), framed(&body, 10));
}

/// "DUMP / RESTORE are able to serialize / unserialize a simple key".
#[test]
fn tcl_dump_restore_a_simple_key() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    assert_eq!(c.run("SET foo bar"), "OK\n");
    let encoded = dumped(&mut c, "foo");
    assert_eq!(encoded, hex(BAR));
    assert_eq!(c.run("DEL foo"), "(integer) 1\n");
    assert_eq!(c.run("EXISTS foo"), "(integer) 0\n");
    assert_eq!(c.run(&restore("foo", "0", &encoded, "")), "OK\n");
    assert_eq!(c.run("TTL foo"), "(integer) -1\n");
    assert_eq!(c.run("GET foo"), "\"bar\"\n");
}

/// "RESTORE can set an arbitrary expire to the materialized key", "...
/// an expire that overflows a 32 bit integer", "... an absolute expire",
/// "RESTORE with ABSTTL in the past" (the key is gone: Redis's test asks
/// DEBUG OBJECT, which says `no such key`).
#[test]
fn tcl_restore_expires() {
    freeze_clock(T0_US);
    let s = store(16 << 20);
    let bar = hex(BAR);
    expect(
        &s,
        &[
            (&restore("foo", "5000", &bar, ""), "OK"),
            ("PTTL foo", "(integer) 5000"),
            ("GET foo", "\"bar\""),
            ("DEL foo", "(integer) 1"),
            (&restore("foo", "2569591501", &bar, ""), "OK"),
            ("PTTL foo", "(integer) 2569591501"),
            ("DEL foo", "(integer) 1"),
            (
                &restore("foo", &(T0_MS + 3000).to_string(), &bar, "ABSTTL"),
                "OK",
            ),
            ("PTTL foo", "(integer) 3000"),
            ("GET foo", "\"bar\""),
            // In the past, with REPLACE: OK, and the key is gone.
            (
                &restore("foo", &(T0_MS - 3000).to_string(), &bar, "absttl REPLACE"),
                "OK",
            ),
            ("EXISTS foo", "(integer) 0"),
        ],
    );
}

/// "RESTORE can set LRU", "RESTORE can set LFU": taken, with no effect
/// (the store keeps no access times or frequencies; OBJECT IDLETIME and
/// FREQ say so, as they did before).
#[test]
fn tcl_restore_idletime_and_freq_are_taken() {
    let s = store(16 << 20);
    let bar = hex(BAR);
    expect(
        &s,
        &[
            (&restore("foo", "0", &bar, "idletime 1000"), "OK"),
            ("GET foo", "\"bar\""),
            (&restore("foo", "0", &bar, "REPLACE freq 100"), "OK"),
            ("GET foo", "\"bar\""),
            (
                "OBJECT FREQ foo",
                "(error) ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
            ),
        ],
    );
}

/// "RESTORE returns an error of the key already exists", "RESTORE can
/// overwrite an existing key with REPLACE", "RESTORE can detect a syntax
/// error for unrecongized options".
#[test]
fn tcl_restore_busykey_replace_and_syntax() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    assert_eq!(c.run("SET foo bar"), "OK\n");
    assert_eq!(
        c.run("RESTORE foo 0 ..."),
        "(error) BUSYKEY Target key name already exists.\n"
    );
    assert_eq!(c.run("SET foo bar1"), "OK\n");
    let encoded1 = dumped(&mut c, "foo");
    assert_eq!(c.run("SET foo bar2"), "OK\n");
    let encoded2 = dumped(&mut c, "foo");
    assert_eq!(c.run("DEL foo"), "(integer) 1\n");
    assert_eq!(c.run(&restore("foo", "0", &encoded1, "")), "OK\n");
    assert_eq!(c.run(&restore("foo", "0", &encoded2, "replace")), "OK\n");
    assert_eq!(c.run("GET foo"), "\"bar2\"\n");
    assert_eq!(
        c.run("RESTORE foo 0 ... invalid-option"),
        "(error) ERR syntax error\n"
    );
}

/// Redis's payloads restore to Redis's strings, with Redis's encodings
/// (`int` for an integer-encoded one), and DUMP gives Redis's bytes back.
#[test]
fn restores_redis_payloads_and_dumps_them_again() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    let cases = [
        (INT_123, "\"123\"", "\"int\""),
        (RAW_10, "\"abcdefghij\"", "\"embstr\""),
        (LZF_100, &format!("\"{}\"", "a".repeat(100)), "\"raw\""),
    ];
    for (payload, value, encoding) in cases {
        let payload = hex(payload);
        assert_eq!(c.run(&restore("k", "0", &payload, "REPLACE")), "OK\n");
        assert_eq!(c.run("GET k"), format!("{value}\n"));
        assert_eq!(c.run("OBJECT ENCODING k"), format!("{encoding}\n"));
        assert_eq!(dumped(&mut c, "k"), payload);
    }
    // A string changed in place (Redis's `raw` "123"), restored, is
    // written whole again: `int`, as in Redis.
    assert_eq!(c.run("APPEND n 12"), "(integer) 2\n");
    assert_eq!(c.run("APPEND n 3"), "(integer) 3\n");
    let n = dumped(&mut c, "n");
    assert_eq!(c.run(&restore("n", "0", &n, "REPLACE")), "OK\n");
    assert_eq!(c.run("OBJECT ENCODING n"), "\"int\"\n");
}

/// Every byte value, and a string long enough to compress, go and come
/// back whole.
#[test]
fn binary_values_round_trip() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    let all: Vec<u8> = (0..=255u8).collect();
    let long: Vec<u8> = all.iter().cycle().take(50_000).copied().collect();
    for value in [all, long, b"\x00".to_vec(), Vec::new()] {
        assert_eq!(c.run(&format!("SET v {}", quote(&value))), "OK\n");
        let payload = dumped(&mut c, "v");
        assert_eq!(c.run(&restore("w", "0", &payload, "REPLACE")), "OK\n");
        assert_eq!(c.reply("GET w"), Reply::Value(value));
        assert_eq!(dumped(&mut c, "w"), payload);
    }
}

/// Redis's errors, in Redis's order: the options, the key, the ttl, the
/// footer, the string.
#[test]
fn errors_as_redis() {
    let s = store(16 << 20);
    let bar = hex(BAR);
    let mut bad_crc = bar.clone();
    *bad_crc.last_mut().unwrap() ^= 1;
    let wrong = "(error) ERR DUMP payload version or checksum are wrong";
    let bad = "(error) ERR Bad data format";
    let not_int = "(error) ERR value is not an integer or out of range";
    let syntax = "(error) ERR syntax error";
    let idletime = "(error) ERR Invalid IDLETIME value, must be >= 0";
    let freq = "(error) ERR Invalid FREQ value, must be >= 0 and <= 255";
    let busy = "(error) BUSYKEY Target key name already exists.";
    let usage = "(error) ERR wrong number of arguments for 'RESTORE': usage RESTORE key ttl \
                 serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]";
    expect(
        &s,
        &[
            ("SET k v", "OK"),
            ("RESTORE k 0", usage),
            // Options first, where they stand.
            ("RESTORE k x junk IDLETIME", syntax),
            ("RESTORE k x junk FREQ", syntax),
            ("RESTORE k x junk IDLETIME 5 FREQ 5", syntax),
            ("RESTORE k x junk FREQ 5 IDLETIME 5", syntax),
            ("RESTORE k x junk IDLETIME x", not_int),
            ("RESTORE k x junk IDLETIME -1", idletime),
            ("RESTORE k x junk FREQ 256", freq),
            ("RESTORE k x junk FREQ -1", freq),
            ("RESTORE k x junk FREQ 300 IDLETIME x", freq),
            // Then the key, before the ttl is read.
            ("RESTORE k x junk", busy),
            ("RESTORE k x junk IDLETIME 0 IDLETIME 7 ABSTTL", busy),
            ("RESTORE k x junk REPLACE", not_int),
            (
                "RESTORE k -1 junk REPLACE",
                "(error) ERR Invalid TTL value, must be >= 0",
            ),
            ("RESTORE n 0.5 junk", not_int),
            // Then the footer.
            ("RESTORE n 0 junk", wrong),
            ("RESTORE n 0 \"\"", wrong),
            (&restore("n", "0", &bad_crc, ""), wrong),
            (&restore("n", "0", &framed(b"\x00\x03bar", 11), ""), wrong),
            (&restore("n", "0", &bar[..bar.len() - 1], ""), wrong),
            // Then the string.
            (&restore("n", "0", &hex(LIST), ""), bad),
            (&restore("n", "0", &framed(b"\x00\x41\x00bar", 10), ""), bad),
            (&restore("n", "0", &framed(b"\x00\xc4", 10), ""), bad),
            (
                &restore("n", "0", &framed(b"\x00\xc3\x03\x05\x02ab", 10), ""),
                bad,
            ),
            // Nothing of it was written; the key refused keeps its value.
            ("EXISTS n", "(integer) 0"),
            ("GET k", "\"v\""),
            // An older RDB version is taken.
            (&restore("n", "0", &framed(b"\x00\x03bar", 9), ""), "OK"),
            ("GET n", "\"bar\""),
        ],
    );
}

/// What Redis does with times: a relative ttl is added to now (a sum that
/// overflows wraps to the past, as in Redis: OK, no key); ABSTTL's time is
/// taken as it is; a time past with REPLACE deletes the key; 0 is never.
#[test]
fn ttls_as_redis() {
    freeze_clock(T0_US);
    let s = store(16 << 20);
    let bar = hex(BAR);
    let max = i64::MAX.to_string();
    expect(
        &s,
        &[
            (&restore("a", &max, &bar, ""), "OK"),
            ("EXISTS a", "(integer) 0"),
            (&restore("a", &max, &bar, "ABSTTL"), "OK"),
            ("PEXPIRETIME a", &format!("(integer) {max}")),
            (&restore("b", "1", &bar, "ABSTTL"), "OK"),
            ("EXISTS b", "(integer) 0"),
            (&restore("b", &T0_MS.to_string(), &bar, "ABSTTL"), "OK"),
            ("EXISTS b", "(integer) 0"),
            (
                &restore("b", &(T0_MS + 1).to_string(), &bar, "ABSTTL"),
                "OK",
            ),
            ("PTTL b", "(integer) 1"),
            // Past, without REPLACE and no key: nothing; with REPLACE and
            // a key: the key goes.
            ("SET c old", "OK"),
            (&restore("c", "1", &bar, "ABSTTL REPLACE"), "OK"),
            ("EXISTS c", "(integer) 0"),
            (&restore("d", "0", &bar, "ABSTTL"), "OK"),
            ("PTTL d", "(integer) -1"),
            // REPLACE takes the new value's expiry, not the old key's.
            ("SET e old EX 100", "OK"),
            (&restore("e", "0", &bar, "REPLACE"), "OK"),
            ("TTL e", "(integer) -1"),
            ("GET e", "\"bar\""),
        ],
    );
    // An expired key is no key: no BUSYKEY.
    expect(&s, &[("SET f old PX 10", "OK")]);
    advance_ms(11);
    expect(
        &s,
        &[(&restore("f", "0", &bar, ""), "OK"), ("GET f", "\"bar\"")],
    );
}

/// Ten zero bytes are a valid payload to Redis (version 0, a CRC of 0,
/// and the empty string its zero bytes say), and bytes between the string
/// and the footer are ignored: real Redis 7.0.15 restores both.
#[test]
fn payloads_read_as_redis_reads_them() {
    let s = store(16 << 20);
    expect(
        &s,
        &[
            (&restore("z", "0", &[0; 10], ""), "OK"),
            ("STRLEN z", "(integer) 0"),
            ("TYPE z", "string"),
            (
                &restore("j", "0", &framed(b"\x00\x03barJUNK", 10), ""),
                "OK",
            ),
            ("GET j", "\"bar\""),
        ],
    );
}

/// A string the store cannot keep is refused with the store's error,
/// before an LZF one is decompressed; one it can is restored.
#[test]
fn lengths_as_the_store_allows() {
    let s = store(16 << 20);
    let err = line(&s, &format!("SET big {}", "x".repeat(2 << 20)));
    let max: usize = err
        .split("at most ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    // An LZF stream of `len` `a`s: one literal, then references to the
    // byte before, 264 bytes each, and a last shorter one.
    let lzf = |len: usize| {
        let mut c = vec![0x00, b'a'];
        let mut left = len - 1;
        while left >= 264 {
            c.extend_from_slice(&[0xe0, 0xff, 0x00]);
            left -= 264;
        }
        match left {
            0 => {}
            1 => c.extend_from_slice(&[0x00, b'a']),
            2 => c.extend_from_slice(&[0x01, b'a', b'a']),
            3..=8 => c.extend_from_slice(&[((left - 2) << 5) as u8, 0x00]),
            _ => c.extend_from_slice(&[0xe0, (left - 9) as u8, 0x00]),
        }
        let mut body = vec![0x00, 0xc3, 0x80];
        body.extend_from_slice(&(c.len() as u32).to_be_bytes());
        body.push(0x80);
        body.extend_from_slice(&(len as u32).to_be_bytes());
        body.extend_from_slice(&c);
        framed(&body, 10)
    };
    let too_long = format!(
        "(error) ERR string exceeds maximum allowed size (the store keeps strings of at most {max} bytes)"
    );
    expect(
        &s,
        &[
            (&restore("big", "0", &lzf(max + 1), ""), &too_long),
            (&restore("big", "0", &lzf(max), ""), "OK"),
            ("STRLEN big", &format!("(integer) {max}")),
            ("GETRANGE big -3 -1", "\"aaa\""),
        ],
    );
    let mut raw = vec![0x00, 0x80];
    raw.extend_from_slice(&((max + 1) as u32).to_be_bytes());
    raw.resize(raw.len() + max + 1, b'r');
    expect(
        &s,
        &[(&restore("raw", "0", &framed(&raw, 10), ""), &too_long)],
    );
}

/// A RESTORE is a write: a transaction watching its key fails.
#[test]
fn restore_touches_watched_keys() {
    let (s, srv) = (store(16 << 20), server());
    let (mut a, mut b) = (Session::network(&s, &srv), Session::network(&s, &srv));
    assert_eq!(a.run("WATCH k"), "OK\n");
    assert_eq!(b.run(&restore("k", "0", &hex(BAR), "")), "OK\n");
    assert_eq!(a.run("MULTI"), "OK\n");
    assert_eq!(a.run("GET k"), "QUEUED\n");
    assert_eq!(a.run("EXEC"), "(nil)\n");
}

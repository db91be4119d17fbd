//! DUMP, reply by reply, as native redis-server 7.0.15 answers it: unikv's
//! DUMPs compared byte for byte with a real redis-server 7.0.15's of the
//! same strings. Tests named `tcl_*` cover the tests of Redis's
//! tests/unit/dump.tcl that need only strings, keys and expiry.

mod common;

use cmd::Reply;
use common::{expect, server, store, Session};
use console::quote;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Redis 7.0.15's DUMP of "bar", "123" (an `int`), "abcdefghij" (stored
/// as it is), and 100 `a`s (LZF-compressed).
const BAR: &str = "00036261720a00e6be4960ee66fd17";
const INT_123: &str = "00c07b0a0048e253e1007a67b9";
const RAW_10: &str = "000a6162636465666768696a0a0053434dd27d952d4c";
const LZF_100: &str = "00c3094064016161e057000161610a00e8a3b507b06df271";

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

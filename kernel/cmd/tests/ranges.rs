//! SETRANGE and GETRANGE, reply by reply, as native redis-server 7.0.15
//! answers them (checked with redis-cli against Debian's build): the
//! tests of Redis's tests/unit/type/string.tcl on ranges, the fuzzing one
//! included. The rest of the string commands are in `strings.rs`.

mod common;

use cmd::Reply;
use common::{expect, freeze_clock, line, shown, store};

/// A day in 2023, in Unix microseconds.
const T0_US: u64 = 1_700_000_000_000_000;

/// "SETRANGE against non-existing key", "SETRANGE against string-encoded
/// key", "SETRANGE against integer-encoded key", "SETRANGE with out of
/// range offset", "SETRANGE with huge offset".
#[test]
fn tcl_setrange() {
    freeze_clock(T0_US);
    let s = store(16 << 20);
    let too_big = "(error) ERR string exceeds maximum allowed size (proto-max-bulk-len)";
    expect(
        &s,
        &[
            ("SETRANGE mykey 0 foo", "(integer) 3"),
            ("GET mykey", "\"foo\""),
            ("DEL mykey", "(integer) 1"),
            ("SETRANGE mykey 0 \"\"", "(integer) 0"),
            ("EXISTS mykey", "(integer) 0"),
            ("SETRANGE mykey 1 foo", "(integer) 4"),
            ("GET mykey", "\"\\x00foo\""),
            ("SET mykey foo", "OK"),
            ("SETRANGE mykey 0 b", "(integer) 3"),
            ("GET mykey", "\"boo\""),
            ("SET mykey foo", "OK"),
            ("SETRANGE mykey 0 \"\"", "(integer) 3"),
            ("GET mykey", "\"foo\""),
            ("SET mykey foo", "OK"),
            ("SETRANGE mykey 1 b", "(integer) 3"),
            ("GET mykey", "\"fbo\""),
            ("SET mykey foo", "OK"),
            ("SETRANGE mykey 4 bar", "(integer) 7"),
            ("GET mykey", "\"foo\\x00bar\""),
            ("SET mykey 1234", "OK"),
            ("SETRANGE mykey 0 2", "(integer) 4"),
            ("GET mykey", "\"2234\""),
            ("SET mykey 1234", "OK"),
            ("SETRANGE mykey 1 3", "(integer) 4"),
            ("GET mykey", "\"1334\""),
            ("SET mykey 1234", "OK"),
            ("SETRANGE mykey 5 2", "(integer) 6"),
            ("GET mykey", "\"1234\\x002\""),
            ("DEL mykey", "(integer) 1"),
            ("SETRANGE mykey 536870908 world", too_big),
            ("SET mykey hello", "OK"),
            (
                "SETRANGE mykey -1 world",
                "(error) ERR offset is out of range",
            ),
            ("SETRANGE mykey 536870908 world", too_big),
            ("SETRANGE K 9223372036854775807 A", too_big),
            ("SETRANGE K 2147483647 A", too_big),
            (
                "SETRANGE K 9223372036854775808 A",
                "(error) ERR value is not an integer or out of range",
            ),
            (
                "SETRANGE K abc A",
                "(error) ERR value is not an integer or out of range",
            ),
            // The key keeps its expiry.
            ("SET mykey hello EX 100", "OK"),
            ("SETRANGE mykey 0 J", "(integer) 5"),
            ("TTL mykey", "(integer) 100"),
        ],
    );
}

/// "GETRANGE against non-existing key", "GETRANGE against string value",
/// "GETRANGE against integer-encoded value", "GETRANGE with huge ranges,
/// Github issue #1844", and SUBSTR, its old name.
#[test]
fn tcl_getrange() {
    let s = store(16 << 20);
    expect(
        &s,
        &[
            ("GETRANGE mykey 0 -1", "\"\""),
            ("SET mykey \"Hello World\"", "OK"),
            ("GETRANGE mykey 0 3", "\"Hell\""),
            ("GETRANGE mykey 0 -1", "\"Hello World\""),
            ("GETRANGE mykey -4 -1", "\"orld\""),
            ("GETRANGE mykey 5 3", "\"\""),
            ("GETRANGE mykey 5 5000", "\" World\""),
            ("GETRANGE mykey -5000 10000", "\"Hello World\""),
            ("GETRANGE mykey -1 -5", "\"\""),
            (
                "GETRANGE mykey -9223372036854775808 9223372036854775807",
                "\"Hello World\"",
            ),
            ("SUBSTR mykey 1 2", "\"el\""),
            (
                "GETRANGE mykey a 1",
                "(error) ERR value is not an integer or out of range",
            ),
            (
                "GETRANGE mykey 1 b",
                "(error) ERR value is not an integer or out of range",
            ),
            ("SET mykey 1234", "OK"),
            ("GETRANGE mykey 0 2", "\"123\""),
            ("GETRANGE mykey 0 -1", "\"1234\""),
            ("GETRANGE mykey -3 -1", "\"234\""),
            ("GETRANGE mykey 5 3", "\"\""),
            ("GETRANGE mykey 3 5000", "\"4\""),
            ("GETRANGE mykey -5000 10000", "\"1234\""),
            ("SET foo bar", "OK"),
            ("GETRANGE foo 0 4294967297", "\"bar\""),
            ("SET empty \"\"", "OK"),
            ("GETRANGE empty 0 -1", "\"\""),
        ],
    );
}

/// "GETRANGE fuzzing": every start and end against Tcl's `string range`
/// (here: the same clamping written directly).
#[test]
fn tcl_getrange_fuzzing() {
    let s = store(16 << 20);
    let value: Vec<u8> = (0..300u32).map(|i| (i * 7 % 251) as u8).collect();
    let hex: String = value.iter().map(|b| format!("\\x{b:02x}")).collect();
    assert_eq!(line(&s, &format!("SET bin \"{hex}\"")), "OK\n");
    for (start, end) in [
        (0, 0),
        (0, 299),
        (5, 400),
        (299, 299),
        (300, 310),
        (150, 10),
        (17, 1499),
    ] {
        let want = if start > end.min(299) {
            &[][..]
        } else {
            &value[start..=end.min(299)]
        };
        assert_eq!(
            line(&s, &format!("GETRANGE bin {start} {end}")),
            shown(&Reply::Value(want.to_vec()))
        );
    }
}

//! OBJECT and MEMORY USAGE, with the replies native redis-server 7.0.15
//! gives (as the console renders them) where Redis and unikv keep the
//! same thing; `tcl_*` tests are those of Redis's tests/unit/type/string.tcl
//! that need only strings and OBJECT ENCODING.

mod common;

use common::{expect, line, store};

/// "SETRANGE against integer-encoded key".
#[test]
fn tcl_setrange_against_integer_encoded_key() {
    let s = store(16 << 20);
    expect(
        &s,
        &[
            ("SET mykey 1234", "OK"),
            ("OBJECT ENCODING mykey", "\"int\""),
            ("SETRANGE mykey 0 2", "(integer) 4"),
            ("OBJECT ENCODING mykey", "\"raw\""),
            ("GET mykey", "\"2234\""),
            // Nothing set: the encoding stays.
            ("SET mykey 1234", "OK"),
            ("OBJECT ENCODING mykey", "\"int\""),
            ("SETRANGE mykey 0 \"\"", "(integer) 4"),
            ("OBJECT ENCODING mykey", "\"int\""),
            ("GET mykey", "\"1234\""),
            ("SET mykey 1234", "OK"),
            ("SETRANGE mykey 1 3", "(integer) 4"),
            ("OBJECT ENCODING mykey", "\"raw\""),
            ("GET mykey", "\"1334\""),
            ("SET mykey 1234", "OK"),
            ("SETRANGE mykey 5 2", "(integer) 6"),
            ("OBJECT ENCODING mykey", "\"raw\""),
            ("GET mykey", "\"1234\\x002\""),
        ],
    );
}

/// What `tryObjectEncoding` makes of a string written whole, and what a
/// change in place, a rename, a counter and a fresh write make of it.
#[test]
fn encodings_as_redis_keeps_strings() {
    let s = store(16 << 20);
    let short = "x".repeat(44);
    let long = "x".repeat(45);
    expect(
        &s,
        &[
            ("SET n -9223372036854775808", "OK"),
            ("OBJECT ENCODING n", "\"int\""),
            // Not in string2ll's form: a string.
            ("SET n 01", "OK"),
            ("OBJECT ENCODING n", "\"embstr\""),
            ("SET n -0", "OK"),
            ("OBJECT ENCODING n", "\"embstr\""),
            ("SET n 9223372036854775808", "OK"),
            ("OBJECT ENCODING n", "\"embstr\""),
            (&format!("SET s {short}"), "OK"),
            ("OBJECT ENCODING s", "\"embstr\""),
            (&format!("SET s {long}"), "OK"),
            ("OBJECT ENCODING s", "\"raw\""),
            // APPEND to nothing writes the value whole; to a value, in place.
            ("APPEND a 12", "(integer) 2"),
            ("OBJECT ENCODING a", "\"int\""),
            ("APPEND a 3", "(integer) 3"),
            ("OBJECT ENCODING a", "\"raw\""),
            // The value moves as it is; a counter writes it whole again.
            ("RENAME a b", "OK"),
            ("OBJECT ENCODING b", "\"raw\""),
            ("EXPIRE b 100", "(integer) 1"),
            ("OBJECT ENCODING b", "\"raw\""),
            ("INCR b", "(integer) 124"),
            ("OBJECT ENCODING b", "\"int\""),
            ("SETRANGE fresh 0 1", "(integer) 1"),
            ("OBJECT ENCODING fresh", "\"raw\""),
            ("OBJECT ENCODING missing", "(nil)"),
            ("OBJECT REFCOUNT b", "(integer) 1"),
            ("OBJECT REFCOUNT missing", "(nil)"),
            ("OBJECT IDLETIME missing", "(nil)"),
            (
                "OBJECT IDLETIME b",
                "(error) ERR unikv keeps no access times for its keys, idle time not tracked.",
            ),
            (
                "OBJECT FREQ b",
                "(error) ERR An LFU maxmemory policy is not selected, access frequency not tracked. \
                 Please note that when switching between policies at runtime LRU and LFU data will \
                 take some time to adjust.",
            ),
            (
                "OBJECT NOPE b",
                "(error) ERR unknown subcommand 'NOPE'. Try OBJECT HELP.",
            ),
            (
                "OBJECT ENCODING",
                "(error) ERR wrong number of arguments for 'object|encoding' command",
            ),
        ],
    );
    let help = line(&s, "OBJECT HELP");
    assert!(help.contains("1) OBJECT <subcommand>"), "{help}");
    assert!(
        help.contains("ENCODING <key>") && help.contains("REFCOUNT <key>"),
        "{help}"
    );
}

/// The bytes of a key's record in the store, and SAMPLES checked as Redis
/// checks it.
#[test]
fn memory_usage_is_the_record_in_the_store() {
    let s = store(16 << 20);
    let big = "v".repeat(200);
    expect(
        &s,
        &[
            ("SET k v", "OK"),
            // Key and trailer 9, tag and payload 2, two one-byte lengths.
            ("MEMORY USAGE k", "(integer) 13"),
            ("MEMORY USAGE k SAMPLES 5", "(integer) 13"),
            ("MEMORY USAGE k SAMPLES 0", "(integer) 13"),
            ("PEXPIRE k 100000", "(integer) 1"),
            // The expiry's eight bytes.
            ("MEMORY USAGE k", "(integer) 21"),
            (&format!("SET big {big}"), "OK"),
            // 11 + 201, and the value's length takes two bytes.
            ("MEMORY USAGE big", "(integer) 215"),
            ("MEMORY USAGE missing", "(nil)"),
            ("MEMORY USAGE k SAMPLES -1", "(error) ERR syntax error"),
            (
                "MEMORY USAGE k SAMPLES x",
                "(error) ERR value is not an integer or out of range",
            ),
            ("MEMORY USAGE k SAMPLES", "(error) ERR syntax error"),
            ("MEMORY USAGE k extra", "(error) ERR syntax error"),
            (
                "MEMORY USAGE",
                "(error) ERR wrong number of arguments for 'memory|usage' command",
            ),
            (
                "MEMORY DOCTOR",
                "(error) ERR unknown subcommand 'DOCTOR'. Try MEMORY HELP.",
            ),
        ],
    );
}

//! The counters (INCR, DECR, INCRBY, DECRBY, INCRBYFLOAT), reply by
//! reply, as native redis-server 7.0.15 answers them; the `tcl_*` tests
//! cover tests/unit/type/incr.tcl's that need only strings and expiry, each
//! naming the Tcl tests it covers.

mod common;

use common::{expect, freeze_clock, store};

/// A day in 2023, in Unix microseconds.
const T0_US: u64 = 1_700_000_000_000_000;

/// "INCR against non existing key", "INCR against key created by incr
/// itself", "INCR against key originally set with SET", "INCR over 32bit
/// value", "INCRBY over 32bit value with over 32bit increment", "INCR fails
/// against key with spaces (left)", "(right)", "(both)", "DECRBY negation
/// overflow", "DECRBY over 32bit value with over 32bit increment, negative
/// res"; and the overflows, the expiry kept.
#[test]
fn tcl_incr() {
    freeze_clock(T0_US);
    let s = store(16 << 20);
    let not_int = "(error) ERR value is not an integer or out of range";
    let overflow = "(error) ERR increment or decrement would overflow";
    expect(
        &s,
        &[
            ("INCR novar", "(integer) 1"),
            ("GET novar", "\"1\""),
            ("INCR novar", "(integer) 2"),
            ("SET novar 100", "OK"),
            ("INCR novar", "(integer) 101"),
            ("SET novar 17179869184", "OK"),
            ("INCR novar", "(integer) 17179869185"),
            ("SET novar 17179869184", "OK"),
            ("INCRBY novar 17179869184", "(integer) 34359738368"),
            ("SET novar \"    11\"", "OK"),
            ("INCR novar", not_int),
            ("SET novar \"11    \"", "OK"),
            ("INCR novar", not_int),
            ("SET novar \"    11    \"", "OK"),
            ("INCR novar", not_int),
            ("SET x 0", "OK"),
            (
                "DECRBY x -9223372036854775808",
                "(error) ERR decrement would overflow",
            ),
            ("SET novar 17179869184", "OK"),
            ("DECRBY novar 17179869185", "(integer) -1"),
            ("DECR novar", "(integer) -2"),
            ("SET n 9223372036854775807", "OK"),
            ("INCR n", overflow),
            ("INCRBY n 1", overflow),
            ("SET n -9223372036854775808", "OK"),
            ("DECR n", overflow),
            ("INCRBY n -1", overflow),
            ("INCRBY n 9223372036854775807", "(integer) -1"),
            ("INCRBY n abc", not_int),
            ("INCRBY n 1.5", not_int),
            ("SET n 007", "OK"),
            ("INCR n", not_int),
            ("SET n 10", "OK"),
            ("EXPIRE n 100", "(integer) 1"),
            ("INCR n", "(integer) 11"),
            ("TTL n", "(integer) 100"),
        ],
    );
}

/// "INCRBYFLOAT against non existing key", "INCRBYFLOAT against key
/// originally set with SET", "INCRBYFLOAT over 32bit value", "INCRBYFLOAT
/// over 32bit value with over 32bit increment", "INCRBYFLOAT fails against
/// key with spaces (left)", "(right)", "(both)", "INCRBYFLOAT does not allow
/// NaN or Infinity", "INCRBYFLOAT decrement", "string to double with null
/// terminator", "No negative zero"; the replies as Redis prints them.
#[test]
fn tcl_incrbyfloat() {
    freeze_clock(T0_US);
    let s = store(16 << 20);
    let not_float = "(error) ERR value is not a valid float";
    expect(
        &s,
        &[
            ("INCRBYFLOAT novar 1", "\"1\""),
            ("GET novar", "\"1\""),
            ("INCRBYFLOAT novar 0.25", "\"1.25\""),
            ("GET novar", "\"1.25\""),
            ("SET novar 1.5", "OK"),
            ("INCRBYFLOAT novar 1.5", "\"3\""),
            ("SET novar 17179869184", "OK"),
            ("INCRBYFLOAT novar 1.5", "\"17179869185.5\""),
            ("SET novar 17179869184", "OK"),
            ("INCRBYFLOAT novar 17179869184", "\"34359738368\""),
            ("SET novar \"    11\"", "OK"),
            ("INCRBYFLOAT novar 1.0", not_float),
            ("SET novar \"11    \"", "OK"),
            ("INCRBYFLOAT novar 1.0", not_float),
            ("SET novar \" 11 \"", "OK"),
            ("INCRBYFLOAT novar 1.0", not_float),
            ("SET foo 0", "OK"),
            (
                "INCRBYFLOAT foo +inf",
                "(error) ERR increment would produce NaN or Infinity",
            ),
            ("INCRBYFLOAT foo nan", not_float),
            ("INCRBYFLOAT foo \" 1\"", not_float),
            ("INCRBYFLOAT foo abc", not_float),
            ("SET foo 1", "OK"),
            ("INCRBYFLOAT foo -1.1", "\"-0.1\""),
            ("SET foo 1", "OK"),
            ("SETRANGE foo 2 2", "(integer) 3"),
            ("INCRBYFLOAT foo 1", not_float),
            ("DEL foo", "(integer) 1"),
            // Redis: "0.02439024390243902" (17 decimals of its long double);
            // the f64 sum's shortest form within its error ends in 3.
            (
                "INCRBYFLOAT foo 0.024390243902439025",
                "\"0.02439024390243903\"",
            ),
            ("INCRBYFLOAT foo -0.024390243902439025", "\"0\""),
            ("GET foo", "\"0\""),
            ("SET f 10.5", "OK"),
            ("INCRBYFLOAT f 0.1", "\"10.6\""),
            ("INCRBYFLOAT f -5", "\"5.6\""),
            ("SET f 5.0e3", "OK"),
            ("INCRBYFLOAT f 2.0e2", "\"5200\""),
            ("SET f 0.1", "OK"),
            ("INCRBYFLOAT f 0.2", "\"0.3\""),
            ("SET f 1e-20", "OK"),
            ("INCRBYFLOAT f 0", "\"0\""),
            ("SET f 3", "OK"),
            ("EXPIRE f 100", "(integer) 1"),
            ("INCRBYFLOAT f 1.1", "\"4.1\""),
            ("TTL f", "(integer) 100"),
        ],
    );
}

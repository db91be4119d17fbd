//! Numbers in strings, as Redis reads and writes them: INCR, DECR, INCRBY,
//! DECRBY and INCRBYFLOAT (integers are read by `args`, Redis's
//! `string2ll`, and floats here, its `string2ld`).
//!
//! Redis adds floats in C's `long double` (80-bit on x86-64) and prints the
//! sum with `%.17Lf`, trailing zeros trimmed: the 11 bits beyond a double
//! hide the binary noise of decimal fractions, so `1 - 1.1` is `-0.1` and ten
//! times `+0.1` make `1`. Here the sum is an `f64`, and [`format_sum`]
//! hides that noise another way: it prints the shortest decimal within the
//! sum's own rounding error (each input's half ulp and the addition's), at
//! most 17 decimals, integers up to 2^53 whole. Plain shortest round-trip
//! printing would show the noise (`-0.10000000000000009`, `0.9999999999999999`)
//! and a fixed 15 digits would lose typed digits (1/41 stored short, so
//! `+1/41 -1/41` would not come back to 0, Redis's "No negative zero"
//! test). Every reply of Redis's unit/type/incr tests comes out as Redis's
//! (`17179869185.5`, `34359738368`, `-0.1`, `0` rather than `-0`), and so do
//! everyday decimals. It differs where Redis shows digits only its wider
//! type holds: `1234567890.1234567 + 0` is `1234567890.123457` here and
//! `1234567890.12345670000649989` in Redis.

use alloc::format;
use alloc::string::String;

use console::{Invocation, Reply};
use kv::Entry;

use super::{put, string};
use crate::args::{integer, parse_i64};
use crate::ctx::{CmdError, Ctx};

/// Redis's `string2ld`, for an `f64`: a number as `strtold` reads it, with
/// nothing before or after it (no spaces), not NaN. A finite number too big
/// for an `f64` is refused as Redis refuses one too big for its `long
/// double`; the spellings of infinity are numbers.
fn parse_f64(s: &[u8]) -> Option<f64> {
    // MAX_LONG_DOUBLE_CHARS.
    if s.is_empty() || s.len() >= 5 * 1024 {
        return None;
    }
    let text = core::str::from_utf8(s).ok()?;
    let v: f64 = text.parse().ok()?;
    if v.is_nan() {
        return None;
    }
    let spelled_infinite = text
        .trim_start_matches(['+', '-'])
        .get(..3)
        .is_some_and(|w| w.eq_ignore_ascii_case("inf"));
    if v.is_infinite() && !spelled_infinite {
        return None;
    }
    Some(v)
}

/// Decimals Redis prints at most (`%.17Lf`).
const MAX_DECIMALS: usize = 17;

/// The sum `a + b` as INCRBYFLOAT stores and replies it (see the module
/// doc): the shortest decimal (at most 17 significant digits) within the
/// sum's rounding error (the inputs' half ulps and the addition's), with at
/// most 17 decimals, never `-0`; integers up to 2^53 whole.
pub(crate) fn format_sum(a: f64, b: f64) -> String {
    let sum = a + b;
    // Each term scaled before they are added: near f64::MAX their sum
    // would be infinite, every digit within it, and the sum printed as 0.
    let bound = a.abs() * f64::EPSILON + b.abs() * f64::EPSILON + sum.abs() * f64::EPSILON;
    // Every integer up to 2^53 is an f64.
    const EXACT_INTEGERS: f64 = (1u64 << 53) as f64;
    if sum.abs() <= bound {
        return String::from("0");
    }
    if sum.abs() <= EXACT_INTEGERS && (sum as i64) as f64 == sum {
        return format!("{}", sum as i64);
    }
    let mut sci = format!("{sum:.16e}");
    for digits in 1..17 {
        let shorter = format!("{:.*e}", digits - 1, sum);
        if shorter
            .parse::<f64>()
            .is_ok_and(|r| (r - sum).abs() <= bound)
        {
            sci = shorter;
            break;
        }
    }
    fixed(&sci, sum)
}

/// `sci` (Rust's `{:e}` of `v`, rounded) in positional notation, with at
/// most 17 decimals and trailing zeros trimmed.
fn fixed(sci: &str, v: f64) -> String {
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    // Digits before the decimal point.
    let point = exp + 1;
    let mut out = if digits.len() as i64 - point > MAX_DECIMALS as i64 {
        let rounded: f64 = sci.parse().unwrap_or(v);
        format!("{:.*}", MAX_DECIMALS, rounded.abs())
    } else if point <= 0 {
        format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
    } else if point as usize >= digits.len() {
        format!("{digits}{}", "0".repeat(point as usize - digits.len()))
    } else {
        let (int, frac) = digits.split_at(point as usize);
        format!("{int}.{frac}")
    };
    if out.contains('.') {
        let kept = out.trim_end_matches('0').trim_end_matches('.').len();
        out.truncate(kept);
    }
    if v < 0.0 && out != "0" {
        out.insert(0, '-');
    }
    out
}

/// INCR, DECR, INCRBY, DECRBY: the integer under the key (0 if none) plus
/// `by`, stored as its decimal digits; the key keeps its expiry.
fn add(ctx: &mut Ctx<'_>, key: &[u8], by: i64) -> Result<Reply, CmdError> {
    let current = ctx.read_for_write(key)?;
    let (value, expires_at) = match current {
        Some(e) => {
            let at = e.expires_at;
            let v = string(e)?;
            (parse_i64(&v).ok_or_else(CmdError::not_integer)?, at)
        }
        None => (0, None),
    };
    let sum = value
        .checked_add(by)
        .ok_or_else(|| CmdError::Invalid(String::from("increment or decrement would overflow")))?;
    ctx.write(key, string_entry(format!("{sum}"), expires_at));
    Ok(Reply::Integer(sum))
}

fn string_entry(text: String, expires_at: Option<u64>) -> Entry {
    Entry {
        expires_at,
        ..Entry::string(text.into_bytes())
    }
}

pub fn incr(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    add(ctx, &inv.args[0], 1)
}

pub fn decr(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    add(ctx, &inv.args[0], -1)
}

pub fn incrby(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let by = integer(&inv.args[1])?;
    add(ctx, &inv.args[0], by)
}

pub fn decrby(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let by = integer(&inv.args[1])?;
    let by = by
        .checked_neg()
        .ok_or_else(|| CmdError::Invalid(String::from("decrement would overflow")))?;
    add(ctx, &inv.args[0], by)
}

/// The number under the key (0 if none) plus the increment, replied and
/// stored as [`format_sum`] prints it; the key keeps its expiry.
pub fn incrbyfloat(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let not_float = || CmdError::Invalid(String::from("value is not a valid float"));
    let key = &inv.args[0];
    let (value, expires_at) = match ctx.read_for_write(key)? {
        Some(e) => {
            let at = e.expires_at;
            (parse_f64(&string(e)?).ok_or_else(not_float)?, at)
        }
        None => (0.0, None),
    };
    let by = parse_f64(&inv.args[1]).ok_or_else(not_float)?;
    if !(value + by).is_finite() {
        return Err(CmdError::Invalid(String::from(
            "increment would produce NaN or Infinity",
        )));
    }
    let text = format_sum(value, by);
    put(ctx, key, text.as_bytes(), expires_at)?;
    Ok(Reply::Value(text.into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string2ll_rules() {
        for (s, v) in [
            (&b"0"[..], Some(0)),
            (b"-1", Some(-1)),
            (b"9223372036854775807", Some(i64::MAX)),
            (b"-9223372036854775808", Some(i64::MIN)),
            (b"9223372036854775808", None),
            (b"-9223372036854775809", None),
            (b"18446744073709551616", None),
            (b"00", None),
            (b"01", None),
            (b"-0", None),
            (b"+1", None),
            (b"-", None),
            (b"", None),
            (b" 1", None),
            (b"1 ", None),
            (b"1\x002", None),
            (b"1.0", None),
            (b"000000000000000000001", None),
        ] {
            assert_eq!(parse_i64(s), v, "{}", String::from_utf8_lossy(s));
        }
    }

    #[test]
    fn string2ld_rules() {
        for (s, v) in [
            (&b"1.5"[..], Some(1.5)),
            (b"-.5", Some(-0.5)),
            (b"5.", Some(5.0)),
            (b"+2e3", Some(2000.0)),
            (b"5.0e3", Some(5000.0)),
            (b"inf", Some(f64::INFINITY)),
            (b"-Infinity", Some(f64::NEG_INFINITY)),
            (b"nan", None),
            (b" 11", None),
            (b"11 ", None),
            (b"1\x002", None),
            (b"", None),
            (b"1e", None),
            (b"1e400", None),
            (b"abc", None),
        ] {
            assert_eq!(parse_f64(s), v, "{}", String::from_utf8_lossy(s));
        }
        assert_eq!(parse_f64(&[b'1'; 5 * 1024]), None);
    }

    #[test]
    fn sums_print_as_redis_prints_them() {
        // Each as native redis-server 7.0.15 replies to the same INCRBYFLOAT.
        for ((a, b), shown) in [
            ((1.0, -1.1), "-0.1"),
            ((0.1, 0.2), "0.3"),
            ((10.5, 0.1), "10.6"),
            ((10.6, -5.0), "5.6"),
            ((5.0e3, 2.0e2), "5200"),
            ((4.1, 1.1), "5.2"),
            ((17179869184.0, 1.5), "17179869185.5"),
            ((17179869184.0, 17179869184.0), "34359738368"),
            ((0.02439024390243902, -0.024390243902439025), "0"),
            ((0.0, -0.0), "0"),
            ((1e-20, 0.0), "0"),
            ((-1e-20, 0.0), "0"),
            ((0.0, 1.5e-5), "0.000015"),
            ((1.0e23, 0.0), "100000000000000000000000"),
            ((9007199254740992.0, 0.0), "9007199254740992"),
            ((0.0, 1.0 / 41.0), "0.02439024390243903"),
            ((0.02439024390243903, -1.0 / 41.0), "0"),
            ((1.0, 1e-10), "1.0000000001"),
        ] {
            assert_eq!(format_sum(a, b), shown, "{a} + {b}");
        }
        // Near f64::MAX the error bound must not overflow (it printed 0,
        // and INCRBYFLOAT stored it).
        for (a, b) in [(1e308, 1.0), (-1e308, 0.0), (f64::MAX, 0.0), (9e307, 8e307)] {
            let shown = format_sum(a, b);
            assert_eq!(shown.parse::<f64>().unwrap(), a + b, "{a} + {b}");
            assert_eq!(shown.trim_start_matches('-').len(), 309, "{a} + {b}");
        }
        // Ten times +0.1 from 0, each sum stored and read back.
        let mut text = String::from("0");
        for i in 1..=10 {
            let v: f64 = text.parse().unwrap();
            text = format_sum(v, 0.1);
            let want = if i == 10 {
                String::from("1")
            } else {
                format!("0.{i}")
            };
            assert_eq!(text, want);
        }
    }
}

//! Numbers in strings, as Redis reads and writes them: INCR, DECR, INCRBY,
//! DECRBY and INCRBYFLOAT, and the parsers the other commands share
//! ([`parse_i64`] is Redis's `string2ll`).
//!
//! Redis adds floats in C's `long double` (80-bit on x86-64) and prints the
//! sum with `%.17Lf`, trailing zeros trimmed: the 11 bits beyond a double
//! hide the binary noise of decimal fractions, so `1 - 1.1` is `-0.1` and ten
//! times `+0.1` make `1`. Here the sum is an `f64`, and [`format_float`]
//! hides that noise the same way by keeping 15 significant digits (a
//! double's exact decimal precision, C's `DBL_DIG`) and at most 17 decimals,
//! and prints integers up to 2^53 whole: every reply of Redis's
//! unit/type/incr tests comes out the same (`17179869185.5`, `34359738368`,
//! `-0.1`, `0` rather than `-0`). It differs where Redis shows digits only
//! its wider type holds: it prints `1234567890.1234567 + 0` as
//! `1234567890.12346` where Redis gives `1234567890.12345670000649989`.

use alloc::format;
use alloc::string::String;

use console::{Invocation, Reply};
use kv::Entry;

use super::{put, string};
use crate::ctx::{CmdError, Ctx};

/// Redis's `string2ll`: an optional `-`, then digits with no leading zero
/// (but `0` itself), nothing else, within an `i64`.
pub(crate) fn parse_i64(s: &[u8]) -> Option<i64> {
    // LONG_STR_SIZE: nothing longer can be an i64 without a leading zero.
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    if !matches!(digits.first(), Some(b'1'..=b'9')) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    if negative {
        0i64.checked_sub_unsigned(v)
    } else {
        i64::try_from(v).ok()
    }
}

/// An argument that must be an `i64`, or Redis's error.
pub(crate) fn integer_arg(arg: &[u8]) -> Result<i64, CmdError> {
    parse_i64(arg).ok_or_else(CmdError::not_integer)
}

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

/// Significant digits a sum keeps: what an `f64` holds exactly.
const SIGNIFICANT: usize = 15;
/// Decimals Redis prints at most (`%.17Lf`).
const MAX_DECIMALS: usize = 17;

/// A finite float as INCRBYFLOAT stores and replies it (see the module doc).
pub(crate) fn format_float(v: f64) -> String {
    // Every integer up to 2^53 is an f64.
    const EXACT_INTEGERS: f64 = (1u64 << 53) as f64;
    if v.abs() <= EXACT_INTEGERS && (v as i64) as f64 == v {
        // `as` is exact here, and -0 becomes 0.
        return format!("{}", v as i64);
    }
    let sci = format!("{:.*e}", SIGNIFICANT - 1, v);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    // Digits before the decimal point.
    let point = exp + 1;
    let decimals = SIGNIFICANT as i64 - point;
    let mut out = if decimals > MAX_DECIMALS as i64 {
        format!("{:.*}", MAX_DECIMALS, v.abs())
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
    let current = ctx.lookup(key)?;
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
    let by = integer_arg(&inv.args[1])?;
    add(ctx, &inv.args[0], by)
}

pub fn decrby(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let by = integer_arg(&inv.args[1])?;
    let by = by
        .checked_neg()
        .ok_or_else(|| CmdError::Invalid(String::from("decrement would overflow")))?;
    add(ctx, &inv.args[0], by)
}

/// The number under the key (0 if none) plus the increment, replied and
/// stored as [`format_float`] prints it; the key keeps its expiry.
pub fn incrbyfloat(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let not_float = || CmdError::Invalid(String::from("value is not a valid float"));
    let key = &inv.args[0];
    let (value, expires_at) = match ctx.lookup(key)? {
        Some(e) => {
            let at = e.expires_at;
            (parse_f64(&string(e)?).ok_or_else(not_float)?, at)
        }
        None => (0.0, None),
    };
    let by = parse_f64(&inv.args[1]).ok_or_else(not_float)?;
    let sum = value + by;
    if !sum.is_finite() {
        return Err(CmdError::Invalid(String::from(
            "increment would produce NaN or Infinity",
        )));
    }
    let text = format_float(sum);
    put(ctx, key, text.clone().into_bytes(), expires_at)?;
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
    fn floats_print_as_redis_prints_its_sums() {
        // Each as native redis-server 7.0.15 replies to the same INCRBYFLOAT.
        for (sum, shown) in [
            (1.0 + -1.1, "-0.1"),
            (0.1 + 0.2, "0.3"),
            (10.5 + 0.1, "10.6"),
            (10.5 + 0.1 - 5.0, "5.6"),
            (5.0e3 + 2.0e2, "5200"),
            (3.0 + 1.1 + 1.1, "5.2"),
            (17179869184.0 + 1.5, "17179869185.5"),
            (17179869184.0 * 2.0, "34359738368"),
            (1.0 / 41.0 + -1.0 / 41.0, "0"),
            (-0.0, "0"),
            (1e-20, "0"),
            (-1e-20, "0"),
            (1.5e-5, "0.000015"),
            (1.0e23, "100000000000000000000000"),
            (9007199254740992.0, "9007199254740992"),
        ] {
            assert_eq!(format_float(sum), shown, "{sum:e}");
        }
        let mut tenths = 0.0;
        for i in 1..=10 {
            tenths += 0.1;
            let shown = format_float(tenths);
            assert_eq!(shown, format_float(i as f64 / 10.0));
            assert!(shown.len() <= 3, "{shown}");
        }
    }
}

//! Arguments read as Redis reads them: integers as `string2ll` takes them
//! (no sign but `-`, no leading zero, no space, at most 20 bytes), memory
//! sizes as `memtoull` (`1mb`, `64k`), words compared without case.

use crate::ctx::CmdError;

/// `arg` as a 64-bit integer, exactly as Redis's `string2ll` accepts it.
pub(crate) fn parse_i64(arg: &[u8]) -> Option<i64> {
    let digits = arg.strip_prefix(b"-").unwrap_or(arg);
    let well_formed = match digits {
        [b'0'] => digits.len() == arg.len(),
        [b'1'..=b'9', rest @ ..] => rest.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    if !well_formed || arg.len() > 20 {
        return None;
    }
    core::str::from_utf8(arg).ok()?.parse().ok()
}

/// `arg` as a 64-bit integer, or Redis's error for one that is not.
pub(crate) fn integer(arg: &[u8]) -> Result<i64, CmdError> {
    parse_i64(arg).ok_or_else(CmdError::not_integer)
}

/// `arg` as a 32-bit integer (Redis's `getIntFromObjectOrReply`: a
/// database index), or Redis's error for one that is not.
pub(crate) fn int32(arg: &[u8]) -> Result<i32, CmdError> {
    parse_i64(arg)
        .and_then(|n| i32::try_from(n).ok())
        .ok_or_else(CmdError::not_integer)
}

/// `arg` as a byte count, as Redis's `memtoull` reads it: digits, then
/// optionally `b`, `k`, `kb`, `m`, `mb`, `g`, `gb` in any case (`k` is
/// 1000, `kb` 1024); no digits at all reads as 0, as there.
pub(crate) fn memory(arg: &[u8]) -> Option<u64> {
    let text = core::str::from_utf8(arg).ok()?.to_ascii_lowercase();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let mul: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if digits.is_empty() {
        return Some(0);
    }
    digits.parse::<u64>().ok()?.checked_mul(mul)
}

/// Whether `arg` is `word`, ignoring ASCII case.
pub(crate) fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_as_string2ll_takes_them() {
        for (text, want) in [
            ("0", Some(0)),
            ("7", Some(7)),
            ("-7", Some(-7)),
            ("9223372036854775807", Some(i64::MAX)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("9223372036854775808", None),
            ("-0", None),
            ("01", None),
            ("+1", None),
            (" 1", None),
            ("1 ", None),
            ("", None),
            ("-", None),
            ("1.0", None),
            ("00000000000000000001", None),
        ] {
            assert_eq!(parse_i64(text.as_bytes()), want, "{text}");
        }
        assert_eq!(int32(b"2147483648"), Err(CmdError::not_integer()));
        assert_eq!(int32(b"-2147483648"), Ok(i32::MIN));
    }

    #[test]
    fn memory_sizes_as_memtoull_reads_them() {
        for (text, want) in [
            ("100", Some(100)),
            ("1k", Some(1000)),
            ("1kb", Some(1024)),
            ("1MB", Some(1 << 20)),
            ("2m", Some(2_000_000)),
            ("1gb", Some(1 << 30)),
            ("5b", Some(5)),
            ("mb", Some(0)),
            ("", Some(0)),
            ("1tb", None),
            ("-1", None),
            ("1.5mb", None),
        ] {
            assert_eq!(memory(text.as_bytes()), want, "{text}");
        }
    }
}

//! Redis's two readers of request text, reproduced rule for rule because
//! clients depend on their exact quirks: `sdssplitargs` (sds.c), which splits
//! an inline request into arguments, and `string2ll` (util.c), which reads
//! the counts of `*N` and `$N` headers.
//!
//! The serial console has its own splitter (`console::split_args`) with
//! friendlier, stricter rules and positioned errors; Redis's differs on
//! purpose (single quotes, `\b \a`, unknown escapes kept, quotes opening
//! mid-token, `\v \f` as blanks), so the two are not merged.

use alloc::vec::Vec;

/// C's `isspace` in the "C" locale, which Redis runs in.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// `sdssplitargs`: the arguments of an inline request line, or `None` for
/// unbalanced quotes or a closing quote followed by something other than a
/// blank.
///
/// The line is read as C reads it: a NUL byte ends it (the request parser
/// never passes one, as Redis's `strchr` never finds a line end past one).
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    // The line up to its first NUL, as the C string it is in Redis.
    let line = match line.iter().position(|&b| b == 0) {
        Some(nul) => &line[..nul],
        None => line,
    };
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    let mut args = Vec::new();
    let mut p = 0;
    loop {
        while p < line.len() && is_space(line[p]) {
            p += 1;
        }
        if p == line.len() {
            return Some(args);
        }
        let mut current = Vec::new();
        // The quote the token is inside, if any.
        let mut quote = None;
        loop {
            let c = at(p);
            let Some(q) = quote else {
                match c {
                    // Only these end an unquoted token: `\v` and `\f`
                    // are blanks before a token but bytes inside one.
                    b' ' | b'\n' | b'\r' | b'\t' => {
                        p += 1;
                        break;
                    }
                    0 => break,
                    b'"' | b'\'' => quote = Some(c),
                    _ => current.push(c),
                }
                p += 1;
                continue;
            };
            if let Some((byte, len)) = escape(q, at(p), at(p + 1), at(p + 2), at(p + 3)) {
                current.push(byte);
                p += len;
            } else if c == q {
                // A closing quote must be followed by a blank or the end.
                if at(p + 1) != 0 && !is_space(at(p + 1)) {
                    return None;
                }
                p += 1;
                break;
            } else if c == 0 {
                return None;
            } else {
                current.push(c);
                p += 1;
            }
        }
        args.push(current);
    }
}

/// The escape starting with byte `c` inside quotes `q`, given the three
/// bytes after it (0 past the end): the byte it stands for and its length.
/// Double quotes know `\xHH`, `\n \r \t \b \a` and keep any other escaped
/// byte; single quotes know only `\'`.
fn escape(q: u8, c: u8, next: u8, hi: u8, lo: u8) -> Option<(u8, usize)> {
    if c != b'\\' || next == 0 {
        return None;
    }
    if q == b'\'' {
        return (next == b'\'').then_some((b'\'', 2));
    }
    if next == b'x' {
        if let (Some(hi), Some(lo)) = (hex_value(hi), hex_value(lo)) {
            return Some(((hi << 4) | lo, 4));
        }
    }
    let byte = match next {
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'b' => 0x08,
        b'a' => 0x07,
        other => other,
    };
    Some((byte, 2))
}

/// `string2ll`: a decimal `i64` with an optional `-`, no leading zeros
/// (except `0` itself), no `+`, no blanks, fewer than 21 bytes.
pub fn string2ll(text: &[u8]) -> Option<i64> {
    // LONG_STR_SIZE in Redis: 21 bytes or more is never a valid number.
    if text.is_empty() || text.len() >= 21 {
        return None;
    }
    if text == b"0" {
        return Some(0);
    }
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut value: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        // -(2^63) is the one magnitude that fits only as a negative.
        0i64.checked_sub_unsigned(value)
    } else {
        i64::try_from(value).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn args(list: &[&[u8]]) -> Option<Vec<Vec<u8>>> {
        Some(list.iter().map(|a| a.to_vec()).collect())
    }

    #[test]
    fn splits_on_blanks_and_keeps_quoted_blanks() {
        assert_eq!(split_args(b""), args(&[]));
        assert_eq!(split_args(b" \t\x0b\x0c\r\n"), args(&[]));
        assert_eq!(split_args(b"set a \"b c\""), args(&[b"set", b"a", b"b c"]));
        assert_eq!(split_args(b"  get\tk  "), args(&[b"get", b"k"]));
        assert_eq!(split_args(b"a\rb\nc"), args(&[b"a", b"b", b"c"]));
    }

    #[test]
    fn vertical_tab_and_form_feed_are_blanks_only_between_tokens() {
        assert_eq!(split_args(b"\x0ba\x0bb\x0c"), args(&[b"a\x0bb\x0c"]));
        assert_eq!(split_args(b"\"a\"\x0bb"), args(&[b"a", b"b"]));
    }

    #[test]
    fn double_quote_escapes() {
        assert_eq!(
            split_args(br#""\n\r\t\b\a\\\"\x41\xfF""#),
            Some(vec![b"\n\r\t\x08\x07\\\"A\xff".to_vec()])
        );
        // Unknown escapes keep the byte; a short \x is an `x` and its digits.
        assert_eq!(split_args(br#""\q\x4\xzz""#), args(&[b"qx4xzz"]));
        assert_eq!(split_args(br#""""#), args(&[b""]));
    }

    #[test]
    fn single_quotes_know_only_the_escaped_quote() {
        assert_eq!(split_args(br"'a\'b\n'"), args(&[br"a'b\n"]));
        assert_eq!(split_args(b"''"), args(&[b""]));
    }

    #[test]
    fn quotes_open_mid_token() {
        assert_eq!(split_args(br#"ab"c d""#), args(&[b"abc d"]));
        assert_eq!(split_args(b"x'y z' w"), args(&[b"xy z", b"w"]));
    }

    #[test]
    fn unbalanced_or_glued_quotes_fail() {
        assert_eq!(split_args(br#""abc"#), None);
        assert_eq!(split_args(br#""abc\""#), None);
        assert_eq!(split_args(br#""abc\"#), None);
        assert_eq!(split_args(b"'abc"), None);
        assert_eq!(split_args(br#""a"b"#), None);
        assert_eq!(split_args(b"'a'b"), None);
        assert_eq!(split_args(br#"x "a""b""#), None);
    }

    #[test]
    fn a_nul_ends_the_line_as_in_c() {
        assert_eq!(split_args(b"a b\0c"), args(&[b"a", b"b"]));
        assert_eq!(split_args(b"\"a\0\""), None);
    }

    #[test]
    fn string2ll_rules() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"3"), Some(3));
        assert_eq!(string2ll(b"-1"), Some(-1));
        assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"00",
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"1x",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"18446744073709551616",
            b"000000000000000000001",
        ] {
            assert_eq!(string2ll(bad), None, "{:?}", bad);
        }
    }
}

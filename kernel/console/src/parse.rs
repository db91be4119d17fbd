//! Splitting a line into arguments, the way redis-cli does.
//!
//! Arguments are separated by spaces or tabs. An argument that starts with a
//! double quote runs to the matching quote and may hold spaces and the escapes
//! `\" \\ \n \r \t \xHH`, so every byte string can be typed; an argument that
//! does not start with a quote is taken byte for byte. This is the inverse of
//! [`crate::reply::quote`].

use alloc::vec::Vec;
use core::fmt;

/// Why a line could not be split. Offsets count bytes from 0 at the start of
/// the line, so a script can point at the culprit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The quote opened at `at` is never closed.
    UnbalancedQuotes {
        /// Offset of the opening quote.
        at: usize,
    },
    /// An escape other than `\" \\ \n \r \t \xHH`.
    BadEscape {
        /// Offset of the backslash.
        at: usize,
        /// The escape as typed, backslash included (at most 4 bytes).
        escape: Vec<u8>,
    },
    /// A closing quote followed by something other than a space or the end.
    TextAfterQuote {
        /// Offset of the first byte after the closing quote.
        at: usize,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::UnbalancedQuotes { at } => write!(
                f,
                "unbalanced quotes in request: the quote at byte {at} is never closed"
            ),
            ParseError::BadEscape { at, escape } => {
                f.write_str("bad escape '")?;
                for &b in escape {
                    if b == b'\\' || crate::reply::is_printable(b) {
                        write!(f, "{}", b as char)?;
                    } else {
                        write!(f, "\\x{b:02x}")?;
                    }
                }
                write!(
                    f,
                    "' at byte {at}; inside quotes use \\\" \\\\ \\n \\r \\t or \\xHH"
                )
            }
            ParseError::TextAfterQuote { at } => write!(
                f,
                "text right after a closing quote at byte {at}; \
                 a closing quote must be followed by a space or the end of the line"
            ),
        }
    }
}

fn is_separator(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Splits `line` into arguments. An empty or all-blank line gives no
/// arguments; `""` gives one empty argument.
pub fn split_args(line: &[u8]) -> Result<Vec<Vec<u8>>, ParseError> {
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while i < line.len() && is_separator(line[i]) {
            i += 1;
        }
        if i == line.len() {
            return Ok(args);
        }
        if line[i] == b'"' {
            let (arg, next) = quoted(line, i)?;
            args.push(arg);
            i = next;
        } else {
            let start = i;
            while i < line.len() && !is_separator(line[i]) {
                i += 1;
            }
            args.push(line[start..i].to_vec());
        }
    }
}

/// Parses the quoted argument whose opening quote is at `open`; returns it
/// and the offset just past the closing quote.
fn quoted(line: &[u8], open: usize) -> Result<(Vec<u8>, usize), ParseError> {
    let mut arg = Vec::new();
    let mut i = open + 1;
    loop {
        match line.get(i) {
            None => return Err(ParseError::UnbalancedQuotes { at: open }),
            Some(b'"') => {
                let next = i + 1;
                if next < line.len() && !is_separator(line[next]) {
                    return Err(ParseError::TextAfterQuote { at: next });
                }
                return Ok((arg, next));
            }
            Some(b'\\') => {
                let (byte, len) = escape(line, i, open)?;
                arg.push(byte);
                i += len;
            }
            Some(&b) => {
                arg.push(b);
                i += 1;
            }
        }
    }
}

/// Decodes the escape whose backslash is at `at`: the byte and the length.
fn escape(line: &[u8], at: usize, open: usize) -> Result<(u8, usize), ParseError> {
    let bad = |len: usize| ParseError::BadEscape {
        at,
        escape: line[at..(at + len).min(line.len())].to_vec(),
    };
    let byte = match line.get(at + 1) {
        // The backslash is the last byte: the quote can never close.
        None => return Err(ParseError::UnbalancedQuotes { at: open }),
        Some(b'"') => b'"',
        Some(b'\\') => b'\\',
        Some(b'n') => b'\n',
        Some(b'r') => b'\r',
        Some(b't') => b'\t',
        Some(b'x') => {
            let hi = line.get(at + 2).copied().and_then(hex_value);
            let lo = line.get(at + 3).copied().and_then(hex_value);
            return match (hi, lo) {
                (Some(hi), Some(lo)) => Ok(((hi << 4) | lo, 4)),
                // Show only what belongs to the escape: `\x4` in `"\x4"`,
                // not the closing quote after it.
                (Some(_), None) if line.get(at + 3) == Some(&b'"') => Err(bad(3)),
                _ if line.get(at + 2) == Some(&b'"') => Err(bad(2)),
                (Some(_), None) | (None, _) => Err(bad(4)),
            };
        }
        Some(_) => return Err(bad(2)),
    };
    Ok((byte, 2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    fn ok(line: &[u8]) -> Vec<Vec<u8>> {
        split_args(line).unwrap_or_else(|e| panic!("{:?}: {e}", line))
    }

    fn args(list: &[&[u8]]) -> Vec<Vec<u8>> {
        list.iter().map(|a| a.to_vec()).collect()
    }

    #[test]
    fn empty_and_blank_lines_give_no_arguments() {
        assert!(ok(b"").is_empty());
        assert!(ok(b"   ").is_empty());
        assert!(ok(b" \t ").is_empty());
    }

    #[test]
    fn plain_arguments_split_on_runs_of_spaces_and_tabs() {
        assert_eq!(ok(b"SET key value"), args(&[b"SET", b"key", b"value"]));
        assert_eq!(ok(b"  GET   k  "), args(&[b"GET", b"k"]));
        assert_eq!(ok(b"a\tb \t c"), args(&[b"a", b"b", b"c"]));
    }

    #[test]
    fn unquoted_arguments_are_taken_byte_for_byte() {
        assert_eq!(ok(br"a\nb"), args(&[br"a\nb"]));
        assert_eq!(ok(br#"ab"c"#), args(&[br#"ab"c"#]));
        assert_eq!(
            ok(b"caf\xc3\xa9 \xff\x00"),
            args(&[b"caf\xc3\xa9", b"\xff\x00"])
        );
        assert_eq!(ok(b"x\""), args(&[b"x\""]));
    }

    #[test]
    fn quoted_arguments_hold_spaces() {
        assert_eq!(
            ok(br#"SET k "hello world""#),
            args(&[b"SET", b"k", b"hello world"])
        );
        assert_eq!(ok(br#""  a  ""#), args(&[b"  a  "]));
        assert_eq!(ok(br#""a"	"b""#), args(&[b"a", b"b"]));
    }

    #[test]
    fn empty_quotes_give_one_empty_argument() {
        assert_eq!(ok(br#""""#), args(&[b""]));
        assert_eq!(ok(br#"SET "" """#), args(&[b"SET", b"", b""]));
    }

    #[test]
    fn every_escape() {
        assert_eq!(ok(br#""\"""#), args(&[b"\""]));
        assert_eq!(ok(br#""\\""#), args(&[b"\\"]));
        assert_eq!(ok(br#""\n\r\t""#), args(&[b"\n\r\t"]));
        assert_eq!(ok(br#""\x00\xff\xAb\x7F""#), args(&[b"\x00\xff\xab\x7f"]));
        assert_eq!(ok(br#""a\x41b""#), args(&[b"aAb"]));
        assert_eq!(ok(br#""\\\"""#), args(&[b"\\\""]));
    }

    #[test]
    fn unterminated_quotes_are_an_error() {
        assert_eq!(
            split_args(br#"SET k "abc"#),
            Err(ParseError::UnbalancedQuotes { at: 6 })
        );
        assert_eq!(
            split_args(br#"""#),
            Err(ParseError::UnbalancedQuotes { at: 0 })
        );
        // An escaped quote does not close.
        assert_eq!(
            split_args(br#""abc\""#),
            Err(ParseError::UnbalancedQuotes { at: 0 })
        );
        // A trailing backslash leaves the quote open too.
        assert_eq!(
            split_args(br#"x "ab\"#),
            Err(ParseError::UnbalancedQuotes { at: 2 })
        );
    }

    #[test]
    fn bad_escapes_are_an_error() {
        let bad = |line: &[u8]| match split_args(line) {
            Err(ParseError::BadEscape { at, escape }) => (at, escape),
            other => panic!("{other:?}"),
        };
        assert_eq!(bad(br#"SET k "\q""#), (7, b"\\q".to_vec()));
        assert_eq!(bad(br#""\x4""#), (1, b"\\x4".to_vec()));
        assert_eq!(bad(br#""\x""#), (1, b"\\x".to_vec()));
        assert_eq!(bad(br#""\xZZ""#), (1, b"\\xZZ".to_vec()));
        assert_eq!(bad(br#""\xaZ""#), (1, b"\\xaZ".to_vec()));
        assert_eq!(bad(br#""\x4"#), (1, b"\\x4".to_vec()));
        assert_eq!(bad(br#""\0""#), (1, b"\\0".to_vec()));
        assert_eq!(bad(b"\"\\\xff\""), (1, b"\\\xff".to_vec()));
    }

    #[test]
    fn text_after_a_closing_quote_is_an_error() {
        assert_eq!(
            split_args(br#""abc"d"#),
            Err(ParseError::TextAfterQuote { at: 5 })
        );
        assert_eq!(
            split_args(br#"a "b""c""#),
            Err(ParseError::TextAfterQuote { at: 5 })
        );
    }

    #[test]
    fn errors_say_what_and_where() {
        let msg = |line: &[u8]| split_args(line).unwrap_err().to_string();
        assert_eq!(
            msg(br#"SET k "abc"#),
            "unbalanced quotes in request: the quote at byte 6 is never closed"
        );
        assert_eq!(
            msg(br#"SET k "\q""#),
            r#"bad escape '\q' at byte 7; inside quotes use \" \\ \n \r \t or \xHH"#
        );
        assert!(msg(b"\"\\\x01\"").starts_with(r"bad escape '\\x01' at byte 1"));
        assert_eq!(
            msg(br#""abc"d"#),
            "text right after a closing quote at byte 5; \
             a closing quote must be followed by a space or the end of the line"
        );
    }

    #[test]
    fn round_trips_hand_picked_byte_strings() {
        let cases: [&[u8]; 8] = [
            b"",
            b" ",
            b"\"",
            b"\\",
            b"a b",
            b"\x00\x01\xff",
            b"\r\n\t",
            b"\\x41",
        ];
        for case in cases {
            let quoted = crate::reply::quote(case);
            assert_eq!(ok(quoted.as_bytes()), vec![case.to_vec()], "{quoted}");
        }
    }
}

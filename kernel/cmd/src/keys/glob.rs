//! Redis's glob patterns (`stringmatchlen` of util.c), byte for byte:
//! `*` any run, `?` any byte, `[abc]` `[^abc]` `[a-z]` classes (a range
//! may be written backwards), `\x` the byte x, anywhere else. Its edge
//! cases are kept: an unclosed `[` matches what its class holds up to the
//! pattern's end, `[a-]` is the range from `a` to `]`, a trailing `\`
//! matches itself, and bytes compare as x86's signed `char` in ranges. A
//! run of stars that cannot match stops the search at once, so patterns
//! like `a*a*a*...b` take linear time.

/// The pattern's byte `i`, or 0 past its end, where C reads the NUL that
/// ends the string.
fn at(p: &[u8], i: usize) -> u8 {
    p.get(i).copied().unwrap_or(0)
}

/// Whether `string` matches `pattern`; `nocase` compares ASCII letters
/// without case (CONFIG GET does, KEYS and SCAN do not).
pub(crate) fn matches(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    let mut skip_longer = false;
    match_from(pattern, string, nocase, &mut skip_longer)
}

fn fold(b: u8, nocase: bool) -> u8 {
    if nocase {
        b.to_ascii_lowercase()
    } else {
        b
    }
}

fn match_from(pattern: &[u8], string: &[u8], nocase: bool, skip_longer: &mut bool) -> bool {
    let (mut p, mut s) = (0usize, 0usize);
    while p < pattern.len() && s < string.len() {
        match pattern[p] {
            b'*' => {
                while p + 1 < pattern.len() && pattern[p + 1] == b'*' {
                    p += 1;
                }
                if p + 1 == pattern.len() {
                    return true;
                }
                while s < string.len() {
                    if match_from(&pattern[p + 1..], &string[s..], nocase, skip_longer) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    s += 1;
                }
                // Nothing matches the rest from anywhere in the string: a
                // longer match for an earlier star cannot help either.
                *skip_longer = true;
                return false;
            }
            b'?' => s += 1,
            b'[' => {
                p += 1;
                let not = at(pattern, p) == b'^';
                if not {
                    p += 1;
                }
                let mut matched = false;
                loop {
                    let left = pattern.len().saturating_sub(p);
                    if at(pattern, p) == b'\\' && left >= 2 {
                        p += 1;
                        if at(pattern, p) == string[s] {
                            matched = true;
                        }
                    } else if at(pattern, p) == b']' {
                        break;
                    } else if left == 0 {
                        // Unclosed: step back onto the class's last byte,
                        // which the advance below steps over again.
                        p -= 1;
                        break;
                    } else if left >= 3 && at(pattern, p + 1) == b'-' {
                        // C's char is signed on x86: bytes >= 0x80 are below 0.
                        let (mut start, mut end) =
                            (at(pattern, p) as i8 as i32, at(pattern, p + 2) as i8 as i32);
                        let mut c = string[s] as i8 as i32;
                        if start > end {
                            core::mem::swap(&mut start, &mut end);
                        }
                        if nocase {
                            let lower = |x: i32| match u8::try_from(x) {
                                Ok(b) => i32::from(b.to_ascii_lowercase()),
                                Err(_) => x,
                            };
                            (start, end, c) = (lower(start), lower(end), lower(c));
                        }
                        p += 2;
                        if c >= start && c <= end {
                            matched = true;
                        }
                    } else if fold(at(pattern, p), nocase) == fold(string[s], nocase) {
                        matched = true;
                    }
                    p += 1;
                }
                if not {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                s += 1;
            }
            c => {
                let mut c = c;
                if c == b'\\' && pattern.len() - p >= 2 {
                    p += 1;
                    c = pattern[p];
                }
                if fold(c, nocase) != fold(string[s], nocase) {
                    return false;
                }
                s += 1;
            }
        }
        p += 1;
        if s == string.len() {
            while at(pattern, p) == b'*' {
                p += 1;
            }
            break;
        }
    }
    p >= pattern.len() && s == string.len()
}

/// The bytes every key a pattern matches starts with (its literal head,
/// up to the first special byte): a scan can start there and stop after.
pub(crate) fn literal_prefix(pattern: &[u8]) -> &[u8] {
    let end = pattern
        .iter()
        .position(|b| matches!(b, b'*' | b'?' | b'[' | b'\\'))
        .unwrap_or(pattern.len());
    &pattern[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        matches(p.as_bytes(), s.as_bytes(), false)
    }

    #[test]
    fn stars_and_questions() {
        assert!(
            !m("*", ""),
            "no pattern but KEYS * itself matches the empty key"
        );
        assert!(!m("**", ""));
        assert!(m("*", "anything"));
        assert!(m("foo*", "foo"));
        assert!(m("foo*", "foobar"));
        assert!(!m("foo*", "fo"));
        assert!(m("*bar", "foobar"));
        assert!(m("f*b*r", "foobar"));
        assert!(m("**", "x"));
        assert!(m("a**", "a"));
        assert!(m("h?llo", "hello"));
        assert!(!m("h?llo", "hllo"));
        assert!(m("?", "\u{7f}"));
        assert!(!m("?", ""));
        assert!(!m("", "a"));
        assert!(m("", ""));
        assert!(!m("a", ""));
        assert!(m("key:1??", "key:123"));
        assert!(!m("key:1??", "key:12"));
    }

    #[test]
    fn classes() {
        assert!(m("h[ae]llo", "hello"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(m("h[b-a]llo", "hallo"), "a range written backwards");
        assert!(!m("h[a-b]llo", "hcllo"));
        assert!(m("[\\]]", "]"));
        assert!(m("[\\-]", "-"));
        assert!(m("[a-]", "]"), "[a-] is the range a..]");
        assert!(m("[a-]", "^"));
        assert!(!m("[a-]", "-"));
        assert!(!m("[]]", "]"), "a class ends at its first ]");
        assert!(!m("[]", "]"), "an empty class matches nothing");
        assert!(m("[abc", "b"), "unclosed: the class runs to the end");
        assert!(!m("[abc", "d"));
        assert!(!m("[", "a"));
        assert!(m("[^", "a"), "an unclosed empty negation matches any byte");
        assert!(m("a[bc", "ac"));
        assert!(!m("a[bc", "acx"));
    }

    #[test]
    fn escapes() {
        assert!(m("\\*", "*"));
        assert!(!m("\\*", "a"));
        assert!(m("\\?x", "?x"));
        assert!(m("a\\", "a\\"), "a trailing backslash matches itself");
        assert!(m("\\a", "a"));
        assert!(m("[\\\\]", "\\"));
    }

    #[test]
    fn bytes_compare_as_signed_chars_in_ranges() {
        // x86's Redis: 0xff is -1, so [a-\xff] is the range -1..'a', which
        // holds 0xff and NUL but not 0x80 (-128).
        assert!(matches(b"[a-\xff]", b"\xff", false));
        assert!(!matches(b"[a-\xff]", b"\x80", false));
        assert!(matches(b"[a-\xff]", b"\x00", false));
        assert!(!matches(b"[a-\xff]", b"b", false));
        assert!(matches(b"\xc3\xa9", "é".as_bytes(), false));
    }

    #[test]
    fn nocase_folds_ascii_letters() {
        assert!(matches(b"MAX*", b"maxclients", true));
        assert!(matches(b"[A-C]x", b"bX", true));
        assert!(!matches(b"MAX*", b"maxclients", false));
    }

    #[test]
    fn long_nested_stars_fail_fast() {
        let key = "a".repeat(40);
        assert!(!m("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", &key));
        assert!(m("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*", &key));
    }

    #[test]
    fn literal_prefixes() {
        assert_eq!(literal_prefix(b"foo*"), b"foo");
        assert_eq!(literal_prefix(b"key:1??"), b"key:1");
        assert_eq!(literal_prefix(b"*x"), b"");
        assert_eq!(literal_prefix(b"a\\*b"), b"a");
        assert_eq!(literal_prefix(b"ab[c]"), b"ab");
        assert_eq!(literal_prefix(b"plain"), b"plain");
    }
}

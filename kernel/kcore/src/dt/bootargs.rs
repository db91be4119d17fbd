//! The kernel command line (`/chosen/bootargs`): looking a key up in it.

/// Looks `key` up in a kernel command line.
///
/// Words are separated by ASCII whitespace; double quotes group spaces into a
/// word (`msg="a b"`) and are stripped from the value, as Linux's
/// `next_arg` does. `key=value` yields `Some("value")`, a bare `key` yields
/// `Some("")`. When a key repeats, the last one wins (later words override
/// earlier ones, as on Linux). Words after a lone `--` belong to something
/// else and are not searched.
pub fn bootarg<'a>(bootargs: &'a str, key: &str) -> Option<&'a str> {
    if key.is_empty() {
        return None;
    }
    let mut found = None;
    for word in words(bootargs) {
        if word == "--" {
            break;
        }
        let (k, v) = match word.split_once('=') {
            Some((k, v)) => (k, v),
            None => (word, ""),
        };
        if k == key {
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v);
            found = Some(v);
        }
    }
    found
}

/// Splits at whitespace outside double quotes.
fn words(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = s;
    core::iter::from_fn(move || {
        rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace());
        if rest.is_empty() {
            return None;
        }
        let mut quoted = false;
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                if c == '"' {
                    quoted = !quoted;
                }
                !quoted && c.is_ascii_whitespace()
            })
            .map_or(rest.len(), |(i, _)| i);
        let (word, tail) = rest.split_at(end);
        rest = tail;
        Some(word)
    })
}

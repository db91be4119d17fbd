//! The server's replies on the wire: each [`console::Reply`] written as
//! RESP2 or RESP3, in the forms Redis 7.0 uses for the same kind of answer
//! (`addReplyBulk`, `addReplyNull`, `addReplyNullArray`, `addReplyMapLen`,
//! `addReplyVerbatim`, `addReplyError`).

use alloc::string::String;
use alloc::vec::Vec;
use console::Reply;

/// Which protocol a connection speaks: RESP2 until `HELLO 3`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Protocol {
    /// Redis's protocol since 1.2: nulls as `$-1`/`*-1`, maps as flat
    /// arrays, text as bulks.
    #[default]
    Resp2,
    /// Redis 6's: `_` null, `%` maps, `=` verbatim text.
    Resp3,
}

/// Appends `n` in decimal.
fn push_int(out: &mut Vec<u8>, n: i64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if n < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[at..]);
}

/// Appends a header: the type byte, a length or number, CRLF.
fn header(out: &mut Vec<u8>, kind: u8, n: usize) {
    out.push(kind);
    // A length beyond i64 cannot exist in memory.
    push_int(out, i64::try_from(n).unwrap_or(i64::MAX));
    out.extend_from_slice(b"\r\n");
}

fn bulk(out: &mut Vec<u8>, bytes: &[u8]) {
    header(out, b'$', bytes.len());
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}

/// Text Redis would send as a verbatim string in RESP3 and as a bulk in
/// RESP2 (`addReplyVerbatim` with format `txt`).
fn verbatim(out: &mut Vec<u8>, text: &[u8], proto: Protocol) {
    match proto {
        Protocol::Resp2 => bulk(out, text),
        Protocol::Resp3 => {
            header(out, b'=', text.len() + 4);
            out.extend_from_slice(b"txt:");
            out.extend_from_slice(text);
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// A status or error line's text with CR and LF made spaces: one of them
/// would end the line early and the rest would be read as another reply.
fn line(out: &mut Vec<u8>, text: &str) {
    out.extend(text.bytes().map(|b| match b {
        b'\r' | b'\n' => b' ',
        other => other,
    }));
    out.extend_from_slice(b"\r\n");
}

/// Appends `reply` as `proto` puts it on the wire.
pub fn encode(reply: &Reply, proto: Protocol, out: &mut Vec<u8>) {
    match reply {
        Reply::Ok => out.extend_from_slice(b"+OK\r\n"),
        Reply::Status(word) => {
            out.push(b'+');
            line(out, word);
        }
        Reply::Value(bytes) => bulk(out, bytes),
        Reply::Nil => out.extend_from_slice(match proto {
            Protocol::Resp2 => b"$-1\r\n",
            Protocol::Resp3 => b"_\r\n",
        }),
        Reply::NilArray => out.extend_from_slice(match proto {
            Protocol::Resp2 => b"*-1\r\n",
            Protocol::Resp3 => b"_\r\n",
        }),
        Reply::Integer(n) => {
            out.push(b':');
            push_int(out, *n);
            out.extend_from_slice(b"\r\n");
        }
        Reply::Array(items) => {
            header(out, b'*', items.len());
            for item in items {
                encode(item, proto, out);
            }
        }
        Reply::Map(pairs) => {
            match proto {
                Protocol::Resp2 => header(out, b'*', pairs.len() * 2),
                Protocol::Resp3 => header(out, b'%', pairs.len()),
            }
            for (key, value) in pairs {
                encode(key, proto, out);
                encode(value, proto, out);
            }
        }
        Reply::List(rows) => {
            header(out, b'*', rows.len());
            for row in rows {
                header(out, b'*', row.len());
                for part in row {
                    bulk(out, part);
                }
            }
        }
        Reply::Error(message) => {
            if !message.starts_with("ERR ") {
                out.extend_from_slice(b"-ERR ");
            } else {
                out.push(b'-');
            }
            line(out, message);
        }
        Reply::Coded(code, message) => {
            out.push(b'-');
            out.extend_from_slice(code.as_bytes());
            out.push(b' ');
            line(out, message);
        }
        Reply::Report(_) => {
            // The console's rendering of a report is INFO's text exactly:
            // `# Section\r\n`, `field:value\r\n`, "\r\n" between sections.
            let mut text = String::new();
            // Writing to a String cannot fail.
            let _ = console::render(reply, &mut text);
            verbatim(out, text.as_bytes(), proto);
        }
        Reply::Text(text) => verbatim(out, text.as_bytes(), proto),
        Reply::Interrupted => out.extend_from_slice(b"-ERR interrupted\r\n"),
    }
}

/// [`encode`] into a new buffer.
pub fn encoded(reply: &Reply, proto: Protocol) -> Vec<u8> {
    let mut out = Vec::new();
    encode(reply, proto, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_in_decimal() {
        for (n, text) in [
            (0, "0"),
            (7, "7"),
            (-7, "-7"),
            (1234567890, "1234567890"),
            (i64::MAX, "9223372036854775807"),
            (i64::MIN, "-9223372036854775808"),
        ] {
            let mut out = Vec::new();
            push_int(&mut out, n);
            assert_eq!(out, text.as_bytes());
        }
    }
}

//! The server's replies on the wire: each [`console::Reply`] written as
//! RESP2 or RESP3, in the forms Redis 7.0 uses for the same kind of answer
//! (`addReplyBulk`, `addReplyNull`, `addReplyNullArray`, `addReplyMapLen`,
//! `addReplyVerbatim`, `addReplyError`).

use alloc::string::String;
use alloc::vec::Vec;
use console::Reply;
// Replies are a few bytes each: `+OK\r\n` was a `memcpy` call.
use unaligned::extend_short;

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

/// Appends a line of `kind` and `n` in decimal: a header (`$3`, `*2`) or
/// an integer reply, CRLF included. Built on the stack and appended at
/// once: a request's reply is mostly such lines, and each append is a
/// capacity check and a copy.
///
/// Inlined, with the long numbers' loop out of line: every reply of a
/// value or a number comes through here, and under TCG each return is a
/// lookup of its target.
#[inline(always)]
fn number_line(out: &mut Vec<u8>, kind: u8, n: i64) {
    // What nearly every reply holds: a length or count of one or two
    // digits, written without the loop's divisions and the 24-byte
    // buffer (~65 guest instructions for `$3`).
    if (0..10).contains(&n) {
        extend_short(out, &[kind, b'0' + n as u8, b'\r', b'\n']);
        return;
    }
    if (10..100).contains(&n) {
        let (tens, ones) = (n as u8 / 10, n as u8 % 10);
        extend_short(out, &[kind, b'0' + tens, b'0' + ones, b'\r', b'\n']);
        return;
    }
    long_number_line(out, kind, n);
}

/// [`number_line`] for any other number.
#[inline(never)]
fn long_number_line(out: &mut Vec<u8>, kind: u8, n: i64) {
    // The kind, a sign, up to 19 digits, CRLF.
    let mut line = [0u8; 24];
    let mut at = line.len() - 2;
    line[at..].copy_from_slice(b"\r\n");
    let mut rest = n.unsigned_abs();
    loop {
        at -= 1;
        line[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if n < 0 {
        at -= 1;
        line[at] = b'-';
    }
    at -= 1;
    line[at] = kind;
    extend_short(out, &line[at..]);
}

/// Appends a header: the type byte, a length or number, CRLF.
#[inline(always)]
fn header(out: &mut Vec<u8>, kind: u8, n: usize) {
    // A length beyond i64 cannot exist in memory.
    number_line(out, kind, i64::try_from(n).unwrap_or(i64::MAX));
}

#[inline(always)]
fn bulk(out: &mut Vec<u8>, bytes: &[u8]) {
    // Room for all of it at once: the header, the bytes, CRLF.
    out.reserve(bytes.len() + 24);
    header(out, b'$', bytes.len());
    extend_short(out, bytes);
    extend_short(out, b"\r\n");
}

/// Text Redis would send as a verbatim string in RESP3 and as a bulk in
/// RESP2 (`addReplyVerbatim` with format `txt`).
fn verbatim(out: &mut Vec<u8>, text: &[u8], proto: Protocol) {
    match proto {
        Protocol::Resp2 => bulk(out, text),
        Protocol::Resp3 => {
            header(out, b'=', text.len() + 4);
            extend_short(out, b"txt:");
            extend_short(out, text);
            extend_short(out, b"\r\n");
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
    extend_short(out, b"\r\n");
}

/// Appends `reply` as `proto` puts it on the wire.
pub fn encode(reply: &Reply, proto: Protocol, out: &mut Vec<u8>) {
    match reply {
        Reply::Ok => extend_short(out, b"+OK\r\n"),
        Reply::Status(word) => {
            out.push(b'+');
            line(out, word);
        }
        Reply::Value(bytes) => bulk(out, bytes),
        Reply::Nil => extend_short(
            out,
            match proto {
                Protocol::Resp2 => b"$-1\r\n",
                Protocol::Resp3 => b"_\r\n",
            },
        ),
        Reply::NilArray => extend_short(
            out,
            match proto {
                Protocol::Resp2 => b"*-1\r\n",
                Protocol::Resp3 => b"_\r\n",
            },
        ),
        Reply::Integer(n) => number_line(out, b':', *n),
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
                extend_short(out, b"-ERR ");
            } else {
                out.push(b'-');
            }
            line(out, message);
        }
        Reply::Coded(e) => {
            out.push(b'-');
            extend_short(out, e.code.as_bytes());
            out.push(b' ');
            line(out, &e.message);
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
        Reply::Interrupted => extend_short(out, b"-ERR interrupted\r\n"),
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
            (0, ":0\r\n"),
            (7, ":7\r\n"),
            (-7, ":-7\r\n"),
            (1234567890, ":1234567890\r\n"),
            (i64::MAX, ":9223372036854775807\r\n"),
            (i64::MIN, ":-9223372036854775808\r\n"),
        ] {
            let mut out = b"x".to_vec();
            number_line(&mut out, b':', n);
            assert_eq!(&out[1..], text.as_bytes());
        }
        let mut out = Vec::new();
        header(&mut out, b'$', usize::MAX);
        assert_eq!(out, b"$9223372036854775807\r\n");
        // The short paths for 0..100 agree with the general one.
        for n in -150i64..150 {
            let mut out = Vec::new();
            number_line(&mut out, b':', n);
            assert_eq!(out, alloc::format!(":{n}\r\n").into_bytes(), "{n}");
        }
    }
}

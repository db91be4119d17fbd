//! The one-pass fast path of [`RequestParser::parse`]: a whole, well
//! formed multibulk request that arrived in one read, as nearly every
//! client's command does, read with no state kept between bytes. It only
//! ever accepts what the state machine in the parent module would accept
//! with the same result; anything else it gives back untouched, for the
//! state machine to read from the start.

use super::{Argv, RequestParser, UNAUTH_MAX_BULK_LEN, UNAUTH_MAX_MULTIBULK_LEN};
use crate::text::string2ll;

impl RequestParser {
    /// The common case in one pass: a whole multibulk request at the start
    /// of `input`, every header well formed and within every limit; the
    /// request and the bytes it took. Anything else (a request cut short,
    /// a count of 0 or less, a header the state machine would take apart
    /// differently or refuse) is `None`, and the state machine reads it
    /// from the start, with the same result it always gives.
    pub(super) fn parse_whole(&mut self, input: &[u8]) -> Option<(Argv, usize)> {
        let (count, pos) = header(input, b'*')?;
        let most = self.limits.max_multibulk_len.min(i32::MAX as u64);
        if count <= 0 || count as u64 > most {
            return None;
        }
        if self.auth_required && count > UNAUTH_MAX_MULTIBULK_LEN {
            return None;
        }
        // Each argument takes six bytes at least (`$0\r\n\r\n`): a count
        // the input cannot hold reserves nothing here.
        let count = count as usize;
        if count > (input.len() - pos) / 6 {
            return None;
        }
        let mut argv = core::mem::take(&mut self.spare_argv);
        argv.reserve_exact(count);
        match self.bulks(input, pos, count, &mut argv) {
            Some(end) => Some((argv, end)),
            None => {
                self.recycle(argv);
                None
            }
        }
    }

    /// The `count` bulks from `pos` on, into `argv` (spare buffers first);
    /// where they end.
    fn bulks(
        &mut self,
        input: &[u8],
        mut pos: usize,
        count: usize,
        argv: &mut Argv,
    ) -> Option<usize> {
        for _ in 0..count {
            let (len, start) = header(&input[pos..], b'$')?;
            if len < 0 || len as u64 > self.limits.proto_max_bulk_len {
                return None;
            }
            if self.auth_required && len > UNAUTH_MAX_BULK_LEN {
                return None;
            }
            let start = pos + start;
            let end = start.checked_add(usize::try_from(len).ok()?)?;
            // The two bytes after a bulk are skipped unread, but only a
            // CRLF is taken here: anything else goes the long way.
            if input.get(end..end.checked_add(2)?)? != b"\r\n" {
                return None;
            }
            let bytes = &input[start..end];
            // A spare buffer only if it holds the whole argument: a value
            // is still copied once, into room reserved for all of it.
            let arg = match self.spare.pop() {
                Some(mut arg) if arg.capacity() >= bytes.len() => {
                    unaligned::extend_short(&mut arg, bytes);
                    arg
                }
                other => {
                    self.spare.extend(other);
                    bytes.to_vec()
                }
            };
            argv.push(arg);
            pos = end + 2;
        }
        Some(pos)
    }
}

/// A `*` or `$` header at the start of `input` that is well formed (the
/// tag, a number, CRLF, within 32 bytes): the number and the bytes the
/// header took.
#[inline(always)]
fn header(input: &[u8], tag: u8) -> Option<(i64, usize)> {
    // What nearly every client sends, a count or length of one or two
    // digits, read with no loop (a header was ~50 guest instructions).
    if let [t, d0, a, b, rest @ ..] = input {
        let (t, d0, a, b) = (*t, d0.wrapping_sub(b'0'), *a, *b);
        if t == tag && d0 <= 9 {
            if a == b'\r' && b == b'\n' {
                return Some((i64::from(d0), 4));
            }
            let d1 = a.wrapping_sub(b'0');
            if d0 != 0 && d1 <= 9 && b == b'\r' && rest.first() == Some(&b'\n') {
                return Some((i64::from(d0 * 10 + d1), 5));
            }
        }
    }
    header_long(input, tag)
}

/// [`header`] for any number of digits.
fn header_long(input: &[u8], tag: u8) -> Option<(i64, usize)> {
    if *input.first()? != tag {
        return None;
    }
    // Every count and length a client sends, in one pass: up to 17 digits
    // (no overflow), no leading zero, then CRLF.
    let mut value = 0i64;
    let mut end = 1;
    while let Some(&d) = input.get(end).filter(|d| d.is_ascii_digit() && end < 18) {
        value = value * 10 + i64::from(d - b'0');
        end += 1;
    }
    let plain = end == 2 || (end > 2 && input[1] != b'0');
    if plain && input.get(end..end + 2) == Some(b"\r\n") {
        return Some((value, end + 2));
    }
    let cr = input.iter().take(32).position(|&b| b == b'\r')?;
    if *input.get(cr + 1)? != b'\n' {
        return None;
    }
    Some((string2ll(&input[1..cr])?, cr + 2))
}

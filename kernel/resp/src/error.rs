//! Why a request stream cannot be read: the errors of Redis's
//! `processInlineBuffer` and `processMultibulkBuffer`, with their exact
//! reply text, and the reply Redis sends before it closes the connection.

use alloc::vec::Vec;
use core::fmt;

/// A request stream that breaks Redis's protocol. Redis answers it with
/// `-ERR <Display text>` and closes the connection once that reply is
/// written: [`ProtocolError::write_reply`] gives those exact bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolError {
    /// An inline request line longer than `inline_max_size` without a `\n`.
    TooBigInline,
    /// An inline line whose quotes do not close, or whose closing quote is
    /// followed by something other than a blank.
    UnbalancedQuotes,
    /// A `*` header that is not a number, or a count over the limit.
    InvalidMultibulkLength,
    /// More than `inline_max_size` bytes of a `*` header without a `\r`.
    TooBigMultibulkCount,
    /// More than `inline_max_size` bytes of a `$` header without a `\r`.
    TooBigBulkCount,
    /// An argument header that does not start with `$`: the byte found.
    ExpectedDollar(u8),
    /// A `$` header that is not a number, negative, or over
    /// `proto_max_bulk_len`.
    InvalidBulkLength,
    /// A `*` count over 10 before the client authenticated (only when the
    /// parser is told authentication is required).
    UnauthenticatedMultibulkLength,
    /// A `$` length over 16384 before the client authenticated.
    UnauthenticatedBulkLength,
    /// unikv's own, not Redis's: the memory for an announced bulk (within
    /// the limits) could not be had. Redis would abort instead.
    OutOfMemory,
}

impl ProtocolError {
    /// The message after `Protocol error: `, as Redis writes it on the wire
    /// (a byte in `ExpectedDollar` is left out: see [`Self::write_reply`]).
    fn reason(&self) -> &'static str {
        match self {
            ProtocolError::TooBigInline => "too big inline request",
            ProtocolError::UnbalancedQuotes => "unbalanced quotes in request",
            ProtocolError::InvalidMultibulkLength => "invalid multibulk length",
            ProtocolError::TooBigMultibulkCount => "too big mbulk count string",
            ProtocolError::TooBigBulkCount => "too big bulk count string",
            ProtocolError::ExpectedDollar(_) => "expected '$', got '",
            ProtocolError::InvalidBulkLength => "invalid bulk length",
            ProtocolError::UnauthenticatedMultibulkLength => "unauthenticated multibulk length",
            ProtocolError::UnauthenticatedBulkLength => "unauthenticated bulk length",
            ProtocolError::OutOfMemory => "not enough memory for the request",
        }
    }

    /// The byte Redis shows in `expected '$', got '%c'`, after its reply
    /// writer turned CR and LF into spaces.
    fn shown_byte(byte: u8) -> u8 {
        if byte == b'\r' || byte == b'\n' {
            b' '
        } else {
            byte
        }
    }

    /// Appends Redis's exact reply, `-ERR Protocol error: …\r\n`, byte for
    /// byte (a non-ASCII byte after `got` is sent raw, as Redis does).
    pub fn write_reply(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"-ERR Protocol error: ");
        out.extend_from_slice(self.reason().as_bytes());
        if let ProtocolError::ExpectedDollar(byte) = self {
            out.push(Self::shown_byte(*byte));
            out.push(b'\'');
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// Redis's text, `Protocol error: …`, as the reply carries it after `-ERR `.
/// The one byte that can differ is a non-ASCII byte after `got`, which a
/// `str` cannot hold raw: it is shown as `\xHH`.
impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Protocol error: {}", self.reason())?;
        if let ProtocolError::ExpectedDollar(byte) = self {
            let byte = Self::shown_byte(*byte);
            if byte.is_ascii() {
                write!(f, "{}'", byte as char)?;
            } else {
                write!(f, "\\x{byte:02x}'")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn reply(e: ProtocolError) -> Vec<u8> {
        let mut out = Vec::new();
        e.write_reply(&mut out);
        out
    }

    #[test]
    fn display_is_redis_text_and_reply_adds_err() {
        let cases = [
            (ProtocolError::TooBigInline, "too big inline request"),
            (
                ProtocolError::UnbalancedQuotes,
                "unbalanced quotes in request",
            ),
            (
                ProtocolError::InvalidMultibulkLength,
                "invalid multibulk length",
            ),
            (
                ProtocolError::TooBigMultibulkCount,
                "too big mbulk count string",
            ),
            (ProtocolError::TooBigBulkCount, "too big bulk count string"),
            (ProtocolError::ExpectedDollar(b'x'), "expected '$', got 'x'"),
            (
                ProtocolError::ExpectedDollar(b'\r'),
                "expected '$', got ' '",
            ),
            (
                ProtocolError::ExpectedDollar(b'\n'),
                "expected '$', got ' '",
            ),
            (ProtocolError::InvalidBulkLength, "invalid bulk length"),
            (
                ProtocolError::UnauthenticatedMultibulkLength,
                "unauthenticated multibulk length",
            ),
            (
                ProtocolError::UnauthenticatedBulkLength,
                "unauthenticated bulk length",
            ),
            (
                ProtocolError::OutOfMemory,
                "not enough memory for the request",
            ),
        ];
        for (error, text) in cases {
            let text = alloc::format!("Protocol error: {text}");
            assert_eq!(error.to_string(), text);
            assert_eq!(reply(error), alloc::format!("-ERR {text}\r\n").into_bytes());
        }
    }

    #[test]
    fn a_non_ascii_byte_is_raw_on_the_wire_and_escaped_in_display() {
        let e = ProtocolError::ExpectedDollar(0xff);
        assert_eq!(e.to_string(), "Protocol error: expected '$', got '\\xff'");
        assert_eq!(
            reply(e),
            b"-ERR Protocol error: expected '$', got '\xff'\r\n"
        );
    }
}

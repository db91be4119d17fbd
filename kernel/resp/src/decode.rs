//! The client side: RESP2 and RESP3 reply frames read back into [`Frame`]s,
//! for tests and host tools that talk to a server. Strict (every line ends
//! in CRLF, numbers as Redis writes them) and whole-frame: it reads a frame
//! only once all of it is in the buffer, which suits a client that keeps
//! reading until [`decode`] stops saying "more".

use alloc::vec::Vec;
use core::fmt;

use crate::text::string2ll;

/// Nesting deeper than this is refused rather than recursed into, so a
/// hostile stream cannot exhaust the stack.
pub const MAX_DEPTH: usize = 64;

/// One reply as it came on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// `+text`
    Simple(Vec<u8>),
    /// `-CODE message`: the whole line after `-`.
    Error(Vec<u8>),
    /// `:n`
    Integer(i64),
    /// `$len` and the bytes.
    Bulk(Vec<u8>),
    /// RESP2's `$-1`.
    NilBulk,
    /// `*n` and the items.
    Array(Vec<Frame>),
    /// RESP2's `*-1`.
    NilArray,
    /// RESP3's `_`.
    Null,
    /// RESP3's `#t` / `#f`.
    Boolean(bool),
    /// RESP3's `,` double, as its text (`1.5`, `inf`, `nan`).
    Double(Vec<u8>),
    /// RESP3's `(` big number, as its digits.
    BigNumber(Vec<u8>),
    /// RESP3's `!len` error.
    BulkError(Vec<u8>),
    /// RESP3's `=len` verbatim string: the 3-byte format (`txt`, `mkd`) and
    /// the text after `format:`.
    Verbatim {
        /// The format before the colon.
        format: [u8; 3],
        /// The text after the colon.
        text: Vec<u8>,
    },
    /// RESP3's `%n` map.
    Map(Vec<(Frame, Frame)>),
    /// RESP3's `~n` set.
    Set(Vec<Frame>),
    /// RESP3's `|n` attributes, which precede the reply they describe.
    Attribute(Vec<(Frame, Frame)>),
    /// RESP3's `>n` push (pub/sub messages, invalidations).
    Push(Vec<Frame>),
}

/// A reply stream that is not RESP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// A frame starting with a byte that names no type.
    UnknownType(u8),
    /// A length or integer that is not a number as Redis writes one, or a
    /// negative length other than `-1` where a nil exists.
    BadNumber,
    /// A line or a bulk not followed by CRLF.
    BadLineEnd,
    /// `#` followed by other than `t` or `f`.
    BadBoolean,
    /// A verbatim string shorter than its `xxx:` format.
    BadVerbatim,
    /// Nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// The input of [`decode_all`] ends inside a frame.
    Truncated,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::UnknownType(b) => write!(f, "unknown RESP type byte 0x{b:02x}"),
            DecodeError::BadNumber => f.write_str("invalid number in RESP frame"),
            DecodeError::BadLineEnd => f.write_str("RESP line or bulk not ended by CRLF"),
            DecodeError::BadBoolean => f.write_str("RESP boolean other than #t or #f"),
            DecodeError::BadVerbatim => f.write_str("RESP verbatim string without its format"),
            DecodeError::TooDeep => write!(f, "RESP frame nested deeper than {MAX_DEPTH}"),
            DecodeError::Truncated => f.write_str("RESP stream ends inside a frame"),
        }
    }
}

/// Reads the first frame of `input`: `Ok(Some((frame, bytes used)))`, or
/// `Ok(None)` if the frame is not complete yet.
pub fn decode(input: &[u8]) -> Result<Option<(Frame, usize)>, DecodeError> {
    let mut reader = Reader { input, pos: 0 };
    Ok(reader.frame(0)?.map(|frame| (frame, reader.pos)))
}

/// Every frame of `input`, which must hold whole frames only.
pub fn decode_all(mut input: &[u8]) -> Result<Vec<Frame>, DecodeError> {
    let mut frames = Vec::new();
    while !input.is_empty() {
        match decode(input)? {
            Some((frame, used)) => {
                frames.push(frame);
                input = &input[used..];
            }
            None => return Err(DecodeError::Truncated),
        }
    }
    Ok(frames)
}

struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
}

/// `None` for "not all of it has come": threaded through with `?` inside
/// the `Result`.
type Step<T> = Result<Option<T>, DecodeError>;

macro_rules! ready {
    ($step:expr) => {
        match $step? {
            Some(value) => value,
            None => return Ok(None),
        }
    };
}

impl Reader<'_> {
    /// The rest of the current line, without its CRLF.
    fn line(&mut self) -> Step<&[u8]> {
        let rest = &self.input[self.pos..];
        let Some(cr) = rest.iter().position(|&b| b == b'\r') else {
            return Ok(None);
        };
        match rest.get(cr + 1) {
            None => Ok(None),
            Some(b'\n') => {
                self.pos += cr + 2;
                Ok(Some(&rest[..cr]))
            }
            Some(_) => Err(DecodeError::BadLineEnd),
        }
    }

    fn number(&mut self) -> Step<i64> {
        let line = ready!(self.line());
        string2ll(line).map(Some).ok_or(DecodeError::BadNumber)
    }

    /// A length: `None` inside for `-1` (a nil).
    fn length(&mut self) -> Step<Option<usize>> {
        match ready!(self.number()) {
            -1 => Ok(Some(None)),
            n => usize::try_from(n)
                .map(|n| Some(Some(n)))
                .map_err(|_| DecodeError::BadNumber),
        }
    }

    fn blob(&mut self, len: usize) -> Step<Vec<u8>> {
        let rest = &self.input[self.pos..];
        let Some(end) = len.checked_add(2).filter(|&end| end <= rest.len()) else {
            return Ok(None);
        };
        if &rest[len..end] != b"\r\n" {
            return Err(DecodeError::BadLineEnd);
        }
        self.pos += end;
        Ok(Some(rest[..len].to_vec()))
    }

    fn items(&mut self, n: usize, depth: usize) -> Step<Vec<Frame>> {
        // Each item takes at least 3 bytes, so the input bounds what a
        // count may make us reserve.
        let mut items = Vec::with_capacity(n.min(self.input.len() - self.pos));
        for _ in 0..n {
            items.push(ready!(self.frame(depth + 1)));
        }
        Ok(Some(items))
    }

    fn pairs(&mut self, n: usize, depth: usize) -> Step<Vec<(Frame, Frame)>> {
        let mut pairs = Vec::with_capacity(n.min(self.input.len() - self.pos));
        for _ in 0..n {
            let key = ready!(self.frame(depth + 1));
            let value = ready!(self.frame(depth + 1));
            pairs.push((key, value));
        }
        Ok(Some(pairs))
    }

    fn frame(&mut self, depth: usize) -> Step<Frame> {
        if depth > MAX_DEPTH {
            return Err(DecodeError::TooDeep);
        }
        let Some(&kind) = self.input.get(self.pos) else {
            return Ok(None);
        };
        self.pos += 1;
        let frame = match kind {
            b'+' => Frame::Simple(ready!(self.line()).to_vec()),
            b'-' => Frame::Error(ready!(self.line()).to_vec()),
            b':' => Frame::Integer(ready!(self.number())),
            b'_' => match ready!(self.line()) {
                b"" => Frame::Null,
                _ => return Err(DecodeError::BadLineEnd),
            },
            b'#' => match ready!(self.line()) {
                b"t" => Frame::Boolean(true),
                b"f" => Frame::Boolean(false),
                _ => return Err(DecodeError::BadBoolean),
            },
            b',' => Frame::Double(ready!(self.line()).to_vec()),
            b'(' => Frame::BigNumber(ready!(self.line()).to_vec()),
            b'$' => match ready!(self.length()) {
                None => Frame::NilBulk,
                Some(len) => Frame::Bulk(ready!(self.blob(len))),
            },
            b'!' | b'=' => {
                let len = ready!(self.length()).ok_or(DecodeError::BadNumber)?;
                let blob = ready!(self.blob(len));
                if kind == b'!' {
                    Frame::BulkError(blob)
                } else {
                    match blob.get(..4) {
                        Some(&[a, b, c, b':']) => Frame::Verbatim {
                            format: [a, b, c],
                            text: blob[4..].to_vec(),
                        },
                        _ => return Err(DecodeError::BadVerbatim),
                    }
                }
            }
            b'*' => match ready!(self.length()) {
                None => Frame::NilArray,
                Some(n) => Frame::Array(ready!(self.items(n, depth))),
            },
            b'~' | b'>' => {
                let n = ready!(self.length()).ok_or(DecodeError::BadNumber)?;
                let items = ready!(self.items(n, depth));
                if kind == b'~' {
                    Frame::Set(items)
                } else {
                    Frame::Push(items)
                }
            }
            b'%' | b'|' => {
                let n = ready!(self.length()).ok_or(DecodeError::BadNumber)?;
                let pairs = ready!(self.pairs(n, depth));
                if kind == b'%' {
                    Frame::Map(pairs)
                } else {
                    Frame::Attribute(pairs)
                }
            }
            other => return Err(DecodeError::UnknownType(other)),
        };
        Ok(Some(frame))
    }
}

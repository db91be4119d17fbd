//! Reading a store trace: each line into a [`Record`], checked against the
//! lines before it (a `B` belongs to an open `G` or `S`, a `V` to the `G` of
//! its key), with the line number of the first that is not right.

use alloc::borrow::Cow;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use super::{BlockKind, BlockRef, Found, Record};

/// What is wrong with a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// A record with the wrong number of fields.
    Fields {
        /// Its tag.
        tag: String,
        /// Fields it takes.
        want: usize,
        /// Fields it has.
        found: usize,
    },
    /// A key that is not an even number of hex digits.
    NotHex(String),
    /// A field that is not a decimal number.
    NotNumber(String),
    /// A block kind other than `d`, `i` or `f`.
    BadKind(String),
    /// A `B` with no `G` or `S` open.
    BlockOutside,
    /// A `V` that does not end a `G` of its key.
    StrayFound,
    /// A tag the format does not have.
    UnknownRecord(String),
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseErrorKind::Fields { tag, want, found } => write!(
                f,
                "`{tag}` needs {want} field{}, found {found}",
                if *want == 1 { "" } else { "s" }
            ),
            ParseErrorKind::NotHex(s) => write!(f, "key `{s}` is not hex"),
            ParseErrorKind::NotNumber(s) => write!(f, "`{s}` is not a number"),
            ParseErrorKind::BadKind(k) => write!(f, "block kind `{k}` is not d, i or f"),
            ParseErrorKind::BlockOutside => f.write_str("a block record outside a lookup or scan"),
            ParseErrorKind::StrayFound => {
                f.write_str("a V record that does not follow a G of the same key")
            }
            ParseErrorKind::UnknownRecord(t) => write!(f, "unknown record `{t}`"),
        }
    }
}

/// A line that is not right, and which.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub kind: ParseErrorKind,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.kind)
    }
}

impl core::error::Error for ParseError {}

/// What `B` and `V` records may attach to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Open {
    Nothing,
    /// A `G` (its key is in `Parser::get_key`) without its `V` yet.
    Get,
    Scan,
}

/// Reads a trace line by line (so a large one need not be in memory at
/// once). The header is a comment like any other: a caller that must know
/// the text is a store trace checks [`is_header`](super::is_header) itself.
#[derive(Clone, Debug)]
pub struct Parser {
    line: usize,
    open: Open,
    get_key: Vec<u8>,
}

impl Default for Parser {
    fn default() -> Self {
        Parser::new()
    }
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

impl Parser {
    /// At the first line.
    pub fn new() -> Parser {
        Parser {
            line: 0,
            open: Open::Nothing,
            get_key: Vec::new(),
        }
    }

    /// Lines read so far.
    pub fn lines(&self) -> usize {
        self.line
    }

    /// The next line (without its line end): its record, or `None` for a
    /// blank line or a comment.
    pub fn line(&mut self, text: &str) -> Result<Option<Record<'static>>, ParseError> {
        self.line += 1;
        let line = self.line;
        self.record(text).map_err(|kind| ParseError { line, kind })
    }

    fn record(&mut self, text: &str) -> Result<Option<Record<'static>>, ParseErrorKind> {
        if let Some(comment) = text.strip_prefix('#') {
            return Ok(comment
                .trim()
                .strip_prefix("phase ")
                .map(|name| Record::Phase(Cow::Owned(name.trim().to_string()))));
        }
        let fields: Vec<&str> = text.split_whitespace().collect();
        let Some((&tag, rest)) = fields.split_first() else {
            return Ok(None);
        };
        let want = |n: usize| {
            if rest.len() == n {
                Ok(())
            } else {
                Err(ParseErrorKind::Fields {
                    tag: tag.to_string(),
                    want: n,
                    found: rest.len(),
                })
            }
        };
        let key = |s: &str| decode_hex(s).ok_or_else(|| ParseErrorKind::NotHex(s.to_string()));
        let num = |s: &str| {
            s.parse::<u64>()
                .map_err(|_| ParseErrorKind::NotNumber(s.to_string()))
        };
        let record = match tag {
            "G" => {
                want(1)?;
                let k = key(rest[0])?;
                self.get_key.clone_from(&k);
                self.open = Open::Get;
                Record::Get { key: Cow::Owned(k) }
            }
            "S" => {
                want(2)?;
                let start = Cow::Owned(key(rest[0])?);
                let limit = num(rest[1])?;
                self.open = Open::Scan;
                Record::Scan { start, limit }
            }
            "W" => {
                want(1)?;
                let k = key(rest[0])?;
                self.open = Open::Nothing;
                Record::Write { key: Cow::Owned(k) }
            }
            "D" => {
                want(1)?;
                let table = num(rest[0])?;
                self.open = Open::Nothing;
                Record::DropTable { table }
            }
            "B" => {
                want(4)?;
                let kind = match rest[3] {
                    "d" => BlockKind::Data,
                    "i" => BlockKind::Index,
                    "f" => BlockKind::Filter,
                    k => return Err(ParseErrorKind::BadKind(k.to_string())),
                };
                let b = BlockRef {
                    table: num(rest[0])?,
                    offset: num(rest[1])?,
                    size: num(rest[2])?,
                    kind,
                };
                if self.open == Open::Nothing {
                    return Err(ParseErrorKind::BlockOutside);
                }
                Record::Block(b)
            }
            "V" => {
                want(5)?;
                let k = key(rest[0])?;
                let found = Found {
                    value_len: num(rest[1])?,
                    table: num(rest[2])?,
                    offset: num(rest[3])?,
                    size: num(rest[4])?,
                };
                if self.open != Open::Get || k != self.get_key {
                    return Err(ParseErrorKind::StrayFound);
                }
                // The lookup's block list ends at its V.
                self.open = Open::Nothing;
                Record::Found {
                    key: Cow::Owned(k),
                    found,
                }
            }
            other => return Err(ParseErrorKind::UnknownRecord(other.to_string())),
        };
        Ok(Some(record))
    }
}

/// Every record of a whole trace in memory.
pub fn parse(text: &str) -> Result<Vec<Record<'static>>, ParseError> {
    let mut p = Parser::new();
    let mut out = Vec::new();
    for line in text.lines() {
        out.extend(p.line(line)?);
    }
    Ok(out)
}

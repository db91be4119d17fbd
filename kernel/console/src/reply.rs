//! Rendering replies in redis-cli's forms, so the console and a later RESP
//! interface read alike and scripts can match them exactly.
//!
//! Every line ends with "\r\n": the serial line goes straight to a terminal,
//! which needs the CR to return to column 0.

use alloc::boxed::Box;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::{self, Write};

/// Bytes shown as themselves inside quotes (besides the escaped `"` and `\`).
pub(crate) fn is_printable(b: u8) -> bool {
    (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\'
}

/// Appends `bytes` escaped as inside quotes, without the quotes.
pub fn escape_into(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            _ if is_printable(b) => out.push(b as char),
            _ => {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
}

/// `bytes` in double quotes, escaped so that the result is printable ASCII
/// and [`crate::parse::split_args`] reads it back as the same bytes.
pub fn quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    escape_into(&mut out, bytes);
    out.push('"');
    out
}

/// One section of a [`Report`]: `# Name` then `field:value` lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Section {
    /// The name after `# `; empty for fields added before any section, which
    /// are printed without a header.
    pub name: String,
    /// `(field, value)` in the order added.
    pub fields: Vec<(String, String)>,
}

/// A report in the form of Redis' INFO: `# Section` lines, each followed by
/// `field:value` lines, a blank line between sections.
///
/// Built either by chaining (`Report::new().section("cache").field("hits", 3)`)
/// or in place (`report.add_section("cache"); report.add_field("hits", 3);`),
/// which suits loops. Names and values are kept on one line: a CR or LF in
/// them becomes a space, since a line break would forge a field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    sections: Vec<Section>,
}

fn one_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

impl Report {
    /// An empty report.
    pub fn new() -> Self {
        Report::default()
    }

    /// Starts a new section; later fields go into it.
    pub fn section(mut self, name: &str) -> Self {
        self.add_section(name);
        self
    }

    /// Adds a field to the current section.
    pub fn field(mut self, name: &str, value: impl fmt::Display) -> Self {
        self.add_field(name, value);
        self
    }

    /// Starts a new section in place; later fields go into it.
    pub fn add_section(&mut self, name: &str) -> &mut Self {
        self.sections.push(Section {
            name: one_line(name),
            fields: Vec::new(),
        });
        self
    }

    /// Adds a field to the current section in place.
    pub fn add_field(&mut self, name: &str, value: impl fmt::Display) -> &mut Self {
        if self.sections.is_empty() {
            self.sections.push(Section::default());
        }
        let value = one_line(&value.to_string());
        if let Some(section) = self.sections.last_mut() {
            section.fields.push((one_line(name), value));
        }
        self
    }

    /// Appends the sections of `other` (INFO with no argument is the
    /// concatenation of every service's report).
    pub fn append(&mut self, other: Report) {
        self.sections.extend(other.sections);
    }

    /// The sections, in order.
    pub fn sections(&self) -> &[Section] {
        &self.sections
    }

    /// The first section named `name`, ignoring ASCII case, as a report of its own.
    pub fn only(&self, name: &str) -> Option<Report> {
        self.sections
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
            .map(|s| Report {
                sections: alloc::vec![s.clone()],
            })
    }

    /// The value of the first field called `name`, in any section.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.sections
            .iter()
            .flat_map(|s| s.fields.iter())
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.as_str())
    }

    /// True if the report has no sections.
    pub fn is_empty(&self) -> bool {
        self.sections.is_empty()
    }
}

/// Everything a command can answer, in terms every front end can render:
/// the console as redis-cli prints replies, a network session as RESP2 or
/// RESP3 (the `resp` crate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Success with nothing to return: `OK`.
    Ok,
    /// A short status word other than OK (RESP's simple string): `PONG`,
    /// `QUEUED`.
    Status(String),
    /// A value, printed quoted: `"alice"`.
    Value(Vec<u8>),
    /// No value: `(nil)`.
    Nil,
    /// A count: `(integer) 3`.
    Integer(i64),
    /// Numbered lines, each a sequence of byte strings: `1) "key" "value"`;
    /// `(empty)` when there are none.
    List(Vec<Vec<Vec<u8>>>),
    /// `(error) ERR <message>`; the message says what went wrong and what to do.
    Error(String),
    /// An error with a code other than ERR, as Redis's `WRONGTYPE`,
    /// `NOAUTH`, `WRONGPASS`, `EXECABORT`: `(error) CODE <message>`. Boxed:
    /// a code and a message took 40 bytes, the other replies at most 32,
    /// and a reply that fits in 32 moves without a `memcpy` call (two a
    /// command, on a target that assumes strict alignment).
    Coded(Box<Coded>),
    /// Replies in order, each of any kind (RESP's array): numbered lines,
    /// nested ones indented, as redis-cli shows them; `(empty array)`.
    Array(Vec<Reply>),
    /// Pairs (RESP3's map; a flat array of key, value, ... in RESP2):
    /// `1# key => value` lines, as redis-cli shows RESP3 maps.
    Map(Vec<(Reply, Reply)>),
    /// No array at all (RESP2's `*-1`: an EXEC whose WATCHed keys changed):
    /// `(nil)`.
    NilArray,
    /// A report in INFO's form.
    Report(Report),
    /// Free text (HELP, LOG), printed as is with line ends made "\r\n".
    Text(String),
    /// The user stopped the command (Ctrl-C) at a safe point: `(interrupted)`.
    Interrupted,
}

/// [`Reply::Coded`]'s error: its code and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coded {
    /// The code that starts the error line: `WRONGTYPE`, `NOAUTH`, ...
    pub code: &'static str,
    /// What went wrong, after the code.
    pub message: String,
}

impl Reply {
    /// An error reply with a code other than ERR.
    pub fn coded(code: &'static str, message: impl Into<String>) -> Self {
        Reply::Coded(Box::new(Coded {
            code,
            message: message.into(),
        }))
    }

    /// An error reply from anything printable.
    pub fn error(message: impl fmt::Display) -> Self {
        Reply::Error(message.to_string())
    }

    /// A value reply from a string's bytes.
    pub fn bulk(text: impl Into<Vec<u8>>) -> Self {
        Reply::Value(text.into())
    }

    /// Whether it is an error of any code.
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_) | Reply::Coded(..))
    }
}

impl From<Report> for Reply {
    fn from(report: Report) -> Self {
        Reply::Report(report)
    }
}

/// Writes `text` with every line ended by "\r\n", whether it came with "\n",
/// "\r\n" or no line end at all; empty text writes nothing.
fn write_lines(text: &str, out: &mut dyn Write) -> fmt::Result {
    if text.is_empty() {
        return Ok(());
    }
    let body = text.strip_suffix('\n').unwrap_or(text);
    for line in body.split('\n') {
        out.write_str(line.strip_suffix('\r').unwrap_or(line))?;
        out.write_str("\r\n")?;
    }
    Ok(())
}

/// Writes `reply` in its exact console form; every line ends with "\r\n".
pub fn render(reply: &Reply, out: &mut dyn Write) -> fmt::Result {
    match reply {
        Reply::Array(_) | Reply::Map(_) => {
            let mut text = String::new();
            nested(reply, 0, &mut text);
            out.write_str(&text)
        }
        Reply::Ok => out.write_str("OK\r\n"),
        Reply::Status(word) => write_lines(word, out),
        Reply::Coded(e) => {
            write!(out, "(error) {} ", e.code)?;
            write_lines(&e.message, out)
        }
        Reply::NilArray => out.write_str("(nil)\r\n"),
        Reply::Value(value) => {
            out.write_str(&quote(value))?;
            out.write_str("\r\n")
        }
        Reply::Nil => out.write_str("(nil)\r\n"),
        Reply::Integer(n) => write!(out, "(integer) {n}\r\n"),
        Reply::List(items) if items.is_empty() => out.write_str("(empty)\r\n"),
        Reply::List(items) => {
            for (i, item) in items.iter().enumerate() {
                write!(out, "{})", i + 1)?;
                for part in item {
                    out.write_char(' ')?;
                    out.write_str(&quote(part))?;
                }
                out.write_str("\r\n")?;
            }
            Ok(())
        }
        Reply::Error(message) => {
            out.write_str("(error) ")?;
            if !message.starts_with("ERR ") {
                out.write_str("ERR ")?;
            }
            write_lines(message, out)
        }
        Reply::Report(report) => {
            for (i, section) in report.sections.iter().enumerate() {
                if i > 0 {
                    out.write_str("\r\n")?;
                }
                if !section.name.is_empty() {
                    write!(out, "# {}\r\n", section.name)?;
                }
                for (field, value) in &section.fields {
                    write!(out, "{field}:{value}\r\n")?;
                }
            }
            Ok(())
        }
        Reply::Text(text) => write_lines(text, out),
        Reply::Interrupted => out.write_str("(interrupted)\r\n"),
    }
}

/// redis-cli's layout of arrays and maps: each element after `N) ` (or
/// `N# key => ` for a map), numbers right-aligned to the widest, and the
/// element's later lines indented to line up under its first.
fn nested(reply: &Reply, indent: usize, out: &mut String) {
    let items: Vec<(String, &Reply)> = match reply {
        Reply::Array(items) if items.is_empty() => {
            out.push_str("(empty array)\r\n");
            return;
        }
        Reply::Map(pairs) if pairs.is_empty() => {
            out.push_str("(empty hash)\r\n");
            return;
        }
        Reply::Array(items) => {
            let width = items.len().to_string().len();
            items
                .iter()
                .enumerate()
                .map(|(i, item)| (alloc::format!("{:>width$}) ", i + 1), item))
                .collect()
        }
        Reply::Map(pairs) => {
            let width = pairs.len().to_string().len();
            pairs
                .iter()
                .enumerate()
                .map(|(i, (k, v))| {
                    let mut key = String::new();
                    let _ = render(k, &mut key);
                    let key = key.trim_end_matches("\r\n").to_string();
                    (alloc::format!("{:>width$}# {key} => ", i + 1), v)
                })
                .collect()
        }
        other => {
            let _ = render(other, out);
            return;
        }
    };
    for (n, (label, item)) in items.into_iter().enumerate() {
        if n > 0 {
            out.extend(core::iter::repeat_n(' ', indent));
        }
        out.push_str(&label);
        let mut inner = String::new();
        match item {
            Reply::Array(_) | Reply::Map(_) => nested(item, indent + label.len(), &mut inner),
            other => {
                let _ = render(other, &mut inner);
            }
        }
        out.push_str(&inner);
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        render(self, f)
    }
}

#[cfg(test)]
mod tests;

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
mod tests {
    use super::*;
    use crate::parse::split_args;
    use alloc::vec;

    fn shown(reply: &Reply) -> String {
        let mut s = String::new();
        render(reply, &mut s).unwrap();
        assert_eq!(s, reply.to_string());
        s
    }

    #[test]
    fn quote_keeps_printable_ascii_and_escapes_the_rest() {
        assert_eq!(quote(b"alice"), r#""alice""#);
        assert_eq!(quote(b""), r#""""#);
        assert_eq!(quote(b"a b~!"), r#""a b~!""#);
        assert_eq!(quote(b"say \"hi\""), r#""say \"hi\"""#);
        assert_eq!(quote(b"C:\\dir"), r#""C:\\dir""#);
        assert_eq!(quote(b"\n\r\t"), r#""\n\r\t""#);
        assert_eq!(quote(b"\x00\x1b\x7f\x80\xff"), r#""\x00\x1b\x7f\x80\xff""#);
        assert_eq!(quote("é".as_bytes()), r#""\xc3\xa9""#);
    }

    #[test]
    fn ok_nil_integer() {
        assert_eq!(shown(&Reply::Ok), "OK\r\n");
        assert_eq!(shown(&Reply::Nil), "(nil)\r\n");
        assert_eq!(shown(&Reply::Integer(3)), "(integer) 3\r\n");
        assert_eq!(shown(&Reply::Integer(0)), "(integer) 0\r\n");
        assert_eq!(shown(&Reply::Integer(-7)), "(integer) -7\r\n");
        assert_eq!(
            shown(&Reply::Integer(i64::MIN)),
            "(integer) -9223372036854775808\r\n"
        );
    }

    #[test]
    fn value_is_quoted() {
        assert_eq!(shown(&Reply::Value(b"alice".to_vec())), "\"alice\"\r\n");
        assert_eq!(shown(&Reply::Value(b"a\nb".to_vec())), "\"a\\nb\"\r\n");
        assert_eq!(shown(&Reply::Value(Vec::new())), "\"\"\r\n");
    }

    #[test]
    fn list_items_are_numbered_and_quoted() {
        let list = Reply::List(vec![
            vec![b"key".to_vec(), b"value".to_vec()],
            vec![b"k 2".to_vec(), b"\x00".to_vec()],
        ]);
        assert_eq!(
            shown(&list),
            "1) \"key\" \"value\"\r\n2) \"k 2\" \"\\x00\"\r\n"
        );
        assert_eq!(
            shown(&Reply::List(vec![vec![b"one".to_vec()]])),
            "1) \"one\"\r\n"
        );
        assert_eq!(shown(&Reply::List(vec![vec![]])), "1)\r\n");
        let many = Reply::List((0..11).map(|i| vec![vec![b'a' + i]]).collect());
        assert!(shown(&many).ends_with("10) \"j\"\r\n11) \"k\"\r\n"));
    }

    #[test]
    fn empty_list() {
        assert_eq!(shown(&Reply::List(Vec::new())), "(empty)\r\n");
    }

    #[test]
    fn error_gets_one_err_prefix() {
        assert_eq!(
            shown(&Reply::error("no such key")),
            "(error) ERR no such key\r\n"
        );
        assert_eq!(
            shown(&Reply::Error("ERR disk full".into())),
            "(error) ERR disk full\r\n"
        );
        // "ERRATIC" is not the prefix.
        assert_eq!(shown(&Reply::error("ERRATIC")), "(error) ERR ERRATIC\r\n");
        assert_eq!(shown(&Reply::error("a\nb")), "(error) ERR a\r\nb\r\n");
    }

    #[test]
    fn report_sections_and_fields() {
        let report = Report::new()
            .section("Server")
            .field("version", "0.1.0")
            .field("uptime_ms", 1234)
            .section("Cache")
            .field("hit_ratio", 0.5)
            .field("policy", "arc");
        assert_eq!(
            shown(&Reply::Report(report.clone())),
            "# Server\r\nversion:0.1.0\r\nuptime_ms:1234\r\n\r\n\
             # Cache\r\nhit_ratio:0.5\r\npolicy:arc\r\n"
        );
        assert_eq!(report.get("uptime_ms"), Some("1234"));
        assert_eq!(report.get("nope"), None);
        assert_eq!(
            shown(&report.only("cache").unwrap().into()),
            "# Cache\r\nhit_ratio:0.5\r\npolicy:arc\r\n"
        );
        assert!(report.only("storage").is_none());
    }

    #[test]
    fn report_built_in_place() {
        let mut report = Report::new();
        assert!(report.is_empty());
        assert_eq!(shown(&Reply::Report(report.clone())), "");
        for level in 0..2 {
            report.add_section(&alloc::format!("Level {level}"));
            report
                .add_field("tables", level * 2)
                .add_field("bytes", 4096);
        }
        let mut more = Report::new();
        more.add_section("Empty");
        report.append(more);
        assert_eq!(report.sections().len(), 3);
        assert_eq!(
            shown(&Reply::Report(report)),
            "# Level 0\r\ntables:0\r\nbytes:4096\r\n\r\n\
             # Level 1\r\ntables:2\r\nbytes:4096\r\n\r\n# Empty\r\n"
        );
    }

    #[test]
    fn report_fields_before_a_section_and_line_breaks() {
        let report = Report::new()
            .field("workload", "fillseq")
            .field("note", "a\r\nb");
        assert_eq!(shown(&report.into()), "workload:fillseq\r\nnote:a  b\r\n");
    }

    #[test]
    fn text_lines_end_with_crlf() {
        assert_eq!(shown(&Reply::Text("a\nb\n".into())), "a\r\nb\r\n");
        assert_eq!(shown(&Reply::Text("a\r\nb".into())), "a\r\nb\r\n");
        assert_eq!(shown(&Reply::Text("one".into())), "one\r\n");
        assert_eq!(shown(&Reply::Interrupted), "(interrupted)\r\n");
    }

    #[test]
    fn redis_cli_forms_of_statuses_codes_arrays_and_maps() {
        assert_eq!(shown(&Reply::Status("PONG".into())), "PONG\r\n");
        assert_eq!(
            shown(&Reply::coded("WRONGPASS", "invalid username-password pair")),
            "(error) WRONGPASS invalid username-password pair\r\n"
        );
        assert_eq!(shown(&Reply::NilArray), "(nil)\r\n");
        assert_eq!(shown(&Reply::Array(vec![])), "(empty array)\r\n");
        assert_eq!(shown(&Reply::Map(vec![])), "(empty hash)\r\n");
        // As redis-cli prints `SCAN 0` and nested replies.
        let scan = Reply::Array(vec![
            Reply::bulk("0"),
            Reply::Array(vec![Reply::bulk("a"), Reply::bulk("b")]),
        ]);
        assert_eq!(shown(&scan), "1) \"0\"\r\n2) 1) \"a\"\r\n   2) \"b\"\r\n");
        let ten = Reply::Array((1..=10).map(Reply::Integer).collect());
        let text = shown(&ten);
        assert!(
            text.starts_with(" 1) (integer) 1\r\n 2) (integer) 2\r\n"),
            "{text}"
        );
        assert!(text.ends_with("10) (integer) 10\r\n"), "{text}");
        let hello = Reply::Map(vec![
            (Reply::bulk("server"), Reply::bulk("redis")),
            (Reply::bulk("proto"), Reply::Integer(3)),
            (Reply::bulk("modules"), Reply::Array(vec![])),
        ]);
        assert_eq!(
            shown(&hello),
            "1# \"server\" => \"redis\"\r\n2# \"proto\" => (integer) 3\r\n3# \"modules\" => (empty array)\r\n"
        );
        assert_eq!(shown(&Reply::Text("a\n\nb\n".into())), "a\r\n\r\nb\r\n");
        assert_eq!(shown(&Reply::Text("\n".into())), "\r\n");
        assert_eq!(shown(&Reply::Text(String::new())), "");
    }

    /// xorshift64: deterministic, so a failure reproduces.
    fn rng(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    const TRICKY: &[u8] = b" \"\\\n\r\txX0aF\x00\xff";

    #[test]
    fn quote_and_split_args_round_trip_random_bytes() {
        let mut seed = 0x2545_f491_4f6c_dd1d;
        for _ in 0..5000 {
            let len = (rng(&mut seed) % 40) as usize;
            // Mix fully random bytes with ones biased to the tricky set.
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    let r = rng(&mut seed);
                    if r.is_multiple_of(3) {
                        TRICKY[(r >> 8) as usize % TRICKY.len()]
                    } else {
                        (r >> 16) as u8
                    }
                })
                .collect();
            let quoted = quote(&bytes);
            assert!(
                quoted.bytes().all(|b| (0x20..0x7f).contains(&b)),
                "{quoted}"
            );
            assert_eq!(
                split_args(quoted.as_bytes()),
                Ok(vec![bytes.clone()]),
                "{quoted}"
            );
        }
    }

    #[test]
    fn several_quoted_arguments_round_trip() {
        let mut seed = 77;
        for _ in 0..1000 {
            let args: Vec<Vec<u8>> = (0..(rng(&mut seed) % 6))
                .map(|_| {
                    (0..(rng(&mut seed) % 10))
                        .map(|_| rng(&mut seed) as u8)
                        .collect()
                })
                .collect();
            let mut line = String::new();
            for (i, arg) in args.iter().enumerate() {
                if i > 0 {
                    line.push_str(if i % 2 == 0 { " " } else { " \t " });
                }
                line.push_str(&quote(arg));
            }
            assert_eq!(split_args(line.as_bytes()), Ok(args), "{line}");
        }
    }
}

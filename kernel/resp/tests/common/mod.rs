//! The table of requests and what Redis 7.0 makes of them, shared by
//! `requests.rs` (our parser must agree) and `reference.rs` (a real
//! `redis-server` must agree), so every expectation here has been checked
//! against Redis itself.

#![allow(dead_code)]

use resp::{Limits, Parsed, ProtocolError, RequestParser};

/// The limits the table is written for; `reference.rs` starts its server
/// with the same `proto-max-bulk-len` (Redis's smallest, 1 MiB).
pub const LIMITS: Limits = Limits {
    proto_max_bulk_len: 1024 * 1024,
    ..Limits::REDIS
};

/// Redis's read size (`PROTO_IOBUF_LEN`): the table feeds the parser in
/// reads of this size, as Redis reads a socket.
pub const READ: usize = 16 * 1024;

/// How a case's input ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Between requests.
    Idle,
    /// Inside a request that is not complete.
    Waiting,
    /// A protocol error: Redis replies with it and closes.
    Error(ProtocolError),
}

pub struct Case {
    pub name: &'static str,
    pub input: Vec<u8>,
    /// Whether the server requires a password (the client never gives it).
    pub auth: bool,
    pub commands: Vec<Vec<Vec<u8>>>,
    pub end: End,
}

fn case(name: &'static str, input: &[u8], commands: &[&[&[u8]]], end: End) -> Case {
    Case {
        name,
        input: input.to_vec(),
        auth: false,
        commands: commands
            .iter()
            .map(|c| c.iter().map(|a| a.to_vec()).collect())
            .collect(),
        end,
    }
}

fn big(name: &'static str, input: Vec<u8>, commands: Vec<Vec<Vec<u8>>>, end: End) -> Case {
    Case {
        name,
        input,
        auth: false,
        commands,
        end,
    }
}

fn unauth(mut c: Case) -> Case {
    c.auth = true;
    c
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

use End::{Idle, Waiting};
use ProtocolError::*;

const fn err(e: ProtocolError) -> End {
    End::Error(e)
}

pub fn table() -> Vec<Case> {
    let a = |n: usize| vec![b'a'; n];
    let ones = |n: usize| vec![b'1'; n];
    vec![
        // Inline requests.
        case("inline crlf", b"PING\r\n", &[&[b"PING"]], Idle),
        case("inline lf alone", b"PING\n", &[&[b"PING"]], Idle),
        case(
            "inline args",
            b"ping  a\tb \r\n",
            &[&[b"ping", b"a", b"b"]],
            Idle,
        ),
        case("double quotes", b"x \"b c\"\r\n", &[&[b"x", b"b c"]], Idle),
        case("single quotes", b"x 'b c'\r\n", &[&[b"x", b"b c"]], Idle),
        case(
            "double-quote escapes",
            b"echo \"\\n\\r\\t\\b\\a\\\\\\\"\\x41\\xfF\\xzz\\q\"\r\n",
            &[&[b"echo", b"\n\r\t\x08\x07\\\"A\xffxzzq"]],
            Idle,
        ),
        case(
            "single-quote escapes",
            b"echo 'a\\'b\\n\"'\r\n",
            &[&[b"echo", b"a'b\\n\""]],
            Idle,
        ),
        case("empty quotes", b"x \"\" ''\r\n", &[&[b"x", b"", b""]], Idle),
        case(
            "quote mid-token",
            b"x ab\"c d\"\r\n",
            &[&[b"x", b"abc d"]],
            Idle,
        ),
        case(
            "text after quote",
            b"x \"a\"b\r\n",
            &[],
            err(UnbalancedQuotes),
        ),
        case(
            "text after single quote",
            b"x 'a'b\r\n",
            &[],
            err(UnbalancedQuotes),
        ),
        case(
            "unclosed double",
            b"x \"abc\r\n",
            &[],
            err(UnbalancedQuotes),
        ),
        case("unclosed single", b"x 'abc\n", &[], err(UnbalancedQuotes)),
        case(
            "escaped last quote",
            b"x \"abc\\\"\r\n",
            &[],
            err(UnbalancedQuotes),
        ),
        case(
            "empty lines skipped",
            b"\r\n\n  \r\n\t\nPING\r\n",
            &[&[b"PING"]],
            Idle,
        ),
        case(
            "vtab inside token",
            b"x a\x0bb\r\n",
            &[&[b"x", b"a\x0bb"]],
            Idle,
        ),
        case(
            "vtab before token",
            b"x \x0b\x0cb\r\n",
            &[&[b"x", b"b"]],
            Idle,
        ),
        case(
            "inner cr splits",
            b"x a\rb\r\n",
            &[&[b"x", b"a", b"b"]],
            Idle,
        ),
        case("one cr dropped", b"x a\r\r\n", &[&[b"x", b"a"]], Idle),
        case("inline no lf", b"PING\r", &[], Waiting),
        case(
            "short hex escape",
            b"echo \"a\\x4\"\r\n",
            &[&[b"echo", b"ax4"]],
            Idle,
        ),
        case(
            "backslash ends the line",
            b"x \"ab\\\r\n",
            &[],
            err(UnbalancedQuotes),
        ),
        case(
            "backslash in single quotes",
            b"echo 'a\\b'\r\n",
            &[&[b"echo", b"a\\b"]],
            Idle,
        ),
        case(
            "vtab after closing quote",
            b"x \"a\"\x0bb\r\n",
            &[&[b"x", b"a", b"b"]],
            Idle,
        ),
        case(
            "unquoted backslash is a byte",
            b"echo a\\nb\r\n",
            &[&[b"echo", b"a\\nb"]],
            Idle,
        ),
        case(
            "raw high bytes",
            b"echo \xff\xfe\x01\r\n",
            &[&[b"echo", b"\xff\xfe\x01"]],
            Idle,
        ),
        case(
            "raw cr inside quotes",
            b"echo \"a\rb\"\r\n",
            &[&[b"echo", b"a\rb"]],
            Idle,
        ),
        case("two crs before lf", b"PING\r\r\n", &[&[b"PING"]], Idle),
        case(
            "glued empty quotes",
            b"x \"\"y\r\n",
            &[],
            err(UnbalancedQuotes),
        ),
        case(
            "space after last quote",
            b"x \"a\" \r\n",
            &[&[b"x", b"a"]],
            Idle,
        ),
        case("nul hides the end", b"x a\0b\r\nPING\r\n", &[], Waiting),
        case(
            "dollar as inline",
            b"$3\r\nfoo\r\n",
            &[&[b"$3"], &[b"foo"]],
            Idle,
        ),
        big("inline at limit", a(65536), vec![], Waiting),
        big("inline over limit", a(65537), vec![], err(TooBigInline)),
        big(
            "long line ending in the same read",
            cat(&[&a(70000), b"\n"]),
            vec![vec![a(70000)]],
            Idle,
        ),
        big(
            "nul hides the end until too big",
            cat(&[b"x\0\r\n", &a(65533)]),
            vec![],
            err(TooBigInline),
        ),
        // Multibulk requests.
        case("multibulk", b"*1\r\n$4\r\nPING\r\n", &[&[b"PING"]], Idle),
        case(
            "empty bulk",
            b"*2\r\n$4\r\nECHO\r\n$0\r\n\r\n",
            &[&[b"ECHO", b""]],
            Idle,
        ),
        case(
            "binary bulk",
            b"*2\r\n$4\r\necho\r\n$5\r\n\0\r\n\xff \r\n",
            &[&[b"echo", b"\0\r\n\xff "]],
            Idle,
        ),
        case(
            "zero and negative counts skipped",
            b"*0\r\n*-1\r\n*-5\r\n*-9223372036854775808\r\nPING\r\n",
            &[&[b"PING"]],
            Idle,
        ),
        case("empty count", b"*\r\n", &[], err(InvalidMultibulkLength)),
        case("letter count", b"*x\r\n", &[], err(InvalidMultibulkLength)),
        case(
            "leading zero count",
            b"*01\r\n",
            &[],
            err(InvalidMultibulkLength),
        ),
        case("plus count", b"*+1\r\n", &[], err(InvalidMultibulkLength)),
        case("space count", b"*1 \r\n", &[], err(InvalidMultibulkLength)),
        case(
            "minus zero count",
            b"*-0\r\n",
            &[],
            err(InvalidMultibulkLength),
        ),
        case(
            "count over INT_MAX",
            b"*2147483648\r\n",
            &[],
            err(InvalidMultibulkLength),
        ),
        case(
            "count INT_MAX",
            b"*2147483647\r\n$4\r\nPING\r\n",
            &[],
            Waiting,
        ),
        case(
            "plus bulk length",
            b"*1\r\n$+4\r\n",
            &[],
            err(InvalidBulkLength),
        ),
        case(
            "space bulk length",
            b"*1\r\n$4 \r\n",
            &[],
            err(InvalidBulkLength),
        ),
        case(
            "zero-led bulk length",
            b"*1\r\n$04\r\n",
            &[],
            err(InvalidBulkLength),
        ),
        case(
            "i64::MAX bulk length",
            b"*1\r\n$9223372036854775807\r\n",
            &[],
            err(InvalidBulkLength),
        ),
        case(
            "overflowing bulk length",
            b"*1\r\n$99999999999999999999\r\n",
            &[],
            err(InvalidBulkLength),
        ),
        case("lf-only headers", b"*1\n$4\nPING\n", &[], Waiting),
        case("missing bulks", b"*3\r\n$1\r\na\r\n", &[], Waiting),
        case(
            "bad bulk length",
            b"*1\r\n$x\r\n",
            &[],
            err(InvalidBulkLength),
        ),
        case(
            "empty bulk length",
            b"*1\r\n$\r\n",
            &[],
            err(InvalidBulkLength),
        ),
        case(
            "negative bulk length",
            b"*1\r\n$-1\r\n",
            &[],
            err(InvalidBulkLength),
        ),
        case(
            "bulk over limit",
            b"*1\r\n$1048577\r\n",
            &[],
            err(InvalidBulkLength),
        ),
        case("bulk at limit", b"*1\r\n$1048576\r\nab", &[], Waiting),
        case(
            "no dollar",
            b"*1\r\nfoo\r\n",
            &[],
            err(ExpectedDollar(b'f')),
        ),
        case(
            "cr for dollar",
            b"*1\r\n\r\n",
            &[],
            err(ExpectedDollar(b'\r')),
        ),
        case(
            "lf for dollar",
            b"*1\r\n\nfoo\r\n",
            &[],
            err(ExpectedDollar(b'\n')),
        ),
        case(
            "star for dollar",
            b"*1\r\n*1\r\n",
            &[],
            err(ExpectedDollar(b'*')),
        ),
        case(
            "high byte for dollar",
            b"*1\r\n\xff\r\n",
            &[],
            err(ExpectedDollar(0xff)),
        ),
        case(
            "any byte after cr",
            b"*1\rX$4\rYPING\r\n",
            &[&[b"PING"]],
            Idle,
        ),
        case(
            "bulk trailer unread",
            b"*1\r\n$4\r\nPINGxyPING\r\n",
            &[&[b"PING"], &[b"PING"]],
            Idle,
        ),
        case("bulk incomplete", b"*1\r\n$4\r\nPIN", &[], Waiting),
        case("trailer incomplete", b"*1\r\n$4\r\nPING\r", &[], Waiting),
        case("header cr last", b"*1\r", &[], Waiting),
        case("bulk header without cr", b"*1\r\nfoo", &[], Waiting),
        case("nul in count", b"*1\0\r\n$4\r\nPING\r\n", &[], Waiting),
        big(
            "count at limit",
            cat(&[b"*", &ones(65535)]),
            vec![],
            Waiting,
        ),
        big(
            "count over limit",
            cat(&[b"*", &ones(65536)]),
            vec![],
            err(TooBigMultibulkCount),
        ),
        big(
            "bulk header at limit",
            cat(&[b"*1\r\n$", &ones(65535)]),
            vec![],
            Waiting,
        ),
        big(
            "bulk header over limit",
            cat(&[b"*1\r\n$", &ones(65536)]),
            vec![],
            err(TooBigBulkCount),
        ),
        big(
            "nul in bulk header until too big",
            cat(&[b"*1\r\n$1\0\r\n", &a(65532)]),
            vec![],
            err(TooBigBulkCount),
        ),
        big(
            "value of 100000 bytes",
            cat(&[b"*2\r\n$4\r\necho\r\n$100000\r\n", &a(100000), b"\r\n"]),
            vec![vec![b"echo".to_vec(), a(100000)]],
            Idle,
        ),
        // Pipelines.
        case(
            "pipeline of both kinds",
            b"PING\r\n*1\r\n$4\r\nPING\r\nPING\n*2\r\n$4\r\nECHO\r\n$1\r\nx\r\n",
            &[&[b"PING"], &[b"PING"], &[b"PING"], &[b"ECHO", b"x"]],
            Idle,
        ),
        case(
            "error after commands",
            b"PING\r\n*1\r\n$4\r\nPING\r\n*1\r\n$x\r\nPING\r\n",
            &[&[b"PING"], &[b"PING"]],
            err(InvalidBulkLength),
        ),
        // Before authentication.
        unauth(case(
            "unauth count",
            b"*11\r\n",
            &[],
            err(UnauthenticatedMultibulkLength),
        )),
        unauth(case("unauth count 10", b"*10\r\n", &[], Waiting)),
        unauth(case(
            "unauth bulk",
            b"*1\r\n$16385\r\n",
            &[],
            err(UnauthenticatedBulkLength),
        )),
        unauth(case(
            "unauth bulk 16384",
            b"*2\r\n$4\r\nPING\r\n$16384\r\n",
            &[],
            Waiting,
        )),
        unauth(case("unauth ping", b"PING\r\n", &[&[b"PING"]], Idle)),
    ]
}

/// What the parser makes of `input` fed `read` bytes at a time: the
/// commands and how the stream ends.
pub fn run(limits: Limits, auth: bool, input: &[u8], read: usize) -> (Vec<Vec<Vec<u8>>>, End) {
    let read = read.max(1);
    let cuts: Vec<usize> = (read..input.len()).step_by(read).collect();
    feed(limits, auth, input, &cuts)
}

/// What the parser makes of `input` cut into reads at `cuts` (offsets in
/// any order; those past the end are ignored), each command's arguments
/// given back to it once read.
pub fn feed(limits: Limits, auth: bool, input: &[u8], cuts: &[usize]) -> (Vec<Vec<Vec<u8>>>, End) {
    let mut cuts: Vec<usize> = cuts.iter().copied().filter(|&c| c < input.len()).collect();
    cuts.push(input.len());
    cuts.sort_unstable();
    let mut parser = RequestParser::new(limits);
    parser.set_auth_required(auth);
    let mut commands = Vec::new();
    let mut at = 0;
    for cut in cuts {
        let mut rest = &input[at..cut];
        at = cut;
        loop {
            match parser.parse(rest) {
                Ok(Parsed::Command { argv, consumed }) => {
                    assert!(!argv.is_empty());
                    assert!(consumed > 0 && consumed <= rest.len());
                    // As a connection does: the buffers go back for the
                    // next requests.
                    parser.recycle(argv.clone());
                    commands.push(argv);
                    rest = &rest[consumed..];
                }
                Ok(Parsed::NeedMore) => break,
                Err(e) => return (commands, End::Error(e)),
            }
        }
    }
    let end = if parser.is_idle() {
        End::Idle
    } else {
        End::Waiting
    };
    (commands, end)
}

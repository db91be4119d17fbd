//! Properties of the request parser over random input: what is sent comes
//! back however the stream is cut into reads, a stream cut anywhere only
//! waits, nothing panics or makes up a command, and limits refuse a
//! request from its header.

use proptest::prelude::*;
use resp::{Limits, Parsed, ProtocolError, RequestParser};

mod common;

use common::End;

type Argv = Vec<Vec<u8>>;

fn feed(limits: Limits, input: &[u8], cuts: &[usize]) -> (Vec<Argv>, End) {
    common::feed(limits, false, input, cuts)
}

fn multibulk(argv: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", argv.len()).into_bytes();
    for arg in argv {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Redis's `sdscatrepr`: an argument quoted so `sdssplitargs` reads it back.
fn repr(arg: &[u8]) -> Vec<u8> {
    let mut out = b"\"".to_vec();
    for &b in arg {
        match b {
            b'\\' | b'"' => out.extend_from_slice(&[b'\\', b]),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(b),
            _ => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
        }
    }
    out.push(b'"');
    out
}

/// An inline line for `argv`: plain where the argument allows it, quoted
/// otherwise, separated by runs of blanks.
fn inline(argv: &[Vec<u8>], blanks: &[u8], lf_only: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, arg) in argv.iter().enumerate() {
        if i > 0 {
            let run = usize::from(blanks.get(i % blanks.len().max(1)).copied().unwrap_or(1));
            out.extend((0..1 + run % 3).map(|k| if (run + k) % 2 == 0 { b' ' } else { b'\t' }));
        }
        // A first argument starting with `*` would make a multibulk.
        let starts_multibulk = i == 0 && arg.first() == Some(&b'*');
        let plain = !arg.is_empty()
            && !starts_multibulk
            && arg
                .iter()
                .all(|&b| b.is_ascii_graphic() && b != b'"' && b != b'\'');
        if plain {
            out.extend_from_slice(arg);
        } else {
            out.extend_from_slice(&repr(arg));
        }
    }
    out.extend_from_slice(if lf_only { b"\n" } else { b"\r\n" });
    out
}

fn arg() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 0..24),
        2 => proptest::collection::vec(prop::sample::select(&b"ab\r\n\0 \"'\\$*x"[..]), 0..12),
        1 => proptest::collection::vec(any::<u8>(), 0..2000),
    ]
}

fn argv() -> impl Strategy<Value = Argv> {
    proptest::collection::vec(arg(), 1..6)
}

/// A stream of commands, each sent as multibulk or inline, with the offset
/// where each one's request ends.
fn stream() -> impl Strategy<Value = (Vec<Argv>, Vec<u8>, Vec<usize>)> {
    proptest::collection::vec(
        (argv(), 0u8..4, proptest::collection::vec(any::<u8>(), 1..4)),
        1..6,
    )
    .prop_map(|commands| {
        let mut bytes = Vec::new();
        let mut ends = Vec::new();
        let mut sent = Vec::new();
        for (argv, form, blanks) in commands {
            match form {
                0 | 1 => bytes.extend_from_slice(&multibulk(&argv)),
                _ => bytes.extend_from_slice(&inline(&argv, &blanks, form == 3)),
            }
            ends.push(bytes.len());
            sent.push(argv);
        }
        (sent, bytes, ends)
    })
}

fn cuts() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(0usize..20000, 0..40)
}

/// Bytes that look like requests more often than random ones would.
fn noise() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            3 => prop::sample::select(&b"*$\r\n0123-9 \"'\\xab\0\t"[..]),
            1 => any::<u8>(),
        ],
        0..400,
    )
}

proptest! {
    #[test]
    fn what_is_sent_comes_back_in_any_reads((sent, bytes, _ends) in stream(), cuts in cuts()) {
        prop_assert_eq!(feed(Limits::REDIS, &bytes, &cuts), (sent, End::Idle));
    }

    #[test]
    fn a_stream_cut_anywhere_waits((sent, bytes, ends) in stream(), cut in any::<prop::sample::Index>(), cuts in cuts()) {
        let cut = cut.index(bytes.len() + 1);
        let complete = ends.iter().filter(|&&end| end <= cut).count();
        let end = if cut == 0 || ends.contains(&cut) { End::Idle } else { End::Waiting };
        prop_assert_eq!(
            feed(Limits::REDIS, &bytes[..cut], &cuts),
            (sent[..complete].to_vec(), end)
        );
    }

    #[test]
    fn noise_never_panics_and_reads_alike_in_any_reads(bytes in noise(), cuts in cuts()) {
        let limits = Limits { proto_max_bulk_len: 100, max_multibulk_len: 50, ..Limits::REDIS };
        let whole = feed(limits, &bytes, &[]);
        prop_assert_eq!(feed(limits, &bytes, &cuts), whole.clone());
        let bytewise: Vec<usize> = (0..bytes.len()).collect();
        prop_assert_eq!(feed(limits, &bytes, &bytewise), whole);
    }

    /// With a small line limit, reads matter only as in Redis: a line is
    /// refused when a read ends past the limit before the line's end, so
    /// smaller reads can only refuse sooner.
    #[test]
    fn smaller_reads_only_refuse_long_lines_sooner(bytes in noise(), cuts in cuts()) {
        let limits = Limits { inline_max_size: 16, proto_max_bulk_len: 100, max_multibulk_len: 50 };
        let (whole, whole_end) = feed(limits, &bytes, &[]);
        let (part, part_end) = feed(limits, &bytes, &cuts);
        if (&part, &part_end) != (&whole, &whole_end) {
            let too_big = [
                End::Error(ProtocolError::TooBigInline),
                End::Error(ProtocolError::TooBigMultibulkCount),
                End::Error(ProtocolError::TooBigBulkCount),
            ];
            prop_assert!(too_big.contains(&part_end), "{:?} vs {:?}", part_end, whole_end);
            prop_assert!(part.len() <= whole.len());
            prop_assert_eq!(&part[..], &whole[..part.len()]);
        }
    }

    #[test]
    fn a_damaged_stream_keeps_the_commands_before_the_damage(
        (sent, mut bytes, ends) in stream(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cuts in cuts(),
    ) {
        let at = at.index(bytes.len());
        bytes[at] = byte;
        let intact = ends.iter().filter(|&&end| end <= at).count();
        let (commands, _) = feed(Limits::REDIS, &bytes, &cuts);
        prop_assert!(commands.len() >= intact);
        prop_assert_eq!(&commands[..intact], &sent[..intact]);
    }

    /// Whole requests in one read take the parser's one-pass path; read a
    /// byte at a time they take its state machine. Near-valid damage (a
    /// header byte changed into a sign, a zero, a NUL, a blank...) must read
    /// the same both ways, with and without the unauthenticated limits.
    #[test]
    fn damaged_requests_read_alike_whole_and_bytewise(
        (_sent, mut bytes, _ends) in stream(),
        damage in proptest::collection::vec(
            (any::<prop::sample::Index>(), prop::sample::select(&b"*$\r\n0123-9 +\0"[..])),
            0..4,
        ),
        auth in any::<bool>(),
    ) {
        for (at, byte) in damage {
            let at = at.index(bytes.len());
            bytes[at] = byte;
        }
        let limits = Limits { proto_max_bulk_len: 100, max_multibulk_len: 50, ..Limits::REDIS };
        let whole = common::feed(limits, auth, &bytes, &[]);
        let bytewise: Vec<usize> = (0..bytes.len()).collect();
        prop_assert_eq!(common::feed(limits, auth, &bytes, &bytewise), whole);
    }

    #[test]
    // From 3: the command's own name ("SET", three bytes) is a bulk under
    // the same limit (Redis allows no limit under 1 MiB).
    fn a_bulk_over_the_limit_is_refused_from_its_header(limit in 3u64..100_000, over in 1u64..1 << 40) {
        let limits = Limits { proto_max_bulk_len: limit, ..Limits::REDIS };
        let header = format!("*2\r\n$3\r\nSET\r\n${}\r\n", limit + over);
        let mut parser = RequestParser::new(limits);
        prop_assert_eq!(parser.parse(header.as_bytes()), Err(ProtocolError::InvalidBulkLength));
        let at_limit = format!("*2\r\n$3\r\nSET\r\n${limit}\r\n");
        prop_assert_eq!(RequestParser::new(limits).parse(at_limit.as_bytes()), Ok(Parsed::NeedMore));
    }

    #[test]
    fn a_count_over_the_limit_is_refused_from_its_header(limit in 0u64..100_000, over in 1u64..1 << 40) {
        let limits = Limits { max_multibulk_len: limit, ..Limits::REDIS };
        let header = format!("*{}\r\n", limit + over);
        prop_assert_eq!(
            RequestParser::new(limits).parse(header.as_bytes()),
            Err(ProtocolError::InvalidMultibulkLength)
        );
        let at_limit = format!("*{limit}\r\n");
        let mut parser = RequestParser::new(limits);
        prop_assert_eq!(parser.parse(at_limit.as_bytes()), Ok(Parsed::NeedMore));
        prop_assert_eq!(parser.is_idle(), limit == 0);
    }
}

/// Headers the one-pass path must leave to the state machine (or read as
/// it does), each in a request that is otherwise whole: read at once and a
/// byte at a time, they give the same commands and the same end.
#[test]
fn odd_headers_read_alike_whole_and_bytewise() {
    let counts = [
        "1",
        "01",
        "00",
        "0",
        "-1",
        "-0",
        "+1",
        " 1",
        "1 ",
        "",
        "2",
        "99999999999999999",
        "999999999999999999",
        "9223372036854775808",
    ];
    let lengths = [
        "1",
        "01",
        "0",
        "00",
        "-1",
        "-0",
        "+1",
        " 1",
        "",
        "12345678901234567",
        "123456789012345678",
        "9223372036854775807",
    ];
    let ends = ["\r\n", "\r\r", "\rx", "\n", "\r\0", "\0\r\n"];
    let limits = Limits {
        proto_max_bulk_len: 100,
        max_multibulk_len: 50,
        ..Limits::REDIS
    };
    for count in counts {
        for length in lengths {
            for end in ends {
                for (c_end, l_end) in [(end, "\r\n"), ("\r\n", end)] {
                    let bytes = format!("*{count}{c_end}${length}{l_end}x\r\n*1\r\n$1\r\ny\r\n");
                    let bytes = bytes.as_bytes();
                    for auth in [false, true] {
                        let whole = common::feed(limits, auth, bytes, &[]);
                        let bytewise: Vec<usize> = (0..bytes.len()).collect();
                        assert_eq!(
                            common::feed(limits, auth, bytes, &bytewise),
                            whole,
                            "{:?}",
                            String::from_utf8_lossy(bytes)
                        );
                    }
                }
            }
        }
    }
}

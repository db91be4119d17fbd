//! The request parser against the table of what Redis 7.0 does (checked
//! against a real server by `reference.rs`), under every way of splitting
//! the input, and its calling contract: consumed counts, a sticky error,
//! Redis's error reply.

mod common;

use common::{run, table, End, LIMITS, READ};
use resp::{Limits, Parsed, ProtocolError, RequestParser};

fn argv(args: &[&[u8]]) -> Vec<Vec<u8>> {
    args.iter().map(|a| a.to_vec()).collect()
}

#[test]
fn the_table_in_redis_reads() {
    for case in table() {
        assert_eq!(
            run(LIMITS, case.auth, &case.input, READ),
            (case.commands.clone(), case.end),
            "{}",
            case.name
        );
    }
}

#[test]
fn the_table_in_one_read() {
    for case in table() {
        assert_eq!(
            run(LIMITS, case.auth, &case.input, usize::MAX),
            (case.commands.clone(), case.end),
            "{}",
            case.name
        );
    }
}

/// Redis refuses a line as too big only when no end has come in all it
/// has read, so one case depends on the reads: a 70000-byte line passes
/// unless some read ends past 64 KiB and before the line's end.
#[test]
fn the_table_in_other_reads() {
    for read in [1, 2, 3, 5, 7, 1000, 4093, 4096, 65536, 65537] {
        for case in table() {
            let mut expected = (case.commands.clone(), case.end);
            if case.name == "long line ending in the same read" {
                let refused = (1..)
                    .map(|k| k * read)
                    .take_while(|&end| end <= 70000)
                    .any(|end| end > 65536);
                if refused {
                    expected = (vec![], End::Error(ProtocolError::TooBigInline));
                }
            }
            assert_eq!(
                run(LIMITS, case.auth, &case.input, read),
                expected,
                "{} in reads of {read}",
                case.name
            );
        }
    }
}

#[test]
fn consumed_counts_stop_at_the_command_end() {
    let mut parser = RequestParser::default();
    let input = b"PING\r\n*1\r\n$4\r\nINFO\r\nPI";
    assert_eq!(
        parser.parse(input),
        Ok(Parsed::Command {
            argv: argv(&[b"PING"]),
            consumed: 6
        })
    );
    assert!(parser.is_idle());
    assert_eq!(
        parser.parse(&input[6..]),
        Ok(Parsed::Command {
            argv: argv(&[b"INFO"]),
            consumed: 14
        })
    );
    assert_eq!(parser.parse(&input[20..]), Ok(Parsed::NeedMore));
    assert!(!parser.is_idle());
    assert_eq!(parser.parse(b""), Ok(Parsed::NeedMore));
    assert_eq!(
        parser.parse(b"NG\r\nx"),
        Ok(Parsed::Command {
            argv: argv(&[b"PING"]),
            consumed: 4
        })
    );
}

#[test]
fn a_header_split_after_its_cr_completes_with_any_byte() {
    let mut parser = RequestParser::default();
    assert_eq!(parser.parse(b"*1\r"), Ok(Parsed::NeedMore));
    assert_eq!(parser.parse(b"\n$3\r"), Ok(Parsed::NeedMore));
    assert_eq!(parser.parse(b"?"), Ok(Parsed::NeedMore));
    assert_eq!(
        parser.parse(b"GET??"),
        Ok(Parsed::Command {
            argv: argv(&[b"GET"]),
            consumed: 5
        })
    );
}

#[test]
fn an_error_is_sticky_and_replied_as_redis_does() {
    let mut parser = RequestParser::default();
    assert_eq!(parser.error(), None);
    let error = parser.parse(b"*1\r\n$abc\r\n").unwrap_err();
    assert_eq!(error, ProtocolError::InvalidBulkLength);
    assert_eq!(parser.error(), Some(error));
    assert_eq!(parser.parse(b"PING\r\n"), Err(error));
    assert!(!parser.is_idle());
    let mut reply = Vec::new();
    error.write_reply(&mut reply);
    assert_eq!(reply, b"-ERR Protocol error: invalid bulk length\r\n");
    assert_eq!(error.to_string(), "Protocol error: invalid bulk length");
}

#[test]
fn limits_are_parameters() {
    let limits = Limits {
        proto_max_bulk_len: 3,
        max_multibulk_len: 2,
        inline_max_size: 8,
    };
    let mut parser = RequestParser::new(limits);
    assert_eq!(parser.limits(), limits);
    assert_eq!(
        parser.parse(b"*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n"),
        Ok(Parsed::Command {
            argv: argv(&[b"GET", b"key"]),
            consumed: 22
        })
    );
    let refuse = |input: &[u8]| RequestParser::new(limits).parse(input);
    assert_eq!(
        refuse(b"*3\r\n"),
        Err(ProtocolError::InvalidMultibulkLength)
    );
    assert_eq!(
        refuse(b"*1\r\n$4\r\n"),
        Err(ProtocolError::InvalidBulkLength)
    );
    assert_eq!(refuse(b"123456789"), Err(ProtocolError::TooBigInline));
    assert_eq!(refuse(b"12345678"), Ok(Parsed::NeedMore));
    assert_eq!(
        refuse(b"*00000000"),
        Err(ProtocolError::TooBigMultibulkCount)
    );
    assert_eq!(
        refuse(b"*1\r\n$00000000"),
        Err(ProtocolError::TooBigBulkCount)
    );
    // Redis 7.0's own bound on counts holds whatever the limit says.
    let loose = Limits {
        max_multibulk_len: u64::MAX,
        ..Limits::REDIS
    };
    assert_eq!(
        RequestParser::new(loose).parse(b"*2147483648\r\n"),
        Err(ProtocolError::InvalidMultibulkLength)
    );
    assert_eq!(Limits::default(), Limits::REDIS);
    assert_eq!(Limits::REDIS.proto_max_bulk_len, 512 * 1024 * 1024);
    assert_eq!(Limits::REDIS.max_multibulk_len, i32::MAX as u64);
    assert_eq!(Limits::REDIS.inline_max_size, 64 * 1024);
}

#[test]
fn authentication_can_be_required_and_lifted() {
    let mut parser = RequestParser::default();
    parser.set_auth_required(true);
    assert_eq!(
        parser.parse(b"*3\r\n$4\r\nAUTH\r\n$4\r\nuser\r\n$4\r\npass\r\n"),
        Ok(Parsed::Command {
            argv: argv(&[b"AUTH", b"user", b"pass"]),
            consumed: 34
        })
    );
    parser.set_auth_required(false);
    assert_eq!(parser.parse(b"*11\r\n"), Ok(Parsed::NeedMore));
}

/// A 16 MiB value arriving in reads of 1 to 4 KiB is read in one pass:
/// a parser that rescanned from the start would not finish.
#[test]
fn a_16_mib_value_in_small_reads() {
    const LEN: usize = 16 << 20;
    let value: Vec<u8> = (0..LEN).map(|i| (i * 7 + i / 4096) as u8).collect();
    let mut input = format!("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${LEN}\r\n").into_bytes();
    input.extend_from_slice(&value);
    input.extend_from_slice(b"\r\n*1\r\n$4\r\nPING\r\n");
    let mut parser = RequestParser::default();
    let mut commands = Vec::new();
    let mut at = 0;
    let mut read = 1024;
    while at < input.len() {
        let end = (at + read).min(input.len());
        let mut rest = &input[at..end];
        while let Parsed::Command { argv, consumed } = parser.parse(rest).unwrap() {
            commands.push(argv);
            rest = &rest[consumed..];
        }
        at = end;
        read = 1024 + (read * 31 + 17) % 3073;
    }
    assert_eq!(commands.len(), 2);
    assert_eq!(commands[0].len(), 3);
    assert_eq!(commands[0][0], b"SET");
    assert_eq!(commands[0][1], b"k");
    assert!(commands[0][2] == value, "the value came back changed");
    assert_eq!(commands[1], argv(&[b"PING"]));
}

/// An inline line of 64 KiB, one byte per read, is scanned once.
#[test]
fn a_64_kib_inline_line_byte_by_byte() {
    let mut input = vec![b'x'; 65535];
    input.push(b'\n');
    let mut parser = RequestParser::default();
    for &b in &input[..65535] {
        assert_eq!(parser.parse(&[b]), Ok(Parsed::NeedMore));
    }
    assert_eq!(
        parser.parse(b"\n"),
        Ok(Parsed::Command {
            argv: vec![vec![b'x'; 65535]],
            consumed: 1
        })
    );
}

//! Replies rendered as the console shows them (redis-cli's forms).

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

//! Replies on the wire: the exact bytes of every kind of reply in RESP2 and
//! RESP3, the decoder on every frame type, and decode(encode(reply)) for
//! random replies.

use console::{Reply, Report};
use proptest::prelude::*;
use resp::{decode, decode_all, encoded, DecodeError, Frame, Protocol};

use Protocol::{Resp2, Resp3};

fn both(reply: Reply, resp2: &[u8], resp3: &[u8]) {
    assert_eq!(
        String::from_utf8_lossy(&encoded(&reply, Resp2)),
        String::from_utf8_lossy(resp2),
        "{reply:?} in RESP2"
    );
    assert_eq!(
        String::from_utf8_lossy(&encoded(&reply, Resp3)),
        String::from_utf8_lossy(resp3),
        "{reply:?} in RESP3"
    );
    assert_eq!(encoded(&reply, Resp2), resp2);
    assert_eq!(encoded(&reply, Resp3), resp3);
}

fn same(reply: Reply, bytes: &[u8]) {
    both(reply, bytes, bytes);
}

fn info() -> Report {
    Report::new()
        .section("Server")
        .field("redis_version", "7.0.15")
        .field("uptime_in_seconds", 12)
        .section("Keyspace")
        .field("db0", "keys=1,expires=0")
}

const INFO_TEXT: &str =
    "# Server\r\nredis_version:7.0.15\r\nuptime_in_seconds:12\r\n\r\n# Keyspace\r\ndb0:keys=1,expires=0\r\n";

#[test]
fn simple_replies() {
    same(Reply::Ok, b"+OK\r\n");
    same(Reply::Status("PONG".into()), b"+PONG\r\n");
    same(Reply::Status("a\r\nb".into()), b"+a  b\r\n");
    same(Reply::Integer(0), b":0\r\n");
    same(Reply::Integer(-42), b":-42\r\n");
    same(Reply::Integer(i64::MIN), b":-9223372036854775808\r\n");
    same(Reply::Integer(i64::MAX), b":9223372036854775807\r\n");
    same(Reply::Interrupted, b"-ERR interrupted\r\n");
}

#[test]
fn values_are_bulks() {
    same(Reply::bulk("alice"), b"$5\r\nalice\r\n");
    same(Reply::Value(Vec::new()), b"$0\r\n\r\n");
    same(
        Reply::Value(b"\0\r\n\xff".to_vec()),
        b"$4\r\n\0\r\n\xff\r\n",
    );
}

#[test]
fn nils_differ_by_protocol() {
    both(Reply::Nil, b"$-1\r\n", b"_\r\n");
    both(Reply::NilArray, b"*-1\r\n", b"_\r\n");
}

#[test]
fn errors_carry_one_code_and_one_line() {
    same(Reply::error("no such key"), b"-ERR no such key\r\n");
    same(Reply::Error("ERR disk full".into()), b"-ERR disk full\r\n");
    same(Reply::error("ERRATIC"), b"-ERR ERRATIC\r\n");
    same(Reply::error("ERR"), b"-ERR ERR\r\n");
    same(Reply::error("a\r\nb\nc\rd"), b"-ERR a  b c d\r\n");
    same(Reply::error(""), b"-ERR \r\n");
    same(
        Reply::coded(
            "WRONGTYPE",
            "Operation against a key holding the wrong kind of value",
        ),
        b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    same(
        Reply::coded("NOAUTH", "Authentication\nrequired."),
        b"-NOAUTH Authentication required.\r\n",
    );
}

#[test]
fn arrays_nest_and_lists_are_arrays_of_arrays() {
    same(Reply::Array(vec![]), b"*0\r\n");
    // SCAN's reply.
    same(
        Reply::Array(vec![
            Reply::bulk("0"),
            Reply::Array(vec![Reply::bulk("a"), Reply::bulk("b")]),
        ]),
        b"*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n",
    );
    both(
        Reply::Array(vec![Reply::Integer(1), Reply::Nil, Reply::Ok]),
        b"*3\r\n:1\r\n$-1\r\n+OK\r\n",
        b"*3\r\n:1\r\n_\r\n+OK\r\n",
    );
    same(Reply::List(vec![]), b"*0\r\n");
    same(
        Reply::List(vec![
            vec![b"k1".to_vec(), b"v1".to_vec()],
            vec![],
            vec![b"".to_vec()],
        ]),
        b"*3\r\n*2\r\n$2\r\nk1\r\n$2\r\nv1\r\n*0\r\n*1\r\n$0\r\n\r\n",
    );
}

#[test]
fn maps_are_flat_in_resp2() {
    // HELLO's reply, shortened.
    let hello = Reply::Map(vec![
        (Reply::bulk("server"), Reply::bulk("redis")),
        (Reply::bulk("proto"), Reply::Integer(3)),
        (Reply::bulk("modules"), Reply::Array(vec![])),
    ]);
    both(
        hello,
        b"*6\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:3\r\n$7\r\nmodules\r\n*0\r\n",
        b"%3\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:3\r\n$7\r\nmodules\r\n*0\r\n",
    );
    both(Reply::Map(vec![]), b"*0\r\n", b"%0\r\n");
}

#[test]
fn reports_are_infos_text() {
    let len = INFO_TEXT.len();
    both(
        Reply::Report(info()),
        format!("${len}\r\n{INFO_TEXT}\r\n").as_bytes(),
        format!("={}\r\ntxt:{INFO_TEXT}\r\n", len + 4).as_bytes(),
    );
    both(
        Reply::Report(Report::new()),
        b"$0\r\n\r\n",
        b"=4\r\ntxt:\r\n",
    );
}

#[test]
fn text_is_a_bulk_or_verbatim() {
    both(
        Reply::Text("line 1\nline 2\n".into()),
        b"$14\r\nline 1\nline 2\n\r\n",
        b"=18\r\ntxt:line 1\nline 2\n\r\n",
    );
}

#[test]
fn encode_appends() {
    let mut out = b"+OK\r\n".to_vec();
    resp::encode(&Reply::Integer(1), Resp2, &mut out);
    assert_eq!(out, b"+OK\r\n:1\r\n");
    assert_eq!(Protocol::default(), Resp2);
}

#[test]
fn decoder_reads_every_frame_type() {
    let stream = b"+OK\r\n-ERR x y\r\n:-3\r\n$3\r\na\r\n\r\n$-1\r\n*-1\r\n_\r\n#t\r\n#f\r\n\
        ,1.5\r\n(12345678901234567890\r\n!6\r\nSYNTAX\r\n=7\r\nmkd:# a\r\n\
        *2\r\n:1\r\n*0\r\n%1\r\n+k\r\n:2\r\n~1\r\n+m\r\n|1\r\n+ttl\r\n:5\r\n\
        >2\r\n+message\r\n$1\r\nx\r\n";
    let simple = |s: &str| Frame::Simple(s.as_bytes().to_vec());
    assert_eq!(
        decode_all(stream),
        Ok(vec![
            simple("OK"),
            Frame::Error(b"ERR x y".to_vec()),
            Frame::Integer(-3),
            Frame::Bulk(b"a\r\n".to_vec()),
            Frame::NilBulk,
            Frame::NilArray,
            Frame::Null,
            Frame::Boolean(true),
            Frame::Boolean(false),
            Frame::Double(b"1.5".to_vec()),
            Frame::BigNumber(b"12345678901234567890".to_vec()),
            Frame::BulkError(b"SYNTAX".to_vec()),
            Frame::Verbatim {
                format: *b"mkd",
                text: b"# a".to_vec()
            },
            Frame::Array(vec![Frame::Integer(1), Frame::Array(vec![])]),
            Frame::Map(vec![(simple("k"), Frame::Integer(2))]),
            Frame::Set(vec![simple("m")]),
            Frame::Attribute(vec![(simple("ttl"), Frame::Integer(5))]),
            Frame::Push(vec![simple("message"), Frame::Bulk(b"x".to_vec())]),
        ])
    );
}

#[test]
fn decoder_waits_for_a_whole_frame() {
    let frame = b"*2\r\n$5\r\nhello\r\n%1\r\n:1\r\n_\r\n";
    for cut in 0..frame.len() {
        assert_eq!(decode(&frame[..cut]), Ok(None), "cut at {cut}");
    }
    let (got, used) = decode(&[&frame[..], b"+next\r\n"].concat())
        .unwrap()
        .unwrap();
    assert_eq!(used, frame.len());
    assert_eq!(
        got,
        Frame::Array(vec![
            Frame::Bulk(b"hello".to_vec()),
            Frame::Map(vec![(Frame::Integer(1), Frame::Null)]),
        ])
    );
    assert_eq!(decode_all(b"+OK\r\n$3\r\nab"), Err(DecodeError::Truncated));
}

#[test]
fn decoder_refuses_what_is_not_resp() {
    let bad = |input: &[u8]| decode(input).unwrap_err();
    assert_eq!(bad(b"?x\r\n"), DecodeError::UnknownType(b'?'));
    assert_eq!(bad(b"+OK\rx"), DecodeError::BadLineEnd);
    assert_eq!(bad(b"$3\r\nabcde"), DecodeError::BadLineEnd);
    assert_eq!(bad(b"$-2\r\n"), DecodeError::BadNumber);
    assert_eq!(bad(b":1.5\r\n"), DecodeError::BadNumber);
    assert_eq!(bad(b":+1\r\n"), DecodeError::BadNumber);
    assert_eq!(bad(b"%-1\r\n"), DecodeError::BadNumber);
    assert_eq!(bad(b"#x\r\n"), DecodeError::BadBoolean);
    assert_eq!(bad(b"_x\r\n"), DecodeError::BadLineEnd);
    assert_eq!(bad(b"=3\r\ntxt\r\n"), DecodeError::BadVerbatim);
    let deep = b"*1\r\n".repeat(resp::decode::MAX_DEPTH + 1);
    assert_eq!(bad(&[&deep[..], b":1\r\n"].concat()), DecodeError::TooDeep);
    let deepest = b"*1\r\n".repeat(resp::decode::MAX_DEPTH);
    assert!(decode(&[&deepest[..], b":1\r\n"].concat())
        .unwrap()
        .is_some());
    assert_eq!(
        DecodeError::UnknownType(b'?').to_string(),
        "unknown RESP type byte 0x3f"
    );
}

/// The frame a client must read for `reply`: the decoder's view of the
/// encoder's contract.
fn frame_of(reply: &Reply, proto: Protocol) -> Frame {
    let nil = |resp2| if proto == Resp2 { resp2 } else { Frame::Null };
    let text = |t: &[u8]| match proto {
        Resp2 => Frame::Bulk(t.to_vec()),
        Resp3 => Frame::Verbatim {
            format: *b"txt",
            text: t.to_vec(),
        },
    };
    let one_line = |s: &str| s.replace(['\r', '\n'], " ").into_bytes();
    match reply {
        Reply::Ok => Frame::Simple(b"OK".to_vec()),
        Reply::Status(s) => Frame::Simple(one_line(s)),
        Reply::Value(v) => Frame::Bulk(v.clone()),
        Reply::Nil => nil(Frame::NilBulk),
        Reply::NilArray => nil(Frame::NilArray),
        Reply::Integer(n) => Frame::Integer(*n),
        Reply::List(rows) => Frame::Array(
            rows.iter()
                .map(|row| Frame::Array(row.iter().cloned().map(Frame::Bulk).collect()))
                .collect(),
        ),
        Reply::Error(m) if m.starts_with("ERR ") => Frame::Error(one_line(m)),
        Reply::Error(m) => Frame::Error(one_line(&format!("ERR {m}"))),
        Reply::Coded(e) => Frame::Error(one_line(&format!("{} {}", e.code, e.message))),
        Reply::Array(items) => Frame::Array(items.iter().map(|r| frame_of(r, proto)).collect()),
        Reply::Map(pairs) => match proto {
            Resp2 => Frame::Array(
                pairs
                    .iter()
                    .flat_map(|(k, v)| [frame_of(k, proto), frame_of(v, proto)])
                    .collect(),
            ),
            Resp3 => Frame::Map(
                pairs
                    .iter()
                    .map(|(k, v)| (frame_of(k, proto), frame_of(v, proto)))
                    .collect(),
            ),
        },
        Reply::Report(report) => text(Reply::Report(report.clone()).to_string().as_bytes()),
        Reply::Text(t) => text(t.as_bytes()),
        Reply::Interrupted => Frame::Error(b"ERR interrupted".to_vec()),
    }
}

fn words() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 _:\r\n]{0,12}"
}

fn report() -> impl Strategy<Value = Report> {
    proptest::collection::vec(
        (words(), proptest::collection::vec((words(), words()), 0..4)),
        0..3,
    )
    .prop_map(|sections| {
        let mut report = Report::new();
        for (name, fields) in sections {
            report.add_section(&name);
            for (field, value) in fields {
                report.add_field(&field, value);
            }
        }
        report
    })
}

fn leaf() -> impl Strategy<Value = Reply> {
    let bytes = proptest::collection::vec(any::<u8>(), 0..40);
    prop_oneof![
        Just(Reply::Ok),
        words().prop_map(Reply::Status),
        bytes.clone().prop_map(Reply::Value),
        Just(Reply::Nil),
        Just(Reply::NilArray),
        any::<i64>().prop_map(Reply::Integer),
        proptest::collection::vec(proptest::collection::vec(bytes, 0..3), 0..3)
            .prop_map(Reply::List),
        words().prop_map(Reply::Error),
        words().prop_map(|w| Reply::Error(format!("ERR {w}"))),
        (
            prop::sample::select(&["WRONGTYPE", "NOAUTH", "EXECABORT"][..]),
            words()
        )
            .prop_map(|(code, m)| Reply::coded(code, m)),
        report().prop_map(Reply::Report),
        "(?s).{0,40}".prop_map(Reply::Text),
        Just(Reply::Interrupted),
    ]
}

fn reply() -> impl Strategy<Value = Reply> {
    leaf().prop_recursive(4, 40, 5, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Reply::Array),
            proptest::collection::vec((inner.clone(), inner), 0..4).prop_map(Reply::Map),
        ]
    })
}

proptest! {
    #[test]
    fn decode_reads_back_what_encode_wrote(replies in proptest::collection::vec(reply(), 1..4)) {
        for proto in [Resp2, Resp3] {
            let mut wire = Vec::new();
            for reply in &replies {
                resp::encode(reply, proto, &mut wire);
            }
            let expected: Vec<Frame> = replies.iter().map(|r| frame_of(r, proto)).collect();
            prop_assert_eq!(decode_all(&wire), Ok(expected));
        }
    }

    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(
        prop_oneof![
            3 => prop::sample::select(&b"*$%~>|=!:+-_#,(\r\n0123-9tfx:"[..]),
            1 => any::<u8>(),
        ],
        0..200,
    )) {
        if let Ok(Some((_, used))) = decode(&bytes) {
            prop_assert!(used > 0 && used <= bytes.len());
        }
    }
}

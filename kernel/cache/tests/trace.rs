//! The store-trace format: records written and read back, every parse
//! error with its line, and the recorder's rules (header, the held-back
//! missed block, the size cap, on and off) on a real `StoreCache`.

use std::borrow::Cow;
use std::sync::Arc;

use cache::trace::{
    is_header, parse, BlockKind, BlockRef, Found, ParseError, ParseErrorKind, Parser, Record,
    Recorder, Summary, Traced, HEADER, MAX_BYTES,
};
use cache::{Policy, StoreCache};
use lsm::db::{BlockCache, BlockPointer, LookupStats, PointCache};
use proptest::prelude::*;

const TEXT: &str = "\
# unikv store trace v1
# phase warm
G 0a01
B 7 8392 100 f
B 7 8192 200 i
B 7 0 4000 d
V 0a01 100 7 0 4000
W 0a01
S 0a01 10
B 7 8192 200 i
B 7 0 0 d
D 7
G 0aff
B 9 8392 100 f
";

fn owned(k: &[u8]) -> Cow<'static, [u8]> {
    Cow::Owned(k.to_vec())
}

fn block(table: u64, offset: u64, size: u64, kind: BlockKind) -> Record<'static> {
    Record::Block(BlockRef {
        table,
        offset,
        size,
        kind,
    })
}

#[test]
fn every_record_reads_and_writes_as_the_format_says() {
    let records = parse(TEXT).unwrap();
    let want = vec![
        Record::Phase(Cow::Owned("warm".into())),
        Record::Get {
            key: owned(&[0x0a, 0x01]),
        },
        block(7, 8392, 100, BlockKind::Filter),
        block(7, 8192, 200, BlockKind::Index),
        block(7, 0, 4000, BlockKind::Data),
        Record::Found {
            key: owned(&[0x0a, 0x01]),
            found: Found {
                value_len: 100,
                table: 7,
                offset: 0,
                size: 4000,
            },
        },
        Record::Write {
            key: owned(&[0x0a, 0x01]),
        },
        Record::Scan {
            start: owned(&[0x0a, 0x01]),
            limit: 10,
        },
        block(7, 8192, 200, BlockKind::Index),
        block(7, 0, 0, BlockKind::Data),
        Record::DropTable { table: 7 },
        Record::Get {
            key: owned(&[0x0a, 0xff]),
        },
        block(9, 8392, 100, BlockKind::Filter),
    ];
    assert_eq!(records, want);
    // Written back, line for line the same text.
    let mut text = String::from(HEADER);
    text.push('\n');
    for r in &records {
        text.push_str(&format!("{r}\n"));
    }
    assert_eq!(text, TEXT);
}

#[test]
fn keys_are_lowercase_hex_and_uppercase_is_read() {
    let r = Record::Get {
        key: Cow::Borrowed(&[0xab, 0x00, 0xff][..]),
    };
    assert_eq!(r.to_string(), "G ab00ff");
    assert_eq!(parse("G AB00FF\n").unwrap(), [r.into_owned()]);
    // Blank lines, comments and CRLF line ends are fine; the header is a
    // comment.
    let recs = parse("\n   \n# anything\r\nW 00\r\n#phase  two \n").unwrap();
    assert_eq!(
        recs,
        [
            Record::Write { key: owned(&[0]) },
            Record::Phase(Cow::Owned("two".into()))
        ]
    );
}

#[test]
fn the_header_is_recognised_with_or_without_its_line_end() {
    assert!(is_header("# unikv store trace v1"));
    assert!(is_header("# unikv store trace v1\n"));
    assert!(is_header("# unikv store trace v1\r\n"));
    assert!(!is_header("# unikv store trace v2"));
    assert!(!is_header("1 2 3"));
}

#[test]
fn malformed_lines_are_reported_with_their_number() {
    let cases: [(&str, usize, ParseErrorKind, &str); 14] = [
        (
            "B 1 0 10 d\n",
            1,
            ParseErrorKind::BlockOutside,
            "a block record outside a lookup or scan",
        ),
        (
            "G 0a\nV 0b 1 1 0 10\n",
            2,
            ParseErrorKind::StrayFound,
            "a V record that does not follow a G of the same key",
        ),
        (
            "S 0a 1\nV 0a 1 1 0 10\n",
            2,
            ParseErrorKind::StrayFound,
            "a V record that does not follow a G of the same key",
        ),
        (
            "G 0a\nV 0a 1 1 0 10\nV 0a 1 1 0 10\n",
            3,
            ParseErrorKind::StrayFound,
            "a V record that does not follow a G of the same key",
        ),
        (
            "G 0a\nV 0a 1 1 0 10\nB 1 0 10 d\n",
            3,
            ParseErrorKind::BlockOutside,
            "a block record outside a lookup or scan",
        ),
        (
            "S 0a 3\nW 0a\nB 1 0 10 d\n",
            3,
            ParseErrorKind::BlockOutside,
            "a block record outside a lookup or scan",
        ),
        (
            "G 0a\nD 4\nB 1 0 10 d\n",
            3,
            ParseErrorKind::BlockOutside,
            "a block record outside a lookup or scan",
        ),
        (
            "G 0a\nB 1 0 10 x\n",
            2,
            ParseErrorKind::BadKind("x".into()),
            "block kind `x` is not d, i or f",
        ),
        (
            "G 0g\n",
            1,
            ParseErrorKind::NotHex("0g".into()),
            "key `0g` is not hex",
        ),
        (
            "G abc\n",
            1,
            ParseErrorKind::NotHex("abc".into()),
            "key `abc` is not hex",
        ),
        (
            "# c\nS 0a\n",
            2,
            ParseErrorKind::Fields {
                tag: "S".into(),
                want: 2,
                found: 1,
            },
            "`S` needs 2 fields, found 1",
        ),
        (
            "G\n",
            1,
            ParseErrorKind::Fields {
                tag: "G".into(),
                want: 1,
                found: 0,
            },
            "`G` needs 1 field, found 0",
        ),
        (
            "Q 0a\n",
            1,
            ParseErrorKind::UnknownRecord("Q".into()),
            "unknown record `Q`",
        ),
        (
            "G 0a\nB 1 x 10 d\n",
            2,
            ParseErrorKind::NotNumber("x".into()),
            "`x` is not a number",
        ),
    ];
    for (text, line, kind, why) in cases {
        let e = parse(text).unwrap_err();
        assert_eq!(e, ParseError { line, kind }, "{text:?}");
        assert_eq!(e.to_string(), format!("line {line}: {why}"), "{text:?}");
    }
    // The kind is checked before the numbers, the numbers before the place.
    assert_eq!(
        parse("B x 0 10 q\n").unwrap_err().kind,
        ParseErrorKind::BadKind("q".into())
    );
    assert_eq!(
        parse("B x 0 10 d\n").unwrap_err().kind,
        ParseErrorKind::NotNumber("x".into())
    );
}

#[test]
fn the_parser_reads_line_by_line() {
    let mut p = Parser::new();
    assert_eq!(p.line(HEADER), Ok(None));
    assert_eq!(
        p.line("S 00 5"),
        Ok(Some(Record::Scan {
            start: owned(&[0]),
            limit: 5
        }))
    );
    assert_eq!(p.line(""), Ok(None));
    assert!(p.line("B 1 2 3 i").unwrap().is_some());
    assert_eq!(p.lines(), 4);
    assert_eq!(p.line("V 00 1 1 1 1").unwrap_err().line, 5);
}

/// Operations of a well-formed trace, for the round trip.
#[derive(Clone, Debug)]
enum Step {
    Get(Vec<u8>, Vec<BlockRef>, Option<Found>),
    Scan(Vec<u8>, u64, Vec<BlockRef>),
    Write(Vec<u8>),
    Drop(u64),
    Phase(String),
}

fn block_ref() -> impl Strategy<Value = BlockRef> {
    (
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        prop_oneof![
            Just(BlockKind::Data),
            Just(BlockKind::Index),
            Just(BlockKind::Filter)
        ],
    )
        .prop_map(|(table, offset, size, kind)| BlockRef {
            table,
            offset,
            size,
            kind,
        })
}

fn step() -> impl Strategy<Value = Step> {
    // Keys are never empty: the store takes no empty key.
    let key = prop::collection::vec(any::<u8>(), 1..24);
    let found = (any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>()).prop_map(
        |(value_len, table, offset, size)| Found {
            value_len,
            table,
            offset,
            size,
        },
    );
    let blocks = || prop::collection::vec(block_ref(), 0..5);
    prop_oneof![
        (key.clone(), blocks(), prop::option::of(found)).prop_map(|(k, b, f)| Step::Get(k, b, f)),
        (key.clone(), any::<u64>(), blocks()).prop_map(|(k, l, b)| Step::Scan(k, l, b)),
        key.prop_map(Step::Write),
        any::<u64>().prop_map(Step::Drop),
        "[a-z][a-z0-9 _-]{0,10}[a-z0-9]".prop_map(Step::Phase),
    ]
}

fn records_of(steps: &[Step]) -> Vec<Record<'static>> {
    let mut out = Vec::new();
    for s in steps {
        match s {
            Step::Get(k, blocks, found) => {
                out.push(Record::Get { key: owned(k) });
                out.extend(blocks.iter().map(|b| Record::Block(*b)));
                if let Some(f) = found {
                    out.push(Record::Found {
                        key: owned(k),
                        found: *f,
                    });
                }
            }
            Step::Scan(k, limit, blocks) => {
                out.push(Record::Scan {
                    start: owned(k),
                    limit: *limit,
                });
                out.extend(blocks.iter().map(|b| Record::Block(*b)));
            }
            Step::Write(k) => out.push(Record::Write { key: owned(k) }),
            Step::Drop(t) => out.push(Record::DropTable { table: *t }),
            Step::Phase(n) => out.push(Record::Phase(Cow::Owned(n.clone()))),
        }
    }
    out
}

proptest! {
    #[test]
    fn written_records_parse_back_to_themselves(steps in prop::collection::vec(step(), 0..40)) {
        let records = records_of(&steps);
        let mut text = format!("{HEADER}\n");
        for r in &records {
            text.push_str(&format!("{r}\n"));
        }
        prop_assert_eq!(parse(&text).unwrap(), records);
    }
}

fn traced(rec: &'static Recorder) -> Traced<&'static Recorder> {
    Traced::new(Arc::new(StoreCache::new(Policy::Lru, 1 << 20)), rec)
}

fn block_bytes(n: usize) -> Arc<[u8]> {
    vec![7u8; n].into()
}

#[test]
fn the_recorder_holds_a_missed_block_back_until_it_is_inserted() {
    static REC: Recorder = Recorder::new(MAX_BYTES);
    let t = traced(&REC);
    // Off: nothing is recorded, and the cache still works.
    t.get_block(1, 0, BlockKind::Data);
    t.insert_block(1, 0, BlockKind::Data, block_bytes(10));
    assert!(!REC.is_recording());
    assert_eq!(REC.text(), "");
    REC.start();
    assert!(REC.is_recording());
    PointCache::lookup(&t, b"\x01");
    // A hit: recorded at once with its size.
    assert!(t.get_block(1, 0, BlockKind::Data).is_some());
    // A miss, then its insert: one record, the size of the insert and the
    // kind the lookup asked for.
    assert!(t.get_block(2, 64, BlockKind::Index).is_none());
    t.insert_block(2, 64, BlockKind::Data, block_bytes(30));
    // A miss never inserted: size 0, written before the next record.
    assert!(t.get_block(3, 0, BlockKind::Filter).is_none());
    assert!(t.get_block(1, 0, BlockKind::Data).is_some());
    // An insert of another block after a miss: the miss first, then it.
    assert!(t.get_block(4, 0, BlockKind::Data).is_none());
    t.insert_block(5, 8, BlockKind::Filter, block_bytes(3));
    let ptr = BlockPointer {
        level: 1,
        table: 5,
        offset: 8,
        size: 3,
    };
    PointCache::insert(&t, b"\x01", b"vv", ptr, &LookupStats::default());
    PointCache::invalidate(&t, b"\x02");
    REC.scan(b"\x03", 9);
    // A miss pending at stop is written by stop.
    assert!(t.get_block(6, 0, BlockKind::Index).is_none());
    // Not recorded: offers, erasures, promotions.
    t.offer_block(8, 0, BlockKind::Data, block_bytes(5));
    t.erase_table(8);
    t.promote(b"\x01", b"vv");
    assert_eq!(
        REC.stop(),
        Summary {
            records: 11,
            truncated: false
        }
    );
    assert!(!REC.is_recording());
    let want = "\
# unikv store trace v1
G 01
B 1 0 10 d
B 2 64 30 i
B 3 0 0 f
B 1 0 10 d
B 4 0 0 d
B 5 8 3 f
V 01 2 5 8 3
W 02
S 03 9
B 6 0 0 i
";
    assert_eq!(REC.text(), want);
    // The cache behind it got every call: the inserted blocks are there.
    assert!(t.cache().get_block(2, 64, BlockKind::Data).is_some());
    assert!(t.cache().get_block(5, 8, BlockKind::Data).is_some());
    // Stopped: no more records; the text stays until the next start.
    PointCache::lookup(&t, b"\x01");
    assert_eq!(REC.text(), want);
    REC.start();
    assert_eq!(REC.text(), format!("{HEADER}\n"));
    assert_eq!(
        REC.stop(),
        Summary {
            records: 0,
            truncated: false
        }
    );
}

#[test]
fn the_recorder_stops_growing_at_its_cap() {
    // The header (23 bytes) and then "W 00\n" (5 bytes) each: the record
    // that reaches 40 bytes is kept, the rest dropped and counted as lost.
    let rec = Arc::new(Recorder::new(40));
    let t = Traced::new(Arc::new(StoreCache::new(Policy::Arc, 1 << 20)), rec.clone());
    rec.start();
    for _ in 0..10 {
        PointCache::invalidate(&t, b"\x00");
    }
    assert_eq!(
        rec.stop(),
        Summary {
            records: 4,
            truncated: true
        }
    );
    assert_eq!(rec.text(), format!("{HEADER}\nW 00\nW 00\nW 00\nW 00\n"));
    assert_eq!(t.recorder().text().len(), 43);
    // A new start forgets the truncation.
    rec.start();
    PointCache::invalidate(&t, b"\x00");
    assert_eq!(
        rec.stop(),
        Summary {
            records: 1,
            truncated: false
        }
    );
}

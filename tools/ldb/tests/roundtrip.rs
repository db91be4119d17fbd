//! load then read back: dump gives the load file back byte for byte, and
//! get, scan, verify, info and sst agree with it and with each other, for
//! values with and without an expiry.

mod common;

use std::collections::BTreeMap;

use common::{dump_text, field, ldb, shown, Scratch, Value, LATER};

type Model = BTreeMap<Vec<u8>, Value>;

/// xorshift64: deterministic, so a failure reproduces.
fn rng(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Keys and values that quoting must get right, and enough plain pairs
/// (binary values of 0 to 400 bytes, every fifth expiring) to make several
/// tables of several blocks on a 16 MiB disk.
fn model() -> Model {
    let mut m = Model::new();
    let tricky: [(&[u8], &[u8]); 10] = [
        (b"k\x00", b"\x00\x01\x02"),
        (b"\xff\xfe", b"\x7f\x80"),
        (b"say \"hi\"", b"he said \"hi\""),
        (b"C:\\dir\\", b"\\\\server\\share"),
        (b"line\nbreak\r\t", b"a\r\nb\tc\n"),
        (b"#not a comment", b"# nor this"),
        (b"caf\xc3\xa9", "naïve".as_bytes()),
        (b" spaced key ", b" spaced value "),
        (b"empty", b""),
        (b"\\x41", b"\\x41 stays four bytes"),
    ];
    for (i, (k, v)) in tricky.into_iter().enumerate() {
        let at = (i % 3 == 0).then_some(LATER + i as u64);
        m.insert(k.to_vec(), (v.to_vec(), at));
    }
    let mut seed = 0x9e37_79b9_7f4a_7c15;
    for i in 0..3000u32 {
        let len = (rng(&mut seed) % 400) as usize;
        let v: Vec<u8> = (0..len).map(|_| rng(&mut seed) as u8).collect();
        let at = i.is_multiple_of(5).then_some(LATER + u64::from(i));
        m.insert(format!("user{i:05}").into_bytes(), (v, at));
    }
    m
}

/// Bytes of one put in a write batch (doc/format.md's WAL record), the
/// value tagged as the kv service stores it.
fn put_bytes(k: &[u8], (v, at): &Value) -> usize {
    let stored = kv::value::encode(v, *at).len();
    let varint = |n: usize| (usize::BITS - (n | 1).leading_zeros()).div_ceil(7) as usize;
    1 + varint(k.len()) + k.len() + varint(stored) + stored
}

/// Batches load cuts `m` into: each closed once it reaches 64 KiB.
fn batches(m: &Model) -> usize {
    let (mut n, mut size) = (0, 12);
    for (i, (k, v)) in m.iter().enumerate() {
        size += put_bytes(k, v);
        if size >= 64 << 10 || i + 1 == m.len() {
            n += 1;
            size = 12;
        }
    }
    n
}

#[test]
fn load_then_dump_gives_the_file_back_and_every_reader_agrees() {
    let s = Scratch::new("roundtrip");
    let m = model();
    let text = dump_text(&m);
    // A hand-written header and blank lines are skipped on the way in.
    let mut file = String::from("# pairs for ldb\n\n");
    file.push_str(&text);
    file.push('\n');
    s.file("pairs.txt", file.as_bytes());
    s.file("disk.img", &vec![0u8; 16 << 20]);

    let load = ldb(&s, &["disk.img", "load", "pairs.txt"]).ok();
    assert_eq!(
        load,
        format!(
            "# Load\npairs:{n}\nexpired:0\nbatches:{}\nformatted:1\nlast_sequence:{n}\n",
            batches(&m),
            n = m.len()
        )
    );
    assert!(batches(&m) > 5);

    // dump: the file back, byte for byte.
    assert_eq!(ldb(&s, &["disk.img", "dump"]).ok(), text);

    // get: every tricky key and a sample of the rest, in the console's quoting.
    for (k, (v, at)) in m.iter().step_by(97).chain(m.iter().take(10)) {
        let arg = console::quote(k);
        let out = ldb(&s, &["disk.img", "get", &arg]).ok();
        assert_eq!(out, format!("{}\n", shown(v, *at)), "{arg}");
    }
    assert!(m.iter().step_by(97).any(|(_, (_, at))| at.is_some()));
    assert_eq!(ldb(&s, &["disk.img", "get", "user99999"]).ok(), "(nil)\n");
    assert_eq!(ldb(&s, &["disk.img", "get", "empty"]).ok(), "\"\"\n");
    assert_eq!(
        ldb(&s, &["disk.img", "get", r#""k\x00""#]).ok(),
        "\"\\x00\\x01\\x02\" PXAT 4102444800000\n"
    );
    assert_eq!(
        ldb(&s, &["disk.img", "get", "user00001"]).ok(),
        format!("{}\n", console::quote(&m[&b"user00001"[..]].0))
    );

    // scan: START inclusive, END exclusive, --limit.
    let from = b"user00100".to_vec();
    let to = b"user00200".to_vec();
    let want = dump_text(m.range(from.clone()..to.clone()));
    assert_eq!(
        ldb(&s, &["disk.img", "scan", "user00100", "user00200"]).ok(),
        want
    );
    assert_eq!(want.lines().count(), 100);
    assert_eq!(
        ldb(&s, &["disk.img", "scan", "user00100", "--limit", "3"]).ok(),
        dump_text(m.range(from..).take(3))
    );
    assert_eq!(ldb(&s, &["disk.img", "scan"]).ok(), text);
    assert_eq!(ldb(&s, &["disk.img", "scan", r#""\xff\xff""#]).ok(), "");
    assert_eq!(
        ldb(&s, &["disk.img", "scan", "zzz"]).ok(),
        "\"\\xff\\xfe\" \"\\x7f\\x80\"\n"
    );

    // info and verify agree on the tables; sst sees every pair once.
    let info = ldb(&s, &["disk.img", "info"]).ok();
    let numbers: Vec<u64> = info
        .lines()
        .filter_map(|l| l.strip_prefix("# Table "))
        .map(|n| n.parse().unwrap())
        .collect();
    let tables = field(&info, "Levels", "tables").unwrap();
    assert_eq!(tables, numbers.len().to_string());
    assert!(numbers.len() > 1, "{info}");
    assert_eq!(field(&info, "WAL", "records").as_deref(), Some("0"));
    assert_eq!(field(&info, "WAL", "torn").as_deref(), Some("0"));
    assert_eq!(
        field(&info, "WAL", "last_sequence"),
        Some(m.len().to_string())
    );
    assert_eq!(
        field(&info, "Superblock", "magic").as_deref(),
        Some("\"unikvDB\\x00\"")
    );
    assert_eq!(
        field(&info, "Layout", "capacity").as_deref(),
        Some("16777216")
    );
    assert_eq!(
        ldb(&s, &["disk.img", "verify"]).ok(),
        format!("# Verify\ntables:{tables}\nentries:{}\nerrors:0\n", m.len())
    );

    let mut seen = Model::new();
    let mut level_bytes = 0u64;
    for n in &numbers {
        let out = ldb(&s, &["disk.img", "sst", &n.to_string()]).ok();
        let table = format!("Table {n}");
        // sst's table agrees with info's.
        for f in ["level", "bytes", "extents"] {
            assert_eq!(field(&out, "Table", f), field(&info, &table, f), "{f}");
        }
        level_bytes += field(&out, "Table", "bytes")
            .unwrap()
            .parse::<u64>()
            .unwrap();
        let (_, entries) = out.split_once("\n# Entries\n").unwrap();
        let mut count = 0;
        for line in entries.lines() {
            // "key" sequence value "stored bytes" string [expires <ms>]
            let t = console::split_args(line.as_bytes()).unwrap();
            assert_eq!(t[2], b"value");
            let raw = kv::value::decode(&t[3]).unwrap();
            let decoded: Vec<&[u8]> = t[4..].iter().map(Vec::as_slice).collect();
            let at = raw.expires_at.map(|at| at.to_string());
            match &at {
                None => assert_eq!(decoded, [&b"string"[..]], "{line}"),
                Some(at) => assert_eq!(decoded, [&b"string"[..], b"expires", at.as_bytes()]),
            }
            let value = (raw.value.to_vec(), raw.expires_at);
            assert!(seen.insert(t[0].clone(), value).is_none());
            count += 1;
        }
        assert_eq!(field(&out, "Table", "entries"), Some(count.to_string()));
        let first = console::split_args(entries.lines().next().unwrap().as_bytes()).unwrap();
        assert_eq!(
            field(&info, &table, "smallest"),
            Some(console::quote(&first[0]))
        );
        let blocks: usize = field(&out, "Blocks", "data_blocks")
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            out.lines().filter(|l| l.starts_with("block_")).count(),
            blocks
        );
        assert_eq!(
            field(&out, "Filter", "kind").as_deref(),
            Some("bloom (cache-local, 64-byte blocks)")
        );
        assert_eq!(field(&out, "Filter", "probes").as_deref(), Some("6"));
        assert_eq!(
            field(&out, "Footer", "magic").as_deref(),
            Some("\"unikvSST\"")
        );
    }
    assert_eq!(seen, m);
    assert_eq!(
        field(&info, "Levels", "bytes"),
        Some(level_bytes.to_string())
    );
}

#[test]
fn a_second_load_adds_to_the_store_and_the_last_value_wins() {
    let s = Scratch::new("reload");
    s.file("disk.img", &vec![0u8; 8 << 20]);
    s.file("a.txt", b"a 1\nb 2\n");
    s.file("b.txt", b"b 3\nc \"\"\nb 4\n");
    ldb(&s, &["disk.img", "load", "a.txt"]).ok();
    assert_eq!(
        ldb(&s, &["disk.img", "load", "b.txt"]).ok(),
        "# Load\npairs:3\nexpired:0\nbatches:1\nformatted:0\nlast_sequence:5\n"
    );
    assert_eq!(
        ldb(&s, &["disk.img", "dump"]).ok(),
        "\"a\" \"1\"\n\"b\" \"4\"\n\"c\" \"\"\n"
    );
}

#[test]
fn a_bad_line_writes_nothing_not_even_the_format() {
    let s = Scratch::new("badline");
    let blank = vec![0u8; 8 << 20];
    let disk = s.file("disk.img", &blank);
    s.file("pairs.txt", b"# ok so far\na 1\nb \"2\nc 3\n");
    let r = ldb(&s, &["disk.img", "load", "pairs.txt"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.out(), "");
    assert_eq!(
        r.stderr,
        "ldb: pairs.txt line 3: not a \"key\" \"value\" line: unbalanced quotes in request: \
         the quote at byte 2 is never closed; nothing was written\n"
    );
    assert!(std::fs::read(&disk).unwrap() == blank);

    s.file("pairs.txt", b"a 1\n\n\"\" 2\n");
    let r = ldb(&s, &["disk.img", "load", "pairs.txt"]);
    assert_eq!(
        r.stderr,
        "ldb: pairs.txt line 3: empty key: the store takes keys of 1 byte or more; \
         nothing was written\n"
    );
    assert!(std::fs::read(&disk).unwrap() == blank);
}

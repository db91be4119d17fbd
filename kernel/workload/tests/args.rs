//! BENCH's arguments: defaults, every form, every error and its message,
//! and the key format.

use workload::ycsb::{Dist, Ycsb};
use workload::{key, ArgError, Params, Workload, USAGE};

fn parse(line: &str) -> Result<Params, ArgError> {
    let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
    Params::parse(&args)
}

#[test]
fn defaults_are_db_benchs() {
    let p = parse("fillseq").unwrap();
    assert_eq!(
        p,
        Params {
            workload: Workload::FillSeq,
            n: 100_000,
            keys: None,
            value_size: 100,
            sync: false,
            seed: 301,
            dist: None,
            threads: 1,
        }
    );
    assert_eq!(p, Params::new(Workload::FillSeq));
}

#[test]
fn every_workload_parses_by_name_in_any_case() {
    for w in Workload::ALL {
        assert_eq!(parse(w.name()).unwrap().workload, w);
        assert_eq!(
            parse(&w.name().to_ascii_uppercase()).unwrap().workload,
            w,
            "{}",
            w.name()
        );
    }
    assert_eq!(Workload::ALL.len(), 12);
    assert_eq!(parse("YCSB-E").unwrap().workload, Workload::Ycsb(Ycsb::E));
}

#[test]
fn every_setting_is_taken() {
    let p = parse("ycsb-d 5000 keys=700 value_size=32 sync=1 seed=9 dist=uniform").unwrap();
    assert_eq!(
        p,
        Params {
            workload: Workload::Ycsb(Ycsb::D),
            n: 5000,
            keys: Some(700),
            value_size: 32,
            sync: true,
            seed: 9,
            dist: Some(Dist::Uniform),
            threads: 1,
        }
    );
    // Settings in any order, the count only second; any non-zero sync is on.
    let p = parse("readrandom 10 sync=7 dist=latest keys=1 value_size=0").unwrap();
    assert_eq!((p.n, p.keys, p.sync, p.value_size), (10, Some(1), true, 0));
    assert_eq!(p.dist, Some(Dist::Latest));
    assert!(!parse("fillseq sync=0").unwrap().sync);
    assert_eq!(
        parse("fillseq dist=zipfian").unwrap().dist,
        Some(Dist::Zipfian)
    );
    // The limits themselves are allowed.
    let p = parse("fillseq 100000000 keys=100000000 value_size=1048576").unwrap();
    assert_eq!(
        (p.n, p.keys, p.value_size),
        (100_000_000, Some(100_000_000), 1 << 20)
    );
}

#[test]
fn every_error_has_its_message() {
    let cases: [(&str, ArgError, String); 13] = [
        (
            "scan",
            ArgError::UnknownWorkload("scan".into()),
            format!("unknown workload 'scan'; usage: {USAGE}"),
        ),
        (
            "YCSB-G",
            ArgError::UnknownWorkload("ycsb-g".into()),
            format!("unknown workload 'ycsb-g'; usage: {USAGE}"),
        ),
        (
            "fillseq ten",
            ArgError::NotANumber("ten".into()),
            format!("'ten' is not a number; usage: {USAGE}"),
        ),
        (
            "fillseq keys=x",
            ArgError::NotANumber("keys=x".into()),
            format!("'keys=x' is not a number; usage: {USAGE}"),
        ),
        (
            "fillseq value_size=-1",
            ArgError::NotANumber("value_size=-1".into()),
            format!("'value_size=-1' is not a number; usage: {USAGE}"),
        ),
        (
            "fillseq seed=",
            ArgError::NotANumber("seed=".into()),
            format!("'seed=' is not a number; usage: {USAGE}"),
        ),
        (
            "ycsb-a dist=pareto",
            ArgError::BadDist,
            format!("dist is zipfian, latest or uniform; usage: {USAGE}"),
        ),
        (
            "fillseq 10 20",
            ArgError::UnknownArgument("20".into()),
            format!("unknown argument '20'; usage: {USAGE}"),
        ),
        (
            "fillseq size=3",
            ArgError::UnknownArgument("size=3".into()),
            format!("unknown argument 'size=3'; usage: {USAGE}"),
        ),
        (
            "fillseq 0",
            ArgError::NOutOfRange,
            "n must be between 1 and 100000000".into(),
        ),
        (
            "fillseq 100000001",
            ArgError::NOutOfRange,
            "n must be between 1 and 100000000".into(),
        ),
        (
            "fillseq keys=0",
            ArgError::KeysOutOfRange,
            "keys must be between 1 and 100000000".into(),
        ),
        (
            "fillseq value_size=1048577",
            ArgError::ValueTooLarge,
            "value_size is at most 1048576".into(),
        ),
    ];
    for (line, err, msg) in cases {
        let e = parse(line).unwrap_err();
        assert_eq!(e, err, "{line}");
        assert_eq!(e.to_string(), msg, "{line}");
    }
    assert_eq!(
        parse("fillseq keys=100000001").unwrap_err(),
        ArgError::KeysOutOfRange
    );
    let e = Params::parse(&[b"fillseq".as_slice(), b"\xff".as_slice()]).unwrap_err();
    assert_eq!(
        (e.clone(), e.to_string()),
        (ArgError::NotText, "arguments are text".into())
    );
    let none: [&[u8]; 0] = [];
    let e = Params::parse(&none).unwrap_err();
    assert_eq!(
        (e.clone(), e.to_string()),
        (ArgError::NoWorkload, format!("usage: {USAGE}"))
    );
}

#[test]
fn errors_come_in_the_order_bench_checks_them() {
    // Arguments first, in order; then n, keys and value_size.
    assert_eq!(
        parse("fillseq value_size=9999999 bad=1").unwrap_err(),
        ArgError::UnknownArgument("bad=1".into())
    );
    assert_eq!(
        parse("fillseq 0 keys=0 value_size=9999999").unwrap_err(),
        ArgError::NOutOfRange
    );
    assert_eq!(
        parse("fillseq keys=0 value_size=9999999").unwrap_err(),
        ArgError::KeysOutOfRange
    );
    // A size too large for usize is refused, not wrapped.
    assert_eq!(
        parse("fillseq value_size=18446744073709551615").unwrap_err(),
        ArgError::ValueTooLarge
    );
}

#[test]
fn keys_are_sixteen_digits_zero_padded() {
    assert_eq!(&key(0), b"0000000000000000");
    assert_eq!(&key(42), b"0000000000000042");
    assert_eq!(&key(99_999_999), b"0000000099999999");
    assert_eq!(&key(9_999_999_999_999_999), b"9999999999999999");
    // %016d of a larger number would be longer: the low 16 digits are kept.
    assert_eq!(&key(12_345_678_901_234_567), b"2345678901234567");
    for i in [0u64, 7, 1234, 100_000_000] {
        assert_eq!(key(i).to_vec(), format!("{i:016}").into_bytes());
    }
    // Byte order is numeric order.
    assert!(key(9) < key(10) && key(99_999) < key(100_000));
}

#[test]
fn threads_are_one_to_eight() {
    assert_eq!(parse("readrandom").unwrap().threads, 1);
    assert_eq!(parse("readrandom 10 threads=8").unwrap().threads, 8);
    assert_eq!(parse("ycsb-a threads=3 seed=2").unwrap().threads, 3);
    for bad in ["threads=0", "threads=9", "threads=100000000000000000000"] {
        let e = parse(&format!("fillseq {bad}")).unwrap_err();
        if bad.len() > 12 {
            assert_eq!(e, ArgError::NotANumber(bad.into()));
        } else {
            assert_eq!(e, ArgError::ThreadsOutOfRange);
            assert_eq!(e.to_string(), "threads must be between 1 and 8");
        }
    }
    assert!(workload::USAGE.ends_with("[threads=N]"));
}

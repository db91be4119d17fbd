//! BENCH threads=N through the command layer, on a real store over an
//! in-memory disk, the test double's `parallel` running std threads (up to
//! `FAKE_CORES`): totals, every key of a fill written once, checked reads,
//! the report's thread fields, the limits, and Ctrl-C.

mod common;

use common::{line, line_with, store, FakeHost, Out, FAKE_CORES};

/// A report's `name:value` field.
fn field<'a>(report: &'a str, name: &str) -> &'a str {
    report
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {name} in {report}"))
}

fn names(report: &str) -> Vec<&str> {
    report
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':').map(|f| f.0))
        .collect()
}

#[test]
fn threads_split_a_fill_and_read_it_back_checked() {
    let s = store(64 << 20);
    let seq = |s: &kv::StoreCell| -> u64 {
        field(&line(s, "INFO storage"), "last_sequence")
            .parse()
            .unwrap()
    };
    let before = seq(&s);
    let fill = line(&s, "BENCH fillseq 4000 threads=4");
    assert_eq!(field(&fill, "ops"), "4000", "{fill}");
    assert_eq!(field(&fill, "threads"), "4");
    assert_eq!(field(&fill, "thread_ops_per_sec").split(',').count(), 4);
    // One write a key: the store took 4000 writes, and has 4000 keys.
    assert_eq!(seq(&s) - before, 4000);
    assert_eq!(line(&s, "DBSIZE"), "(integer) 4000\n");
    for threads in [2, 4] {
        let read = line(&s, &format!("BENCH readrandom 3000 threads={threads}"));
        assert_eq!(field(&read, "ops"), "3000", "{read}");
        assert_eq!(field(&read, "keys"), "4000");
        assert_eq!(field(&read, "found"), "3000", "every read found its key");
        assert_eq!(field(&read, "threads"), threads.to_string());
    }
    let scan = line(&s, "BENCH readseq 4000 threads=2");
    assert_eq!(field(&scan, "found"), "4000", "{scan}");
    let ycsb = line(&s, "BENCH ycsb-a 2000 threads=3");
    assert_eq!(field(&ycsb, "ops"), "2000", "{ycsb}");
    // A value BENCH did not write stops every thread with the error.
    line(&s, "SET 0000000000000007 mine");
    assert_eq!(
        line(&s, "BENCH readseq 4000 threads=2"),
        "(error) ERR key 0000000000000007 read back a value BENCH did not write for it\n"
    );
}

#[test]
fn one_thread_reports_as_bench_always_did() {
    let s = store(32 << 20);
    let plain = line(&s, "BENCH fillrandom 1000");
    let one = line(&s, "BENCH fillrandom 1000 threads=1");
    assert_eq!(names(&plain), names(&one));
    assert!(!one.contains("thread"), "{one}");
    assert_eq!(field(&one, "ops"), "1000");
    let two = line(&s, "BENCH fillrandom 1000 threads=2");
    let mut want = names(&plain);
    want.insert(5, "threads");
    want.insert(9, "thread_ops_per_sec");
    assert_eq!(names(&two), want);
}

#[test]
fn threads_beyond_the_limit_or_the_cores_are_refused() {
    let s = store(16 << 20);
    for bad in ["threads=0", "threads=9"] {
        assert_eq!(
            line(&s, &format!("BENCH fillseq 100 {bad}")),
            "(error) ERR threads must be between 1 and 8\n"
        );
    }
    let too_many = FAKE_CORES + 1;
    assert_eq!(
        line(&s, &format!("BENCH fillseq 100 threads={too_many}")),
        format!("(error) ERR {FAKE_CORES} cores can run jobs\n")
    );
    // Nothing ran: the fill did not load its key space.
    assert_eq!(line(&s, "DBSIZE"), "(integer) 0\n");
    assert!(line(&s, "BENCH readrandom 10").contains("\nkeys:10\n"));
}

#[test]
fn ctrl_c_stops_every_thread() {
    let s = store(64 << 20);
    line(&s, "BENCH fillseq 2000");
    let host = FakeHost::default();
    let mut out = Out {
        stop_at: Some(20),
        ..Out::default()
    };
    let (reply, _) = line_with(&s, &host, &mut out, "BENCH readrandom 1000000 threads=4");
    assert_eq!(reply, "(interrupted)\n");
    assert_eq!(out.asked, 20, "only thread 0 asks, until it hears stop");
    // The store is fine and BENCH runs again.
    let again = line(&s, "BENCH readrandom 1000 threads=2");
    assert_eq!(field(&again, "found"), "1000", "{again}");
}

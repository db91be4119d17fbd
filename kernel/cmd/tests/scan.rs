//! SCAN over a network connection, with the replies a native redis-server
//! 7.0.15 gives (as the console renders them): its options, its cursors,
//! and the keys a full iteration returns. Tests named `scan_tcl_*` are the
//! behaviours Redis's tests/unit/scan.tcl checks that need only strings and
//! keys.

mod common;

use std::collections::BTreeSet;

use common::{now_ms, populate, server, store, Session};

/// Every key a full SCAN with these options returns, and how many calls
/// it took.
fn full_scan(c: &mut Session<'_>, options: &str) -> (Vec<String>, usize) {
    let mut cursor = String::from("0");
    let (mut keys, mut calls) = (Vec::new(), 0);
    loop {
        let reply = c.reply(&format!("SCAN {cursor} {options}"));
        calls += 1;
        let cmd::Reply::Array(parts) = reply else {
            panic!("{reply:?}")
        };
        let [cmd::Reply::Value(next), cmd::Reply::Array(found)] = parts.as_slice() else {
            panic!("{parts:?}")
        };
        for k in found {
            let cmd::Reply::Value(k) = k else { panic!() };
            keys.push(String::from_utf8(k.clone()).unwrap());
        }
        cursor = String::from_utf8(next.clone()).unwrap();
        if cursor == "0" {
            return (keys, calls);
        }
    }
}

#[test]
fn scan_tcl_basic_count_match_and_type() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    populate(&mut c, 1000);
    // SCAN basic: every key once, ten at a time.
    let (keys, calls) = full_scan(&mut c, "");
    assert_eq!(keys.len(), 1000);
    assert_eq!(keys.iter().collect::<BTreeSet<_>>().len(), 1000);
    assert_eq!(calls, 100);
    // SCAN COUNT.
    let (keys, calls) = full_scan(&mut c, "count 5");
    assert_eq!((keys.len(), calls), (1000, 200));
    // SCAN MATCH: key:1?? is 100 keys.
    let (keys, _) = full_scan(&mut c, "match key:1??");
    assert_eq!(keys.len(), 100);
    // SCAN TYPE: strings only.
    assert_eq!(full_scan(&mut c, "type list").0.len(), 0);
    assert_eq!(full_scan(&mut c, "type string").0.len(), 1000);
    assert_eq!(full_scan(&mut c, "TYPE STRING").0.len(), 1000);
    let (keys, _) = full_scan(&mut c, "type string match key:* count 10");
    assert_eq!(keys.len(), 1000);
}

#[test]
fn scan_returns_every_key_present_throughout_despite_writes() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    let mut other = Session::network(&s, &srv);
    populate(&mut c, 300);
    let mut cursor = String::from("0");
    let mut seen = BTreeSet::new();
    let mut round = 0;
    loop {
        let reply = c.reply(&format!("SCAN {cursor} COUNT 7"));
        let cmd::Reply::Array(parts) = reply else {
            panic!()
        };
        let [cmd::Reply::Value(next), cmd::Reply::Array(found)] = parts.as_slice() else {
            panic!()
        };
        for k in found {
            let cmd::Reply::Value(k) = k else { panic!() };
            assert!(seen.insert(k.clone()), "returned twice");
        }
        // Between calls another client adds and deletes keys.
        other.run(&format!("SET new:{round} x"));
        other.run(&format!("DEL key:{}", 200 + round % 50));
        round += 1;
        cursor = String::from_utf8(next.clone()).unwrap();
        if cursor == "0" {
            break;
        }
    }
    // Keys present for the whole scan (not deleted during it) all came.
    for i in 0..200 {
        assert!(seen.contains(format!("key:{i}").as_bytes()), "key:{i}");
    }
}

#[test]
fn scan_options_and_cursors_as_redis_checks_them() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    populate(&mut c, 20);
    assert_eq!(c.run("SCAN 0 COUNT 0"), "(error) ERR syntax error\n");
    assert_eq!(c.run("SCAN 0 COUNT -1"), "(error) ERR syntax error\n");
    assert_eq!(
        c.run("SCAN 0 COUNT x"),
        "(error) ERR value is not an integer or out of range\n"
    );
    assert_eq!(c.run("SCAN 0 COUNT"), "(error) ERR syntax error\n");
    assert_eq!(c.run("SCAN 0 MATCH"), "(error) ERR syntax error\n");
    assert_eq!(c.run("SCAN 0 FOO bar"), "(error) ERR syntax error\n");
    assert_eq!(c.run("SCAN x"), "(error) ERR invalid cursor\n");
    assert_eq!(c.run("SCAN \" 0\""), "(error) ERR invalid cursor\n");
    assert_eq!(c.run("SCAN 1x"), "(error) ERR invalid cursor\n");
    assert_eq!(
        c.run("SCAN 18446744073709551616"),
        "(error) ERR invalid cursor\n"
    );
    // A number this server never handed out.
    assert_eq!(c.run("SCAN 12345"), "(error) ERR invalid cursor\n");
    // A cursor handed out goes on where it stopped, as often as asked.
    let first = c.reply("SCAN 0 COUNT 15");
    let cmd::Reply::Array(parts) = first else {
        panic!()
    };
    let cmd::Reply::Value(next) = &parts[0] else {
        panic!()
    };
    let next = String::from_utf8(next.clone()).unwrap();
    let rest = c.run(&format!("SCAN {next} COUNT 100"));
    assert_eq!(rest, c.run(&format!("SCAN {next} COUNT 100")));
    assert!(rest.starts_with("1) \"0\"\n2) "), "{rest}");
    assert_eq!(rest.matches("\"key:").count(), 5);
    // The last page ends with cursor 0, even when exactly full.
    assert_eq!(c.run("SCAN 0 COUNT 20").lines().next(), Some("1) \"0\""));
    assert_eq!(
        c.run("SCAN 0 MATCH nothing*"),
        "1) \"0\"\n2) (empty array)\n"
    );
    // A literal prefix takes the scan straight to its keys.
    assert_eq!(
        c.run("SCAN 0 MATCH key:1? COUNT 100"),
        "1) \"0\"\n2)  1) \"key:10\"\n    2) \"key:11\"\n    3) \"key:12\"\n    4) \"key:13\"\n    5) \"key:14\"\n    6) \"key:15\"\n    7) \"key:16\"\n    8) \"key:17\"\n    9) \"key:18\"\n   10) \"key:19\"\n"
    );
}

#[test]
fn scan_cursors_are_bounded_and_old_ones_are_invalid() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    populate(&mut c, 3);
    let cursor_of = |c: &mut Session<'_>| {
        let cmd::Reply::Array(parts) = c.reply("SCAN 0 COUNT 1") else {
            panic!()
        };
        let cmd::Reply::Value(next) = &parts[0] else {
            panic!()
        };
        String::from_utf8(next.clone()).unwrap()
    };
    let oldest = cursor_of(&mut c);
    let second = cursor_of(&mut c);
    for _ in 0..cmd::MAX_CURSORS - 1 {
        cursor_of(&mut c);
    }
    assert_eq!(srv.lock().cursors.len(), cmd::MAX_CURSORS);
    assert_eq!(
        c.run(&format!("SCAN {oldest}")),
        "(error) ERR invalid cursor\n"
    );
    assert!(c.run(&format!("SCAN {second}")).starts_with("1) \"0\""));
    // Numbers differ from one server start to the next.
    let later = cmd::Server::new(cmd::Config::default(), now_ms() + 1000).last_cursor;
    assert!(later > second.parse::<u64>().unwrap());
}

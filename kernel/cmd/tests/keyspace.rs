//! The key commands over a network connection, with the replies a native
//! redis-server 7.0.15 gives (as the console renders them); SCAN's tests
//! are in tests/scan.rs. Tests named `keyspace_tcl_*` are the behaviours
//! Redis's tests/unit/keyspace.tcl checks that need only strings and keys
//! (a single database: its `singledb:skip` tests are the MOVE, SELECT and
//! COPY DB errors here).

mod common;

use std::collections::BTreeSet;

use common::{advance_ms, now_ms, populate, server, set_expiring, store, tables, Session};

fn sorted(reply: &str) -> Vec<String> {
    let mut keys: Vec<String> = reply
        .lines()
        .filter_map(|l| {
            l.split_once(") \"")
                .map(|(_, k)| k.trim_end_matches('"').to_string())
        })
        .collect();
    keys.sort();
    keys
}

#[test]
fn keyspace_tcl_del_against_a_single_item_and_vararg_del() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    assert_eq!(c.run("SET x foo"), "OK\n");
    assert_eq!(c.run("GET x"), "\"foo\"\n");
    assert_eq!(c.run("DEL x"), "(integer) 1\n");
    assert_eq!(c.run("GET x"), "(nil)\n");
    for k in ["foo1{t} a", "foo2{t} b", "foo3{t} c"] {
        assert_eq!(c.run(&format!("SET {k}")), "OK\n");
    }
    assert_eq!(
        c.run("DEL foo1{t} foo2{t} foo3{t} foo4{t}"),
        "(integer) 3\n"
    );
    assert_eq!(c.run("EXISTS foo1{t} foo2{t} foo3{t}"), "(integer) 0\n");
    assert_eq!(c.run("SET a 1"), "OK\n");
    assert_eq!(c.run("UNLINK a a nokey"), "(integer) 1\n");
    assert_eq!(c.run("UNLINK a"), "(integer) 0\n");
}

#[test]
fn keyspace_tcl_keys_with_pattern_all_keys_and_dbsize() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    for key in ["key_x", "key_y", "key_z", "foo_a", "foo_b", "foo_c"] {
        assert_eq!(c.run(&format!("SET {key} hello")), "OK\n");
    }
    assert_eq!(
        c.run("KEYS foo*"),
        "1) \"foo_a\"\n2) \"foo_b\"\n3) \"foo_c\"\n"
    );
    assert_eq!(
        sorted(&c.run("KEYS *")),
        ["foo_a", "foo_b", "foo_c", "key_x", "key_y", "key_z"]
    );
    assert_eq!(c.run("DBSIZE"), "(integer) 6\n");
    // DEL all keys.
    for key in sorted(&c.run("KEYS *")) {
        assert_eq!(c.run(&format!("DEL {key}")), "(integer) 1\n");
    }
    assert_eq!(c.run("DBSIZE"), "(integer) 0\n");
    assert_eq!(c.run("KEYS *"), "(empty array)\n");
}

#[test]
fn keyspace_tcl_del_against_expired_key_and_expired_keys_are_gone_everywhere() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    set_expiring(&s, "keyExpire", "valExpire", now_ms() + 5);
    set_expiring(&s, "later", "v", now_ms() + 3_600_000);
    assert_eq!(c.run("DBSIZE"), "(integer) 2\n");
    advance_ms(10);
    assert_eq!(c.run("DEL keyExpire"), "(integer) 0\n");
    assert_eq!(c.run("EXISTS keyExpire"), "(integer) 0\n");
    assert_eq!(c.run("TYPE keyExpire"), "none\n");
    assert_eq!(c.run("KEYS *"), "1) \"later\"\n");
    assert_eq!(c.run("DBSIZE"), "(integer) 1\n");
    assert_eq!(c.run("RANDOMKEY"), "\"later\"\n");
    assert_eq!(c.run("SCAN 0"), "1) \"0\"\n2) 1) \"later\"\n");
}

#[test]
fn keyspace_tcl_exists_and_zero_length_values() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    assert_eq!(c.run("SET newkey test"), "OK\n");
    assert_eq!(c.run("EXISTS newkey"), "(integer) 1\n");
    assert_eq!(c.run("DEL newkey"), "(integer) 1\n");
    assert_eq!(c.run("EXISTS newkey"), "(integer) 0\n");
    assert_eq!(c.run("SET emptykey \"\""), "OK\n");
    assert_eq!(c.run("GET emptykey"), "\"\"\n");
    assert_eq!(c.run("EXISTS emptykey emptykey nokey"), "(integer) 2\n");
    assert_eq!(c.run("TOUCH emptykey emptykey nokey"), "(integer) 2\n");
    assert_eq!(c.run("DEL emptykey"), "(integer) 1\n");
    assert_eq!(c.run("EXISTS emptykey"), "(integer) 0\n");
}

#[test]
fn type_is_string_or_none() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    assert_eq!(c.run("SET k v"), "OK\n");
    assert_eq!(c.run("TYPE k"), "string\n");
    assert_eq!(c.run("TYPE nokey"), "none\n");
    assert_eq!(
        c.reply("TYPE k"),
        cmd::Reply::Status("string".into()),
        "a status, not a bulk string"
    );
}

#[test]
fn keyspace_tcl_rename() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    // RENAME basic usage; the source key no longer exists.
    assert_eq!(c.run("SET mykey{t} hello"), "OK\n");
    assert_eq!(c.run("RENAME mykey{t} mykey1{t}"), "OK\n");
    assert_eq!(c.run("RENAME mykey1{t} mykey2{t}"), "OK\n");
    assert_eq!(c.run("GET mykey2{t}"), "\"hello\"\n");
    assert_eq!(c.run("EXISTS mykey{t} mykey1{t}"), "(integer) 0\n");
    // RENAME against already existing key.
    assert_eq!(c.run("SET mykey{t} a"), "OK\n");
    assert_eq!(c.run("SET mykey2{t} b"), "OK\n");
    assert_eq!(c.run("RENAME mykey2{t} mykey{t}"), "OK\n");
    assert_eq!(c.run("GET mykey{t}"), "\"b\"\n");
    assert_eq!(c.run("EXISTS mykey2{t}"), "(integer) 0\n");
    // RENAMENX basic usage, and against an existing key.
    assert_eq!(c.run("DEL mykey{t} mykey2{t}"), "(integer) 1\n");
    assert_eq!(c.run("SET mykey{t} foobar"), "OK\n");
    assert_eq!(c.run("RENAMENX mykey{t} mykey2{t}"), "(integer) 1\n");
    assert_eq!(c.run("GET mykey2{t}"), "\"foobar\"\n");
    assert_eq!(c.run("EXISTS mykey{t}"), "(integer) 0\n");
    assert_eq!(c.run("SET mykey{t} foo"), "OK\n");
    assert_eq!(c.run("SET mykey2{t} bar"), "OK\n");
    assert_eq!(c.run("RENAMENX mykey{t} mykey2{t}"), "(integer) 0\n");
    assert_eq!(c.run("GET mykey{t}"), "\"foo\"\n");
    assert_eq!(c.run("GET mykey2{t}"), "\"bar\"\n");
    // Against a non-existing source key.
    assert_eq!(
        c.run("RENAME nokey{t} foobar{t}"),
        "(error) ERR no such key\n"
    );
    assert_eq!(
        c.run("RENAMENX nokey{t} foobar{t}"),
        "(error) ERR no such key\n"
    );
    // Source and destination the same, existing or not.
    assert_eq!(c.run("SET mykey foo"), "OK\n");
    assert_eq!(c.run("RENAME mykey mykey"), "OK\n");
    assert_eq!(c.run("RENAMENX mykey mykey"), "(integer) 0\n");
    assert_eq!(c.run("GET mykey"), "\"foo\"\n");
    assert_eq!(c.run("DEL mykey"), "(integer) 1\n");
    assert_eq!(c.run("RENAME mykey mykey"), "(error) ERR no such key\n");
}

/// The expiry a key's stored value carries.
fn expiry(s: &kv::StoreCell, key: &str) -> Option<u64> {
    s.lock()
        .as_ref()
        .unwrap()
        .get(key.as_bytes())
        .unwrap()
        .and_then(|e| e.expires_at)
}

#[test]
fn keyspace_tcl_rename_moves_the_ttl_and_drops_the_targets() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    // RENAME with volatile key, should move the TTL as well.
    let at = now_ms() + 100_000;
    set_expiring(&s, "mykey{t}", "foo", at);
    assert_eq!(c.run("RENAME mykey{t} mykey2{t}"), "OK\n");
    assert_eq!(expiry(&s, "mykey2{t}"), Some(at));
    assert_eq!(c.run("GET mykey2{t}"), "\"foo\"\n");
    // ... should not inherit the TTL of the target key.
    assert_eq!(c.run("SET mykey{t} foo"), "OK\n");
    set_expiring(&s, "mykey2{t}", "bar", at);
    assert_eq!(c.run("RENAME mykey{t} mykey2{t}"), "OK\n");
    assert_eq!(expiry(&s, "mykey2{t}"), None);
    assert_eq!(c.run("GET mykey2{t}"), "\"foo\"\n");
    // An expired source is no key; an expired target is replaced by
    // RENAMENX.
    set_expiring(&s, "old", "x", now_ms() + 5);
    set_expiring(&s, "gone", "y", now_ms() + 5);
    advance_ms(10);
    assert_eq!(c.run("RENAME old new"), "(error) ERR no such key\n");
    assert_eq!(c.run("RENAMENX mykey2{t} gone"), "(integer) 1\n");
    assert_eq!(c.run("GET gone"), "\"foo\"\n");
}

#[test]
fn keyspace_tcl_copy_for_strings() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    // COPY basic usage for string.
    assert_eq!(c.run("SET mykey{t} foobar"), "OK\n");
    assert_eq!(c.run("COPY mykey{t} mynewkey{t}"), "(integer) 1\n");
    assert_eq!(c.run("GET mynewkey{t}"), "\"foobar\"\n");
    assert_eq!(c.run("DBSIZE"), "(integer) 2\n");
    // Without REPLACE an existing key stays; with it, it is replaced.
    assert_eq!(c.run("SET mykey2{t} hello"), "OK\n");
    assert_eq!(c.run("COPY mykey2{t} mynewkey{t}"), "(integer) 0\n");
    assert_eq!(c.run("GET mynewkey{t}"), "\"foobar\"\n");
    assert_eq!(c.run("COPY mykey2{t} mynewkey{t} REPLACE"), "(integer) 1\n");
    assert_eq!(c.run("GET mynewkey{t}"), "\"hello\"\n");
    // The copy is independent of the original.
    assert_eq!(c.run("SET mynewkey{t} hoge"), "OK\n");
    assert_eq!(c.run("GET mykey2{t}"), "\"hello\"\n");
    // COPY for string does not copy data to no-integer DB.
    assert_eq!(
        c.run("COPY mykey{t} mynewkey{t} DB notanumber"),
        "(error) ERR value is not an integer or out of range\n"
    );
    // The only database is 0.
    assert_eq!(
        c.run("COPY mykey{t} other{t} db 0 replace"),
        "(integer) 1\n"
    );
    assert_eq!(
        c.run("COPY mykey{t} mynewkey{t} DB 10"),
        "(error) ERR DB index is out of range\n"
    );
    assert_eq!(
        c.run("COPY mykey{t} mykey{t}"),
        "(error) ERR source and destination objects are the same\n"
    );
    assert_eq!(
        c.run("COPY mykey{t} x{t} FOO"),
        "(error) ERR syntax error\n"
    );
    assert_eq!(c.run("COPY mykey{t} x{t} DB"), "(error) ERR syntax error\n");
    assert_eq!(c.run("COPY nokey{t} x{t}"), "(integer) 0\n");
    assert_eq!(c.run("EXISTS x{t}"), "(integer) 0\n");
}

#[test]
fn keyspace_tcl_copy_takes_the_expiry_or_none() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    // COPY can copy key expire metadata as well.
    let at = now_ms() + 100_000;
    set_expiring(&s, "mykey{t}", "foobar", at);
    assert_eq!(c.run("COPY mykey{t} mynewkey{t} REPLACE"), "(integer) 1\n");
    assert_eq!(expiry(&s, "mynewkey{t}"), Some(at));
    assert_eq!(c.run("GET mynewkey{t}"), "\"foobar\"\n");
    // COPY does not create an expire if it does not exist.
    assert_eq!(c.run("SET mykey{t} foobar"), "OK\n");
    assert_eq!(c.run("COPY mykey{t} mynewkey{t} REPLACE"), "(integer) 1\n");
    assert_eq!(expiry(&s, "mynewkey{t}"), None);
}

#[test]
fn keyspace_tcl_move_and_select_of_other_databases() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    assert_eq!(c.run("SET mykey foobar"), "OK\n");
    assert_eq!(
        c.run("MOVE mykey 10"),
        "(error) ERR DB index is out of range\n"
    );
    assert_eq!(
        c.run("MOVE mykey 0"),
        "(error) ERR source and destination objects are the same\n"
    );
    // MOVE against non-integer DB (#1428).
    assert_eq!(
        c.run("MOVE mykey notanumber"),
        "(error) ERR value is not an integer or out of range\n"
    );
    assert_eq!(c.run("SELECT 0"), "OK\n");
    assert_eq!(c.run("SELECT 9"), "(error) ERR DB index is out of range\n");
    assert_eq!(c.run("SELECT -1"), "(error) ERR DB index is out of range\n");
    assert_eq!(
        c.run("SELECT x"),
        "(error) ERR value is not an integer or out of range\n"
    );
    assert_eq!(
        c.run("SELECT 4294967296"),
        "(error) ERR value is not an integer or out of range\n"
    );
    assert_eq!(c.run("SWAPDB 0 0"), "OK\n");
    assert_eq!(
        c.run("SWAPDB 0 1"),
        "(error) ERR DB index is out of range\n"
    );
    assert_eq!(c.run("SWAPDB x 0"), "(error) ERR invalid first DB index\n");
    assert_eq!(c.run("SWAPDB 0 x"), "(error) ERR invalid second DB index\n");
    assert_eq!(c.run("GET mykey"), "\"foobar\"\n");
}

#[test]
fn keyspace_tcl_randomkey() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    // RANDOMKEY against an empty DB, and after the only key went.
    assert_eq!(c.run("RANDOMKEY"), "(nil)\n");
    assert_eq!(c.run("SET x 10"), "OK\n");
    assert_eq!(c.run("DEL x"), "(integer) 1\n");
    assert_eq!(c.run("RANDOMKEY"), "(nil)\n");
    // Both keys come up within 100 tries.
    assert_eq!(c.run("SET foo x"), "OK\n");
    assert_eq!(c.run("SET bar y"), "OK\n");
    let seen: BTreeSet<String> = (0..100).map(|_| c.run("RANDOMKEY")).collect();
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        ["\"bar\"\n", "\"foo\"\n"]
    );
}

#[test]
fn randomkey_spreads_over_a_store_of_tables() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    for i in 0..3000 {
        c.run(&format!("SET key{i:05} {}", "v".repeat(100)));
        if i % 1000 == 999 {
            s.lock().as_mut().unwrap().flush().unwrap();
        }
    }
    let seen: BTreeSet<String> = (0..300).map(|_| c.run("RANDOMKEY")).collect();
    // Candidates come from the whole key range, not only its start.
    assert!(seen.len() > 100, "{} distinct keys", seen.len());
    assert!(seen.iter().any(|k| k.as_str() > "\"key02000"), "{seen:?}");
    assert!(seen.iter().all(|k| k.starts_with("\"key")));
}

#[test]
fn keyspace_tcl_keys_two_times_with_long_key_and_long_nested_patterns() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    // KEYS * two times with long key, Github issue #1208.
    assert_eq!(
        c.run("SET dlskeriewrioeuwqoirueioqwrueoqwrueqw test"),
        "OK\n"
    );
    assert_eq!(
        c.run("KEYS *"),
        "1) \"dlskeriewrioeuwqoirueioqwrueoqwrueqw\"\n"
    );
    assert_eq!(
        c.run("KEYS *"),
        "1) \"dlskeriewrioeuwqoirueioqwrueoqwrueqw\"\n"
    );
    // Regression for pattern matching long nested loops.
    assert_eq!(c.run("FLUSHDB"), "OK\n");
    assert_eq!(c.run(&format!("SET {} 1", "a".repeat(40))), "OK\n");
    assert_eq!(
        c.run("KEYS a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b"),
        "(empty array)\n"
    );
}

#[test]
fn keys_patterns_as_redis_matches_them() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    for k in [
        "]",
        "^",
        "-",
        "b",
        "ac",
        "acx",
        "?x",
        "*",
        "hallo",
        "hello",
        "\"\"",
        "\"\\x80\"",
    ] {
        assert_eq!(c.run(&format!("SET {k} 1")), "OK\n", "{k}");
    }
    // What redis-server 7.0.15 answers, sorted.
    for (pattern, want) in [
        ("[a-]", vec!["]", "^"]),
        ("[]]", vec![]),
        ("[abc", vec!["b"]),
        ("[", vec![]),
        ("a[bc", vec!["ac"]),
        ("\\*", vec!["*"]),
        ("[\\]]", vec!["]"]),
        ("[\\-]", vec!["-"]),
        ("h[b-a]llo", vec!["hallo"]),
        ("h[^e]llo", vec!["hallo"]),
        ("?x", vec!["?x"]),
        (
            "**",
            vec![
                "*", "-", "?x", "\\x80", "]", "^", "ac", "acx", "b", "hallo", "hello",
            ],
        ),
    ] {
        let quoted = pattern.replace('\\', "\\\\");
        assert_eq!(
            sorted(&c.run(&format!("KEYS \"{quoted}\""))),
            want,
            "{pattern}"
        );
    }
    // KEYS * alone matches the empty key too (a pattern never does).
    assert_eq!(sorted(&c.run("KEYS *")).len(), 12);
    assert_eq!(sorted(&c.run("KEYS **")).len(), 11);
    assert_eq!(
        c.run("KEYS"),
        "(error) ERR wrong number of arguments for 'KEYS': usage KEYS pattern\n"
    );
}

#[test]
fn flushall_and_flushdb_empty_the_store_at_once() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    populate(&mut c, 2000);
    s.lock().as_mut().unwrap().flush().unwrap();
    populate(&mut c, 10);
    set_expiring(&s, "volatile", "v", now_ms() + 100_000);
    assert!(tables(&s) > 0);
    assert_eq!(c.run("DBSIZE"), "(integer) 2001\n");
    assert_eq!(c.run("FLUSHALL"), "OK\n");
    assert_eq!(c.run("DBSIZE"), "(integer) 0\n");
    assert_eq!(c.run("GET key:1"), "(nil)\n");
    assert_eq!(tables(&s), 0);
    assert_eq!(c.run("SET after 1"), "OK\n");
    assert_eq!(c.run("FLUSHDB ASYNC"), "OK\n");
    assert_eq!(c.run("FLUSHALL sync"), "OK\n");
    assert_eq!(c.run("DBSIZE"), "(integer) 0\n");
    assert_eq!(c.run("FLUSHALL now"), "(error) ERR syntax error\n");
    assert_eq!(c.run("FLUSHDB ASYNC SYNC"), "(error) ERR syntax error\n");
}

#[test]
fn dbsize_counts_live_keys_once() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    populate(&mut c, 50);
    // Overwrites and a flush leave each key once.
    populate(&mut c, 50);
    s.lock().as_mut().unwrap().flush().unwrap();
    populate(&mut c, 25);
    assert_eq!(c.run("DEL key:0 key:1"), "(integer) 2\n");
    assert_eq!(c.run("DBSIZE"), "(integer) 48\n");
}

#[test]
fn keyspace_hits_and_misses_count_as_redis_counts_them() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    let counts = |srv: &cmd::ServerCell| {
        let stats = &srv.lock().stats;
        (stats.keyspace_hits, stats.keyspace_misses)
    };
    assert_eq!(c.run("SET a 1"), "OK\n");
    // Reads count: EXISTS, TOUCH and TYPE per key, COPY's source.
    assert_eq!(c.run("EXISTS a nokey"), "(integer) 1\n");
    assert_eq!(c.run("TOUCH a nokey"), "(integer) 1\n");
    assert_eq!(c.run("TYPE a"), "string\n");
    assert_eq!(counts(&srv), (3, 2));
    assert_eq!(c.run("COPY a c"), "(integer) 1\n");
    assert_eq!(counts(&srv), (4, 2));
    // Writes' lookups do not: RENAME, DEL, COPY's destination.
    assert_eq!(c.run("RENAME a b"), "OK\n");
    assert_eq!(c.run("DEL c nokey"), "(integer) 1\n");
    assert_eq!(c.run("COPY b c"), "(integer) 1\n");
    assert_eq!(counts(&srv), (5, 2));
}

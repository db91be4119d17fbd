//! Every command through the command layer, on a real store over an
//! in-memory disk: the exact replies the console prints, group commit's
//! tickets, and Ctrl-C at each long command's safe points.

mod common;

use std::sync::Arc;

use cache::{Policy, StoreCache};
use common::{line, line_with, store, tables, FakeHost, Out};
use kv::{Commit, StoreCell};

fn with_cache(cell: &StoreCell) {
    cell.lock()
        .as_mut()
        .unwrap()
        .set_cache(Some(Arc::new(StoreCache::new(Policy::Lru, 1 << 20))));
}

#[test]
fn key_commands_reply_as_the_console_shows_them() {
    let s = store(16 << 20);
    assert_eq!(line(&s, "SET alice 1"), "OK\n");
    assert_eq!(line(&s, "put bob \"two words\""), "OK\n");
    assert_eq!(line(&s, "SET bin \"\\x00\\xff\\\"\\\\\\n\""), "OK\n");
    assert_eq!(line(&s, "GET alice"), "\"1\"\n");
    assert_eq!(line(&s, "GET bin"), "\"\\x00\\xff\\\"\\\\\\n\"\n");
    assert_eq!(line(&s, "GET nobody"), "(nil)\n");
    assert_eq!(line(&s, "EXISTS bob"), "(integer) 1\n");
    assert_eq!(line(&s, "EXISTS nobody"), "(integer) 0\n");
    assert_eq!(
        line(&s, "RANGE a c"),
        "1) \"alice\" \"1\"\n2) \"bin\" \"\\x00\\xff\\\"\\\\\\n\"\n3) \"bob\" \"two words\"\n"
    );
    assert_eq!(line(&s, "RANGE a c limit 1"), "1) \"alice\" \"1\"\n");
    assert_eq!(line(&s, "RANGE x z"), "(empty)\n");
    assert_eq!(
        line(&s, "RANGE a c LIMIT lots"),
        "(error) ERR LIMIT takes a count; usage: RANGE start end [LIMIT n]\n"
    );
    assert_eq!(
        line(&s, "RANGE a c TOP 3"),
        "(error) ERR usage: RANGE start end [LIMIT n]\n"
    );
    assert_eq!(line(&s, "DEL alice nobody bob"), "(integer) 2\n");
    assert_eq!(line(&s, "GET alice"), "(nil)\n");
    assert_eq!(
        line(&s, "GET"),
        "(error) ERR wrong number of arguments for 'GET': usage GET key\n"
    );
    let long_key = "k".repeat(2000);
    assert!(line(&s, &format!("SET {long_key} v")).starts_with("(error) ERR "));
}

#[test]
fn writes_wait_for_their_group_commit_and_reads_do_not() {
    let s = store(16 << 20);
    let host = FakeHost::default();
    let mut out = Out::default();
    let (r1, t1) = line_with(&s, &host, &mut out, "SET a 1");
    let (r2, t2) = line_with(&s, &host, &mut out, "DEL a b");
    let (r3, t3) = line_with(&s, &host, &mut out, "GET a");
    assert_eq!(
        (r1.as_str(), r2.as_str(), r3.as_str()),
        ("OK\n", "(integer) 1\n", "(nil)\n")
    );
    let (t1, t2) = (t1.expect("SET waits"), t2.expect("DEL waits"));
    assert_eq!(t3, None, "a read needs no commit");
    assert!(t1 < t2);
    {
        let st = s.lock();
        let st = st.as_ref().unwrap();
        assert_eq!(st.status(t1), Commit::Pending);
        assert_eq!(st.pending(), 2);
    }
    s.lock().as_mut().unwrap().commit().unwrap();
    let st = s.lock();
    let st = st.as_ref().unwrap();
    assert_eq!(
        (st.status(t1), st.status(t2)),
        (Commit::Durable, Commit::Durable)
    );
    assert_eq!(st.group_stats(), (1, 2));
    assert!(!cmd::joins_group(console::lookup(b"COMPACT").unwrap()));
    assert!(cmd::joins_group(console::lookup(b"SET").unwrap()));
}

#[test]
fn storage_commands_and_info_storage() {
    let s = store(16 << 20);
    for i in 0..500 {
        assert_eq!(line(&s, &format!("SET key{i:04} value{i}")), "OK\n");
    }
    assert_eq!(line(&s, "FLUSH"), "OK\n");
    assert_eq!(line(&s, "COMPACT"), "OK\n");
    assert_eq!(
        line(&s, "VERIFY"),
        "# Verify\ntables:1\nentries:500\nerrors:0\n"
    );
    let info = line(&s, "INFO storage");
    assert!(
        info.starts_with("# Storage\ndisk_bytes:16777216\n"),
        "{info}"
    );
    for field in [
        "level_0_tables:0",
        "wal_loss_bound_ms:15",
        "group_commits:500",
        "group_commit_writes:500",
        "group_commit_avg_us:",
        "group_commit_max_us:",
    ] {
        assert!(info.contains(field), "{field} in {info}");
    }
}

#[test]
fn ctrl_c_stops_compact_verify_range_and_bench_at_a_safe_point() {
    let s = store(32 << 20);
    // Three level-0 tables (one below the compaction trigger) of the same
    // keys, so COMPACT has a real merge to do.
    for round in 0..3 {
        for i in 0..1000 {
            line(
                &s,
                &format!("SET key{i:05} round{round}-{}", "x".repeat(200)),
            );
        }
        assert_eq!(line(&s, "FLUSH"), "OK\n");
    }
    assert_eq!(tables(&s), 3);
    let host = FakeHost::default();
    for command in ["COMPACT", "VERIFY", "RANGE a z", "BENCH readrandom 5000"] {
        let mut out = Out {
            stop_at: Some(2),
            ..Out::default()
        };
        let (reply, _) = line_with(&s, &host, &mut out, command);
        assert!(
            reply == "(interrupted)\n",
            "{command}: {}",
            &reply[..reply.len().min(300)]
        );
        assert_eq!(
            out.asked, 2,
            "{command} stopped at the question that said stop"
        );
    }
    // Nothing was lost, and everything still works.
    let value = format!("\"round2-{}\"\n", "x".repeat(200));
    assert_eq!(line(&s, "GET key00999"), value);
    assert_eq!(
        line(&s, "VERIFY"),
        "# Verify\ntables:3\nentries:3000\nerrors:0\n"
    );
    assert_eq!(line(&s, "COMPACT"), "OK\n");
    assert_eq!(line(&s, "GET key00999"), value);
    let t = tables(&s);
    assert_eq!(
        line(&s, "VERIFY"),
        format!("# Verify\ntables:{t}\nentries:1000\nerrors:0\n")
    );
}

#[test]
fn server_commands() {
    let s = store(16 << 20);
    let host = FakeHost {
        log: vec![b"one".to_vec(), b"two".to_vec(), b"three".to_vec()],
        ..FakeHost::default()
    };
    let mut out = Out::default();
    let mut run = |l: &str| line_with(&s, &host, &mut out, l).0;
    assert!(run("HELP").contains("|KEEPTTL] - store a value under a key (NX: only if absent"));
    assert!(run("HELP get").starts_with("usage: GET key\n"));
    assert_eq!(
        run("HELP nosuch"),
        "(error) ERR no such command 'nosuch', type HELP for the list\n"
    );
    // INFO has tests of its own (tests/server.rs).
    assert_eq!(
        run("SERVICES"),
        "1) \"kv\" \"running\" \"the store\" \"us\" \"MIT\"\n"
    );
    assert_eq!(run("SERVICE START kv"), "OK\n");
    assert_eq!(run("service stop cache"), "OK\n");
    assert_eq!(
        run("SERVICE START nosuch"),
        "(error) ERR no service 'nosuch'\n"
    );
    assert_eq!(
        run("SERVICE RESTART kv"),
        "(error) ERR unknown SERVICE action 'RESTART'; usage: SERVICE START|STOP name\n"
    );
    assert_eq!(run("LOG 2"), "two\nthree\n");
    assert_eq!(run("LOG"), "one\ntwo\nthree\n");
    assert_eq!(
        run("LOG many"),
        "(error) ERR LOG takes a line count, e.g. LOG 20\n"
    );
    assert_eq!(
        *host.calls.borrow(),
        ["start kv", "stop cache", "start nosuch"]
    );
}

#[test]
fn shutdown_stops_services_then_replies_then_powers_off() {
    let s = store(16 << 20);
    let host = FakeHost::default();
    let mut out = Out::default();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        line_with(&s, &host, &mut out, "SHUTDOWN")
    }));
    let msg = r.expect_err("power() does not return");
    assert_eq!(
        msg.downcast_ref::<String>().map(String::as_str),
        Some("power off")
    );
    assert_eq!(*host.calls.borrow(), ["stop all"]);
    assert_eq!(out.now, [cmd::Reply::Ok]);
}

/// Redis's SHUTDOWN options, checked as redis-server 7.0.15 checks them
/// (`redis-cli shutdown nosave` is how many stop a server); each mode
/// shuts down alike (every acknowledged write is in the WAL).
#[test]
fn shutdown_takes_redis_options() {
    let s = store(16 << 20);
    for (cmd, reply) in [
        ("SHUTDOWN ABORT", "(error) ERR No shutdown in progress.\n"),
        ("SHUTDOWN NOSAVE SAVE", "(error) ERR syntax error\n"),
        ("SHUTDOWN ABORT NOW", "(error) ERR syntax error\n"),
        ("SHUTDOWN LATER", "(error) ERR syntax error\n"),
    ] {
        assert_eq!(line(&s, cmd), reply, "{cmd}");
    }
    for cmd in ["SHUTDOWN nosave", "SHUTDOWN SAVE NOW FORCE", "shutdown now"] {
        let host = FakeHost::default();
        let mut out = Out::default();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            line_with(&s, &host, &mut out, cmd)
        }));
        assert!(r.is_err(), "{cmd} powers off");
        assert_eq!(*host.calls.borrow(), ["stop all"], "{cmd}");
    }
}

#[test]
fn cache_commands() {
    let s = store(16 << 20);
    assert_eq!(
        line(&s, "CACHE POLICY arc"),
        "(error) ERR the read cache is not running: service 'cache' is stopped (cache) (see SERVICES, LOG)\n"
    );
    with_cache(&s);
    assert_eq!(line(&s, "CACHE POLICY arc"), "OK\n");
    assert_eq!(line(&s, "cache size 2097152"), "OK\n");
    assert_eq!(line(&s, "CACHE RESET"), "OK\n");
    assert!(line(&s, "CACHE POLICY mru").starts_with("(error) ERR "));
    assert_eq!(
        line(&s, "CACHE SIZE lots"),
        "(error) ERR CACHE SIZE takes a number of bytes; usage: CACHE POLICY none|lru|arc|ackey | CACHE SIZE bytes | CACHE METADATA pinned|cached | CACHE RESET\n"
    );
    assert_eq!(
        line(&s, "CACHE RESET now"),
        "(error) ERR usage: CACHE POLICY none|lru|arc|ackey | CACHE SIZE bytes | CACHE METADATA pinned|cached | CACHE RESET\n"
    );
    let info = line(&s, "INFO cache");
    assert!(
        info.starts_with("# Cache\npolicy:arc\ncapacity_bytes:2097152\n"),
        "{info}"
    );
    assert_eq!(line(&s, "CACHE POLICY ackey"), "OK\n");
    assert!(line(&s, "INFO cache").contains("\nkv_bytes:0\n"));
}

#[test]
fn debug_commands() {
    let s = store(16 << 20);
    with_cache(&s);
    let host = FakeHost::default();
    let mut out = Out::default();
    let run = |l: &str, out: &mut Out| line_with(&s, &host, out, l).0;
    assert_eq!(run("DEBUG LOGLEVEL debug", &mut out), "OK\n");
    assert_eq!(
        run("DEBUG LOGLEVEL loud", &mut out),
        "(error) ERR DEBUG LOGLEVEL off|error|warn|info|debug|trace\n"
    );
    assert_eq!(
        run("DEBUG FAULT", &mut out),
        "(error) ERR the fault returned\n"
    );
    let t = std::time::Instant::now();
    assert_eq!(run("DEBUG SLEEP 0", &mut out), "OK\n");
    assert_eq!(run("DEBUG SLEEP 0.05", &mut out), "OK\n");
    assert!(t.elapsed() >= std::time::Duration::from_millis(50));
    for bad in ["DEBUG SLEEP -1", "DEBUG SLEEP 1e9", "DEBUG SLEEP NaN"] {
        assert_eq!(
            run(bad, &mut out),
            "(error) ERR DEBUG SLEEP takes 0 to 86400 seconds\n",
            "{bad}"
        );
    }
    assert_eq!(
        run("DEBUG SLEEP soon", &mut out),
        "(error) ERR value is not a valid float\n"
    );
    assert!(run("DEBUG SLEEP", &mut out).starts_with("(error) ERR usage: DEBUG"));
    assert!(run("DEBUG SLEEP 1 2", &mut out).starts_with("(error) ERR usage: DEBUG"));
    assert_eq!(run("DEBUG PROFILE START 500", &mut out), "OK\n");
    assert_eq!(
        run("DEBUG PROFILE START 100000", &mut out),
        "(error) ERR the sampling rate is 10 to 10000 Hz\n"
    );
    assert_eq!(
        run("DEBUG PROFILE START 500 7", &mut out),
        "(error) ERR no such CPU online (INFO cpu lists them)\n"
    );
    assert_eq!(
        run("DEBUG PROFILE STOP 1", &mut out),
        "samples:10\n      7  70.0% 0x40200000\n"
    );
    assert!(run("DEBUG NOTHING", &mut out).starts_with("(error) ERR usage: DEBUG PANIC"));
    assert_eq!(run("SET k v", &mut out), "OK\n");
    assert_eq!(run("FLUSH", &mut out), "OK\n");
    assert_eq!(run("DEBUG TRACE START", &mut out), "OK\n");
    assert_eq!(run("GET k", &mut out), "\"v\"\n");
    assert_eq!(run("RANGE a z", &mut out), "1) \"k\" \"v\"\n");
    let stop = run("DEBUG TRACE STOP", &mut out);
    assert!(stop.starts_with("# Trace\nrecords:"), "{stop}");
    assert_eq!(run("DEBUG TRACE DUMP", &mut out), "");
    let dump: Vec<String> = out
        .raw
        .iter()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect();
    assert_eq!(dump[0], cache::trace::HEADER);
    assert_eq!(dump[1], "G 6b");
    assert!(
        dump.iter().any(|l| l == "S 61 18446744073709551615"),
        "{dump:?}"
    );
    let records: Vec<_> = cache::trace::parse(&(dump.join("\n") + "\n")).expect("the dump parses");
    assert_eq!(
        stop,
        format!("# Trace\nrecords:{}\ntruncated:0\n", records.len())
    );
    assert_eq!(*host.calls.borrow(), ["loglevel DEBUG", "profile 500"]);
}

#[test]
fn bench_reports_and_remembers_the_loaded_key_space() {
    let s = store(32 << 20);
    with_cache(&s);
    let fill = line(&s, "BENCH fillrandom 3000");
    for f in [
        "workload:fillrandom",
        "ops:3000",
        "keys:3000",
        "value_size:100",
        "sync:0",
        "cache_policy:lru",
        "wal_loss_bound_ms:15",
    ] {
        assert!(fill.contains(&format!("{f}\n")), "{f} in {fill}");
    }
    let read = line(&s, "BENCH readrandom 1000");
    assert!(
        read.contains("\nkeys:3000\n"),
        "reads default to what the fill loaded: {read}"
    );
    assert!(read.contains("\nfound:"), "{read}");
    assert_eq!(
        line(&s, "BENCH frobnicate"),
        format!(
            "(error) ERR unknown workload 'frobnicate'; usage: {}\n",
            workload::USAGE
        )
    );
}

#[test]
fn without_a_store_every_store_command_says_why() {
    let s = StoreCell::new(None);
    for l in [
        "SET a b",
        "GET a",
        "DEL a",
        "EXISTS a",
        "RANGE a z",
        "FLUSH",
        "COMPACT",
        "VERIFY",
        "BENCH fillseq 10",
        "INFO storage",
        "DEBUG TRACE START",
    ] {
        assert_eq!(
            line(&s, l),
            "(error) ERR the store is not available: service 'kv' is stopped (kv) (see LOG; SERVICE START kv retries)\n",
            "{l}"
        );
    }
    assert!(
        line(&s, "INFO").starts_with("# Server\n"),
        "INFO leaves out what is not running"
    );
}

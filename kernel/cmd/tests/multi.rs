//! Transactions over network connections, with the replies a native
//! redis-server 7.0.15 gives. Tests named `multi_tcl_*` are the behaviours
//! Redis's tests/unit/multi.tcl checks that need only strings, keys and
//! expiry (its list commands replaced by string ones; its replication,
//! scripting, OOM and SWAPDB tests are out of scope).

mod common;

use cmd::Reply;
use common::{advance_ms, now_ms, server, set_expiring, store, Session};

/// MULTI, PING, EXEC: EXEC's reply (`1) PONG` or `(nil)`).
fn ping_in_multi(c: &mut Session<'_>) -> String {
    assert_eq!(c.run("MULTI"), "OK\n");
    assert_eq!(c.run("PING"), "QUEUED\n");
    c.run("EXEC")
}

#[test]
fn multi_tcl_multi_exec_basics_and_one_batch() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    assert_eq!(c.run("SET a 0"), "OK\n");
    assert_eq!(c.run("MULTI"), "OK\n");
    assert_eq!(c.run("SET a 1"), "QUEUED\n");
    assert_eq!(c.run("GET a"), "QUEUED\n");
    assert_eq!(c.run("PING"), "QUEUED\n");
    assert_eq!(c.run("SET b 2"), "QUEUED\n");
    assert_eq!(c.run("DEL a"), "QUEUED\n");
    // Nothing ran yet.
    assert_eq!(s.lock().as_ref().unwrap().get(b"b").unwrap(), None);
    let writes_before = s.lock().as_ref().unwrap().group_stats();
    assert_eq!(
        c.reply("EXEC"),
        Reply::Array(vec![
            Reply::Ok,
            Reply::bulk("1"),
            Reply::Status("PONG".into()),
            Reply::Ok,
            Reply::Integer(1),
        ])
    );
    // The transaction's writes reached the store as one batch.
    let writes_after = s.lock().as_ref().unwrap().group_stats();
    assert_eq!(writes_after.1 - writes_before.1, 1);
    assert_eq!(c.run("GET a"), "(nil)\n");
    assert_eq!(c.run("GET b"), "\"2\"\n");
    // An empty transaction.
    assert_eq!(c.run("MULTI"), "OK\n");
    assert_eq!(c.run("EXEC"), "(empty array)\n");
}

#[test]
fn multi_tcl_discard() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    assert_eq!(c.run("SET mykey abc"), "OK\n");
    assert_eq!(c.run("MULTI"), "OK\n");
    assert_eq!(c.run("DEL mykey"), "QUEUED\n");
    assert_eq!(c.run("DISCARD"), "OK\n");
    assert_eq!(c.run("GET mykey"), "\"abc\"\n");
    assert_eq!(c.run("DISCARD"), "(error) ERR DISCARD without MULTI\n");
    assert_eq!(c.run("EXEC"), "(error) ERR EXEC without MULTI\n");
}

#[test]
fn multi_tcl_nested_multi_and_watch_inside_multi_are_not_allowed() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    assert_eq!(c.run("MULTI"), "OK\n");
    assert_eq!(c.run("SET a 1"), "QUEUED\n");
    assert_eq!(
        c.run("MULTI"),
        "(error) ERR MULTI calls can not be nested\n"
    );
    assert_eq!(
        c.run("WATCH x"),
        "(error) ERR WATCH inside MULTI is not allowed\n"
    );
    // Neither refusal aborts the transaction (as in Redis).
    assert_eq!(c.run("EXEC"), "1) OK\n");
}

#[test]
fn multi_tcl_exec_fails_if_there_are_errors_while_queueing_commands() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    // #1: an unknown command (the session refuses it and tells cmd).
    assert_eq!(c.run("MULTI"), "OK\n");
    assert_eq!(c.run("SET foo1{t} bar1"), "QUEUED\n");
    assert!(c
        .run("NON-EXISTING-COMMAND")
        .starts_with("(error) ERR unknown command"));
    assert_eq!(c.run("SET foo2{t} bar2"), "QUEUED\n");
    assert_eq!(
        c.run("EXEC"),
        "(error) EXECABORT Transaction discarded because of previous errors.\n"
    );
    assert_eq!(c.run("EXISTS foo1{t} foo2{t}"), "(integer) 0\n");
    // If EXEC aborts, the client MULTI state is cleared.
    assert_eq!(c.run("PING"), "PONG\n");
    // A wrong number of arguments, or of a subcommand's.
    for bad in ["GET", "CONFIG GET", "CLIENT FOO", "CONFIG SET a"] {
        assert_eq!(c.run("MULTI"), "OK\n");
        assert!(c.run(bad).starts_with("(error) ERR "), "{bad}");
        assert!(c.run("EXEC").starts_with("(error) EXECABORT"), "{bad}");
    }
    // The refusals count as Redis counts them.
    let stats = srv.lock().stats.clone();
    assert_eq!(stats.command("GET").rejected, 1);
    assert_eq!(stats.command("CONFIG").rejected, 2);
    assert_eq!(stats.command("CLIENT").rejected, 1);
    assert_eq!(stats.errors["ERR"], 5);
    assert_eq!(stats.errors["EXECABORT"], 5);
}

#[test]
fn multi_tcl_multi_with_shutdown_is_refused_and_aborts() {
    let (s, srv) = (store(16 << 20), server());
    srv.lock().config.requirepass = Some(b"pw".to_vec());
    let mut c = Session::network(&s, &srv);
    assert_eq!(c.run("AUTH pw"), "OK\n");
    assert_eq!(c.run("MULTI"), "OK\n");
    assert_eq!(c.run("SET foo bar"), "QUEUED\n");
    assert_eq!(
        c.run("SHUTDOWN"),
        "(error) ERR Command not allowed inside a transaction\n"
    );
    assert!(c.run("EXEC").starts_with("(error) EXECABORT"));
    assert_eq!(c.run("GET foo"), "(nil)\n");
    assert!(c.host.calls.borrow().is_empty(), "nothing was stopped");
}

#[test]
fn multi_tcl_runtime_errors_do_not_abort_the_others() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    assert_eq!(c.run("MULTI"), "OK\n");
    assert_eq!(c.run("SET a 1"), "QUEUED\n");
    assert_eq!(c.run("RENAME nokey other"), "QUEUED\n");
    assert_eq!(c.run("COPY a b DB 3"), "QUEUED\n");
    assert_eq!(c.run("SET b 2"), "QUEUED\n");
    assert_eq!(
        c.reply("EXEC"),
        Reply::Array(vec![
            Reply::Ok,
            Reply::error("no such key"),
            Reply::error("DB index is out of range"),
            Reply::Ok,
        ])
    );
    assert_eq!(c.run("GET a"), "\"1\"\n");
    assert_eq!(c.run("GET b"), "\"2\"\n");
    let stats = srv.lock().stats.clone();
    assert_eq!(
        (
            stats.command("RENAME").calls,
            stats.command("RENAME").failed
        ),
        (1, 1)
    );
    assert_eq!(stats.command("SET").calls, 2);
    assert_eq!(stats.command("EXEC").calls, 1);
}

#[test]
fn commands_in_a_transaction_see_the_writes_before_them() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    assert_eq!(c.run("MULTI"), "OK\n");
    for l in [
        "SET a 1",
        "RENAME a b",
        "COPY b c",
        "EXISTS a b c",
        "DBSIZE",
        "KEYS *",
        "TYPE c",
    ] {
        assert_eq!(c.run(l), "QUEUED\n");
    }
    assert_eq!(
        c.run("EXEC"),
        "1) OK\n2) OK\n3) (integer) 1\n4) (integer) 2\n5) (integer) 2\n6) 1) \"b\"\n   2) \"c\"\n7) string\n"
    );
}

#[test]
fn multi_tcl_exec_works_on_watched_key_not_modified() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    assert_eq!(c.run("WATCH x{t} y{t} z{t}"), "OK\n");
    assert_eq!(c.run("WATCH k{t}"), "OK\n");
    assert_eq!(ping_in_multi(&mut c), "1) PONG\n");
}

#[test]
fn multi_tcl_exec_fail_on_watched_key_modified() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    // (1 key of 1 watched), by the client itself.
    assert_eq!(c.run("SET x 30"), "OK\n");
    assert_eq!(c.run("WATCH x"), "OK\n");
    assert_eq!(c.run("SET x 40"), "OK\n");
    assert_eq!(c.run("MULTI"), "OK\n");
    assert_eq!(c.run("PING"), "QUEUED\n");
    assert_eq!(c.reply("EXEC"), Reply::NilArray);
    // (1 key of 5 watched), by another client.
    let mut other = Session::network(&s, &srv);
    assert_eq!(c.run("SET x{t} 30"), "OK\n");
    assert_eq!(c.run("WATCH a{t} b{t} x{t} k{t} z{t}"), "OK\n");
    assert_eq!(other.run("SET x{t} 40"), "OK\n");
    assert_eq!(c.run("MULTI"), "OK\n");
    assert_eq!(c.run("SET done 1"), "QUEUED\n");
    assert_eq!(c.run("EXEC"), "(nil)\n");
    assert_eq!(c.run("EXISTS done"), "(integer) 0\n");
    // Every kind of write touches: DEL, RENAME (both keys), COPY, the
    // writes of another transaction, FLUSHALL.
    for write in ["DEL w", "RENAME w w2", "RENAME v w", "COPY v w REPLACE"] {
        assert_eq!(other.run("SET w 1"), "OK\n");
        assert_eq!(other.run("SET v 1"), "OK\n");
        assert_eq!(c.run("WATCH w"), "OK\n");
        assert!(!other.run(write).starts_with("(error)"), "{write}");
        assert_eq!(ping_in_multi(&mut c), "(nil)\n", "{write}");
    }
    assert_eq!(c.run("WATCH w"), "OK\n");
    assert_eq!(other.run("MULTI"), "OK\n");
    assert_eq!(other.run("SET w 3"), "QUEUED\n");
    assert_eq!(other.run("EXEC"), "1) OK\n");
    assert_eq!(c.run("MULTI"), "OK\n");
    assert_eq!(c.run("EXEC"), "(nil)\n");
}

#[test]
fn a_write_that_changes_nothing_touches_nothing() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    let mut other = Session::network(&s, &srv);
    assert_eq!(c.run("WATCH absent"), "OK\n");
    // Redis: DEL of a missing key, RENAMENX refused, COPY refused.
    assert_eq!(other.run("SET there 1"), "OK\n");
    assert_eq!(other.run("DEL absent"), "(integer) 0\n");
    assert_eq!(other.run("COPY nokey absent"), "(integer) 0\n");
    assert_eq!(ping_in_multi(&mut c), "1) PONG\n");
}

#[test]
fn multi_tcl_exec_fail_on_lazy_expired_watched_key() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    set_expiring(&s, "key", "1", now_ms() + 5);
    assert_eq!(c.run("WATCH key"), "OK\n");
    advance_ms(10);
    assert_eq!(c.run("MULTI"), "OK\n");
    assert_eq!(c.run("SET key 2"), "QUEUED\n");
    assert_eq!(c.run("EXEC"), "(nil)\n");
    assert_eq!(c.run("GET key"), "(nil)\n");
}

#[test]
fn multi_tcl_watch_stale_keys_should_not_fail_exec() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    // WATCH stale keys should not fail EXEC.
    set_expiring(&s, "x", "foo", now_ms() + 1);
    advance_ms(2);
    assert_eq!(c.run("WATCH x"), "OK\n");
    assert_eq!(ping_in_multi(&mut c), "1) PONG\n");
    // Delete WATCHed stale keys should not fail EXEC.
    set_expiring(&s, "x", "foo", now_ms() + 1);
    advance_ms(2);
    assert_eq!(c.run("WATCH x"), "OK\n");
    assert_eq!(c.run("EXISTS x"), "(integer) 0\n");
    assert_eq!(c.run("DEL x"), "(integer) 0\n");
    assert_eq!(ping_in_multi(&mut c), "1) PONG\n");
    // FLUSHDB while watching stale keys should not fail EXEC.
    set_expiring(&s, "x", "foo", now_ms() + 1);
    advance_ms(2);
    assert_eq!(c.run("WATCH x"), "OK\n");
    assert_eq!(c.run("FLUSHDB"), "OK\n");
    assert_eq!(ping_in_multi(&mut c), "1) PONG\n");
    // But a stale key written since fails it (as redis-server 7.0.15).
    set_expiring(&s, "x", "foo", now_ms() + 1);
    advance_ms(2);
    assert_eq!(c.run("WATCH x"), "OK\n");
    assert_eq!(c.run("SET x bar"), "OK\n");
    assert_eq!(ping_in_multi(&mut c), "(nil)\n");
}

#[test]
fn multi_tcl_after_exec_or_unwatch_keys_are_no_longer_watched() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    // After successful EXEC key is no longer watched.
    assert_eq!(c.run("SET x 30"), "OK\n");
    assert_eq!(c.run("WATCH x"), "OK\n");
    assert_eq!(ping_in_multi(&mut c), "1) PONG\n");
    assert_eq!(c.run("SET x 40"), "OK\n");
    assert_eq!(ping_in_multi(&mut c), "1) PONG\n");
    // After failed EXEC key is no longer watched.
    assert_eq!(c.run("WATCH x"), "OK\n");
    assert_eq!(c.run("SET x 50"), "OK\n");
    assert_eq!(c.run("MULTI"), "OK\n");
    assert_eq!(c.run("EXEC"), "(nil)\n");
    assert_eq!(c.run("SET x 60"), "OK\n");
    assert_eq!(ping_in_multi(&mut c), "1) PONG\n");
    // It is possible to UNWATCH.
    assert_eq!(c.run("WATCH x"), "OK\n");
    assert_eq!(c.run("SET x 40"), "OK\n");
    assert_eq!(c.run("UNWATCH"), "OK\n");
    assert_eq!(ping_in_multi(&mut c), "1) PONG\n");
    // UNWATCH when there is nothing watched works as expected.
    assert_eq!(c.run("UNWATCH"), "OK\n");
    assert!(srv.lock().watched.is_empty());
    // UNWATCH inside MULTI is queued, as in Redis.
    assert_eq!(c.run("MULTI"), "OK\n");
    assert_eq!(c.run("UNWATCH"), "QUEUED\n");
    assert_eq!(c.run("EXEC"), "1) OK\n");
}

#[test]
fn multi_tcl_flushall_and_flushdb_touch_the_watched_keys_that_exist() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    for flush in ["FLUSHALL", "FLUSHDB"] {
        // ... is able to touch the watched keys.
        assert_eq!(c.run("SET x 30"), "OK\n");
        assert_eq!(c.run("WATCH x"), "OK\n");
        assert_eq!(c.run(flush), "OK\n");
        assert_eq!(ping_in_multi(&mut c), "(nil)\n", "{flush}");
        // ... does not touch non affected keys.
        assert_eq!(c.run("DEL x"), "(integer) 0\n");
        assert_eq!(c.run("WATCH x"), "OK\n");
        assert_eq!(c.run(flush), "OK\n");
        assert_eq!(ping_in_multi(&mut c), "1) PONG\n", "{flush}");
    }
    // Flushall while watching several keys by one client.
    assert_eq!(c.run("SET a a"), "OK\n");
    assert_eq!(c.run("SET b b"), "OK\n");
    assert_eq!(c.run("WATCH b a"), "OK\n");
    assert_eq!(c.run("FLUSHALL"), "OK\n");
    assert_eq!(c.run("PING"), "PONG\n");
}

#[test]
fn multi_tcl_watch_will_consider_touched_expired_keys() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    set_expiring(&s, "x", "foo", now_ms() + 5);
    assert_eq!(c.run("WATCH x"), "OK\n");
    advance_ms(10);
    assert_eq!(c.run("DBSIZE"), "(integer) 0\n");
    assert_eq!(ping_in_multi(&mut c), "(nil)\n");
}

#[test]
fn multi_tcl_discard_should_clear_the_watch_dirty_flag_and_unwatch_all_the_keys() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    assert_eq!(c.run("WATCH x"), "OK\n");
    assert_eq!(c.run("SET x 10"), "OK\n");
    assert_eq!(c.run("MULTI"), "OK\n");
    assert_eq!(c.run("DISCARD"), "OK\n");
    assert_eq!(c.run("MULTI"), "OK\n");
    assert_eq!(c.run("SET x 11"), "QUEUED\n");
    assert_eq!(c.run("EXEC"), "1) OK\n");
    assert_eq!(c.run("WATCH x"), "OK\n");
    assert_eq!(c.run("SET x 10"), "OK\n");
    assert_eq!(c.run("MULTI"), "OK\n");
    assert_eq!(c.run("DISCARD"), "OK\n");
    assert_eq!(c.run("SET x 10"), "OK\n");
    assert_eq!(c.run("MULTI"), "OK\n");
    assert_eq!(c.run("GET x"), "QUEUED\n");
    assert_eq!(c.run("EXEC"), "1) \"10\"\n");
}

#[test]
fn multi_tcl_multi_with_flushall() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    let mut other = Session::network(&s, &srv);
    assert_eq!(c.run("SET before 1"), "OK\n");
    assert_eq!(other.run("WATCH foo"), "OK\n");
    assert_eq!(c.run("MULTI"), "OK\n");
    assert_eq!(c.run("SET foo bar"), "QUEUED\n");
    assert_eq!(c.run("FLUSHALL"), "QUEUED\n");
    assert_eq!(c.run("SET after 2"), "QUEUED\n");
    assert_eq!(c.run("EXEC"), "1) OK\n2) OK\n3) OK\n");
    assert_eq!(c.run("GET foo"), "(nil)\n");
    assert_eq!(c.run("GET before"), "(nil)\n");
    assert_eq!(c.run("GET after"), "\"2\"\n");
    // The transaction wrote foo, which another client watched.
    assert_eq!(other.run("MULTI"), "OK\n");
    assert_eq!(other.run("EXEC"), "(nil)\n");
}

#[test]
fn watching_the_same_key_twice_and_leaving_forgets_it() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    assert_eq!(c.run("WATCH a a b"), "OK\n");
    assert_eq!(c.run("WATCH a"), "OK\n");
    assert_eq!(c.client.watched.len(), 2);
    assert_eq!(srv.lock().watched[&b"a".to_vec()].0, 1);
    let mut other = Session::network(&s, &srv);
    assert_eq!(other.run("WATCH a"), "OK\n");
    assert_eq!(srv.lock().watched[&b"a".to_vec()].0, 2);
    srv.lock().unregister(&mut c.client);
    assert_eq!(srv.lock().watched[&b"a".to_vec()].0, 1);
    assert!(!srv.lock().watched.contains_key(b"b".as_slice()));
}

/// A transaction past the point where its writes get an index (16): every
/// command sees the writes before it, overwrites and deletions included,
/// in reads and in scans, and the store ends with the last of each.
#[test]
fn long_transaction_sees_its_own_writes() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    assert_eq!(c.run("SET k00 stored"), "OK\n");
    assert_eq!(c.run("MULTI"), "OK\n");
    let mut expected = Vec::new();
    for round in 0..3 {
        for k in 0..12 {
            assert_eq!(c.run(&format!("SET k{k:02} r{round}")), "QUEUED\n");
            expected.push(Reply::Ok);
            assert_eq!(c.run(&format!("GET k{k:02}")), "QUEUED\n");
            expected.push(Reply::bulk(format!("r{round}")));
        }
        assert_eq!(c.run(&format!("DEL k{:02}", round * 2)), "QUEUED\n");
        expected.push(Reply::Integer(1));
        assert_eq!(c.run(&format!("EXISTS k{:02}", round * 2)), "QUEUED\n");
        expected.push(Reply::Integer(0));
        assert_eq!(c.run("DBSIZE"), "QUEUED\n");
        expected.push(Reply::Integer(11));
    }
    assert_eq!(c.run("INCR k01"), "QUEUED\n");
    expected.push(Reply::Error(
        "value is not an integer or out of range".into(),
    ));
    assert_eq!(c.reply("EXEC"), Reply::Array(expected));
    assert_eq!(c.run("KEYS *").lines().count(), 11);
    assert_eq!(c.run("GET k04"), "(nil)\n");
    assert_eq!(c.run("GET k05"), "\"r2\"\n");
}

/// A transaction's queue is bounded by the free heap: a command that
/// would take it past a quarter (the test double's 64 MiB: 16 MiB) gets
/// Redis's OOM error, and EXEC aborts, as after any refused command.
#[test]
fn a_queue_past_a_quarter_of_the_free_heap_is_refused() {
    let (s, srv) = (store(256 << 20), server());
    let mut c = Session::network(&s, &srv);
    let set = format!("SET k {}", "v".repeat(1 << 20));
    assert_eq!(c.run("MULTI"), "OK\n");
    for _ in 0..15 {
        assert_eq!(c.run(&set), "QUEUED\n");
    }
    let refused = c.run(&set);
    assert!(
        refused.starts_with("(error) OOM command not allowed: the transaction's queued commands"),
        "{refused}"
    );
    assert_eq!(
        c.run("EXEC"),
        "(error) EXECABORT Transaction discarded because of previous errors.\n"
    );
    assert_eq!(c.run("EXISTS k"), "(integer) 0\n");
    // A new transaction starts from an empty queue.
    assert_eq!(c.run("MULTI"), "OK\n");
    assert_eq!(c.run(&set), "QUEUED\n");
    assert_eq!(c.run("EXEC"), "1) OK\n");
}

/// The keys a client watches are bounded by the free heap too: past a
/// quarter of it (16 MiB here; each key is kept twice) WATCH answers
/// Redis's OOM error; the keys watched before stay watched.
#[test]
fn watched_keys_past_a_quarter_of_the_free_heap_are_refused() {
    let (s, srv) = (store(256 << 20), server());
    let mut c = Session::network(&s, &srv);
    let keys = |from: usize| -> String {
        (from..from + 1000)
            .map(|i| format!(" {i:01000}"))
            .collect::<String>()
    };
    for batch in 0..7 {
        assert_eq!(c.run(&format!("WATCH{}", keys(batch * 1000))), "OK\n");
    }
    let refused = c.run(&format!("WATCH{}", keys(7000)));
    assert!(
        refused.starts_with("(error) OOM command not allowed: the watched keys"),
        "{refused}"
    );
    assert_eq!(c.run("UNWATCH"), "OK\n");
    assert_eq!(c.run(&format!("WATCH{}", keys(0))), "OK\n");
}

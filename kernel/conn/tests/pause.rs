//! CLIENT PAUSE over connections, as Redis 7.0's tests/unit/pause.tcl
//! checks it and redis-server 7.0.15 answers: what waits (writes, or
//! everything), what does not (reads, malformed commands, the console's),
//! in what order the waiting run, and what the server shows meanwhile.

mod common;

use cmd::testing::{advance_ms, freeze_clock, Session};
use cmd::Caller;
use common::{Rig, OTHER as B, PEER as A};
use conn::{Connection, Env};

/// INFO clients' `blocked_clients`.
fn blocked(rig: &Rig) -> String {
    let mut console = Session::console(&rig.store, &rig.server);
    let info = console.run("INFO clients");
    let line = info
        .lines()
        .find(|l| l.starts_with("blocked_clients:"))
        .unwrap();
    line["blocked_clients:".len()..].to_string()
}

/// What the connection has ready to send, taken, its writes committed
/// first: what a test sees waiting is the pause's doing, not the group
/// commit's.
fn take(c: &mut Connection, env: &Env<'_>) -> String {
    env.store.lock().as_mut().unwrap().commit().unwrap();
    c.release(env);
    let out = String::from_utf8_lossy(c.output()).into_owned();
    let n = c.output().len();
    c.sent(n);
    out
}

/// "Test read commands are not blocked by client pause", "Test write
/// commands are paused by RO", "Test clients with syntax errors will get
/// responses immediately", "Test multiple clients can be queued up and
/// unblocked".
#[test]
fn a_write_pause_holds_writes_in_order_and_lets_reads_and_errors_through() {
    freeze_clock(1_700_000_000_000_000);
    let rig = Rig::new();
    let env = rig.env();
    let mut a = Connection::new(&env, A);
    let mut b = Connection::new(&env, B);
    a.input(&env, b"SET foo bar\r\nCLIENT PAUSE 100000 WRITE\r\n");
    assert_eq!(take(&mut a, &env), "+OK\r\n+OK\r\n");
    b.input(
        &env,
        b"GET foo\r\nPING\r\nSET\r\nSET foo baz\r\nGET foo\r\n",
    );
    // The read, PING and the malformed SET at once; the SET waits, and the
    // GET behind it with it.
    assert_eq!(
        take(&mut b, &env),
        "$3\r\nbar\r\n+PONG\r\n-ERR wrong number of arguments for 'set' command\r\n"
    );
    assert_eq!(blocked(&rig), "1");
    assert!(b.client().postponed);
    assert!(!b.resume(&env), "still paused");
    a.input(&env, b"GET foo\r\nCLIENT LIST ID 2\r\n");
    let out = take(&mut a, &env);
    assert!(out.starts_with("$3\r\nbar\r\n"), "{out}");
    assert!(out.contains(" flags=b "), "{out}");
    a.input(&env, b"CLIENT UNPAUSE\r\n");
    assert_eq!(take(&mut a, &env), "+OK\r\n");
    assert!(b.resume(&env));
    assert_eq!(take(&mut b, &env), "+OK\r\n$3\r\nbaz\r\n");
    assert_eq!(blocked(&rig), "0");
    assert!(!b.client().postponed);
}

/// A pause ends by the clock too; a second PAUSE lengthens it and never
/// shortens it; an ALL pause holds reads as well.
#[test]
fn a_pause_ends_by_the_clock_and_all_holds_every_command() {
    freeze_clock(1_700_000_000_000_000);
    let rig = Rig::new();
    let env = rig.env();
    let mut a = Connection::new(&env, A);
    let mut b = Connection::new(&env, B);
    let mut console = Session::console(&rig.store, &rig.server);
    a.input(&env, b"CLIENT PAUSE 1000\r\nPING\r\n");
    assert_eq!(
        take(&mut a, &env),
        "+OK\r\n",
        "ALL holds its own client too"
    );
    assert_eq!(console.run("CLIENT PAUSE 10 WRITE"), "OK\n");
    b.input(&env, b"GET foo\r\n");
    assert_eq!(take(&mut b, &env), "", "ALL holds reads");
    advance_ms(999);
    assert!(!b.resume(&env));
    advance_ms(1);
    assert!(b.resume(&env));
    assert_eq!(take(&mut b, &env), "$-1\r\n");
    assert!(a.resume(&env));
    assert_eq!(take(&mut a, &env), "+PONG\r\n");
    // The console is never paused: it is the operator's.
    assert_eq!(console.run("CLIENT PAUSE 5000"), "OK\n");
    assert_eq!(console.run("SET k v"), "OK\n");
    assert_eq!(console.run("CLIENT UNPAUSE"), "OK\n");
}

/// "Test read/admin multi-execs are not blocked by pause RO", "Test write
/// multi-execs are blocked by pause RO", "Test that client pause starts at
/// the end of a transaction".
#[test]
fn transactions_wait_if_they_write_and_a_pause_they_set_starts_after_them() {
    freeze_clock(1_700_000_000_000_000);
    let rig = Rig::new();
    let env = rig.env();
    let mut a = Connection::new(&env, A);
    let mut b = Connection::new(&env, B);
    // A pause set inside a transaction starts when it ends.
    a.input(
        &env,
        b"MULTI\r\nSET foo1 BAR\r\nCLIENT PAUSE 60000 WRITE\r\nSET foo2 BAR\r\nEXEC\r\n",
    );
    assert_eq!(
        take(&mut a, &env),
        "+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n+OK\r\n+OK\r\n+OK\r\n"
    );
    // A transaction of reads runs; EXEC of one that writes waits.
    b.input(&env, b"MULTI\r\nPING\r\nGET foo1\r\nEXEC\r\n");
    assert_eq!(
        take(&mut b, &env),
        "+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+PONG\r\n$3\r\nBAR\r\n"
    );
    assert_eq!(blocked(&rig), "0");
    let mut w = Connection::new(
        &env,
        Caller::Network {
            addr: [127, 0, 0, 1],
            port: 50002,
        },
    );
    w.input(&env, b"MULTI\r\nGET foo1\r\n");
    assert_eq!(take(&mut w, &env), "+OK\r\n+QUEUED\r\n");
    // A write is held even while queueing, as in Redis (the pause is
    // checked before a command is queued).
    w.input(&env, b"SET foo3 BAR\r\nEXEC\r\n");
    assert_eq!(take(&mut w, &env), "");
    assert_eq!(blocked(&rig), "1");
    a.input(&env, b"GET foo3\r\nCLIENT UNPAUSE\r\n");
    assert_eq!(take(&mut a, &env), "$-1\r\n+OK\r\n");
    assert!(w.resume(&env));
    assert_eq!(take(&mut w, &env), "+QUEUED\r\n*2\r\n$3\r\nBAR\r\n+OK\r\n");
}

/// What a paused client sends waits as its query buffer does in Redis:
/// past `client-query-buffer-limit` the client is dropped; it does not
/// time out meanwhile; one that is not authenticated is refused at once.
#[test]
fn waiting_commands_are_bounded_and_unauthenticated_ones_refused() {
    freeze_clock(1_700_000_000_000_000);
    let rig = Rig::new();
    let env = rig.env();
    let mut console = Session::console(&rig.store, &rig.server);
    assert_eq!(
        console.run("CONFIG SET client-query-buffer-limit 1048576"),
        "OK\n"
    );
    assert_eq!(console.run("CLIENT PAUSE 60000 WRITE"), "OK\n");
    let mut b = Connection::new(&env, B);
    let big = format!("SET k {}\r\n", "v".repeat(600 << 10));
    b.input(&env, big.as_bytes());
    assert!(!b.wants_close());
    assert!(b.held_bytes() > 600 << 10);
    b.input(&env, big.as_bytes());
    assert!(b.wants_close(), "past the query buffer limit");
    assert_eq!(console.run("CONFIG SET requirepass secret"), "OK\n");
    let mut c = Connection::new(&env, A);
    c.input(&env, b"SET k v\r\n");
    assert_eq!(take(&mut c, &env), "-NOAUTH Authentication required.\r\n");
}

//! A Redis-protocol connection on the host, over a real store: pipelining,
//! replies held until their group commit (across connections), protocol
//! errors, QUIT, Redis's refusals, RESP3, the unread-output cap, the
//! appendfsync modes and authentication.

mod common;

use cmd::{Appendfsync, Caller};
use common::{take, Rig, OTHER, PEER};
use conn::Connection;

#[test]
fn pipelined_writes_wait_for_their_group_commit_reads_do_not_overtake() {
    let rig = Rig::new();
    let env = rig.env();
    let mut c = Connection::new(&env, PEER);
    c.input(
        &env,
        b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\nGET a\r\n*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n",
    );
    assert_eq!(
        take(&mut c),
        "",
        "the OK waits for the disk, and so does what follows"
    );
    c.release(&env);
    assert_eq!(take(&mut c), "", "no commit yet");
    rig.commit();
    c.release(&env);
    assert_eq!(take(&mut c), "+OK\r\n$1\r\n1\r\n:1\r\n");
    // A read alone goes at once.
    c.input(&env, b"GET a\r\n");
    assert_eq!(take(&mut c), "$1\r\n1\r\n");
}

#[test]
fn held_replies_go_commit_by_commit_in_order() {
    let rig = Rig::new();
    let env = rig.env();
    let mut c = Connection::new(&env, PEER);
    c.input(&env, b"SET a 1\r\n");
    rig.commit();
    c.input(&env, b"SET b 2\r\nGET b\r\n*1\r\n$abc\r\n");
    assert_eq!(take(&mut c), "");
    c.release(&env);
    assert_eq!(take(&mut c), "+OK\r\n", "the second SET waits");
    assert!(!c.wants_close(), "the error is held behind it");
    rig.commit();
    c.release(&env);
    assert_eq!(
        take(&mut c),
        "+OK\r\n$1\r\n2\r\n-ERR Protocol error: invalid bulk length\r\n"
    );
    assert_eq!(c.unsent_bytes(), 0);
    assert!(c.wants_close());
}

#[test]
fn writes_of_several_connections_share_one_flush() {
    let rig = Rig::new();
    let env = rig.env();
    let mut conns: Vec<Connection> = (0..5).map(|_| Connection::new(&env, PEER)).collect();
    for (i, c) in conns.iter_mut().enumerate() {
        c.input(&env, format!("SET k{i} v{i}\r\n").as_bytes());
    }
    rig.commit();
    for c in &mut conns {
        c.release(&env);
        assert_eq!(take(c), "+OK\r\n");
    }
    assert_eq!(rig.store.lock().as_ref().unwrap().group_stats(), (1, 5));
}

#[test]
fn a_protocol_error_answers_then_closes_and_ignores_the_rest() {
    let rig = Rig::new();
    let env = rig.env();
    let mut c = Connection::new(&env, PEER);
    c.input(&env, b"PING\r\n*1\r\n$abc\r\nPING\r\n");
    assert_eq!(
        take(&mut c),
        "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n"
    );
    assert!(c.wants_close());
    c.input(&env, b"PING\r\n");
    assert_eq!(take(&mut c), "", "nothing after the error runs");
}

#[test]
fn quit_answers_ok_then_the_connection_closes() {
    let rig = Rig::new();
    let env = rig.env();
    let mut c = Connection::new(&env, PEER);
    c.input(&env, b"QUIT\r\nSET after quit\r\n");
    assert!(!c.wants_close(), "not before its reply is sent");
    assert_eq!(take(&mut c), "+OK\r\n");
    assert!(c.wants_close());
    assert_eq!(
        rig.store.lock().as_ref().unwrap().get(b"after").unwrap(),
        None,
        "what came after QUIT did not run"
    );
}

#[test]
fn unknown_commands_and_arity_in_redis_words_and_execabort() {
    let rig = Rig::new();
    let env = rig.env();
    let mut c = Connection::new(&env, PEER);
    c.input(&env, b"FOO a b\r\nGET\r\n");
    assert_eq!(
        take(&mut c),
        "-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n\
         -ERR wrong number of arguments for 'get' command\r\n"
    );
    c.input(&env, b"MULTI\r\nSET x 1\r\nNOSUCH\r\nEXEC\r\n");
    assert_eq!(
        take(&mut c),
        "+OK\r\n+QUEUED\r\n-ERR unknown command 'NOSUCH', with args beginning with: \r\n\
         -EXECABORT Transaction discarded because of previous errors.\r\n"
    );
    c.input(&env, b"EXISTS x\r\n");
    assert_eq!(
        take(&mut c),
        ":0\r\n",
        "the aborted transaction wrote nothing"
    );
}

#[test]
fn hello_3_switches_to_resp3() {
    let rig = Rig::new();
    let env = rig.env();
    let mut c = Connection::new(&env, PEER);
    c.input(&env, b"HELLO 3\r\n");
    let hello = take(&mut c);
    assert!(
        hello.starts_with("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n"),
        "{hello}"
    );
    c.input(&env, b"GET nothing\r\n");
    assert_eq!(take(&mut c), "_\r\n", "RESP3's null");
}

#[test]
fn a_client_that_does_not_read_is_dropped_at_the_limit() {
    let rig = Rig::new();
    rig.server.lock().config.client_output_buffer_limit = 4096;
    let env = rig.env();
    let mut c = Connection::new(&env, PEER);
    c.input(&env, format!("SET big {}\r\n", "x".repeat(1000)).as_bytes());
    rig.commit();
    c.release(&env);
    take(&mut c);
    c.input(&env, "GET big\r\n".repeat(3).as_bytes());
    assert!(!c.was_dropped(), "3 KB unread is under the limit");
    c.input(&env, "GET big\r\n".repeat(100).as_bytes());
    assert!(c.was_dropped() && c.wants_close());
    assert_eq!(c.unsent_bytes(), 0, "its replies are let go at once");
}

/// A limit smaller than a reply (`normal 1 0 0`) drops no client that
/// reads: as in Redis, only what overflows the 16 KiB reply buffer counts.
#[test]
fn an_output_limit_under_one_reply_drops_only_clients_that_do_not_read() {
    let rig = Rig::new();
    rig.server.lock().config.client_output_buffer_limit = 1;
    let env = rig.env();
    let mut c = Connection::new(&env, PEER);
    for _ in 0..3 {
        c.input(&env, b"PING\r\n");
        assert!(!c.was_dropped());
        assert_eq!(take(&mut c), "+PONG\r\n");
    }
    c.input(&env, "PING\r\n".repeat(2300).as_bytes());
    assert!(
        !c.was_dropped(),
        "16,100 bytes unread: within the reply buffer"
    );
    c.input(&env, "PING\r\n".repeat(100).as_bytes());
    assert!(c.was_dropped(), "past the buffer and the limit");
}

/// Redis's client-query-buffer-limit (1 MiB at least): a request that has
/// brought more than it, unfinished, closes the client; a smaller one goes
/// on; what the client held is let go.
#[test]
fn a_request_past_the_query_buffer_limit_closes_the_client() {
    let rig = Rig::new();
    rig.server.lock().config.client_query_buffer_limit = 1 << 20;
    let env = rig.env();
    let mut c = Connection::new(&env, PEER);
    c.input(&env, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3000000\r\n");
    let chunk = vec![b'v'; 256 << 10];
    for _ in 0..3 {
        c.input(&env, &chunk);
        assert!(!c.was_dropped(), "768 KiB is under the limit");
    }
    c.input(&env, &chunk[..(256 << 10) - 200]);
    assert!(!c.was_dropped(), "the headers and 1 MiB less 200 bytes");
    c.input(&env, &chunk[..200]);
    assert!(c.was_dropped() && c.wants_close(), "past 1 MiB");
    assert_eq!(c.held_bytes(), 0, "its request is let go at once");
    assert_eq!(take(&mut c), "", "nothing is sent, as in Redis");
    // A request under the limit, in one go.
    let mut d = Connection::new(&env, PEER);
    let mut req = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$900000\r\n".to_vec();
    req.resize(req.len() + 900_000, b'v');
    req.extend_from_slice(b"\r\n");
    d.input(&env, &req);
    assert!(!d.was_dropped());
    rig.commit();
    d.release(&env);
    assert_eq!(take(&mut d), "+OK\r\n");
}

/// CONFIG SET proto-max-bulk-len holds at once for connections already
/// open, as in Redis.
#[test]
fn proto_max_bulk_len_changes_for_open_connections() {
    let rig = Rig::new();
    let env = rig.env();
    let mut c = Connection::new(&env, PEER);
    rig.server.lock().config.proto_max_bulk_len = 1 << 20;
    c.input(&env, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048577\r\n");
    assert_eq!(take(&mut c), "-ERR Protocol error: invalid bulk length\r\n");
}

#[test]
fn under_appendfsync_everysec_replies_do_not_wait_for_the_disk() {
    let rig = Rig::new();
    rig.server.lock().config.appendfsync = Appendfsync::Everysec;
    let env = rig.env();
    let mut c = Connection::new(&env, PEER);
    c.input(&env, b"SET k v\r\n");
    assert_eq!(take(&mut c), "+OK\r\n");
    assert_eq!(
        rig.store.lock().as_ref().unwrap().pending(),
        1,
        "not on disk yet"
    );
}

#[test]
fn a_password_is_asked_for_before_anything_else() {
    let rig = Rig::new();
    rig.server.lock().config.requirepass = Some(b"pw".to_vec());
    let env = rig.env();
    let mut c = Connection::new(&env, PEER);
    c.input(&env, b"GET k\r\nAUTH nope\r\nAUTH pw\r\nGET k\r\n");
    assert_eq!(
        take(&mut c),
        "-NOAUTH Authentication required.\r\n\
         -WRONGPASS invalid username-password pair or user is disabled.\r\n\
         +OK\r\n$-1\r\n"
    );
    // Before AUTH, Redis's limits on unauthenticated requests apply.
    let mut d = Connection::new(&env, PEER);
    d.input(&env, b"*1\r\n$20000\r\n");
    assert_eq!(
        take(&mut d),
        "-ERR Protocol error: unauthenticated bulk length\r\n"
    );
    d.close(&env);
    c.close(&env);
    assert!(
        rig.server.lock().clients.is_empty(),
        "closed connections leave the list"
    );
}

/// GETs read into the buffer the last GET's reply gave back: each reply is
/// its own value whatever the sizes before it, a missing key is nil, and
/// a value over the kept size still comes whole.
#[test]
fn gets_and_sets_reuse_their_buffers_and_answer_each_value() {
    let rig = Rig::new();
    let env = rig.env();
    let mut c = Connection::new(&env, PEER);
    let big = "x".repeat(cmd::SPARE_VALUE_MAX + 100);
    let set = |c: &mut Connection, k: &str, v: &str| {
        let req = format!(
            "*3\r\n$3\r\nSET\r\n${}\r\n{k}\r\n${}\r\n{v}\r\n",
            k.len(),
            v.len()
        );
        c.input(&env, req.as_bytes());
        rig.commit();
        c.release(&env);
        assert_eq!(take(c), "+OK\r\n");
    };
    set(&mut c, "long", "a much longer value than the others");
    set(&mut c, "s", "ab");
    set(&mut c, "big", &big);
    // Each SET's batch is the one kept from the SET before (none after
    // `big`, whose batch was over cmd::SPARE_BATCH_MAX).
    set(&mut c, "after", "y");
    for (key, want) in [
        ("after", "y"),
        ("long", "a much longer value than the others"),
        ("s", "ab"),
        ("none", ""),
        ("s", "ab"),
        ("big", big.as_str()),
        ("s", "ab"),
        ("long", "a much longer value than the others"),
    ] {
        c.input(&env, format!("GET {key}\r\n").as_bytes());
        let reply = if key == "none" {
            "$-1\r\n".to_string()
        } else {
            format!("${}\r\n{want}\r\n", want.len())
        };
        assert_eq!(take(&mut c), reply, "GET {key}");
    }
}

/// MONITOR as Redis 7.0 streams it: a status line per command another
/// client ran, its arguments quoted as Redis quotes them, passwords
/// redacted, administrative commands left out, a transaction's commands
/// between MULTI and EXEC; a monitor may not touch keys; RESET ends it.
#[test]
fn monitor_streams_every_command_run_as_redis_writes_it() {
    let rig = Rig::new();
    let env = rig.env();
    let mut m = Connection::new(&env, PEER);
    let mut c = Connection::new(&env, OTHER);
    m.input(&env, b"MONITOR\r\n");
    m.release(&env);
    assert_eq!(take(&mut m), "+OK\r\n");
    // CLIENT LIST shows it with Redis's flag for a monitor (and is not
    // itself shown to monitors).
    c.input(&env, b"CLIENT LIST\r\n");
    let list = take(&mut c);
    let row = list.lines().find(|l| l.contains(":50000 ")).unwrap();
    assert!(row.contains(" flags=O "), "{row}");
    c.input(&env, b"*3\r\n$3\r\nset\r\n$1\r\nk\r\n$5\r\na\"\n\xff\\\r\n");
    c.input(
        &env,
        b"GET k\r\nAUTH secret\r\nCONFIG GET maxclients\r\nMULTI\r\nINCR n\r\nEXEC\r\n",
    );
    rig.commit();
    c.release(&env);
    m.release(&env);
    let lines = take(&mut m);
    let shown: Vec<&str> = lines
        .split_terminator("\r\n")
        .map(|l| {
            assert!(l.starts_with('+'), "{l}");
            let (head, rest) = l.split_once("] ").unwrap();
            assert!(head.ends_with(" [0 127.0.0.1:50001"), "{l}");
            rest
        })
        .collect();
    assert_eq!(
        shown,
        [
            r#""set" "k" "a\"\n\xff\\""#,
            r#""GET" "k""#,
            r#""AUTH" "(redacted)""#,
            r#""MULTI""#,
            r#""INCR" "n""#,
            r#""EXEC""#
        ]
    );
    m.input(&env, b"GET k\r\nPING\r\n");
    assert_eq!(
        take(&mut m),
        "-ERR Replica can't interact with the keyspace\r\n+PONG\r\n"
    );
    // CLIENT REPLY OFF leaves the lines out too, until ON.
    m.input(&env, b"CLIENT REPLY OFF\r\n");
    c.input(&env, b"ECHO unseen\r\n");
    m.release(&env);
    assert_eq!(take(&mut m), "");
    m.input(&env, b"CLIENT REPLY ON\r\n");
    c.input(&env, b"ECHO seen\r\n");
    m.release(&env);
    let lines = take(&mut m);
    assert!(lines.starts_with("+OK\r\n+"), "{lines}");
    assert!(lines.ends_with("\"ECHO\" \"seen\"\r\n") && !lines.contains("unseen"));
    m.input(&env, b"RESET\r\n");
    assert_eq!(take(&mut m), "+RESET\r\n");
    c.input(&env, b"PING\r\n");
    m.release(&env);
    assert_eq!(take(&mut m), "", "no longer monitoring");
    // A monitor that stops reading is dropped at the output limit (past
    // the 16 KiB reply buffer), as any client.
    rig.server.lock().config.client_output_buffer_limit = 1;
    let mut m2 = Connection::new(&env, PEER);
    m2.input(&env, b"MONITOR\r\n");
    m2.release(&env);
    assert_eq!(take(&mut m2), "+OK\r\n");
    let echo = format!("ECHO {}\r\n", "x".repeat(100));
    for _ in 0..20 {
        for _ in 0..10 {
            c.input(&env, echo.as_bytes());
        }
        take(&mut c);
        m2.release(&env);
    }
    assert!(m2.was_dropped() && m2.wants_close());
    // The console has no stream to monitor on.
    let mut console = Connection::new(&env, Caller::Console);
    console.input(&env, b"MONITOR\r\n");
    assert!(take(&mut console).starts_with("-ERR MONITOR streams to network clients"));
}

/// CLIENT REPLY, as tests/unit/introspection.tcl drives it: OFF leaves out
/// every reply (its own too) until ON, whose OK goes; SKIP leaves out its
/// own and the next command's; the writes still happen; RESET ends both
/// (and answers).
#[test]
fn client_reply_off_on_and_skip_leave_out_replies_as_redis_does() {
    let rig = Rig::new();
    let env = rig.env();
    let mut c = Connection::new(&env, PEER);
    c.input(
        &env,
        b"CLIENT REPLY OFF\r\nPING pong\r\nSET a 1\r\nNOSUCH\r\n",
    );
    rig.commit();
    c.release(&env);
    assert_eq!(take(&mut c), "");
    c.input(&env, b"CLIENT REPLY ON\r\nPING pong3\r\nGET a\r\n");
    assert_eq!(take(&mut c), "+OK\r\n$5\r\npong3\r\n$1\r\n1\r\n");
    c.input(&env, b"CLIENT REPLY SKIP\r\nPING pong\r\nPING pong2\r\n");
    assert_eq!(take(&mut c), "$5\r\npong2\r\n");
    c.input(&env, b"CLIENT REPLY SKIP\r\nNOSUCH\r\nPING x\r\n");
    assert_eq!(take(&mut c), "$1\r\nx\r\n", "a refused command counts");
    c.input(&env, b"CLIENT REPLY OFF\r\nRESET\r\nPING\r\n");
    // RESET ends OFF before it answers, as in Redis.
    assert_eq!(take(&mut c), "+RESET\r\n+PONG\r\n");
    c.input(&env, b"CLIENT REPLY MAYBE\r\n");
    assert_eq!(take(&mut c), "-ERR syntax error\r\n");
    let mut console = Connection::new(&env, Caller::Console);
    console.input(&env, b"CLIENT REPLY OFF\r\n");
    assert!(take(&mut console).starts_with("-ERR CLIENT REPLY is for network clients"));
}

/// CLIENT LIST's buffer fields as Redis's tests/unit/introspection.tcl
/// checks them (`fd`, `qbuf=26` for the 26 bytes of `client list`,
/// `events=r`, nothing owed), and what another client holds as of its
/// last read: an unfinished request's bytes, replies it left untaken
/// when it sent more.
#[test]
fn client_list_shows_what_each_connection_holds() {
    let rig = Rig::new();
    let env = rig.env();
    let mut me = Connection::new(&env, PEER);
    me.set_fd(&env, 7);
    let mut other = Connection::new(&env, OTHER);
    other.set_fd(&env, 8);
    // Four replies the other does not take, then half a request.
    other.input(
        &env,
        b"ECHO hello\r\nECHO hello\r\nECHO hello\r\nECHO hello\r\n",
    );
    other.input(&env, b"*2\r\n$4\r\nECHO\r\n$5\r\nhe");
    me.input(&env, b"*2\r\n$6\r\nclient\r\n$4\r\nlist\r\n");
    let list = take(&mut me);
    let rows: Vec<&str> = list.lines().filter(|l| l.contains(" addr=")).collect();
    assert_eq!(rows.len(), 2, "{list}");
    let mine = rows.iter().find(|r| r.contains(":50000 ")).unwrap();
    let theirs = rows.iter().find(|r| r.contains(":50001 ")).unwrap();
    for (row, want) in [
        (mine, " fd=7 "),
        (mine, " qbuf=26 "),
        (mine, " argv-mem=10 "),
        (mine, " obl=0 oll=0 omem=0 "),
        (mine, " events=r cmd=client|list "),
        (theirs, " fd=8 "),
        (theirs, " obl=44 oll=0 omem=0 "),
        (theirs, " events=rw cmd=echo "),
    ] {
        assert!(row.contains(want), "{want} in {row}");
    }
    let qbuf = |row: &str| -> u64 {
        let rest = row.split_once(" qbuf=").unwrap().1;
        rest.split_once(' ').unwrap().0.parse().unwrap()
    };
    assert!(qbuf(theirs) > 0, "{theirs}");
    // INFO clients' largest buffers are theirs.
    me.input(&env, b"INFO clients\r\n");
    let info = take(&mut me);
    assert!(
        info.contains(&format!(
            "\r\nclient_recent_max_input_buffer:{}\r\n",
            qbuf(theirs)
        )),
        "{info}"
    );
    assert!(
        info.contains("\r\nclient_recent_max_output_buffer:44\r\n"),
        "{info}"
    );
    // Once it takes its replies and its next read finishes the request,
    // it holds nothing.
    take(&mut other);
    other.input(&env, b"llo\r\n");
    take(&mut other);
    me.input(&env, b"CLIENT LIST\r\n");
    let list = take(&mut me);
    let theirs = list.lines().find(|r| r.contains(":50001 ")).unwrap();
    assert_eq!(qbuf(theirs), 0, "{theirs}");
    assert!(theirs.contains(" obl=0 "), "{theirs}");
}

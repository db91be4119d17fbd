//! The connection commands over network connections, with the replies a
//! native redis-server 7.0.15 gives (CLIENT SETINFO as 7.2 gives it).
//! `quit_tcl_*` is what Redis's tests/unit/quit.tcl checks.

mod common;

use cmd::{Protocol, Reply};
use common::{server, store, Session};

#[test]
fn ping_and_echo() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    assert_eq!(c.reply("PING"), Reply::Status("PONG".into()));
    assert_eq!(c.reply("PING hello"), Reply::bulk("hello"));
    assert_eq!(
        c.run("PING a b"),
        "(error) ERR wrong number of arguments for 'PING': usage PING [message]\n"
    );
    assert_eq!(c.reply("ECHO \"x y\""), Reply::bulk("x y"));
    assert_eq!(c.run("ECHO \"\""), "\"\"\n");
}

#[test]
fn auth_without_a_password_configured() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    assert!(c.client.authenticated);
    assert_eq!(
        c.run("AUTH pw"),
        "(error) ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\n"
    );
    // The default user has no password: any password is its password.
    assert_eq!(c.run("AUTH default pw"), "OK\n");
    assert_eq!(
        c.run("AUTH bob pw"),
        "(error) WRONGPASS invalid username-password pair or user is disabled.\n"
    );
    assert_eq!(c.run("AUTH a b c"), "(error) ERR syntax error\n");
}

#[test]
fn auth_hello_and_reset_with_a_password() {
    let (s, srv) = (store(16 << 20), server());
    srv.lock().config.requirepass = Some(b"pw".to_vec());
    let mut c = Session::network(&s, &srv);
    assert!(!c.client.authenticated);
    assert_eq!(c.run("PING"), "(error) NOAUTH Authentication required.\n");
    assert_eq!(c.run("GET k"), "(error) NOAUTH Authentication required.\n");
    assert_eq!(
        c.run("HELLO 3"),
        "(error) NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\n"
    );
    assert_eq!(c.client.protocol, Protocol::Resp2);
    let wrong = "(error) WRONGPASS invalid username-password pair or user is disabled.\n";
    assert_eq!(c.run("HELLO 3 AUTH default nope"), wrong);
    assert_eq!(c.run("AUTH nope"), wrong);
    assert_eq!(c.run("AUTH default nope"), wrong);
    assert_eq!(c.run("AUTH Default pw"), wrong, "user names have case");
    assert_eq!(c.run("AUTH pw"), "OK\n");
    assert_eq!(c.run("PING"), "PONG\n");
    // RESET: unauthenticated again, as a new connection.
    assert_eq!(c.reply("RESET"), Reply::Status("RESET".into()));
    assert_eq!(c.run("PING"), "(error) NOAUTH Authentication required.\n");
    // HELLO AUTH authenticates, names and switches at once.
    assert_eq!(
        c.run("HELLO 3 AUTH default pw SETNAME n1"),
        format!(
            "1# \"server\" => \"redis\"\n2# \"version\" => \"7.0.15\"\n3# \"proto\" => (integer) 3\n4# \"id\" => (integer) {}\n5# \"mode\" => \"standalone\"\n6# \"role\" => \"master\"\n7# \"modules\" => (empty array)\n",
            c.client.id
        )
    );
    assert_eq!(c.client.protocol, Protocol::Resp3);
    assert_eq!(c.run("CLIENT GETNAME"), "\"n1\"\n");
    // A transaction across RESET: gone, and an EXEC refused for want of
    // AUTH says so as Redis does.
    assert_eq!(c.run("MULTI"), "OK\n");
    assert_eq!(c.run("SET a 1"), "QUEUED\n");
    assert_eq!(c.run("RESET"), "RESET\n");
    assert!(c.client.multi.is_none());
    assert_eq!(c.client.protocol, Protocol::Resp2);
    assert_eq!(
        c.run("CLIENT GETNAME"),
        "(error) NOAUTH Authentication required.\n"
    );
    assert_eq!(
        c.run("EXEC"),
        "(error) EXECABORT Transaction discarded because of: NOAUTH Authentication required.\n"
    );
    assert_eq!(c.run("AUTH pw"), "OK\n");
    assert_eq!(c.run("CLIENT GETNAME"), "(nil)\n");
    // The console needs no password.
    let mut console = Session::console(&s, &srv);
    assert_eq!(console.run("GET a"), "(nil)\n");
    assert_eq!(console.run("RESET"), "RESET\n");
    assert_eq!(console.run("GET a"), "(nil)\n");
}

#[test]
fn hello_as_redis_answers_it() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    let id = c.client.id as i64;
    let description = |proto: i64| {
        Reply::Map(vec![
            (Reply::bulk("server"), Reply::bulk("redis")),
            (Reply::bulk("version"), Reply::bulk("7.0.15")),
            (Reply::bulk("proto"), Reply::Integer(proto)),
            (Reply::bulk("id"), Reply::Integer(id)),
            (Reply::bulk("mode"), Reply::bulk("standalone")),
            (Reply::bulk("role"), Reply::bulk("master")),
            (Reply::bulk("modules"), Reply::Array(vec![])),
        ])
    };
    assert_eq!(c.reply("HELLO"), description(2));
    assert_eq!(c.reply("HELLO 3"), description(3));
    assert_eq!(c.reply("HELLO"), description(3));
    assert_eq!(c.reply("HELLO 2"), description(2));
    assert_eq!(
        c.run("HELLO 4"),
        "(error) NOPROTO unsupported protocol version\n"
    );
    assert_eq!(
        c.run("HELLO 1"),
        "(error) NOPROTO unsupported protocol version\n"
    );
    assert_eq!(
        c.run("HELLO x"),
        "(error) ERR Protocol version is not an integer or out of range\n"
    );
    assert_eq!(
        c.run("HELLO 3 foo"),
        "(error) ERR Syntax error in HELLO option 'foo'\n"
    );
    assert_eq!(
        c.run("HELLO 3 auth default"),
        "(error) ERR Syntax error in HELLO option 'auth'\n"
    );
    assert_eq!(
        c.client.protocol,
        Protocol::Resp2,
        "a failed HELLO changes nothing"
    );
    assert_eq!(
        c.run("HELLO 2 SETNAME \"a b\""),
        "(error) ERR Client names cannot contain spaces, newlines or special characters.\n"
    );
    assert_eq!(c.reply("HELLO 2 setname myname"), description(2));
    assert_eq!(c.run("CLIENT GETNAME"), "\"myname\"\n");
}

#[test]
fn client_name_id_setinfo_and_help() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    assert_eq!(c.run("CLIENT ID"), format!("(integer) {}\n", c.client.id));
    assert_eq!(c.run("CLIENT GETNAME"), "(nil)\n");
    assert_eq!(c.run("CLIENT SETNAME myname"), "OK\n");
    assert_eq!(c.run("client getname"), "\"myname\"\n");
    assert_eq!(c.run("CLIENT SETNAME \"\""), "OK\n");
    assert_eq!(c.run("CLIENT GETNAME"), "(nil)\n");
    assert_eq!(
        c.run("CLIENT SETNAME \"a\\nb\""),
        "(error) ERR Client names cannot contain spaces, newlines or special characters.\n"
    );
    assert_eq!(
        c.run("CLIENT SETNAME"),
        "(error) ERR wrong number of arguments for 'client|setname' command\n"
    );
    assert_eq!(
        c.run("CLIENT ID x"),
        "(error) ERR wrong number of arguments for 'client|id' command\n"
    );
    // CLIENT SETINFO, as redis-py sends it on connect (Redis 7.2's).
    assert_eq!(c.run("CLIENT SETINFO LIB-NAME redis-py"), "OK\n");
    assert_eq!(c.run("CLIENT SETINFO lib-ver 5.0.1"), "OK\n");
    assert_eq!(c.client.lib_name.as_deref(), Some(&b"redis-py"[..]));
    assert_eq!(c.client.lib_ver.as_deref(), Some(&b"5.0.1"[..]));
    assert_eq!(
        c.run("CLIENT SETINFO foo bar"),
        "(error) ERR Unrecognized option 'foo'\n"
    );
    assert_eq!(
        c.run("CLIENT SETINFO lib-name \"a b\""),
        "(error) ERR lib-name cannot contain spaces, newlines or special characters.\n"
    );
    assert_eq!(c.run("CLIENT SETINFO lib-ver \"\""), "OK\n");
    assert_eq!(c.client.lib_ver, None);
    // What redis-py 8 sends for maintenance notifications gets the error
    // for an unknown subcommand, which it tolerates.
    assert_eq!(
        c.run("CLIENT MAINT_NOTIFICATIONS ON moving-endpoint-type none"),
        "(error) ERR unknown subcommand 'MAINT_NOTIFICATIONS'. Try CLIENT HELP.\n"
    );
    let help = c.run("CLIENT HELP");
    assert!(
        help.starts_with(" 1) CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\n 2) GETNAME\n 3)     Return the name of the current connection.\n"),
        "{help}"
    );
    assert!(
        help.ends_with("34) HELP\n35)     Prints this help.\n"),
        "{help}"
    );
}

/// `line` with its tot-mem's figure as `*`.
fn sized(line: &str) -> String {
    let (head, rest) = line.split_once(" tot-mem=").unwrap();
    let (_, tail) = rest.split_once(' ').unwrap();
    format!("{head} tot-mem=* {tail}")
}

#[test]
fn client_list_and_info() {
    let (s, srv) = (store(16 << 20), server());
    let mut console = Session::console(&s, &srv);
    let mut c = Session::network(&s, &srv);
    assert_eq!(console.run("SET k v"), "OK\n");
    assert_eq!(c.run("CLIENT SETNAME app"), "OK\n");
    assert_eq!(c.run("CLIENT SETINFO LIB-NAME redis-py"), "OK\n");
    let Reply::Text(me) = c.reply("CLIENT INFO") else {
        panic!()
    };
    // Redis 7.2's fields; no socket here (the session that has one names
    // it, and its buffers: see conn's tests). tot-mem counts the client's
    // own size, which the target decides.
    assert_eq!(
        sized(&me),
        format!(
            "id={} addr=127.0.0.1:40000 laddr=10.0.2.15:6379 fd=-1 name=app age=0 idle=0 flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=10 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=* events=r cmd=client|info user=default redir=-1 resp=2 lib-name=redis-py lib-ver=\n",
            c.client.id
        )
    );
    // Another client sees it in a transaction, watching a key.
    assert_eq!(c.run("WATCH k"), "OK\n");
    assert_eq!(c.run("MULTI"), "OK\n");
    assert_eq!(c.run("GET k"), "QUEUED\n");
    let Reply::Text(seen) = console.reply(&format!("CLIENT LIST ID {}", c.client.id)) else {
        panic!()
    };
    assert!(
        seen.contains(
            " flags=x db=0 sub=0 psub=0 ssub=0 multi=1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=89 "
        ),
        "{seen}"
    );
    // Its last command is the one it queued, as Redis's lastcmd.
    assert!(seen.contains(" cmd=get "), "{seen}");
    assert_eq!(c.run("EXEC"), "1) \"v\"\n");
    let Reply::Text(list) = c.reply("CLIENT LIST") else {
        panic!()
    };
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "{list}");
    assert_eq!(
        sized(lines[0]),
        format!(
            "id={} addr=console laddr= fd=-1 name= age=0 idle=0 flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=* events=r cmd=client|list user=default redir=-1 resp=2 lib-name= lib-ver=",
            console.client.id
        )
    );
    assert!(lines[1].contains(" argv-mem=10 "), "{}", lines[1]);
    assert!(lines[1].contains(" cmd=client|list "), "{}", lines[1]);
    assert!(lines[1].starts_with(&format!("id={} addr=127.0.0.1:40000 ", c.client.id)));
    assert!(lines[1].contains(" flags=N "), "{}", lines[1]);
    // The same clients (the asking one's argv-mem counts the filter).
    let normal = c.run("CLIENT LIST TYPE normal");
    assert_eq!(normal.matches(" addr=").count(), 2, "{normal}");
    assert!(normal.contains(" argv-mem=20 "), "{normal}");
    assert_eq!(c.run("CLIENT LIST TYPE pubsub"), "");
    assert_eq!(c.run("CLIENT LIST TYPE replica"), "");
    assert_eq!(
        c.run("CLIENT LIST TYPE foo"),
        "(error) ERR Unknown client type 'foo'\n"
    );
    let Reply::Text(one) = c.reply(&format!("CLIENT LIST ID 99999 {}", console.client.id)) else {
        panic!()
    };
    assert_eq!(one, format!("{}\n", lines[0]));
    assert_eq!(c.run("CLIENT LIST ID x"), "(error) ERR Invalid client ID\n");
    assert_eq!(c.run("CLIENT LIST ID"), "(error) ERR syntax error\n");
    assert_eq!(c.run("CLIENT LIST foo"), "(error) ERR syntax error\n");
}

#[test]
fn select_only_database_zero() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    assert_eq!(c.run("SELECT 0"), "OK\n");
    assert_eq!(c.run("SELECT 1"), "(error) ERR DB index is out of range\n");
    assert_eq!(
        c.run("SELECT 00"),
        "(error) ERR value is not an integer or out of range\n"
    );
}

#[test]
fn quit_tcl_quit_returns_ok_and_the_session_closes() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    assert!(!c.client.closing);
    assert_eq!(c.run("QUIT"), "OK\n");
    assert!(c.client.closing, "the session closes after this reply");
    // QUIT takes any arguments, needs no password and runs at once
    // inside MULTI.
    srv.lock().config.requirepass = Some(b"pw".to_vec());
    let mut c = Session::network(&s, &srv);
    assert_eq!(c.run("QUIT now please"), "OK\n");
    assert!(c.client.closing);
    let mut c = Session::network(&s, &srv);
    assert_eq!(c.run("AUTH pw"), "OK\n");
    assert_eq!(c.run("MULTI"), "OK\n");
    assert_eq!(c.run("SET foo bar"), "QUEUED\n");
    assert_eq!(c.run("QUIT"), "OK\n");
    assert!(c.client.closing);
}

/// CLIENT KILL, old form and filters, as Redis 7.0 answers: another
/// session's client is marked for its session to close (`cmd::kills()`
/// moves so that it looks), the killer itself closes after its reply, and
/// the console is never a match.
#[test]
fn client_kill_marks_clients_for_their_sessions() {
    let (s, srv) = (store(16 << 20), server());
    let mut killer = Session::network(&s, &srv);
    let mut victim = Session::network(&s, &srv);
    let _console = Session::console(&s, &srv);
    let victim_id = victim.client.id;
    let before = cmd::kills();
    assert_eq!(
        killer.run(&format!("CLIENT KILL ID {victim_id}")),
        "(integer) 1\n"
    );
    assert!(srv.lock().killed.contains(&victim_id));
    assert!(cmd::kills() > before, "the sessions are told to look");
    assert!(!killer.client.closing);
    // Its session closes it (and forgets the mark) when it goes.
    srv.lock().unregister(&mut victim.client);
    assert!(srv.lock().killed.is_empty());
    for (line, reply) in [
        ("CLIENT KILL 1.2.3.4:5", "(error) ERR No such client\n"),
        (
            "CLIENT KILL ID 0",
            "(error) ERR client-id should be greater than 0\n",
        ),
        ("CLIENT KILL ID", "(error) ERR No such client\n"),
        ("CLIENT KILL TYPE pubsub", "(integer) 0\n"),
        (
            "CLIENT KILL TYPE nosuch",
            "(error) ERR Unknown client type 'nosuch'\n",
        ),
        ("CLIENT KILL USER bob", "(error) ERR No such user 'bob'\n"),
        ("CLIENT KILL SKIPME maybe", "(error) ERR syntax error\n"),
        ("CLIENT KILL NOSUCH 1", "(error) ERR syntax error\n"),
        // The killer skips itself by default; the console never matches.
        ("CLIENT KILL ADDR 127.0.0.1:40000", "(integer) 0\n"),
        ("CLIENT KILL MAXAGE 100", "(integer) 0\n"),
    ] {
        assert_eq!(killer.run(line), reply, "{line}");
    }
    assert!(!killer.client.closing);
    // The old form kills the one connection from that address: here, the
    // killer itself, which closes once its reply has gone.
    assert_eq!(killer.run("CLIENT KILL 127.0.0.1:40000"), "OK\n");
    assert!(killer.client.closing);
}

/// Redis's "CLIENT KILL SKIPME YES/NO will kill all clients"
/// (tests/unit/introspection.tcl): `connected_clients` counts the
/// connections CLIENT KILL can close, so the console, listed but never
/// killed, is not among them.
#[test]
fn connected_clients_counts_what_client_kill_can_close() {
    let (s, srv) = (store(16 << 20), server());
    let _console = Session::console(&s, &srv);
    let mut me = Session::network(&s, &srv);
    let _rd1 = Session::network(&s, &srv);
    let _rd2 = Session::network(&s, &srv);
    let info = me.run("INFO clients");
    assert!(info.contains("\nconnected_clients:3\n"), "{info}");
    assert_eq!(me.run("CLIENT LIST").matches("id=").count(), 4);
    assert_eq!(me.run("CLIENT KILL SKIPME yes"), "(integer) 2\n");
    assert!(!me.client.closing);
}

/// MONITOR queued in a transaction: EXEC answers it Redis's error for a
/// client that expects one reply per command, and the connection stays
/// an ordinary one.
#[test]
fn monitor_inside_a_transaction_is_refused_at_exec() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    assert_eq!(c.run("MULTI"), "OK\n");
    assert_eq!(c.run("MONITOR"), "QUEUED\n");
    assert_eq!(c.run("SET k v"), "QUEUED\n");
    assert_eq!(
        c.run("EXEC"),
        "1) (error) ERR MONITOR isn't allowed for DENY BLOCKING client\n2) OK\n"
    );
    assert!(!c.client.monitor);
    assert_eq!(c.run("GET k"), "\"v\"\n");
    assert_eq!(c.run("MONITOR"), "OK\n");
    assert!(c.client.monitor);
}

/// Names and library attributes are kept for the connection's life, so
/// their length is bounded (unikv's 16 KiB; Redis has no bound).
#[test]
fn client_names_and_attributes_are_bounded() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    let fits = "n".repeat(16 << 10);
    let over = "n".repeat((16 << 10) + 1);
    assert_eq!(c.run(&format!("CLIENT SETNAME {fits}")), "OK\n");
    assert_eq!(
        c.run(&format!("CLIENT SETNAME {over}")),
        "(error) ERR Client names longer than 16384 bytes are refused\n"
    );
    assert_eq!(c.run("CLIENT GETNAME").len(), fits.len() + 3);
    assert_eq!(
        c.run(&format!("HELLO 3 SETNAME {over}")),
        "(error) ERR Client names longer than 16384 bytes are refused\n"
    );
    assert_eq!(
        c.run(&format!("CLIENT SETINFO LIB-NAME {over}")),
        "(error) ERR Library names and versions longer than 16384 bytes are refused\n"
    );
    assert_eq!(c.run("CLIENT SETINFO LIB-VER 1.0"), "OK\n");
}

/// CLIENT NO-EVICT: ON and OFF accepted (unikv evicts no clients for
/// memory), anything else Redis's syntax error.
#[test]
fn client_no_evict() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    assert_eq!(c.run("CLIENT NO-EVICT on"), "OK\n");
    assert_eq!(c.run("CLIENT NO-EVICT OFF"), "OK\n");
    assert_eq!(c.run("CLIENT NO-EVICT maybe"), "(error) ERR syntax error\n");
    assert_eq!(
        c.run("CLIENT NO-EVICT"),
        "(error) ERR wrong number of arguments for 'client|no-evict' command\n"
    );
}

/// Client-side caching and blocking, which unikv has none of, answered as
/// a redis-server 7.0.15 answers a client that uses neither: CLIENT
/// UNBLOCK 0 (no client is blocked), GETREDIR -1, TRACKINGINFO off, CACHING
/// Redis's error; TRACKING OFF is OK and ON is refused, saying why, so that
/// a client library that asks for it keeps no local cache.
#[test]
fn client_tracking_and_unblock_as_a_server_with_neither() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    assert_eq!(c.run("CLIENT UNBLOCK 5"), "(integer) 0\n");
    assert_eq!(c.run("CLIENT UNBLOCK 5 timeout"), "(integer) 0\n");
    assert_eq!(c.run("CLIENT UNBLOCK 5 ERROR"), "(integer) 0\n");
    assert_eq!(
        c.run("CLIENT UNBLOCK x"),
        "(error) ERR value is not an integer or out of range\n"
    );
    assert_eq!(
        c.run("CLIENT UNBLOCK x now"),
        "(error) ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\n"
    );
    assert_eq!(
        c.run("CLIENT UNBLOCK 1 2 3"),
        "(error) ERR unknown subcommand or wrong number of arguments for 'UNBLOCK'. Try CLIENT HELP.\n"
    );
    assert_eq!(c.run("CLIENT GETREDIR"), "(integer) -1\n");
    assert_eq!(
        c.reply("CLIENT TRACKINGINFO"),
        Reply::Map(vec![
            (Reply::bulk("flags"), Reply::Array(vec![Reply::bulk("off")])),
            (Reply::bulk("redirect"), Reply::Integer(-1)),
            (Reply::bulk("prefixes"), Reply::Array(vec![])),
        ])
    );
    assert_eq!(c.run("CLIENT TRACKING off"), "OK\n");
    assert_eq!(c.run("CLIENT TRACKING OFF BCAST PREFIX a: NOLOOP"), "OK\n");
    assert!(c
        .run("CLIENT TRACKING on")
        .starts_with("(error) ERR unikv does not track keys for clients"));
    assert_eq!(c.run("CLIENT TRACKING maybe"), "(error) ERR syntax error\n");
    assert_eq!(
        c.run("CLIENT TRACKING on PREFIX"),
        "(error) ERR syntax error\n"
    );
    assert_eq!(
        c.run("CLIENT TRACKING on REDIRECT x"),
        "(error) ERR value is not an integer or out of range\n"
    );
    assert_eq!(
        c.run("CLIENT CACHING yes"),
        "(error) ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled\n"
    );
    assert_eq!(
        c.run("CLIENT CACHING"),
        "(error) ERR wrong number of arguments for 'client|caching' command\n"
    );
}

/// CLIENT PAUSE's arguments as a redis-server 7.0.15 checks them (the
/// mode, then the timeout); what a pause holds is in conn's tests.
#[test]
fn client_pause_arguments_as_redis_checks_them() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    for (cmd, reply) in [
        (
            "CLIENT PAUSE x",
            "ERR timeout is not an integer or out of range",
        ),
        ("CLIENT PAUSE -1", "ERR timeout is negative"),
        (
            "CLIENT PAUSE x maybe",
            "ERR CLIENT PAUSE mode must be WRITE or ALL",
        ),
        (
            "CLIENT PAUSE 9223372036854775807",
            "ERR timeout is out of range",
        ),
        (
            "CLIENT pause 1 WRITE extra",
            "ERR unknown subcommand or wrong number of arguments for 'pause'. Try CLIENT HELP.",
        ),
        (
            "CLIENT PAUSE",
            "ERR wrong number of arguments for 'client|pause' command",
        ),
        (
            "CLIENT UNPAUSE x",
            "ERR wrong number of arguments for 'client|unpause' command",
        ),
    ] {
        assert_eq!(c.run(cmd), format!("(error) {reply}\n"), "{cmd}");
    }
    assert_eq!(c.run("CLIENT PAUSE 0 write"), "OK\n");
    assert_eq!(c.run("CLIENT UNPAUSE"), "OK\n");
    assert_eq!(srv.lock().pause, cmd::Pause::default());
}

//! Redis's server commands over network connections (COMMAND, CONFIG,
//! FUNCTION, WAIT, ROLE), with the replies a native redis-server 7.0.15
//! gives. INFO's tests are in tests/info.rs, LATENCY's in tests/latency.rs.

mod common;

use cmd::{Appendfsync, Reply};
use common::{server, store, Session};

#[test]
fn command_count_info_and_list() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    let n = console::commands().count();
    assert_eq!(c.run("COMMAND COUNT"), format!("(integer) {n}\n"));
    let Reply::Array(all) = c.reply("COMMAND") else {
        panic!()
    };
    assert_eq!(all.len(), n);
    assert_eq!(c.reply("COMMAND INFO"), Reply::Array(all));
    let status = |s: &str| Reply::Status(s.into());
    assert_eq!(
        c.reply("COMMAND INFO get nosuch RENAME"),
        Reply::Array(vec![
            Reply::Array(vec![
                Reply::bulk("get"),
                Reply::Integer(2),
                Reply::Array(vec![status("readonly"), status("fast")]),
                Reply::Integer(1),
                Reply::Integer(1),
                Reply::Integer(1),
                Reply::Array(vec![status("@string"), status("@read"), status("@fast")]),
                Reply::Array(vec![]),
                Reply::Array(vec![]),
                Reply::Array(vec![]),
            ]),
            Reply::Nil,
            Reply::Array(vec![
                Reply::bulk("rename"),
                Reply::Integer(3),
                Reply::Array(vec![status("write")]),
                Reply::Integer(1),
                Reply::Integer(2),
                Reply::Integer(1),
                Reply::Array(vec![status("@keyspace"), status("@write"), status("@slow")]),
                Reply::Array(vec![]),
                Reply::Array(vec![]),
                Reply::Array(vec![]),
            ]),
        ])
    );
    // A container's subcommands, inside it and by their full names.
    let Reply::Array(config) = c.reply("COMMAND INFO config") else {
        panic!()
    };
    let Reply::Array(info) = &config[0] else {
        panic!()
    };
    let Reply::Array(subs) = &info[9] else {
        panic!()
    };
    assert_eq!(subs.len(), 5);
    let get = Reply::Array(vec![
        Reply::bulk("config|get"),
        Reply::Integer(-3),
        Reply::Array(vec![]),
        Reply::Integer(0),
        Reply::Integer(0),
        Reply::Integer(0),
        Reply::Array(vec![status("@slow")]),
        Reply::Array(vec![]),
        Reply::Array(vec![]),
        Reply::Array(vec![]),
    ]);
    assert_eq!(subs[0], get);
    assert_eq!(c.reply("COMMAND INFO CONFIG|GET"), Reply::Array(vec![get]));
    assert_eq!(
        c.reply("COMMAND INFO get|x"),
        Reply::Array(vec![Reply::Nil])
    );
    // COMMAND LIST and its filters.
    let Reply::Array(names) = c.reply("COMMAND LIST") else {
        panic!()
    };
    // Every command, and after each its subcommands, as Redis 7.0 lists
    // them.
    let subs = names
        .iter()
        .filter(|r| matches!(r, Reply::Value(v) if v.contains(&b'|')))
        .count();
    assert!(subs > 40, "{subs}");
    assert_eq!(names.len(), n + subs);
    assert!(names.contains(&Reply::bulk("scan")));
    let at = |name: &str| names.iter().position(|r| *r == Reply::bulk(name)).unwrap();
    assert_eq!(at("config|get"), at("config") + 1);
    assert!(at("client|list") > at("client"));
    assert_eq!(
        c.run("COMMAND LIST FILTERBY PATTERN slowlog*"),
        "1) \"slowlog\"\n2) \"slowlog|get\"\n3) \"slowlog|len\"\n4) \"slowlog|reset\"\n5) \"slowlog|help\"\n"
    );
    assert_eq!(
        c.run("COMMAND LIST FILTERBY ACLCAT transaction"),
        "1) \"multi\"\n2) \"exec\"\n3) \"discard\"\n4) \"watch\"\n5) \"unwatch\"\n"
    );
    assert_eq!(
        c.run("COMMAND LIST FILTERBY PATTERN r*name*"),
        "1) \"rename\"\n2) \"renamenx\"\n"
    );
    assert_eq!(c.run("COMMAND LIST FILTERBY MODULE foo"), "(empty array)\n");
    assert_eq!(
        c.run("COMMAND LIST FILTERBY foo x"),
        "(error) ERR syntax error\n"
    );
    assert_eq!(
        c.run("COMMAND LIST FILTERBY PATTERN"),
        "(error) ERR syntax error\n"
    );
    assert_eq!(
        c.run("COMMAND COUNT x"),
        "(error) ERR wrong number of arguments for 'command|count' command\n"
    );
    assert_eq!(
        c.run("COMMAND FOO"),
        "(error) ERR unknown subcommand 'FOO'. Try COMMAND HELP.\n"
    );
}

#[test]
fn command_getkeys() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    assert_eq!(c.run("COMMAND GETKEYS get k"), "1) \"k\"\n");
    assert_eq!(c.run("COMMAND GETKEYS rename a b"), "1) \"a\"\n2) \"b\"\n");
    assert_eq!(
        c.run("COMMAND GETKEYS del a b c"),
        "1) \"a\"\n2) \"b\"\n3) \"c\"\n"
    );
    assert_eq!(
        c.run("COMMAND GETKEYS copy a b replace"),
        "1) \"a\"\n2) \"b\"\n"
    );
    assert_eq!(
        c.run("COMMAND GETKEYS ping"),
        "(error) ERR wrong number of arguments for 'command|getkeys' command\n"
    );
    assert_eq!(
        c.run("COMMAND GETKEYS nosuch a"),
        "(error) ERR Invalid command specified\n"
    );
    assert_eq!(
        c.run("COMMAND GETKEYS get a b"),
        "(error) ERR Invalid number of arguments specified for command\n"
    );
    assert_eq!(
        c.run("COMMAND GETKEYS ping a"),
        "(error) ERR The command has no key arguments\n"
    );
}

#[test]
fn command_docs_give_redis_cli_its_help_and_hints() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    let field = |k: &str, v: Reply| (Reply::bulk(k), v);
    let args = |usage: &str| {
        Reply::Array(vec![Reply::Map(vec![
            field("name", Reply::bulk(usage)),
            field("type", Reply::bulk("string")),
        ])])
    };
    assert_eq!(
        c.reply("COMMAND DOCS get nosuch dbsize range"),
        Reply::Map(vec![
            (
                Reply::bulk("get"),
                Reply::Map(vec![
                    field(
                        "summary",
                        Reply::bulk("read the value of a key, or (nil) if it has none")
                    ),
                    field("since", Reply::bulk("1.0.0")),
                    field("group", Reply::bulk("string")),
                    field("arguments", args("key")),
                ])
            ),
            (
                Reply::bulk("dbsize"),
                Reply::Map(vec![
                    field(
                        "summary",
                        Reply::bulk("how many keys hold a value (counted: it reads every key)")
                    ),
                    field("since", Reply::bulk("1.0.0")),
                    field("group", Reply::bulk("server")),
                ])
            ),
            (
                Reply::bulk("range"),
                Reply::Map(vec![
                    field(
                        "summary",
                        Reply::bulk("list the pairs with start <= key < end, in key order")
                    ),
                    field("group", Reply::bulk("keys")),
                    field("arguments", args("start end [LIMIT n]")),
                ])
            ),
        ])
    );
    let Reply::Map(function) = c.reply("COMMAND DOCS function") else {
        panic!()
    };
    let Reply::Map(entries) = &function[0].1 else {
        panic!()
    };
    assert_eq!(
        entries[3],
        field(
            "subcommands",
            Reply::Map(vec![
                (
                    Reply::bulk("function|flush"),
                    Reply::Map(vec![
                        field(
                            "summary",
                            Reply::bulk("Deletes all libraries and functions.")
                        ),
                        field("since", Reply::bulk("7.0.0")),
                        field("group", Reply::bulk("scripting")),
                        field("arguments", args("[ASYNC|SYNC]")),
                    ])
                ),
                (
                    Reply::bulk("function|help"),
                    Reply::Map(vec![
                        field("summary", Reply::bulk("Prints this help.")),
                        field("since", Reply::bulk("5.0.0")),
                        field("group", Reply::bulk("scripting")),
                    ])
                ),
            ])
        )
    );
    let Reply::Map(all) = c.reply("COMMAND DOCS") else {
        panic!()
    };
    assert_eq!(all.len(), console::commands().count());
}

#[test]
fn config_get_as_redis_answers_it() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    // What redis-benchmark asks first.
    assert_eq!(c.run("CONFIG GET save"), "1# \"save\" => \"\"\n");
    assert_eq!(
        c.run("CONFIG GET appendonly"),
        "1# \"appendonly\" => \"yes\"\n"
    );
    assert_eq!(
        c.run("CONFIG GET maxclients TIMEOUT appendfsync APPENDFSYNC nosuch"),
        "1# \"maxclients\" => \"500\"\n2# \"TIMEOUT\" => \"0\"\n3# \"appendfsync\" => \"always\"\n"
    );
    assert_eq!(
        c.run("CONFIG GET *max*"),
        "1# \"maxclients\" => \"500\"\n2# \"proto-max-bulk-len\" => \"67108864\"\n3# \"slowlog-max-len\" => \"128\"\n4# \"maxmemory\" => \"0\"\n5# \"maxmemory-policy\" => \"noeviction\"\n"
    );
    assert_eq!(
        c.run("CONFIG GET client-* port databases requirepass"),
        "1# \"client-query-buffer-limit\" => \"134217728\"\n2# \"client-output-buffer-limit\" => \"normal 33554432 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60\"\n3# \"port\" => \"6379\"\n4# \"databases\" => \"1\"\n5# \"requirepass\" => \"\"\n"
    );
    assert_eq!(c.run("CONFIG GET nosuch"), "(empty hash)\n");
    let Reply::Map(all) = c.reply("CONFIG GET *") else {
        panic!()
    };
    assert_eq!(all.len(), 18);
    assert_eq!(
        c.run("CONFIG GET"),
        "(error) ERR wrong number of arguments for 'config|get' command\n"
    );
}

#[test]
fn config_set_as_redis_answers_it() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    let failed = |name: &str, why: &str| {
        format!("(error) ERR CONFIG SET failed (possibly related to argument '{name}') - {why}\n")
    };
    assert_eq!(
        c.run("CONFIG SET foo bar"),
        "(error) ERR Unknown option or number of arguments for CONFIG SET - 'foo'\n"
    );
    assert_eq!(
        c.run("CONFIG SET maxclients abc"),
        failed("maxclients", "argument couldn't be parsed into an integer")
    );
    assert_eq!(
        c.run("CONFIG SET maxclients 01"),
        failed("maxclients", "argument couldn't be parsed into an integer")
    );
    assert_eq!(
        c.run("CONFIG SET maxclients 0"),
        failed(
            "maxclients",
            "argument must be between 1 and 4294967295 inclusive"
        )
    );
    assert_eq!(
        c.run("CONFIG SET timeout -1"),
        failed(
            "timeout",
            "argument must be between 0 and 2147483647 inclusive"
        )
    );
    assert_eq!(
        c.run("CONFIG SET appendfsync sometimes"),
        failed(
            "appendfsync",
            "argument(s) must be one of the following: everysec, always, no"
        )
    );
    assert_eq!(
        c.run("CONFIG SET proto-max-bulk-len 100"),
        failed(
            "proto-max-bulk-len",
            "argument must be between 1048576 and 9223372036854775807 inclusive"
        )
    );
    assert_eq!(
        c.run("CONFIG SET proto-max-bulk-len 1.5mb"),
        failed("proto-max-bulk-len", "argument must be a memory value")
    );
    assert_eq!(
        c.run("CONFIG SET client-query-buffer-limit mb"),
        failed(
            "client-query-buffer-limit",
            "argument must be between 1048576 and 9223372036854775807 inclusive"
        )
    );
    assert_eq!(
        c.run("CONFIG SET maxclients 10 MAXCLIENTS 20"),
        failed("MAXCLIENTS", "duplicate parameter")
    );
    assert_eq!(
        c.run("CONFIG SET databases 16"),
        failed("databases", "can't set immutable config")
    );
    assert_eq!(c.run("CONFIG SET a b c"), "(error) ERR syntax error\n");
    assert_eq!(
        c.run("CONFIG SET a"),
        "(error) ERR wrong number of arguments for 'config|set' command\n"
    );
    for (value, why) in [
        (
            "\"normal 1 2\"",
            "Wrong number of arguments in buffer limit configuration.",
        ),
        (
            "\"foo 1 2 3\"",
            "Invalid client class specified in buffer limit configuration.",
        ),
        (
            "\"normal a 2 3\"",
            "Error in hard, soft or soft_seconds setting in buffer limit configuration.",
        ),
        (
            "\"normal 1 2 x\"",
            "Error in hard, soft or soft_seconds setting in buffer limit configuration.",
        ),
    ] {
        assert_eq!(
            c.run(&format!("CONFIG SET client-output-buffer-limit {value}")),
            failed("client-output-buffer-limit", why)
        );
    }
    // Nothing of a failed SET applies, even its valid pairs.
    assert_eq!(
        c.run("CONFIG SET timeout 5 maxclients 0"),
        failed(
            "maxclients",
            "argument must be between 1 and 4294967295 inclusive"
        )
    );
    assert_eq!(srv.lock().config.timeout_s, 0);
    // A good one applies every pair, names and words without case.
    assert_eq!(
        c.run("CONFIG SET TIMEOUT 5 maxclients 100 appendfsync EVERYSEC proto-max-bulk-len 1mb"),
        "OK\n"
    );
    {
        let config = srv.lock().config.clone();
        assert_eq!(config.timeout_s, 5);
        assert_eq!(config.maxclients, 100);
        assert_eq!(config.appendfsync, Appendfsync::Everysec);
        assert_eq!(config.proto_max_bulk_len, 1 << 20);
    }
    assert_eq!(
        c.run("CONFIG GET appendfsync"),
        "1# \"appendfsync\" => \"everysec\"\n"
    );
    assert_eq!(
        c.run(
            "CONFIG SET client-output-buffer-limit \"normal 1mb 0 0 pubsub 33554432 8388608 60\""
        ),
        "OK\n"
    );
    assert_eq!(srv.lock().config.client_output_buffer_limit, 1 << 20);
    assert_eq!(c.run("CONFIG SET client-output-buffer-limit \"\""), "OK\n");
    assert!(c
        .run("CONFIG SET client-output-buffer-limit \"normal 0 1 2\"")
        .starts_with("(error) ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - unikv enforces only the hard limit"));
    // The one value unikv has is accepted; others are refused.
    assert_eq!(
        c.run("CONFIG SET save \"\" appendonly yes maxmemory 0 maxmemory-policy noeviction"),
        "OK\n"
    );
    for (name, value) in [
        ("save", "\"3600 1\""),
        ("appendonly", "no"),
        ("maxmemory", "1gb"),
        ("maxmemory-policy", "allkeys-lru"),
    ] {
        assert!(
            c.run(&format!("CONFIG SET {name} {value}"))
                .starts_with(&failed(name, "")[..failed(name, "").len() - 1]),
            "{name}"
        );
    }
    // requirepass: not from the network while none is set (any client
    // could then unlock the appliance's controls for itself); from the
    // console, then new connections must AUTH; cleared with "".
    assert_eq!(
        c.run("CONFIG SET requirepass \"a b\""),
        "(error) ERR CONFIG SET failed (possibly related to argument 'requirepass') - while no \
         password is set, one is set at the console or with requirepass= in the boot \
         arguments, not over the network\n"
    );
    assert_eq!(srv.lock().config.requirepass, None);
    let mut console = Session::console(&s, &srv);
    assert_eq!(console.run("CONFIG SET requirepass \"a b\""), "OK\n");
    assert_eq!(
        c.run("CONFIG GET requirepass"),
        "1# \"requirepass\" => \"a b\"\n"
    );
    let mut other = Session::network(&s, &srv);
    assert_eq!(
        other.run("PING"),
        "(error) NOAUTH Authentication required.\n"
    );
    assert_eq!(other.run("AUTH \"a b\""), "OK\n");
    assert_eq!(c.run("PING"), "PONG\n", "connections already in stay in");
    // Once one is set, an authenticated client may change it, as in Redis.
    assert_eq!(other.run("CONFIG SET requirepass pw2"), "OK\n");
    assert_eq!(c.run("CONFIG SET requirepass \"\""), "OK\n");
    assert_eq!(srv.lock().config.requirepass, None);
}

#[test]
fn config_resetstat_rewrite_and_help() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    assert_eq!(c.run("GET nokey"), "(nil)\n");
    assert_eq!(c.run("RENAME a b"), "(error) ERR no such key\n");
    assert!(srv.lock().stats.commands_processed > 0);
    assert_eq!(c.run("CONFIG RESETSTAT"), "OK\n");
    {
        let stats = srv.lock().stats.clone();
        assert_eq!(stats.keyspace_misses, 0);
        assert!(stats.errors.is_empty());
        assert_eq!(
            stats.commands().map(|(name, _)| name).collect::<Vec<_>>(),
            ["CONFIG"]
        );
    }
    assert_eq!(
        c.run("CONFIG RESETSTAT x"),
        "(error) ERR wrong number of arguments for 'config|resetstat' command\n"
    );
    assert_eq!(
        c.run("CONFIG REWRITE"),
        "(error) ERR The server is running without a config file\n"
    );
    assert_eq!(
        c.run("CONFIG HELP"),
        " 1) CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\n 2) GET <pattern>\n 3)     Return parameters matching the glob-like <pattern> and their values.\n 4) SET <directive> <value>\n 5)     Set the configuration <directive> to <value>.\n 6) RESETSTAT\n 7)     Reset statistics reported by the INFO command.\n 8) REWRITE\n 9)     Rewrite the configuration file.\n10) HELP\n11)     Prints this help.\n"
    );
    assert_eq!(
        c.run("CONFIG foo"),
        "(error) ERR unknown subcommand 'foo'. Try CONFIG HELP.\n"
    );
}

#[test]
fn function_flush_has_nothing_to_flush() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    assert_eq!(c.run("SET k v"), "OK\n");
    assert_eq!(c.run("FUNCTION FLUSH"), "OK\n");
    assert_eq!(c.run("FUNCTION FLUSH async"), "OK\n");
    assert_eq!(c.run("FUNCTION FLUSH SYNC"), "OK\n");
    assert_eq!(c.run("GET k"), "\"v\"\n", "keys are not functions");
    assert_eq!(
        c.run("FUNCTION FLUSH foo"),
        "(error) ERR FUNCTION FLUSH only supports SYNC|ASYNC option\n"
    );
    assert_eq!(
        c.run("FUNCTION FLUSH a b"),
        "(error) ERR unknown subcommand or wrong number of arguments for 'FLUSH'. Try FUNCTION HELP.\n"
    );
    assert_eq!(
        c.run("FUNCTION LIST"),
        "(error) ERR unknown subcommand 'LIST'. Try FUNCTION HELP.\n"
    );
    assert_eq!(
        c.run("FUNCTION"),
        "(error) ERR wrong number of arguments for 'FUNCTION': usage FUNCTION FLUSH [ASYNC|SYNC] | FUNCTION HELP\n"
    );
}

/// WAIT with no replicas: 0 at once, Redis's argument errors.
#[test]
fn wait_answers_that_no_replica_acknowledged() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    assert_eq!(c.run("SET k v"), "OK\n");
    assert_eq!(c.run("WAIT 0 0"), "(integer) 0\n");
    assert_eq!(c.run("WAIT 1 100"), "(integer) 0\n");
    assert_eq!(
        c.run("WAIT x 0"),
        "(error) ERR value is not an integer or out of range\n"
    );
    assert_eq!(
        c.run("WAIT 1 x"),
        "(error) ERR timeout is not an integer or out of range\n"
    );
    assert_eq!(c.run("WAIT 1 -1"), "(error) ERR timeout is negative\n");
    assert_eq!(c.run("MULTI"), "OK\n");
    assert_eq!(c.run("WAIT 1 0"), "QUEUED\n");
    assert_eq!(c.run("EXEC"), "1) (integer) 0\n");
}

/// ROLE as a redis-server 7.0.15 with no replicas answers it (RESP and
/// redis-cli's rendering), over the network and at the console.
#[test]
fn role_is_a_master_with_no_replicas() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    assert_eq!(
        c.reply("ROLE"),
        Reply::Array(vec![
            Reply::bulk("master"),
            Reply::Integer(0),
            Reply::Array(vec![])
        ])
    );
    let mut console = Session::console(&s, &srv);
    assert_eq!(
        console.run("ROLE"),
        "1) \"master\"\n2) (integer) 0\n3) (empty array)\n"
    );
    assert_eq!(
        c.run("ROLE x"),
        "(error) ERR wrong number of arguments for 'ROLE': usage ROLE\n"
    );
}

/// Redis Cluster's commands as a redis-server 7.0.15 without cluster
/// support answers them, every subcommand alike; INFO cluster agrees.
#[test]
fn cluster_commands_are_refused_as_without_cluster_support() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    let refused = "(error) ERR This instance has cluster support disabled\n";
    for line in [
        "CLUSTER INFO",
        "CLUSTER SLOTS",
        "CLUSTER NODES",
        "CLUSTER KEYSLOT k",
        "READONLY",
        "READWRITE",
    ] {
        assert_eq!(c.run(line), refused, "{line}");
    }
    assert!(c
        .run("CLUSTER")
        .starts_with("(error) ERR wrong number of arguments"));
    assert!(c.run("INFO cluster").contains("cluster_enabled:0"));
}

/// REPLICAOF, SLAVEOF and FAILOVER as a redis-server 7.0.15 master with no
/// replicas answers them (checked with redis-cli), but for becoming a
/// replica, which unikv refuses.
#[test]
fn replication_commands_as_a_master_with_no_replicas() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    assert_eq!(c.run("REPLICAOF NO ONE"), "OK\n");
    assert_eq!(c.run("slaveof no one"), "OK\n");
    assert!(c
        .run("REPLICAOF 127.0.0.1 6380")
        .starts_with("(error) ERR unikv does not replicate"));
    assert_eq!(
        c.run("REPLICAOF 127.0.0.1 x"),
        "(error) ERR value is not an integer or out of range\n"
    );
    assert_eq!(
        c.run("REPLICAOF"),
        "(error) ERR wrong number of arguments for 'REPLICAOF': usage REPLICAOF NO ONE | REPLICAOF host port\n"
    );
    assert_eq!(c.run("ROLE").lines().next(), Some("1) \"master\""));
    for (cmd, reply) in [
        ("FAILOVER", "FAILOVER requires connected replicas."),
        (
            "FAILOVER TO 1.2.3.4 5",
            "FAILOVER requires connected replicas.",
        ),
        (
            "FAILOVER TIMEOUT 100",
            "FAILOVER requires connected replicas.",
        ),
        ("FAILOVER ABORT", "No failover in progress."),
        (
            "FAILOVER ABORT FORCE",
            "ABORT is not supported with other arguments",
        ),
        (
            "FAILOVER FORCE",
            "FAILOVER with force option requires both a timeout and target HOST and IP.",
        ),
        (
            "FAILOVER TIMEOUT 0",
            "FAILOVER timeout must be greater than 0",
        ),
        (
            "FAILOVER TO 1.2.3.4 x",
            "value is not an integer or out of range",
        ),
        ("FAILOVER TO 1.2.3.4", "syntax error"),
        ("FAILOVER NOW", "syntax error"),
    ] {
        assert_eq!(c.run(cmd), format!("(error) ERR {reply}\n"), "{cmd}");
    }
}

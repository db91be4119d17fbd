//! SLOWLOG, as redis-server 7.0.15 keeps and shows it; the tests named
//! `tcl_*` cover those of Redis's tests/unit/slowlog.tcl that need only
//! strings (with a threshold of 0, since commands here take no time the
//! test can set).

mod common;

use cmd::Reply;
use common::{server, store, Session};

/// The arguments of every entry, newest first. (The SLOWLOG GET that
/// asks is logged after it answers: the next call finds it first.)
fn all_args(c: &mut Session<'_>) -> Vec<Vec<String>> {
    let Reply::Array(entries) = c.reply("SLOWLOG GET -1") else {
        panic!("SLOWLOG GET is an array")
    };
    entries
        .iter()
        .map(|e| {
            let Reply::Array(e) = e else {
                panic!("an entry is an array")
            };
            let Reply::Array(args) = &e[3] else {
                panic!("its arguments are an array")
            };
            args.iter()
                .map(|a| match a {
                    Reply::Value(v) => String::from_utf8_lossy(v).into_owned(),
                    other => panic!("{other:?}"),
                })
                .collect()
        })
        .collect()
}

/// The arguments of the newest entry.
fn args_of_newest(c: &mut Session<'_>) -> Vec<String> {
    all_args(c).swap_remove(0)
}

/// "SLOWLOG - check that it starts with an empty log", "max entries is
/// correctly handled", "GET optional argument to limit output len works",
/// "RESET subcommand works", "can be disabled".
#[test]
fn tcl_len_max_len_get_count_reset_and_disable() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    assert_eq!(c.run("SLOWLOG LEN"), "(integer) 0\n");
    assert_eq!(c.run("CONFIG SET slowlog-log-slower-than 0"), "OK\n");
    assert_eq!(c.run("CONFIG SET slowlog-max-len 10"), "OK\n");
    for _ in 0..100 {
        c.run("PING");
    }
    assert_eq!(c.run("SLOWLOG LEN"), "(integer) 10\n");
    let Reply::Array(five) = c.reply("SLOWLOG GET 5") else {
        panic!()
    };
    assert_eq!(five.len(), 5);
    assert_eq!(c.run("CONFIG SET slowlog-log-slower-than 100000"), "OK\n");
    assert_eq!(c.run("SLOWLOG RESET"), "OK\n");
    assert_eq!(c.run("SLOWLOG LEN"), "(integer) 0\n");
    assert_eq!(c.run("CONFIG SET slowlog-log-slower-than -1"), "OK\n");
    c.run("SET k v");
    assert_eq!(c.run("SLOWLOG LEN"), "(integer) 0\n");
    assert_eq!(
        c.run("CONFIG GET slowlog-*"),
        "1# \"slowlog-log-slower-than\" => \"-1\"\n2# \"slowlog-max-len\" => \"10\"\n"
    );
}

/// "SLOWLOG - logged entry sanity check" (the shape of an entry), "can
/// clean older entries", "get all slow logs".
#[test]
fn tcl_entries_their_fields_and_max_len() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    c.run("CLIENT SETNAME foobar");
    c.run("CONFIG SET slowlog-log-slower-than 0");
    c.run("SET key test");
    let Reply::Array(entries) = c.reply("SLOWLOG GET") else {
        panic!()
    };
    // The CONFIG SET that turned it on is logged by its own threshold.
    assert_eq!(entries.len(), 2);
    let Reply::Array(e) = &entries[0] else {
        panic!()
    };
    assert_eq!(e.len(), 6);
    assert_eq!(e[0], Reply::Integer(1));
    assert!(
        matches!(e[1], Reply::Integer(t) if t >= 1_700_000_000),
        "{:?}",
        e[1]
    );
    assert!(matches!(e[2], Reply::Integer(us) if us >= 0));
    // The command as the client typed it, as Redis's argv[0].
    assert_eq!(all_args(&mut c)[1], ["SET", "key", "test"]);
    c.run("gEt key");
    assert_eq!(args_of_newest(&mut c), ["gEt", "key"]);
    assert_eq!(e[4], Reply::bulk("127.0.0.1:40000"));
    assert_eq!(e[5], Reply::bulk("foobar"));

    c.run("CONFIG SET slowlog-max-len 3");
    c.run("SLOWLOG RESET");
    c.run("SET key test");
    c.run("INCR num");
    c.run("GET key");
    assert_eq!(c.run("SLOWLOG LEN"), "(integer) 3\n");
    let count = |c: &mut Session<'_>, n: &str| match c.reply(&format!("SLOWLOG GET {n}")) {
        Reply::Array(a) => a.len(),
        other => panic!("{other:?}"),
    };
    assert_eq!(count(&mut c, "0"), 0);
    assert_eq!(count(&mut c, "1"), 1);
    assert_eq!(count(&mut c, "-1"), 3);
    assert_eq!(count(&mut c, "3"), 3);
    c.run("CONFIG SET slowlog-max-len 1");
    c.run("CLIENT SETNAME lastentry_client");
    assert_eq!(count(&mut c, "-1"), 1);
    let Reply::Array(entries) = c.reply("SLOWLOG GET") else {
        panic!()
    };
    let Reply::Array(e) = &entries[0] else {
        panic!()
    };
    assert_eq!(e[5], Reply::bulk("lastentry_client"));
}

/// "SLOWLOG - count must be >= -1", and the subcommands' errors.
#[test]
fn tcl_count_must_be_at_least_minus_one() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    for n in ["-2", "-222"] {
        assert_eq!(
            c.run(&format!("SLOWLOG GET {n}")),
            "(error) ERR count should be greater than or equal to -1\n"
        );
    }
    assert_eq!(
        c.run("SLOWLOG GET x"),
        "(error) ERR value is not an integer or out of range\n"
    );
    assert_eq!(
        c.run("SLOWLOG NOPE"),
        "(error) ERR unknown subcommand 'NOPE'. Try SLOWLOG HELP.\n"
    );
    assert_eq!(
        c.run("SLOWLOG LEN 1"),
        "(error) ERR wrong number of arguments for 'slowlog|len' command\n"
    );
    assert_eq!(
        c.run("CONFIG SET slowlog-log-slower-than -2"),
        "(error) ERR CONFIG SET failed (possibly related to argument 'slowlog-log-slower-than') - argument must be between -1 and 9223372036854775807 inclusive\n"
    );
    assert!(c.run("SLOWLOG HELP").contains("RESET"));
}

/// "SLOWLOG - commands with too many arguments are trimmed", "too long
/// arguments are trimmed" (with MSET and SET: unikv has no sets).
#[test]
fn tcl_long_commands_are_trimmed() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    c.run("CONFIG SET slowlog-log-slower-than 0");
    let pairs: Vec<String> = (0..16).map(|i| format!("k{i} {i}")).collect();
    c.run(&format!("MSET {} k16", pairs.join(" ")));
    // 34 words: the error for an odd count is logged as the command was.
    let args = args_of_newest(&mut c);
    assert_eq!(args.len(), 32);
    assert_eq!(args[0], "MSET");
    assert_eq!(args[30], "14");
    assert_eq!(args[31], "... (3 more arguments)");
    let long = "A".repeat(129);
    c.run(&format!("SET foo {long}"));
    let args = args_of_newest(&mut c);
    assert_eq!(args[2], format!("{}... (1 more bytes)", &long[..128]));
}

/// "SLOWLOG - EXEC is not logged, just executed commands", and passwords
/// are not kept.
#[test]
fn tcl_exec_is_not_logged_and_passwords_are_redacted() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    c.run("CONFIG SET slowlog-log-slower-than 0");
    c.run("SLOWLOG RESET");
    c.run("MULTI");
    c.run("SET a 1");
    c.run("EXEC");
    assert_eq!(
        all_args(&mut c),
        [
            vec!["SET", "a", "1"],
            vec!["MULTI"],
            vec!["SLOWLOG", "RESET"]
        ]
    );
    c.run("CONFIG SET requirepass secret");
    assert_eq!(
        args_of_newest(&mut c),
        ["CONFIG", "SET", "requirepass", "(redacted)"]
    );
    c.run("AUTH secret");
    assert_eq!(args_of_newest(&mut c), ["AUTH", "(redacted)"]);
    c.run("HELLO 2 AUTH default secret SETNAME x");
    assert_eq!(
        args_of_newest(&mut c),
        [
            "HELLO",
            "2",
            "AUTH",
            "(redacted)",
            "(redacted)",
            "SETNAME",
            "x"
        ]
    );
}

/// A log as long as a client likes still takes at most 4 MiB: the oldest
/// entries go.
#[test]
fn the_log_is_bounded_in_bytes() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    c.run("CONFIG SET slowlog-log-slower-than 0");
    c.run("CONFIG SET slowlog-max-len 1000000");
    // 32 arguments of 128 bytes kept from each: ~4.4 KiB an entry.
    let long = "x".repeat(200);
    let line = format!("MSET {}", vec![long.as_str(); 40].join(" "));
    for _ in 0..2000 {
        c.run(&line);
    }
    let Reply::Integer(n) = c.reply("SLOWLOG LEN") else {
        panic!()
    };
    assert!((500..1000).contains(&n), "{n} entries");
    assert_eq!(
        all_args(&mut c)[1][1].len(),
        128 + "... (72 more bytes)".len()
    );
}

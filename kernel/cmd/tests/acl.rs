//! ACL for unikv's one user, with the replies a redis-server 7.0.15 gives
//! for its default user (checked with redis-cli), and ACL LOG's record of
//! failed authentications.

mod common;

use cmd::Reply;
use common::{server, store, Session};

#[test]
fn the_one_user_as_redis_shows_its_default_user() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    assert_eq!(c.run("ACL WHOAMI"), "\"default\"\n");
    assert_eq!(c.run("ACL USERS"), "1) \"default\"\n");
    assert_eq!(
        c.run("ACL LIST"),
        "1) \"user default on nopass ~* &* +@all\"\n"
    );
    assert_eq!(
        c.reply("ACL GETUSER default"),
        Reply::Map(vec![
            (
                Reply::bulk("flags"),
                Reply::Array(vec![Reply::bulk("on"), Reply::bulk("nopass")])
            ),
            (Reply::bulk("passwords"), Reply::Array(vec![])),
            (Reply::bulk("commands"), Reply::bulk("+@all")),
            (Reply::bulk("keys"), Reply::bulk("~*")),
            (Reply::bulk("channels"), Reply::bulk("&*")),
            (Reply::bulk("selectors"), Reply::Array(vec![])),
        ])
    );
    assert_eq!(c.run("ACL GETUSER bob"), "(nil)\n");
    // A password shows as its SHA-256, as Redis shows it.
    let mut console = Session::console(&s, &srv);
    assert_eq!(console.run("CONFIG SET requirepass foo"), "OK\n");
    assert_eq!(
        console.run("ACL LIST"),
        "1) \"user default on #2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae ~* &* +@all\"\n"
    );
    let Reply::Map(user) = console.reply("ACL GETUSER default") else {
        panic!()
    };
    assert_eq!(user[0].1, Reply::Array(vec![Reply::bulk("on")]));
    assert_eq!(
        user[1].1,
        Reply::Array(vec![Reply::bulk(
            "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
        )])
    );
}

#[test]
fn cat_dryrun_and_the_refusals() {
    let (s, srv) = (store(16 << 20), server());
    let mut c = Session::network(&s, &srv);
    let Reply::Array(cats) = c.reply("ACL CAT") else {
        panic!()
    };
    assert_eq!(cats.len(), 21);
    assert_eq!(cats[0], Reply::bulk("keyspace"));
    assert_eq!(cats[20], Reply::bulk("scripting"));
    let transaction = c.run("ACL CAT transaction");
    assert_eq!(
        transaction,
        "1) \"multi\"\n2) \"exec\"\n3) \"discard\"\n4) \"watch\"\n5) \"unwatch\"\n"
    );
    assert!(c.run("ACL CAT String").contains("\"strlen\""));
    assert_eq!(
        c.run("ACL CAT nosuch"),
        "(error) ERR Unknown category 'nosuch'\n"
    );
    assert_eq!(c.run("ACL DRYRUN default SET k v"), "OK\n");
    assert_eq!(
        c.run("ACL DRYRUN default SET k"),
        "(error) ERR wrong number of arguments for 'set' command\n"
    );
    assert_eq!(
        c.run("ACL DRYRUN default nosuch"),
        "(error) ERR Command 'nosuch' not found\n"
    );
    assert_eq!(
        c.run("ACL DRYRUN bob GET k"),
        "(error) ERR User 'bob' not found\n"
    );
    assert_eq!(
        c.run("ACL DELUSER default bob"),
        "(error) ERR The 'default' user cannot be removed\n"
    );
    assert_eq!(c.run("ACL DELUSER bob"), "(integer) 0\n");
    assert!(c
        .run("ACL SETUSER bob on")
        .starts_with("(error) ERR unikv has one user, default"));
    assert!(c
        .run("ACL LOAD")
        .starts_with("(error) ERR This Redis instance is not configured to use an ACL file."));
    assert_eq!(
        c.run("ACL GENPASS 0"),
        "(error) ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096\n"
    );
    assert!(c
        .run("ACL GENPASS")
        .starts_with("(error) ERR unikv has no source of randomness"));
    assert!(c
        .run("ACL")
        .starts_with("(error) ERR wrong number of arguments for "));
}

/// Failed AUTHs and HELLO AUTHs, grouped as Redis groups them (by user and
/// command, within 60 s), newest first; RESET empties the log.
#[test]
fn the_log_counts_failed_authentications() {
    let (s, srv) = (store(16 << 20), server());
    let mut console = Session::console(&s, &srv);
    assert_eq!(console.run("CONFIG SET requirepass foo"), "OK\n");
    let mut c = Session::network(&s, &srv);
    assert_eq!(console.run("ACL LOG"), "(empty array)\n");
    for cmd in ["AUTH wrong", "AUTH wrong", "AUTH default wrong2"] {
        assert!(c.run(cmd).starts_with("(error) WRONGPASS"), "{cmd}");
    }
    assert!(c
        .run("HELLO 3 AUTH default bad")
        .starts_with("(error) WRONGPASS"));
    assert!(c.run("AUTH bob x").starts_with("(error) WRONGPASS"));
    assert_eq!(c.run("AUTH foo"), "OK\n");
    let Reply::Array(log) = c.reply("ACL LOG") else {
        panic!()
    };
    let fields = |e: &Reply| -> Vec<(String, Reply)> {
        let Reply::Map(m) = e else { panic!() };
        m.iter()
            .map(|(k, v)| {
                let Reply::Value(k) = k else { panic!() };
                (String::from_utf8(k.clone()).unwrap(), v.clone())
            })
            .collect()
    };
    let summary: Vec<(Reply, Reply, Reply)> = log
        .iter()
        .map(|e| {
            let f = fields(e);
            (f[0].1.clone(), f[3].1.clone(), f[4].1.clone())
        })
        .collect();
    assert_eq!(
        summary,
        [
            (Reply::Integer(1), Reply::bulk("auth"), Reply::bulk("bob")),
            (
                Reply::Integer(1),
                Reply::bulk("hello"),
                Reply::bulk("default")
            ),
            (
                Reply::Integer(3),
                Reply::bulk("auth"),
                Reply::bulk("default")
            ),
        ]
    );
    let first = fields(&log[2]);
    let names: Vec<&str> = first.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "count",
            "reason",
            "context",
            "object",
            "username",
            "age-seconds",
            "client-info"
        ]
    );
    assert_eq!(first[1].1, Reply::bulk("auth"));
    assert_eq!(first[2].1, Reply::bulk("toplevel"));
    let Reply::Value(info) = &first[6].1 else {
        panic!()
    };
    let info = String::from_utf8_lossy(info);
    assert!(
        info.starts_with("id=") && info.contains(" cmd=auth "),
        "{info}"
    );
    assert_eq!(c.reply("ACL LOG 1"), Reply::Array(vec![log[0].clone()]));
    assert_eq!(
        c.run("ACL LOG x"),
        "(error) ERR value is not an integer or out of range\n"
    );
    // A username is kept to its first 128 bytes: failed AUTHs cannot fill
    // the heap with the names they try.
    let long = "u".repeat(100_000);
    assert!(c
        .run(&format!("AUTH {long} x"))
        .starts_with("(error) WRONGPASS"));
    let Reply::Array(log) = c.reply("ACL LOG 1") else {
        panic!()
    };
    assert_eq!(fields(&log[0])[4].1, Reply::Value(vec![b'u'; 128]));
    assert_eq!(c.run("ACL LOG RESET"), "OK\n");
    assert_eq!(c.run("ACL LOG"), "(empty array)\n");
}

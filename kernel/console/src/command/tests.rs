//! The command table's tests: names, aliases, arity, errors, HELP.

use super::*;
use crate::reply::render;
use alloc::string::ToString;
use alloc::vec;

#[test]
fn every_command_of_the_contract_is_in_the_table() {
    let names = [
        "HELP",
        "SET",
        "PUT",
        "GET",
        "DEL",
        "EXISTS",
        "RANGE",
        "FLUSH",
        "COMPACT",
        "VERIFY",
        "INFO",
        "CACHE",
        "BENCH",
        "SERVICES",
        "LOG",
        "SERVICE",
        "SHUTDOWN",
        "REBOOT",
        "DEBUG",
        // Strings.
        "SETNX",
        "SETEX",
        "PSETEX",
        "GETSET",
        "GETDEL",
        "GETEX",
        "MGET",
        "MSET",
        "MSETNX",
        "APPEND",
        "STRLEN",
        "GETRANGE",
        "SUBSTR",
        "SETRANGE",
        "INCR",
        "DECR",
        "INCRBY",
        "DECRBY",
        "INCRBYFLOAT",
        "LCS",
        // Bitmaps.
        "SETBIT",
        "GETBIT",
        "BITCOUNT",
        "BITPOS",
        "BITOP",
        "BITFIELD",
        "BITFIELD_RO",
        // Expiry.
        "EXPIRE",
        "PEXPIRE",
        "EXPIREAT",
        "PEXPIREAT",
        "TTL",
        "PTTL",
        "EXPIRETIME",
        "PEXPIRETIME",
        "PERSIST",
        "TIME",
    ];
    for name in names {
        assert!(lookup(name.as_bytes()).is_some(), "{name}");
    }
    // Every name above but the PUT alias is its own entry.
    let mut specs: Vec<&str> = names
        .iter()
        .map(|n| lookup(n.as_bytes()).unwrap().name)
        .collect();
    specs.sort_unstable();
    specs.dedup();
    assert_eq!(specs.len(), names.len() - 1);
}

#[test]
fn table_is_consistent() {
    for spec in commands() {
        assert!(GROUPS.contains(&spec.group), "{}", spec.name);
        assert!(spec.usage.starts_with(spec.name), "{}", spec.name);
        assert_eq!(spec.name, spec.name.to_ascii_uppercase());
        assert!(!spec.summary.is_empty() && !spec.summary.contains('\n'));
        assert!(spec.max_args.is_none_or(|max| max >= spec.min_args));
        // No name or alias is claimed twice.
        for name in core::iter::once(&spec.name).chain(spec.aliases) {
            assert!(
                core::ptr::eq(lookup(name.as_bytes()).unwrap(), spec),
                "{name}"
            );
        }
    }
}

#[test]
fn every_spec_knows_its_position() {
    for (index, spec) in commands().enumerate() {
        let p = position(spec).unwrap();
        assert_eq!(p.index, index, "{}", spec.name);
        assert!(core::ptr::eq(&FAMILIES[p.family][p.at], spec));
    }
    assert_eq!(count(), commands().count());
    let stranger = CommandSpec {
        name: "STRANGER",
        aliases: &[],
        min_args: 0,
        max_args: None,
        usage: "STRANGER",
        summary: "not in the table",
        group: "server",
        flags: 0,
        keys: Keys::NONE,
    };
    assert_eq!(position(&stranger), None);
}

#[test]
fn usage_strings_match_the_contract() {
    let usage = |name: &str| lookup(name.as_bytes()).unwrap().usage;
    assert_eq!(
        usage("SET"),
        "SET key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|\
         PXAT unix-time-milliseconds|KEEPTTL]"
    );
    assert_eq!(usage("EXPIRE"), "EXPIRE key seconds [NX|XX|GT|LT]");
    assert_eq!(
        usage("LCS"),
        "LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]"
    );
    assert_eq!(usage("RANGE"), "RANGE start end [LIMIT n]");
    assert_eq!(
        usage("CACHE"),
        "CACHE POLICY none|lru|arc|ackey | CACHE SIZE bytes | CACHE METADATA pinned|cached | CACHE RESET"
    );
    assert_eq!(usage("SERVICE"), "SERVICE START|STOP name");
    assert_eq!(usage("BENCH"), "BENCH workload [n] [field=value ...]");
    assert_eq!(usage("DEL"), "DEL key [key ...]");
    assert_eq!(usage("HELP"), "HELP [command]");
}

#[test]
fn lookup_ignores_case_and_knows_aliases() {
    for name in [&b"get"[..], b"GET", b"Get", b"gEt"] {
        assert_eq!(lookup(name).unwrap().name, "GET");
    }
    assert_eq!(lookup(b"put").unwrap().name, "SET");
    assert_eq!(lookup(b"Put").unwrap().name, "SET");
    assert_eq!(lookup(b"service").unwrap().name, "SERVICE");
    assert_eq!(lookup(b"services").unwrap().name, "SERVICES");
    assert!(lookup(b"GETS").is_none());
    assert!(lookup(b"GE").is_none());
    assert!(lookup(b"").is_none());
    assert!(lookup(b"G\xc3\x89T").is_none());
}

#[test]
fn lookup_after_the_last_command_finds_what_lookup_finds() {
    let get = lookup(b"GET");
    assert_eq!(super::lookup_after(get, b"get").unwrap().name, "GET");
    // Another name, an alias of another command, none at all: the table.
    assert_eq!(super::lookup_after(get, b"set").unwrap().name, "SET");
    assert_eq!(super::lookup_after(get, b"put").unwrap().name, "SET");
    assert!(super::lookup_after(get, b"GETS").is_none());
    assert!(super::lookup_after(get, b"GE").is_none());
    assert_eq!(super::lookup_after(None, b"Get").unwrap().name, "GET");
}

#[test]
fn arity_of_every_command() {
    // (name, fewest, most) arguments after the name; usize::MAX for unbounded.
    let table = [
        ("HELP", 0, 1),
        ("SET", 2, usize::MAX),
        ("PUT", 2, usize::MAX),
        ("GET", 1, 1),
        ("SETNX", 2, 2),
        ("SETEX", 3, 3),
        ("PSETEX", 3, 3),
        ("GETSET", 2, 2),
        ("GETDEL", 1, 1),
        ("GETEX", 1, usize::MAX),
        ("MGET", 1, usize::MAX),
        ("MSET", 2, usize::MAX),
        ("MSETNX", 2, usize::MAX),
        ("APPEND", 2, 2),
        ("STRLEN", 1, 1),
        ("GETRANGE", 3, 3),
        ("SUBSTR", 3, 3),
        ("SETRANGE", 3, 3),
        ("INCR", 1, 1),
        ("DECR", 1, 1),
        ("INCRBY", 2, 2),
        ("DECRBY", 2, 2),
        ("INCRBYFLOAT", 2, 2),
        ("LCS", 2, usize::MAX),
        ("EXPIRE", 2, usize::MAX),
        ("PEXPIRE", 2, usize::MAX),
        ("EXPIREAT", 2, usize::MAX),
        ("PEXPIREAT", 2, usize::MAX),
        ("TTL", 1, 1),
        ("PTTL", 1, 1),
        ("EXPIRETIME", 1, 1),
        ("PEXPIRETIME", 1, 1),
        ("PERSIST", 1, 1),
        ("TIME", 0, 0),
        ("DEL", 1, usize::MAX),
        ("EXISTS", 1, usize::MAX),
        ("RANGE", 2, 4),
        ("FLUSH", 0, 0),
        ("SAVE", 0, 0),
        ("BGSAVE", 0, 1),
        ("BGREWRITEAOF", 0, 0),
        ("COMPACT", 0, 0),
        ("VERIFY", 0, 0),
        ("INFO", 0, usize::MAX),
        ("CACHE", 1, 2),
        ("BENCH", 1, usize::MAX),
        ("SERVICES", 0, 0),
        ("LOG", 0, 1),
        ("SERVICE", 2, 2),
        ("SHUTDOWN", 0, 4),
        ("REBOOT", 0, 0),
        ("UNLINK", 1, usize::MAX),
        ("TOUCH", 1, usize::MAX),
        ("TYPE", 1, 1),
        ("RENAME", 2, 2),
        ("RENAMENX", 2, 2),
        ("COPY", 2, usize::MAX),
        ("DUMP", 1, 1),
        ("RESTORE", 3, usize::MAX),
        ("MOVE", 2, 2),
        ("SWAPDB", 2, 2),
        ("KEYS", 1, 1),
        ("SCAN", 1, usize::MAX),
        ("RANDOMKEY", 0, 0),
        ("DBSIZE", 0, 0),
        ("FLUSHDB", 0, usize::MAX),
        ("FLUSHALL", 0, usize::MAX),
        ("MULTI", 0, 0),
        ("EXEC", 0, 0),
        ("DISCARD", 0, 0),
        ("WATCH", 1, usize::MAX),
        ("UNWATCH", 0, 0),
        ("PING", 0, 1),
        ("ECHO", 1, 1),
        ("AUTH", 1, usize::MAX),
        ("HELLO", 0, usize::MAX),
        ("SELECT", 1, 1),
        ("CLIENT", 1, usize::MAX),
        ("RESET", 0, 0),
        ("QUIT", 0, usize::MAX),
        ("COMMAND", 0, usize::MAX),
        ("CONFIG", 1, usize::MAX),
        ("FUNCTION", 1, usize::MAX),
        ("SLOWLOG", 1, usize::MAX),
        ("LASTSAVE", 0, 0),
        ("WAIT", 2, 2),
        ("LATENCY", 1, usize::MAX),
        ("MONITOR", 0, 0),
        ("ROLE", 0, 0),
        ("CLUSTER", 1, usize::MAX),
        ("READONLY", 0, 0),
        ("READWRITE", 0, 0),
        ("REPLICAOF", 2, 2),
        ("SLAVEOF", 2, 2),
        ("FAILOVER", 0, usize::MAX),
        ("ACL", 1, usize::MAX),
    ];
    for (name, min, max) in table {
        let spec = lookup(name.as_bytes()).unwrap();
        assert_eq!(check_arity(spec, min), Ok(()), "{name} {min}");
        if max != usize::MAX {
            assert_eq!(check_arity(spec, max), Ok(()), "{name} {max}");
            assert!(check_arity(spec, max + 1).is_err(), "{name} {}", max + 1);
        } else {
            assert_eq!(check_arity(spec, 1000), Ok(()), "{name}");
        }
        if min > 0 {
            assert_eq!(
                check_arity(spec, min - 1),
                Err(CommandError::Arity {
                    name: spec.name,
                    usage: spec.usage
                }),
                "{name}"
            );
        }
    }
}

#[test]
fn redis_arity_of_the_redis_commands() {
    // What Redis 7.0's COMMAND INFO says, so that clients that check
    // arity before sending (and COMMAND INFO here) agree with Redis.
    let table = [
        ("SETBIT", 4),
        ("GETBIT", 3),
        ("BITCOUNT", -2),
        ("BITPOS", -3),
        ("BITOP", -4),
        ("BITFIELD", -2),
        ("BITFIELD_RO", -2),
        ("DEL", -2),
        ("UNLINK", -2),
        ("EXISTS", -2),
        ("TOUCH", -2),
        ("TYPE", 2),
        ("RENAME", 3),
        ("RENAMENX", 3),
        ("COPY", -3),
        ("DUMP", 2),
        ("RESTORE", -4),
        ("MOVE", 3),
        ("SWAPDB", 3),
        ("KEYS", 2),
        ("SCAN", -2),
        ("RANDOMKEY", 1),
        ("DBSIZE", 1),
        ("FLUSHDB", -1),
        ("FLUSHALL", -1),
        ("MULTI", 1),
        ("EXEC", 1),
        ("DISCARD", 1),
        ("WATCH", -2),
        ("UNWATCH", 1),
        ("PING", -1),
        ("ECHO", 2),
        ("AUTH", -2),
        ("HELLO", -1),
        ("SELECT", 2),
        ("CLIENT", -2),
        ("RESET", 1),
        ("QUIT", -1),
        ("COMMAND", -1),
        ("CONFIG", -2),
        ("FUNCTION", -2),
        ("SLOWLOG", -2),
        ("INFO", -1),
        ("GET", 2),
    ];
    for (name, arity) in table {
        assert_eq!(lookup(name.as_bytes()).unwrap().arity(), arity, "{name}");
    }
}

#[test]
fn error_messages() {
    let get = lookup(b"GET").unwrap();
    assert_eq!(
        check_arity(get, 0).unwrap_err().to_string(),
        "wrong number of arguments for 'GET': usage GET key"
    );
    assert_eq!(
        CommandError::unknown(b"FOO").to_string(),
        "unknown command 'FOO', type HELP for the list of commands"
    );
    assert_eq!(
        CommandError::unknown(b"a\x00\xff\"b").to_string(),
        "unknown command 'a\\x00\\xff\\\"b', type HELP for the list of commands"
    );
    assert_eq!(
        CommandError::TooLong {
            len: 70000,
            max: 65536
        }
        .to_string(),
        "line too long (70000 bytes, the limit is 65536); nothing was done"
    );
    assert_eq!(
        CommandError::from(ParseError::UnbalancedQuotes { at: 4 }).to_string(),
        ParseError::UnbalancedQuotes { at: 4 }.to_string()
    );
}

#[test]
fn unknown_names_are_capped() {
    let long = vec![b'Z'; 1000];
    let CommandError::Unknown(shown) = CommandError::unknown(&long) else {
        panic!()
    };
    assert_eq!(shown.len(), 64 + 3);
    assert!(shown.ends_with("ZZ..."));
    let exactly = vec![b'Z'; 64];
    assert_eq!(
        CommandError::unknown(&exactly),
        CommandError::Unknown("Z".repeat(64))
    );
}

#[test]
fn command_errors_render_as_err_replies() {
    let mut s = String::new();
    render(&CommandError::unknown(b"foo").into(), &mut s).unwrap();
    assert_eq!(
        s,
        "(error) ERR unknown command 'foo', type HELP for the list of commands\r\n"
    );
}

#[test]
fn parse_command_does_everything_short_of_running() {
    let inv = parse_command(br#"put "my key" "a b""#).unwrap().unwrap();
    assert_eq!(inv.spec.name, "SET");
    assert_eq!(inv.args, vec![b"my key".to_vec(), b"a b".to_vec()]);
    assert_eq!(parse_command(b"   "), Ok(None));
    assert_eq!(
        parse_command(b"FROB x"),
        Err(CommandError::Unknown("FROB".into()))
    );
    assert!(matches!(
        parse_command(b"GET"),
        Err(CommandError::Arity { name: "GET", .. })
    ));
    assert!(matches!(
        parse_command(b"GET \"x"),
        Err(CommandError::Parse(_))
    ));
    assert_eq!(
        parse_command(b"flush").unwrap().unwrap().args,
        Vec::<Vec<u8>>::new()
    );
}

#[test]
fn help_lists_every_command_grouped() {
    let help = help_all();
    for spec in commands() {
        let line = alloc::format!("  {} - {}", spec.usage, spec.summary);
        assert!(help.contains(&line), "{line}");
    }
    let pos = |s: &str| help.find(s).unwrap();
    assert!(pos("\nkeys:\n") < pos("\nstorage:\n"));
    assert!(pos("\nstorage:\n") < pos("\ncache:\n"));
    assert!(pos("\ncache:\n") < pos("\nserver:\n"));
    assert!(pos("  GET key") < pos("\nstorage:\n"));
    assert!(pos("  SHUTDOWN") > pos("\nserver:\n"));
    assert!(help.contains("(alias PUT)"));
}

#[test]
fn help_for_one_command() {
    assert_eq!(
        help_one(b"get").unwrap(),
        "usage: GET key\nread the value of a key, or (nil) if it has none\n"
    );
    let set = help_one(b"PUT").unwrap();
    assert!(set.starts_with("usage: SET key value [NX|XX] [GET] [EX seconds|"));
    assert!(set.ends_with("aliases: PUT\n"));
    assert_eq!(help_one(b"nope"), None);
}

/// The hash index answers as a walk of the table does: every name and
/// alias in three cases, each of them with one byte changed, cut short or
/// run on, and names made of random bytes.
#[test]
fn the_index_finds_what_a_walk_of_the_table_finds() {
    let walk = |name: &[u8]| {
        commands().find(|spec| {
            spec.name.as_bytes().eq_ignore_ascii_case(name)
                || spec
                    .aliases
                    .iter()
                    .any(|alias| alias.as_bytes().eq_ignore_ascii_case(name))
        })
    };
    let same = |a: Option<&CommandSpec>, b: Option<&CommandSpec>| match (a, b) {
        (Some(a), Some(b)) => core::ptr::eq(a, b),
        (None, None) => true,
        _ => false,
    };
    let mut names: Vec<Vec<u8>> = Vec::new();
    for spec in commands() {
        for name in core::iter::once(spec.name).chain(spec.aliases.iter().copied()) {
            let n = name.as_bytes();
            assert!(core::ptr::eq(lookup(n).unwrap(), spec), "{name}");
            names.push(n.to_ascii_lowercase());
            names.push(
                n.iter()
                    .enumerate()
                    .map(|(i, b)| {
                        if i % 2 == 0 {
                            b.to_ascii_lowercase()
                        } else {
                            *b
                        }
                    })
                    .collect(),
            );
            for i in 0..n.len() {
                let mut changed = n.to_vec();
                changed[i] ^= 1;
                names.push(changed);
            }
            names.push(n[..n.len() - 1].to_vec());
            names.push([n, b"X"].concat());
        }
    }
    let mut seed = 0x2545_f491_u32;
    for _ in 0..20_000 {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let len = (seed % 40) as usize;
        names.push((0..len).map(|i| (seed >> (i % 24)) as u8 | 0x40).collect());
    }
    names.push(vec![b'A'; 10_000]);
    for name in &names {
        assert!(
            same(lookup(name), walk(name)),
            "{:?}",
            String::from_utf8_lossy(name)
        );
    }
}

//! COMMAND: the command table as Redis 7.0 clients ask for it. COMMAND
//! and COMMAND INFO give each command's name, arity, flags, key positions
//! and ACL categories (10 fields, as Redis; no key specs or tips);
//! COMMAND DOCS a map per command with its summary, the Redis version
//! that has it first (for Redis's commands), its group (Redis's name for
//! Redis's commands, unikv's HELP group for unikv's own) and, as its one
//! argument, its usage: redis-cli builds its help and its hints from that.

use alloc::string::String;
use alloc::vec::Vec;

use console::{commands, flag, lookup, CommandSpec, Invocation, Reply};

use crate::args::is;
use crate::ctx::{CmdError, Ctx};
use crate::keys::glob;
use crate::subcommand::{container, full_name, Container, Sub, HELP};

/// COMMAND's subcommands, with Redis's arities.
pub(crate) static COMMAND: Container = Container {
    name: "COMMAND",
    bare: true,
    subs: &[
        Sub {
            name: "COUNT",
            arity: 2,
            args: "",
            summary: "Return the total number of commands in this Redis server.",
            since: "2.8.13",
        },
        Sub {
            name: "LIST",
            arity: -2,
            args: "[FILTERBY (MODULE <module-name>|ACLCAT <category>|PATTERN <pattern>)]",
            summary: "Return a list of all commands in this Redis server.",
            since: "7.0.0",
        },
        Sub {
            name: "INFO",
            arity: -2,
            args: "[<command-name> ...]",
            summary: "Return details about multiple Redis commands.",
            since: "2.8.13",
        },
        Sub {
            name: "DOCS",
            arity: -2,
            args: "[<command-name> ...]",
            summary: "Return documentation details about multiple Redis commands.",
            since: "7.0.0",
        },
        Sub {
            name: "GETKEYS",
            arity: -4,
            args: "<full-command>",
            summary: "Return the keys from a full Redis command.",
            since: "2.8.13",
        },
        HELP,
    ],
};

/// Redis's commands unikv has (or will have): the version that has each
/// first, and Redis's group for it.
const REDIS: &[(&str, &str, &str)] = &[
    ("SET", "1.0.0", "string"),
    ("GET", "1.0.0", "string"),
    ("GETEX", "6.2.0", "string"),
    ("GETDEL", "6.2.0", "string"),
    ("GETSET", "1.0.0", "string"),
    ("SETNX", "1.0.0", "string"),
    ("SETEX", "2.0.0", "string"),
    ("PSETEX", "2.6.0", "string"),
    ("MSET", "1.0.1", "string"),
    ("MSETNX", "1.0.1", "string"),
    ("MGET", "1.0.0", "string"),
    ("INCR", "1.0.0", "string"),
    ("INCRBY", "1.0.0", "string"),
    ("INCRBYFLOAT", "2.6.0", "string"),
    ("DECR", "1.0.0", "string"),
    ("DECRBY", "1.0.0", "string"),
    ("APPEND", "2.0.0", "string"),
    ("STRLEN", "2.2.0", "string"),
    ("GETRANGE", "2.4.0", "string"),
    ("SETRANGE", "2.2.0", "string"),
    ("SUBSTR", "1.0.0", "string"),
    ("LCS", "7.0.0", "string"),
    ("SETBIT", "2.2.0", "bitmap"),
    ("GETBIT", "2.2.0", "bitmap"),
    ("BITCOUNT", "2.6.0", "bitmap"),
    ("BITPOS", "2.8.7", "bitmap"),
    ("BITOP", "2.6.0", "bitmap"),
    ("BITFIELD", "3.2.0", "bitmap"),
    ("BITFIELD_RO", "6.0.0", "bitmap"),
    ("DEL", "1.0.0", "generic"),
    ("UNLINK", "4.0.0", "generic"),
    ("EXISTS", "1.0.0", "generic"),
    ("TOUCH", "3.2.1", "generic"),
    ("TYPE", "1.0.0", "generic"),
    ("RENAME", "1.0.0", "generic"),
    ("RENAMENX", "1.0.0", "generic"),
    ("COPY", "6.2.0", "generic"),
    ("DUMP", "2.6.0", "generic"),
    ("RESTORE", "2.6.0", "generic"),
    ("MOVE", "1.0.0", "generic"),
    ("KEYS", "1.0.0", "generic"),
    ("SCAN", "2.8.0", "generic"),
    ("RANDOMKEY", "1.0.0", "generic"),
    ("EXPIRE", "1.0.0", "generic"),
    ("PEXPIRE", "2.6.0", "generic"),
    ("EXPIREAT", "1.2.0", "generic"),
    ("PEXPIREAT", "2.6.0", "generic"),
    ("EXPIRETIME", "7.0.0", "generic"),
    ("PEXPIRETIME", "7.0.0", "generic"),
    ("TTL", "1.0.0", "generic"),
    ("PTTL", "2.6.0", "generic"),
    ("PERSIST", "2.2.0", "generic"),
    ("SWAPDB", "4.0.0", "server"),
    ("DBSIZE", "1.0.0", "server"),
    ("FLUSHDB", "1.0.0", "server"),
    ("FLUSHALL", "1.0.0", "server"),
    ("INFO", "1.0.0", "server"),
    ("TIME", "2.6.0", "server"),
    ("SHUTDOWN", "1.0.0", "server"),
    ("COMMAND", "2.8.13", "server"),
    ("CONFIG", "2.0.0", "server"),
    ("SLOWLOG", "2.2.12", "server"),
    ("LASTSAVE", "1.0.0", "server"),
    ("SAVE", "1.0.0", "server"),
    ("BGSAVE", "1.0.0", "server"),
    ("BGREWRITEAOF", "1.0.0", "server"),
    ("MONITOR", "1.0.0", "server"),
    ("ROLE", "2.8.12", "server"),
    ("CLUSTER", "3.0.0", "cluster"),
    ("READONLY", "3.0.0", "cluster"),
    ("READWRITE", "3.0.0", "cluster"),
    ("REPLICAOF", "5.0.0", "server"),
    ("SLAVEOF", "1.0.0", "server"),
    ("FAILOVER", "6.2.0", "server"),
    ("ACL", "6.0.0", "server"),
    ("WAIT", "3.0.0", "generic"),
    ("LATENCY", "2.8.13", "server"),
    ("MULTI", "1.2.0", "transactions"),
    ("EXEC", "1.2.0", "transactions"),
    ("DISCARD", "2.0.0", "transactions"),
    ("WATCH", "2.2.0", "transactions"),
    ("UNWATCH", "2.2.0", "transactions"),
    ("PING", "1.0.0", "connection"),
    ("ECHO", "1.0.0", "connection"),
    ("AUTH", "1.0.0", "connection"),
    ("HELLO", "6.0.0", "connection"),
    ("SELECT", "1.0.0", "connection"),
    ("CLIENT", "2.4.0", "connection"),
    ("RESET", "6.2.0", "connection"),
    ("QUIT", "1.0.0", "connection"),
    ("FUNCTION", "7.0.0", "scripting"),
];

/// (since, Redis's group) of `spec`: unikv's own commands have no
/// version of Redis and keep their HELP group.
fn origin(spec: &CommandSpec) -> (Option<&'static str>, &'static str) {
    match REDIS.iter().find(|(name, _, _)| *name == spec.name) {
        Some(&(_, since, group)) => (Some(since), group),
        None => (None, spec.group),
    }
}

/// The flags COMMAND INFO shows for `flags`.
fn flag_names(flags: u16) -> Vec<Reply> {
    [
        (flag::WRITE, "write"),
        (flag::READONLY, "readonly"),
        (flag::ADMIN, "admin"),
        (flag::NOAUTH, "no_auth"),
        (flag::FAST, "fast"),
    ]
    .iter()
    .filter(|(bit, _)| flags & bit != 0)
    .map(|(_, name)| Reply::Status(String::from(*name)))
    .collect()
}

/// Redis's ACL categories of a command with these flags, in this group.
fn categories(flags: u16, group: &str) -> Vec<Reply> {
    let mut cats = Vec::new();
    match group {
        "keys" => cats.push("@keyspace"),
        "strings" => cats.push("@string"),
        "bitmaps" => cats.push("@bitmap"),
        "transactions" => cats.push("@transaction"),
        "connection" => cats.push("@connection"),
        _ => {}
    }
    if flags & flag::WRITE != 0 {
        cats.push("@write");
    }
    if flags & flag::READONLY != 0 {
        cats.push("@read");
    }
    if flags & flag::ADMIN != 0 {
        cats.push("@admin");
        cats.push("@dangerous");
    }
    cats.push(if flags & flag::FAST != 0 {
        "@fast"
    } else {
        "@slow"
    });
    cats.into_iter()
        .map(|c| Reply::Status(String::from(c)))
        .collect()
}

/// A name, lower case, as a bulk string.
fn lower(name: &str) -> Reply {
    Reply::Value(name.to_ascii_lowercase().into_bytes())
}

/// One subcommand's COMMAND INFO entry.
fn sub_info(c: &Container, spec: &CommandSpec, sub: &Sub) -> Reply {
    Reply::Array(alloc::vec![
        Reply::Value(full_name(c, sub).into_bytes()),
        Reply::Integer(sub.arity),
        Reply::Array(flag_names(spec.flags)),
        Reply::Integer(0),
        Reply::Integer(0),
        Reply::Integer(0),
        Reply::Array(categories(spec.flags, spec.group)),
        Reply::Array(Vec::new()),
        Reply::Array(Vec::new()),
        Reply::Array(Vec::new()),
    ])
}

/// One command's COMMAND INFO entry, its subcommands' inside.
fn info(spec: &CommandSpec) -> Reply {
    let subs = container(spec.name).map_or(Vec::new(), |c| {
        c.subs.iter().map(|s| sub_info(c, spec, s)).collect()
    });
    Reply::Array(alloc::vec![
        lower(spec.name),
        Reply::Integer(spec.arity()),
        Reply::Array(flag_names(spec.flags)),
        Reply::Integer(spec.keys.first.into()),
        Reply::Integer(spec.keys.last.into()),
        Reply::Integer(spec.keys.step.into()),
        Reply::Array(categories(spec.flags, spec.group)),
        Reply::Array(Vec::new()),
        Reply::Array(Vec::new()),
        Reply::Array(subs),
    ])
}

/// A map's field name.
fn field(name: &str) -> Reply {
    Reply::bulk(name)
}

/// The docs of a command or subcommand: summary, since, group, and its
/// arguments as one (so that redis-cli shows the usage as its hint).
fn docs_map(summary: &str, since: Option<&str>, group: &str, args: &str) -> Vec<(Reply, Reply)> {
    let mut map = alloc::vec![(field("summary"), Reply::bulk(summary))];
    if let Some(since) = since {
        map.push((field("since"), Reply::bulk(since)));
    }
    map.push((field("group"), Reply::bulk(group)));
    if !args.is_empty() {
        let arg = Reply::Map(alloc::vec![
            (field("name"), Reply::bulk(args)),
            (field("type"), Reply::bulk("string")),
        ]);
        map.push((field("arguments"), Reply::Array(alloc::vec![arg])));
    }
    map
}

/// One command's COMMAND DOCS entry.
fn docs(spec: &CommandSpec) -> Reply {
    let (since, group) = origin(spec);
    let args = spec
        .usage
        .strip_prefix(spec.name)
        .unwrap_or("")
        .trim_start();
    match container(spec.name) {
        None => Reply::Map(docs_map(spec.summary, since, group, args)),
        Some(c) => {
            let mut map = docs_map(spec.summary, since, group, "");
            let subs = c
                .subs
                .iter()
                .map(|s| {
                    (
                        Reply::Value(full_name(c, s).into_bytes()),
                        Reply::Map(docs_map(s.summary, Some(s.since), group, s.args)),
                    )
                })
                .collect();
            map.push((field("subcommands"), Reply::Map(subs)));
            Reply::Map(map)
        }
    }
}

/// A command or `container|subcommand` by name, without case.
enum Named {
    Command(&'static CommandSpec),
    Sub(&'static Container, &'static CommandSpec, &'static Sub),
}

fn named(name: &[u8]) -> Option<Named> {
    if let Some(bar) = name.iter().position(|&b| b == b'|') {
        let spec = lookup(&name[..bar])?;
        let c = container(spec.name)?;
        let sub = c
            .subs
            .iter()
            .find(|s| s.name.as_bytes().eq_ignore_ascii_case(&name[bar + 1..]))?;
        return Some(Named::Sub(c, spec, sub));
    }
    lookup(name).map(Named::Command)
}

/// COMMAND and its subcommands (checked by `run` before this).
pub fn command(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    if inv.args.is_empty() {
        ctx.client.last_sub = None;
        return Ok(Reply::Array(commands().map(info).collect()));
    }
    let sub = COMMAND.enter(ctx, inv)?;
    let args = &inv.args[1..];
    match sub.name {
        "COUNT" => Ok(Reply::Integer(commands().count() as i64)),
        "INFO" if args.is_empty() => Ok(Reply::Array(commands().map(info).collect())),
        "INFO" => Ok(Reply::Array(
            args.iter()
                .map(|name| match named(name) {
                    Some(Named::Command(spec)) => info(spec),
                    Some(Named::Sub(c, spec, sub)) => sub_info(c, spec, sub),
                    None => Reply::Nil,
                })
                .collect(),
        )),
        "DOCS" if args.is_empty() => Ok(Reply::Map(
            commands().map(|s| (lower(s.name), docs(s))).collect(),
        )),
        "DOCS" => Ok(Reply::Map(
            args.iter()
                .filter_map(|name| match named(name)? {
                    Named::Command(spec) => Some((lower(spec.name), docs(spec))),
                    Named::Sub(c, spec, sub) => Some((
                        Reply::Value(full_name(c, sub).into_bytes()),
                        Reply::Map(docs_map(
                            sub.summary,
                            Some(sub.since),
                            origin(spec).1,
                            sub.args,
                        )),
                    )),
                })
                .collect(),
        )),
        "LIST" => list(args),
        "GETKEYS" => getkeys(args),
        _ => Ok(COMMAND.help()),
    }
}

/// Which names COMMAND LIST gives.
enum Filter<'a> {
    All,
    Module,
    Category(&'a [u8]),
    Pattern(&'a [u8]),
}

/// `COMMAND LIST [FILTERBY MODULE name|ACLCAT category|PATTERN pattern]`.
/// unikv has no modules.
fn list(args: &[Vec<u8>]) -> Result<Reply, CmdError> {
    let filter = match args {
        [] => Filter::All,
        [by, kind, arg] if is(by, "FILTERBY") => {
            if is(kind, "MODULE") {
                Filter::Module
            } else if is(kind, "ACLCAT") {
                Filter::Category(arg)
            } else if is(kind, "PATTERN") {
                Filter::Pattern(arg)
            } else {
                return Err(CmdError::syntax());
            }
        }
        _ => return Err(CmdError::syntax()),
    };
    Ok(names(filter))
}

/// ACL CAT's commands of `category`: COMMAND LIST FILTERBY ACLCAT's.
pub(crate) fn names_in_category(category: &[u8]) -> Reply {
    names(Filter::Category(category))
}

/// The names `filter` keeps, lower case, each command's subcommands after
/// it as `container|subcommand` (Redis 7.0 lists them so, and filters them
/// as it filters commands: a subcommand by its own full name, in its
/// command's categories).
fn names(filter: Filter<'_>) -> Reply {
    let keep = |in_category: bool, name: &str| match filter {
        Filter::All => true,
        Filter::Module => false,
        Filter::Category(_) => in_category,
        Filter::Pattern(p) => glob::matches(p, name.as_bytes(), true),
    };
    let mut names = Vec::new();
    for spec in commands() {
        let in_category = match filter {
            Filter::Category(cat) => categories(spec.flags, spec.group).iter().any(
                |c| matches!(c, Reply::Status(c) if c.as_bytes()[1..].eq_ignore_ascii_case(cat)),
            ),
            _ => false,
        };
        let name = spec.name.to_ascii_lowercase();
        if keep(in_category, &name) {
            names.push(Reply::Value(name.into_bytes()));
        }
        let Some(c) = container(spec.name) else {
            continue;
        };
        for sub in c.subs {
            let full = full_name(c, sub);
            if keep(in_category, &full) {
                names.push(Reply::Value(full.into_bytes()));
            }
        }
    }
    Reply::Array(names)
}

/// `COMMAND GETKEYS command arg ...`: the arguments that are keys.
fn getkeys(args: &[Vec<u8>]) -> Result<Reply, CmdError> {
    let invalid = |m: &str| CmdError::Invalid(String::from(m));
    let spec = lookup(&args[0]).ok_or_else(|| invalid("Invalid command specified"))?;
    if spec.keys.step == 0 {
        return Err(invalid("The command has no key arguments"));
    }
    let argc = args.len() as i64;
    let arity = spec.arity();
    if (arity > 0 && arity != argc) || argc < -arity {
        return Err(invalid("Invalid number of arguments specified for command"));
    }
    let first = i64::from(spec.keys.first);
    let last = match i64::from(spec.keys.last) {
        l if l < 0 => argc + l,
        l => l,
    };
    if last >= argc {
        return Err(invalid("Invalid arguments specified for command"));
    }
    let step = i64::from(spec.keys.step) as usize;
    Ok(Reply::Array(
        (first..=last)
            .step_by(step)
            .map(|i| Reply::Value(args[i as usize].clone()))
            .collect(),
    ))
}

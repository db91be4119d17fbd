//! The command table: names, aliases, arity, flags, usage and help,
//! independent of what the commands do, shared by every front end (the
//! console, network sessions). The command layer (`cmd`) keys its handlers
//! by [`CommandSpec::name`]; everything a user can get wrong before that is
//! caught here, so a bad command is refused before it can touch stored data.
//!
//! The specs live in one file per family (strings, keys, transactions,
//! connection, appliance, server), listed in
//! [`FAMILIES`]; [`commands`] walks them all.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::{self, Write};

use crate::parse::{split_args, ParseError};
use crate::reply::{escape_into, Reply};

/// One console command.
#[derive(Debug, PartialEq, Eq)]
pub struct CommandSpec {
    /// The canonical name, upper case; what the kernel dispatches on.
    pub name: &'static str,
    /// Other names accepted for it, upper case.
    pub aliases: &'static [&'static str],
    /// Fewest arguments after the name.
    pub min_args: usize,
    /// Most arguments after the name; `None` for no limit.
    pub max_args: Option<usize>,
    /// The synopsis shown by HELP and in arity errors.
    pub usage: &'static str,
    /// What it does, in one line.
    pub summary: &'static str,
    /// HELP lists commands by group, in [`GROUPS`]' order.
    pub group: &'static str,
    /// What kind of command it is ([`flag`]).
    pub flags: u16,
    /// Where its keys are among its arguments (Redis's COMMAND INFO).
    pub keys: Keys,
}

impl CommandSpec {
    /// Whether it has every flag in `flags`.
    pub fn has(&self, flags: u16) -> bool {
        self.flags & flags == flags
    }

    /// Redis's arity: the argument count with the name, negative for "at
    /// least".
    pub fn arity(&self) -> i64 {
        let min = self.min_args as i64 + 1;
        match self.max_args {
            Some(max) if max == self.min_args => min,
            _ => -min,
        }
    }
}

/// What kind of command a spec is, as bits of [`CommandSpec::flags`].
pub mod flag {
    /// It may change stored data.
    pub const WRITE: u16 = 1;
    /// It only reads stored data.
    pub const READONLY: u16 = 1 << 1;
    /// It controls the appliance itself (power, services, maintenance,
    /// benchmarks, the debug hooks): refused over the network unless a
    /// password is set and the connection authenticated.
    pub const ADMIN: u16 = 1 << 2;
    /// Allowed before a connection authenticates (AUTH, HELLO, QUIT).
    pub const NOAUTH: u16 = 1 << 3;
    /// Constant or logarithmic time.
    pub const FAST: u16 = 1 << 4;
    /// Not queued by MULTI: it runs (or is refused) at once.
    pub const NO_MULTI: u16 = 1 << 5;
}

/// Where a command's keys are among its arguments, counting the name as 0:
/// the first, the last (negative: from the end, -1 the last argument), and
/// the step between keys; all zero for no keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keys {
    /// The first key's position.
    pub first: i8,
    /// The last key's position.
    pub last: i8,
    /// The step between two keys.
    pub step: i8,
}

impl Keys {
    /// No keys.
    pub const NONE: Keys = Keys {
        first: 0,
        last: 0,
        step: 0,
    };
    /// The first argument is the key.
    pub const ONE: Keys = Keys {
        first: 1,
        last: 1,
        step: 1,
    };
    /// Every argument is a key.
    pub const ALL: Keys = Keys {
        first: 1,
        last: -1,
        step: 1,
    };
    /// The first two arguments are keys.
    pub const TWO: Keys = Keys {
        first: 1,
        last: 2,
        step: 1,
    };
    /// Key, value, key, value ...
    pub const PAIRS: Keys = Keys {
        first: 1,
        last: -1,
        step: 2,
    };
}

mod appliance;
mod connection;
mod expire;
mod keys;
mod server;
mod strings;
mod transactions;

/// Every family's specs, in HELP's order of families.
pub static FAMILIES: &[&[CommandSpec]] = &[
    strings::SPECS,
    keys::SPECS,
    expire::SPECS,
    transactions::SPECS,
    connection::SPECS,
    appliance::SPECS,
    server::SPECS,
];

/// Every command.
pub fn commands() -> impl Iterator<Item = &'static CommandSpec> {
    FAMILIES.iter().flat_map(|f| f.iter())
}

/// Group order in HELP: the everyday commands first.
pub const GROUPS: [&str; 8] = [
    "strings",
    "keys",
    "transactions",
    "connection",
    "storage",
    "cache",
    "server",
    "debug",
];

/// The command called `name` (or one of its aliases), ignoring ASCII case.
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    commands().find(|spec| {
        spec.name.as_bytes().eq_ignore_ascii_case(name)
            || spec
                .aliases
                .iter()
                .any(|alias| alias.as_bytes().eq_ignore_ascii_case(name))
    })
}

/// Checks the number of arguments after the command's name.
pub fn check_arity(spec: &'static CommandSpec, nargs: usize) -> Result<(), CommandError> {
    if nargs < spec.min_args || spec.max_args.is_some_and(|max| nargs > max) {
        return Err(CommandError::Arity {
            name: spec.name,
            usage: spec.usage,
        });
    }
    Ok(())
}

/// Longest command name echoed back in an error, in bytes typed: a pasted
/// value mistaken for a command should not flood the screen.
const MAX_SHOWN_NAME: usize = 64;

/// Why a line is not a command that can run. Render it with
/// `Reply::from(error)`, which gives `(error) ERR <Display>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    /// No command of that name; holds the name as shown (escaped, capped).
    Unknown(String),
    /// The command exists but got too few or too many arguments.
    Arity {
        /// The command's canonical name.
        name: &'static str,
        /// Its usage line.
        usage: &'static str,
    },
    /// The line could not be split into arguments.
    Parse(ParseError),
    /// The line was longer than the console accepts.
    TooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
}

impl CommandError {
    /// An [`CommandError::Unknown`] for `name` as typed: escaped so that any
    /// byte prints, and capped to 64 bytes with a `...` mark.
    pub fn unknown(name: &[u8]) -> Self {
        let mut shown = String::new();
        escape_into(&mut shown, &name[..name.len().min(MAX_SHOWN_NAME)]);
        if name.len() > MAX_SHOWN_NAME {
            shown.push_str("...");
        }
        CommandError::Unknown(shown)
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Unknown(name) => write!(
                f,
                "unknown command '{name}', type HELP for the list of commands"
            ),
            CommandError::Arity { name, usage } => {
                write!(f, "wrong number of arguments for '{name}': usage {usage}")
            }
            CommandError::Parse(e) => e.fmt(f),
            CommandError::TooLong { len, max } => write!(
                f,
                "line too long ({len} bytes, the limit is {max}); nothing was done"
            ),
        }
    }
}

impl From<ParseError> for CommandError {
    fn from(e: ParseError) -> Self {
        CommandError::Parse(e)
    }
}

impl From<CommandError> for Reply {
    fn from(e: CommandError) -> Self {
        Reply::error(e)
    }
}

/// A line that names a known command with an acceptable number of arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The command.
    pub spec: &'static CommandSpec,
    /// The arguments after its name.
    pub args: Vec<Vec<u8>>,
}

/// Splits `line`, finds the command and checks its arity: everything short
/// of running it. `Ok(None)` for a blank line, which only reprints the prompt.
pub fn parse_command(line: &[u8]) -> Result<Option<Invocation>, CommandError> {
    let mut args = split_args(line)?;
    if args.is_empty() {
        return Ok(None);
    }
    let name = args.remove(0);
    let spec = lookup(&name).ok_or_else(|| CommandError::unknown(&name))?;
    check_arity(spec, args.len())?;
    Ok(Some(Invocation { spec, args }))
}

/// HELP with no argument: every command, grouped, one `usage - summary` line each.
pub fn help_all() -> String {
    let mut out = String::from(
        "Commands are case-insensitive. Put an argument that holds spaces or \
         special bytes in double quotes, with the escapes \\\" \\\\ \\n \\r \\t \\xHH: \
         SET \"my key\" \"line\\n\"\n",
    );
    for group in GROUPS {
        // Writing to a String cannot fail.
        let _ = write!(out, "\n{group}:\n");
        for spec in commands().filter(|spec| spec.group == group) {
            let _ = write!(out, "  {} - {}", spec.usage, spec.summary);
            for alias in spec.aliases {
                let _ = write!(out, " (alias {alias})");
            }
            out.push('\n');
        }
    }
    out.push_str("\nType HELP command for one command's usage.\n");
    out
}

/// HELP for one command (or alias), or `None` if there is no such command.
pub fn help_one(name: &[u8]) -> Option<String> {
    let spec = lookup(name)?;
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write!(out, "usage: {}\n{}\n", spec.usage, spec.summary);
    if !spec.aliases.is_empty() {
        let _ = writeln!(out, "aliases: {}", spec.aliases.join(" "));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
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
            "CACHE POLICY none|lru|arc|ackey | CACHE SIZE bytes | CACHE RESET"
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
            ("COMPACT", 0, 0),
            ("VERIFY", 0, 0),
            ("INFO", 0, usize::MAX),
            ("CACHE", 1, 2),
            ("BENCH", 1, usize::MAX),
            ("SERVICES", 0, 0),
            ("LOG", 0, 1),
            ("SERVICE", 2, 2),
            ("SHUTDOWN", 0, 0),
            ("REBOOT", 0, 0),
            ("UNLINK", 1, usize::MAX),
            ("TOUCH", 1, usize::MAX),
            ("TYPE", 1, 1),
            ("RENAME", 2, 2),
            ("RENAMENX", 2, 2),
            ("COPY", 2, usize::MAX),
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
            ("DEL", -2),
            ("UNLINK", -2),
            ("EXISTS", -2),
            ("TOUCH", -2),
            ("TYPE", 2),
            ("RENAME", 3),
            ("RENAMENX", 3),
            ("COPY", -3),
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
}

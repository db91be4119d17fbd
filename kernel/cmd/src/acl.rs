//! Redis's ACL, for a server with one user: `default`, allowed every
//! command, key and channel, whose password is `requirepass`. What clients
//! and tools ask of it is answered as Redis 7.0 answers it for that user
//! (WHOAMI, USERS, LIST, GETUSER, CAT, DRYRUN), and the log of failed
//! authentications (ACL LOG) is kept as Redis keeps it: what a server on a
//! network needs, to see who tries passwords. Making users (SETUSER, LOAD)
//! is refused: unikv's one control of access is the password.

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use console::command::lookup;
use console::{Invocation, Reply};
use sha2::{Digest, Sha256};

use crate::args::{is, parse_i64};
use crate::clientlist::{self, ClientInfo};
use crate::ctx::{CmdError, Ctx};
use crate::subcommand::{Container, Sub, HELP};
use crate::table::wrong_arity;

/// Redis's ACL categories, in its order (ACL CAT).
pub(crate) const CATEGORIES: [&str; 21] = [
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// Entries ACL LOG keeps (Redis's `acllog-max-len` default).
const LOG_MAX: usize = 128;
/// Failures this close (in milliseconds) to the last of an entry's, of
/// the same kind, count in that entry (Redis's grouping).
const GROUPING_MS: u64 = 60_000;
/// Bytes of a username an entry keeps: a peer that need not know any
/// password must not fill the heap with the names it tries (128 entries
/// of requests up to `proto-max-bulk-len` each).
const USERNAME_MAX: usize = 128;

/// One ACL LOG entry: failed authentications of one user by one command.
#[derive(Clone, Debug)]
pub struct LogEntry {
    count: u64,
    /// `auth` or `hello`.
    object: &'static str,
    username: Vec<u8>,
    /// When the last failure it counts happened, in Unix milliseconds.
    last_ms: u64,
    /// CLIENT INFO's line for the client of that failure.
    client_info: String,
}

/// The log, newest first.
#[derive(Debug, Default)]
pub struct AclLog(VecDeque<LogEntry>);

/// Records a failed AUTH or HELLO AUTH (`object`) as user `username`.
pub(crate) fn note_auth_failure(ctx: &Ctx<'_>, object: &'static str, username: &[u8]) {
    let username = &username[..username.len().min(USERNAME_MAX)];
    let now = ctx.clock.wall_ms();
    // The client as it runs the failing command (Redis's `cmd=auth`).
    let mut info = ClientInfo::of(ctx.client);
    info.last_command = if object == "auth" { "AUTH" } else { "HELLO" };
    info.last_sub = None;
    let client_info = clientlist::line(ctx, &info, 0);
    let mut server = ctx.server.lock();
    let log = &mut server.acl_log.0;
    let same = log.iter().position(|e| {
        e.object == object && e.username == username && now.saturating_sub(e.last_ms) < GROUPING_MS
    });
    let entry = match same.and_then(|i| log.remove(i)) {
        Some(mut e) => {
            e.count += 1;
            e.last_ms = now;
            e.client_info = client_info;
            e
        }
        None => LogEntry {
            count: 1,
            object,
            username: username.to_vec(),
            last_ms: now,
            client_info,
        },
    };
    log.push_front(entry);
    log.truncate(LOG_MAX);
}

pub(crate) static ACL: Container = Container {
    name: "ACL",
    bare: false,
    subs: &[
        Sub {
            name: "CAT",
            arity: -2,
            args: "[<category>]",
            summary: "List all commands that belong to <category>, or all command categories when no category is specified.",
            since: "6.0.0",
        },
        Sub {
            name: "DELUSER",
            arity: -3,
            args: "<username> [<username> ...]",
            summary: "Delete a list of users.",
            since: "6.0.0",
        },
        Sub {
            name: "DRYRUN",
            arity: -4,
            args: "<username> <command> [<arg> ...]",
            summary: "Returns whether the user can execute the given command without executing the command.",
            since: "7.0.0",
        },
        Sub {
            name: "GETUSER",
            arity: 3,
            args: "<username>",
            summary: "Get the user's details.",
            since: "6.0.0",
        },
        Sub {
            name: "GENPASS",
            arity: -2,
            args: "[<bits>]",
            summary: "Generate a secure 256-bit user password. The optional `bits` argument can be used to specify a different size.",
            since: "6.0.0",
        },
        Sub {
            name: "LIST",
            arity: 2,
            args: "",
            summary: "Show users details in config file format.",
            since: "6.0.0",
        },
        Sub {
            name: "LOAD",
            arity: 2,
            args: "",
            summary: "Reload users from the ACL file.",
            since: "6.0.0",
        },
        Sub {
            name: "LOG",
            arity: -2,
            args: "[<count> | RESET]",
            summary: "Show the ACL log entries.",
            since: "6.0.0",
        },
        Sub {
            name: "SAVE",
            arity: 2,
            args: "",
            summary: "Save the current config to the ACL file.",
            since: "6.0.0",
        },
        Sub {
            name: "SETUSER",
            arity: -3,
            args: "<username> <attribute> [<attribute> ...]",
            summary: "Create or modify a user with the specified attributes.",
            since: "6.0.0",
        },
        Sub {
            name: "USERS",
            arity: 2,
            args: "",
            summary: "List all the registered usernames.",
            since: "6.0.0",
        },
        Sub {
            name: "WHOAMI",
            arity: 2,
            args: "",
            summary: "Return the current connection username.",
            since: "6.0.0",
        },
        HELP,
    ],
};

/// The one user's password as ACL shows it: its SHA-256, in hex.
fn password_hash(ctx: &Ctx<'_>) -> Option<String> {
    let server = ctx.server.lock();
    let secret = server.config.requirepass.as_ref()?;
    let digest = Sha256::digest(secret);
    Some(digest.iter().map(|b| format!("{b:02x}")).collect())
}

/// `ACL` and its subcommands (checked by `run` before this).
pub fn acl(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let sub = ACL.enter(ctx, inv)?;
    let args = &inv.args[1..];
    let invalid = |m: &str| CmdError::Invalid(String::from(m));
    match sub.name {
        "WHOAMI" => Ok(Reply::bulk("default")),
        "USERS" => Ok(Reply::Array(alloc::vec![Reply::bulk("default")])),
        "LIST" => {
            let password = match password_hash(ctx) {
                Some(hash) => format!("#{hash}"),
                None => String::from("nopass"),
            };
            Ok(Reply::Array(alloc::vec![Reply::Value(
                format!("user default on {password} ~* &* +@all").into_bytes()
            )]))
        }
        "GETUSER" if args[0] != b"default" => Ok(Reply::Nil),
        "GETUSER" => {
            let hash = password_hash(ctx);
            let mut flags = alloc::vec![Reply::bulk("on")];
            if hash.is_none() {
                flags.push(Reply::bulk("nopass"));
            }
            let passwords = hash.into_iter().map(|h| Reply::Value(h.into_bytes()));
            Ok(Reply::Map(alloc::vec![
                (Reply::bulk("flags"), Reply::Array(flags)),
                (Reply::bulk("passwords"), Reply::Array(passwords.collect())),
                (Reply::bulk("commands"), Reply::bulk("+@all")),
                (Reply::bulk("keys"), Reply::bulk("~*")),
                (Reply::bulk("channels"), Reply::bulk("&*")),
                (Reply::bulk("selectors"), Reply::Array(Vec::new())),
            ]))
        }
        "CAT" => match args {
            [] => Ok(Reply::Array(
                CATEGORIES.iter().map(|c| Reply::bulk(*c)).collect(),
            )),
            [cat] if CATEGORIES.iter().any(|c| is(cat, c)) => {
                Ok(crate::introspect::names_in_category(cat))
            }
            [cat] => Err(CmdError::Invalid(format!(
                "Unknown category '{}'",
                crate::subcommand::shown(cat)
            ))),
            _ => Err(ACL.wrong_form(&inv.args[0])),
        },
        "DRYRUN" => {
            if args[0] != b"default" {
                return Err(CmdError::Invalid(format!(
                    "User '{}' not found",
                    crate::subcommand::shown(&args[0])
                )));
            }
            let Some(spec) = lookup(&args[1]) else {
                return Err(CmdError::Invalid(format!(
                    "Command '{}' not found",
                    crate::subcommand::shown(&args[1])
                )));
            };
            if console::command::check_arity(spec, args.len() - 2).is_err() {
                return Err(CmdError::Invalid(wrong_arity(spec.name)));
            }
            // The one user may run every command.
            Ok(Reply::Ok)
        }
        "DELUSER" if args.iter().any(|u| u == b"default") => {
            Err(invalid("The 'default' user cannot be removed"))
        }
        "DELUSER" => Ok(Reply::Integer(0)),
        "SETUSER" => Err(invalid(
            "unikv has one user, default, whose password is requirepass (CONFIG SET requirepass at the console): ACL SETUSER is not supported",
        )),
        "LOAD" | "SAVE" => Err(invalid(
            "This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.",
        )),
        "GENPASS" => {
            if let Some(bits) = args.first() {
                let ok = parse_i64(bits).is_some_and(|b| (1..=4096).contains(&b));
                if !ok {
                    return Err(invalid(
                        "ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096",
                    ));
                }
            }
            // Redis reads /dev/urandom; the virt machine gives unikv no
            // entropy, and a password from a guessable generator is no
            // password.
            Err(invalid(
                "unikv has no source of randomness fit for a password: make one on a host (openssl rand -hex 32)",
            ))
        }
        "LOG" => log(ctx, args),
        _ => Ok(ACL.help()),
    }
}

/// `ACL LOG [count | RESET]`: the newest `count` entries (10 by default).
fn log(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Result<Reply, CmdError> {
    let count = match args {
        [] => 10,
        [w] if is(w, "RESET") => {
            ctx.server.lock().acl_log.0.clear();
            return Ok(Reply::Ok);
        }
        [n] => crate::args::integer(n)?.max(0) as usize,
        _ => return Err(ACL.wrong_form(b"LOG")),
    };
    let now = ctx.clock.wall_ms();
    let server = ctx.server.lock();
    let entries = server.acl_log.0.iter().take(count).map(|e| {
        let age_ms = now.saturating_sub(e.last_ms);
        Reply::Map(alloc::vec![
            (Reply::bulk("count"), Reply::Integer(e.count as i64)),
            (Reply::bulk("reason"), Reply::bulk("auth")),
            (Reply::bulk("context"), Reply::bulk("toplevel")),
            (Reply::bulk("object"), Reply::bulk(e.object)),
            (Reply::bulk("username"), Reply::Value(e.username.clone())),
            (
                Reply::bulk("age-seconds"),
                Reply::Value(format!("{}.{:03}", age_ms / 1000, age_ms % 1000).into_bytes()),
            ),
            (
                Reply::bulk("client-info"),
                Reply::Value(e.client_info.clone().into_bytes()),
            ),
        ])
    });
    Ok(Reply::Array(entries.collect()))
}

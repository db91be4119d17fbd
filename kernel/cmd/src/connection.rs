//! The connection commands, as Redis 7.0 answers them: PING, ECHO, AUTH,
//! HELLO, SELECT, CLIENT, RESET, QUIT. They change only the session's
//! [`Client`] (and its row in the client list).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use console::{Invocation, Reply};

use crate::args::{int32, is, parse_i64};
use crate::clientlist::{self, ClientInfo};
use crate::ctx::{CmdError, Ctx};
use crate::state::{Caller, Client, Protocol};
use crate::subcommand::{Container, Sub, HELP};
use crate::table::{entry, Entry};

pub(crate) static HANDLERS: &[Entry] = &[
    entry("PING", ping, true),
    entry("ECHO", echo, true),
    entry("AUTH", auth, true),
    entry("HELLO", hello, true),
    entry("SELECT", select, true),
    entry("CLIENT", client, true),
    entry("RESET", reset, true),
    entry("QUIT", quit, true),
];

/// The Redis version unikv answers to (HELLO, INFO's `redis_version`):
/// the one whose commands, replies and errors it follows. Clients choose
/// what to send by it (redis-py's tests skip what a server older than a
/// test's version lacks), so unikv's own version would mislead them; INFO
/// server's `version` field carries that.
pub const REDIS_VERSION: &str = "7.0.15";

/// Redis's reply when AUTH's password or user is wrong.
fn wrongpass() -> CmdError {
    CmdError::Coded(
        "WRONGPASS",
        String::from("invalid username-password pair or user is disabled."),
    )
}

pub fn ping(_: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    Ok(match inv.args.first() {
        None => Reply::Status(String::from("PONG")),
        Some(message) => Reply::Value(message.clone()),
    })
}

pub fn echo(_: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    Ok(Reply::Value(inv.args[0].clone()))
}

/// Compares without an early exit, so that the time taken does not tell
/// how much of a guess was right.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        diff |= usize::from(x ^ b.get(i).copied().unwrap_or(!x));
    }
    diff == 0
}

/// Whether `user` with `password` is the default user's credentials; with
/// no password configured, any password is (Redis's `nopass`).
/// Whether `user` and `password` are the one user's; a failure is
/// recorded in ACL LOG under `object` (the command, as Redis names it).
fn credentials_ok(ctx: &Ctx<'_>, object: &'static str, user: &[u8], password: &[u8]) -> bool {
    let ok = user == b"default"
        && match &ctx.server.lock().config.requirepass {
            None => true,
            Some(secret) => same_secret(password, secret),
        };
    if !ok {
        crate::acl::note_auth_failure(ctx, object, user);
    }
    ok
}

/// `AUTH password` (the default user) or `AUTH username password`.
pub fn auth(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let (user, password) = match inv.args.as_slice() {
        [password] => {
            if ctx.server.lock().config.requirepass.is_none() {
                return Err(CmdError::Invalid(String::from(
                    "AUTH <password> called without any password configured for the default \
                     user. Are you sure your configuration is correct?",
                )));
            }
            (&b"default"[..], password)
        }
        [user, password] => (user.as_slice(), password),
        _ => return Err(CmdError::syntax()),
    };
    if !credentials_ok(ctx, "auth", user, password) {
        return Err(wrongpass());
    }
    ctx.client.authenticated = true;
    Ok(Reply::Ok)
}

/// Redis's rule for a client name or library attribute: printable ASCII
/// without spaces.
fn valid_attr(value: &[u8]) -> bool {
    value.iter().all(|b| (b'!'..=b'~').contains(b))
}

/// The longest client name or library attribute kept: unikv's bound, not
/// Redis's (which has none), so that names kept for every connection's
/// life (each client's copy and the client list's) cannot fill the heap
/// (500 clients' three attributes: 24 MiB at most). Real ones are short.
const MAX_ATTR: usize = 16 << 10;

/// The error for an attribute over [`MAX_ATTR`] bytes.
fn attr_too_long(what: &str) -> CmdError {
    CmdError::Invalid(format!("{what} longer than {MAX_ATTR} bytes are refused"))
}

/// Sets (or, with an empty name, clears) the connection's name.
fn set_name(client: &mut Client, name: &[u8]) -> Result<(), CmdError> {
    if name.len() > MAX_ATTR {
        return Err(attr_too_long("Client names"));
    }
    if !valid_attr(name) {
        return Err(CmdError::Invalid(String::from(
            "Client names cannot contain spaces, newlines or special characters.",
        )));
    }
    client.name = (!name.is_empty()).then(|| name.to_vec());
    Ok(())
}

/// `HELLO [protover [AUTH username password] [SETNAME clientname]]`: the
/// options in order, then the protocol switch and the server's
/// description as a map.
pub fn hello(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let args = &inv.args;
    let mut protocol = None;
    if let Some(v) = args.first() {
        let v = parse_i64(v).ok_or_else(|| {
            CmdError::Invalid(String::from(
                "Protocol version is not an integer or out of range",
            ))
        })?;
        protocol = Some(match v {
            2 => Protocol::Resp2,
            3 => Protocol::Resp3,
            _ => {
                return Err(CmdError::Coded(
                    "NOPROTO",
                    String::from("unsupported protocol version"),
                ))
            }
        });
    }
    let mut j = 1;
    while j < args.len() {
        let more = args.len() - 1 - j;
        if is(&args[j], "AUTH") && more >= 2 {
            if !credentials_ok(ctx, "hello", &args[j + 1], &args[j + 2]) {
                return Err(wrongpass());
            }
            ctx.client.authenticated = true;
            j += 3;
        } else if is(&args[j], "SETNAME") && more >= 1 {
            set_name(ctx.client, &args[j + 1])?;
            j += 2;
        } else {
            return Err(CmdError::Invalid(format!(
                "Syntax error in HELLO option '{}'",
                crate::subcommand::shown(&args[j])
            )));
        }
    }
    if !ctx.client.authenticated {
        return Err(CmdError::Coded(
            "NOAUTH",
            String::from(
                "HELLO must be called with the client already authenticated, otherwise the \
                 HELLO AUTH <user> <pass> option can be used to authenticate the client and \
                 select the RESP protocol version at the same time",
            ),
        ));
    }
    if let Some(p) = protocol {
        ctx.client.protocol = p;
    }
    let proto = match ctx.client.protocol {
        Protocol::Resp2 => 2,
        Protocol::Resp3 => 3,
    };
    let text = |s: &str| Reply::bulk(s);
    Ok(Reply::Map(alloc::vec![
        (text("server"), text("redis")),
        (text("version"), text(REDIS_VERSION)),
        (text("proto"), Reply::Integer(proto)),
        (text("id"), Reply::Integer(ctx.client.id as i64)),
        (text("mode"), text("standalone")),
        (text("role"), text("master")),
        (text("modules"), Reply::Array(Vec::new())),
    ]))
}

/// Only database 0 exists.
pub fn select(_: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    match int32(&inv.args[0])? {
        0 => Ok(Reply::Ok),
        _ => Err(out_of_range()),
    }
}

/// Redis's error for a database other than 0.
pub(crate) fn out_of_range() -> CmdError {
    CmdError::Invalid(String::from("DB index is out of range"))
}

/// Back to a new connection's state: no transaction, no WATCHes, no
/// name, RESP2, and unauthenticated if a password is set.
pub fn reset(ctx: &mut Ctx<'_>, _: &Invocation) -> Result<Reply, CmdError> {
    ctx.client.multi = None;
    ctx.client.monitor = false;
    ctx.client.reply_off = false;
    ctx.client.reply_skip = 0;
    {
        let mut server = ctx.server.lock();
        server.monitors.remove(ctx.client.id);
        server.unwatch_all(ctx.client);
    }
    ctx.client.protocol = Protocol::Resp2;
    ctx.client.name = None;
    ctx.client.authenticated =
        ctx.client.caller == Caller::Console || ctx.server.lock().config.requirepass.is_none();
    Ok(Reply::Status(String::from("RESET")))
}

/// `OK`, then the session closes the connection (and runs nothing it
/// sent after).
pub fn quit(ctx: &mut Ctx<'_>, _: &Invocation) -> Result<Reply, CmdError> {
    ctx.client.closing = true;
    Ok(Reply::Ok)
}

/// CLIENT's subcommands, with Redis's arities.
pub(crate) static CLIENT: Container = Container {
    name: "CLIENT",
    bare: false,
    subs: &[
        Sub {
            name: "GETNAME",
            arity: 2,
            args: "",
            summary: "Return the name of the current connection.",
            since: "2.6.9",
        },
        Sub {
            name: "ID",
            arity: 2,
            args: "",
            summary: "Return the ID of the current connection.",
            since: "5.0.0",
        },
        Sub {
            name: "INFO",
            arity: 2,
            args: "",
            summary: "Return information about the current client connection.",
            since: "6.2.0",
        },
        Sub {
            name: "KILL",
            arity: -3,
            args: "<ip:port> | <filter> <value> [<filter> <value> ...]",
            summary: "Kill connections. Filters: ID <id>, ADDR <ip:port>, LADDR <ip:port>, \
                      TYPE NORMAL, USER default, SKIPME (YES|NO) (default YES), MAXAGE <seconds>. \
                      The old form, CLIENT KILL <ip:port>, kills the one connection from there.",
            since: "2.4.0",
        },
        Sub {
            name: "LIST",
            arity: -2,
            args: "[TYPE (NORMAL|MASTER|REPLICA|PUBSUB)] [ID <id> [<id> ...]]",
            summary: "Return information about client connections.",
            since: "2.4.0",
        },
        Sub {
            name: "SETNAME",
            arity: 3,
            args: "<name>",
            summary: "Assign the name <name> to the current connection.",
            since: "2.6.9",
        },
        Sub {
            name: "REPLY",
            arity: 3,
            args: "<ON|OFF|SKIP>",
            summary: "Control the replies sent to the current connection.",
            since: "3.2.0",
        },
        Sub {
            name: "NO-EVICT",
            arity: 3,
            args: "<ON|OFF>",
            summary: "Set client eviction mode for the current connection.",
            since: "7.0.0",
        },
        Sub {
            name: "SETINFO",
            arity: 4,
            args: "<LIB-NAME|LIB-VER> <value>",
            summary: "Set the library name or version of the current connection.",
            since: "7.2.0",
        },
        Sub {
            name: "PAUSE",
            arity: -3,
            args: "<timeout> [WRITE|ALL]",
            summary: "Suspend all, or just write, clients for <timeout> milliseconds.",
            since: "3.0.0",
        },
        Sub {
            name: "UNPAUSE",
            arity: 2,
            args: "",
            summary: "Stop the current client pause, resuming traffic.",
            since: "6.2.0",
        },
        Sub {
            name: "UNBLOCK",
            arity: -3,
            args: "<clientid> [TIMEOUT|ERROR]",
            summary: "Unblock the specified blocked client.",
            since: "5.0.0",
        },
        Sub {
            name: "TRACKING",
            arity: -3,
            args:
                "(ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]] [OPTIN] [OPTOUT] [NOLOOP]",
            summary: "Control server assisted client side caching.",
            since: "6.0.0",
        },
        Sub {
            name: "CACHING",
            arity: 3,
            args: "(YES|NO)",
            summary: "Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
            since: "6.0.0",
        },
        Sub {
            name: "GETREDIR",
            arity: 2,
            args: "",
            summary: "Return the client ID we are redirecting to when tracking is enabled.",
            since: "6.0.0",
        },
        Sub {
            name: "TRACKINGINFO",
            arity: 2,
            args: "",
            summary: "Report tracking status for the current connection.",
            since: "6.2.0",
        },
        HELP,
    ],
};

/// `CLIENT` and its subcommands (checked by `run` before this).
pub fn client(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let sub = CLIENT.enter(ctx, inv)?;
    let args = &inv.args[1..];
    // Redis's argv-mem: the bytes of the running command's arguments.
    let argv_mem = (CLIENT.name.len() + inv.args.iter().map(Vec::len).sum::<usize>()) as u64;
    match sub.name {
        "ID" => Ok(Reply::Integer(ctx.client.id as i64)),
        "GETNAME" => Ok(ctx.client.name.clone().map_or(Reply::Nil, Reply::Value)),
        "SETNAME" => {
            set_name(ctx.client, &args[0])?;
            Ok(Reply::Ok)
        }
        "INFO" => {
            let mut line = clientlist::line(ctx, &ClientInfo::of(ctx.client), argv_mem);
            line.push('\n');
            // Free text, as Redis's verbatim reply: raw at the console, as
            // redis-cli prints it; RESP3's `=txt:`.
            Ok(Reply::Text(line))
        }
        "LIST" => client_list(ctx, args, argv_mem),
        "KILL" => crate::kill::client_kill(ctx, args),
        // Redis's CLIENT REPLY: the connection leaves out the replies
        // (`Client::reply_off`, `Client::reply_skip`); OFF's and SKIP's own
        // too, ON's OK goes.
        "REPLY" if !ctx.client.is_network() => Err(CmdError::Invalid(String::from(
            "CLIENT REPLY is for network clients: the console always answers",
        ))),
        "REPLY" if is(&args[0], "ON") => {
            ctx.client.reply_off = false;
            ctx.client.reply_skip = 0;
            Ok(Reply::Ok)
        }
        "REPLY" if is(&args[0], "OFF") => {
            ctx.client.reply_off = true;
            Ok(Reply::Ok)
        }
        "REPLY" if is(&args[0], "SKIP") => {
            // This reply and the next command's.
            ctx.client.reply_skip = 2;
            Ok(Reply::Ok)
        }
        "REPLY" => Err(CmdError::syntax()),
        // unikv evicts no clients for memory (Redis's maxmemory-clients):
        // the mode is accepted, as Redis accepts it with eviction off.
        "NO-EVICT" if is(&args[0], "ON") || is(&args[0], "OFF") => Ok(Reply::Ok),
        "NO-EVICT" => Err(CmdError::syntax()),
        "PAUSE" => crate::pause::pause(ctx, &inv.args[0], args),
        "UNPAUSE" => crate::pause::unpause(ctx),
        "UNBLOCK" => unblock(&inv.args[0], args),
        "TRACKING" => tracking(args),
        // Tracking is never on, so Redis's answer to a client not in it.
        "CACHING" => Err(CmdError::Invalid(String::from(
            "CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
        ))),
        "GETREDIR" => Ok(Reply::Integer(-1)),
        "TRACKINGINFO" => Ok(Reply::Map(alloc::vec![
            (Reply::bulk("flags"), Reply::Array(alloc::vec![Reply::bulk("off")])),
            (Reply::bulk("redirect"), Reply::Integer(-1)),
            (Reply::bulk("prefixes"), Reply::Array(Vec::new())),
        ])),
        "SETINFO" => {
            let target = if is(&args[0], "LIB-NAME") {
                &mut ctx.client.lib_name
            } else if is(&args[0], "LIB-VER") {
                &mut ctx.client.lib_ver
            } else {
                return Err(CmdError::Invalid(format!(
                    "Unrecognized option '{}'",
                    crate::subcommand::shown(&args[0])
                )));
            };
            if args[1].len() > MAX_ATTR {
                return Err(attr_too_long("Library names and versions"));
            }
            if !valid_attr(&args[1]) {
                return Err(CmdError::Invalid(format!(
                    "{} cannot contain spaces, newlines or special characters.",
                    crate::subcommand::shown(&args[0])
                )));
            }
            *target = (!args[1].is_empty()).then(|| args[1].clone());
            Ok(Reply::Ok)
        }
        _ => Ok(CLIENT.help()),
    }
}

/// `CLIENT UNBLOCK id [TIMEOUT|ERROR]`, checked as Redis checks it (the
/// reason, then the id): 0, for unikv has no blocking commands, so no
/// client is ever blocked in one.
fn unblock(word: &[u8], args: &[Vec<u8>]) -> Result<Reply, CmdError> {
    match args {
        [_] => {}
        [_, reason] if is(reason, "TIMEOUT") || is(reason, "ERROR") => {}
        [_, _] => {
            return Err(CmdError::Invalid(String::from(
                "CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            )))
        }
        _ => return Err(CLIENT.wrong_form(word)),
    }
    crate::args::integer(&args[0])?;
    Ok(Reply::Integer(0))
}

/// `CLIENT TRACKING ON|OFF [options]`: the options checked as Redis checks
/// them; OFF is what every client is (OK); ON, server-assisted client-side
/// caching (invalidation messages as keys change), unikv does not do, and
/// says so, so that a client library that asks for it falls back to no
/// local cache instead of serving stale values.
fn tracking(args: &[Vec<u8>]) -> Result<Reply, CmdError> {
    let mut i = 1;
    while i < args.len() {
        let a = &args[i];
        if is(a, "REDIRECT") && i + 1 < args.len() {
            crate::args::integer(&args[i + 1])?;
            i += 2;
        } else if is(a, "PREFIX") && i + 1 < args.len() {
            i += 2;
        } else if ["BCAST", "OPTIN", "OPTOUT", "NOLOOP"]
            .iter()
            .any(|o| is(a, o))
        {
            i += 1;
        } else {
            return Err(CmdError::syntax());
        }
    }
    if is(&args[0], "OFF") {
        Ok(Reply::Ok)
    } else if is(&args[0], "ON") {
        Err(CmdError::Invalid(String::from(
            "unikv does not track keys for clients: server-assisted client-side caching (CLIENT TRACKING ON) is not supported",
        )))
    } else {
        Err(CmdError::syntax())
    }
}

/// `CLIENT LIST [TYPE type] | [ID id ...]`: every client (this one as it
/// is now), one line each.
fn client_list(ctx: &mut Ctx<'_>, args: &[Vec<u8>], argv_mem: u64) -> Result<Reply, CmdError> {
    let mut rows: Vec<ClientInfo> = ctx.server.lock().clients.values().cloned().collect();
    let me = ClientInfo::of(ctx.client);
    match rows.iter_mut().find(|r| r.id == me.id) {
        Some(row) => *row = me,
        None => {
            rows.push(me);
            rows.sort_by_key(|r| r.id);
        }
    }
    match args {
        [] => {}
        [word, kind] if is(word, "TYPE") => {
            let known = ["normal", "master", "replica", "slave", "pubsub"];
            if !known.iter().any(|k| is(kind, k)) {
                return Err(CmdError::Invalid(format!(
                    "Unknown client type '{}'",
                    crate::subcommand::shown(kind)
                )));
            }
            // Every client is a normal one: unikv has no replicas and no
            // pub/sub.
            if !is(kind, "normal") {
                rows.clear();
            }
        }
        [word, ids @ ..] if is(word, "ID") && !ids.is_empty() => {
            let mut wanted = Vec::new();
            for id in ids {
                let id = parse_i64(id)
                    .ok_or_else(|| CmdError::Invalid(String::from("Invalid client ID")))?;
                wanted.push(id);
            }
            rows = wanted
                .iter()
                .filter_map(|&id| rows.iter().find(|r| r.id as i64 == id).cloned())
                .collect();
        }
        _ => return Err(CmdError::syntax()),
    }
    let mut out = String::new();
    for row in &rows {
        let argv_mem = if row.id == ctx.client.id { argv_mem } else { 0 };
        out.push_str(&clientlist::line(ctx, row, argv_mem));
        out.push('\n');
    }
    // As CLIENT INFO's.
    Ok(Reply::Text(out))
}

//! Redis's server commands: COMMAND (`introspect`), CONFIG (`config`),
//! SLOWLOG (`slowlog`), LATENCY (`latency`), MONITOR (`monitor`), LASTSAVE,
//! WAIT, ROLE, Redis Cluster's CLUSTER, READONLY and READWRITE (refused:
//! no cluster support), replication's REPLICAOF, SLAVEOF and FAILOVER (as
//! a master with no replicas answers them), and FUNCTION, whose only
//! use here is the test suite's `FUNCTION FLUSH` before each file: unikv
//! has no functions, so there is nothing to flush.

use alloc::string::String;

use console::{Invocation, Reply};

use crate::args::is;
use crate::ctx::{CmdError, Ctx};
use crate::subcommand::{Container, Sub, HELP};
use crate::table::{entry, Entry};
use crate::{config, introspect, latency, monitor, slowlog};

pub(crate) static HANDLERS: &[Entry] = &[
    entry("COMMAND", introspect::command, true),
    entry("CONFIG", config::config, false),
    entry("FUNCTION", function, true),
    entry("SLOWLOG", slowlog::slowlog, true),
    entry("LASTSAVE", lastsave, true),
    // After the client's writes before it are durable (see `wait`).
    entry("WAIT", wait, false),
    entry("LATENCY", latency::latency, true),
    entry("MONITOR", monitor::monitor, true),
    entry("ROLE", role, true),
    entry("CLUSTER", no_cluster, true),
    entry("READONLY", no_cluster, true),
    entry("READWRITE", no_cluster, true),
    entry("REPLICAOF", replicaof, true),
    entry("SLAVEOF", replicaof, true),
    entry("FAILOVER", failover, true),
    entry("ACL", crate::acl::acl, true),
];

/// `REPLICAOF NO ONE` (and SLAVEOF, its old name): Redis's OK, for unikv is
/// a master already, as failover tools and Sentinel-minded clients expect
/// of the server they promote. A replica of another server it cannot
/// become: that is refused, after Redis's check of the port.
pub fn replicaof(_: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let (host, port) = (&inv.args[0], &inv.args[1]);
    if host.eq_ignore_ascii_case(b"NO") && port.eq_ignore_ascii_case(b"ONE") {
        return Ok(Reply::Ok);
    }
    crate::args::integer(port)?;
    Err(CmdError::Invalid(String::from(
        "unikv does not replicate: it is always a master (REPLICAOF NO ONE is the one form it takes)",
    )))
}

/// `FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT milliseconds]`,
/// checked as Redis checks it, then Redis's answers on a master with no
/// replicas: no failover to abort, none to start.
pub fn failover(_: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let args = &inv.args;
    let (mut to, mut force, mut abort, mut timeout) = (false, false, false, false);
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a.eq_ignore_ascii_case(b"TO") && !to && i + 2 < args.len() {
            crate::args::integer(&args[i + 2])?;
            (to, i) = (true, i + 3);
        } else if a.eq_ignore_ascii_case(b"TIMEOUT") && !timeout && i + 1 < args.len() {
            if crate::args::integer(&args[i + 1])? <= 0 {
                return Err(CmdError::Invalid(String::from(
                    "FAILOVER timeout must be greater than 0",
                )));
            }
            (timeout, i) = (true, i + 2);
        } else if a.eq_ignore_ascii_case(b"FORCE") && !force {
            (force, i) = (true, i + 1);
        } else if a.eq_ignore_ascii_case(b"ABORT") && !abort {
            (abort, i) = (true, i + 1);
        } else {
            return Err(CmdError::syntax());
        }
    }
    if abort {
        if to || force || timeout {
            return Err(CmdError::Invalid(String::from(
                "ABORT is not supported with other arguments",
            )));
        }
        return Err(CmdError::Invalid(String::from("No failover in progress.")));
    }
    if force && (!to || !timeout) {
        return Err(CmdError::Invalid(String::from(
            "FAILOVER with force option requires both a timeout and target HOST and IP.",
        )));
    }
    Err(CmdError::Invalid(String::from(
        "FAILOVER requires connected replicas.",
    )))
}

/// Redis Cluster's commands on a server without cluster support: Redis's
/// error, whatever the subcommand, which clients that probe for a cluster
/// (StackExchange.Redis, go-redis, redis-py's RedisCluster) take to mean a
/// lone server. INFO cluster says `cluster_enabled:0`.
pub fn no_cluster(_: &mut Ctx<'_>, _: &Invocation) -> Result<Reply, CmdError> {
    Err(CmdError::Invalid(String::from(
        "This instance has cluster support disabled",
    )))
}

/// Redis's ROLE on a master with no replicas: `master`, its replication
/// offset (0: it has never streamed anything, as INFO replication's
/// `master_repl_offset` says) and the empty list of its replicas. Clients
/// that find the master of a group (ioredis, Lettuce, redis-py's Sentinel
/// support) ask it.
pub fn role(_: &mut Ctx<'_>, _: &Invocation) -> Result<Reply, CmdError> {
    Ok(Reply::Array(alloc::vec![
        Reply::bulk("master"),
        Reply::Integer(0),
        Reply::Array(alloc::vec::Vec::new()),
    ]))
}

/// Redis's WAIT on a server with no replicas: the arguments checked as
/// Redis checks them (the count, then the timeout), then 0, the replicas
/// that acknowledged. Redis would block until the timeout when more are
/// asked for (for ever with 0); with none to wait for, unikv answers at
/// once. It runs once the client's writes before it are on disk (a command
/// that does not join the group commit), which is what a client asking
/// for durability wants to know.
pub fn wait(_: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    crate::args::integer(&inv.args[0])?;
    let timeout = crate::args::parse_i64(&inv.args[1]).ok_or_else(|| {
        CmdError::Invalid(String::from("timeout is not an integer or out of range"))
    })?;
    if timeout < 0 {
        return Err(CmdError::Invalid(String::from("timeout is negative")));
    }
    Ok(Reply::Integer(0))
}

/// Redis's LASTSAVE: the Unix time of the last save, here the last time
/// SAVE or FLUSH wrote the memtable to a table (every write is durable in
/// the WAL before its reply anyway).
pub fn lastsave(ctx: &mut Ctx<'_>, _: &Invocation) -> Result<Reply, CmdError> {
    Ok(Reply::Integer(
        (ctx.server.lock().last_save_ms / 1000) as i64,
    ))
}

/// FUNCTION's subcommands unikv has: FLUSH and HELP; the others (LOAD,
/// LIST, ...) get Redis's error for an unknown subcommand.
pub(crate) static FUNCTION: Container = Container {
    name: "FUNCTION",
    bare: false,
    subs: &[
        Sub {
            name: "FLUSH",
            arity: -2,
            args: "[ASYNC|SYNC]",
            summary: "Deletes all libraries and functions.",
            since: "7.0.0",
        },
        HELP,
    ],
};

pub fn function(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let sub = FUNCTION.enter(ctx, inv)?;
    if sub.name != "FLUSH" {
        return Ok(FUNCTION.help());
    }
    match &inv.args[1..] {
        [] => Ok(Reply::Ok),
        [mode] if is(mode, "ASYNC") || is(mode, "SYNC") => Ok(Reply::Ok),
        [_] => Err(CmdError::Invalid(String::from(
            "FUNCTION FLUSH only supports SYNC|ASYNC option",
        ))),
        _ => Err(FUNCTION.wrong_form(&inv.args[0])),
    }
}

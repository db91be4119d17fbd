//! Redis's server commands: COMMAND (`introspect`), CONFIG (`config`),
//! SLOWLOG (`slowlog`), LASTSAVE and FUNCTION, whose only use here is the test
//! suite's `FUNCTION FLUSH` before each file: unikv has no functions, so
//! there is nothing to flush.

use alloc::string::String;

use console::{Invocation, Reply};

use crate::args::is;
use crate::ctx::{CmdError, Ctx};
use crate::subcommand::{Container, Sub, HELP};
use crate::table::{entry, Entry};
use crate::{config, introspect, slowlog};

pub(crate) static HANDLERS: &[Entry] = &[
    entry("COMMAND", introspect::command, true),
    entry("CONFIG", config::config, false),
    entry("FUNCTION", function, true),
    entry("SLOWLOG", slowlog::slowlog, true),
    entry("LASTSAVE", lastsave, true),
];

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

pub fn function(_: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let sub = FUNCTION.check(inv)?;
    if sub.name != "FLUSH" {
        return Ok(FUNCTION.help());
    }
    match &inv.args[1..] {
        [] => Ok(Reply::Ok),
        [mode] if is(mode, "ASYNC") || is(mode, "SYNC") => Ok(Reply::Ok),
        [_] => Err(CmdError::Invalid(String::from(
            "FUNCTION FLUSH only supports SYNC|ASYNC option",
        ))),
        _ => Err(CmdError::Invalid(alloc::format!(
            "unknown subcommand or wrong number of arguments for '{}'. Try FUNCTION HELP.",
            crate::subcommand::shown(&inv.args[0])
        ))),
    }
}

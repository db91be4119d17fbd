//! The string commands: SET, GET.

use console::{Invocation, Reply};
use kv::Entry;

use crate::ctx::{CmdError, Ctx};
use crate::table::{entry, Entry as Row};

pub(crate) static HANDLERS: &[Row] = &[entry("SET", set, true), entry("GET", get, true)];

/// `OK` once the WAL record is on disk: the write joins the group commit
/// and its reply waits for it.
pub fn set(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    ctx.write(&inv.args[0], Entry::string(inv.args[1].clone()));
    Ok(Reply::Ok)
}

pub fn get(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    Ok(match ctx.read(&inv.args[0])? {
        Some(e) => Reply::Value(e.value),
        None => Reply::Nil,
    })
}

//! The server's commands: HELP, SERVICES, SERVICE, LOG, SHUTDOWN, REBOOT
//! (INFO is in `info`).

use alloc::{format, string::String, vec};

use console::command::{help_all, help_one};
use console::{Invocation, Reply};

use crate::args::is;
use crate::ctx::{CmdError, Ctx};

/// An argument that must be text.
pub(crate) fn text(arg: &[u8]) -> Result<&str, CmdError> {
    core::str::from_utf8(arg)
        .map_err(|_| CmdError::Invalid(String::from("argument is not valid UTF-8")))
}

pub fn help(_: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    match inv.args.first() {
        None => Ok(Reply::Text(help_all())),
        Some(name) => help_one(name).map(Reply::Text).ok_or_else(|| {
            CmdError::Invalid(format!(
                "no such command '{}', type HELP for the list",
                console::quote(name).trim_matches('"')
            ))
        }),
    }
}

pub fn services(ctx: &mut Ctx<'_>, _: &Invocation) -> Result<Reply, CmdError> {
    let rows = ctx
        .host
        .services()
        .into_iter()
        .map(|s| {
            vec![
                s.name.as_bytes().to_vec(),
                s.state.into_bytes(),
                s.description.as_bytes().to_vec(),
                s.author.as_bytes().to_vec(),
                s.license.as_bytes().to_vec(),
            ]
        })
        .collect();
    Ok(Reply::List(rows))
}

pub fn service(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let usage = inv.spec.usage;
    let name = text(&inv.args[1])?;
    match text(&inv.args[0])?.to_ascii_uppercase().as_str() {
        "START" => ctx.host.start_service(name).map_err(CmdError::Host)?,
        "STOP" => ctx.host.stop_service(name).map_err(CmdError::Host)?,
        other => {
            return Err(CmdError::Invalid(format!(
                "unknown SERVICE action '{other}'; usage: {usage}"
            )))
        }
    }
    Ok(Reply::Ok)
}

pub fn log(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let n = match inv.args.first() {
        Some(a) => text(a)?
            .parse::<usize>()
            .map_err(|_| CmdError::Invalid(String::from("LOG takes a line count, e.g. LOG 20")))?,
        None => usize::MAX,
    };
    let mut out = String::new();
    for line in ctx.host.log_lines(n) {
        out.push_str(&String::from_utf8_lossy(&line));
        out.push('\n');
    }
    Ok(Reply::Text(out))
}

/// Every service stops (the store makes everything durable), the `OK`
/// leaves, then the power goes.
fn power(ctx: &mut Ctx<'_>, reset: bool) -> ! {
    ctx.host.stop_all_services();
    ctx.out.reply_now(&Reply::Ok);
    ctx.host.power(reset)
}

/// `SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]`, Redis's options checked
/// as Redis checks them. Every mode shuts down alike: NOSAVE would lose no
/// acknowledged write (each is in the WAL), and SAVE's table is written
/// anyway (a clean disk); NOW and FORCE wait for nothing that unikv has
/// (replicas, a failing save). ABORT finds no shutdown under way.
pub fn shutdown(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let (mut save, mut nosave, mut abort, mut other) = (false, false, false, false);
    for a in &inv.args {
        match () {
            _ if is(a, "NOSAVE") => nosave = true,
            _ if is(a, "SAVE") => save = true,
            _ if is(a, "NOW") || is(a, "FORCE") => other = true,
            _ if is(a, "ABORT") => abort = true,
            _ => return Err(CmdError::syntax()),
        }
    }
    if (abort && (save || nosave || other)) || (save && nosave) {
        return Err(CmdError::syntax());
    }
    if abort {
        return Err(CmdError::Invalid(String::from("No shutdown in progress.")));
    }
    power(ctx, false)
}

pub fn reboot(ctx: &mut Ctx<'_>, _: &Invocation) -> Result<Reply, CmdError> {
    power(ctx, true)
}

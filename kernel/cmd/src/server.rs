//! The server's commands: HELP, INFO, SERVICES, SERVICE, LOG, SHUTDOWN,
//! REBOOT.

use alloc::{format, string::String, vec, vec::Vec};

use console::command::{help_all, help_one};
use console::{Invocation, Reply, Report};

use crate::cachecmd::info_cache;
use crate::ctx::{CmdError, Ctx};
use crate::storage::info_storage;

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

/// The sections INFO has beyond the kernel's own.
const STORE_SECTIONS: [&str; 2] = ["storage", "cache"];

pub fn info(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let wanted = match inv.args.first() {
        Some(a) => Some(text(a)?.to_ascii_lowercase()),
        None => None,
    };
    let kernel = ctx.host.info_sections();
    let mut report = Report::new();
    match wanted.as_deref() {
        None | Some("all") | Some("everything") => {
            for s in kernel {
                ctx.host.info(s, &mut report);
            }
            // The store's and the cache's sections when they are up.
            let _ = info_storage(ctx, &mut report);
            let _ = info_cache(ctx, &mut report);
        }
        Some(s) if kernel.contains(&s) => ctx.host.info(s, &mut report),
        Some("storage") => info_storage(ctx, &mut report)?,
        Some("cache") => info_cache(ctx, &mut report)?,
        Some(other) => {
            let all: Vec<&str> = kernel.iter().chain(&STORE_SECTIONS).copied().collect();
            return Err(CmdError::Invalid(format!(
                "no INFO section '{other}'; sections: {}",
                all.join(", ")
            )));
        }
    }
    Ok(Reply::Report(report))
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

pub fn shutdown(ctx: &mut Ctx<'_>, _: &Invocation) -> Result<Reply, CmdError> {
    power(ctx, false)
}

pub fn reboot(ctx: &mut Ctx<'_>, _: &Invocation) -> Result<Reply, CmdError> {
    power(ctx, true)
}

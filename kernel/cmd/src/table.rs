//! The command table: one handler per command spec of the console crate,
//! and [`run`], which every session calls.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use console::{flag, CommandSpec, Invocation, Reply};

use crate::ctx::{CmdError, Ctx};
use crate::state::Client;
use crate::{appliance, expire, keys, strings};

/// A command's implementation. It checks what the spec's arity cannot (the
/// meaning of its arguments) and returns the reply or a typed error.
pub type Handler = fn(&mut Ctx<'_>, &Invocation) -> Result<Reply, CmdError>;

/// One row of the table.
pub struct Entry {
    /// The spec's canonical name.
    pub name: &'static str,
    /// What runs it.
    pub handler: Handler,
    /// Whether it may run while writes before it wait for their group
    /// commit. Key commands may (a read sees every write before it, durable
    /// or not, as in Redis); everything else runs only once the writes
    /// before it are durable and their replies are out, so that its own
    /// output (progress lines, a power-off) comes after them.
    pub joins_group: bool,
}

pub(crate) const fn entry(name: &'static str, handler: Handler, joins_group: bool) -> Entry {
    Entry {
        name,
        handler,
        joins_group,
    }
}

/// Every family's handlers, keyed by the specs' names. Each family's
/// module keeps its own list.
pub static HANDLERS: &[&[Entry]] = &[
    strings::HANDLERS,
    keys::HANDLERS,
    expire::HANDLERS,
    appliance::HANDLERS,
];

/// Every handler.
pub fn entries() -> impl Iterator<Item = &'static Entry> {
    HANDLERS.iter().flat_map(|f| f.iter())
}

/// The table's row for `spec`.
pub fn handler(spec: &CommandSpec) -> Option<&'static Entry> {
    entries().find(|e| e.name == spec.name)
}

/// Runs one parsed command for the session and returns its reply (an error
/// reply if it failed or was refused). The caller renders it; if
/// [`Ctx::wait_for`] is then set, the reply waits until that write is
/// durable.
///
/// Before the handler: a connection that must authenticate first is
/// refused (`NOAUTH`); the appliance's controls are refused over the
/// network while no password is set; inside MULTI the command is queued.
/// After it: its writes go to the store as one batch, if it succeeded.
pub fn run(ctx: &mut Ctx<'_>, inv: &Invocation) -> Reply {
    let spec = inv.spec;
    if let Some(refusal) = refuse(ctx, spec) {
        ctx.server
            .lock()
            .stats
            .commands
            .entry(spec.name)
            .or_default()
            .rejected += 1;
        return refusal;
    }
    if let Some(multi) = ctx.client.multi.as_mut() {
        if !spec.has(flag::NO_MULTI) {
            multi.queued.push(inv.clone());
            return Reply::Status(String::from("QUEUED"));
        }
    }
    let clock = ctx.host.clock();
    let started = (clock.now)();
    let reply = execute(ctx, inv);
    let reply = match ctx.apply() {
        Ok(()) => reply,
        Err(e) => e.into(),
    };
    let usec = ((clock.now)() - started) * 1_000_000 / clock.hz.max(1);
    ctx.client.last_command = spec.name;
    ctx.client.last_ms = ctx.now_ms();
    let mut server = ctx.server.lock();
    server.stats.commands_processed += 1;
    let stats = server.stats.commands.entry(spec.name).or_default();
    stats.calls += 1;
    stats.usec += usec;
    if reply.is_error() {
        stats.failed += 1;
    }
    reply
}

/// Runs one command's handler without the checks of [`run`] and without
/// applying its writes (EXEC applies a transaction's writes once, at its
/// end). A failed command's own writes are dropped.
pub(crate) fn execute(ctx: &mut Ctx<'_>, inv: &Invocation) -> Reply {
    let Some(e) = handler(inv.spec) else {
        return Reply::error(format!(
            "'{}' is not available in this kernel",
            inv.spec.name
        ));
    };
    let before = ctx.pending_len();
    match (e.handler)(ctx, inv) {
        Ok(reply) => reply,
        Err(err) => {
            ctx.truncate_pending(before);
            err.into()
        }
    }
}

/// A network request (RESP's argument vector) as an invocation, or the
/// error Redis answers for it: an unknown command, or the wrong number of
/// arguments, in Redis's words. A request refused inside MULTI makes the
/// transaction fail at EXEC, as Redis's EXECABORT.
pub fn redis_invocation(mut argv: Vec<Vec<u8>>, client: &mut Client) -> Result<Invocation, Reply> {
    let refused = |client: &mut Client, reply: Reply| {
        if let Some(m) = client.multi.as_mut() {
            m.failed = true;
        }
        reply
    };
    if argv.is_empty() {
        return Err(Reply::error("empty command"));
    }
    let name = argv.remove(0);
    let Some(spec) = console::lookup(&name) else {
        // Redis: "unknown command '%.128s', with args beginning with: "
        // and each argument as "'%.*s' " while the list is under 128 bytes.
        let mut args = Vec::new();
        for a in &argv {
            if args.len() >= 128 {
                break;
            }
            let room = 128 - args.len();
            args.push(b'\'');
            args.extend_from_slice(&a[..a.len().min(room)]);
            args.extend_from_slice(b"' ");
        }
        let shown = String::from_utf8_lossy(&name[..name.len().min(128)]).into_owned();
        let reply = Reply::error(format!(
            "unknown command '{shown}', with args beginning with: {}",
            String::from_utf8_lossy(&args)
        ));
        return Err(refused(client, reply));
    };
    if console::command::check_arity(spec, argv.len()).is_err() {
        let reply = Reply::error(format!(
            "wrong number of arguments for '{}' command",
            spec.name.to_ascii_lowercase()
        ));
        return Err(refused(client, reply));
    }
    Ok(Invocation { spec, args: argv })
}

/// Why `spec` may not run for this session now, if it may not.
fn refuse(ctx: &Ctx<'_>, spec: &CommandSpec) -> Option<Reply> {
    if !ctx.client.authenticated && !spec.has(flag::NOAUTH) {
        return Some(Reply::Coded(
            "NOAUTH",
            String::from("Authentication required."),
        ));
    }
    if ctx.client.is_network()
        && spec.has(flag::ADMIN)
        && ctx.server.lock().config.requirepass.is_none()
    {
        return Some(Reply::error(format!(
            "{} controls the appliance itself and is refused over the network while no password \
             is set: set one (requirepass= in the boot arguments, or CONFIG SET requirepass at the \
             console), then AUTH",
            spec.name
        )));
    }
    None
}

/// Whether `spec`'s command may run while earlier writes wait for their
/// group commit (see [`Entry::joins_group`]).
pub fn joins_group(spec: &CommandSpec) -> bool {
    handler(spec).is_some_and(|e| e.joins_group)
}

#[cfg(test)]
mod tests {
    use super::*;
    use console::commands;

    #[test]
    fn every_spec_has_a_handler_and_every_handler_a_spec() {
        for spec in commands() {
            assert!(handler(spec).is_some(), "no handler for {}", spec.name);
        }
        for e in entries() {
            assert!(
                commands().any(|s| s.name == e.name),
                "handler {} has no spec",
                e.name
            );
            assert_eq!(
                entries().filter(|o| o.name == e.name).count(),
                1,
                "{} twice",
                e.name
            );
        }
        assert_eq!(entries().count(), commands().count());
    }
}

//! The command table: one handler per command spec of the console crate,
//! and [`run`], which every session calls.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use console::command::Position;
use console::{flag, CommandSpec, Invocation, Reply};

use crate::ctx::{CmdError, Ctx};
use crate::state::{Client, Server};
use crate::subcommand::container;
use crate::{appliance, bitmaps, connection, expire, keys, serverfamily, strings, transactions};

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
    bitmaps::HANDLERS,
    keys::HANDLERS,
    expire::HANDLERS,
    transactions::HANDLERS,
    connection::HANDLERS,
    appliance::HANDLERS,
    serverfamily::HANDLERS,
];

/// Every handler.
pub fn entries() -> impl Iterator<Item = &'static Entry> {
    HANDLERS.iter().flat_map(|f| f.iter())
}

/// The table's row for `spec`: at the spec's own position (each family
/// lists its handlers in its specs' order), else found by name.
pub fn handler(spec: &CommandSpec) -> Option<&'static Entry> {
    handler_at(spec, console::command::position(spec))
}

/// [`handler`], the spec's position known. The row at a spec's position
/// is its own (`every_handler_sits_at_its_specs_position` checks every
/// one), so names are compared only for a spec from outside the table.
#[inline(always)]
fn handler_at(spec: &CommandSpec, place: Option<Position>) -> Option<&'static Entry> {
    match place {
        Some(p) => HANDLERS.get(p.family)?.get(p.at),
        None => entries().find(|e| e.name == spec.name),
    }
}

/// Runs one parsed command for the session and returns its reply (an error
/// reply if it failed or was refused). The caller renders it; if
/// [`Ctx::wait_for`] is then set, the reply waits until that write is
/// durable.
///
/// Before the handler: a connection that must authenticate first is
/// refused (`NOAUTH`); the appliance's controls are refused over the
/// network while no password is set, and inside MULTI always; a container
/// command's subcommand must exist and have its arity; a refusal inside
/// MULTI makes EXEC abort. Then inside MULTI the command is queued. After
/// it: its writes go to the store as one batch, if it succeeded; and in one
/// lock section of the server (a SET took four), its statistics are
/// counted, the transactions watching its keys learn of its writes, and
/// `appendfsync` is read for [`Ctx::reply_gate`].
///
/// The session brings the client list up to date with its client
/// ([`crate::Server::register`]) itself, as often as it sees fit: a
/// network connection once per read of pipelined commands.
pub fn run(ctx: &mut Ctx<'_>, inv: &Invocation) -> Reply {
    let spec = inv.spec;
    if let Some(mut refusal) = refuse(ctx, inv) {
        let mut server = ctx.server.lock();
        server.stats.command_mut(spec).rejected += 1;
        if spec.name == "EXEC" {
            // Redis's answer to a refused EXEC: the transaction is
            // discarded, and the reply says why.
            refusal = Reply::coded(
                "EXECABORT",
                format!("Transaction discarded because of: {}", error_text(&refusal)),
            );
            ctx.client.multi = None;
            server.unwatch_all(ctx.client);
        }
        count_error(&mut server, &refusal);
        drop(server);
        flag_transaction(ctx.client);
        return refusal;
    }
    if let Some(multi) = ctx.client.multi.as_mut() {
        if !spec.has(flag::NO_MULTI) {
            multi.queue(inv);
            // Redis's lastcmd names a queued command too (CLIENT LIST).
            ctx.client.last_command = spec.name;
            return Reply::Status(String::from("QUEUED"));
        }
    }
    ran(ctx, inv)
}

/// [`run`]'s part once the command may run. The reply is moved as little
/// as it can be (a move of a reply is a copy of its bytes).
#[inline(always)]
fn ran(ctx: &mut Ctx<'_>, inv: &Invocation) -> Reply {
    let (mut reply, place, ns) = execute_timed(ctx, inv);
    let applied = ctx.apply();
    let mut server = ctx.server.lock();
    count(ctx, &mut server, (inv, place), &reply, ns);
    ctx.appendfsync = server.config.appendfsync;
    drop(server);
    if let Err(e) = applied {
        reply = e.into();
    }
    reply
}

/// Runs `inv`'s handler (see [`execute`]) and counts it in the statistics
/// (see [`count`]). Every command EXEC runs is counted so.
pub(crate) fn timed(ctx: &mut Ctx<'_>, inv: &Invocation) -> Reply {
    let (reply, place, ns) = execute_timed(ctx, inv);
    let mut server = ctx.server.lock();
    count(ctx, &mut server, (inv, place), &reply, ns);
    reply
}

/// Runs `inv`'s handler (see [`execute`]): its reply, its command's place
/// in the table, and the nanoseconds it took.
#[inline(always)]
fn execute_timed(ctx: &mut Ctx<'_>, inv: &Invocation) -> (Reply, Option<Position>, u64) {
    let place = console::command::position(inv.spec);
    let clock = ctx.clock;
    let started = clock.counter();
    let reply = execute(ctx, inv, place);
    let ticks = clock.counter().wrapping_sub(started);
    let hz = clock.hz.max(1);
    // The product fits below 2^32 ticks (68 s at the virt machine's 62.5
    // MHz); past that, whole seconds and the rest apart.
    let ns = if ticks < 1 << 32 {
        ticks * 1_000_000_000 / hz
    } else {
        ticks / hz * 1_000_000_000 + ticks % hz * 1_000_000_000 / hz
    };
    (reply, place, ns)
}

/// Counts a command that ran in the statistics: its call, time (and its
/// histogram's), failure, the error's code, the client's last command; and what its
/// reads and writes did (see [`Ctx::settle`]).
#[inline(always)]
fn count(
    ctx: &mut Ctx<'_>,
    server: &mut Server,
    (inv, place): (&Invocation, Option<Position>),
    reply: &Reply,
    ns: u64,
) {
    let usec = ns / 1000;
    ctx.client.last_command = inv.spec.name;
    server.stats.commands_processed += 1;
    let stats = server.stats.command_at(place);
    stats.calls += 1;
    stats.usec += usec;
    if reply.is_error() {
        stats.failed += 1;
        count_error(server, reply);
    }
    if server.config.latency_tracking {
        server.stats.record_latency(place, ns);
    }
    // Read after the command ran, as Redis does: a CONFIG SET of the
    // threshold is logged by the threshold it set.
    let slower_than = server.config.slowlog_log_slower_than;
    if slower_than >= 0 && usec >= slower_than as u64 && crate::slowlog::logs(inv) {
        let max_len = server.config.slowlog_max_len;
        server.slowlog.push(ctx, inv, usec, max_len);
    }
    if !server.monitors.is_empty() && crate::monitor::feed(ctx, server, inv) {
        ctx.host.wake_sessions();
    }
    ctx.settle(server);
}

/// An error reply's text with its code, as the wire carries it.
fn error_text(reply: &Reply) -> String {
    match reply {
        Reply::Coded(e) => format!("{} {}", e.code, e.message),
        Reply::Error(message) => format!("ERR {message}"),
        _ => String::new(),
    }
}

/// Counts an error reply under its code in INFO errorstats.
fn count_error(server: &mut Server, reply: &Reply) {
    let code = match reply {
        Reply::Coded(e) => e.code,
        Reply::Error(_) => "ERR",
        _ => return,
    };
    *server.stats.errors.entry(String::from(code)).or_default() += 1;
}

/// A command the session refused before it became an [`Invocation`]: an
/// unknown name, a wrong number of arguments (the session's parser
/// catches those). Counts it as Redis does (the command's
/// `rejected_calls` when the name is known, an `ERR` in errorstats) and,
/// inside MULTI, makes the transaction's EXEC answer `EXECABORT`. Every
/// session calls it for every such refusal.
pub fn refused(
    server: &crate::state::ServerCell,
    client: &mut Client,
    known: Option<&'static CommandSpec>,
) {
    let mut server = server.lock();
    if let Some(spec) = known {
        server.stats.command_mut(spec).rejected += 1;
    }
    *server.stats.errors.entry(String::from("ERR")).or_default() += 1;
    drop(server);
    flag_transaction(client);
}

/// Inside MULTI, a refused command makes EXEC abort.
fn flag_transaction(client: &mut Client) {
    if let Some(multi) = client.multi.as_mut() {
        multi.failed = true;
    }
}

/// Runs one command's handler without the checks of [`run`] and without
/// applying its writes (EXEC applies a transaction's writes once, at its
/// end). A failed command's own writes are dropped.
#[inline(always)]
fn execute(ctx: &mut Ctx<'_>, inv: &Invocation, place: Option<Position>) -> Reply {
    let Some(e) = handler_at(inv.spec, place) else {
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

/// A network request (RESP's argument vector: its command's `name`, then
/// `argv`) as an invocation, or the error Redis answers for it: an unknown
/// command, or the wrong number of arguments, in Redis's words. A request
/// refused inside MULTI makes the transaction fail at EXEC, as Redis's
/// EXECABORT. The name is lent, so that the session can give its buffer
/// back to its parser.
pub fn redis_invocation(
    server: &crate::state::ServerCell,
    client: &mut Client,
    name: &[u8],
    argv: Vec<Vec<u8>>,
) -> Result<Invocation, Reply> {
    let Some(spec) = console::command::lookup_after(client.last_spec, name) else {
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
        refused(server, client, None);
        return Err(reply);
    };
    if console::command::check_arity(spec, argv.len()).is_err() {
        refused(server, client, Some(spec));
        return Err(Reply::error(wrong_arity(spec.name)));
    }
    client.last_spec = Some(spec);
    Ok(Invocation {
        spec,
        args: argv,
        typed: console::TypedName::new(name),
    })
}

/// Redis's error for a command (or a `container|subcommand`) given a
/// count of arguments its arity does not allow.
pub(crate) fn wrong_arity(name: &str) -> String {
    format!(
        "wrong number of arguments for '{}' command",
        name.to_ascii_lowercase()
    )
}

/// Why `inv` may not run (or be queued) for this session now, if it may
/// not.
fn refuse(ctx: &Ctx<'_>, inv: &Invocation) -> Option<Reply> {
    let spec = inv.spec;
    if !ctx.client.authenticated && !spec.has(flag::NOAUTH) {
        return Some(Reply::coded("NOAUTH", "Authentication required."));
    }
    if ctx.client.monitor && (spec.has(flag::READONLY) || spec.has(flag::WRITE)) {
        // Redis's rule for replicas, which its monitors are.
        return Some(Reply::error("Replica can't interact with the keyspace"));
    }
    if ctx.client.multi.is_some() && spec.has(flag::ADMIN) {
        // Redis's answer to SHUTDOWN (its no-multi commands) in MULTI.
        return Some(Reply::error("Command not allowed inside a transaction"));
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
    if spec.has(flag::SUBCOMMANDS) {
        if let Some(c) = container(spec.name) {
            if let Err(e) = c.admits(inv) {
                return Some(e.into());
            }
        }
    }
    match &ctx.client.multi {
        Some(multi) if !spec.has(flag::NO_MULTI) => too_much_queued(ctx, multi, inv),
        _ => None,
    }
}

/// Queued commands a transaction may hold before the free heap is looked
/// at.
const UNCHECKED_QUEUE: usize = 4 << 20;

/// Redis's OOM error for a command that would take a transaction's queue
/// past a quarter of the free heap ([`Ctx::over_heap_quarter`]): every
/// queued command is a copy of its arguments held until EXEC. The refusal
/// makes EXEC abort, as Redis's OOM refusals do.
fn too_much_queued(ctx: &Ctx<'_>, multi: &crate::state::Multi, inv: &Invocation) -> Option<Reply> {
    let total = multi.queued_bytes + crate::state::Multi::cost(inv);
    let free = ctx.over_heap_quarter(total, UNCHECKED_QUEUE)?;
    Some(
        CmdError::oom(format_args!(
            "the transaction's queued commands ({total} bytes with this one) would pass a \
             quarter of the free memory ({free} bytes)"
        ))
        .into(),
    )
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

    #[test]
    fn a_spec_is_flagged_for_subcommands_exactly_when_it_has_them() {
        for spec in commands() {
            assert_eq!(
                spec.has(flag::SUBCOMMANDS),
                container(spec.name).is_some(),
                "{}",
                spec.name
            );
        }
    }

    #[test]
    fn every_handler_sits_at_its_specs_position() {
        for spec in commands() {
            let p = console::command::position(spec).unwrap();
            assert_eq!(HANDLERS[p.family][p.at].name, spec.name);
        }
    }
}

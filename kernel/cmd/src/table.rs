//! The command table: one handler per command spec of the console crate,
//! and [`run`], which every session calls.

use alloc::format;

use console::{CommandSpec, Invocation, Reply};

use crate::ctx::{CmdError, Ctx};
use crate::{bench, cachecmd, debug, keys, server, storage};

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

const fn entry(name: &'static str, handler: Handler, joins_group: bool) -> Entry {
    Entry {
        name,
        handler,
        joins_group,
    }
}

/// Every command's handler, keyed by the spec's name.
pub static HANDLERS: &[Entry] = &[
    entry("SET", keys::set, true),
    entry("GET", keys::get, true),
    entry("DEL", keys::del, true),
    entry("EXISTS", keys::exists, true),
    entry("RANGE", keys::range, true),
    entry("FLUSH", storage::flush, false),
    entry("COMPACT", storage::compact, false),
    entry("VERIFY", storage::verify, false),
    entry("BENCH", bench::run, false),
    entry("CACHE", cachecmd::cache, false),
    entry("HELP", server::help, true),
    entry("INFO", server::info, false),
    entry("SERVICES", server::services, false),
    entry("SERVICE", server::service, false),
    entry("LOG", server::log, false),
    entry("SHUTDOWN", server::shutdown, false),
    entry("REBOOT", server::reboot, false),
    entry("DEBUG", debug::debug, false),
];

/// The table's row for `spec`.
pub fn handler(spec: &CommandSpec) -> Option<&'static Entry> {
    HANDLERS.iter().find(|e| e.name == spec.name)
}

/// Runs one parsed command and returns its reply (an error reply if it
/// failed). The caller renders it; if [`Ctx::wait_for`] is then set, the
/// reply waits until that write is durable.
pub fn run(ctx: &mut Ctx<'_>, inv: &Invocation) -> Reply {
    match handler(inv.spec) {
        Some(e) => (e.handler)(ctx, inv).unwrap_or_else(Reply::from),
        None => Reply::error(format!(
            "'{}' is not available in this kernel",
            inv.spec.name
        )),
    }
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
        for e in HANDLERS {
            assert!(
                commands().any(|s| s.name == e.name),
                "handler {} has no spec",
                e.name
            );
            assert_eq!(
                HANDLERS.iter().filter(|o| o.name == e.name).count(),
                1,
                "{} twice",
                e.name
            );
        }
        assert_eq!(HANDLERS.len(), commands().count());
    }
}

//! Redis's server commands: COMMAND (the command table, as clients ask for
//! it), CONFIG, FUNCTION, SLOWLOG and LASTSAVE. The appliance's own server commands (INFO,
//! SERVICES, SHUTDOWN ...) are in `appliance`.

use super::{flag, CommandSpec, Keys};

/// In HELP's order.
pub(super) static SPECS: &[CommandSpec] = &[
    CommandSpec {
        name: "COMMAND",
        aliases: &[],
        min_args: 0,
        max_args: None,
        usage: "COMMAND [COUNT | INFO [name ...] | DOCS [name ...] | LIST [FILTERBY MODULE name|ACLCAT category|PATTERN pattern] | GETKEYS command [arg ...] | HELP]",
        summary: "describe the commands: arity, flags and key positions (COMMAND INFO), their documentation (COMMAND DOCS)",
        group: "server",
        flags: flag::SUBCOMMANDS,
        keys: Keys::NONE,
    },
    CommandSpec {
        name: "CONFIG",
        aliases: &[],
        min_args: 1,
        max_args: None,
        usage: "CONFIG GET parameter [parameter ...] | CONFIG SET parameter value [parameter value ...] | CONFIG RESETSTAT | CONFIG REWRITE | CONFIG HELP",
        summary: "read or change the configuration (requirepass, maxclients, timeout, appendfsync, ...), or zero the statistics",
        group: "server",
        flags: flag::SUBCOMMANDS,
        keys: Keys::NONE,
    },
    CommandSpec {
        name: "FUNCTION",
        aliases: &[],
        min_args: 1,
        max_args: None,
        usage: "FUNCTION FLUSH [ASYNC|SYNC] | FUNCTION HELP",
        summary: "Redis functions: unikv has none, so FLUSH has nothing to delete",
        group: "server",
        flags: flag::SUBCOMMANDS,
        keys: Keys::NONE,
    },
    CommandSpec {
        name: "SLOWLOG",
        aliases: &[],
        min_args: 1,
        max_args: None,
        usage: "SLOWLOG GET [count] | SLOWLOG LEN | SLOWLOG RESET | SLOWLOG HELP",
        summary: "the commands that took longer than slowlog-log-slower-than microseconds, newest first",
        group: "server",
        flags: flag::SUBCOMMANDS,
        keys: Keys::NONE,
    },
    CommandSpec {
        name: "LASTSAVE",
        aliases: &[],
        min_args: 0,
        max_args: Some(0),
        usage: "LASTSAVE",
        summary: "when the memtable was last written to a table by SAVE or FLUSH (or the server started), in Unix seconds",
        group: "server",
        flags: flag::FAST,
        keys: Keys::NONE,
    },
];

//! The transaction commands: MULTI queues, EXEC runs the queue as one
//! batch, DISCARD drops it, WATCH makes EXEC conditional.

use super::{flag, CommandSpec, Keys};

/// In HELP's order.
pub(super) static SPECS: &[CommandSpec] = &[
    CommandSpec {
        name: "MULTI",
        aliases: &[],
        min_args: 0,
        max_args: Some(0),
        usage: "MULTI",
        summary: "start a transaction: later commands are queued until EXEC",
        group: "transactions",
        flags: flag::FAST | flag::NO_MULTI,
        keys: Keys::NONE,
    },
    CommandSpec {
        name: "EXEC",
        aliases: &[],
        min_args: 0,
        max_args: Some(0),
        usage: "EXEC",
        summary: "run the queued commands as one: their writes go to the disk as one batch",
        group: "transactions",
        flags: flag::NO_MULTI,
        keys: Keys::NONE,
    },
    CommandSpec {
        name: "DISCARD",
        aliases: &[],
        min_args: 0,
        max_args: Some(0),
        usage: "DISCARD",
        summary: "drop the queued commands and end the transaction",
        group: "transactions",
        flags: flag::FAST | flag::NO_MULTI,
        keys: Keys::NONE,
    },
    CommandSpec {
        name: "WATCH",
        aliases: &[],
        min_args: 1,
        max_args: None,
        usage: "WATCH key [key ...]",
        summary: "make the next EXEC fail if any of the keys changes before it",
        group: "transactions",
        flags: flag::FAST | flag::NO_MULTI,
        keys: Keys::ALL,
    },
    CommandSpec {
        name: "UNWATCH",
        aliases: &[],
        min_args: 0,
        max_args: Some(0),
        usage: "UNWATCH",
        summary: "forget the WATCHed keys",
        group: "transactions",
        flags: flag::FAST,
        keys: Keys::NONE,
    },
];

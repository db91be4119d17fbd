//! The key commands: delete keys, ask whether they exist, scan them in
//! order.

use super::{flag, CommandSpec, Keys};

/// In HELP's order.
pub(super) static SPECS: &[CommandSpec] = &[
    CommandSpec {
        name: "DEL",
        aliases: &[],
        min_args: 1,
        max_args: None,
        usage: "DEL key [key ...]",
        summary: "delete keys; replies how many held a value",
        group: "keys",
        flags: flag::WRITE,
        keys: Keys::ALL,
    },
    CommandSpec {
        name: "EXISTS",
        aliases: &[],
        min_args: 1,
        max_args: None,
        usage: "EXISTS key [key ...]",
        summary: "how many of the keys hold a value",
        group: "keys",
        flags: flag::READONLY | flag::FAST,
        keys: Keys::ALL,
    },
    CommandSpec {
        name: "RANGE",
        aliases: &[],
        min_args: 2,
        max_args: Some(4),
        usage: "RANGE start end [LIMIT n]",
        summary: "list the pairs with start <= key < end, in key order",
        group: "keys",
        flags: flag::READONLY,
        keys: Keys::NONE,
    },
];

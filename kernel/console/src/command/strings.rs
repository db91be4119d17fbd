//! The string commands: values under keys, read and written whole.

use super::{flag, CommandSpec, Keys};

/// In HELP's order.
pub(super) static SPECS: &[CommandSpec] = &[
    CommandSpec {
        name: "SET",
        aliases: &["PUT"],
        min_args: 2,
        max_args: Some(2),
        usage: "SET key value",
        summary: "store a value under a key; durable on disk once OK is printed",
        group: "strings",
        flags: flag::WRITE,
        keys: Keys::ONE,
    },
    CommandSpec {
        name: "GET",
        aliases: &[],
        min_args: 1,
        max_args: Some(1),
        usage: "GET key",
        summary: "read the value of a key, or (nil) if it has none",
        group: "strings",
        flags: flag::READONLY | flag::FAST,
        keys: Keys::ONE,
    },
];

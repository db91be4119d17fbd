//! The command table: names, aliases, arity, flags, usage and help,
//! independent of what the commands do, shared by every front end (the
//! console, network sessions). The command layer (`cmd`) keys its handlers
//! by [`CommandSpec::name`]; everything a user can get wrong before that is
//! caught here, so a bad command is refused before it can touch stored data.
//!
//! The specs live in one file per family (strings, bitmaps, keys,
//! transactions, connection, appliance, server), listed in
//! [`FAMILIES`]; [`commands`] walks them all.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::{self, Write};

use crate::parse::{split_args, ParseError};
use crate::reply::{escape_into, Reply};

/// One console command.
#[derive(Debug, PartialEq, Eq)]
pub struct CommandSpec {
    /// The canonical name, upper case; what the kernel dispatches on.
    pub name: &'static str,
    /// Other names accepted for it, upper case.
    pub aliases: &'static [&'static str],
    /// Fewest arguments after the name.
    pub min_args: usize,
    /// Most arguments after the name; `None` for no limit.
    pub max_args: Option<usize>,
    /// The synopsis shown by HELP and in arity errors.
    pub usage: &'static str,
    /// What it does, in one line.
    pub summary: &'static str,
    /// HELP lists commands by group, in [`GROUPS`]' order.
    pub group: &'static str,
    /// What kind of command it is ([`flag`]).
    pub flags: u16,
    /// Where its keys are among its arguments (Redis's COMMAND INFO).
    pub keys: Keys,
}

impl CommandSpec {
    /// Whether it has every flag in `flags`.
    pub fn has(&self, flags: u16) -> bool {
        self.flags & flags == flags
    }

    /// Redis's arity: the argument count with the name, negative for "at
    /// least".
    pub fn arity(&self) -> i64 {
        let min = self.min_args as i64 + 1;
        match self.max_args {
            Some(max) if max == self.min_args => min,
            _ => -min,
        }
    }
}

/// What kind of command a spec is, as bits of [`CommandSpec::flags`].
pub mod flag {
    /// It may change stored data.
    pub const WRITE: u16 = 1;
    /// It only reads stored data.
    pub const READONLY: u16 = 1 << 1;
    /// It controls the appliance itself (power, services, maintenance,
    /// benchmarks, the debug hooks): refused over the network unless a
    /// password is set and the connection authenticated.
    pub const ADMIN: u16 = 1 << 2;
    /// Allowed before a connection authenticates (AUTH, HELLO, QUIT).
    pub const NOAUTH: u16 = 1 << 3;
    /// Constant or logarithmic time.
    pub const FAST: u16 = 1 << 4;
    /// Not queued by MULTI: it runs (or is refused) at once.
    pub const NO_MULTI: u16 = 1 << 5;
    /// It names a subcommand (CLIENT, CONFIG, ...), which `cmd` checks
    /// against the command's own table before it runs: a bit, so that the
    /// other commands skip that lookup.
    pub const SUBCOMMANDS: u16 = 1 << 6;
}

/// Where a command's keys are among its arguments, counting the name as 0:
/// the first, the last (negative: from the end, -1 the last argument), and
/// the step between keys; all zero for no keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keys {
    /// The first key's position.
    pub first: i8,
    /// The last key's position.
    pub last: i8,
    /// The step between two keys.
    pub step: i8,
}

impl Keys {
    /// No keys.
    pub const NONE: Keys = Keys {
        first: 0,
        last: 0,
        step: 0,
    };
    /// The first argument is the key.
    pub const ONE: Keys = Keys {
        first: 1,
        last: 1,
        step: 1,
    };
    /// Every argument is a key.
    pub const ALL: Keys = Keys {
        first: 1,
        last: -1,
        step: 1,
    };
    /// The first two arguments are keys.
    pub const TWO: Keys = Keys {
        first: 1,
        last: 2,
        step: 1,
    };
    /// Key, value, key, value ...
    pub const PAIRS: Keys = Keys {
        first: 1,
        last: -1,
        step: 2,
    };
}

mod appliance;
mod bitmaps;
mod connection;
mod expire;
mod index;
mod keys;
mod server;
mod strings;
mod transactions;

pub use index::{lookup, lookup_after};

/// Every family's specs, in HELP's order of families.
pub static FAMILIES: &[&[CommandSpec]] = &[
    strings::SPECS,
    bitmaps::SPECS,
    keys::SPECS,
    expire::SPECS,
    transactions::SPECS,
    connection::SPECS,
    appliance::SPECS,
    server::SPECS,
];

/// Every command.
pub fn commands() -> impl Iterator<Item = &'static CommandSpec> {
    FAMILIES.iter().flat_map(|f| f.iter())
}

/// How many commands there are: the bound of [`Position::index`].
pub fn count() -> usize {
    FAMILIES.iter().map(|f| f.len()).sum()
}

/// Where a spec is in the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    /// Its family's place in [`FAMILIES`].
    pub family: usize,
    /// Its place in its family.
    pub at: usize,
    /// Its place in [`commands`]' order, below [`count`].
    pub index: usize,
}

/// Where `spec` is in the table, found from its address in a few
/// comparisons, so that what is kept per command (its handler, its
/// statistics) is reached without comparing names on every command.
/// `None` for a spec that is not one of the table's.
pub fn position(spec: &CommandSpec) -> Option<Position> {
    let addr = spec as *const CommandSpec as usize;
    let size = core::mem::size_of::<CommandSpec>();
    let mut before = 0;
    for (family, specs) in FAMILIES.iter().enumerate() {
        let start = specs.as_ptr() as usize;
        if addr >= start && addr < start + core::mem::size_of_val(*specs) {
            let at = (addr - start) / size;
            return Some(Position {
                family,
                at,
                index: before + at,
            });
        }
        before += specs.len();
    }
    None
}

/// Group order in HELP: the everyday commands first.
pub const GROUPS: [&str; 9] = [
    "strings",
    "bitmaps",
    "keys",
    "transactions",
    "connection",
    "storage",
    "cache",
    "server",
    "debug",
];

/// Checks the number of arguments after the command's name.
pub fn check_arity(spec: &'static CommandSpec, nargs: usize) -> Result<(), CommandError> {
    if nargs < spec.min_args || spec.max_args.is_some_and(|max| nargs > max) {
        return Err(CommandError::Arity {
            name: spec.name,
            usage: spec.usage,
        });
    }
    Ok(())
}

/// Longest command name echoed back in an error, in bytes typed: a pasted
/// value mistaken for a command should not flood the screen.
const MAX_SHOWN_NAME: usize = 64;

/// Why a line is not a command that can run. Render it with
/// `Reply::from(error)`, which gives `(error) ERR <Display>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    /// No command of that name; holds the name as shown (escaped, capped).
    Unknown(String),
    /// The command exists but got too few or too many arguments.
    Arity {
        /// The command's canonical name.
        name: &'static str,
        /// Its usage line.
        usage: &'static str,
    },
    /// The line could not be split into arguments.
    Parse(ParseError),
    /// The line was longer than the console accepts.
    TooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
}

impl CommandError {
    /// An [`CommandError::Unknown`] for `name` as typed: escaped so that any
    /// byte prints, and capped to 64 bytes with a `...` mark.
    pub fn unknown(name: &[u8]) -> Self {
        let mut shown = String::new();
        escape_into(&mut shown, &name[..name.len().min(MAX_SHOWN_NAME)]);
        if name.len() > MAX_SHOWN_NAME {
            shown.push_str("...");
        }
        CommandError::Unknown(shown)
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Unknown(name) => write!(
                f,
                "unknown command '{name}', type HELP for the list of commands"
            ),
            CommandError::Arity { name, usage } => {
                write!(f, "wrong number of arguments for '{name}': usage {usage}")
            }
            CommandError::Parse(e) => e.fmt(f),
            CommandError::TooLong { len, max } => write!(
                f,
                "line too long ({len} bytes, the limit is {max}); nothing was done"
            ),
        }
    }
}

impl From<ParseError> for CommandError {
    fn from(e: ParseError) -> Self {
        CommandError::Parse(e)
    }
}

impl From<CommandError> for Reply {
    fn from(e: CommandError) -> Self {
        Reply::error(e)
    }
}

/// A line that names a known command with an acceptable number of arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The command.
    pub spec: &'static CommandSpec,
    /// The arguments after its name.
    pub args: Vec<Vec<u8>>,
    /// The name as the client typed it (SLOWLOG shows it so, as Redis's
    /// `argv[0]`).
    pub typed: TypedName,
}

/// A command's name as typed, kept inline (no allocation a request): up
/// to [`TypedName::MAX`] bytes; a longer one is not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypedName {
    bytes: [u8; TypedName::MAX],
    len: u8,
}

impl TypedName {
    /// The longest name kept (every command's name is shorter).
    pub const MAX: usize = 24;

    /// `name`, if it fits.
    pub fn new(name: &[u8]) -> TypedName {
        let mut t = TypedName {
            bytes: [0; TypedName::MAX],
            len: 0,
        };
        if let Some(dst) = t.bytes.get_mut(..name.len()) {
            dst.copy_from_slice(name);
            t.len = name.len() as u8;
        }
        t
    }

    /// The name as typed; `None` if it was not kept.
    pub fn get(&self) -> Option<&[u8]> {
        (self.len > 0).then(|| &self.bytes[..usize::from(self.len)])
    }
}

/// Splits `line`, finds the command and checks its arity: everything short
/// of running it. `Ok(None)` for a blank line, which only reprints the prompt.
pub fn parse_command(line: &[u8]) -> Result<Option<Invocation>, CommandError> {
    let mut args = split_args(line)?;
    if args.is_empty() {
        return Ok(None);
    }
    let name = args.remove(0);
    let spec = lookup(&name).ok_or_else(|| CommandError::unknown(&name))?;
    check_arity(spec, args.len())?;
    Ok(Some(Invocation {
        spec,
        args,
        typed: TypedName::new(&name),
    }))
}

/// HELP with no argument: every command, grouped, one `usage - summary` line each.
pub fn help_all() -> String {
    let mut out = String::from(
        "Commands are case-insensitive. Put an argument that holds spaces or \
         special bytes in double quotes, with the escapes \\\" \\\\ \\n \\r \\t \\xHH: \
         SET \"my key\" \"line\\n\"\n",
    );
    for group in GROUPS {
        // Writing to a String cannot fail.
        let _ = write!(out, "\n{group}:\n");
        for spec in commands().filter(|spec| spec.group == group) {
            let _ = write!(out, "  {} - {}", spec.usage, spec.summary);
            for alias in spec.aliases {
                let _ = write!(out, " (alias {alias})");
            }
            out.push('\n');
        }
    }
    out.push_str("\nType HELP command for one command's usage.\n");
    out
}

/// HELP for one command (or alias), or `None` if there is no such command.
pub fn help_one(name: &[u8]) -> Option<String> {
    let spec = lookup(name)?;
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write!(out, "usage: {}\n{}\n", spec.usage, spec.summary);
    if !spec.aliases.is_empty() {
        let _ = writeln!(out, "aliases: {}", spec.aliases.join(" "));
    }
    Some(out)
}

#[cfg(test)]
mod tests;

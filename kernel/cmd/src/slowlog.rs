//! SLOWLOG: the commands that took `slowlog-log-slower-than` microseconds
//! or more, newest first, at most `slowlog-max-len` of them, kept and
//! shown as Redis 7.0 keeps them (src/slowlog.c): an id, the Unix time,
//! the duration, the command as typed (at most 32 arguments, each at most
//! 128 bytes, trimmed with Redis's notes), the client's address and its
//! name.
//!
//! The duration is the handler's, the time INFO commandstats adds up: the
//! parsing, the reply's encoding and a write's wait for its group commit
//! are not in it, as Redis leaves out reading, writing and its fsync. So a
//! slow entry names a command whose own work was slow (a KEYS over a big
//! store, a SCAN through tombstones, a read that went to the disk), which
//! is what the log is for. EXEC is not logged itself; the commands it ran
//! are, each with its own time (Redis does the same). Passwords are
//! replaced by `(redacted)`: AUTH's, HELLO's after AUTH, and CONFIG SET
//! requirepass's. Whatever `slowlog-max-len` says, the entries take at
//! most [`MAX_BYTES`] (4 MiB): the oldest go first.

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use console::{Invocation, Reply};

use crate::args::{is, parse_i64};
use crate::ctx::{CmdError, Ctx};
use crate::subcommand::{Container, Sub, HELP};

/// SLOWLOG's subcommands, with Redis's arities.
pub(crate) static SLOWLOG: Container = Container {
    name: "SLOWLOG",
    bare: false,
    subs: &[
        Sub {
            name: "GET",
            arity: -2,
            args: "[<count>]",
            summary: "Return top <count> entries from the slowlog (default: 10, -1 mean all). \
                      Entries are made of: id, timestamp, time in microseconds, arguments array, \
                      client IP and port, client name",
            since: "2.2.12",
        },
        Sub {
            name: "LEN",
            arity: 2,
            args: "",
            summary: "Return the length of the slowlog.",
            since: "2.2.12",
        },
        Sub {
            name: "RESET",
            arity: 2,
            args: "",
            summary: "Reset the slowlog.",
            since: "2.2.12",
        },
        HELP,
    ],
};

/// Arguments an entry keeps, the last of them a note of how many more
/// there were (Redis's `SLOWLOG_ENTRY_MAX_ARGC`).
const MAX_ARGS: usize = 32;
/// Bytes an argument keeps before a note of how many more it had
/// (`SLOWLOG_ENTRY_MAX_STRING`).
const MAX_ARG_BYTES: usize = 128;

/// One logged command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlowEntry {
    /// Its number, counting from 0 since the server started (RESET does
    /// not restart it).
    pub id: u64,
    /// When it ran, in Unix seconds.
    pub at_s: u64,
    /// How long its handler took, in microseconds.
    pub usec: u64,
    /// The command's name and arguments, trimmed.
    pub args: Vec<Vec<u8>>,
    /// Its client's address (`ip:port`, or `console`).
    pub peer: String,
    /// Its client's name (empty if none).
    pub client_name: Vec<u8>,
}

/// Bytes the log's entries may take, whatever `slowlog-max-len` says: a
/// client that sets the length to millions and the threshold to 0, then
/// sends long commands, must not take the heap the store needs (Redis
/// would grow until its process is killed; here the kernel is the
/// process).
pub const MAX_BYTES: usize = 4 << 20;

/// The log, newest entry first.
#[derive(Clone, Debug, Default)]
pub struct SlowLog {
    entries: VecDeque<SlowEntry>,
    next_id: u64,
    /// What the entries take, about (see [`SlowEntry::bytes`]).
    bytes: usize,
}

impl SlowEntry {
    /// About what the entry takes on the heap.
    fn bytes(&self) -> usize {
        let args: usize = self.args.iter().map(|a| a.len() + 24).sum();
        core::mem::size_of::<SlowEntry>() + args + self.peer.len() + self.client_name.len()
    }
}

impl SlowLog {
    /// Entries kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The newest `count` entries, newest first.
    pub fn newest(&self, count: usize) -> impl Iterator<Item = &SlowEntry> {
        self.entries.iter().take(count)
    }

    /// Forgets every entry.
    pub fn reset(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }

    /// Logs `inv`, which took `usec`, keeping at most `max_len` entries.
    pub(crate) fn push(&mut self, ctx: &Ctx<'_>, inv: &Invocation, usec: u64, max_len: u64) {
        let entry = SlowEntry {
            id: self.next_id,
            at_s: ctx.now_ms() / 1000,
            usec,
            args: kept_args(inv),
            peer: crate::state::addr(ctx.client.caller),
            client_name: ctx.client.name.clone().unwrap_or_default(),
        };
        self.next_id += 1;
        self.bytes += entry.bytes();
        self.entries.push_front(entry);
        self.trim(max_len);
    }

    /// Drops the oldest entries beyond `max_len` or [`MAX_BYTES`].
    fn trim(&mut self, max_len: u64) {
        let keep = usize::try_from(max_len).unwrap_or(usize::MAX);
        while self.entries.len() > keep || self.bytes > MAX_BYTES {
            let Some(old) = self.entries.pop_back() else {
                break;
            };
            self.bytes -= old.bytes();
        }
    }
}

/// Whether a command's run is logged itself (EXEC is not: its commands
/// are, one by one).
pub(crate) fn logs(inv: &Invocation) -> bool {
    inv.spec.name != "EXEC"
}

/// What an entry keeps of `inv`: its name and arguments, passwords
/// redacted, at most [`MAX_ARGS`] of them and [`MAX_ARG_BYTES`] each.
fn kept_args(inv: &Invocation) -> Vec<Vec<u8>> {
    let total = inv.args.len() + 1;
    let shown = if total > MAX_ARGS {
        MAX_ARGS - 1
    } else {
        total
    };
    let redacted = redacted(inv);
    let mut out = Vec::with_capacity(shown + usize::from(total > MAX_ARGS));
    out.push(match inv.typed.get() {
        Some(name) => name.to_vec(),
        None => inv.spec.name.to_ascii_lowercase().into_bytes(),
    });
    for (i, arg) in inv.args.iter().enumerate().take(shown - 1) {
        if redacted.contains(&i) {
            out.push(b"(redacted)".to_vec());
        } else if arg.len() > MAX_ARG_BYTES {
            let mut a = arg[..MAX_ARG_BYTES].to_vec();
            a.extend_from_slice(
                format!("... ({} more bytes)", arg.len() - MAX_ARG_BYTES).as_bytes(),
            );
            out.push(a);
        } else {
            out.push(arg.clone());
        }
    }
    if total > MAX_ARGS {
        out.push(format!("... ({} more arguments)", total - shown).into_bytes());
    }
    out
}

/// The positions (in `inv.args`) of the arguments that are passwords
/// (MONITOR hides them too).
pub(crate) fn redacted(inv: &Invocation) -> Vec<usize> {
    match inv.spec.name {
        "AUTH" => (0..inv.args.len()).collect(),
        "HELLO" => match inv.args.iter().position(|a| is(a, "AUTH")) {
            Some(at) => (at + 1..(at + 3).min(inv.args.len())).collect(),
            None => Vec::new(),
        },
        "CONFIG" if inv.args.first().is_some_and(|a| is(a, "SET")) => (1..inv.args.len())
            .step_by(2)
            .filter(|&i| is(&inv.args[i], "requirepass"))
            .map(|i| i + 1)
            .collect(),
        _ => Vec::new(),
    }
}

/// SLOWLOG and its subcommands (checked by `run` before this).
pub fn slowlog(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let sub = SLOWLOG.enter(ctx, inv)?;
    match sub.name {
        "GET" => {
            let count = match inv.args.get(1) {
                None => 10,
                Some(a) => match parse_i64(a) {
                    Some(-1) => usize::MAX,
                    Some(n) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
                    Some(_) => {
                        return Err(CmdError::Invalid(String::from(
                            "count should be greater than or equal to -1",
                        )))
                    }
                    None => return Err(CmdError::not_integer()),
                },
            };
            if inv.args.len() > 2 {
                return Err(CmdError::syntax());
            }
            let server = ctx.server.lock();
            Ok(Reply::Array(
                server.slowlog.newest(count).map(entry_reply).collect(),
            ))
        }
        "LEN" => Ok(Reply::Integer(ctx.server.lock().slowlog.len() as i64)),
        "RESET" => {
            ctx.server.lock().slowlog.reset();
            Ok(Reply::Ok)
        }
        _ => Ok(SLOWLOG.help()),
    }
}

/// An entry as SLOWLOG GET shows it: id, time, duration, arguments,
/// address, name.
fn entry_reply(e: &SlowEntry) -> Reply {
    Reply::Array(alloc::vec![
        Reply::Integer(e.id as i64),
        Reply::Integer(e.at_s as i64),
        Reply::Integer(e.usec as i64),
        Reply::Array(e.args.iter().cloned().map(Reply::Value).collect()),
        Reply::Value(e.peer.clone().into_bytes()),
        Reply::Value(e.client_name.clone()),
    ])
}

//! MONITOR: every command the server runs, from every client (the console
//! too), streamed to the network clients that asked, as Redis 7.0 streams
//! it (src/replication.c's replicationFeedMonitors): one status line per
//! command after it ran, `+<unix seconds>.<microseconds> [0 <client>]
//! "name" "arg" ...`, each argument quoted as Redis quotes it, passwords
//! `(redacted)`. Queued commands appear when EXEC runs them, between MULTI
//! and EXEC. Redis's administrative commands are not shown (CONFIG,
//! SLOWLOG, LATENCY, MONITOR, CLIENT KILL/LIST/PAUSE ...), nor the
//! appliance's own (SHUTDOWN, DEBUG, BENCH ...).
//!
//! The lines wait here, per monitoring client, until its session moves
//! them to its output ([`Monitors::take`]); the kernel wakes the sessions
//! when a line is fed. A monitor whose lines pile up past its output limit
//! (`client-output-buffer-limit`) is closed, as Redis closes it. A client
//! in MONITOR may not read or write keys (Redis's replica rule); RESET
//! ends the stream.

use alloc::vec::Vec;
use core::fmt::Write as _;

use console::command::flag;
use console::{Invocation, Reply};

use crate::args::is;
use crate::ctx::{CmdError, Ctx};
use crate::state::Server;

/// The lines waiting for each monitoring client.
#[derive(Clone, Debug, Default)]
pub struct Monitors {
    subs: Vec<(u64, Vec<u8>)>,
}

impl Monitors {
    /// Whether no client monitors.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.subs.is_empty()
    }

    fn add(&mut self, id: u64) {
        if !self.subs.iter().any(|(c, _)| *c == id) {
            self.subs.push((id, Vec::new()));
        }
    }

    /// Stops streaming to client `id`.
    pub fn remove(&mut self, id: u64) {
        self.subs.retain(|(c, _)| *c != id);
    }

    /// The lines waiting for client `id`, taken.
    pub fn take(&mut self, id: u64) -> Vec<u8> {
        self.subs
            .iter_mut()
            .find(|(c, _)| *c == id)
            .map(|(_, pending)| core::mem::take(pending))
            .unwrap_or_default()
    }
}

/// MONITOR: this network client receives every command run from now on
/// (see the module doc). The console has no stream to receive it on.
pub fn monitor(ctx: &mut Ctx<'_>, _: &Invocation) -> Result<Reply, CmdError> {
    if !ctx.client.is_network() {
        return Err(CmdError::Invalid(
            "MONITOR streams to network clients (redis-cli monitor): the console has no stream \
             to receive it"
                .into(),
        ));
    }
    if ctx.client.in_exec {
        return Err(CmdError::Invalid(
            "MONITOR isn't allowed for DENY BLOCKING client".into(),
        ));
    }
    ctx.client.monitor = true;
    ctx.server.lock().monitors.add(ctx.client.id);
    Ok(Reply::Ok)
}

/// Whether `inv` is shown to monitors: not Redis's administrative
/// commands, nor the appliance's own.
fn shown(inv: &Invocation) -> bool {
    let spec = inv.spec;
    if spec.has(flag::ADMIN) {
        return false;
    }
    match spec.name {
        "CONFIG" | "SLOWLOG" | "LATENCY" | "MONITOR" => false,
        "CLIENT" => !inv.args.first().is_some_and(|sub| {
            ["KILL", "LIST", "PAUSE", "UNPAUSE", "NO-EVICT"]
                .iter()
                .any(|s| is(sub, s))
        }),
        _ => true,
    }
}

/// Feeds `inv`, which `ctx`'s client just ran, to every monitor; true if
/// any line was fed (the caller wakes the sessions). Monitors past their
/// limit are closed as CLIENT KILL closes a client.
pub(crate) fn feed(ctx: &Ctx<'_>, server: &mut Server, inv: &Invocation) -> bool {
    if !shown(inv) {
        return false;
    }
    let line = line(ctx, inv);
    let limit = server.config.client_output_buffer_limit;
    let mut over = Vec::new();
    for (id, pending) in &mut server.monitors.subs {
        if crate::state::past_output_limit((pending.len() + line.len()) as u64, limit) {
            over.push(*id);
        } else {
            pending.extend_from_slice(&line);
        }
    }
    for id in &over {
        log::warn!(
            "monitor: closing client {id}: its unread lines passed client-output-buffer-limit"
        );
        server.monitors.remove(*id);
        server.killed.insert(*id);
    }
    if !over.is_empty() {
        crate::state::note_kill();
    }
    !server.monitors.is_empty()
}

/// `inv`'s line, as Redis writes it.
fn line(ctx: &Ctx<'_>, inv: &Invocation) -> Vec<u8> {
    let us = (ctx.clock.wall_us)();
    let mut head = alloc::string::String::new();
    let _ = write!(
        head,
        "+{}.{:06} [0 {}] ",
        us / 1_000_000,
        us % 1_000_000,
        crate::state::addr(ctx.client.caller)
    );
    let mut out = head.into_bytes();
    let name = match inv.typed.get() {
        Some(name) => name.to_vec(),
        None => inv.spec.name.to_ascii_lowercase().into_bytes(),
    };
    quote(&mut out, &name);
    let redacted = crate::slowlog::redacted(inv);
    for (i, arg) in inv.args.iter().enumerate() {
        out.push(b' ');
        if redacted.contains(&i) {
            quote(&mut out, b"(redacted)");
        } else {
            quote(&mut out, arg);
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Redis's `sdscatrepr`: the bytes in double quotes, backslash escapes for
/// `\\ " \n \r \t \a \b`, `\xHH` for the other unprintable ones.
/// Not the console's `console::quote`: that one writes `\x07` and `\x08`,
/// the only forms the console's parser reads back.
fn quote(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &b in s {
        match b {
            b'\\' | b'"' => out.extend_from_slice(&[b'\\', b]),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(b),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(&[
                    b'\\',
                    b'x',
                    HEX[usize::from(b >> 4)],
                    HEX[usize::from(b & 15)],
                ]);
            }
        }
    }
    out.push(b'"');
}

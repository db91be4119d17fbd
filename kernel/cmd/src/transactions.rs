//! MULTI, EXEC, DISCARD, WATCH, UNWATCH, as Redis 7.0 answers them.
//!
//! `run` queues a command inside MULTI (or refuses it, which makes EXEC
//! abort); EXEC runs the queue against one view of the store (each
//! command's reads see the writes of those before it) and its writes reach
//! the store as one batch when EXEC returns, so a transaction is all or
//! nothing across a crash. A command that fails inside takes back only its
//! own writes; the others stand, as in Redis. (FLUSHALL and FLUSHDB empty
//! the store at once, so a transaction holding one is applied in two
//! steps: the writes after it are one batch, made after the flush.)
//!
//! WATCH keeps each key's version (every write through `Ctx::apply`
//! bumps the versions of watched keys, FLUSHALL those of the live ones)
//! and whether it held a live value then: EXEC fails with a nil array if a
//! version moved, or if a key that was live has expired since.

use alloc::string::String;
use alloc::vec::Vec;

use console::{Invocation, Reply};

use crate::ctx::{CmdError, Ctx};
use crate::state::{Multi, Watched};
use crate::table::{entry, timed, Entry};

pub(crate) static HANDLERS: &[Entry] = &[
    entry("MULTI", multi, true),
    entry("EXEC", exec, true),
    entry("DISCARD", discard, true),
    entry("WATCH", watch, true),
    entry("UNWATCH", unwatch, true),
];

pub fn multi(ctx: &mut Ctx<'_>, _: &Invocation) -> Result<Reply, CmdError> {
    if ctx.client.multi.is_some() {
        return Err(CmdError::Invalid(String::from(
            "MULTI calls can not be nested",
        )));
    }
    ctx.client.multi = Some(Multi::default());
    Ok(Reply::Ok)
}

pub fn discard(ctx: &mut Ctx<'_>, _: &Invocation) -> Result<Reply, CmdError> {
    if ctx.client.multi.take().is_none() {
        return Err(CmdError::Invalid(String::from("DISCARD without MULTI")));
    }
    ctx.server.lock().unwatch_all(ctx.client);
    Ok(Reply::Ok)
}

/// Watched keys' bytes a client may hold before the free heap is looked at.
const UNCHECKED_WATCH: usize = 1 << 20;
/// A watched key's bookkeeping beyond its bytes (two allocations, a map
/// node, a list entry), roughly.
const WATCH_OVERHEAD: usize = 128;

/// Each key once; its version and whether it is live now. The keys a
/// client watches are bounded by the free heap (Redis's OOM error past a
/// quarter of it).
pub fn watch(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    if ctx.client.multi.is_some() {
        return Err(CmdError::Invalid(String::from(
            "WATCH inside MULTI is not allowed",
        )));
    }
    let cost = |key: &[u8]| 2 * key.len() + WATCH_OVERHEAD;
    let mut held: usize = ctx.client.watched.iter().map(|w| cost(&w.key)).sum();
    for key in &inv.args {
        if ctx.client.watched.iter().any(|w| w.key == *key) {
            continue;
        }
        // Each key is kept twice (the client's list, the server's map)
        // until EXEC: bounded as a transaction's queue is.
        held += cost(key);
        if let Some(free) = ctx.over_heap_quarter(held, UNCHECKED_WATCH) {
            return Err(CmdError::oom(format_args!(
                "the watched keys ({held} bytes) would pass a quarter of the free memory \
                 ({free} bytes)"
            )));
        }
        let live = ctx.exists(key)?;
        let version = ctx.server.lock().watch(key);
        ctx.client.watched.push(Watched {
            key: key.clone(),
            version,
            live,
        });
    }
    Ok(Reply::Ok)
}

pub fn unwatch(ctx: &mut Ctx<'_>, _: &Invocation) -> Result<Reply, CmdError> {
    ctx.server.lock().unwatch_all(ctx.client);
    Ok(Reply::Ok)
}

/// Whether EXEC may run: no watched key written since WATCH, and none
/// that was live then has expired.
fn watches_hold(ctx: &mut Ctx<'_>) -> Result<bool, CmdError> {
    if !ctx.server.lock().watched_unchanged(ctx.client) {
        return Ok(false);
    }
    let live: Vec<Vec<u8>> = ctx
        .client
        .watched
        .iter()
        .filter(|w| w.live)
        .map(|w| w.key.clone())
        .collect();
    for key in live {
        if !ctx.exists(&key)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `EXECABORT` if a command was refused while queueing; a nil array if a
/// WATCH failed; otherwise every queued command's reply, in order. The
/// transaction ends and the WATCHes go in every case.
pub fn exec(ctx: &mut Ctx<'_>, _: &Invocation) -> Result<Reply, CmdError> {
    let Some(multi) = ctx.client.multi.take() else {
        return Err(CmdError::Invalid(String::from("EXEC without MULTI")));
    };
    let hold = if multi.failed {
        None
    } else {
        Some(watches_hold(ctx))
    };
    ctx.server.lock().unwatch_all(ctx.client);
    match hold {
        None => {
            return Err(CmdError::Coded(
                "EXECABORT",
                String::from("Transaction discarded because of previous errors."),
            ))
        }
        Some(hold) => {
            if !hold? {
                return Ok(Reply::NilArray);
            }
        }
    }
    ctx.client.in_exec = true;
    let replies = multi.queued.iter().map(|inv| timed(ctx, inv)).collect();
    ctx.client.in_exec = false;
    Ok(Reply::Array(replies))
}

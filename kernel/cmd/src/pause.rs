//! Redis's CLIENT PAUSE: for a while, or until CLIENT UNPAUSE, the network
//! clients' writes (WRITE) or all their commands (ALL) wait, each in its
//! connection, and run in order once the pause ends; reads go on under a
//! WRITE pause. Operators pause writes for a cut-over or a consistent copy.
//!
//! This module owns the pause's state (in the [`Server`]) and the rule of
//! which command waits ([`postponed`]); a connection holds what waits and
//! asks again each round (`conn`). As in Redis, a command is looked up and
//! its arity checked first (a malformed one is answered at once), and the
//! pause starts after the transaction that set it: EXEC does not stop
//! between its commands. The console is never paused: it is the operator's
//! (Redis leaves its replicas out).

use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use console::command::flag;

use crate::args::{is, parse_i64};
use crate::ctx::{CmdError, Ctx};
use crate::state::{Client, Server, ServerCell};
use console::{Invocation, Reply};

/// A pause: until when, and of what.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pause {
    /// Unix milliseconds at which it ends; 0 for none.
    pub until_ms: u64,
    /// Every command (ALL), not only writes (WRITE).
    pub all: bool,
}

impl Pause {
    /// Whether it holds at `now_ms`, and whether of every command.
    pub fn at(&self, now_ms: u64) -> Option<bool> {
        (now_ms < self.until_ms).then_some(self.all)
    }
}

/// The latest end of any pause set on any server (a hint: a server whose
/// pause ended or was lifted sets nothing back), so that while no pause can
/// hold, a command costs one load to learn it, not the server's lock.
static LATEST_END_MS: AtomicU64 = AtomicU64::new(0);

/// Whether `inv` must wait for the pause to end before it runs for
/// `client`, at `now_ms`: a network client's (authenticated: one that
/// is not is refused at once), under an ALL pause any command, under a
/// WRITE pause a write, or an EXEC whose transaction writes.
pub fn postponed(server: &ServerCell, client: &Client, inv: &Invocation, now_ms: u64) -> bool {
    if now_ms >= LATEST_END_MS.load(Ordering::Relaxed)
        || !client.is_network()
        || !client.authenticated
    {
        return false;
    }
    let Some(all) = server.lock().pause.at(now_ms) else {
        return false;
    };
    all || inv.spec.has(flag::WRITE)
        || (inv.spec.name == "EXEC" && client.multi.as_ref().is_some_and(|m| m.writes()))
}

/// Whether the server is paused at `now_ms` (the active expiry waits: a
/// key that expires meanwhile is hidden from reads, not deleted, as in
/// Redis, where a pause stops every change to the data set).
pub fn paused(server: &Server, now_ms: u64) -> bool {
    server.pause.at(now_ms).is_some()
}

/// `CLIENT PAUSE timeout [WRITE|ALL]`, checked as Redis checks it: a pause
/// already set is lengthened, never shortened, and an ALL pause stays ALL
/// until it ends. The sessions are woken, so that a pause set at the
/// console holds the network's next commands.
pub(crate) fn pause(ctx: &mut Ctx<'_>, word: &[u8], args: &[Vec<u8>]) -> Result<Reply, CmdError> {
    // The mode first, then the timeout, as Redis reads them.
    let all = match args {
        [_] => true,
        [_, m] if is(m, "ALL") => true,
        [_, m] if is(m, "WRITE") => false,
        [_, _] => {
            return Err(CmdError::Invalid(String::from(
                "CLIENT PAUSE mode must be WRITE or ALL",
            )))
        }
        _ => return Err(crate::connection::CLIENT.wrong_form(word)),
    };
    let timeout = parse_i64(&args[0]).ok_or_else(|| {
        CmdError::Invalid(String::from("timeout is not an integer or out of range"))
    })?;
    if timeout < 0 {
        return Err(CmdError::Invalid(String::from("timeout is negative")));
    }
    let now = ctx.clock.wall_ms();
    let until = i64::try_from(now)
        .ok()
        .and_then(|n| n.checked_add(timeout))
        .ok_or_else(|| CmdError::Invalid(String::from("timeout is out of range")))?
        as u64;
    let mut server = ctx.server.lock();
    let p = &mut server.pause;
    if p.at(now).is_none() {
        *p = Pause::default();
    }
    p.all |= all;
    p.until_ms = p.until_ms.max(until);
    LATEST_END_MS.fetch_max(p.until_ms, Ordering::Relaxed);
    drop(server);
    ctx.host.wake_sessions();
    Ok(Reply::Ok)
}

/// `CLIENT UNPAUSE`: the pause ends now; the sessions are woken to run
/// what waited.
pub(crate) fn unpause(ctx: &mut Ctx<'_>) -> Result<Reply, CmdError> {
    ctx.server.lock().pause = Pause::default();
    ctx.host.wake_sessions();
    Ok(Reply::Ok)
}

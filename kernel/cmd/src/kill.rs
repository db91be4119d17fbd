//! CLIENT KILL, as Redis 7.0 reads it (src/networking.c,
//! `clientKillCommand`): the old form, `CLIENT KILL ip:port` (`OK`, or
//! `No such client`), and the filters (`ID`, `ADDR`, `LADDR`, `TYPE`,
//! `USER`, `SKIPME`, `MAXAGE`, all of them to match; the count of clients
//! killed). The serial console is not a connection and is never killed.
//!
//! A killed client is another session's: the command marks its id in
//! [`Server::killed`](crate::Server::killed) and its session closes it
//! (what it had sent is not run, what it was owed is sent, then FIN), as
//! soon as its loop looks: `kills()` tells it when to. The client that
//! kills itself (the old form, or `SKIPME no`) gets its reply first, as
//! after QUIT.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use console::Reply;

use crate::args::{is, parse_i64};
use crate::clientlist::ClientInfo;
use crate::ctx::{CmdError, Ctx};
use crate::state::{addr, note_kill, Caller};

/// What a CLIENT KILL with filters matches; `None` is any.
#[derive(Default)]
struct Filter {
    id: Option<u64>,
    addr: Option<Vec<u8>>,
    laddr: Option<Vec<u8>>,
    skip_me: bool,
    max_age_s: Option<u64>,
    /// A TYPE unikv has no clients of (master, replica, pubsub).
    none: bool,
}

/// `CLIENT KILL ...` (its arguments after KILL).
pub(crate) fn client_kill(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Result<Reply, CmdError> {
    if let [ip_port] = args {
        let filter = Filter {
            addr: Some(ip_port.clone()),
            ..Filter::default()
        };
        return match kill(ctx, &filter) {
            0 => Err(CmdError::Invalid(String::from("No such client"))),
            _ => Ok(Reply::Ok),
        };
    }
    if !args.len().is_multiple_of(2) {
        return Err(CmdError::syntax());
    }
    let mut f = Filter {
        skip_me: true,
        ..Filter::default()
    };
    for pair in args.chunks(2) {
        let (word, value) = (&pair[0], &pair[1]);
        if is(word, "ID") {
            match parse_i64(value).filter(|&n| n > 0) {
                Some(n) => f.id = Some(n as u64),
                None => {
                    return Err(CmdError::Invalid(String::from(
                        "client-id should be greater than 0",
                    )))
                }
            }
        } else if is(word, "TYPE") {
            if is(value, "normal") {
                continue;
            }
            if ["master", "replica", "slave", "pubsub"]
                .iter()
                .any(|k| is(value, k))
            {
                // unikv has none of those: nothing matches.
                f.none = true;
                continue;
            }
            return Err(CmdError::Invalid(format!(
                "Unknown client type '{}'",
                crate::subcommand::shown(value)
            )));
        } else if is(word, "USER") {
            if !is(value, "default") {
                return Err(CmdError::Invalid(format!(
                    "No such user '{}'",
                    crate::subcommand::shown(value)
                )));
            }
        } else if is(word, "ADDR") {
            f.addr = Some(value.clone());
        } else if is(word, "LADDR") {
            f.laddr = Some(value.clone());
        } else if is(word, "SKIPME") {
            if is(value, "yes") {
                f.skip_me = true;
            } else if is(value, "no") {
                f.skip_me = false;
            } else {
                return Err(CmdError::syntax());
            }
        } else if is(word, "MAXAGE") {
            // Redis: older than this many seconds; 0 is no filter.
            match parse_i64(value) {
                Some(n) => f.max_age_s = (n > 0).then_some(n as u64),
                None => return Err(CmdError::syntax()),
            }
        } else {
            return Err(CmdError::syntax());
        }
    }
    Ok(Reply::Integer(kill(ctx, &f) as i64))
}

/// Marks every network client `f` matches as killed (this one by closing
/// it after its reply); how many.
fn kill(ctx: &mut Ctx<'_>, f: &Filter) -> usize {
    let now = ctx.now_ms();
    let laddr = ctx
        .host
        .listen_addr()
        .map(|(ip, port)| addr(Caller::Network { addr: ip, port }).into_bytes());
    let me = ClientInfo::of(ctx.client);
    let matches = |c: &ClientInfo| {
        matches!(c.caller, Caller::Network { .. })
            && !f.none
            && f.id.is_none_or(|id| id == c.id)
            && f.addr
                .as_deref()
                .is_none_or(|a| a == addr(c.caller).as_bytes())
            && f.laddr
                .as_deref()
                .is_none_or(|a| laddr.as_deref() == Some(a))
            && f.max_age_s
                .is_none_or(|s| now.saturating_sub(c.since_ms) / 1000 > s)
    };
    let mut server = ctx.server.lock();
    // This client as it is now (the list has it as of its last read, or
    // not yet), the others as listed.
    let others: Vec<u64> = server
        .clients
        .values()
        .filter(|c| c.id != me.id && matches(c))
        .map(|c| c.id)
        .collect();
    let killed_me = !f.skip_me && matches(&me);
    server.killed.extend(&others);
    drop(server);
    if !others.is_empty() {
        note_kill();
    }
    if killed_me {
        ctx.client.closing = true;
    }
    others.len() + usize::from(killed_me)
}

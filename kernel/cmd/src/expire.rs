//! The expiry commands, with Redis 7.0's semantics, replies and errors
//! (src/expire.c): EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (NX, XX, GT, LT),
//! TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST; and TIME, the clock expiry
//! is kept in. Expiry is stored with the value (`kv::value`), in Unix
//! milliseconds; a key whose time has passed reads as absent, and the
//! store's active expiry (`kv::Store::expire_step`) deletes it.

use alloc::format;
use alloc::string::String;
use alloc::vec;

use console::{Invocation, Reply};
use kv::Entry;

use crate::args::integer;
use crate::ctx::{CmdError, Ctx};
use crate::table::{entry, Entry as Row};

pub(crate) static HANDLERS: &[Row] = &[
    entry("EXPIRE", expire, true),
    entry("PEXPIRE", pexpire, true),
    entry("EXPIREAT", expireat, true),
    entry("PEXPIREAT", pexpireat, true),
    entry("TTL", ttl, true),
    entry("PTTL", pttl, true),
    entry("EXPIRETIME", expiretime, true),
    entry("PEXPIRETIME", pexpiretime, true),
    entry("PERSIST", persist, true),
    entry("TIME", time, true),
];

/// Redis's error for an expiry time that is negative (where it may not be)
/// or overflows, naming the command as the client typed it.
pub(crate) fn invalid_expire_time(inv: &Invocation) -> CmdError {
    CmdError::Invalid(format!(
        "invalid expire time in '{}' command",
        inv.spec.name.to_ascii_lowercase()
    ))
}

/// Redis's `checkAlreadyExpired`: an expiry at or before now deletes the
/// key at once (a key reads as expired only once its time has passed).
pub(crate) fn already_expired(ctx: &Ctx<'_>, at_ms: u64) -> bool {
    at_ms <= ctx.now_ms()
}

/// EXPIRE's NX, XX, GT and LT.
#[derive(Default)]
struct Conditions {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

fn parse_conditions(args: &[alloc::vec::Vec<u8>]) -> Result<Conditions, CmdError> {
    let mut c = Conditions::default();
    for arg in args {
        match arg.to_ascii_uppercase().as_slice() {
            b"NX" => c.nx = true,
            b"XX" => c.xx = true,
            b"GT" => c.gt = true,
            b"LT" => c.lt = true,
            _ => {
                return Err(CmdError::Invalid(format!(
                    "Unsupported option {}",
                    String::from_utf8_lossy(arg)
                )))
            }
        }
    }
    if c.nx && (c.xx || c.gt || c.lt) {
        return Err(CmdError::Invalid(String::from(
            "NX and XX, GT or LT options at the same time are not compatible",
        )));
    }
    if c.gt && c.lt {
        return Err(CmdError::Invalid(String::from(
            "GT and LT options at the same time are not compatible",
        )));
    }
    Ok(c)
}

/// Redis's `expireGenericCommand`: the time is `base_ms` plus the argument
/// in seconds or milliseconds; it may be negative (a time past deletes the
/// key) but must not overflow. 1 if the expiry was set (or the key
/// deleted), 0 if the key does not exist or a condition failed.
fn expire_generic(
    ctx: &mut Ctx<'_>,
    inv: &Invocation,
    base_ms: i64,
    seconds: bool,
) -> Result<Reply, CmdError> {
    let c = parse_conditions(&inv.args[2..])?;
    let mut when = integer(&inv.args[1])?;
    if seconds {
        when = when
            .checked_mul(1000)
            .ok_or_else(|| invalid_expire_time(inv))?;
    }
    let when = when
        .checked_add(base_ms)
        .ok_or_else(|| invalid_expire_time(inv))?;
    let key = &inv.args[0];
    let Some(e) = ctx.read_for_write(key)? else {
        return Ok(Reply::Integer(0));
    };
    // -1: no expiry, which GT and LT take as forever.
    let current = e.expires_at.map_or(-1, |at| at as i64);
    let refused = (c.nx && current != -1)
        || (c.xx && current == -1)
        || (c.gt && (when <= current || current == -1))
        || (c.lt && current != -1 && when >= current);
    if refused {
        return Ok(Reply::Integer(0));
    }
    if when <= 0 || already_expired(ctx, when as u64) {
        ctx.remove(key);
    } else {
        ctx.write(
            key,
            Entry {
                expires_at: Some(when as u64),
                ..e
            },
        );
    }
    Ok(Reply::Integer(1))
}

pub fn expire(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let now = ctx.now_ms() as i64;
    expire_generic(ctx, inv, now, true)
}

pub fn pexpire(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let now = ctx.now_ms() as i64;
    expire_generic(ctx, inv, now, false)
}

pub fn expireat(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    expire_generic(ctx, inv, 0, true)
}

pub fn pexpireat(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    expire_generic(ctx, inv, 0, false)
}

/// Redis's `ttlGenericCommand`: -2 for no key, -1 for no expiry; else the
/// time left (or the time itself, `absolute`), never below 0, in
/// milliseconds or in seconds rounded to the nearest.
fn ttl_generic(
    ctx: &mut Ctx<'_>,
    inv: &Invocation,
    ms: bool,
    absolute: bool,
) -> Result<Reply, CmdError> {
    let Some(e) = ctx.read(&inv.args[0])? else {
        return Ok(Reply::Integer(-2));
    };
    let Some(at) = e.expires_at else {
        return Ok(Reply::Integer(-1));
    };
    let at = at as i64;
    let left = if absolute {
        at
    } else {
        at.saturating_sub(ctx.now_ms() as i64)
    }
    .max(0);
    Ok(Reply::Integer(if ms { left } else { (left + 500) / 1000 }))
}

pub fn ttl(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    ttl_generic(ctx, inv, false, false)
}

pub fn pttl(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    ttl_generic(ctx, inv, true, false)
}

pub fn expiretime(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    ttl_generic(ctx, inv, false, true)
}

pub fn pexpiretime(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    ttl_generic(ctx, inv, true, true)
}

/// 1 if the key had an expiry (now gone), 0 if it had none or no key.
pub fn persist(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let key = &inv.args[0];
    match ctx.read_for_write(key)? {
        Some(e) if e.expires_at.is_some() => {
            ctx.write(
                key,
                Entry {
                    expires_at: None,
                    ..e
                },
            );
            Ok(Reply::Integer(1))
        }
        _ => Ok(Reply::Integer(0)),
    }
}

/// The time of day: Unix seconds and the microseconds into that second,
/// as two strings.
pub fn time(ctx: &mut Ctx<'_>, _inv: &Invocation) -> Result<Reply, CmdError> {
    let us = (ctx.clock.wall_us)();
    let text = |n: u64| Reply::Value(format!("{n}").into_bytes());
    Ok(Reply::Array(vec![
        text(us / 1_000_000),
        text(us % 1_000_000),
    ]))
}

//! The string commands, with Redis 7.0's semantics, replies and errors
//! (src/t_string.c): SET and its variants, the GETs, MGET and MSET here;
//! counters in `number`, partial reads and writes in `range`, LCS in `lcs`.
//! Every write that makes a string checks its length ([`put`]).

mod lcs;
mod number;
mod range;

pub(crate) use range::clamp;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use console::{Invocation, Reply};
use kv::value::Raw;
use kv::{Entry, Kind};

use crate::ctx::{CmdError, Ctx};
use crate::expire::{already_expired, invalid_expire_time};
use crate::state::MIN_PROTO_MAX_BULK_LEN;
use crate::table::{entry, Entry as Row};

pub(crate) static HANDLERS: &[Row] = &[
    entry("SET", set, true),
    entry("GET", get, true),
    entry("SETNX", setnx, true),
    entry("SETEX", setex, true),
    entry("PSETEX", psetex, true),
    entry("GETSET", getset, true),
    entry("GETDEL", getdel, true),
    entry("GETEX", getex, true),
    entry("MGET", mget, true),
    entry("MSET", mset, true),
    entry("MSETNX", msetnx, true),
    entry("APPEND", range::append, true),
    entry("STRLEN", range::strlen, true),
    entry("GETRANGE", range::getrange, true),
    entry("SUBSTR", range::getrange, true),
    entry("SETRANGE", range::setrange, true),
    entry("INCR", number::incr, true),
    entry("DECR", number::decr, true),
    entry("INCRBY", number::incrby, true),
    entry("DECRBY", number::decrby, true),
    entry("INCRBYFLOAT", number::incrbyfloat, true),
    entry("LCS", lcs::lcs, true),
];

/// A stored value's bytes if it is a string; `WRONGTYPE` otherwise.
pub(crate) fn string(e: Entry) -> Result<Vec<u8>, CmdError> {
    match e.kind {
        Kind::String | Kind::StringInPlace => Ok(e.value),
    }
}

/// Checks that a string of `len` bytes may be stored: Redis's limit
/// (`proto-max-bulk-len`, Redis's own message), then the store's (the
/// disk's largest value). `None` is a length that overflowed.
///
/// Neither lock is taken for the usual length: one within the least
/// `proto-max-bulk-len` CONFIG SET allows needs no look at the setting, and
/// the store's limit is published beside its lock.
#[inline(always)]
pub(crate) fn check_length(ctx: &Ctx<'_>, len: Option<u64>) -> Result<(), CmdError> {
    let len = match len {
        Some(n) if n <= MIN_PROTO_MAX_BULK_LEN => n,
        Some(n) if n <= ctx.server.lock().config.proto_max_bulk_len => n,
        _ => {
            return Err(CmdError::Invalid(String::from(
                "string exceeds maximum allowed size (proto-max-bulk-len)",
            )))
        }
    };
    let max = match ctx.store_cell().max_string_len() {
        Some(max) => max,
        // No store: this says why.
        None => ctx.store()?.max_string_len(),
    } as u64;
    if len > max {
        return Err(CmdError::Invalid(format!(
            "string exceeds maximum allowed size (the store keeps strings of at most {max} bytes)"
        )));
    }
    Ok(())
}

/// Sets `key` to the string `value` expiring at `expires_at`, once its
/// length is checked.
pub(crate) fn put(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    value: &[u8],
    expires_at: Option<u64>,
) -> Result<(), CmdError> {
    put_as(ctx, key, value, expires_at, Kind::String)
}

/// [`put`], saying whether the string was written whole or changed in
/// place ([`Kind::StringInPlace`]).
pub(crate) fn put_as(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    value: &[u8],
    expires_at: Option<u64>,
    kind: Kind,
) -> Result<(), CmdError> {
    check_length(ctx, Some(value.len() as u64))?;
    let raw = Raw {
        kind,
        expires_at,
        value,
    };
    ctx.write_raw(key, raw);
    Ok(())
}

/// Redis's `getGenericCommand`: the string under `key` (a read, counted as
/// a hit or a miss), `None` if there is none.
fn get_string(ctx: &Ctx<'_>, key: &[u8]) -> Result<Option<Vec<u8>>, CmdError> {
    ctx.read(key)?.map(string).transpose()
}

fn bulk_or_nil(value: Option<Vec<u8>>) -> Reply {
    // Not `map_or(Reply::Nil, ..)`: its default is built first and then
    // dropped, a call of the reply's drop (a jump table and a return,
    // each a lookup under TCG) for every value found.
    match value {
        Some(v) => Reply::Value(v),
        None => Reply::Nil,
    }
}

/// How an expiry option gives its time.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    /// `EX`: seconds from now.
    Ex,
    /// `PX`: milliseconds from now.
    Px,
    /// `EXAT`: a Unix time in seconds.
    Exat,
    /// `PXAT`: a Unix time in milliseconds.
    Pxat,
}

/// SET's and GETEX's options, as Redis's `parseExtendedStringArguments`
/// takes them: an option that conflicts with one before it (`NX XX`, `EX 1
/// PX 1`, `KEEPTTL EX 1`), or one the command does not take, is a syntax
/// error; `GET` and the same expiry option may repeat (the last counts).
#[derive(Default)]
struct Options<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    persist: bool,
    expire: Option<(Unit, &'a [u8])>,
}

fn parse_options(args: &[Vec<u8>], set: bool) -> Result<Options<'_>, CmdError> {
    let mut o = Options::default();
    let mut i = 0;
    while i < args.len() {
        let opt = args[i].to_ascii_uppercase();
        let next = args.get(i + 1).map(Vec::as_slice);
        let unit = match opt.as_slice() {
            b"EX" => Some(Unit::Ex),
            b"PX" => Some(Unit::Px),
            b"EXAT" => Some(Unit::Exat),
            b"PXAT" => Some(Unit::Pxat),
            _ => None,
        };
        match (opt.as_slice(), unit, next) {
            (b"NX", ..) if set && !o.xx => o.nx = true,
            (b"XX", ..) if set && !o.nx => o.xx = true,
            (b"GET", ..) if set => o.get = true,
            (b"KEEPTTL", ..) if set && !o.persist && o.expire.is_none() => o.keepttl = true,
            (b"PERSIST", ..) if !set && o.expire.is_none() && !o.keepttl => o.persist = true,
            (_, Some(unit), Some(arg))
                if !o.keepttl && !o.persist && o.expire.is_none_or(|(u, _)| u == unit) =>
            {
                o.expire = Some((unit, arg));
                i += 1;
            }
            _ => return Err(CmdError::syntax()),
        }
        i += 1;
    }
    Ok(o)
}

/// Redis's `getExpireMillisecondsOrReply`: the Unix time in milliseconds
/// an expiry option names; it must be positive, and must not overflow.
fn expire_at(ctx: &Ctx<'_>, inv: &Invocation, unit: Unit, arg: &[u8]) -> Result<u64, CmdError> {
    let n = crate::args::integer(arg)?;
    let seconds = matches!(unit, Unit::Ex | Unit::Exat);
    if n <= 0 || (seconds && n > i64::MAX / 1000) {
        return Err(invalid_expire_time(inv));
    }
    let mut ms = if seconds { n * 1000 } else { n };
    if matches!(unit, Unit::Ex | Unit::Px) {
        ms = ms
            .checked_add(ctx.now_ms() as i64)
            .ok_or_else(|| invalid_expire_time(inv))?;
    }
    Ok(ms as u64)
}

/// What a SET-like command answers when it did or did not set the key.
/// Said rather than built: a reply passed in and not used was dropped by a
/// call (a jump table and a return, each a lookup under TCG) for every
/// SET.
#[derive(Clone, Copy)]
enum Answer {
    /// SET's: OK, or nil.
    OkNil,
    /// SETNX's: 1, or 0.
    OneZero,
}

impl Answer {
    fn reply(self, set: bool) -> Reply {
        match (self, set) {
            (Answer::OkNil, true) => Reply::Ok,
            (Answer::OkNil, false) => Reply::Nil,
            (Answer::OneZero, set) => Reply::Integer(i64::from(set)),
        }
    }
}

/// Redis's `setGenericCommand`: `answer` says the reply when the key was
/// or was not set (but SET ... GET replies the old value either way).
/// Inlined into each caller.
#[inline(always)]
fn set_generic(
    ctx: &mut Ctx<'_>,
    inv: &Invocation,
    o: &Options<'_>,
    key: &[u8],
    value: &[u8],
    answer: Answer,
) -> Result<Reply, CmdError> {
    let at = match o.expire {
        Some((unit, arg)) => Some(expire_at(ctx, inv, unit, arg)?),
        None => None,
    };
    let old = if o.get {
        Some(get_string(ctx, key)?)
    } else {
        None
    };
    // Only NX, XX and KEEPTTL look at what the key holds; a plain SET
    // overwrites it unread (a store lookup saved per SET).
    let current = if o.nx || o.xx || o.keepttl {
        ctx.read_for_write(key)?
    } else {
        None
    };
    let reply = move |set: bool| match old {
        Some(old) => bulk_or_nil(old),
        None => answer.reply(set),
    };
    if (o.nx && current.is_some()) || (o.xx && current.is_none()) {
        return Ok(reply(false));
    }
    let expires_at = if o.keepttl {
        current.and_then(|e| e.expires_at)
    } else {
        at
    };
    put(ctx, key, value, expires_at)?;
    Ok(reply(true))
}

/// `OK` once the WAL record is on disk: the write joins the group commit
/// and its reply waits for it.
pub fn set(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let o = match &inv.args[2..] {
        // The commonest SET: no options to parse, no call to do it.
        [] => Options::default(),
        options => parse_options(options, true)?,
    };
    let (key, value) = (&inv.args[0], &inv.args[1]);
    set_generic(ctx, inv, &o, key, value, Answer::OkNil)
}

pub fn setnx(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let o = Options {
        nx: true,
        ..Options::default()
    };
    let (key, value) = (&inv.args[0], &inv.args[1]);
    set_generic(ctx, inv, &o, key, value, Answer::OneZero)
}

fn set_expiring(ctx: &mut Ctx<'_>, inv: &Invocation, unit: Unit) -> Result<Reply, CmdError> {
    let o = Options {
        expire: Some((unit, &inv.args[1])),
        ..Options::default()
    };
    let (key, value) = (&inv.args[0], &inv.args[2]);
    set_generic(ctx, inv, &o, key, value, Answer::OkNil)
}

pub fn setex(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    set_expiring(ctx, inv, Unit::Ex)
}

pub fn psetex(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    set_expiring(ctx, inv, Unit::Px)
}

pub fn get(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    Ok(bulk_or_nil(get_string(ctx, &inv.args[0])?))
}

/// The old value; the new one takes the key without an expiry.
pub fn getset(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let old = get_string(ctx, &inv.args[0])?;
    put(ctx, &inv.args[0], &inv.args[1], None)?;
    Ok(bulk_or_nil(old))
}

pub fn getdel(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let old = get_string(ctx, &inv.args[0])?;
    if old.is_some() {
        ctx.remove(&inv.args[0]);
    }
    Ok(bulk_or_nil(old))
}

/// The value, then the expiry changes: a time already past (EXAT, PXAT)
/// deletes the key.
pub fn getex(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let o = parse_options(&inv.args[1..], false)?;
    let key = &inv.args[0];
    let Some(e) = ctx.read(key)? else {
        return Ok(Reply::Nil);
    };
    let had_expiry = e.expires_at.is_some();
    let value = string(e)?;
    let at = match o.expire {
        Some((unit, arg)) => Some((unit, expire_at(ctx, inv, unit, arg)?)),
        None => None,
    };
    match at {
        Some((Unit::Exat | Unit::Pxat, at)) if already_expired(ctx, at) => ctx.remove(key),
        Some((_, at)) => put(ctx, key, &value, Some(at))?,
        None if o.persist && had_expiry => put(ctx, key, &value, None)?,
        None => {}
    }
    Ok(Reply::Value(value))
}

/// A (nil) for each key without a string.
pub fn mget(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let mut values = Vec::with_capacity(inv.args.len());
    for key in &inv.args {
        let value = ctx.read(key)?.and_then(|e| string(e).ok());
        values.push(bulk_or_nil(value));
    }
    Ok(Reply::Array(values))
}

/// The pairs, or Redis's arity error for an odd count.
fn pairs(inv: &Invocation) -> Result<core::slice::ChunksExact<'_, Vec<u8>>, CmdError> {
    if !inv.args.len().is_multiple_of(2) {
        return Err(CmdError::Invalid(crate::table::wrong_arity(inv.spec.name)));
    }
    Ok(inv.args.chunks_exact(2))
}

pub fn mset(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    for pair in pairs(inv)? {
        put(ctx, &pair[0], &pair[1], None)?;
    }
    Ok(Reply::Ok)
}

/// Nothing at all if any key holds a value.
pub fn msetnx(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    for pair in pairs(inv)? {
        if ctx.exists(&pair[0])? {
            return Ok(Reply::Integer(0));
        }
    }
    mset(ctx, inv)?;
    Ok(Reply::Integer(1))
}

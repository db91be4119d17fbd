//! The key commands, as Redis 7.0 answers them: DEL, UNLINK, EXISTS,
//! TOUCH, TYPE, RENAME, RENAMENX, COPY, MOVE, SWAPDB, FLUSHALL, FLUSHDB
//! here; KEYS, SCAN, RANDOMKEY, DBSIZE (which walk the keys) in `iterate`;
//! OBJECT and MEMORY USAGE (what a value is underneath) in `object`;
//! DUMP and RESTORE (a value in Redis's serialized form) in `dump`;
//! Redis's glob patterns in `glob`; and unikv's RANGE.
//!
//! unikv has one database, 0: the commands that name another answer
//! Redis's `DB index is out of range`.

pub(crate) mod dump;
pub(crate) mod glob;
pub(crate) mod iterate;
pub(crate) mod object;

use alloc::{format, string::String, vec, vec::Vec};

use console::{Invocation, Reply};

use crate::args::{int32, is};
use crate::connection::out_of_range;
use crate::ctx::{CmdError, Ctx};
use crate::table::{entry, Entry as Row};

pub(crate) static HANDLERS: &[Row] = &[
    entry("DEL", del, true),
    entry("UNLINK", del, true),
    entry("EXISTS", exists, true),
    entry("TOUCH", exists, true),
    entry("TYPE", type_of, true),
    entry("OBJECT", object::object, true),
    entry("RENAME", rename, true),
    entry("RENAMENX", renamenx, true),
    entry("COPY", copy, true),
    entry("DUMP", dump::dump, true),
    entry("RESTORE", dump::restore, true),
    entry("MOVE", move_key, true),
    entry("SWAPDB", swapdb, true),
    entry("KEYS", iterate::keys, true),
    entry("SCAN", iterate::scan, true),
    entry("RANDOMKEY", iterate::randomkey, true),
    entry("DBSIZE", iterate::dbsize, true),
    entry("FLUSHDB", flushall, false),
    entry("FLUSHALL", flushall, false),
    entry("RANGE", range, true),
    entry("MEMORY", object::memory, true),
];

/// How many of the keys hold something (a key named twice counts twice);
/// each is a keyspace hit or miss, as in Redis. TOUCH too: unikv keeps no
/// access times to update.
pub fn exists(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let mut n = 0;
    for key in &inv.args {
        n += i64::from(ctx.read(key)?.is_some());
    }
    Ok(Reply::Integer(n))
}

/// One batch: all the keys go, or (on an error) none. UNLINK too: the
/// store frees a deleted value's space at compaction anyway.
pub fn del(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let mut removed = 0;
    for key in &inv.args {
        if ctx.exists(key)? {
            removed += 1;
            ctx.remove(key);
        }
    }
    Ok(Reply::Integer(removed))
}

/// `string` or `none`, as a status.
pub fn type_of(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let name = ctx.read(&inv.args[0])?.map_or("none", |e| e.kind.name());
    Ok(Reply::Status(String::from(name)))
}

/// Redis's error when a source key is missing.
fn no_such_key() -> CmdError {
    CmdError::Invalid(String::from("no such key"))
}

/// Redis's error when source and destination are one key.
fn same_object() -> CmdError {
    CmdError::Invalid(String::from("source and destination objects are the same"))
}

/// The value moves with its expiry; the target's own expiry goes with
/// its value.
fn rename_generic(ctx: &mut Ctx<'_>, inv: &Invocation, nx: bool) -> Result<Reply, CmdError> {
    let (from, to) = (&inv.args[0], &inv.args[1]);
    let Some(value) = ctx.read_for_write(from)? else {
        return Err(no_such_key());
    };
    let done = |renamed: bool| match (nx, renamed) {
        (false, _) => Reply::Ok,
        (true, r) => Reply::Integer(i64::from(r)),
    };
    if from == to {
        return Ok(done(false));
    }
    if nx && ctx.read_for_write(to)?.is_some() {
        return Ok(done(false));
    }
    ctx.remove(from);
    ctx.write(to, value);
    Ok(done(true))
}

pub fn rename(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    rename_generic(ctx, inv, false)
}

pub fn renamenx(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    rename_generic(ctx, inv, true)
}

/// `COPY source destination [DB destination-db] [REPLACE]`: 1 if copied
/// (with its expiry), 0 if the source holds nothing or the destination
/// holds something and REPLACE was not given.
pub fn copy(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let args = &inv.args;
    let mut replace = false;
    let mut j = 2;
    while j < args.len() {
        if is(&args[j], "REPLACE") {
            replace = true;
        } else if is(&args[j], "DB") && j + 1 < args.len() {
            if int32(&args[j + 1])? != 0 {
                return Err(out_of_range());
            }
            j += 1;
        } else {
            return Err(CmdError::syntax());
        }
        j += 1;
    }
    let (from, to) = (&args[0], &args[1]);
    if from == to {
        return Err(same_object());
    }
    let Some(value) = ctx.read(from)? else {
        return Ok(Reply::Integer(0));
    };
    if !replace && ctx.read_for_write(to)?.is_some() {
        return Ok(Reply::Integer(0));
    }
    ctx.write(to, value);
    Ok(Reply::Integer(1))
}

/// `MOVE key db`: there is no other database to move to.
pub fn move_key(_: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    match int32(&inv.args[1])? {
        0 => Err(same_object()),
        _ => Err(out_of_range()),
    }
}

/// `SWAPDB 0 0` swaps database 0 with itself: nothing to do.
pub fn swapdb(_: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let index = |arg: &[u8], which: &str| {
        int32(arg).map_err(|_| CmdError::Invalid(format!("invalid {which} DB index")))
    };
    let (a, b) = (
        index(&inv.args[0], "first")?,
        index(&inv.args[1], "second")?,
    );
    if (a, b) != (0, 0) {
        return Err(out_of_range());
    }
    Ok(Reply::Ok)
}

/// `FLUSHALL|FLUSHDB [ASYNC|SYNC]`: the store empties in one manifest
/// edit (`kv::Store::clear`), durable before the OK, whatever it held.
/// Transactions watching a key that held a value (or that this command's
/// transaction wrote) will fail, as in Redis; one watching an absent or
/// expired key will not.
pub fn flushall(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    match inv.args.as_slice() {
        [] => {}
        [mode] if is(mode, "ASYNC") || is(mode, "SYNC") => {}
        _ => return Err(CmdError::syntax()),
    }
    let watched: Vec<Vec<u8>> = ctx.server.lock().watched.keys().cloned().collect();
    let mut changed = Vec::new();
    for key in watched {
        if ctx.has_written(&key) || ctx.exists(&key)? {
            changed.push(key);
        }
    }
    ctx.store()?.clear()?;
    // The writes gathered before it (earlier in a transaction) are gone
    // with everything else.
    ctx.truncate_pending(0);
    let mut server = ctx.server.lock();
    for key in changed {
        server.touch(&key);
    }
    Ok(Reply::Ok)
}

/// The pairs with start <= key < end, from one consistent state (one
/// iterator is one sequence number). The reply is built in memory: a scan
/// that would hold more than a quarter of the free heap (the rendered
/// reply needs about as much again) stops with an error instead.
pub fn range(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let args = &inv.args;
    let limit = match &args[2..] {
        [] => usize::MAX,
        [word, n] if word.eq_ignore_ascii_case(b"LIMIT") => core::str::from_utf8(n)
            .ok()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| {
                CmdError::Invalid(format!("LIMIT takes a count; usage: {}", inv.spec.usage))
            })?,
        _ => return Err(CmdError::Usage(inv.spec.usage)),
    };
    let mut budget = iterate::Budget::new(ctx, "add LIMIT n and continue from the last key");
    let end = args[1].clone();
    let mut rows = Vec::new();
    ctx.scan(&args[0], limit, &mut |key, entry| {
        if rows.len() >= limit || key >= end.as_slice() {
            return Ok(false);
        }
        budget.take(key.len() + entry.value.len())?;
        rows.push(vec![key.to_vec(), entry.value.clone()]);
        Ok(true)
    })?;
    Ok(Reply::List(rows))
}

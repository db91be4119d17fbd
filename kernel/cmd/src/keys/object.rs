//! OBJECT and MEMORY USAGE: what a key's value is underneath, as Redis's
//! introspection commands tell it (`redis-cli --memkeys`, Redis's own
//! tests, client tools).
//!
//! unikv keeps every string as bytes in its store, so an encoding here is
//! what Redis 7.0 would keep the same string as: `int` for an integer
//! written whole in `string2ll`'s form, `embstr` for one of at most 44
//! bytes, `raw` for a longer one or one changed in place (APPEND to a
//! value, SETRANGE; the store remembers it, `kv::Kind::StringInPlace`).
//! (Redis also keeps INCRBYFLOAT's results as `embstr`, an integral one
//! too, which unikv reports as `int`.) Nothing is shared between keys, so a
//! value's reference count is 1; and the store keeps no access times, so
//! IDLETIME and FREQ say so.

use alloc::string::String;

use console::{Invocation, Reply};
use kv::{Entry, Kind};
use lsm::coding::varint_len;

use crate::args::{integer, is, parse_i64};
use crate::ctx::{CmdError, Ctx};
use crate::subcommand::{Container, Sub, HELP};

/// The longest string Redis keeps as `embstr`
/// (`OBJ_ENCODING_EMBSTR_SIZE_LIMIT`).
const EMBSTR_MAX: usize = 44;

/// OBJECT's subcommands, with Redis's arities.
pub(crate) static OBJECT: Container = Container {
    name: "OBJECT",
    bare: false,
    subs: &[
        Sub {
            name: "ENCODING",
            arity: 3,
            args: "<key>",
            summary: "Return the kind of internal representation used in order to store the value associated with a <key>.",
            since: "2.2.3",
        },
        Sub {
            name: "FREQ",
            arity: 3,
            args: "<key>",
            summary: "Return the access frequency index of the <key>. The returned integer is proportional to the logarithm of the recent access frequency of the key.",
            since: "4.0.0",
        },
        Sub {
            name: "IDLETIME",
            arity: 3,
            args: "<key>",
            summary: "Return the idle time of the <key>, that is the approximated number of seconds elapsed since the last access to the key.",
            since: "2.2.3",
        },
        Sub {
            name: "REFCOUNT",
            arity: 3,
            args: "<key>",
            summary: "Return the number of references of the value associated with the specified <key>.",
            since: "2.2.3",
        },
        HELP,
    ],
};

/// MEMORY's subcommands, with Redis's arities.
pub(crate) static MEMORY: Container = Container {
    name: "MEMORY",
    bare: false,
    subs: &[
        Sub {
            name: "USAGE",
            arity: -3,
            args: "<key> [SAMPLES <count>]",
            summary: "Return memory in bytes used by <key> and its value. Nested values are sampled up to <count> times (default: 5, 0 means sample all).",
            since: "4.0.0",
        },
        HELP,
    ],
};

/// Redis 7.0's encoding of a string: what `tryObjectEncoding` makes of
/// one written whole, `raw` for one changed in place.
pub fn encoding(e: &Entry) -> &'static str {
    match e.kind {
        Kind::StringInPlace => "raw",
        Kind::String if parse_i64(&e.value).is_some() => "int",
        Kind::String if e.value.len() <= EMBSTR_MAX => "embstr",
        Kind::String => "raw",
    }
}

/// `OBJECT ENCODING|REFCOUNT|IDLETIME|FREQ key` (checked by `run`): a
/// missing key is nil for each, as in Redis.
pub fn object(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let sub = OBJECT.enter(ctx, inv)?;
    if sub.name == HELP.name {
        return Ok(OBJECT.help());
    }
    let Some(e) = ctx.read(&inv.args[1])? else {
        return Ok(Reply::Nil);
    };
    match sub.name {
        "ENCODING" => Ok(Reply::bulk(encoding(&e))),
        "REFCOUNT" => Ok(Reply::Integer(1)),
        // Redis's errors when its policy keeps the other measure; unikv
        // keeps neither.
        "IDLETIME" => Err(CmdError::Invalid(String::from(
            "unikv keeps no access times for its keys, idle time not tracked.",
        ))),
        _ => Err(CmdError::Invalid(String::from(
            "An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        ))),
    }
}

/// `MEMORY USAGE key [SAMPLES count]` (checked by `run`): the bytes of the
/// key's record in the store (the key with its 8-byte sequence and type,
/// the stored value: tag, expiry, payload; and their two length prefixes),
/// which is what the key costs the memtable and, before compression of
/// shared key prefixes, a table; nil for a missing key. SAMPLES is checked
/// as Redis checks it and changes nothing: a string has no parts to sample.
pub fn memory(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let sub = MEMORY.enter(ctx, inv)?;
    if sub.name == HELP.name {
        return Ok(MEMORY.help());
    }
    let args = &inv.args[1..];
    let mut j = 1;
    while j < args.len() {
        if is(&args[j], "SAMPLES") && j + 1 < args.len() {
            if integer(&args[j + 1])? < 0 {
                return Err(CmdError::syntax());
            }
            j += 2;
        } else {
            return Err(CmdError::syntax());
        }
    }
    let key = &args[0];
    let Some(e) = ctx.read(key)? else {
        return Ok(Reply::Nil);
    };
    let internal_key = key.len() + 8;
    let stored = e.header().as_bytes().len() + e.value.len();
    let prefixes = varint_len(internal_key as u64) + varint_len(stored as u64);
    Ok(Reply::Integer((prefixes + internal_key + stored) as i64))
}

//! DUMP and RESTORE, as Redis 7.0.15 answers them (`dumpCommand`,
//! `restoreCommand`, src/cluster.c): a key's value in Redis's serialized
//! form (`crate::rdb`) and back, so that the tools that move keys between
//! Redis servers (DUMP on one, RESTORE on the other; MIGRATE's protocol)
//! move them to and from unikv, both ways.

use alloc::string::String;
use alloc::vec::Vec;

use console::{Invocation, Reply};

use crate::args::{integer, is};
use crate::ctx::{CmdError, Ctx};
use crate::expire::already_expired;
use crate::rdb::{self, Refusal};
use crate::strings::{check_length, put, string};

/// `DUMP key`: the bytes Redis 7.0.15 would give for the same string
/// (LZF-compressed as Redis compresses it, `rdbcompression yes`); nil for
/// no key.
pub fn dump(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let Some(e) = ctx.read(&inv.args[0])? else {
        return Ok(Reply::Nil);
    };
    Ok(Reply::Value(rdb::dump(&string(e)?)))
}

/// RESTORE's options that change what it does.
#[derive(Default)]
struct Options {
    replace: bool,
    absttl: bool,
}

/// Redis's parse of `[REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ
/// frequency]`, in any order, each checked where it stands: IDLETIME and
/// FREQ together (Redis keeps one or the other) are a syntax error, as is
/// either without its number.
fn parse_options(args: &[Vec<u8>]) -> Result<Options, CmdError> {
    let mut o = Options::default();
    let (mut idletime, mut freq) = (false, false);
    let mut j = 0;
    while j < args.len() {
        let has_number = j + 1 < args.len();
        if is(&args[j], "REPLACE") {
            o.replace = true;
        } else if is(&args[j], "ABSTTL") {
            o.absttl = true;
        } else if is(&args[j], "IDLETIME") && has_number && !freq {
            if integer(&args[j + 1])? < 0 {
                return Err(CmdError::Invalid(String::from(
                    "Invalid IDLETIME value, must be >= 0",
                )));
            }
            idletime = true;
            j += 1;
        } else if is(&args[j], "FREQ") && has_number && !idletime {
            if !(0..=255).contains(&integer(&args[j + 1])?) {
                return Err(CmdError::Invalid(String::from(
                    "Invalid FREQ value, must be >= 0 and <= 255",
                )));
            }
            freq = true;
            j += 1;
        } else {
            return Err(CmdError::syntax());
        }
        j += 1;
    }
    Ok(o)
}

/// Redis's error for each refusal of a payload.
fn refused(r: Refusal) -> CmdError {
    CmdError::Invalid(String::from(match r {
        Refusal::Footer => "DUMP payload version or checksum are wrong",
        Refusal::Format => "Bad data format",
    }))
}

/// `RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds]
/// [FREQ frequency]`: OK once the key holds the payload's string, written
/// whole (so its OBJECT ENCODING is what Redis gives a restored string:
/// `int`, `embstr` or `raw` by its bytes), expiring `ttl` ms from now, at
/// Unix ms `ttl` with ABSTTL, never for 0. Checked in Redis's order: the
/// options, the key (`BUSYKEY` without REPLACE), the ttl, the payload's
/// footer, its string. A time already past (an ABSTTL one, or a relative
/// one whose sum with now overflows, as it wraps in Redis) answers OK and
/// creates nothing, deleting the key with REPLACE. A payload of any type
/// but a string is `Bad data format`: unikv has only strings.
///
/// IDLETIME and FREQ are checked as Redis checks them and change nothing:
/// the store keeps no access times or frequencies (see `object`).
pub fn restore(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let args = &inv.args;
    let o = parse_options(&args[3..])?;
    let key = &args[0];
    if !o.replace && ctx.exists(key)? {
        return Err(CmdError::Coded(
            "BUSYKEY",
            String::from("Target key name already exists."),
        ));
    }
    let ttl = integer(&args[1])?;
    if ttl < 0 {
        return Err(CmdError::Invalid(String::from(
            "Invalid TTL value, must be >= 0",
        )));
    }
    let loaded = rdb::load(&args[2]).map_err(refused)?;
    // Before decompressing: a payload may claim any length, and only one
    // the store can keep is worth the memory.
    check_length(ctx, Some(loaded.len() as u64))?;
    let value = loaded.into_bytes().map_err(refused)?;
    let at = match ttl {
        0 => None,
        ttl if o.absttl => Some(ttl),
        ttl => Some(ttl.wrapping_add(ctx.now_ms() as i64)),
    };
    if at.is_some_and(|at| at <= 0 || already_expired(ctx, at as u64)) {
        if o.replace && ctx.exists(key)? {
            ctx.remove(key);
        }
        return Ok(Reply::Ok);
    }
    put(ctx, key, &value, at.map(|at| at as u64))?;
    Ok(Reply::Ok)
}

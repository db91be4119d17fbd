//! DUMP, as Redis 7.0.15 answers it (`dumpCommand`, src/cluster.c): a
//! key's value in Redis's serialized form (`crate::rdb`), so that the
//! tools that move keys between Redis servers (DUMP on one, RESTORE on the
//! other) move them from unikv to Redis.

use console::{Invocation, Reply};

use crate::ctx::{CmdError, Ctx};
use crate::rdb;
use crate::strings::string;

/// `DUMP key`: the bytes Redis 7.0.15 would give for the same string
/// (LZF-compressed as Redis compresses it, `rdbcompression yes`); nil for
/// no key.
pub fn dump(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let Some(e) = ctx.read(&inv.args[0])? else {
        return Ok(Reply::Nil);
    };
    Ok(Reply::Value(rdb::dump(&string(e)?)))
}

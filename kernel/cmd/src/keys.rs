//! The key commands: SET, GET, DEL, EXISTS, RANGE.

use alloc::{format, vec, vec::Vec};

use console::{Invocation, Reply};
use lsm::db::WriteBatch;
use lsm::iter::KvIter;

use crate::ctx::{CmdError, Ctx};

/// Rows a RANGE reads between two looks at Ctrl-C.
const RANGE_CHECK_EVERY: usize = 256;

/// `OK` once the WAL record is on disk: the write joins the group commit
/// and its reply waits for it.
pub fn set(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let mut batch = WriteBatch::new();
    batch.put(&inv.args[0], &inv.args[1]);
    ctx.wait_for = Some(ctx.store()?.write_deferred(batch)?);
    Ok(Reply::Ok)
}

pub fn get(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    Ok(match ctx.store()?.get(&inv.args[0])? {
        Some(v) => Reply::Value(v),
        None => Reply::Nil,
    })
}

pub fn exists(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let found = ctx.store()?.get(&inv.args[0])?.is_some();
    Ok(Reply::Integer(i64::from(found)))
}

/// One batch: all the keys go, or (on an error) none.
pub fn del(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let mut store = ctx.store()?;
    let mut batch = WriteBatch::new();
    let mut removed = 0;
    for key in &inv.args {
        if store.get(key)?.is_some() {
            removed += 1;
        }
        batch.delete(key);
    }
    ctx.wait_for = Some(store.write_deferred(batch)?);
    Ok(Reply::Integer(removed))
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
    let budget = ctx.host.free_memory() / 4;
    let store = ctx.store()?;
    let mut it = store.scan(&args[0], limit)?;
    let mut rows = Vec::new();
    let mut bytes = 0usize;
    while it.valid() && rows.len() < limit && it.key() < args[1].as_slice() {
        bytes += it.key().len() + it.value().len() + 64;
        if bytes > budget {
            return Err(CmdError::Invalid(format!(
                "the range holds more than the free memory allows ({budget} bytes); \
                 add LIMIT n and continue from the last key"
            )));
        }
        rows.push(vec![it.key().to_vec(), it.value().to_vec()]);
        if rows.len().is_multiple_of(RANGE_CHECK_EVERY) && ctx.out.interrupted() {
            return Err(CmdError::Interrupted);
        }
        it.next()?;
    }
    Ok(Reply::List(rows))
}

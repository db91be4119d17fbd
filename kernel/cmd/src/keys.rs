//! The key commands: DEL, EXISTS, RANGE.

use alloc::{format, vec, vec::Vec};

use console::{Invocation, Reply};

use crate::ctx::{CmdError, Ctx};
use crate::table::{entry, Entry as Row};

pub(crate) static HANDLERS: &[Row] = &[
    entry("DEL", del, true),
    entry("EXISTS", exists, true),
    entry("RANGE", range, true),
];

/// How many of the keys hold something (a key named twice counts twice).
pub fn exists(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let mut n = 0;
    for key in &inv.args {
        n += i64::from(ctx.exists(key)?);
    }
    Ok(Reply::Integer(n))
}

/// One batch: all the keys go, or (on an error) none.
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
    let end = args[1].clone();
    let mut rows = Vec::new();
    let mut bytes = 0usize;
    ctx.scan(&args[0], limit, &mut |key, entry| {
        if rows.len() >= limit || key >= end.as_slice() {
            return Ok(false);
        }
        bytes += key.len() + entry.value.len() + 64;
        if bytes > budget {
            return Err(CmdError::Invalid(format!(
                "the range holds more than the free memory allows ({budget} bytes); \
                 add LIMIT n and continue from the last key"
            )));
        }
        rows.push(vec![key.to_vec(), entry.value.clone()]);
        Ok(true)
    })?;
    Ok(Reply::List(rows))
}

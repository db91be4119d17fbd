//! Parts of strings: APPEND, STRLEN, GETRANGE (and SUBSTR), SETRANGE.

use alloc::string::String;
use alloc::vec::Vec;

use console::{Invocation, Reply};

use kv::Kind;

use super::{check_length, put_as, string};
use crate::args::integer;
use crate::ctx::{CmdError, Ctx};

/// The new length; the key keeps its expiry. A value appended to is
/// changed in place (Redis's `raw` encoding); a new key is written whole.
pub fn append(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let (key, tail) = (&inv.args[0], &inv.args[1]);
    let (mut value, expires_at, kind) = match ctx.read_for_write(key)? {
        Some(e) => {
            let at = e.expires_at;
            (string(e)?, at, Kind::StringInPlace)
        }
        None => (Vec::new(), None, Kind::String),
    };
    check_length(ctx, (value.len() as u64).checked_add(tail.len() as u64))?;
    value.extend_from_slice(tail);
    let len = value.len() as i64;
    put_as(ctx, key, &value, expires_at, kind)?;
    Ok(Reply::Integer(len))
}

pub fn strlen(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let len = match ctx.read(&inv.args[0])? {
        Some(e) => string(e)?.len(),
        None => 0,
    };
    Ok(Reply::Integer(len as i64))
}

/// The bytes from `start` to `end`, both included; negative positions count
/// from the end (-1 the last byte); out-of-range positions are clamped.
pub fn getrange(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let start = integer(&inv.args[1])?;
    let end = integer(&inv.args[2])?;
    let value = match ctx.read(&inv.args[0])? {
        Some(e) => string(e)?,
        None => return Ok(Reply::Value(Vec::new())),
    };
    if start < 0 && end < 0 && start > end {
        return Ok(Reply::Value(Vec::new()));
    }
    Ok(Reply::Value(match clamp(start, end, value.len() as i64) {
        Some((start, end)) => value[start as usize..=end as usize].to_vec(),
        None => Vec::new(),
    }))
}

/// `start..=end` of a value `len` units long, as Redis resolves a range
/// (GETRANGE's, BITCOUNT's, BITPOS's): negative positions count from the
/// end, then both are clamped into the value. `None` when nothing is left.
pub(crate) fn clamp(mut start: i64, mut end: i64, len: i64) -> Option<(u64, u64)> {
    if start < 0 {
        start = (start + len).max(0);
    }
    if end < 0 {
        end = (end + len).max(0);
    }
    end = end.min(len - 1);
    (start <= end).then_some((start as u64, end as u64))
}

/// Overwrites the value from `offset` on, zero bytes filling any gap past
/// its end; the new length. An empty value changes nothing (and creates no
/// key); the key keeps its expiry. The string is changed in place (Redis's
/// `raw` encoding), a new one too (Redis makes it so).
pub fn setrange(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let (key, patch) = (&inv.args[0], &inv.args[2]);
    let offset = integer(&inv.args[1])?;
    let offset = u64::try_from(offset)
        .map_err(|_| CmdError::Invalid(String::from("offset is out of range")))?;
    let (mut value, expires_at) = match ctx.read_for_write(key)? {
        Some(e) => {
            let at = e.expires_at;
            (string(e)?, at)
        }
        None if patch.is_empty() => return Ok(Reply::Integer(0)),
        None => (Vec::new(), None),
    };
    if patch.is_empty() {
        return Ok(Reply::Integer(value.len() as i64));
    }
    check_length(ctx, offset.checked_add(patch.len() as u64))?;
    // Checked above: the end fits the store, far below usize::MAX.
    let offset = offset as usize;
    let end = offset + patch.len();
    if value.len() < end {
        value.resize(end, 0);
    }
    value[offset..end].copy_from_slice(patch);
    let len = value.len() as i64;
    put_as(ctx, key, &value, expires_at, Kind::StringInPlace)?;
    Ok(Reply::Integer(len))
}

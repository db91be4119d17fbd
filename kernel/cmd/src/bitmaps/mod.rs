//! The bitmap commands, with Redis 7.0's semantics, replies and errors
//! (src/bitops.c): SETBIT, GETBIT, BITCOUNT, BITPOS and BITOP here,
//! BITFIELD and BITFIELD_RO in `field`; the bit arithmetic, pure, in
//! `bits`.
//!
//! A bitmap is a string: every command reads and writes the same values
//! as GET and SET, a missing key reads as an endless run of zeros, and a
//! write past the end pads the string with zero bytes (within the string
//! limits [`check_length`] enforces). A write that changes no bit and no
//! length writes nothing: no WAL record, and a transaction watching the
//! key goes on (Redis does not signal the key either).

mod bits;
mod field;

use alloc::string::String;
use alloc::vec::Vec;

use console::{Invocation, Reply};
use kv::Kind;

use crate::args::{integer, is, parse_i64};
use crate::ctx::{CmdError, Ctx};
use crate::state::MIN_PROTO_MAX_BULK_LEN;
use crate::strings::{check_length, clamp, put_as, string};
use crate::table::{entry, Entry as Row};

pub(crate) static HANDLERS: &[Row] = &[
    entry("SETBIT", setbit, true),
    entry("GETBIT", getbit, true),
    entry("BITCOUNT", bitcount, true),
    entry("BITPOS", bitpos, true),
    entry("BITOP", bitop, true),
    entry("BITFIELD", field::bitfield, true),
    entry("BITFIELD_RO", field::bitfield_ro, true),
];

/// Redis's error for a bit offset it will not take.
fn bad_offset() -> CmdError {
    CmdError::Invalid(String::from("bit offset is not an integer or out of range"))
}

/// A bit offset as Redis's `getBitOffsetFromArgument` takes it: a
/// non-negative integer whose byte is below `proto-max-bulk-len`; with
/// `width` (BITFIELD), `#n` is the n-th field of that width.
fn bit_offset(ctx: &Ctx<'_>, arg: &[u8], width: Option<u32>) -> Result<u64, CmdError> {
    let (digits, times) = match (arg.strip_prefix(b"#"), width) {
        (Some(rest), Some(w)) => (rest, i64::from(w)),
        _ => (arg, 1),
    };
    let offset = parse_i64(digits)
        .and_then(|n| n.checked_mul(times))
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(bad_offset)?;
    let byte = offset >> 3;
    if byte >= MIN_PROTO_MAX_BULK_LEN && byte >= ctx.server.lock().config.proto_max_bulk_len {
        return Err(bad_offset());
    }
    Ok(offset)
}

/// The string under `key` for a write that reaches bit `last`, grown with
/// zero bytes to hold it (Redis's `lookupStringForBitCommand`): the value,
/// its expiry, and whether it is new or longer than it was (then it is
/// written even if no bit changes).
fn for_bit_write(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    last: u64,
) -> Result<(Vec<u8>, Option<u64>, bool), CmdError> {
    let need = (last >> 3) + 1;
    let (mut value, expires_at, existed) = match ctx.read_for_write(key)? {
        Some(e) => {
            let at = e.expires_at;
            (string(e)?, at, true)
        }
        None => (Vec::new(), None, false),
    };
    let grows = need > value.len() as u64;
    if grows {
        check_length(ctx, Some(need))?;
        // Checked above: the length fits the store, far below usize::MAX.
        value.resize(need as usize, 0);
    }
    Ok((value, expires_at, grows || !existed))
}

/// Writes a bitmap changed in place (Redis keeps it `raw`), keeping the
/// key's expiry.
fn put_bits(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    value: &[u8],
    expires_at: Option<u64>,
) -> Result<(), CmdError> {
    put_as(ctx, key, value, expires_at, Kind::StringInPlace)
}

/// The bit it held: 0 or 1.
pub fn setbit(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let key = &inv.args[0];
    let offset = bit_offset(ctx, &inv.args[1], None)?;
    let on = match parse_i64(&inv.args[2]) {
        Some(0) => false,
        Some(1) => true,
        _ => {
            return Err(CmdError::Invalid(String::from(
                "bit is not an integer or out of range",
            )))
        }
    };
    let (mut value, expires_at, dirty) = for_bit_write(ctx, key, offset)?;
    let was = bits::get(&value, offset);
    if dirty || was != on {
        bits::set(&mut value, offset, on);
        put_bits(ctx, key, &value, expires_at)?;
    }
    Ok(Reply::Integer(i64::from(was)))
}

pub fn getbit(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let offset = bit_offset(ctx, &inv.args[1], None)?;
    let on = match ctx.read(&inv.args[0])? {
        Some(e) => bits::get(&string(e)?, offset),
        None => false,
    };
    Ok(Reply::Integer(i64::from(on)))
}

/// Whether a range's positions count bytes or bits.
fn unit(arg: &[u8]) -> Result<bool, CmdError> {
    if is(arg, "BIT") {
        Ok(true)
    } else if is(arg, "BYTE") {
        Ok(false)
    } else {
        Err(CmdError::syntax())
    }
}

/// A range in bytes, in bits: its first and last bit.
fn in_bits(range: (u64, u64), bit_unit: bool) -> (u64, u64) {
    match bit_unit {
        true => range,
        false => (range.0 << 3, (range.1 << 3) | 7),
    }
}

/// Bits set: in the whole value, or from `start` to `end` (bytes, or bits
/// with BIT). A missing key counts 0 before its arguments are looked at,
/// as in Redis.
pub fn bitcount(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let Some(e) = ctx.read(&inv.args[0])? else {
        return Ok(Reply::Integer(0));
    };
    let value = string(e)?;
    let n = match &inv.args[1..] {
        [] => bits::count_ones(&value),
        [start, end, rest @ ..] if rest.len() <= 1 => {
            let (start, end) = (integer(start)?, integer(end)?);
            if start < 0 && end < 0 && start > end {
                return Ok(Reply::Integer(0));
            }
            let bit_unit = rest.first().map(|u| unit(u)).transpose()?.unwrap_or(false);
            let len = value.len() as i64 * if bit_unit { 8 } else { 1 };
            match clamp(start, end, len) {
                Some(range) => {
                    let (first, last) = in_bits(range, bit_unit);
                    bits::count_ones_between(&value, first, last)
                }
                None => 0,
            }
        }
        _ => return Err(CmdError::syntax()),
    };
    Ok(Reply::Integer(n as i64))
}

/// The first bit set (1) or clear (0) in the value or from `start` to
/// `end`; -1 if none. A missing key is zeros without end (0 for a clear
/// bit, -1 for a set one); so is the value past its end when no `end` is
/// given (a value of all ones has its first clear bit just after it).
pub fn bitpos(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let bit = match integer(&inv.args[1])? {
        0 => false,
        1 => true,
        _ => {
            return Err(CmdError::Invalid(String::from(
                "The bit argument must be 1 or 0.",
            )))
        }
    };
    let Some(e) = ctx.read(&inv.args[0])? else {
        return Ok(Reply::Integer(if bit { -1 } else { 0 }));
    };
    let value = string(e)?;
    let bytes = value.len() as i64;
    let (range, bit_unit, end_given) = match &inv.args[2..] {
        [] => (clamp(0, bytes - 1, bytes), false, false),
        [start, rest @ ..] if rest.len() <= 2 => {
            let start = integer(start)?;
            let bit_unit = match rest {
                [_, u] => unit(u)?,
                _ => false,
            };
            let end = rest.first().map(|e| integer(e)).transpose()?;
            let len = bytes * if bit_unit { 8 } else { 1 };
            (
                clamp(start, end.unwrap_or(len - 1), len),
                bit_unit,
                end.is_some(),
            )
        }
        _ => return Err(CmdError::syntax()),
    };
    let Some(range) = range else {
        return Ok(Reply::Integer(-1));
    };
    let (first, last) = in_bits(range, bit_unit);
    let pos = match bits::first_between(&value, bit, first, last) {
        Some(p) => p as i64,
        // No clear bit, and no end given: the one after the last byte.
        None if !bit && !end_given => (((last >> 3) + 1) << 3) as i64,
        None => -1,
    };
    Ok(Reply::Integer(pos))
}

/// BITOP's operations.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    And,
    Or,
    Xor,
    Not,
}

/// Combines the sources bit by bit into `destkey` (a missing source is
/// zeros, a shorter one padded with zeros; NOT takes one); replies the
/// result's length. An empty result deletes `destkey`. The result has no
/// expiry, as a SET's.
pub fn bitop(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let name = &inv.args[0];
    let op = [
        ("AND", Op::And),
        ("OR", Op::Or),
        ("XOR", Op::Xor),
        ("NOT", Op::Not),
    ]
    .into_iter()
    .find(|(word, _)| is(name, word))
    .map(|(_, op)| op)
    .ok_or_else(CmdError::syntax)?;
    let (dest, sources) = (&inv.args[1], &inv.args[2..]);
    if op == Op::Not && sources.len() != 1 {
        return Err(CmdError::Invalid(String::from(
            "BITOP NOT must be called with a single source key.",
        )));
    }
    let mut values = Vec::with_capacity(sources.len());
    for key in sources {
        values.push(match ctx.read(key)? {
            Some(e) => string(e)?,
            None => Vec::new(),
        });
    }
    let result = combine(op, &values);
    if result.is_empty() {
        if ctx.exists(dest)? {
            ctx.remove(dest);
        }
    } else {
        put_bits(ctx, dest, &result, None)?;
    }
    Ok(Reply::Integer(result.len() as i64))
}

/// `op` over `values`, each padded with zeros to the longest.
fn combine(op: Op, values: &[Vec<u8>]) -> Vec<u8> {
    let len = values.iter().map(Vec::len).max().unwrap_or(0);
    let Some((first, rest)) = values.split_first() else {
        return Vec::new();
    };
    let mut out = first.clone();
    out.resize(len, 0);
    for v in rest {
        // Past a source's end its bytes are zeros: AND clears the rest,
        // OR and XOR keep it.
        if op == Op::And {
            out[v.len()..].fill(0);
        }
        for (o, b) in out.iter_mut().zip(v) {
            match op {
                Op::And => *o &= b,
                Op::Or => *o |= b,
                Op::Xor | Op::Not => *o ^= b,
            }
        }
    }
    if op == Op::Not {
        out.iter_mut().for_each(|o| *o = !*o);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn combine_pads_shorter_values_with_zeros() {
        let v = [vec![0xff, 0xf0], vec![0x0f]];
        assert_eq!(combine(Op::And, &v), vec![0x0f, 0x00]);
        assert_eq!(combine(Op::Or, &v), vec![0xff, 0xf0]);
        assert_eq!(combine(Op::Xor, &v), vec![0xf0, 0xf0]);
        assert_eq!(combine(Op::Not, &v[..1]), vec![0x00, 0x0f]);
        let v = [vec![0x0f], vec![0xff, 0xf0]];
        assert_eq!(combine(Op::And, &v), vec![0x0f, 0x00]);
        assert_eq!(combine(Op::Or, &v), vec![0xff, 0xf0]);
        assert_eq!(combine(Op::And, &[]), Vec::<u8>::new());
        assert_eq!(combine(Op::Or, &[vec![], vec![]]), Vec::<u8>::new());
    }

    #[test]
    fn ranges_clamp_as_redis_clamps_them() {
        assert_eq!(clamp(0, -1, 4), Some((0, 3)));
        assert_eq!(clamp(-100, 100, 4), Some((0, 3)));
        assert_eq!(clamp(2, 1, 4), None);
        assert_eq!(clamp(0, -1, 0), None);
        assert_eq!(clamp(5, 10, 4), None);
        assert_eq!(clamp(-2, -1, 4), Some((2, 3)));
        assert_eq!(in_bits((1, 2), false), (8, 23));
        assert_eq!(in_bits((1, 2), true), (1, 2));
    }
}

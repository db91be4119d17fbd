//! BITFIELD and BITFIELD_RO: a string as integers of 1 to 64 bits at any
//! bit offset (Redis's `bitfieldGeneric`). Every operation is parsed
//! before any runs, so a bad one changes nothing; then they run in order
//! on one copy of the value, which is written once, if any changed it.

use alloc::string::String;
use alloc::vec::Vec;

use console::{Invocation, Reply};

use super::bits::{self, Overflow};
use super::{bit_offset, for_bit_write, put_bits};
use crate::args::{integer, is, parse_i64};
use crate::ctx::{CmdError, Ctx};
use crate::strings::string;

/// A field's type: `i1`..`i64` or `u1`..`u63` (a u64 could not be replied
/// as RESP's signed integer).
#[derive(Clone, Copy)]
struct Type {
    signed: bool,
    bits: u32,
}

impl Type {
    fn parse(arg: &[u8]) -> Result<Type, CmdError> {
        let bad = || {
            CmdError::Invalid(String::from(
                "Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
            ))
        };
        // Lower case only, as Redis reads it.
        let (signed, max) = match arg.first() {
            Some(b'i') => (true, 64),
            Some(b'u') => (false, 63),
            _ => return Err(bad()),
        };
        match parse_i64(&arg[1..]) {
            Some(n) if (1..=max).contains(&n) => Ok(Type {
                signed,
                bits: n as u32,
            }),
            _ => Err(bad()),
        }
    }
}

/// One operation, parsed.
#[derive(Clone, Copy)]
enum Op {
    Get,
    Set(i64),
    IncrBy(i64),
}

struct Step {
    op: Op,
    ty: Type,
    offset: u64,
    overflow: Overflow,
}

/// Parses every operation after the key; `Some(last bit written)` when
/// one writes.
fn parse(ctx: &Ctx<'_>, args: &[Vec<u8>]) -> Result<(Vec<Step>, Option<u64>), CmdError> {
    let mut steps = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut last_written: Option<u64> = None;
    let mut i = 0;
    while i < args.len() {
        let left = args.len() - i - 1;
        let name = &args[i];
        let takes = if is(name, "GET") && left >= 2 {
            2
        } else if (is(name, "SET") || is(name, "INCRBY")) && left >= 3 {
            3
        } else if is(name, "OVERFLOW") && left >= 1 {
            let how = &args[i + 1];
            overflow = if is(how, "WRAP") {
                Overflow::Wrap
            } else if is(how, "SAT") {
                Overflow::Sat
            } else if is(how, "FAIL") {
                Overflow::Fail
            } else {
                return Err(CmdError::Invalid(String::from(
                    "Invalid OVERFLOW type specified",
                )));
            };
            i += 2;
            continue;
        } else {
            return Err(CmdError::syntax());
        };
        let ty = Type::parse(&args[i + 1])?;
        let offset = bit_offset(ctx, &args[i + 2], Some(ty.bits))?;
        let op = if takes == 2 {
            Op::Get
        } else {
            let last = offset + u64::from(ty.bits) - 1;
            last_written = Some(last_written.map_or(last, |l| l.max(last)));
            let n = integer(&args[i + 3])?;
            if is(name, "SET") {
                Op::Set(n)
            } else {
                Op::IncrBy(n)
            }
        };
        steps.push(Step {
            op,
            ty,
            offset,
            overflow,
        });
        i += 1 + takes;
    }
    Ok((steps, last_written))
}

/// Runs a SET or an INCRBY on `value`: the reply (the old value for SET,
/// the new one for INCRBY; nil when FAIL refused it) and whether a bit
/// changed.
fn write_step(value: &mut [u8], s: &Step) -> (Reply, bool) {
    let Type { signed, bits } = s.ty;
    let (incr, is_set) = match s.op {
        Op::Set(n) => (n, true),
        Op::IncrBy(n) => (n, false),
        Op::Get => return (get_step(value, s), false),
    };
    // Both kinds in u64's bits, and the old and new value as replied.
    let (old, new, old_reply, new_reply) = if signed {
        let old = bits::get_signed_field(value, s.offset, bits);
        let (base, add) = if is_set { (incr, 0) } else { (old, incr) };
        let new = match bits::add_signed(base, add, bits, s.overflow) {
            Ok(v) | Err(Some(v)) => v,
            Err(None) => return (Reply::Nil, false),
        };
        (old as u64, new as u64, old, new)
    } else {
        let old = bits::get_field(value, s.offset, bits);
        let (base, add) = if is_set {
            (incr as u64, 0)
        } else {
            (old, incr)
        };
        let new = match bits::add_unsigned(base, add, bits, s.overflow) {
            Ok(v) | Err(Some(v)) => v,
            Err(None) => return (Reply::Nil, false),
        };
        (old, new, old as i64, new as i64)
    };
    bits::set_field(value, s.offset, bits, new);
    let reply = if is_set { old_reply } else { new_reply };
    (Reply::Integer(reply), old != new)
}

/// A GET: the field as its type reads it (zeros past the end).
fn get_step(value: &[u8], s: &Step) -> Reply {
    Reply::Integer(match s.ty.signed {
        true => bits::get_signed_field(value, s.offset, s.ty.bits),
        false => bits::get_field(value, s.offset, s.ty.bits) as i64,
    })
}

/// One reply per GET, SET and INCRBY, in order. The value grows to hold
/// the farthest field written; it is written if it grew (a new key too,
/// whatever FAIL refused) or a field changed.
pub fn bitfield(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    run(ctx, inv, false)
}

/// BITFIELD's GETs, as a read (replicas and read-only clients).
pub fn bitfield_ro(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    run(ctx, inv, true)
}

fn run(ctx: &mut Ctx<'_>, inv: &Invocation, read_only: bool) -> Result<Reply, CmdError> {
    let key = &inv.args[0];
    let (steps, last_written) = parse(ctx, &inv.args[1..])?;
    let Some(last) = last_written else {
        let value = match ctx.read(key)? {
            Some(e) => string(e)?,
            None => Vec::new(),
        };
        return Ok(Reply::Array(
            steps.iter().map(|s| get_step(&value, s)).collect(),
        ));
    };
    if read_only {
        return Err(CmdError::Invalid(String::from(
            "BITFIELD_RO only supports the GET subcommand",
        )));
    }
    let (mut value, expires_at, mut dirty) = for_bit_write(ctx, key, last)?;
    let mut replies = Vec::with_capacity(steps.len());
    for s in &steps {
        let (reply, changed) = write_step(&mut value, s);
        dirty |= changed;
        replies.push(reply);
    }
    if dirty {
        put_bits(ctx, key, &value, expires_at)?;
    }
    Ok(Reply::Array(replies))
}

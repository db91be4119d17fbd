//! LCS: the longest common subsequence of two strings, by Redis's dynamic
//! programming (a table of (len a + 1) x (len b + 1) lengths), with its
//! replies: the subsequence, its length (LEN), or the matching ranges from
//! the last to the first (IDX, with MINMATCHLEN and WITHMATCHLEN).

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use console::{Invocation, Reply};
use kv::Kind;

use crate::args::integer;
use crate::ctx::{CmdError, Ctx};

/// The string under `key` ("" if none). A key of another type (none
/// exists yet) is LCS's own error: "The specified keys must contain string
/// values".
fn operand(ctx: &Ctx<'_>, key: &[u8]) -> Result<Vec<u8>, CmdError> {
    match ctx.read(key)? {
        Some(e) => match e.kind {
            Kind::String | Kind::StringInPlace => Ok(e.value),
        },
        None => Ok(Vec::new()),
    }
}

struct Options {
    len: bool,
    idx: bool,
    with_match_len: bool,
    min_match_len: u64,
}

fn parse_options(args: &[Vec<u8>]) -> Result<Options, CmdError> {
    let mut o = Options {
        len: false,
        idx: false,
        with_match_len: false,
        min_match_len: 0,
    };
    let mut i = 0;
    while i < args.len() {
        let opt = args[i].to_ascii_uppercase();
        match opt.as_slice() {
            b"IDX" => o.idx = true,
            b"LEN" => o.len = true,
            b"WITHMATCHLEN" => o.with_match_len = true,
            b"MINMATCHLEN" if i + 1 < args.len() => {
                o.min_match_len = integer(&args[i + 1])?.max(0) as u64;
                i += 1;
            }
            _ => return Err(CmdError::syntax()),
        }
        i += 1;
    }
    if o.len && o.idx {
        return Err(CmdError::Invalid(String::from(
            "If you want both the length and indexes, please just use IDX.",
        )));
    }
    Ok(o)
}

pub fn lcs(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let a = operand(ctx, &inv.args[0])?;
    let b = operand(ctx, &inv.args[1])?;
    let o = parse_options(&inv.args[2..])?;
    let (alen, blen) = (a.len(), b.len());
    if alen >= u32::MAX as usize - 1 || blen >= u32::MAX as usize - 1 {
        return Err(CmdError::Invalid(String::from("String too long for LCS")));
    }
    let cells = (alen + 1) * (blen + 1);
    let bytes = cells as u64 * 4;
    if bytes > ctx.server.lock().config.proto_max_bulk_len {
        return Err(CmdError::Invalid(String::from(
            "Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        )));
    }
    let mut table: Vec<u32> = Vec::new();
    if bytes > ctx.host.free_memory() as u64 / 2 || table.try_reserve_exact(cells).is_err() {
        return Err(CmdError::Invalid(String::from(
            "Insufficient memory, failed allocating transient memory for LCS",
        )));
    }
    table.resize(cells, 0);
    let at = |i: usize, j: usize| i * (blen + 1) + j;
    for i in 1..=alen {
        for j in 1..=blen {
            table[at(i, j)] = if a[i - 1] == b[j - 1] {
                table[at(i - 1, j - 1)] + 1
            } else {
                table[at(i - 1, j)].max(table[at(i, j - 1)])
            };
        }
    }
    let total = table[at(alen, blen)];
    if o.len {
        return Ok(Reply::Integer(i64::from(total)));
    }
    // Back from the end: the subsequence, and the ranges where both strings
    // match, each emitted when it can grow no more.
    let mut common = vec![0u8; total as usize];
    let mut k = total as usize;
    let mut matches = Vec::new();
    let pos = |v: usize| Reply::Integer(v as i64);
    // (a start, a end, b start, b end) of the range being grown.
    let mut range: Option<(usize, usize, usize, usize)> = None;
    let (mut i, mut j) = (alen, blen);
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            common[k - 1] = a[i - 1];
            range = match range {
                None => Some((i - 1, i - 1, j - 1, j - 1)),
                Some((a0, a1, b0, b1)) if a0 == i && b0 == j => Some((a0 - 1, a1, b0 - 1, b1)),
                Some(r) => {
                    emit = true;
                    Some(r)
                }
            };
            if range.is_some_and(|(a0, _, b0, _)| a0 == 0 || b0 == 0) {
                emit = true;
            }
            k -= 1;
            i -= 1;
            j -= 1;
        } else {
            if table[at(i - 1, j)] > table[at(i, j - 1)] {
                i -= 1;
            } else {
                j -= 1;
            }
            emit |= range.is_some();
        }
        if emit {
            if let Some((a0, a1, b0, b1)) = range.take() {
                let len = (a1 - a0 + 1) as u64;
                if o.idx && len >= o.min_match_len {
                    let mut m = vec![
                        Reply::Array(vec![pos(a0), pos(a1)]),
                        Reply::Array(vec![pos(b0), pos(b1)]),
                    ];
                    if o.with_match_len {
                        m.push(Reply::Integer(len as i64));
                    }
                    matches.push(Reply::Array(m));
                }
            }
        }
    }
    if o.idx {
        return Ok(Reply::Map(vec![
            (Reply::bulk("matches"), Reply::Array(matches)),
            (Reply::bulk("len"), Reply::Integer(i64::from(total))),
        ]));
    }
    Ok(Reply::Value(common))
}

//! The commands that walk the keys in order: KEYS, SCAN, RANDOMKEY,
//! DBSIZE (and INFO keyspace's count).
//!
//! Keys live in the LSM tree in key order, not in a hash table, so SCAN's
//! cursor is not a table position as in Redis: the server keeps a bounded
//! table of cursor numbers, each mapped to the key to go on from (as
//! Kvrocks does). A scan therefore returns every key present for its
//! whole length exactly once, in key order. A MATCH (or KEYS) pattern with
//! a literal head only visits keys with that prefix.
//!
//! DBSIZE and INFO keyspace count the live keys by reading them all (an
//! LSM tree cannot know how many distinct live keys its tables hold
//! without merging them): time in proportion to the store, 17 ms for
//! 300,000 keys in a host release build (`INFO` without arguments pays it
//! too, for its keyspace section).

use alloc::{format, string::String, vec::Vec};

use console::{Invocation, Reply};
use lsm::random::Rng;

use super::glob::{literal_prefix, matches};
use crate::args::{integer, is};
use crate::ctx::{CmdError, Ctx};

/// Keys a KEYS or SCAN reply may hold before the free memory runs short:
/// a quarter of the free heap (the rendered reply needs about as much
/// again).
pub(crate) struct Budget {
    left: usize,
    total: usize,
    advice: &'static str,
}

impl Budget {
    /// A budget of a quarter of the free heap now; `advice` says what to
    /// do instead when it runs out.
    pub(crate) fn new(ctx: &Ctx<'_>, advice: &'static str) -> Budget {
        let total = ctx.host.free_memory() / 4;
        Budget {
            left: total,
            total,
            advice,
        }
    }

    /// Takes `bytes` (and an entry's overhead), or fails once the budget
    /// is spent.
    pub(crate) fn take(&mut self, bytes: usize) -> Result<(), CmdError> {
        match self.left.checked_sub(bytes + 64) {
            Some(left) => {
                self.left = left;
                Ok(())
            }
            None => Err(CmdError::Invalid(format!(
                "the reply holds more than the free memory allows ({} bytes); {}",
                self.total, self.advice
            ))),
        }
    }
}

/// The smallest key after `key`.
fn successor(key: &[u8]) -> Vec<u8> {
    let mut next = Vec::with_capacity(key.len() + 1);
    next.extend_from_slice(key);
    next.push(0);
    next
}

/// Every key matching the pattern, in key order. Redis answers from a
/// hash table, in no order; clients sort.
pub fn keys(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let pattern = inv.args[0].clone();
    let prefix = literal_prefix(&pattern).to_vec();
    let all = pattern == b"*";
    let mut budget = Budget::new(ctx, "use SCAN, which returns a few keys at a time");
    let mut found = Vec::new();
    ctx.scan(&prefix, usize::MAX, &mut |key, _| {
        if !key.starts_with(&prefix) {
            return Ok(false);
        }
        if all || matches(&pattern, key, false) {
            budget.take(key.len())?;
            found.push(Reply::Value(key.to_vec()));
        }
        Ok(true)
    })?;
    Ok(Reply::Array(found))
}

/// Redis's error for a cursor it cannot read, or (here) one no longer
/// kept.
fn invalid_cursor() -> CmdError {
    CmdError::Invalid(String::from("invalid cursor"))
}

/// A cursor as Redis's `strtoul` takes it: decimal digits (a leading `-`
/// wraps, as there), nothing else.
fn parse_cursor(arg: &[u8]) -> Option<u64> {
    let (neg, digits) = match arg.strip_prefix(b"-") {
        Some(d) => (true, d),
        None => (false, arg.strip_prefix(b"+").unwrap_or(arg)),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: u64 = core::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(if neg { n.wrapping_neg() } else { n })
}

/// `SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]`: visits up to
/// COUNT keys (10 by default) from where the cursor left off, returns
/// those that match, and a cursor to go on with (0 at the end).
pub fn scan(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let args = &inv.args;
    let cursor = parse_cursor(&args[0]).ok_or_else(invalid_cursor)?;
    let mut count: i64 = 10;
    let mut pattern: Option<Vec<u8>> = None;
    let mut type_name: Option<Vec<u8>> = None;
    let mut i = 1;
    while i < args.len() {
        let more = args.len() - i >= 2;
        if is(&args[i], "COUNT") && more {
            count = integer(&args[i + 1])?;
            if count < 1 {
                return Err(CmdError::syntax());
            }
        } else if is(&args[i], "MATCH") && more {
            pattern = Some(args[i + 1].clone()).filter(|p| p != b"*");
        } else if is(&args[i], "TYPE") && more {
            type_name = Some(args[i + 1].clone());
        } else {
            return Err(CmdError::syntax());
        }
        i += 2;
    }
    let prefix = pattern.as_deref().map_or(&b""[..], literal_prefix).to_vec();
    let mut from = match cursor {
        0 => Vec::new(),
        n => ctx
            .server
            .lock()
            .cursor(n)
            .ok_or_else(invalid_cursor)?
            .to_vec(),
    };
    if from < prefix {
        from = prefix.clone();
    }
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    let mut budget = Budget::new(ctx, "use a smaller COUNT");
    let (mut visited, mut last, mut more) = (0usize, None::<Vec<u8>>, false);
    let mut found = Vec::new();
    ctx.scan(&from, count.saturating_add(1), &mut |key, entry| {
        if !key.starts_with(&prefix) {
            return Ok(false);
        }
        if visited == count {
            more = true;
            return Ok(false);
        }
        visited += 1;
        last = Some(key.to_vec());
        let wanted = pattern.as_deref().is_none_or(|p| matches(p, key, false))
            && type_name
                .as_deref()
                .is_none_or(|t| t.eq_ignore_ascii_case(entry.kind.name().as_bytes()));
        if wanted {
            budget.take(key.len())?;
            found.push(Reply::Value(key.to_vec()));
        }
        Ok(true)
    })?;
    let next = match (more, last) {
        (true, Some(last)) => ctx.server.lock().new_cursor(successor(&last)),
        _ => 0,
    };
    Ok(Reply::Array(alloc::vec![
        Reply::Value(format!("{next}").into_bytes()),
        Reply::Array(found),
    ]))
}

/// Keys RANDOMKEY walks past at most from a random start.
const RANDOM_WALK: u64 = 1024;

/// A key picked at random: from the start of the store or of a table
/// (drawn at random), it walks a random number of keys (below 1024),
/// wrapping around at the end. Every key of a store of up to 1024 keys is
/// about equally likely; in a bigger one, the keys within 1024 of a
/// table's first key are the candidates, spread over the whole key range.
pub fn randomkey(ctx: &mut Ctx<'_>, _: &Invocation) -> Result<Reply, CmdError> {
    let seed = ctx.clock.counter() ^ ctx.now_ms().rotate_left(32);
    let mut rng = Rng::new(seed);
    let start = {
        let store = ctx.store()?;
        let version = store.db().version();
        let starts: Vec<&[u8]> = version
            .files()
            .map(|(_, f)| lsm::key::user_key(&f.smallest))
            .collect();
        match rng.uniform(starts.len() as u64 + 1) as usize {
            0 => Vec::new(),
            i => starts[i - 1].to_vec(),
        }
    };
    let steps = rng.uniform(RANDOM_WALK) as usize;
    // The keys from `start` on, then (if the end comes first) from the
    // beginning, until `steps + 1` are seen or the store has no more.
    let mut seen: Vec<Vec<u8>> = Vec::new();
    walk(ctx, &start, None, steps + 1, &mut seen)?;
    if seen.len() <= steps && !start.is_empty() {
        walk(ctx, b"", Some(&start), steps + 1, &mut seen)?;
    }
    Ok(match seen.len() {
        0 => Reply::Nil,
        n => Reply::Value(seen.swap_remove(steps % n)),
    })
}

/// Adds the keys from `from` (up to `until`) to `seen` until it holds
/// `want`.
fn walk(
    ctx: &mut Ctx<'_>,
    from: &[u8],
    until: Option<&[u8]>,
    want: usize,
    seen: &mut Vec<Vec<u8>>,
) -> Result<(), CmdError> {
    ctx.scan(from, want, &mut |key, _| {
        if until.is_some_and(|u| key >= u) || seen.len() >= want {
            return Ok(false);
        }
        seen.push(key.to_vec());
        Ok(true)
    })
}

/// Live keys, and how many of them expire: DBSIZE, INFO keyspace;
/// `expiring` sees each expiry time.
pub(crate) fn count_keys(
    ctx: &mut Ctx<'_>,
    expiring: &mut dyn FnMut(u64),
) -> Result<(u64, u64), CmdError> {
    let (mut keys, mut expires) = (0u64, 0u64);
    ctx.scan(b"", usize::MAX, &mut |_, entry| {
        keys += 1;
        if let Some(at) = entry.expires_at {
            expires += 1;
            expiring(at);
        }
        Ok(true)
    })?;
    Ok((keys, expires))
}

pub fn dbsize(ctx: &mut Ctx<'_>, _: &Invocation) -> Result<Reply, CmdError> {
    let (keys, _) = count_keys(ctx, &mut |_| {})?;
    Ok(Reply::Integer(keys as i64))
}

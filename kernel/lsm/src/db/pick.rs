//! Compaction picking: which level is due (level 0 by table count, deeper
//! levels by bytes against their targets), which tables a compaction takes,
//! where its slices are cut and how much each may take, and whether a
//! tombstone may go (no deeper level can hold its key).
//!
//! Separate because these are decisions about the shape of the tree, read
//! from a [`Version`] and the options alone, as LevelDB's
//! `VersionSet::PickCompaction` and `MaxBytesForLevel` sit beside the
//! version, apart from the code that runs a compaction (`compact`).

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::disk::round_up;
use super::version::{FileMeta, Version, NUM_LEVELS};
use super::{Ikc, Options};
use crate::comparator::Comparator;
use crate::key::user_key;

/// A compaction picked: the tables of `level` it takes (`inputs[0]`) and
/// those of the level below that they overlap (`inputs[1]`).
pub(super) struct Compaction {
    pub(super) level: usize,
    pub(super) inputs: [Vec<Arc<FileMeta>>; 2],
    /// Merge even a lone table, so its tombstones and old versions go.
    pub(super) force_merge: bool,
}

/// Bytes level `level` (1 and down) may hold before it is due.
fn max_bytes_for_level(opts: &Options, level: usize) -> u64 {
    let mut b = opts.l1_max_bytes;
    for _ in 1..level {
        b = b.saturating_mul(opts.level_ratio);
    }
    b
}

/// The compaction `v` needs most, if any is due: of the level whose score
/// (level 0: tables against the trigger; deeper: bytes against the target)
/// is highest and at least 1, starting at that level's entry in `pointers`.
pub(super) fn pick_compaction(
    v: &Version,
    opts: &Options,
    pointers: &[Vec<u8>; NUM_LEVELS],
) -> Option<Compaction> {
    let mut best = (0usize, 0.0f64);
    for level in 0..NUM_LEVELS - 1 {
        let score = if level == 0 {
            v.levels[0].len() as f64 / opts.l0_compaction_trigger.max(1) as f64
        } else {
            v.level_bytes(level) as f64 / max_bytes_for_level(opts, level) as f64
        };
        if score > best.1 {
            best = (level, score);
        }
    }
    let (level, score) = best;
    if score < 1.0 {
        return None;
    }
    Some(compaction_for(v, &pointers[level], level, None))
}

/// The compaction of `level` starting at its compaction pointer `ptr`;
/// with `range` (user keys), of every table of `level` meeting it.
fn compaction_for(
    v: &Version,
    ptr: &[u8],
    level: usize,
    range: Option<(&[u8], &[u8])>,
) -> Compaction {
    let cmp = Ikc::default();
    let inputs0: Vec<Arc<FileMeta>> = if let Some((a, b)) = range {
        v.overlapping(level, Some(a), Some(b))
    } else if level == 0 {
        // Level-0 tables overlap: take them all, so no newer version of a
        // key stays behind in level 0 while an older one moves down.
        v.levels[0].clone()
    } else {
        let pick = v.levels[level]
            .iter()
            .find(|f| {
                ptr.is_empty() || cmp.compare(&f.largest, ptr) == core::cmp::Ordering::Greater
            })
            .or_else(|| v.levels[level].first());
        pick.cloned().into_iter().collect()
    };
    let lo = inputs0.iter().map(|f| user_key(&f.smallest)).min();
    let hi = inputs0.iter().map(|f| user_key(&f.largest)).max();
    let inputs1 = match (lo, hi) {
        (Some(lo), Some(hi)) => v.overlapping(level + 1, Some(lo), Some(hi)),
        _ => Vec::new(),
    };
    Compaction {
        level,
        inputs: [inputs0, inputs1],
        force_merge: false,
    }
}

/// Where a compaction slice that starts at `starts[start]` ends. `starts`
/// are the keys a slice may begin at, in order, each with the bytes of
/// the tables that start there; a slice from `start` to `end` covers the
/// keys from `starts[start]` (the smallest key if 0) to `starts[end]`
/// (the largest if past the end). It takes as many as together hold at
/// most `budget` (see [`slice_budget`]), at least one. A slice's lower
/// tables are freed when it commits; on a roomy disk one slice takes them
/// all, so output tables are cut only at their target size, and on a
/// nearly full one slices shrink, each leaving at most one short table.
pub(super) fn slice_end(starts: &[(Vec<u8>, u64)], start: usize, budget: u64) -> usize {
    let mut end = start;
    let mut bytes = 0;
    while let Some((_, b)) = starts.get(end) {
        bytes += b;
        if end > start && bytes > budget {
            break;
        }
        end += 1;
    }
    end
}

/// The input one compaction slice should take, with `free` bytes free in
/// the table region: a quarter of them, at most `max_compaction_bytes` if
/// set, at least a table.
pub(super) fn slice_budget(free: u64, opts: &Options) -> u64 {
    let mut budget = free / 4;
    if opts.max_compaction_bytes > 0 {
        budget = budget.min(opts.max_compaction_bytes);
    }
    budget.max(opts.table_size)
}

/// Where [`Db::merge_into_bottom`](super::Db::merge_into_bottom)'s slices
/// may begin (as [`slice_end`] takes them): the user keys at which tables
/// of levels 1 to `bottom` start, sorted, except inside a bottom table
/// (which must go whole, in one slice), each with the bytes of the tables
/// starting there up to the next one. Level-0 tables overlap everything
/// and are not cut points.
pub(super) fn cut_points(v: &Version, bottom: usize) -> Vec<(Vec<u8>, u64)> {
    let mut starts: Vec<(&[u8], u64)> = (1..=bottom)
        .flat_map(|l| v.levels[l].iter())
        .map(|f| (user_key(&f.smallest), round_up(f.size)))
        .collect();
    starts.sort_unstable();
    let inside_bottom = |k: &[u8]| {
        v.levels[bottom]
            .iter()
            .any(|f| user_key(&f.smallest) < k && k <= user_key(&f.largest))
    };
    let mut cuts: Vec<(Vec<u8>, u64)> = Vec::new();
    for (k, bytes) in starts {
        match cuts.last_mut() {
            Some(last) if last.0.as_slice() == k || inside_bottom(k) => last.1 += bytes,
            // A new place to cut (the first one is where slice 0 begins).
            _ => cuts.push((k.to_vec(), bytes)),
        }
    }
    cuts
}

/// Whether no level below `level` may hold `ukey`, so a tombstone for it in
/// `level` hides nothing and can go.
pub(super) fn is_base_level_for(v: &Version, level: usize, ukey: &[u8]) -> bool {
    v.levels[level + 1..]
        .iter()
        .flatten()
        .all(|f| ukey < user_key(&f.smallest) || ukey > user_key(&f.largest))
}

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
    let level = due_level(v, opts)?;
    Some(compaction_for(v, &pointers[level], level, None))
}

/// Whether a compaction by size is due in `v` (as [`pick_compaction`]
/// would find one).
pub(super) fn needs_compaction(v: &Version, opts: &Options) -> bool {
    due_level(v, opts).is_some()
}

/// The level whose score is highest, if it is at least 1.
fn due_level(v: &Version, opts: &Options) -> Option<usize> {
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
    (score >= 1.0).then_some(level)
}

/// The compaction a table that used up its seek budget asks for (LevelDB's
/// seek compaction): table `number` of `level` into the level below, with
/// what it overlaps there; of level 0, every level-0 table (they overlap,
/// and a newer one must not stay above an older one moved down). None if
/// the table is gone (an earlier compaction took it) or in the last level.
pub(super) fn seek_compaction(v: &Version, level: usize, number: u64) -> Option<Compaction> {
    if level + 1 >= NUM_LEVELS {
        return None;
    }
    let f = v.levels[level].iter().find(|f| f.number == number)?;
    let range = (level > 0).then(|| (user_key(&f.smallest), user_key(&f.largest)));
    Some(compaction_for(v, &[], level, range))
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

/// Whether no two of `files` hold the same user key (ranges compared as
/// user keys: two versions of one key in two tables must merge, so that
/// the newer stays above).
pub(super) fn disjoint(files: &[Arc<FileMeta>]) -> bool {
    let mut ranges: Vec<(&[u8], &[u8])> = files
        .iter()
        .map(|f| (user_key(&f.smallest), user_key(&f.largest)))
        .collect();
    ranges.sort_unstable_by(|a, b| a.0.cmp(b.0));
    ranges.windows(2).all(|w| w[0].1 < w[1].0)
}

/// Whether no level below `level` may hold `ukey`, so a tombstone for it in
/// `level` hides nothing and can go.
pub(super) fn is_base_level_for(v: &Version, level: usize, ukey: &[u8]) -> bool {
    v.levels[level + 1..]
        .iter()
        .flatten()
        .all(|f| ukey < user_key(&f.smallest) || ukey > user_key(&f.largest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::version::{Extent, VersionEdit};
    use crate::key::{internal_key, ValueType};
    use alloc::vec;

    /// Table `number` of `size` bytes holding user keys `a` to `b`.
    fn file(number: u64, a: &[u8], b: &[u8], size: u64) -> FileMeta {
        FileMeta {
            number,
            extents: Arc::from([Extent {
                offset: number << 20,
                len: round_up(size),
            }]),
            size,
            smallest: internal_key(a, 5, ValueType::Value),
            largest: internal_key(b, 1, ValueType::Value),
            allowed_seeks: crate::db::version::SeekBudget::for_size(size),
            opened: Default::default(),
        }
    }

    fn version(files: Vec<(usize, FileMeta)>) -> Version {
        let edit = VersionEdit {
            added: files,
            ..VersionEdit::default()
        };
        Version::default().apply(&edit).unwrap()
    }

    #[test]
    fn tables_are_disjoint_only_without_a_shared_user_key() {
        let files = |ranges: &[(&[u8], &[u8])]| -> Vec<Arc<FileMeta>> {
            let n = ranges.len() as u64;
            ranges
                .iter()
                .zip(0..n)
                .map(|(&(a, b), i)| Arc::new(file(i + 1, a, b, 100)))
                .collect()
        };
        assert!(disjoint(&[]));
        assert!(disjoint(&files(&[(b"a", b"c")])));
        // In any order.
        assert!(disjoint(&files(&[
            (b"e", b"f"),
            (b"a", b"c"),
            (b"d", b"d")
        ])));
        // One user key at the end of one and the start of the other (two
        // versions of it): they must merge.
        assert!(!disjoint(&files(&[(b"a", b"c"), (b"c", b"e")])));
        assert!(!disjoint(&files(&[(b"d", b"f"), (b"a", b"z")])));
        assert!(!disjoint(&files(&[
            (b"a", b"b"),
            (b"x", b"y"),
            (b"b", b"c")
        ])));
    }

    fn numbers(files: &[Arc<FileMeta>]) -> Vec<u64> {
        files.iter().map(|f| f.number).collect()
    }

    fn opts() -> Options {
        Options {
            l0_compaction_trigger: 4,
            l1_max_bytes: 1000,
            level_ratio: 10,
            ..Options::default()
        }
    }

    #[test]
    fn level_targets_grow_by_the_ratio_and_saturate() {
        let o = opts();
        let targets: Vec<u64> = (1..4).map(|l| max_bytes_for_level(&o, l)).collect();
        assert_eq!(targets, [1000, 10_000, 100_000]);
        let steep = Options {
            level_ratio: 1 << 40,
            ..opts()
        };
        assert_eq!(max_bytes_for_level(&steep, 6), u64::MAX);
    }

    #[test]
    fn the_most_overdue_level_is_picked_once_one_is_due() {
        let pointers: [Vec<u8>; NUM_LEVELS] = Default::default();
        assert!(pick_compaction(&Version::default(), &opts(), &pointers).is_none());
        // Three level-0 tables of a trigger of four: not due.
        let mut files = vec![
            (0, file(1, b"a", b"k", 100)),
            (0, file(2, b"f", b"p", 100)),
            (0, file(3, b"c", b"d", 100)),
            (1, file(10, b"a", b"b", 400)),
            (1, file(11, b"m", b"n", 400)),
            (1, file(12, b"x", b"z", 100)),
        ];
        assert!(pick_compaction(&version(files.clone()), &opts(), &pointers).is_none());
        // A fourth: level 0 (score 1) goes whole, with the level-1 tables
        // its key range meets.
        files.push((0, file(4, b"e", b"g", 100)));
        let c = pick_compaction(&version(files.clone()), &opts(), &pointers).unwrap();
        assert_eq!(c.level, 0);
        assert_eq!(numbers(&c.inputs[0]), [4, 3, 2, 1]);
        assert_eq!(numbers(&c.inputs[1]), [10, 11]);
        assert!(!c.force_merge);
        // Level 1 at twice its target (score 2) comes first.
        files.push((1, file(13, b"q", b"r", 1100)));
        let c = pick_compaction(&version(files), &opts(), &pointers).unwrap();
        assert_eq!(c.level, 1);
        assert_eq!(numbers(&c.inputs[0]), [10]);
        assert!(c.inputs[1].is_empty());
    }

    #[test]
    fn a_level_compaction_starts_past_its_pointer_and_wraps_around() {
        let v = version(vec![
            (1, file(10, b"a", b"c", 100)),
            (1, file(11, b"d", b"f", 100)),
            (1, file(12, b"g", b"i", 100)),
            (2, file(20, b"b", b"e", 100)),
            (2, file(21, b"h", b"k", 100)),
        ]);
        let pick = |ptr: &[u8]| {
            let c = compaction_for(&v, ptr, 1, None);
            (numbers(&c.inputs[0]), numbers(&c.inputs[1]))
        };
        assert_eq!(pick(b""), (vec![10], vec![20]));
        assert_eq!(pick(&v.levels[1][0].largest), (vec![11], vec![20]));
        assert_eq!(pick(&v.levels[1][1].largest), (vec![12], vec![21]));
        assert_eq!(pick(&v.levels[1][2].largest), (vec![10], vec![20]));
    }

    #[test]
    fn a_slice_takes_its_budget_and_at_least_one_start() {
        let starts: Vec<(Vec<u8>, u64)> = [(b"a", 100), (b"b", 100), (b"c", 300), (b"d", 100)]
            .iter()
            .map(|(k, n)| (k.to_vec(), *n))
            .collect();
        assert_eq!(slice_end(&starts, 0, 250), 2);
        // Over the budget on its own, it still goes.
        assert_eq!(slice_end(&starts, 2, 250), 3);
        assert_eq!(slice_end(&starts, 3, 250), 4);
        assert_eq!(slice_end(&starts, 0, u64::MAX), 4);
        let o = Options {
            table_size: 500,
            max_compaction_bytes: 0,
            ..opts()
        };
        assert_eq!(slice_budget(4000, &o), 1000);
        assert_eq!(slice_budget(1000, &o), 500);
        let capped = Options {
            max_compaction_bytes: 800,
            ..o
        };
        assert_eq!(slice_budget(4000, &capped), 800);
    }

    #[test]
    fn cut_points_never_fall_inside_a_bottom_table() {
        let v = version(vec![
            (0, file(1, b"0", b"z", 100)),
            (1, file(2, b"a", b"b", 100)),
            (1, file(3, b"m", b"n", 600)),
            (2, file(4, b"c", b"p", 1000)),
            (2, file(5, b"q", b"z", 100)),
            (2, file(6, b"a0", b"a1", 100)),
        ]);
        // Level 0 is no cut point; "m" is inside table 4, so its bytes go
        // with "c"; sizes are whole sectors.
        let want: Vec<(Vec<u8>, u64)> = vec![
            (b"a".to_vec(), 512),
            (b"a0".to_vec(), 512),
            (b"c".to_vec(), 2048),
            (b"q".to_vec(), 512),
        ];
        assert_eq!(cut_points(&v, 2), want);
    }

    #[test]
    fn a_tombstone_goes_only_where_no_deeper_level_may_hold_its_key() {
        let v = version(vec![
            (1, file(1, b"a", b"c", 100)),
            (3, file(2, b"m", b"p", 100)),
        ]);
        assert!(!is_base_level_for(&v, 0, b"b"));
        assert!(is_base_level_for(&v, 1, b"b"));
        assert!(!is_base_level_for(&v, 1, b"n"));
        assert!(!is_base_level_for(&v, 2, b"p"));
        assert!(is_base_level_for(&v, 2, b"q"));
        assert!(is_base_level_for(&v, 3, b"n"));
    }
}

//! The set of live tables (a [`Version`]) and the edits that change it
//! ([`VersionEdit`], the manifest's records).
//!
//! Edit encoding, LevelDB-style tagged fields (tags are varints):
//!
//! ```text
//!   2 log_number | 3 next_file_number | 4 last_sequence
//!   5 compact_pointer: level, key
//!   6 deleted_file: level, number
//!   7 new_file: level, number, offset, size, smallest key, largest key
//!   8 new_file_extents: level, number, size, count, (offset, length) * count,
//!                       smallest key, largest key
//! ```
//!
//! Tag 8 is written only for a table that had to be split over several
//! extents (a nearly full, fragmented disk); a table in one extent keeps
//! tag 7.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cmp::Ordering;

use crate::coding::{get_length_prefixed, get_varint64, put_length_prefixed, put_varint64};
use crate::comparator::{bytewise_prefix, compare_bytes, Comparator};
use crate::device::SECTOR_SIZE;
use crate::error::{Corruption, CorruptionKind, Result};
use crate::fence::Fences;
use crate::key::{user_key, InternalKeyComparator, SequenceNumber};
use crate::table::Table;

use super::Ikc;

/// Levels of the tree.
pub const NUM_LEVELS: usize = 7;

/// Most extents one table may be split over.
pub const MAX_EXTENTS: usize = 256;

/// A run of whole sectors on the device holding part of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    /// Byte offset on the device.
    pub offset: u64,
    /// Length in bytes, a multiple of the sector size.
    pub len: u64,
}

/// A live table: where it is and what keys it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMeta {
    /// The table's number, unique for the life of the store.
    pub number: u64,
    /// Where the table's bytes are, in order: one extent, unless the free
    /// space was in pieces when it was written. Together they are `size`
    /// rounded up to a sector.
    pub extents: Arc<[Extent]>,
    /// Size of the table in bytes.
    pub size: u64,
    /// Smallest internal key.
    pub smallest: Vec<u8>,
    /// Largest internal key.
    pub largest: Vec<u8>,
    /// Lookups this table may still cost in vain before it is compacted.
    pub allowed_seeks: SeekBudget,
    /// The table opened (its footer read and checked), once a lookup
    /// needed it: kept here, where every reader already holds it, rather
    /// than in a map behind a lock, so lookups on several cores read it
    /// without writing any shared cache line (RocksDB pins table readers in
    /// its file metadata the same way).
    pub opened: OpenedTable,
}

/// A table's footer, read once (see [`FileMeta::opened`]). Not part of what
/// a table is: two metas that differ only here are equal.
#[derive(Default)]
pub struct OpenedTable(spin::Once<Table<Ikc>>);

impl OpenedTable {
    /// The open table, if a lookup opened it.
    #[inline]
    pub fn get(&self) -> Option<&Table<Ikc>> {
        self.0.get()
    }

    /// Keeps `t`, unless another reader kept one first (the same footer).
    pub fn set(&self, t: Table<Ikc>) -> &Table<Ikc> {
        self.0.call_once(|| t)
    }
}

impl Clone for OpenedTable {
    fn clone(&self) -> Self {
        match self.get() {
            Some(t) => OpenedTable(spin::Once::initialized(t.clone())),
            None => OpenedTable::default(),
        }
    }
}

impl PartialEq for OpenedTable {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for OpenedTable {}

impl core::fmt::Debug for OpenedTable {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(if self.get().is_some() {
            "opened"
        } else {
            "not opened"
        })
    }
}

/// How many lookups a table may cost that had to look further (LevelDB's
/// `allowed_seeks`): one per 16 KiB, at least 100. A lookup that probes a
/// second table charges the first it probed, which held its key's range
/// but not its key; a table that has cost that many is compacted into the
/// level below (see `Db::seek_compaction`), so that a tree read more than
/// written grows shallower. Not part of what a table is: two metas that
/// differ only here are equal.
#[derive(Debug, Default)]
pub struct SeekBudget(core::sync::atomic::AtomicI64);

impl SeekBudget {
    /// The budget of a table of `size` bytes.
    pub fn for_size(size: u64) -> SeekBudget {
        let n = (size / 16384).max(100);
        SeekBudget(core::sync::atomic::AtomicI64::new(
            i64::try_from(n).unwrap_or(i64::MAX),
        ))
    }

    /// Charges one lookup; true if this used the budget up.
    pub fn charge(&self) -> bool {
        self.0.fetch_sub(1, core::sync::atomic::Ordering::Relaxed) == 1
    }

    /// What is left.
    pub fn left(&self) -> i64 {
        self.0.load(core::sync::atomic::Ordering::Relaxed)
    }
}

impl Clone for SeekBudget {
    fn clone(&self) -> Self {
        SeekBudget(core::sync::atomic::AtomicI64::new(self.left()))
    }
}

impl PartialEq for SeekBudget {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for SeekBudget {}

/// A change to the set of live tables and the store's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionEdit {
    /// Logs numbered below this hold nothing that is not in a table.
    pub log_number: Option<u64>,
    /// The next table number to hand out.
    pub next_file_number: Option<u64>,
    /// The last sequence number written to a table.
    pub last_sequence: Option<SequenceNumber>,
    /// Where the next compaction of a level starts.
    pub compact_pointers: Vec<(usize, Vec<u8>)>,
    /// Tables removed: (level, number).
    pub deleted: Vec<(usize, u64)>,
    /// Tables added.
    pub added: Vec<(usize, FileMeta)>,
}

const TAG_LOG: u64 = 2;
const TAG_NEXT_FILE: u64 = 3;
const TAG_LAST_SEQ: u64 = 4;
const TAG_COMPACT_POINTER: u64 = 5;
const TAG_DELETED: u64 = 6;
const TAG_NEW_FILE: u64 = 7;
const TAG_NEW_FILE_EXTENTS: u64 = 8;

fn bad(what: &'static str) -> crate::error::Error {
    Corruption::at("manifest record", CorruptionKind::Malformed(what)).into()
}

fn take_varint(src: &mut &[u8], what: &'static str) -> Result<u64> {
    let (v, n) = get_varint64(src).ok_or_else(|| bad(what))?;
    *src = &src[n..];
    Ok(v)
}

fn take_level(src: &mut &[u8]) -> Result<usize> {
    let l = take_varint(src, "level")?;
    if l >= NUM_LEVELS as u64 {
        return Err(bad("level"));
    }
    Ok(l as usize)
}

fn take_bytes(src: &mut &[u8], what: &'static str) -> Result<Vec<u8>> {
    let (v, rest) = get_length_prefixed(src).ok_or_else(|| bad(what))?;
    *src = rest;
    Ok(v.to_vec())
}

impl VersionEdit {
    /// The edit's encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut d = Vec::new();
        if let Some(v) = self.log_number {
            put_varint64(&mut d, TAG_LOG);
            put_varint64(&mut d, v);
        }
        if let Some(v) = self.next_file_number {
            put_varint64(&mut d, TAG_NEXT_FILE);
            put_varint64(&mut d, v);
        }
        if let Some(v) = self.last_sequence {
            put_varint64(&mut d, TAG_LAST_SEQ);
            put_varint64(&mut d, v);
        }
        for (level, key) in &self.compact_pointers {
            put_varint64(&mut d, TAG_COMPACT_POINTER);
            put_varint64(&mut d, *level as u64);
            put_length_prefixed(&mut d, key);
        }
        for (level, number) in &self.deleted {
            put_varint64(&mut d, TAG_DELETED);
            put_varint64(&mut d, *level as u64);
            put_varint64(&mut d, *number);
        }
        for (level, f) in &self.added {
            if let [one] = &f.extents[..] {
                put_varint64(&mut d, TAG_NEW_FILE);
                put_varint64(&mut d, *level as u64);
                put_varint64(&mut d, f.number);
                put_varint64(&mut d, one.offset);
                put_varint64(&mut d, f.size);
            } else {
                put_varint64(&mut d, TAG_NEW_FILE_EXTENTS);
                put_varint64(&mut d, *level as u64);
                put_varint64(&mut d, f.number);
                put_varint64(&mut d, f.size);
                put_varint64(&mut d, f.extents.len() as u64);
                for e in f.extents.iter() {
                    put_varint64(&mut d, e.offset);
                    put_varint64(&mut d, e.len);
                }
            }
            put_length_prefixed(&mut d, &f.smallest);
            put_length_prefixed(&mut d, &f.largest);
        }
        d
    }

    /// Decodes an edit, refusing unknown tags and short fields.
    pub fn decode(mut src: &[u8]) -> Result<Self> {
        let mut e = Self::default();
        while !src.is_empty() {
            let s = &mut src;
            match take_varint(s, "tag")? {
                TAG_LOG => e.log_number = Some(take_varint(s, "log number")?),
                TAG_NEXT_FILE => e.next_file_number = Some(take_varint(s, "next file")?),
                TAG_LAST_SEQ => e.last_sequence = Some(take_varint(s, "last sequence")?),
                TAG_COMPACT_POINTER => {
                    let level = take_level(s)?;
                    e.compact_pointers
                        .push((level, take_bytes(s, "compact pointer")?));
                }
                TAG_DELETED => {
                    let level = take_level(s)?;
                    e.deleted.push((level, take_varint(s, "file number")?));
                }
                TAG_NEW_FILE => {
                    let level = take_level(s)?;
                    let number = take_varint(s, "file number")?;
                    let offset = take_varint(s, "file offset")?;
                    let size = take_varint(s, "file size")?;
                    let len = size
                        .checked_next_multiple_of(SECTOR_SIZE as u64)
                        .ok_or_else(|| bad("file size"))?;
                    let f = FileMeta {
                        number,
                        extents: Arc::from([Extent { offset, len }]),
                        size,
                        smallest: take_bytes(s, "smallest key")?,
                        largest: take_bytes(s, "largest key")?,
                        allowed_seeks: SeekBudget::for_size(size),
                        opened: OpenedTable::default(),
                    };
                    e.added.push((level, f));
                }
                TAG_NEW_FILE_EXTENTS => {
                    let level = take_level(s)?;
                    let number = take_varint(s, "file number")?;
                    let size = take_varint(s, "file size")?;
                    let count = take_varint(s, "extent count")?;
                    if count == 0 || count > MAX_EXTENTS as u64 {
                        return Err(bad("extent count"));
                    }
                    let mut extents = Vec::new();
                    let mut total = 0u64;
                    for _ in 0..count {
                        let offset = take_varint(s, "extent offset")?;
                        let len = take_varint(s, "extent length")?;
                        if len == 0 || len % SECTOR_SIZE as u64 != 0 {
                            return Err(bad("extent length"));
                        }
                        total = total.checked_add(len).ok_or_else(|| bad("extent length"))?;
                        extents.push(Extent { offset, len });
                    }
                    if size.checked_next_multiple_of(SECTOR_SIZE as u64) != Some(total) {
                        return Err(bad("extents do not add up to the file size"));
                    }
                    let f = FileMeta {
                        number,
                        extents: extents.into(),
                        size,
                        smallest: take_bytes(s, "smallest key")?,
                        largest: take_bytes(s, "largest key")?,
                        allowed_seeks: SeekBudget::for_size(size),
                        opened: OpenedTable::default(),
                    };
                    e.added.push((level, f));
                }
                _ => return Err(bad("tag")),
            }
        }
        Ok(e)
    }
}

/// An immutable set of live tables per level. Level 0 is ordered newest
/// first (its tables overlap); deeper levels by smallest key (they do not).
#[derive(Debug, Clone, Default)]
pub struct Version {
    /// Tables per level.
    pub levels: [Vec<Arc<FileMeta>>; NUM_LEVELS],
    /// The largest user keys of each sorted level's tables as fences, for
    /// [`Version::find_in_level`] (level 0's tables overlap: a lookup
    /// probes them all).
    fences: [Fences; NUM_LEVELS],
    /// Each table's smallest and largest user keys abbreviated
    /// ([`bytewise_prefix`]), in `levels`' order: a lookup's range check
    /// compares two integers and reads no key, unless they tie.
    bounds: [Vec<(u128, u128)>; NUM_LEVELS],
}

impl Version {
    /// This version with `edit` applied. Refuses an edit that deletes a table
    /// that is not there or adds one twice: a manifest that says so is damaged.
    pub fn apply(&self, edit: &VersionEdit) -> Result<Version> {
        let mut v = self.clone();
        for &(level, number) in &edit.deleted {
            let files = &mut v.levels[level];
            let at = files
                .iter()
                .position(|f| f.number == number)
                .ok_or_else(|| bad("deleted file not live"))?;
            files.remove(at);
        }
        for (level, f) in &edit.added {
            if v.levels.iter().flatten().any(|g| g.number == f.number) {
                return Err(bad("file added twice"));
            }
            v.levels[*level].push(Arc::new(f.clone()));
        }
        let cmp = InternalKeyComparator;
        v.levels[0].sort_by_key(|f| core::cmp::Reverse(f.number));
        for (files, fences) in v.levels.iter_mut().zip(&mut v.fences).skip(1) {
            files.sort_by(|a, b| cmp.compare(&a.smallest, &b.smallest));
            let largest: Vec<&[u8]> = files.iter().map(|f| user_key(&f.largest)).collect();
            *fences = Fences::new(&largest);
        }
        for (files, bounds) in v.levels.iter().zip(&mut v.bounds) {
            *bounds = files
                .iter()
                .map(|f| {
                    (
                        bytewise_prefix(user_key(&f.smallest)),
                        bytewise_prefix(user_key(&f.largest)),
                    )
                })
                .collect();
        }
        Ok(v)
    }

    /// Whether the user key `key` (abbreviated as `abbr`, its
    /// [`bytewise_prefix`]) is at or past the smallest key of table `i` of
    /// `level` and, if `upper`, at or before its largest. A strict order of
    /// the abbreviations is the keys' order (zero padding can only tie two
    /// keys, never invert them); a tie compares the keys.
    #[inline]
    pub fn covers(&self, level: usize, i: usize, key: &[u8], abbr: u128, upper: bool) -> bool {
        let (f, bounds) = (&self.levels[level][i], &self.bounds[level]);
        if bounds.len() != self.levels[level].len() {
            // Levels changed without `apply`: the keys themselves.
            return compare_bytes(user_key(&f.smallest), key) != Ordering::Greater
                && (!upper || compare_bytes(key, user_key(&f.largest)) != Ordering::Greater);
        }
        let (lo, hi) = bounds[i];
        let above_lo = abbr > lo
            || (abbr == lo && compare_bytes(user_key(&f.smallest), key) != Ordering::Greater);
        above_lo
            && (!upper
                || abbr < hi
                || (abbr == hi && compare_bytes(key, user_key(&f.largest)) != Ordering::Greater))
    }

    /// Every live table.
    pub fn files(&self) -> impl Iterator<Item = (usize, &Arc<FileMeta>)> {
        self.levels
            .iter()
            .enumerate()
            .flat_map(|(l, fs)| fs.iter().map(move |f| (l, f)))
    }

    /// Total bytes of the tables of `level`.
    pub fn level_bytes(&self, level: usize) -> u64 {
        self.levels[level].iter().map(|f| f.size).sum()
    }

    /// Tables of `level` whose user-key range meets `[begin, end]` (user
    /// keys; `None` is unbounded).
    pub fn overlapping(
        &self,
        level: usize,
        begin: Option<&[u8]>,
        end: Option<&[u8]>,
    ) -> Vec<Arc<FileMeta>> {
        self.levels[level]
            .iter()
            .filter(|f| {
                let before = end.is_some_and(|e| user_key(&f.smallest) > e);
                let after = begin.is_some_and(|b| user_key(&f.largest) < b);
                !before && !after
            })
            .cloned()
            .collect()
    }

    /// [`Version::find_file`] in `level` (1 and up), searching the level's
    /// fences first.
    #[inline]
    pub fn find_in_level(&self, level: usize, key: &[u8]) -> usize {
        let (files, fences) = (&self.levels[level], &self.fences[level]);
        if fences.len() != files.len() {
            return Self::find_file(files, key);
        }
        let (lo, hi) = fences.narrow(user_key(key));
        let cmp = InternalKeyComparator;
        lo + files[lo..hi].partition_point(|f| cmp.compare(&f.largest, key) == Ordering::Less)
    }

    /// Index of the first table of a sorted level whose largest key is
    /// `>= key` (an internal key).
    pub fn find_file(files: &[Arc<FileMeta>], key: &[u8]) -> usize {
        let cmp = InternalKeyComparator;
        files.partition_point(|f| cmp.compare(&f.largest, key) == Ordering::Less)
    }

    /// A full description of this version, as the first record of a new
    /// manifest.
    pub fn snapshot_edit(&self) -> VersionEdit {
        VersionEdit {
            added: self.files().map(|(l, f)| (l, FileMeta::clone(f))).collect(),
            ..VersionEdit::default()
        }
    }
}

#[cfg(test)]
mod tests;

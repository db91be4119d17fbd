//! The memtable: recent writes, sorted by internal key, in a skiplist whose
//! nodes live in an arena. It is frozen (made immutable) when full and written
//! out as a table while a new one takes writes; readers share it through
//! `Arc` and iterate it while the writer inserts.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::comparator::eq_bytes;
use crate::error::Result;
use crate::iter::KvIter;
use crate::key::{
    internal_key_in, user_key, InternalKeyComparator, ParsedInternalKey, SequenceNumber, ValueType,
};
use crate::skiplist::{SkipIter, SkipList};
use crate::table::bloom;

/// What a memtable knows about a key at a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup<T = Vec<u8>> {
    /// The newest visible write set this value (or what a visitor made of
    /// it, see [`MemTable::get_with`]).
    Found(T),
    /// The newest visible write deleted the key.
    Deleted,
    /// No visible write of the key is here: look in older data.
    Missing,
}

/// A sorted in-memory table of writes.
pub struct MemTable {
    list: SkipList<InternalKeyComparator>,
    /// Bloom filter of the user keys written, so that a lookup of a key that
    /// is not here (most, once the tree outgrows a memtable) skips the
    /// skiplist search: RocksDB's memtable whole-key filter. Bits are set
    /// before the entry is linked in, so a reader that finds the entry
    /// finds its bits.
    filter: Vec<AtomicU64>,
    /// Filter size in bits, minus one (a power of two).
    filter_mask: u32,
    /// The newest sequence added, and whether every add came in sequence
    /// order (the store's writes and its log replay do): only then is the
    /// last entry added under a key's hint slot its newest write, which a
    /// lookup then reads without searching (see [`MemTable::get_with`]).
    newest_seq: AtomicU64,
    in_order: AtomicBool,
}

/// Filter probes per key; with the filter sized at a bit per 8 bytes of
/// memtable (about 18 bits per 100-byte entry) false positives are ~0.1%.
const FILTER_PROBES: u32 = 6;

impl Default for MemTable {
    fn default() -> Self {
        Self::new()
    }
}

impl MemTable {
    /// An empty memtable, its filter sized for the default write buffer.
    pub fn new() -> Self {
        Self::with_capacity(4 << 20)
    }

    /// An empty memtable, its filter sized for about `bytes` of writes.
    pub fn with_capacity(bytes: usize) -> Self {
        let bits = (bytes / 8).clamp(1 << 12, 1 << 24).next_power_of_two();
        Self {
            // A hint slot per 64 filter bits (8 KiB slots for 4 MiB).
            list: SkipList::with_hints(InternalKeyComparator, bits / 64),
            filter: (0..bits / 64).map(|_| AtomicU64::new(0)).collect(),
            filter_mask: (bits - 1) as u32,
            newest_seq: AtomicU64::new(0),
            in_order: AtomicBool::new(true),
        }
    }

    /// `key`'s hash, for its filter bits and its hint slot. Inlined, as
    /// `may_contain_hash`: a point lookup asks both of every memtable.
    #[inline(always)]
    fn key_hash(key: &[u8]) -> u32 {
        bloom::hash(key, 0x6d65_6d74)
    }

    /// The filter bits of the key whose hash is `h`, by LevelDB's double
    /// hashing.
    fn filter_bits(&self, mut h: u32) -> impl Iterator<Item = usize> {
        let delta = h.rotate_right(17);
        let mask = self.filter_mask;
        (0..FILTER_PROBES).map(move |_| {
            let bit = (h & mask) as usize;
            h = h.wrapping_add(delta);
            bit
        })
    }

    /// Whether `key` may have been written here (no false negatives).
    #[cfg(test)]
    fn may_contain(&self, key: &[u8]) -> bool {
        self.may_contain_hash(Self::key_hash(key))
    }

    #[inline(always)]
    fn may_contain_hash(&self, h: u32) -> bool {
        self.filter_bits(h)
            .all(|b| self.filter[b / 64].load(Ordering::Relaxed) & (1 << (b % 64)) != 0)
    }

    /// Records that write `seq` did `kind` to `key` (with `value` for a set).
    pub fn add(
        &self,
        seq: SequenceNumber,
        kind: ValueType,
        key: &[u8],
        value: &[u8],
    ) -> Result<()> {
        let (mut stack, mut heap) = ([0u8; 64], Vec::new());
        let ikey = internal_key_in(&mut stack, &mut heap, key, seq, kind);
        let h = Self::key_hash(key);
        self.list.insert_hinted(ikey, value, h, || {
            // The list's writer alone sets bits, so a plain load and store
            // lose none, and cost no locked read-modify-write (six per put).
            for b in self.filter_bits(h) {
                let w = &self.filter[b / 64];
                w.store(w.load(Ordering::Relaxed) | 1 << (b % 64), Ordering::Relaxed);
            }
            // Before the entry's hint is published (release), so that a
            // lookup that finds an out-of-order entry there finds this too.
            if seq <= self.newest_seq.load(Ordering::Relaxed) {
                self.in_order.store(false, Ordering::Relaxed);
            }
            self.newest_seq.store(seq, Ordering::Relaxed);
        })
    }

    /// The newest write of `key` with a sequence `<= seq`.
    pub fn get(&self, key: &[u8], seq: SequenceNumber) -> Result<Lookup> {
        self.get_with(key, seq, <[u8]>::to_vec)
    }

    /// As [`get`](Self::get), handing a found value to `f` where it lies.
    pub fn get_with<T>(
        &self,
        key: &[u8],
        seq: SequenceNumber,
        f: impl FnOnce(&[u8]) -> T,
    ) -> Result<Lookup<T>> {
        let h = Self::key_hash(key);
        if !self.may_contain_hash(h) {
            return Ok(Lookup::Missing);
        }
        // The last entry added under the key's hint slot: if it is this
        // key's and visible, it is the newest visible write, found without
        // the skiplist's search (a key rewritten again and again leaves a
        // long run of versions, which the search compares whole, ~760
        // instructions for redis-benchmark's one key).
        if let Some((ikey, value)) = self.list.last_inserted(h) {
            let p = ParsedInternalKey::parse(ikey);
            if let Some(p) = p.filter(|p| eq_bytes(p.user_key, key) && p.sequence <= seq) {
                if self.in_order.load(Ordering::Relaxed) {
                    return Ok(match p.kind {
                        ValueType::Value => Lookup::Found(f(value)),
                        ValueType::Deletion => Lookup::Deleted,
                    });
                }
            }
        }
        let (mut stack, mut heap) = ([0u8; 64], Vec::new());
        let probe = internal_key_in(&mut stack, &mut heap, key, seq, ValueType::FOR_SEEK);
        let mut it = self.list.iter();
        it.seek(probe)?;
        if !it.valid() || !eq_bytes(user_key(it.key()), key) {
            return Ok(Lookup::Missing);
        }
        // Keys in the memtable were made by `add`, so they always parse.
        let parsed = ParsedInternalKey::parse_at(it.key(), "memtable")?;
        Ok(match parsed.kind {
            ValueType::Value => Lookup::Found(f(it.value())),
            ValueType::Deletion => Lookup::Deleted,
        })
    }

    /// Entries in the memtable.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether the memtable holds no entries.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Bytes of memory held, counting arena blocks whole.
    #[inline]
    pub fn approximate_memory_usage(&self) -> usize {
        self.list.memory_usage()
    }

    /// A cursor over internal keys and values, borrowing the memtable.
    pub fn iter(&self) -> SkipIter<InternalKeyComparator, &SkipList<InternalKeyComparator>> {
        self.list.iter()
    }

    /// A cursor that shares ownership of the memtable, for iterators that
    /// outlive the caller's borrow (snapshots over a memtable that keeps
    /// taking writes).
    pub fn shared_iter(self: &Arc<Self>) -> MemTableIter {
        MemTableIter(SkipIter::new(SharedList(Arc::clone(self))))
    }
}

/// Derefs an `Arc<MemTable>` to its skiplist.
#[derive(Clone)]
pub struct SharedList(Arc<MemTable>);

impl core::ops::Deref for SharedList {
    type Target = SkipList<InternalKeyComparator>;
    fn deref(&self) -> &Self::Target {
        &self.0.list
    }
}

/// A cursor over a shared memtable.
pub struct MemTableIter(SkipIter<InternalKeyComparator, SharedList>);

impl KvIter for MemTableIter {
    #[inline]
    fn valid(&self) -> bool {
        self.0.valid()
    }
    fn seek_to_first(&mut self) -> Result<()> {
        self.0.seek_to_first()
    }
    fn seek(&mut self, target: &[u8]) -> Result<()> {
        self.0.seek(target)
    }
    #[inline]
    fn next(&mut self) -> Result<()> {
        self.0.next()
    }
    #[inline]
    fn key(&self) -> &[u8] {
        self.0.key()
    }
    #[inline]
    fn value(&self) -> &[u8] {
        self.0.value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::internal_key;

    #[test]
    fn get_sees_the_newest_visible_write() {
        let m = MemTable::new();
        m.add(1, ValueType::Value, b"k", b"v1").unwrap();
        m.add(2, ValueType::Value, b"k", b"v2").unwrap();
        m.add(3, ValueType::Deletion, b"k", b"").unwrap();
        m.add(4, ValueType::Value, b"k", b"v4").unwrap();
        m.add(5, ValueType::Value, b"kk", b"other").unwrap();
        assert_eq!(m.get(b"k", 0).unwrap(), Lookup::Missing);
        assert_eq!(m.get(b"k", 1).unwrap(), Lookup::Found(b"v1".to_vec()));
        assert_eq!(m.get(b"k", 2).unwrap(), Lookup::Found(b"v2".to_vec()));
        assert_eq!(m.get(b"k", 3).unwrap(), Lookup::Deleted);
        assert_eq!(m.get(b"k", 100).unwrap(), Lookup::Found(b"v4".to_vec()));
        assert_eq!(m.get(b"j", 100).unwrap(), Lookup::Missing);
        assert_eq!(m.get(b"kk", 4).unwrap(), Lookup::Missing);
        assert_eq!(m.get(b"kk", 5).unwrap(), Lookup::Found(b"other".to_vec()));
        assert_eq!(m.len(), 5);
        assert!(m.approximate_memory_usage() > 0);
    }

    /// Lookups through hint slots answer as the search does: one key
    /// rewritten many times, keys sharing slots (a small memtable has 64),
    /// deletions, reads at every older sequence, and adds out of sequence
    /// order (which turn the hints off for good).
    #[test]
    fn hinted_lookups_answer_as_the_search_does() {
        extern crate std;
        use std::collections::BTreeMap;
        use std::format;
        for out_of_order in [false, true] {
            let m = MemTable::with_capacity(4096);
            // (key, seq) -> Some(value) or None (deleted)
            let mut model: BTreeMap<(Vec<u8>, u64), Option<Vec<u8>>> = BTreeMap::new();
            let mut rng = crate::random::Rng::new(5);
            let mut seq = 0;
            for i in 0..3000u64 {
                let k = if rng.one_in(3) {
                    b"hot".to_vec()
                } else {
                    format!("k{}", rng.uniform(300)).into_bytes()
                };
                seq += 1;
                let s = if out_of_order && i == 1500 {
                    seq - 1000
                } else {
                    seq
                };
                if model.contains_key(&(k.clone(), s)) {
                    continue;
                }
                let v = (!rng.one_in(5)).then(|| format!("v{s}").into_bytes());
                match &v {
                    Some(v) => m.add(s, ValueType::Value, &k, v).unwrap(),
                    None => m.add(s, ValueType::Deletion, &k, b"").unwrap(),
                }
                model.insert((k, s), v);
            }
            assert_eq!(m.in_order.load(Ordering::Relaxed), !out_of_order);
            let keys: Vec<Vec<u8>> = (0..300)
                .map(|i| format!("k{i}").into_bytes())
                .chain([b"hot".to_vec(), b"absent".to_vec()])
                .collect();
            for k in &keys {
                for at in [0, 1, 17, 999, 1500, 2222, seq - 1, seq, seq + 10] {
                    let want = model
                        .range((k.clone(), 0)..=(k.clone(), at))
                        .next_back()
                        .map_or(Lookup::Missing, |(_, v)| {
                            v.clone().map_or(Lookup::Deleted, Lookup::Found)
                        });
                    assert_eq!(m.get(k, at).unwrap(), want, "{k:?} at {at}");
                }
            }
        }
    }

    #[test]
    fn filter_never_hides_a_write_and_skips_most_absent_keys() {
        extern crate std;
        use std::format;
        // A filter sized for far fewer writes: saturated, never wrong.
        let m = MemTable::with_capacity(4096);
        for i in 0..5000u32 {
            m.add(
                u64::from(i) + 1,
                ValueType::Value,
                format!("key{i}").as_bytes(),
                b"v",
            )
            .unwrap();
        }
        for i in 0..5000u32 {
            let k = format!("key{i}");
            assert_eq!(
                m.get(k.as_bytes(), u64::MAX >> 8).unwrap(),
                Lookup::Found(b"v".to_vec())
            );
        }
        // Sized as the store sizes it (a bit per 8 bytes of buffer, here
        // for 100-byte values): absent keys rarely pass.
        let m = MemTable::with_capacity(5000 * 120);
        for i in 0..5000u32 {
            m.add(
                u64::from(i) + 1,
                ValueType::Value,
                format!("key{i}").as_bytes(),
                &[7; 100],
            )
            .unwrap();
        }
        let passed = (0..10_000u32)
            .filter(|i| m.may_contain(format!("absent{i}").as_bytes()))
            .count();
        assert!(
            passed < 100,
            "{passed} of 10000 absent keys passed the filter"
        );
        // A key longer than the stack buffer takes the heap path.
        let long = [b'x'; 200];
        m.add(9999, ValueType::Value, &long, b"long").unwrap();
        assert_eq!(m.get(&long, 9999).unwrap(), Lookup::Found(b"long".to_vec()));
    }

    #[test]
    fn iteration_is_in_internal_key_order() {
        let m = Arc::new(MemTable::new());
        m.add(2, ValueType::Value, b"b", b"2").unwrap();
        m.add(1, ValueType::Value, b"a", b"1").unwrap();
        m.add(3, ValueType::Value, b"a", b"3").unwrap();
        let mut it = m.shared_iter();
        it.seek_to_first().unwrap();
        let mut got = Vec::new();
        while it.valid() {
            got.push((it.key().to_vec(), it.value().to_vec()));
            it.next().unwrap();
        }
        assert_eq!(
            got,
            [
                (internal_key(b"a", 3, ValueType::Value), b"3".to_vec()),
                (internal_key(b"a", 1, ValueType::Value), b"1".to_vec()),
                (internal_key(b"b", 2, ValueType::Value), b"2".to_vec()),
            ]
        );
        // Writes after the cursor was made are visible to later seeks.
        m.add(4, ValueType::Value, b"c", b"4").unwrap();
        it.seek(&internal_key(b"c", 10, ValueType::Value)).unwrap();
        assert_eq!(it.value(), b"4");
    }
}

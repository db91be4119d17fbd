//! Internal keys: a user key with the sequence number and type of the write
//! that made it, ordered as LevelDB orders them (user key ascending, then
//! newest first), so one seek finds the newest version visible to a snapshot.
//!
//! ```text
//!   internal key = user key | fixed64(sequence << 8 | type)
//! ```

use alloc::vec::Vec;
use core::cmp::Ordering;

use crate::coding::{get_fixed64, put_fixed64};
use crate::comparator::{bytewise_prefix, compare_bytes, Bytewise, Comparator};
use crate::error::{Corruption, CorruptionKind, Error, Result};

/// A write's position in the history of the store.
pub type SequenceNumber = u64;

/// The largest sequence number: 56 bits, the tag's low byte is the type.
pub const MAX_SEQUENCE: SequenceNumber = (1 << 56) - 1;

/// Bytes the tag adds to a user key.
pub const TAG_SIZE: usize = 8;

/// What a write did to its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum ValueType {
    /// A tombstone: the key was deleted.
    Deletion = 0,
    /// A value was set.
    Value = 1,
}

impl ValueType {
    /// The type that seeks use: the highest, so that a lookup key sorts
    /// before every entry with the same user key and sequence.
    pub const FOR_SEEK: ValueType = ValueType::Value;

    /// The type of a tag byte, if the format defines it.
    pub fn from_byte(b: u8) -> Option<Self> {
        match b {
            0 => Some(Self::Deletion),
            1 => Some(Self::Value),
            _ => None,
        }
    }
}

/// The tag of a write: sequence and type in one u64.
#[inline]
pub fn pack_tag(seq: SequenceNumber, kind: ValueType) -> u64 {
    (seq << 8) | kind as u64
}

/// An internal key, split into its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedInternalKey<'a> {
    /// The key the user wrote.
    pub user_key: &'a [u8],
    /// When it was written.
    pub sequence: SequenceNumber,
    /// What was written.
    pub kind: ValueType,
}

impl<'a> ParsedInternalKey<'a> {
    /// Splits an internal key; `None` if it is too short or has an unknown
    /// type (it came from a damaged disk).
    #[inline]
    pub fn parse(key: &'a [u8]) -> Option<Self> {
        let n = key.len().checked_sub(TAG_SIZE)?;
        let tag = get_fixed64(key, n)?;
        Some(Self {
            user_key: &key[..n],
            sequence: tag >> 8,
            kind: ValueType::from_byte(tag as u8)?,
        })
    }

    /// [`parse`](Self::parse), or the corruption of a malformed internal
    /// key at `location` (an empty one for the caller to name with
    /// [`Error::within`], off the path that succeeds).
    #[inline]
    pub fn parse_at(key: &'a [u8], location: &str) -> Result<Self> {
        Self::parse(key).ok_or_else(|| {
            Error::from(Corruption::at(
                location,
                CorruptionKind::Malformed("internal key"),
            ))
        })
    }
}

/// Appends the internal key of (`user_key`, `seq`, `kind`) to `dst`.
pub fn append_internal_key(
    dst: &mut Vec<u8>,
    user_key: &[u8],
    seq: SequenceNumber,
    kind: ValueType,
) {
    dst.extend_from_slice(user_key);
    put_fixed64(dst, pack_tag(seq, kind));
}

/// The internal key of (`user_key`, `seq`, `kind`).
pub fn internal_key(user_key: &[u8], seq: SequenceNumber, kind: ValueType) -> Vec<u8> {
    let mut v = Vec::with_capacity(user_key.len() + TAG_SIZE);
    append_internal_key(&mut v, user_key, seq, kind);
    v
}

/// The user key part of an internal key (all of it if it is too short to
/// have a tag; such a key is refused elsewhere).
#[inline]
pub fn user_key(internal: &[u8]) -> &[u8] {
    &internal[..internal.len().saturating_sub(TAG_SIZE)]
}

#[inline]
fn tag(internal: &[u8]) -> u64 {
    get_fixed64(internal, internal.len().wrapping_sub(TAG_SIZE)).unwrap_or(0)
}

/// Orders internal keys: user key ascending, then tag descending (newest
/// first).
#[derive(Debug, Clone, Copy, Default)]
pub struct InternalKeyComparator;

impl Comparator for InternalKeyComparator {
    #[inline]
    fn compare(&self, a: &[u8], b: &[u8]) -> Ordering {
        compare_bytes(user_key(a), user_key(b)).then_with(|| tag(b).cmp(&tag(a)))
    }

    fn find_shortest_separator(&self, start: &mut Vec<u8>, limit: &[u8]) {
        let user_start = user_key(start);
        let user_limit = user_key(limit);
        let mut tmp = user_start.to_vec();
        Bytewise.find_shortest_separator(&mut tmp, user_limit);
        if tmp.len() < user_start.len() && user_start < tmp.as_slice() {
            // A physically shorter but logically larger user key: give it the
            // earliest tag so it still sorts before `limit`'s entries.
            put_fixed64(&mut tmp, pack_tag(MAX_SEQUENCE, ValueType::FOR_SEEK));
            *start = tmp;
        }
    }

    fn find_short_successor(&self, key: &mut Vec<u8>) {
        let user = user_key(key);
        let mut tmp = user.to_vec();
        Bytewise.find_short_successor(&mut tmp);
        if tmp.len() < user.len() && user < tmp.as_slice() {
            put_fixed64(&mut tmp, pack_tag(MAX_SEQUENCE, ValueType::FOR_SEEK));
            *key = tmp;
        }
    }

    #[inline]
    fn abbreviate(&self, key: &[u8]) -> u128 {
        // Internal keys order by user key first.
        bytewise_prefix(user_key(key))
    }

    /// Equal abbreviations of user keys of one length, at most 16 bytes
    /// (all of which the abbreviation holds), are the same user key: the
    /// tags decide, without comparing the keys' bytes. A merge meets this
    /// at every version of a key.
    #[inline]
    fn compare_tied(&self, a: &[u8], b: &[u8]) -> Ordering {
        let (ua, ub) = (user_key(a), user_key(b));
        if ua.len() == ub.len() && ua.len() <= 16 {
            return tag(b).cmp(&tag(a));
        }
        self.compare(a, b)
    }

    #[inline]
    fn filter_key<'k>(&self, key: &'k [u8]) -> &'k [u8] {
        user_key(key)
    }

    #[inline]
    fn ordered_bytes<'k>(&self, key: &'k [u8]) -> Option<&'k [u8]> {
        Some(user_key(key))
    }
}

/// `key` as an internal key, in `stack` if it fits (no allocation on the
/// common path), else in `heap`.
#[inline]
pub(crate) fn internal_key_in<'a>(
    stack: &'a mut [u8; 64],
    heap: &'a mut Vec<u8>,
    key: &[u8],
    seq: SequenceNumber,
    kind: ValueType,
) -> &'a [u8] {
    let n = key.len() + 8;
    if n <= stack.len() {
        crate::coding::copy_short(&mut stack[..key.len()], key);
        let tag = pack_tag(seq, kind);
        stack[key.len()..n].copy_from_slice(&tag.to_le_bytes());
        &stack[..n]
    } else {
        append_internal_key(heap, key, seq, kind);
        heap
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ik(k: &[u8], s: u64, t: ValueType) -> Vec<u8> {
        internal_key(k, s, t)
    }

    #[test]
    fn parse_round_trip() {
        for k in [&b""[..], b"k", b"hello"] {
            for s in [0, 1, 100, MAX_SEQUENCE] {
                for t in [ValueType::Value, ValueType::Deletion] {
                    let enc = ik(k, s, t);
                    let p = ParsedInternalKey::parse(&enc).unwrap();
                    assert_eq!((p.user_key, p.sequence, p.kind), (k, s, t));
                }
            }
        }
        assert!(ParsedInternalKey::parse(b"short").is_none());
        let mut bad = ik(b"k", 1, ValueType::Value);
        let n = bad.len();
        bad[n - 8] = 7;
        assert!(ParsedInternalKey::parse(&bad).is_none());
    }

    #[test]
    fn ordering_is_user_key_then_newest_first() {
        let c = InternalKeyComparator;
        use ValueType::*;
        assert_eq!(
            c.compare(&ik(b"a", 5, Value), &ik(b"b", 1, Value)),
            Ordering::Less
        );
        assert_eq!(
            c.compare(&ik(b"a", 5, Value), &ik(b"a", 4, Value)),
            Ordering::Less
        );
        assert_eq!(
            c.compare(&ik(b"a", 5, Value), &ik(b"a", 5, Deletion)),
            Ordering::Less
        );
        assert_eq!(
            c.compare(&ik(b"a", 5, Value), &ik(b"a", 5, Value)),
            Ordering::Equal
        );
        assert_eq!(
            c.compare(&ik(b"ab", 1, Value), &ik(b"a", 9, Value)),
            Ordering::Greater
        );
    }

    #[test]
    fn shortest_separator_like_leveldb() {
        let c = InternalKeyComparator;
        use ValueType::*;
        let sep = |a: Vec<u8>, b: Vec<u8>| {
            let mut a = a;
            c.find_shortest_separator(&mut a, &b);
            a
        };
        // Same user key: unchanged.
        assert_eq!(
            sep(ik(b"foo", 100, Value), ik(b"foo", 99, Value)),
            ik(b"foo", 100, Value)
        );
        // Misordered or prefix: unchanged.
        assert_eq!(
            sep(ik(b"foo", 100, Value), ik(b"bar", 99, Value)),
            ik(b"foo", 100, Value)
        );
        assert_eq!(
            sep(ik(b"foo", 100, Value), ik(b"foobar", 99, Value)),
            ik(b"foo", 100, Value)
        );
        // Shortened, with the earliest tag.
        assert_eq!(
            sep(ik(b"foo", 100, Value), ik(b"hello", 200, Value)),
            ik(b"g", MAX_SEQUENCE, Value)
        );
        let mut k = ik(b"foo", 100, Value);
        c.find_short_successor(&mut k);
        assert_eq!(k, ik(b"g", MAX_SEQUENCE, Value));
    }

    #[test]
    fn abbreviations_order_keys_as_the_comparator_does_where_they_differ() {
        use crate::random::Rng;
        let c = InternalKeyComparator;
        let mut rng = Rng::new(11);
        // Short and long user keys over a tiny alphabet with zeros, so
        // that shared prefixes, trailing zeros and equal keys are common.
        let keys: Vec<Vec<u8>> = (0..400)
            .map(|_| {
                let len = rng.uniform(24) as usize;
                let user: Vec<u8> = (0..len)
                    .map(|_| [0u8, 1, 0x7f, 0xff][rng.uniform(4) as usize])
                    .collect();
                internal_key(&user, rng.uniform(4), ValueType::Value)
            })
            .collect();
        let mut ties = 0;
        for a in &keys {
            for b in &keys {
                let (x, y) = (c.abbreviate(a), c.abbreviate(b));
                if x == y {
                    ties += 1;
                } else {
                    assert_eq!(x.cmp(&y), c.compare(a, b), "{a:?} {b:?}");
                }
            }
        }
        assert!(ties > keys.len(), "the test should meet ties too");
    }

    /// Wherever two internal keys' abbreviations tie, `compare_tied`
    /// orders them as `compare` does: user keys that differ only past 16
    /// bytes, in trailing zeros, in length, and versions of one key.
    #[test]
    fn a_tie_orders_as_the_whole_comparison() {
        let c = InternalKeyComparator;
        let users: [&[u8]; 10] = [
            b"",
            b"\0",
            b"a",
            b"a\0",
            b"a\0\0",
            b"0123456789abcdef",
            b"0123456789abcdeg",
            b"0123456789abcdef\0",
            b"0123456789abcdefX",
            b"0123456789abcdefY",
        ];
        let mut keys = Vec::new();
        for u in users {
            for seq in [0, 1, 7, MAX_SEQUENCE] {
                for t in [ValueType::Value, ValueType::Deletion] {
                    keys.push(ik(u, seq, t));
                }
            }
        }
        let mut ties = 0;
        for a in &keys {
            for b in &keys {
                if c.abbreviate(a) == c.abbreviate(b) {
                    ties += 1;
                    assert_eq!(c.compare_tied(a, b), c.compare(a, b), "{a:?} {b:?}");
                }
            }
        }
        assert!(ties > keys.len() * 8);
    }
}

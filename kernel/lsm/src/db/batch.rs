//! Write batches: the unit of a WAL record and of atomicity. LevelDB's
//! `WriteBatch` encoding:
//!
//! ```text
//!   fixed64 first sequence | fixed32 count | op*
//!   op: 1 (set) | varint key_len | key | varint value_len | value
//!       0 (delete) | varint key_len | key
//! ```

use alloc::vec::Vec;

use crate::coding::{
    extend_short, get_fixed32, get_fixed64, get_length_prefixed, put_length_prefixed, put_varint64,
    varint_len,
};
use crate::error::{Corruption, CorruptionKind, Result};
use crate::key::{SequenceNumber, ValueType};

const HEADER: usize = 12;

/// Writes applied together: all or none survive a crash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteBatch {
    rep: Vec<u8>,
}

impl Default for WriteBatch {
    fn default() -> Self {
        Self::new()
    }
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty batch with room for operations of `bytes` in all (see
    /// [`WriteBatch::put_size`]): one allocation for the whole batch.
    pub fn with_capacity(bytes: usize) -> Self {
        let mut b = Self { rep: Vec::new() };
        b.reset(bytes);
        b
    }

    /// The bytes a put of a `key_len`-byte key and a `value_len`-byte value
    /// takes in a batch.
    pub fn put_size(key_len: usize, value_len: usize) -> usize {
        1 + varint_len(key_len as u64) + key_len + varint_len(value_len as u64) + value_len
    }

    /// The bytes a delete of a `key_len`-byte key takes in a batch.
    pub fn delete_size(key_len: usize) -> usize {
        1 + varint_len(key_len as u64) + key_len
    }

    /// Adds setting `key` to `value`.
    pub fn put(&mut self, key: &[u8], value: &[u8]) {
        self.put_parts(key, &[value]);
    }

    /// Adds setting `key` to the concatenation of `parts` (a header and a
    /// payload, say), without building it first.
    pub fn put_parts(&mut self, key: &[u8], parts: &[&[u8]]) {
        self.rep.push(ValueType::Value as u8);
        put_length_prefixed(&mut self.rep, key);
        let len: usize = parts.iter().map(|p| p.len()).sum();
        put_varint64(&mut self.rep, len as u64);
        for p in parts {
            extend_short(&mut self.rep, p);
        }
        self.set_count(self.count() + 1);
    }

    /// Adds deleting `key`.
    pub fn delete(&mut self, key: &[u8]) {
        self.rep.push(ValueType::Deletion as u8);
        put_length_prefixed(&mut self.rep, key);
        self.set_count(self.count() + 1);
    }

    /// Empties the batch and makes room for operations of `bytes` in all,
    /// keeping its buffer: a batch kept and filled again allocates only to
    /// grow (see [`Db::write_batch`](super::Db::write_batch)).
    pub fn reset(&mut self, bytes: usize) {
        self.rep.clear();
        self.rep.reserve(HEADER + bytes);
        // Not `resize`: a `memset` call for 12 bytes.
        extend_short(&mut self.rep, &[0; HEADER]);
    }

    /// Bytes the batch's buffer holds without growing.
    pub fn capacity(&self) -> usize {
        self.rep.capacity()
    }

    /// Removes every operation.
    pub fn clear(&mut self) {
        self.reset(0);
    }

    /// Operations in the batch.
    #[inline]
    pub fn count(&self) -> u32 {
        get_fixed32(&self.rep, 8).unwrap_or(0)
    }

    fn set_count(&mut self, n: u32) {
        self.rep[8..12].copy_from_slice(&n.to_le_bytes());
    }

    /// Sequence number of the first operation.
    #[inline]
    pub fn sequence(&self) -> SequenceNumber {
        get_fixed64(&self.rep, 0).unwrap_or(0)
    }

    pub(crate) fn set_sequence(&mut self, seq: SequenceNumber) {
        self.rep[..8].copy_from_slice(&seq.to_le_bytes());
    }

    /// Encoded size in bytes.
    pub fn size(&self) -> usize {
        self.rep.len()
    }

    /// The encoding, as the WAL stores it.
    pub fn contents(&self) -> &[u8] {
        &self.rep
    }

    /// A batch from a WAL record, checked whole before any of it is used.
    pub fn from_contents(rep: Vec<u8>) -> Result<Self> {
        let b = Self { rep };
        if b.rep.len() < HEADER {
            return Err(Corruption::at("WAL record", CorruptionKind::Truncated).into());
        }
        let mut n = 0u32;
        b.for_each(|_, _, _, _| {
            n += 1;
            Ok(())
        })?;
        if n != b.count() {
            return Err(
                Corruption::at("WAL record", CorruptionKind::Malformed("batch count")).into(),
            );
        }
        Ok(b)
    }

    /// Calls `f(sequence, kind, key, value)` for each operation, in order.
    pub fn for_each(
        &self,
        mut f: impl FnMut(SequenceNumber, ValueType, &[u8], &[u8]) -> Result<()>,
    ) -> Result<()> {
        let bad = |what| Corruption::at("WAL record", CorruptionKind::Malformed(what));
        let mut rest = self.rep.get(HEADER..).unwrap_or(&[]);
        let mut seq = self.sequence();
        while let Some((&tag, after)) = rest.split_first() {
            let kind = ValueType::from_byte(tag).ok_or_else(|| bad("batch operation"))?;
            let (key, after) = get_length_prefixed(after).ok_or_else(|| bad("batch key"))?;
            let (value, after) = match kind {
                ValueType::Value => get_length_prefixed(after).ok_or_else(|| bad("batch value"))?,
                ValueType::Deletion => (&[][..], after),
            };
            f(seq, kind, key, value)?;
            seq += 1;
            rest = after;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn round_trip() {
        let mut b = WriteBatch::new();
        b.put(b"a", b"1");
        b.delete(b"b");
        b.put(b"c", b"");
        b.set_sequence(100);
        let b2 = WriteBatch::from_contents(b.contents().to_vec()).unwrap();
        let mut ops = Vec::new();
        b2.for_each(|s, k, key, v| {
            ops.push((s, k, key.to_vec(), v.to_vec()));
            Ok(())
        })
        .unwrap();
        assert_eq!(
            ops,
            [
                (100, ValueType::Value, b"a".to_vec(), b"1".to_vec()),
                (101, ValueType::Deletion, b"b".to_vec(), Vec::new()),
                (102, ValueType::Value, b"c".to_vec(), Vec::new()),
            ]
        );
        assert_eq!(b2.count(), 3);
    }

    #[test]
    fn sizes_are_exact() {
        for (k, v) in [(0, 0), (16, 100), (127, 128), (300, 70_000)] {
            let (key, value) = (alloc::vec![b'k'; k], alloc::vec![b'v'; v]);
            let mut b = WriteBatch::with_capacity(WriteBatch::put_size(k, v));
            b.put(&key, &value);
            assert_eq!(b.size(), HEADER + WriteBatch::put_size(k, v));
            let mut d = WriteBatch::with_capacity(WriteBatch::delete_size(k));
            d.delete(&key);
            assert_eq!(d.size(), HEADER + WriteBatch::delete_size(k));
        }
    }

    #[test]
    fn damaged_batches_are_refused() {
        let mut b = WriteBatch::new();
        b.put(b"key", b"value");
        b.delete(b"other");
        let rep = b.contents().to_vec();
        for cut in 0..rep.len() {
            assert!(
                WriteBatch::from_contents(rep[..cut].to_vec()).is_err(),
                "cut {cut}"
            );
        }
        let mut bad = rep.clone();
        bad[8] = 5;
        assert!(WriteBatch::from_contents(bad).is_err());
        let mut bad = rep;
        bad[HEADER] = 9;
        assert!(WriteBatch::from_contents(bad).is_err());
    }
}

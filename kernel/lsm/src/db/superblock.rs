//! The superblock: what this disk is, how it is divided, and which manifest
//! is current. Two copies in two 4 KiB slots at the start of the disk; each
//! update writes the slot not holding the current copy, with the generation
//! one higher, in a single (atomic) sector write, so a crash leaves either the
//! old or the new superblock readable.
//!
//! ```text
//!   slot (first 512 bytes of 4 KiB; the rest is zero):
//!   magic "unikvDB\0" | u32 format version | u64 generation | u64 capacity
//!   | u64 manifest start | u64 manifest half | u64 wal start | u64 wal half
//!   | u64 table start | u64 table length | u32 manifest half in use
//!   | u32 manifest log number | u32 masked crc32c of all before it
//! ```

use alloc::vec;
use alloc::vec::Vec;

use crate::coding::{get_fixed32, get_fixed64, put_fixed32, put_fixed64};
use crate::crc32c;
use crate::device::SECTOR_SIZE;
use crate::error::{Corruption, CorruptionKind, Error, Result};

/// First bytes of a unikv disk.
pub const MAGIC: [u8; 8] = *b"unikvDB\0";
/// The on-disk format this code writes (and every superblock it writes
/// says): version 3 added data blocks' hash indexes.
pub const FORMAT_VERSION: u32 = 3;
/// The oldest format this code reads: a version 2 disk differs only in
/// that its data blocks carry no hash index, which a block says itself.
/// Opening one for writing rewrites its superblock as version 3 before any
/// table it writes is live, so that older code refuses it from then on.
pub const OLDEST_READ_VERSION: u32 = 2;
/// Size of one superblock slot.
pub const SLOT_SIZE: u64 = 4096;
/// Bytes at the start of the disk reserved for the two slots.
pub const SUPERBLOCK_AREA: u64 = 2 * SLOT_SIZE;

const ENCODED_LEN: usize = 8 + 4 + 8 + 8 * 7 + 4 + 4 + 4;

/// How a disk is divided. Fixed when the disk is formatted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Device size at format time.
    pub capacity: u64,
    /// Start of the manifest region (two halves).
    pub manifest_start: u64,
    /// Size of one manifest half.
    pub manifest_half: u64,
    /// Start of the WAL region (two halves).
    pub wal_start: u64,
    /// Size of one WAL half.
    pub wal_half: u64,
    /// Start of the table region.
    pub table_start: u64,
    /// Size of the table region.
    pub table_len: u64,
}

fn round_down(v: u64, to: u64) -> u64 {
    v - v % to
}

impl Layout {
    /// The layout of a disk of `capacity` bytes, or `None` if it is too small
    /// to hold a store (under 2 MiB). A WAL half of `wal_half` bytes is asked
    /// for (0: a default scaled to the disk).
    pub fn for_capacity(capacity: u64, wal_half: u64) -> Option<Self> {
        let capacity = round_down(capacity, SECTOR_SIZE as u64);
        if capacity < 2 << 20 {
            return None;
        }
        let manifest_half = round_down((capacity / 128).clamp(64 << 10, 4 << 20), 4096);
        let wal_half = if wal_half == 0 {
            (capacity / 16).clamp(256 << 10, 8 << 20)
        } else {
            wal_half
        };
        let wal_half =
            round_down(wal_half, crate::wal::BLOCK_SIZE as u64).max(crate::wal::BLOCK_SIZE as u64);
        let manifest_start = SUPERBLOCK_AREA;
        let wal_start = manifest_start + 2 * manifest_half;
        let table_start = wal_start + 2 * wal_half;
        let table_len = capacity.checked_sub(table_start)?;
        if table_len < capacity / 4 {
            return None;
        }
        Some(Self {
            capacity,
            manifest_start,
            manifest_half,
            wal_start,
            wal_half,
            table_start,
            table_len,
        })
    }

    /// The region of manifest half `i` (0 or 1).
    pub fn manifest_region(&self, i: u32) -> crate::wal::Region {
        crate::wal::Region {
            start: self.manifest_start + u64::from(i & 1) * self.manifest_half,
            len: self.manifest_half,
        }
    }

    /// The region of the WAL half that log `number` lives in.
    pub fn wal_region(&self, number: u64) -> crate::wal::Region {
        crate::wal::Region {
            start: self.wal_start + (number & 1) * self.wal_half,
            len: self.wal_half,
        }
    }

    fn is_sane(&self) -> bool {
        let s = SECTOR_SIZE as u64;
        let aligned = [
            self.manifest_start,
            self.manifest_half,
            self.wal_start,
            self.wal_half,
            self.table_start,
            self.table_len,
        ]
        .iter()
        .all(|v| v.is_multiple_of(s));
        let ordered = self.manifest_start >= SUPERBLOCK_AREA
            && self.manifest_half > 0
            && self.wal_half > 0
            && self.manifest_start.checked_add(2 * self.manifest_half) <= Some(self.wal_start)
            && self.wal_start.checked_add(2 * self.wal_half) <= Some(self.table_start)
            && self.table_start.checked_add(self.table_len) <= Some(self.capacity);
        aligned && ordered
    }
}

/// The content of a superblock slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Superblock {
    /// The format version the slot says (what this code writes says
    /// [`FORMAT_VERSION`], whatever this field holds).
    pub version: u32,
    /// Higher wins between the two slots.
    pub generation: u64,
    /// How the disk is divided.
    pub layout: Layout,
    /// The manifest half in use.
    pub manifest_half: u32,
    /// The log number of the current manifest.
    pub manifest_log: u32,
}

/// What a slot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// Zeros: never written.
    Empty,
    /// Not a unikv superblock.
    Foreign,
    /// A unikv superblock of another format version.
    OtherVersion(u32),
    /// A unikv superblock that fails its checksum or describes an impossible
    /// layout.
    Damaged,
    /// A valid superblock.
    Valid(Superblock),
}

impl Superblock {
    /// The slot's bytes (one sector).
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(SECTOR_SIZE);
        b.extend_from_slice(&MAGIC);
        put_fixed32(&mut b, FORMAT_VERSION);
        put_fixed64(&mut b, self.generation);
        let l = &self.layout;
        for v in [
            l.capacity,
            l.manifest_start,
            l.manifest_half,
            l.wal_start,
            l.wal_half,
            l.table_start,
            l.table_len,
        ] {
            put_fixed64(&mut b, v);
        }
        put_fixed32(&mut b, self.manifest_half);
        put_fixed32(&mut b, self.manifest_log);
        let crc = crc32c::mask(crc32c::value(&b));
        put_fixed32(&mut b, crc);
        debug_assert_eq!(b.len(), ENCODED_LEN);
        b.resize(SECTOR_SIZE, 0);
        b
    }

    /// Reads a slot.
    pub fn decode(slot: &[u8]) -> Slot {
        if slot.iter().all(|&b| b == 0) {
            return Slot::Empty;
        }
        if slot.len() < ENCODED_LEN || slot[..8] != MAGIC {
            return Slot::Foreign;
        }
        let f32 = |at| get_fixed32(slot, at).unwrap_or(0);
        let f64 = |at| get_fixed64(slot, at).unwrap_or(0);
        let crc_at = ENCODED_LEN - 4;
        if crc32c::unmask(f32(crc_at)) != crc32c::value(&slot[..crc_at]) {
            return Slot::Damaged;
        }
        let version = f32(8);
        if !(OLDEST_READ_VERSION..=FORMAT_VERSION).contains(&version) {
            return Slot::OtherVersion(version);
        }
        let layout = Layout {
            capacity: f64(20),
            manifest_start: f64(28),
            manifest_half: f64(36),
            wal_start: f64(44),
            wal_half: f64(52),
            table_start: f64(60),
            table_len: f64(68),
        };
        if !layout.is_sane() {
            return Slot::Damaged;
        }
        Slot::Valid(Superblock {
            version,
            generation: f64(12),
            layout,
            manifest_half: f32(76) & 1,
            manifest_log: f32(80),
        })
    }

    /// Byte offset of the slot this superblock is written to (by generation,
    /// so consecutive generations alternate slots).
    pub fn slot_offset(&self) -> u64 {
        (self.generation & 1) * SLOT_SIZE
    }

    /// The zeroed area of both slots, for tests.
    pub fn empty_area() -> Vec<u8> {
        vec![0; SUPERBLOCK_AREA as usize]
    }
}

/// The superblock a disk whose first [`SUPERBLOCK_AREA`] bytes are `area`
/// is mounted with: the valid slot of the higher generation, or `None` if
/// the area is blank. With no valid slot, a slot of another format version
/// is [`Error::UnsupportedVersion`], a damaged one corruption, and any
/// other byte [`Error::ForeignFormat`]: the caller leaves such a disk
/// alone.
pub fn choose(area: &[u8]) -> Result<Option<Superblock>> {
    let slots = [
        Superblock::decode(&area[..SECTOR_SIZE]),
        Superblock::decode(&area[SLOT_SIZE as usize..][..SECTOR_SIZE]),
    ];
    let best = slots
        .iter()
        .filter_map(|s| match s {
            Slot::Valid(sb) => Some(*sb),
            _ => None,
        })
        .max_by_key(|sb| sb.generation);
    if best.is_some() {
        return Ok(best);
    }
    if let Some(found) = slots.iter().find_map(|s| match s {
        Slot::OtherVersion(v) => Some(*v),
        _ => None,
    }) {
        return Err(Error::UnsupportedVersion {
            found,
            supported: FORMAT_VERSION,
        });
    }
    if slots.contains(&Slot::Damaged) {
        return Err(Corruption::at("superblock", CorruptionKind::ChecksumMismatch).into());
    }
    if slots.contains(&Slot::Foreign) || area.iter().any(|&b| b != 0) {
        return Err(Error::ForeignFormat);
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sb() -> Superblock {
        Superblock {
            version: FORMAT_VERSION,
            generation: 3,
            layout: Layout::for_capacity(64 << 20, 0).unwrap(),
            manifest_half: 1,
            manifest_log: 9,
        }
    }

    #[test]
    fn round_trip() {
        let s = sb();
        let enc = s.encode();
        assert_eq!(enc.len(), SECTOR_SIZE);
        assert_eq!(Superblock::decode(&enc), Slot::Valid(s));
        assert_eq!(Superblock::decode(&[0; 512]), Slot::Empty);
    }

    #[test]
    fn every_bit_flip_is_refused() {
        let enc = sb().encode();
        for byte in 0..ENCODED_LEN {
            for bit in 0..8 {
                let mut d = enc.clone();
                d[byte] ^= 1 << bit;
                let r = Superblock::decode(&d);
                assert!(
                    matches!(r, Slot::Foreign | Slot::Damaged),
                    "{byte}.{bit}: {r:?}"
                );
            }
        }
    }

    #[test]
    fn other_version_is_recognised() {
        let mut enc = sb().encode();
        let other = FORMAT_VERSION + 1;
        enc[8..12].copy_from_slice(&other.to_le_bytes());
        let crc_at = ENCODED_LEN - 4;
        let crc = crc32c::mask(crc32c::value(&enc[..crc_at]));
        enc[crc_at..crc_at + 4].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(Superblock::decode(&enc), Slot::OtherVersion(other));
        let mut foreign = vec![0u8; 512];
        foreign[..4].copy_from_slice(b"\x7fELF");
        assert_eq!(Superblock::decode(&foreign), Slot::Foreign);
    }

    #[test]
    fn layouts_fit_their_disks() {
        assert!(Layout::for_capacity(1 << 20, 0).is_none());
        for cap in [2u64 << 20, 8 << 20, 64 << 20, 1 << 30, 100 << 30] {
            let l = Layout::for_capacity(cap, 0).unwrap();
            assert!(l.is_sane(), "{l:?}");
            assert!(l.table_len >= cap / 4);
            assert_ne!(l.wal_region(1).start, l.wal_region(2).start);
        }
    }
}

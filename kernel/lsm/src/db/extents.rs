//! The table region's free space: sorted, disjoint, coalesced extents,
//! allocated best fit (and split over several holes when no one hole
//! fits), rebuilt at open from the tables the manifest names.

use alloc::vec;
use alloc::vec::Vec;

use crate::device::SECTOR_SIZE;
use crate::error::{Corruption, CorruptionKind, Result};

use super::superblock::Layout;
use super::version::{Extent, Version, MAX_EXTENTS};

/// Free space of the table region as sorted, disjoint, coalesced extents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtentAllocator {
    free: Vec<(u64, u64)>,
}

impl ExtentAllocator {
    /// The region `[start, start + len)` minus the `used` extents, which must
    /// lie inside it and not overlap (else the manifest is damaged).
    pub fn new(start: u64, len: u64, used: &mut [(u64, u64)]) -> Result<Self> {
        used.sort_unstable();
        let mut free = Vec::new();
        let mut at = start;
        let end = start + len;
        for &(off, size) in used.iter() {
            let size = round_up(size);
            if off < at || off.checked_add(size).is_none_or(|e| e > end) {
                return Err(Corruption::at(
                    "manifest",
                    CorruptionKind::Malformed("table extents overlap or leave the region"),
                )
                .into());
            }
            if off > at {
                free.push((at, off - at));
            }
            at = off + size;
        }
        if end > at {
            free.push((at, end - at));
        }
        Ok(Self { free })
    }

    /// The table region of `layout` less the tables of `version`: the free
    /// space as the store finds it when it opens.
    pub fn for_version(layout: &Layout, version: &Version) -> Result<Self> {
        let mut used: Vec<(u64, u64)> = version
            .files()
            .flat_map(|(_, f)| f.extents.iter().map(|e| (e.offset, e.len)))
            .collect();
        Self::new(layout.table_start, layout.table_len, &mut used)
    }

    /// An extent for `size` bytes (rounded up to a sector): the smallest
    /// that fits, lowest first among equals, so that large free extents
    /// stay whole for large tables on a nearly full disk.
    pub fn allocate(&mut self, size: u64) -> Option<u64> {
        let size = round_up(size);
        let (i, _) = self
            .free
            .iter()
            .enumerate()
            .filter(|(_, &(_, len))| len >= size)
            .min_by_key(|(_, &(_, len))| len)?;
        let (off, len) = self.free[i];
        if len == size {
            self.free.remove(i);
        } else {
            self.free[i] = (off + size, len - size);
        }
        Some(off)
    }

    /// Extents for `size` bytes: the one that fits best, else (the free
    /// space being in pieces) the largest pieces, then the best fit for
    /// the rest. `None` if there is not enough free space, or only in more
    /// than `MAX_EXTENTS` (256) pieces.
    pub fn allocate_extents(&mut self, size: u64) -> Option<Vec<Extent>> {
        let need = round_up(size);
        if let Some(offset) = self.allocate(need) {
            return Some(vec![Extent { offset, len: need }]);
        }
        if self.free_bytes() < need {
            return None;
        }
        let mut out = Vec::new();
        let mut left = need;
        while left > 0 {
            if out.len() == MAX_EXTENTS {
                self.release_extents(&out);
                return None;
            }
            if let Some(offset) = self.allocate(left) {
                out.push(Extent { offset, len: left });
                break;
            }
            let (i, _) = self
                .free
                .iter()
                .enumerate()
                .max_by_key(|(_, &(_, len))| len)?;
            let (offset, len) = self.free.remove(i);
            out.push(Extent { offset, len });
            left -= len;
        }
        Some(out)
    }

    /// Returns a table's extents.
    pub fn release_extents(&mut self, extents: &[Extent]) {
        for e in extents {
            self.release(e.offset, e.len);
        }
    }

    /// Returns an extent.
    pub fn release(&mut self, off: u64, size: u64) {
        let size = round_up(size);
        let i = self.free.partition_point(|&(o, _)| o < off);
        self.free.insert(i, (off, size));
        // Coalesce with the neighbours.
        if i + 1 < self.free.len() && self.free[i].0 + self.free[i].1 == self.free[i + 1].0 {
            self.free[i].1 += self.free[i + 1].1;
            self.free.remove(i + 1);
        }
        if i > 0 && self.free[i - 1].0 + self.free[i - 1].1 == self.free[i].0 {
            self.free[i - 1].1 += self.free[i].1;
            self.free.remove(i);
        }
    }

    /// Free bytes.
    pub fn free_bytes(&self) -> u64 {
        self.free.iter().map(|&(_, l)| l).sum()
    }

    /// The largest extent that can be had.
    pub fn largest(&self) -> u64 {
        self.free.iter().map(|&(_, l)| l).max().unwrap_or(0)
    }
}

/// `v` rounded up to a whole sector.
pub fn round_up(v: u64) -> u64 {
    // Saturating: sizes come from the manifest, and a huge one must fail the
    // bounds checks, not overflow.
    v.div_ceil(SECTOR_SIZE as u64)
        .saturating_mul(SECTOR_SIZE as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocator_reuses_and_coalesces() {
        let mut used = [(1024u64, 512u64), (4096, 1000)];
        let mut a = ExtentAllocator::new(0, 8192, &mut used).unwrap();
        assert_eq!(a.free_bytes(), 8192 - 512 - 1024);
        assert_eq!(a.allocate(1000), Some(0));
        assert_eq!(a.allocate(2000), Some(1536));
        assert_eq!(a.allocate(4000), None);
        a.release(1024, 512);
        a.release(0, 1000);
        a.release(1536, 2000);
        a.release(4096, 1000);
        assert_eq!(a.free_bytes(), 8192);
        assert_eq!(a.largest(), 8192);
        let mut bad = [(0u64, 4096u64), (2048, 512)];
        assert!(ExtentAllocator::new(0, 8192, &mut bad).is_err());
        let mut outside = [(8192u64, 512u64)];
        assert!(ExtentAllocator::new(0, 8192, &mut outside).is_err());
    }

    #[test]
    fn allocator_fits_best_then_splits_over_pieces() {
        // Free: 512 at 0, 2048 at 1024, 1024 at 4096, 3072 at 6144.
        let mut used = [(512u64, 512u64), (3072, 1024), (5120, 1024)];
        let mut a = ExtentAllocator::new(0, 9216, &mut used).unwrap();
        // Best fit: the 1024-byte hole, not the first that fits.
        let one = a.allocate_extents(1000).unwrap();
        assert_eq!(
            one,
            [Extent {
                offset: 4096,
                len: 1024
            }]
        );
        // 5000 bytes fit no hole: the largest (3072), then the best fit for
        // the remaining 2048 (exactly the hole at 1024).
        let two = a.allocate_extents(5000).unwrap();
        assert_eq!(
            two,
            [
                Extent {
                    offset: 6144,
                    len: 3072
                },
                Extent {
                    offset: 1024,
                    len: 2048
                }
            ]
        );
        assert_eq!(a.free_bytes(), 512);
        assert_eq!(a.allocate_extents(1000), None);
        a.release_extents(&two);
        a.release_extents(&one);
        assert_eq!(a.free_bytes(), 512 + 2048 + 1024 + 3072);
        // More than MAX_EXTENTS pieces: refused, and nothing is lost.
        let mut used: Vec<(u64, u64)> = (0..300u64).map(|i| (i * 1024 + 512, 512)).collect();
        let mut a = ExtentAllocator::new(0, 300 * 1024, &mut used).unwrap();
        let free = a.free_bytes();
        assert_eq!(a.allocate_extents(290 * 512), None);
        assert_eq!(a.free_bytes(), free);
        assert_eq!(a.allocate_extents(200 * 512).map(|e| e.len()), Some(200));
    }
}

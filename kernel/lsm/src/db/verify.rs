//! The consistency check (`VERIFY`): every live table read from the disk,
//! not the cache, its blocks' checksums checked and its keys checked to be
//! ordered, well formed and inside the range the manifest gives it.
//!
//! Separate because it reads the tables its own way (whole, uncached,
//! collecting every problem instead of stopping at the first) and serves no
//! request path.

use alloc::format;
use alloc::vec::Vec;

use super::{Db, Ikc, VerifyReport};
use crate::comparator::Comparator;
use crate::device::BlockDevice;
use crate::error::{Corruption, CorruptionKind, Result};
use crate::iter::KvIter;
use crate::key::ParsedInternalKey;
use crate::table::Table;

impl<D: BlockDevice> Db<D> {
    /// Reads every table and checks every block; reports all damage found.
    pub fn verify(&self) -> VerifyReport {
        self.verify_with(&mut || false)
    }

    /// [`verify`](Self::verify), asking `stop` before each table and each
    /// data block after a table's first; when it says `true` the check
    /// ends there, reported as [`VerifyReport::interrupted`].
    pub fn verify_with(&self, stop: &mut dyn FnMut() -> bool) -> VerifyReport {
        let mut report = VerifyReport::default();
        let cmp = Ikc::default();
        // Held while it reads: a job's deletes leave these tables' space
        // alone until the check is done.
        let version = self.sh.version();
        for (_, f) in version.files() {
            if stop() {
                report.interrupted = true;
                break;
            }
            report.tables += 1;
            let file = self.file(f, false, None);
            // Read from the disk, not the cache: damage since open counts.
            let t = match Table::open(&file, f.number, f.size, cmp)
                .and_then(|t| t.check_meta_blocks(&file).map(|()| t))
            {
                Ok(t) => t,
                Err(e) => {
                    report.errors.push(e);
                    continue;
                }
            };
            let mut it = t.iter(&file);
            let mut prev: Option<Vec<u8>> = None;
            let r = (|| -> Result<()> {
                it.seek_to_first()?;
                let mut block = it.data_handle();
                while it.valid() {
                    if it.data_handle() != block {
                        block = it.data_handle();
                        if stop() {
                            report.interrupted = true;
                            return Ok(());
                        }
                    }
                    let k = it.key();
                    let out_of_range = cmp.compare(k, &f.smallest) == core::cmp::Ordering::Less
                        || cmp.compare(k, &f.largest) == core::cmp::Ordering::Greater;
                    let unordered = prev
                        .as_deref()
                        .is_some_and(|p| cmp.compare(p, k) != core::cmp::Ordering::Less);
                    if out_of_range || unordered || ParsedInternalKey::parse(k).is_none() {
                        return Err(Corruption::at(
                            format!("table {}", f.number),
                            CorruptionKind::OutOfOrder,
                        )
                        .into());
                    }
                    prev = Some(k.to_vec());
                    report.entries += 1;
                    it.next()?;
                }
                Ok(())
            })();
            if let Err(e) = r {
                report.errors.push(e);
            }
            if report.interrupted {
                break;
            }
        }
        report
    }
}

//! The write-ahead log: LevelDB's log format on a raw region of the disk.
//!
//! The region is a sequence of 32 KiB blocks. A record is stored as one or more
//! fragments, none crossing a block boundary, each behind an 11-byte header:
//!
//! ```text
//!   masked crc32c (4) | length (2) | type (1) | log number (4) | payload
//!   crc covers: type, log number, payload
//!   type: 1 FULL, 2 FIRST, 3 MIDDLE, 4 LAST
//! ```
//!
//! This is LevelDB's "recyclable" record format. A file system gives LevelDB a
//! fresh, empty file per log; a raw region instead still holds whatever the
//! previous log left there, so every fragment carries the number of the log it
//! belongs to, and a fragment of an older log ends the current one. A block's
//! tail shorter than a header is zero-filled and skipped.
//!
//! Recovery reads fragments until the first one that is not a valid fragment
//! of this log, and drops an incomplete record at that point: a write that was
//! torn by a power cut (some sectors on the disk, others not) ends the log
//! there, and nothing after it is replayed. Because of that, a log must never
//! be appended to after recovery: the store replays it, saves its content in a
//! table, and starts a new log number.
//!
//! The writer keeps the log's partial last sector in memory and rewrites it as
//! it fills; a sector is written atomically, so a lost rewrite leaves the
//! sector's previous, already durable content.

use alloc::vec;
use alloc::vec::Vec;

use crate::coding::get_fixed32;
use crate::crc32c;
use crate::device::{BlockDevice, DeviceError, SECTOR_SIZE};
use crate::error::{Error, Result};

/// Size of a log block; fragments never cross one.
pub const BLOCK_SIZE: usize = 32 * 1024;
/// Size of a fragment header.
pub const HEADER_SIZE: usize = 11;

const FULL: u8 = 1;
const FIRST: u8 = 2;
const MIDDLE: u8 = 3;
const LAST: u8 = 4;

/// Buffered bytes beyond which [`LogWriter::append`] writes whole sectors out
/// without waiting for a sync, so the buffer stays bounded.
const WRITE_BEHIND: usize = 256 * 1024;

/// A region of the device, in bytes, both ends sector-aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// Byte offset of the region on the device.
    pub start: u64,
    /// Length of the region in bytes.
    pub len: u64,
}

impl Region {
    fn check(&self) -> Result<()> {
        let s = SECTOR_SIZE as u64;
        if !self.start.is_multiple_of(s) || !self.len.is_multiple_of(s) {
            return Err(Error::InvalidArgument("WAL region not sector-aligned"));
        }
        Ok(())
    }
}

fn fragment_crc(kind: u8, log_number: u32, payload: &[u8]) -> u32 {
    let mut head = [0u8; 5];
    head[0] = kind;
    head[1..].copy_from_slice(&log_number.to_le_bytes());
    crc32c::extend(crc32c::value(&head), payload)
}

/// Bytes a record of `len` bytes takes when appended at region offset `pos`.
fn encoded_len(mut pos: u64, len: usize) -> u64 {
    let start = pos;
    let mut left = len;
    let mut first = true;
    while first || left > 0 {
        first = false;
        let in_block = (pos % BLOCK_SIZE as u64) as usize;
        let room = BLOCK_SIZE - in_block;
        if room < HEADER_SIZE {
            pos += room as u64;
            continue;
        }
        let n = left.min(room - HEADER_SIZE);
        pos += (HEADER_SIZE + n) as u64;
        left -= n;
    }
    pos - start
}

/// Appends records to a log in a region.
#[derive(Debug)]
pub struct LogWriter {
    region: Region,
    log_number: u32,
    /// Region offset of the next byte to append.
    pos: u64,
    /// Region offset of `buf[0]`, always sector-aligned.
    buf_start: u64,
    /// Bytes from `buf_start` to `pos` not yet written out (plus the partial
    /// last sector, which is written out again when it grows).
    buf: Vec<u8>,
    /// Whether `buf` holds bytes the device has not seen.
    dirty: bool,
    /// The CRC of each fragment kind's header bytes (kind, log number),
    /// which every fragment's CRC extends: worked out once per log, as
    /// LevelDB's writer does for the kind.
    head_crcs: [u32; LAST as usize + 1],
}

impl LogWriter {
    /// A writer starting an empty log numbered `log_number` (never 0, so that
    /// a zeroed region is never mistaken for a log) at the region's start.
    pub fn new(region: Region, log_number: u32) -> Result<Self> {
        region.check()?;
        if log_number == 0 {
            return Err(Error::InvalidArgument("log number 0 is reserved"));
        }
        Ok(Self {
            region,
            log_number,
            pos: 0,
            buf_start: 0,
            buf: Vec::new(),
            dirty: false,
            head_crcs: core::array::from_fn(|kind| fragment_crc(kind as u8, log_number, &[])),
        })
    }

    /// The log's number.
    pub fn log_number(&self) -> u32 {
        self.log_number
    }

    /// Bytes the log takes in its region so far.
    pub fn len(&self) -> u64 {
        self.pos
    }

    /// Whether nothing was appended.
    pub fn is_empty(&self) -> bool {
        self.pos == 0
    }

    /// Bytes a record of `len` bytes would take if appended now.
    #[inline]
    pub fn cost(&self, len: usize) -> u64 {
        encoded_len(self.pos, len)
    }

    /// Appends a record to the buffer; it reaches the device at the next
    /// [`LogWriter::write_out`] or [`LogWriter::sync`], or earlier when the
    /// buffer grows large. Refuses, changing nothing, a record that does not
    /// fit in the region.
    pub fn append<D: BlockDevice + ?Sized>(&mut self, dev: &mut D, record: &[u8]) -> Result<()> {
        self.append_buffered(record)?;
        if self.buf.len() >= WRITE_BEHIND {
            self.write_out(dev)?;
        }
        Ok(())
    }

    /// Appends a record to the buffer only, however large it grows: for a
    /// writer whose earlier bytes are being written by someone else (see
    /// [`LogWriter::take_write_out`]), which must not write meanwhile.
    pub fn append_buffered(&mut self, record: &[u8]) -> Result<()> {
        let needed = self.cost(record.len());
        if self.pos + needed > self.region.len {
            return Err(Error::NoSpace {
                region: "WAL region",
                needed,
            });
        }
        let mut left = record;
        let mut first = true;
        while first || !left.is_empty() {
            let in_block = (self.pos % BLOCK_SIZE as u64) as usize;
            let room = BLOCK_SIZE - in_block;
            if room < HEADER_SIZE {
                self.buf.resize(self.buf.len() + room, 0);
                self.pos += room as u64;
                continue;
            }
            let n = left.len().min(room - HEADER_SIZE);
            let last = n == left.len();
            let kind = match (first, last) {
                (true, true) => FULL,
                (true, false) => FIRST,
                (false, true) => LAST,
                (false, false) => MIDDLE,
            };
            let (payload, rest) = left.split_at(n);
            let crc = crc32c::mask(crc32c::extend(self.head_crcs[usize::from(kind)], payload));
            self.buf.extend_from_slice(&crc.to_le_bytes());
            self.buf.extend_from_slice(&(n as u16).to_le_bytes());
            self.buf.push(kind);
            self.buf.extend_from_slice(&self.log_number.to_le_bytes());
            crate::coding::extend_short(&mut self.buf, payload);
            self.pos += (HEADER_SIZE + n) as u64;
            left = rest;
            first = false;
        }
        self.dirty = true;
        Ok(())
    }

    /// Writes every buffered byte to the device (without a flush), padding
    /// the last sector with zeros; keeps the partial last sector for later.
    pub fn write_out<D: BlockDevice + ?Sized>(&mut self, dev: &mut D) -> Result<()> {
        if !self.dirty {
            return Ok(());
        }
        self.put_out(|at, bytes| dev.write(at, bytes))
    }

    /// Hands the buffered bytes, padded to whole sectors, to `write`, and
    /// keeps only the partial last sector once it succeeds.
    fn put_out(
        &mut self,
        write: impl FnOnce(u64, &[u8]) -> core::result::Result<(), DeviceError>,
    ) -> Result<()> {
        let used = self.buf.len();
        let padded = used.div_ceil(SECTOR_SIZE) * SECTOR_SIZE;
        self.buf.resize(padded, 0);
        let written = write(self.region.start + self.buf_start, &self.buf);
        self.buf.truncate(used);
        written?;
        let keep_from = used - used % SECTOR_SIZE;
        self.buf.drain(..keep_from);
        self.buf_start += keep_from as u64;
        self.dirty = false;
        Ok(())
    }

    /// What [`LogWriter::write_out`] would write, taken as if written: the
    /// device offset and the bytes, padded to whole sectors, for a caller
    /// that writes (and flushes) them itself, without holding the writer;
    /// `None` if nothing is buffered. They share the partial last sector
    /// with the next write-out, so they must reach the device before any
    /// later write of this writer does, and a failure to write them must
    /// end the log (the store's fatal latch).
    pub fn take_write_out(&mut self) -> Option<(u64, Vec<u8>)> {
        if !self.dirty {
            return None;
        }
        let used = self.buf.len();
        let keep_from = used - used % SECTOR_SIZE;
        let tail = self.buf[keep_from..].to_vec();
        let mut out = core::mem::replace(&mut self.buf, tail);
        out.resize(used.div_ceil(SECTOR_SIZE) * SECTOR_SIZE, 0);
        let at = self.region.start + self.buf_start;
        self.buf_start += keep_from as u64;
        self.dirty = false;
        Some((at, out))
    }

    /// Writes out and flushes: every appended record is durable after this.
    /// The write-out and the flush are one [`BlockDevice::write_durable`],
    /// which a device may do in one request.
    pub fn sync<D: BlockDevice + ?Sized>(&mut self, dev: &mut D) -> Result<()> {
        if !self.dirty {
            dev.flush()?;
            return Ok(());
        }
        self.put_out(|at, bytes| dev.write_durable(at, bytes))
    }
}

/// Why a log ended where it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogEnd {
    /// Zeros, a fragment of an older log, or the end of the region: the log
    /// was written up to here and no further.
    Clean,
    /// A fragment that fails its checksum or is malformed: a write torn by a
    /// power cut, or damage. Nothing from here on is replayed.
    Torn,
}

/// Reads the records of one log from a region.
#[derive(Debug)]
pub struct LogReader {
    region: Region,
    log_number: u32,
    block: Vec<u8>,
    /// Region offset of `block[0]`; `None` before the first read.
    block_start: Option<u64>,
    /// Region offset of the next fragment.
    pos: u64,
    /// Region offset just past the last complete record returned.
    end_of_records: u64,
    end: Option<LogEnd>,
}

impl LogReader {
    /// A reader of the log numbered `log_number` at the region's start.
    pub fn new(region: Region, log_number: u32) -> Result<Self> {
        region.check()?;
        Ok(Self {
            region,
            log_number,
            block: vec![0; BLOCK_SIZE],
            block_start: None,
            pos: 0,
            end_of_records: 0,
            end: None,
        })
    }

    /// Why the log ended, once [`LogReader::next_record`] has returned `None`.
    pub fn end(&self) -> Option<LogEnd> {
        self.end
    }

    /// Region offset just past the last complete record returned.
    pub fn valid_len(&self) -> u64 {
        self.end_of_records
    }

    /// Bytes between the last complete record and where reading stopped: the
    /// part of the log that was dropped.
    pub fn dropped_bytes(&self) -> u64 {
        self.pos.saturating_sub(self.end_of_records)
    }

    /// The next record, or `None` at the end of the log. Only device failures
    /// are errors: damage ends the log (see [`LogReader::end`]).
    pub fn next_record<D: BlockDevice + ?Sized>(&mut self, dev: &mut D) -> Result<Option<Vec<u8>>> {
        if self.end.is_some() {
            return Ok(None);
        }
        let mut record = Vec::new();
        let mut in_record = false;
        loop {
            let frag = match self.next_fragment(dev)? {
                Ok(f) => f,
                Err(end) => {
                    // An unfinished record at the end was torn too.
                    self.end = Some(if in_record { LogEnd::Torn } else { end });
                    return Ok(None);
                }
            };
            let (kind, start, len) = frag;
            let payload = &self.block[start..start + len];
            match (kind, in_record) {
                (FULL, false) => {
                    record.extend_from_slice(payload);
                    self.end_of_records = self.pos;
                    return Ok(Some(record));
                }
                (FIRST, false) => {
                    record.extend_from_slice(payload);
                    in_record = true;
                }
                (MIDDLE, true) => record.extend_from_slice(payload),
                (LAST, true) => {
                    record.extend_from_slice(payload);
                    self.end_of_records = self.pos;
                    return Ok(Some(record));
                }
                _ => {
                    // A fragment out of sequence cannot come from the writer.
                    self.end = Some(LogEnd::Torn);
                    return Ok(None);
                }
            }
        }
    }

    /// The next fragment as (type, start in `block`, length), or why the log
    /// ends here. Advances `pos` past the fragment.
    fn next_fragment<D: BlockDevice + ?Sized>(
        &mut self,
        dev: &mut D,
    ) -> Result<core::result::Result<(u8, usize, usize), LogEnd>> {
        loop {
            if self.pos >= self.region.len {
                return Ok(Err(LogEnd::Clean));
            }
            let block_start = self.pos - self.pos % BLOCK_SIZE as u64;
            let block_len = (self.region.len - block_start).min(BLOCK_SIZE as u64) as usize;
            if self.block_start != Some(block_start) {
                self.block.resize(block_len, 0);
                dev.read(self.region.start + block_start, &mut self.block)?;
                self.block_start = Some(block_start);
            }
            let at = (self.pos - block_start) as usize;
            if block_len - at < HEADER_SIZE {
                // Zero padding at the end of a block, or the region's end.
                self.pos = block_start + block_len as u64;
                continue;
            }
            let header = &self.block[at..at + HEADER_SIZE];
            if header.iter().all(|&b| b == 0) {
                return Ok(Err(LogEnd::Clean));
            }
            let (Some(masked), Some(number)) = (get_fixed32(header, 0), get_fixed32(header, 7))
            else {
                return Ok(Err(LogEnd::Torn));
            };
            let len = usize::from(u16::from_le_bytes([header[4], header[5]]));
            let kind = header[6];
            let start = at + HEADER_SIZE;
            if start + len > block_len || !(FULL..=LAST).contains(&kind) {
                return Ok(Err(LogEnd::Torn));
            }
            let payload = &self.block[start..start + len];
            if crc32c::unmask(masked) != fragment_crc(kind, number, payload) {
                return Ok(Err(LogEnd::Torn));
            }
            if number != self.log_number {
                // A valid fragment of another log: what the region held before.
                return Ok(Err(LogEnd::Clean));
            }
            self.pos += (HEADER_SIZE + len) as u64;
            return Ok(Ok((kind, start, len)));
        }
    }
}

#[cfg(test)]
mod tests;

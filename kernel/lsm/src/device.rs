//! The storage boundary: the store reads and writes its disk only through
//! [`BlockDevice`]. The kernel implements it over virtio-blk; host tests use
//! [`MemDevice`], and [`FaultDevice`] to lose or tear unflushed writes at a
//! simulated power cut.

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use crate::random::Rng;

/// The unit of device I/O: offsets and lengths are multiples of it.
pub const SECTOR_SIZE: usize = 512;

/// A block device failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceError {
    /// Offset or length is not a multiple of [`SECTOR_SIZE`].
    Misaligned {
        /// Byte offset of the request.
        offset: u64,
        /// Length of the request in bytes.
        len: usize,
    },
    /// The request reaches past the end of the device.
    OutOfRange {
        /// Byte offset of the request.
        offset: u64,
        /// Length of the request in bytes.
        len: usize,
        /// Device capacity in bytes.
        capacity: u64,
    },
    /// The device reported an I/O error (the code is the driver's).
    Io(u32),
    /// The device lost power (fault injection): nothing more reaches it.
    PowerLoss,
    /// The store was closed and gave its device back: a background job
    /// that outlived it finds no device.
    Closed,
}

impl fmt::Display for DeviceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Misaligned { offset, len } => write!(
                f,
                "request of {len} bytes at offset {offset} is not sector-aligned"
            ),
            Self::OutOfRange {
                offset,
                len,
                capacity,
            } => write!(
                f,
                "request of {len} bytes at offset {offset} is past the end ({capacity} bytes)"
            ),
            Self::Io(code) => write!(f, "I/O error (status {code})"),
            Self::PowerLoss => f.write_str("power lost"),
            Self::Closed => f.write_str("the store is closed"),
        }
    }
}

/// A disk of sectors.
///
/// Implementers guarantee that a `write` followed by a successful `flush` is
/// durable: it survives a power cut. A write not yet flushed may be lost or
/// partially applied, but only in whole sectors: a sector holds either its old
/// or its new content. Reads see every completed write, flushed or not.
pub trait BlockDevice {
    /// Fills `buf` from the bytes at `offset`. Both are sector multiples.
    fn read(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), DeviceError>;
    /// Writes `data` at `offset`. Both are sector multiples.
    fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError>;
    /// Makes every completed write durable.
    fn flush(&mut self) -> Result<(), DeviceError>;
    /// Size of the device in bytes (a sector multiple).
    fn capacity(&self) -> u64;

    /// Hands the device a flush of every completed write and returns
    /// without waiting for it where the device can: `Ok(true)` when it is
    /// under way ([`BlockDevice::poll_flush`] says when it is done),
    /// `Ok(false)` when it is done already. Any other request waits for
    /// it first. One at a time: a flush started while another is under
    /// way covers it. By default the device flushes here.
    fn start_flush(&mut self) -> Result<bool, DeviceError> {
        self.flush().map(|()| false)
    }

    /// The outcome of the flush [`BlockDevice::start_flush`] left under
    /// way, once the device is done with it (or when none is); `None`
    /// while it still runs.
    fn poll_flush(&mut self) -> Option<Result<(), DeviceError>> {
        Some(Ok(()))
    }

    /// Writes `data` at `offset` and starts making it durable, with every
    /// completed write, as [`BlockDevice::start_flush`] does (its outcome
    /// is [`BlockDevice::poll_flush`]'s). A device that can make one write
    /// durable by itself (virtio-blk with its cache switched off) does it in
    /// one request; by default, the write and then the flush.
    fn start_durable_write(&mut self, offset: u64, data: Vec<u8>) -> Result<bool, DeviceError> {
        self.write(offset, &data)?;
        self.start_flush()
    }

    /// Writes `data` at `offset` and makes it durable, with every
    /// completed write: [`BlockDevice::start_durable_write`], waited for.
    fn write_durable(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        self.write(offset, data)?;
        self.flush()
    }

    /// A reader that needs no exclusive access to the device, for a device
    /// that serves reads from several threads at once alongside its writes
    /// (a file's positional reads): the store's reads then go through it,
    /// not through the device's lock, which a flush's or a compaction's
    /// write holds for a whole request. `None` (the default): every read
    /// takes the lock, as a device with one request queue needs (the
    /// kernel's virtio-blk).
    fn concurrent_reader(&self) -> Option<Arc<dyn ConcurrentRead>> {
        None
    }
}

/// Reads of a device that need no exclusive access (see
/// [`BlockDevice::concurrent_reader`]): the same contract as
/// [`BlockDevice::read`], every completed write visible.
pub trait ConcurrentRead: Send + Sync {
    /// Fills `buf` from the bytes at `offset`. Both are sector multiples.
    fn read(&self, offset: u64, buf: &mut [u8]) -> Result<(), DeviceError>;
}

impl<D: BlockDevice + ?Sized> BlockDevice for &mut D {
    fn read(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        (**self).read(offset, buf)
    }
    fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        (**self).write(offset, data)
    }
    fn flush(&mut self) -> Result<(), DeviceError> {
        (**self).flush()
    }
    fn capacity(&self) -> u64 {
        (**self).capacity()
    }
    fn start_flush(&mut self) -> Result<bool, DeviceError> {
        (**self).start_flush()
    }
    fn poll_flush(&mut self) -> Option<Result<(), DeviceError>> {
        (**self).poll_flush()
    }
    fn start_durable_write(&mut self, offset: u64, data: Vec<u8>) -> Result<bool, DeviceError> {
        (**self).start_durable_write(offset, data)
    }
    fn write_durable(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        (**self).write_durable(offset, data)
    }
    fn concurrent_reader(&self) -> Option<Arc<dyn ConcurrentRead>> {
        (**self).concurrent_reader()
    }
}

impl<D: BlockDevice + ?Sized> BlockDevice for alloc::boxed::Box<D> {
    fn read(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        (**self).read(offset, buf)
    }
    fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        (**self).write(offset, data)
    }
    fn flush(&mut self) -> Result<(), DeviceError> {
        (**self).flush()
    }
    fn capacity(&self) -> u64 {
        (**self).capacity()
    }
    fn start_flush(&mut self) -> Result<bool, DeviceError> {
        (**self).start_flush()
    }
    fn poll_flush(&mut self) -> Option<Result<(), DeviceError>> {
        (**self).poll_flush()
    }
    fn start_durable_write(&mut self, offset: u64, data: Vec<u8>) -> Result<bool, DeviceError> {
        (**self).start_durable_write(offset, data)
    }
    fn write_durable(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        (**self).write_durable(offset, data)
    }
    fn concurrent_reader(&self) -> Option<Arc<dyn ConcurrentRead>> {
        (**self).concurrent_reader()
    }
}

/// Checks a request against the sector rule and the device size; every
/// implementation should refuse the same requests.
pub fn check_request(offset: u64, len: usize, capacity: u64) -> Result<(), DeviceError> {
    let sector = SECTOR_SIZE as u64;
    if !offset.is_multiple_of(sector) || !len.is_multiple_of(SECTOR_SIZE) {
        return Err(DeviceError::Misaligned { offset, len });
    }
    match offset.checked_add(len as u64) {
        Some(end) if end <= capacity => Ok(()),
        _ => Err(DeviceError::OutOfRange {
            offset,
            len,
            capacity,
        }),
    }
}

/// A device in memory, durable by definition.
#[derive(Debug, Clone)]
pub struct MemDevice {
    data: Vec<u8>,
}

impl MemDevice {
    /// A zero-filled device of `capacity` bytes, rounded down to a sector.
    pub fn new(capacity: usize) -> Self {
        Self {
            data: vec![0; capacity - capacity % SECTOR_SIZE],
        }
    }

    /// The whole content, for tests that damage it on purpose.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }

    /// The whole content.
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }
}

impl BlockDevice for MemDevice {
    fn read(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        check_request(offset, buf.len(), self.capacity())?;
        let at = offset as usize;
        buf.copy_from_slice(&self.data[at..at + buf.len()]);
        Ok(())
    }

    fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        check_request(offset, data.len(), self.capacity())?;
        let at = offset as usize;
        self.data[at..at + data.len()].copy_from_slice(data);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), DeviceError> {
        Ok(())
    }

    fn capacity(&self) -> u64 {
        self.data.len() as u64
    }
}

/// What a crash did to the writes that were not flushed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CrashReport {
    /// Writes applied whole.
    pub kept: usize,
    /// Writes lost whole.
    pub dropped: usize,
    /// Writes of which only some sectors reached the disk.
    pub torn: usize,
}

/// Wraps a device and simulates power loss.
///
/// The inner device holds the durable state; writes since the last flush are
/// kept aside (reads see them) until [`BlockDevice::flush`] applies them. At
/// [`FaultDevice::crash`], a seeded PRNG decides for each unflushed write
/// whether it reached the disk whole, not at all, or torn (a random subset of
/// its sectors). [`FaultDevice::cut_power_after`] makes the device fail every
/// request after a given number, so a test can stop the store at any point.
#[derive(Debug)]
pub struct FaultDevice<D: BlockDevice> {
    inner: D,
    pending: Vec<(u64, Vec<u8>)>,
    rng: Rng,
    ops: u64,
    power_cut_at: Option<u64>,
    writes: u64,
    flushes: u64,
    /// A started flush not yet polled to its end: how many of `pending`
    /// (the oldest) it covers.
    in_flight: Option<usize>,
}

impl<D: BlockDevice> FaultDevice<D> {
    /// Wraps `inner`, whose content is taken as durable; `seed` fixes every
    /// choice made at a crash.
    pub fn new(inner: D, seed: u64) -> Self {
        Self {
            inner,
            pending: Vec::new(),
            rng: Rng::new(seed),
            ops: 0,
            power_cut_at: None,
            writes: 0,
            flushes: 0,
            in_flight: None,
        }
    }

    /// After `ops` more writes and flushes, every request fails with
    /// [`DeviceError::PowerLoss`] until [`FaultDevice::crash`].
    pub fn cut_power_after(&mut self, ops: u64) {
        self.power_cut_at = Some(self.ops + ops);
    }

    /// Whether the power is cut.
    pub fn is_powered_off(&self) -> bool {
        self.power_cut_at.is_some_and(|at| self.ops >= at)
    }

    /// Whether a started flush has not been polled to its end.
    pub fn flush_in_flight(&self) -> bool {
        self.in_flight.is_some()
    }

    /// Writes not flushed yet.
    pub fn unflushed_writes(&self) -> usize {
        self.pending.len()
    }

    /// Writes and flushes that reached the device since it was made.
    pub fn counts(&self) -> (u64, u64) {
        (self.writes, self.flushes)
    }

    /// Simulates a power cut: each unflushed write is kept, dropped, or torn
    /// at sector granularity; power then comes back.
    pub fn crash(&mut self) -> Result<CrashReport, DeviceError> {
        let mut report = CrashReport::default();
        // A flush under way at the cut may or may not have happened: what
        // it covers is as unflushed as the rest.
        self.in_flight = None;
        let pending = core::mem::take(&mut self.pending);
        for (offset, data) in pending {
            match self.rng.uniform(3) {
                0 => report.dropped += 1,
                1 => {
                    self.inner.write(offset, &data)?;
                    report.kept += 1;
                }
                _ => {
                    for (i, sector) in data.chunks(SECTOR_SIZE).enumerate() {
                        if self.rng.one_in(2) {
                            let at = offset + (i * SECTOR_SIZE) as u64;
                            self.inner.write(at, sector)?;
                        }
                    }
                    report.torn += 1;
                }
            }
        }
        self.inner.flush()?;
        self.power_cut_at = None;
        Ok(report)
    }

    /// The inner device, with unflushed writes thrown away.
    pub fn into_inner(self) -> D {
        self.inner
    }

    /// The inner (durable) device.
    pub fn inner_mut(&mut self) -> &mut D {
        &mut self.inner
    }

    fn tick(&mut self) -> Result<(), DeviceError> {
        if self.is_powered_off() {
            return Err(DeviceError::PowerLoss);
        }
        self.ops += 1;
        Ok(())
    }
}

impl<D: BlockDevice> BlockDevice for FaultDevice<D> {
    fn read(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        if self.is_powered_off() {
            return Err(DeviceError::PowerLoss);
        }
        self.inner.read(offset, buf)?;
        let end = offset + buf.len() as u64;
        // Later writes overlay earlier ones, as on the disk.
        for (w_off, data) in &self.pending {
            let w_end = w_off + data.len() as u64;
            let lo = offset.max(*w_off);
            let hi = end.min(w_end);
            if lo < hi {
                let dst = (lo - offset) as usize..(hi - offset) as usize;
                let src = (lo - w_off) as usize..(hi - w_off) as usize;
                buf[dst].copy_from_slice(&data[src]);
            }
        }
        Ok(())
    }

    fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        check_request(offset, data.len(), self.capacity())?;
        self.tick()?;
        self.writes += 1;
        self.pending.push((offset, data.to_vec()));
        Ok(())
    }

    fn flush(&mut self) -> Result<(), DeviceError> {
        self.tick()?;
        self.flushes += 1;
        for (offset, data) in core::mem::take(&mut self.pending) {
            self.inner.write(offset, &data)?;
        }
        // One under way covered less; it is done too.
        if self.in_flight.is_some() {
            self.in_flight = Some(0);
        }
        self.inner.flush()
    }

    fn capacity(&self) -> u64 {
        self.inner.capacity()
    }

    /// Covers the writes completed so far; they become durable when the
    /// flush is polled to its end (a crash before leaves them unflushed),
    /// and writes made meanwhile stay out of it.
    fn start_flush(&mut self) -> Result<bool, DeviceError> {
        self.tick()?;
        self.flushes += 1;
        self.in_flight = Some(self.pending.len());
        Ok(true)
    }

    fn poll_flush(&mut self) -> Option<Result<(), DeviceError>> {
        let Some(covered) = self.in_flight else {
            return Some(Ok(()));
        };
        if self.is_powered_off() {
            return Some(Err(DeviceError::PowerLoss));
        }
        self.in_flight = None;
        let done: Vec<_> = self.pending.drain(..covered).collect();
        for (offset, data) in done {
            if let Err(e) = self.inner.write(offset, &data) {
                return Some(Err(e));
            }
        }
        Some(self.inner.flush())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_device_round_trip_and_rules() {
        let mut d = MemDevice::new(4096);
        assert_eq!(d.capacity(), 4096);
        d.write(512, &[7u8; 1024]).unwrap();
        let mut buf = [0u8; 2048];
        d.read(0, &mut buf).unwrap();
        assert!(buf[..512].iter().all(|&b| b == 0));
        assert!(buf[512..1536].iter().all(|&b| b == 7));
        assert_eq!(
            d.write(100, &[0; 512]),
            Err(DeviceError::Misaligned {
                offset: 100,
                len: 512
            })
        );
        assert!(matches!(
            d.read(0, &mut [0; 100]),
            Err(DeviceError::Misaligned { .. })
        ));
        assert!(matches!(
            d.write(3584, &[0; 1024]),
            Err(DeviceError::OutOfRange { .. })
        ));
        assert!(matches!(
            d.read(u64::MAX - 511, &mut [0; 512]),
            Err(DeviceError::OutOfRange { .. })
        ));
    }

    #[test]
    fn fault_device_reads_see_unflushed_writes() {
        let mut d = FaultDevice::new(MemDevice::new(8192), 1);
        d.write(0, &[1; 1024]).unwrap();
        d.write(512, &[2; 512]).unwrap();
        let mut buf = [0u8; 1536];
        d.read(0, &mut buf).unwrap();
        assert!(buf[..512].iter().all(|&b| b == 1));
        assert!(buf[512..1024].iter().all(|&b| b == 2));
        assert!(buf[1024..].iter().all(|&b| b == 0));
        assert_eq!(d.unflushed_writes(), 2);
        d.flush().unwrap();
        assert_eq!(d.unflushed_writes(), 0);
        assert_eq!(&d.inner_mut().bytes()[512..1024], &[2; 512][..]);
    }

    #[test]
    fn flushed_writes_survive_every_crash() {
        for seed in 0..50 {
            let mut d = FaultDevice::new(MemDevice::new(8192), seed);
            d.write(0, &[9; 512]).unwrap();
            d.flush().unwrap();
            d.write(0, &[5; 512]).unwrap();
            d.write(1024, &[5; 2048]).unwrap();
            let r = d.crash().unwrap();
            assert_eq!(r.kept + r.dropped + r.torn, 2);
            let mem = d.into_inner();
            let first = &mem.bytes()[..512];
            assert!(first == [9; 512] || first == [5; 512]);
            // Each sector is old or new, never a mix within a sector.
            for sector in mem.bytes()[1024..3072].chunks(SECTOR_SIZE) {
                assert!(sector == [0; 512] || sector == [5; 512]);
            }
        }
    }

    #[test]
    fn crash_outcomes_cover_drop_keep_and_tear() {
        let mut seen = CrashReport::default();
        for seed in 0..30 {
            let mut d = FaultDevice::new(MemDevice::new(1 << 16), seed);
            for i in 0..8u64 {
                d.write(i * 4096, &[1; 4096]).unwrap();
            }
            let r = d.crash().unwrap();
            seen.kept += r.kept;
            seen.dropped += r.dropped;
            seen.torn += r.torn;
        }
        assert!(seen.kept > 0 && seen.dropped > 0 && seen.torn > 0);
    }

    #[test]
    fn power_cut_fails_requests_until_crash() {
        let mut d = FaultDevice::new(MemDevice::new(4096), 3);
        d.cut_power_after(2);
        d.write(0, &[1; 512]).unwrap();
        d.flush().unwrap();
        assert_eq!(d.write(512, &[1; 512]), Err(DeviceError::PowerLoss));
        assert_eq!(d.flush(), Err(DeviceError::PowerLoss));
        assert_eq!(d.read(0, &mut [0; 512]), Err(DeviceError::PowerLoss));
        d.crash().unwrap();
        let mut buf = [0u8; 512];
        d.read(0, &mut buf).unwrap();
        assert_eq!(buf, [1; 512]);
        assert_eq!(d.counts(), (1, 1));
    }
}

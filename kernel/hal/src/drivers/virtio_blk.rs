//! virtio-blk through `virtio-drivers`: byte-addressed reads and writes of
//! whole sectors, and FLUSH. The store's service adapts it to the store's
//! `BlockDevice` (this layer knows nothing of the store). It attaches
//! through either transport: virtio-blk-device (mmio) or virtio-blk-pci.
//!
//! Every request costs about 50 us under QEMU whatever its size, so the
//! store hands over large buffers and they go out as single requests of up
//! to `MAX_REQUEST` bytes.

use super::virtio::KernelHal;
use virtio_drivers::{device::blk::VirtIOBlk, transport::SomeTransport};

/// Largest single request: QEMU takes any size, this only bounds the time
/// one request holds the device.
const MAX_REQUEST: usize = 1 << 20;
/// virtio-blk's sector: every request is a whole number of them.
pub const SECTOR_SIZE: usize = 512;

#[derive(Debug)]
pub enum AttachError {
    Device(virtio_drivers::Error),
    ReadOnly,
}

impl core::fmt::Display for AttachError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Device(e) => write!(f, "virtio-blk: {e}"),
            Self::ReadOnly => f.write_str("the disk is read-only (QEMU readonly=on?)"),
        }
    }
}

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlkError {
    /// The offset or length is not a whole number of sectors.
    Unaligned,
    /// The request reaches past the end of the disk.
    OutOfRange,
    /// The device or the transport failed it.
    Device(virtio_drivers::Error),
}

impl BlkError {
    /// A status number for the failure, as a device would report one.
    pub fn code(&self) -> u32 {
        use virtio_drivers::Error as E;
        match self {
            Self::Device(E::IoError) => 1,
            Self::Device(E::Unsupported) => 2,
            Self::Device(E::NotReady) => 3,
            Self::Device(E::QueueFull) => 4,
            Self::Device(E::DmaError) => 5,
            Self::Device(_) => 99,
            Self::Unaligned => 100,
            Self::OutOfRange => 101,
        }
    }
}

impl core::fmt::Display for BlkError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Unaligned => f.write_str("request not aligned to 512-byte sectors"),
            Self::OutOfRange => f.write_str("request past the end of the disk"),
            Self::Device(e) => write!(f, "virtio-blk: {e}"),
        }
    }
}

/// One virtio-blk disk.
pub struct VirtioBlk {
    blk: VirtIOBlk<KernelHal, SomeTransport<'static>>,
    capacity: u64,
}

impl VirtioBlk {
    /// Attaches to the block device behind `transport`.
    pub fn attach(transport: SomeTransport<'static>) -> Result<Self, AttachError> {
        let blk = VirtIOBlk::<KernelHal, _>::new(transport).map_err(AttachError::Device)?;
        if blk.readonly() {
            return Err(AttachError::ReadOnly);
        }
        let capacity = blk.capacity() * SECTOR_SIZE as u64;
        Ok(Self { blk, capacity })
    }

    /// The disk's size in bytes.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// The first sector of a request of `len` bytes at `offset`, once it is
    /// known to be whole sectors inside the disk (virtio-drivers asserts
    /// whole sectors: a bad request must be refused before it gets there).
    fn start(&self, offset: u64, len: usize) -> Result<usize, BlkError> {
        if !offset.is_multiple_of(SECTOR_SIZE as u64) || !len.is_multiple_of(SECTOR_SIZE) {
            return Err(BlkError::Unaligned);
        }
        if offset
            .checked_add(len as u64)
            .is_none_or(|end| end > self.capacity)
        {
            return Err(BlkError::OutOfRange);
        }
        Ok((offset / SECTOR_SIZE as u64) as usize)
    }

    /// Reads `buf.len()` bytes at byte `offset`.
    pub fn read(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), BlkError> {
        let mut sector = self.start(offset, buf.len())?;
        for chunk in buf.chunks_mut(MAX_REQUEST) {
            self.blk
                .read_blocks(sector, chunk)
                .map_err(BlkError::Device)?;
            sector += chunk.len() / SECTOR_SIZE;
        }
        Ok(())
    }

    /// Writes `data` at byte `offset`.
    pub fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), BlkError> {
        let mut sector = self.start(offset, data.len())?;
        for chunk in data.chunks(MAX_REQUEST) {
            self.blk
                .write_blocks(sector, chunk)
                .map_err(BlkError::Device)?;
            sector += chunk.len() / SECTOR_SIZE;
        }
        Ok(())
    }

    /// Makes every completed write durable (virtio's FLUSH).
    pub fn flush(&mut self) -> Result<(), BlkError> {
        self.blk.flush().map_err(BlkError::Device)
    }
}

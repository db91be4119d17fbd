//! virtio-blk through `virtio-drivers`: byte-addressed reads and writes of
//! whole sectors, and FLUSH. The store's service adapts it to the store's
//! `BlockDevice` (this layer knows nothing of the store). It attaches
//! through either transport: virtio-blk-device (mmio) or virtio-blk-pci.
//!
//! Every request costs about 50 us under QEMU whatever its size, so the
//! store hands over large buffers and they go out as single requests of up
//! to `MAX_REQUEST` bytes.
//!
//! With an interrupt line of its own, a core that waits for a read or a
//! write sleeps in `wfi` until the device's interrupt, routed to it, says
//! the request is done. Waiting by polling the used ring (virtio-drivers'
//! blocking calls, and FLUSH, which has no other form) keeps a host thread
//! spinning for the whole request, a thread that the emulator's own I/O
//! and the other cores' vCPUs need: on a 2-core host the background
//! core's compaction and QEMU's completion of the very request ran slower
//! for it.

use super::virtio::KernelHal;
use crate::arch::{cpu, gicv3};
use virtio_drivers::{
    device::blk::{BlkReq, BlkResp, VirtIOBlk},
    transport::SomeTransport,
};

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
    /// The device's interrupt, when a request's waiter sleeps until it.
    intid: Option<u32>,
    /// The core that interrupt was last routed to, so that a waiter on the
    /// same core as the last need not route it again (an emulated write to
    /// the distributor).
    routed_to: Option<usize>,
}

/// The line stays raised until the waiter acknowledges the device, which
/// it does in its own time; masked meanwhile, the line cannot storm.
fn on_interrupt(intid: u32) {
    let _ = gicv3::mask(intid);
}

impl VirtioBlk {
    /// Attaches to the block device behind `transport`. With `intid` (a
    /// line no other device raises) requests are waited for asleep.
    pub fn attach(
        transport: SomeTransport<'static>,
        intid: Option<u32>,
    ) -> Result<Self, AttachError> {
        let mut blk = VirtIOBlk::<KernelHal, _>::new(transport).map_err(AttachError::Device)?;
        if blk.readonly() {
            return Err(AttachError::ReadOnly);
        }
        let capacity = blk.capacity() * SECTOR_SIZE as u64;
        let intid = intid.filter(|&i| match gicv3::claim(i, on_interrupt) {
            Ok(()) => true,
            Err(e) => {
                log::warn!("virtio-blk: interrupt {i}: {e}; requests are polled");
                false
            }
        });
        if intid.is_some() {
            blk.enable_interrupts();
        }
        Ok(Self {
            blk,
            capacity,
            intid,
            routed_to: None,
        })
    }

    /// Whether a request's waiter sleeps until the device's interrupt.
    pub fn interrupt(&self) -> Option<u32> {
        self.intid
    }

    /// Returns once the device has used the request `token`: asleep until
    /// its interrupt, on the waiting core.
    fn wait(&mut self, intid: u32, token: u16) {
        let me = crate::cpus::index();
        if self.routed_to != Some(me) && gicv3::route_here(intid).is_ok() {
            self.routed_to = Some(me);
        }
        loop {
            if self.blk.peek_used() == Some(token) {
                return;
            }
            // An interrupt taken after an earlier request was seen done
            // left the line masked: clear it, so this one's can come.
            self.blk.ack_interrupt();
            let _ = gicv3::unmask(intid);
            cpu::wait_for_interrupt_if(|| self.blk.peek_used() != Some(token));
        }
    }

    fn read_request(&mut self, sector: usize, buf: &mut [u8]) -> Result<(), BlkError> {
        let Some(intid) = self.intid else {
            return self.blk.read_blocks(sector, buf).map_err(BlkError::Device);
        };
        let (mut req, mut resp) = (BlkReq::default(), BlkResp::default());
        // SAFETY: `req`, `buf` and `resp` are not touched until
        // `complete_read_blocks` below, which always runs: `wait` returns
        // only once the device has used the request, and cannot fail.
        let token = unsafe { self.blk.read_blocks_nb(sector, &mut req, buf, &mut resp) }
            .map_err(BlkError::Device)?;
        self.wait(intid, token);
        // SAFETY: the same buffers as `read_blocks_nb` was given, for the
        // token it returned.
        unsafe { self.blk.complete_read_blocks(token, &req, buf, &mut resp) }
            .map_err(BlkError::Device)
    }

    fn write_request(&mut self, sector: usize, buf: &[u8]) -> Result<(), BlkError> {
        let Some(intid) = self.intid else {
            return self.blk.write_blocks(sector, buf).map_err(BlkError::Device);
        };
        let (mut req, mut resp) = (BlkReq::default(), BlkResp::default());
        // SAFETY: as in `read_request`: nothing touches the buffers before
        // `complete_write_blocks`, which always runs.
        let token = unsafe { self.blk.write_blocks_nb(sector, &mut req, buf, &mut resp) }
            .map_err(BlkError::Device)?;
        self.wait(intid, token);
        // SAFETY: the same buffers as `write_blocks_nb` was given, for the
        // token it returned.
        unsafe { self.blk.complete_write_blocks(token, &req, buf, &mut resp) }
            .map_err(BlkError::Device)
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
            self.read_request(sector, chunk)?;
            sector += chunk.len() / SECTOR_SIZE;
        }
        Ok(())
    }

    /// Writes `data` at byte `offset`.
    pub fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), BlkError> {
        let mut sector = self.start(offset, data.len())?;
        for chunk in data.chunks(MAX_REQUEST) {
            self.write_request(sector, chunk)?;
            sector += chunk.len() / SECTOR_SIZE;
        }
        Ok(())
    }

    /// Makes every completed write durable (virtio's FLUSH).
    pub fn flush(&mut self) -> Result<(), BlkError> {
        self.blk.flush().map_err(BlkError::Device)
    }
}

impl Drop for VirtioBlk {
    fn drop(&mut self) {
        if let Some(i) = self.intid {
            let _ = gicv3::disable(i);
        }
    }
}

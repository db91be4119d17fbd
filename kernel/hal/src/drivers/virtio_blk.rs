//! virtio-blk through `virtio-drivers`: byte-addressed reads and writes of
//! whole sectors, and FLUSH. The store's service adapts it to the store's
//! `BlockDevice` (this layer knows nothing of the store).
//!
//! The kernel's memory is identity-mapped and QEMU's virtio DMA is coherent,
//! so the `Hal` is thin: physical = virtual, sharing a buffer is passing its
//! address. Queue memory comes from a DMA pool reserved when the device is
//! attached, so running out of memory is an error at attach time (which the
//! `Hal` trait, whose `dma_alloc` cannot fail, has no way to say later).
//!
//! Every request costs about 50 us under QEMU whatever its size, so the
//! store hands over large buffers and they go out as single requests of up
//! to `MAX_REQUEST` bytes.

use crate::sync::IrqLock;
use core::alloc::Layout;
use core::ptr::NonNull;
use linked_list_allocator::Heap;
use virtio_drivers::{
    device::blk::VirtIOBlk,
    transport::mmio::{MmioTransport, VirtIOHeader},
    BufferDirection, Hal, PhysAddr, PAGE_SIZE,
};

/// Largest single request: QEMU takes any size, this only bounds the time
/// one request holds the device.
const MAX_REQUEST: usize = 1 << 20;
/// virtio-blk's sector: every request is a whole number of them.
pub const SECTOR_SIZE: usize = 512;
/// Pages reserved for virtqueues: a 16-entry queue needs 2; room for a few.
const DMA_POOL_PAGES: usize = 32;

static DMA_POOL: IrqLock<Heap> = IrqLock::new(Heap::empty());

#[derive(Debug)]
pub enum AttachError {
    NoMemory,
    NullAddress,
    Transport(virtio_drivers::transport::mmio::MmioError),
    Device(virtio_drivers::Error),
    ReadOnly,
}

impl core::fmt::Display for AttachError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NoMemory => f.write_str("out of memory for the virtio DMA pool"),
            Self::NullAddress => f.write_str("the device tree puts the device at address 0"),
            Self::Transport(e) => write!(f, "virtio-mmio transport: {e}"),
            Self::Device(e) => write!(f, "virtio-blk: {e}"),
            Self::ReadOnly => f.write_str("the disk is read-only (QEMU readonly=on?)"),
        }
    }
}

fn reserve_pool() -> Result<(), AttachError> {
    let mut pool = DMA_POOL.lock();
    if pool.size() > 0 {
        return Ok(());
    }
    let layout = Layout::from_size_align(DMA_POOL_PAGES * PAGE_SIZE, PAGE_SIZE)
        .map_err(|_| AttachError::NoMemory)?;
    // SAFETY: a non-zero layout; the memory is handed to the pool for good.
    let mem = unsafe { alloc::alloc::alloc_zeroed(layout) };
    if mem.is_null() {
        return Err(AttachError::NoMemory);
    }
    // SAFETY: `mem` is a fresh allocation of that size that nothing else uses.
    unsafe { pool.init(mem, layout.size()) };
    Ok(())
}

pub struct KernelHal;

// SAFETY: dma_alloc returns zeroed, page-aligned memory from the pool that
// nothing else aliases until dma_dealloc; with the identity map the physical
// address is the virtual one, and QEMU's virtio DMA is cache-coherent, so
// share/unshare need no copies or cache maintenance.
unsafe impl Hal for KernelHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        let layout =
            Layout::from_size_align(pages * PAGE_SIZE, PAGE_SIZE).expect("page-multiple layout");
        let ptr = DMA_POOL
            .lock()
            .allocate_first_fit(layout)
            .expect("virtio DMA pool exhausted: more queues than DMA_POOL_PAGES allows");
        // SAFETY: the block is `layout.size()` bytes owned by us now.
        unsafe { ptr.as_ptr().write_bytes(0, layout.size()) };
        (ptr.as_ptr() as PhysAddr, ptr)
    }

    unsafe fn dma_dealloc(_paddr: PhysAddr, vaddr: NonNull<u8>, pages: usize) -> i32 {
        let layout =
            Layout::from_size_align(pages * PAGE_SIZE, PAGE_SIZE).expect("page-multiple layout");
        // SAFETY: the caller returns a block dma_alloc gave out with this size.
        unsafe { DMA_POOL.lock().deallocate(vaddr, layout) };
        0
    }

    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, _size: usize) -> NonNull<u8> {
        NonNull::new(paddr as *mut u8).expect("virtio MMIO at address 0")
    }

    unsafe fn share(buffer: NonNull<[u8]>, _direction: BufferDirection) -> PhysAddr {
        buffer.as_ptr().cast::<u8>() as PhysAddr
    }

    unsafe fn unshare(_paddr: PhysAddr, _buffer: NonNull<[u8]>, _direction: BufferDirection) {}
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
    blk: VirtIOBlk<KernelHal, MmioTransport<'static>>,
    capacity: u64,
}

impl VirtioBlk {
    /// Attaches to the virtio-blk device at `base`.
    ///
    /// # Safety
    /// `base..base+size` is a virtio-mmio slot holding a block device,
    /// mapped as device memory, that nothing else drives.
    pub unsafe fn attach(base: u64, size: u64) -> Result<Self, AttachError> {
        reserve_pool()?;
        let header = NonNull::new(base as *mut VirtIOHeader).ok_or(AttachError::NullAddress)?;
        // SAFETY: forwarded from the caller.
        let transport =
            unsafe { MmioTransport::new(header, size as usize) }.map_err(AttachError::Transport)?;
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

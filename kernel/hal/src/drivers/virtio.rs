//! What the virtio drivers share: the `Hal` that `virtio-drivers` asks of the
//! kernel (DMA memory, address translation), the devices the two buses
//! offer ([`VirtioDevice`], found by `virtio_mmio::probe` and
//! `pci::enumerate`), and the transport that reaches one of them
//! ([`VirtioDevice::transport`]): a driver (virtio-blk, virtio-net) attaches
//! through `SomeTransport` and never knows which bus its device sits on.
//!
//! The kernel's memory is identity-mapped and QEMU's virtio DMA is coherent,
//! so the `Hal` is thin: physical = virtual, sharing a buffer is passing its
//! address. PCI devices reach memory the same way: the transitional
//! virtio-net-pci and virtio-blk-pci offer no ACCESS_PLATFORM, so their DMA
//! bypasses the SMMU, which the kernel leaves disabled. Queue memory comes
//! from a DMA pool reserved at the first attach, so running out of memory is
//! an error then (the `Hal` trait's `dma_alloc` cannot fail later).

use crate::sync::IrqLock;
use core::alloc::Layout;
use core::ptr::NonNull;
use linked_list_allocator::Heap;
use virtio_drivers::{
    transport::{
        mmio::{MmioError, MmioTransport, VirtIOHeader},
        pci::VirtioPciError,
        SomeTransport,
    },
    BufferDirection, Hal, PhysAddr, PAGE_SIZE,
};

/// Pages reserved for virtqueues: a 16-entry queue needs 2 pages, a
/// 128-entry one 3 to 4; room for a disk and a NIC on both buses.
const DMA_POOL_PAGES: usize = 64;

static DMA_POOL: IrqLock<Heap> = IrqLock::new(Heap::empty());

/// Why a device could not be reached.
#[derive(Debug)]
pub enum TransportError {
    NoMemory,
    NullAddress,
    Mmio(MmioError),
    Pci(VirtioPciError),
    /// The PCI bus is not enumerated (its service is stopped).
    NoPciBus,
}

impl core::fmt::Display for TransportError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NoMemory => f.write_str("out of memory for the virtio DMA pool"),
            Self::NullAddress => f.write_str("the device tree puts the device at address 0"),
            Self::Mmio(e) => write!(f, "virtio-mmio transport: {e}"),
            Self::Pci(e) => write!(f, "virtio-pci transport: {e}"),
            Self::NoPciBus => f.write_str("the PCI bus is not enumerated"),
        }
    }
}

/// Reserves the DMA pool once; later calls find it there.
pub fn reserve_pool() -> Result<(), TransportError> {
    let mut pool = DMA_POOL.lock();
    if pool.size() > 0 {
        return Ok(());
    }
    let layout = Layout::from_size_align(DMA_POOL_PAGES * PAGE_SIZE, PAGE_SIZE)
        .map_err(|_| TransportError::NoMemory)?;
    // SAFETY: a non-zero layout; the memory is handed to the pool for good.
    let mem = unsafe { alloc::alloc::alloc_zeroed(layout) };
    if mem.is_null() {
        return Err(TransportError::NoMemory);
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

/// A virtio device type's name.
pub fn kind(device_id: u32) -> &'static str {
    match device_id {
        1 => "network",
        2 => "block",
        3 => "console",
        4 => "entropy",
        5 => "balloon",
        8 => "scsi",
        9 => "9p",
        16 => "gpu",
        18 => "input",
        19 => "vsock",
        _ => "other",
    }
}

/// Where a virtio device sits; shown as its mmio base (`0xa003e00`) or its
/// PCI address (`PCI 00:02.0`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// A virtio-mmio slot; `version` 1 is the legacy interface, 2 modern.
    Mmio { base: u64, size: u64, version: u32 },
    /// A PCI function, its BARs assigned by `pci::enumerate`.
    Pci { bus: u8, device: u8, function: u8 },
}

impl core::fmt::Display for Location {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Mmio { base, .. } => write!(f, "{base:#x}"),
            Self::Pci {
                bus,
                device,
                function,
            } => write!(f, "PCI {bus:02x}:{device:02x}.{function}"),
        }
    }
}

/// A virtio device on either bus.
#[derive(Clone, Debug)]
pub struct VirtioDevice {
    pub location: Location,
    /// The virtio device type (1 network, 2 block, ...).
    pub device_id: u32,
    /// virtio-mmio's vendor register, or the PCI vendor ID.
    pub vendor_id: u32,
    /// The GIC interrupt it raises, when it has one.
    pub intid: Option<u32>,
}

impl VirtioDevice {
    pub fn kind(&self) -> &'static str {
        kind(self.device_id)
    }

    /// The transport a driver attaches through. Reserves the DMA pool first.
    ///
    /// # Safety
    /// The device was found by `virtio_mmio::probe` or `pci::enumerate` (an
    /// mmio slot from the device tree, mapped as device memory; a PCI
    /// function whose BARs were assigned), and no other transport to it is
    /// alive: one driver drives a device.
    pub unsafe fn transport(&self) -> Result<SomeTransport<'static>, TransportError> {
        reserve_pool()?;
        match self.location {
            Location::Mmio { base, size, .. } => {
                let header =
                    NonNull::new(base as *mut VirtIOHeader).ok_or(TransportError::NullAddress)?;
                // SAFETY: forwarded from the caller: a virtio-mmio slot of
                // `size` bytes, mapped as device memory, driven by nobody else.
                let t = unsafe { MmioTransport::new(header, size as usize) }
                    .map_err(TransportError::Mmio)?;
                Ok(t.into())
            }
            Location::Pci {
                bus,
                device,
                function,
            } => super::pci::virtio_transport(bus, device, function).map(SomeTransport::from),
        }
    }
}

//! The PCI bus behind the device tree's generic ECAM host bridge.
//!
//! QEMU's `virt` leaves BAR assignment to firmware, and a kernel loaded
//! with `-kernel` has none: [`enumerate`] maps the ECAM window (above 4 GiB
//! on virt) as device memory, walks the root bus with `virtio-drivers`'
//! `PciRoot` over `MmioCam`, gives every memory BAR an address in the
//! bridge's 32-bit memory window (64-bit BARs too: virt's 64-bit window
//! starts at 512 GiB, past the 39 bits the kernel maps), turns on memory
//! decoding and bus mastering, and reads each function's INTx pin to find
//! its GIC interrupt through the bridge's interrupt map. I/O BARs are left
//! unassigned and I/O decoding off: no driver here uses I/O space (the
//! transitional virtio devices' legacy BAR0).
//!
//! Only the root bus is scanned: virt puts every `-device` there unless a
//! bridge is added, and a bridge found is reported, not crossed.
//!
//! The root stays here for `virtio_transport`, which `virtio-drivers`
//! builds from configuration space.

use crate::arch::mmu;
use alloc::vec::Vec;
use kcore::dt::{PciHost, PciSpace};
use spin::Mutex;
use virtio_drivers::transport::pci::{
    bus::{
        BarInfo, Cam, Command, ConfigurationAccess, DeviceFunction, HeaderType, MemoryBarType,
        MmioCam, PciRoot,
    },
    virtio_device_type, PciTransport,
};

/// Interrupt Line / Interrupt Pin / Min_Gnt / Max_Lat.
const INTERRUPT_REG: u8 = 0x3c;
/// The smallest BAR alignment: a page, so BARs never share one.
const MIN_BAR_ALIGN: u64 = 4096;

/// One BAR as assigned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bar {
    pub index: u8,
    /// CPU (and PCI) address; 0 for an I/O BAR left unassigned.
    pub address: u64,
    pub size: u64,
    pub io: bool,
    pub bits64: bool,
    pub prefetchable: bool,
}

/// One function on the bus.
#[derive(Clone, Debug)]
pub struct PciFunction {
    pub bus: u8,
    pub device: u8,
    pub function: u8,
    pub vendor_id: u16,
    pub device_id: u16,
    pub class: u8,
    pub subclass: u8,
    /// A PCI-to-PCI or CardBus bridge (not crossed).
    pub bridge: bool,
    /// INTx pin, 1 = INTA .. 4 = INTD, 0 for none.
    pub pin: u8,
    /// The GIC interrupt the pin reaches, and whether it is level-triggered.
    pub intid: Option<(u32, bool)>,
    pub bars: Vec<Bar>,
    /// The virtio device type, for a virtio function.
    pub virtio_type: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PciError {
    Mmu(&'static str),
    /// No 32-bit memory window, or one whose CPU and PCI addresses differ.
    NoMemWindow,
    /// The window is full: BAR `index` of `bus:device.function` got none.
    WindowFull {
        device: u8,
        function: u8,
        index: u8,
    },
    /// A BAR of a kind the bus cannot place (below 1 MiB).
    Bar {
        device: u8,
        function: u8,
        index: u8,
    },
}

impl core::fmt::Display for PciError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Mmu(e) => write!(f, "mapping the ECAM window: {e}"),
            Self::NoMemWindow => {
                f.write_str("the host bridge has no identity-mapped 32-bit memory window for BARs")
            }
            Self::WindowFull {
                device,
                function,
                index,
            } => write!(
                f,
                "the 32-bit memory window is full at BAR{index} of {device:02x}.{function}"
            ),
            Self::Bar {
                device,
                function,
                index,
            } => write!(
                f,
                "BAR{index} of {device:02x}.{function} must sit below 1 MiB: unsupported"
            ),
        }
    }
}

struct Bus {
    root: PciRoot<MmioCam<'static>>,
}

// SAFETY: the root is only used under BUS's lock, on the one CPU that runs
// the kernel; MmioCam holds nothing but the ECAM pointer.
unsafe impl Send for Bus {}

static BUS: Mutex<Option<Bus>> = Mutex::new(None);

fn align_up(x: u64, align: u64) -> Option<u64> {
    Some(x.checked_add(align - 1)? & !(align - 1))
}

/// Maps the bridge's ECAM, assigns every BAR on the root bus and enables
/// the functions; returns what it found. Calling it again (the bus service
/// restarted) assigns the same addresses.
pub fn enumerate(host: &PciHost) -> Result<Vec<PciFunction>, PciError> {
    let mem = host
        .window(PciSpace::Mem32)
        .filter(|w| w.pci_base == w.cpu_base && w.size > 0)
        .ok_or(PciError::NoMemWindow)?;
    mmu::map_device(host.ecam.base, host.ecam.size).map_err(|e| {
        PciError::Mmu(match e {
            mmu::MmuError::OutOfTables(_) => "out of page tables",
            mmu::MmuError::OutOfRange(_) => "beyond 39-bit addresses",
            mmu::MmuError::NotDevice(_) => "overlaps RAM",
        })
    })?;
    // `MmioCam` addresses bus N at N MiB from its base: the blob's ECAM
    // starts at the first bus the bridge decodes.
    let base = host.ecam.base - (u64::from(host.bus_start) << 20);
    let mut bus = BUS.lock();
    *bus = None;
    // SAFETY: the ECAM window is mapped as device memory just above and
    // stays mapped; only buses inside bus-range are addressed (the root
    // bus), so only the mapped part of the 256 MiB MmioCam assumes is
    // touched. This is the only MmioCam over it (the previous one, if the
    // bus was enumerated before, was dropped with its root above).
    let cam = unsafe { MmioCam::new(base as *mut u8, Cam::Ecam) };
    // SAFETY: the clone reads only the read-only identification and
    // interrupt-pin registers.
    let reader = unsafe { cam.unsafe_clone() };
    let mut root = PciRoot::new(cam);
    let mut next = mem.pci_base;
    let end = mem.pci_base + mem.size;
    let mut found = Vec::new();
    for (df, info) in root.enumerate_bus(host.bus_start) {
        let bridge = !matches!(info.header_type, HeaderType::Standard);
        let pin = ((reader.read_word(df, INTERRUPT_REG) >> 8) & 0xff) as u8;
        let mut f = PciFunction {
            bus: df.bus,
            device: df.device,
            function: df.function,
            vendor_id: info.vendor_id,
            device_id: info.device_id,
            class: info.class,
            subclass: info.subclass,
            bridge,
            pin,
            intid: host
                .intx(df.bus, df.device, df.function, pin)
                .map(|r| (r.intid, r.level)),
            bars: Vec::new(),
            virtio_type: virtio_device_type(&info).map(|t| t as u32),
        };
        if !bridge {
            assign_bars(&mut root, df, &mut f, &mut next, end)?;
        }
        found.push(f);
    }
    *bus = Some(Bus { root });
    Ok(found)
}

fn assign_bars(
    root: &mut PciRoot<MmioCam<'static>>,
    df: DeviceFunction,
    f: &mut PciFunction,
    next: &mut u64,
    end: u64,
) -> Result<(), PciError> {
    let at = |index| (f.device, f.function, index);
    // Decoding off while the BARs move.
    root.set_command(df, Command::empty());
    let bars = root.bars(df).map_err(|_| {
        let (device, function, index) = at(0);
        PciError::Bar {
            device,
            function,
            index,
        }
    })?;
    let mut bars_out = Vec::new();
    for (index, bar) in bars.iter().enumerate() {
        let index = index as u8;
        match bar {
            None => {}
            Some(BarInfo::IO { size, .. }) => bars_out.push(Bar {
                index,
                address: 0,
                size: u64::from(*size),
                io: true,
                bits64: false,
                prefetchable: false,
            }),
            Some(BarInfo::Memory {
                address_type,
                prefetchable,
                size,
                ..
            }) => {
                let (device, function, index) = at(index);
                if *address_type == MemoryBarType::Below1MiB {
                    return Err(PciError::Bar {
                        device,
                        function,
                        index,
                    });
                }
                let full = PciError::WindowFull {
                    device,
                    function,
                    index,
                };
                let address =
                    align_up(*next, (*size).max(MIN_BAR_ALIGN)).ok_or_else(|| full.clone())?;
                let after = address
                    .checked_add(*size)
                    .filter(|&a| a <= end)
                    .ok_or(full)?;
                let bits64 = *address_type == MemoryBarType::Width64;
                if bits64 {
                    root.set_bar_64(df, index, address);
                } else {
                    root.set_bar_32(df, index, address as u32);
                }
                *next = after;
                bars_out.push(Bar {
                    index,
                    address,
                    size: *size,
                    io: false,
                    bits64,
                    prefetchable: *prefetchable,
                });
            }
        }
    }
    root.set_command(df, Command::MEMORY_SPACE | Command::BUS_MASTER);
    f.bars = bars_out;
    Ok(())
}

/// The virtio transport of an enumerated function.
pub(super) fn virtio_transport(
    bus: u8,
    device: u8,
    function: u8,
) -> Result<PciTransport, super::virtio::TransportError> {
    let mut guard = BUS.lock();
    let b = guard
        .as_mut()
        .ok_or(super::virtio::TransportError::NoPciBus)?;
    let df = DeviceFunction {
        bus,
        device,
        function,
    };
    PciTransport::new::<super::virtio::KernelHal, _>(&mut b.root, df)
        .map_err(super::virtio::TransportError::Pci)
}

//! The board description the kernel is given: the device types, [`Board`]
//! itself, and the one pass over the structure block that fills it.

use alloc::string::String;
use alloc::vec::Vec;

use super::builder::Builder;
use super::fdt::{self, Fdt, Token};
use super::pci::PciHost;
use super::props::Frame;
use super::{DtError, MAX_DEPTH};

/// A physical address range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MemRegion {
    /// First byte.
    pub base: u64,
    /// Length in bytes.
    pub size: u64,
}

impl MemRegion {
    /// One past the last byte, saturating rather than wrapping.
    pub fn end(&self) -> u64 {
        self.base.saturating_add(self.size)
    }
}

/// The PL011 UART.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uart {
    /// MMIO base.
    pub base: u64,
    /// MMIO length.
    pub size: u64,
    /// GIC INTID of its interrupt.
    pub intid: u32,
}

/// The GICv3 distributor and redistributors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gic {
    /// Architecture version: always 3 here.
    pub version: u8,
    /// Distributor (GICD) base.
    pub gicd_base: u64,
    /// Distributor length.
    pub gicd_size: u64,
    /// First redistributor region (GICR) base; each CPU's frame pair is
    /// 0x20000 bytes.
    pub gicr_base: u64,
    /// First redistributor region length.
    pub gicr_size: u64,
}

/// The architected generic timer's interrupts, as GIC INTIDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timer {
    /// Non-secure EL1 physical timer (CNTP).
    pub phys_ns_intid: u32,
    /// Virtual timer (CNTV).
    pub virt_intid: u32,
    /// EL2 (hypervisor) physical timer, when listed.
    pub hyp_intid: Option<u32>,
    /// Secure physical timer, when listed.
    pub phys_s_intid: Option<u32>,
}

/// One virtio-mmio transport slot (empty or not: probing tells).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VirtioMmio {
    /// MMIO base.
    pub base: u64,
    /// MMIO length.
    pub size: u64,
    /// GIC INTID of its interrupt.
    pub intid: u32,
}

/// How PSCI calls reach the firmware.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PsciConduit {
    /// `hvc #0`.
    Hvc,
    /// `smc #0`.
    Smc,
}

/// The PSCI firmware interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Psci {
    /// The call instruction, from `/psci` `method`.
    pub conduit: PsciConduit,
}

/// A PL031 real-time clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rtc {
    /// Its registers.
    pub base: u64,
    /// Their size.
    pub size: u64,
    /// Its interrupt (a match of the seconds counter).
    pub intid: u32,
}

/// What the kernel needs to know about the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Board {
    /// RAM banks, sorted by base.
    pub ram: Vec<MemRegion>,
    /// Ranges the kernel must not use: the memory reservation block and
    /// `/reserved-memory` children with a `reg`. The blob itself is not
    /// listed; see [`Board::fdt_size`].
    pub reserved: Vec<MemRegion>,
    /// The console UART.
    pub uart: Option<Uart>,
    /// The interrupt controller.
    pub gic: Option<Gic>,
    /// The generic timer's interrupts.
    pub timer: Option<Timer>,
    /// virtio-mmio slots, sorted by base.
    pub virtio_mmio: Vec<VirtioMmio>,
    /// The first PCI host bridge (`pci-host-ecam-generic`).
    pub pci: Option<PciHost>,
    /// The PSCI conduit.
    pub psci: Option<Psci>,
    /// The PL031 real-time clock, if there is one: the time of day (QEMU
    /// sets it from the host's clock).
    pub rtc: Option<Rtc>,
    /// `/chosen/bootargs` (QEMU `-append`).
    pub bootargs: Option<String>,
    /// Number of `/cpus/cpu@*` nodes with `device_type = "cpu"`.
    pub cpus: usize,
    /// Their `reg`: each CPU's MPIDR affinity fields (what PSCI CPU_ON
    /// takes), in the tree's order.
    pub cpu_ids: Vec<u64>,
    /// The root's `model`.
    pub model: Option<String>,
    /// The blob's `totalsize`: reserve this many bytes at the blob's address
    /// for as long as anything may read it.
    pub fdt_size: usize,
}

impl Board {
    /// Reads the board from a complete blob.
    pub fn from_fdt(blob: &[u8]) -> Result<Board, DtError> {
        let fdt = Fdt::new(blob)?;
        let mut b = Builder::default();
        for r in fdt.reservations() {
            b.reserved.push(r?);
        }
        let mut stack: Vec<Frame<'_>> = Vec::new();
        for token in fdt.walk() {
            match token? {
                Token::BeginNode(name) => {
                    if let Some(parent) = stack.len().checked_sub(1) {
                        b.finish_node(&mut stack, parent)?;
                    }
                    if stack.len() >= MAX_DEPTH {
                        return Err(DtError::TooDeep);
                    }
                    stack.push(Frame::new(name));
                }
                Token::Property { name, value } => {
                    if let Some(top) = stack.last_mut() {
                        top.props.set(name, value);
                    }
                }
                Token::EndNode => {
                    if let Some(top) = stack.len().checked_sub(1) {
                        b.finish_node(&mut stack, top)?;
                    }
                    stack.pop();
                }
            }
        }
        b.into_board(fdt.total_size())
    }

    /// Reads the board from a blob in memory, sized by its own header.
    ///
    /// # Safety
    ///
    /// `ptr` must be null or point to at least 8 readable bytes; if they start
    /// with the FDT magic, the `totalsize` bytes the header announces (at most
    /// [`MAX_FDT_SIZE`](super::MAX_FDT_SIZE)) must be readable and must not
    /// change during the call.
    pub unsafe fn from_ptr(ptr: *const u8) -> Result<Board, DtError> {
        if ptr.is_null() {
            return Err(DtError::NullPointer);
        }
        // SAFETY: the caller guarantees 8 readable bytes at a non-null `ptr`;
        // `u8` has no alignment requirement.
        let head = unsafe { core::slice::from_raw_parts(ptr, 8) };
        let total = fdt::check_magic_and_size(head)?;
        // SAFETY: the magic matched and `total` is within MAX_FDT_SIZE, which
        // is exactly the case in which the caller guarantees `total` readable,
        // unchanging bytes.
        let blob = unsafe { core::slice::from_raw_parts(ptr, total) };
        Self::from_fdt(blob)
    }
}

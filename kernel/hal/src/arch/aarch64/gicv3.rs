//! GICv3: the distributor, each CPU's redistributor and CPU interface,
//! software-generated interrupts between CPUs, and the dispatch of
//! interrupts to the handlers drivers register.
//!
//! unikv routes every SPI to the boot CPU, uses group 1 non-secure only, and
//! one priority: handlers run with IRQs masked and never nest. SGIs and
//! PPIs (the timer) are per CPU: each CPU enables its own in its
//! redistributor; a handler is one for all CPUs.

use super::icc::{
    ICC_BPR1_EL1, ICC_EOIR1_EL1, ICC_IAR1_EL1, ICC_IGRPEN1_EL1, ICC_PMR_EL1, ICC_SGI1R_EL1,
    ICC_SRE_EL1,
};
use crate::memory::MAX_CPUS;
use crate::mmio::MmioRef;
use aarch64_cpu::asm::barrier;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use tock_registers::{
    interfaces::{ReadWriteable, Readable, Writeable},
    register_bitfields, register_structs,
    registers::{ReadOnly, ReadWrite},
};

register_bitfields! {u32,
    GICD_CTLR [
        /// Register write pending.
        RWP OFFSET(31) NUMBITS(1) [],
        /// Affinity routing: SPIs are routed by GICD_IROUTER (required by v3).
        ARE OFFSET(4) NUMBITS(1) [],
        EnableGrp1 OFFSET(1) NUMBITS(1) [],
        EnableGrp0 OFFSET(0) NUMBITS(1) []
    ],
    GICR_WAKER [
        ChildrenAsleep OFFSET(2) NUMBITS(1) [],
        ProcessorSleep OFFSET(1) NUMBITS(1) []
    ]
}

register_bitfields! {u64,
    GICR_TYPER [
        Affinity OFFSET(32) NUMBITS(32) [],
        Last OFFSET(4) NUMBITS(1) []
    ]
}

register_structs! {
    /// Distributor (GICD), ARM IHI 0069 chapter 12.9.
    pub GicdRegs {
        (0x0000 => ctlr: ReadWrite<u32, GICD_CTLR::Register>),
        (0x0004 => typer: ReadOnly<u32>),
        (0x0008 => iidr: ReadOnly<u32>),
        (0x000c => _reserved0),
        (0x0080 => igroupr: [ReadWrite<u32>; 32]),
        (0x0100 => isenabler: [ReadWrite<u32>; 32]),
        (0x0180 => icenabler: [ReadWrite<u32>; 32]),
        (0x0200 => _reserved1),
        (0x0400 => ipriorityr: [ReadWrite<u8>; 1020]),
        (0x07fc => _reserved2),
        (0x0c00 => icfgr: [ReadWrite<u32>; 64]),
        (0x0d00 => igrpmodr: [ReadWrite<u32>; 32]),
        (0x0d80 => _reserved3),
        (0x6100 => irouter: [ReadWrite<u64>; 988]),
        (0x7fe0 => @END),
    }
}

register_structs! {
    /// Redistributor control frame (RD_base).
    pub GicrRegs {
        (0x0000 => ctlr: ReadWrite<u32>),
        (0x0004 => iidr: ReadOnly<u32>),
        (0x0008 => typer: ReadOnly<u64, GICR_TYPER::Register>),
        (0x0010 => statusr: ReadWrite<u32>),
        (0x0014 => waker: ReadWrite<u32, GICR_WAKER::Register>),
        (0x0018 => @END),
    }
}

register_structs! {
    /// Redistributor SGI/PPI frame (SGI_base = RD_base + 64 KiB).
    pub GicrSgiRegs {
        (0x0000 => _reserved0),
        (0x0080 => igroupr0: ReadWrite<u32>),
        (0x0084 => _reserved1),
        (0x0100 => isenabler0: ReadWrite<u32>),
        (0x0104 => _reserved2),
        (0x0180 => icenabler0: ReadWrite<u32>),
        (0x0184 => _reserved3),
        (0x0400 => ipriorityr: [ReadWrite<u8>; 32]),
        (0x0420 => _reserved4),
        (0x0c00 => icfgr: [ReadWrite<u32>; 2]),
        (0x0c08 => _reserved5),
        (0x0d00 => igrpmodr0: ReadWrite<u32>),
        (0x0d04 => @END),
    }
}

const SPURIOUS_FIRST: u32 = 1020;
/// INTIDs we keep handlers and counts for: SGIs, PPIs and the first SPIs,
/// which on virt cover the UART (33) and all virtio-mmio slots (48..79).
pub const MAX_INTID: usize = 128;
const DEFAULT_PRIORITY: u8 = 0xa0;
const REDIST_STRIDE: usize = 0x2_0000;
const SGI_FRAME: usize = 0x1_0000;

pub type Handler = fn(intid: u32);

static HANDLERS: [AtomicUsize; MAX_INTID] = [const { AtomicUsize::new(0) }; MAX_INTID];
/// Interrupts taken per INTID; unmangled for the gdb helper `unikv-irqs`.
#[no_mangle]
static UNIKV_IRQ_COUNTS: [AtomicU64; MAX_INTID] = [const { AtomicU64::new(0) }; MAX_INTID];
static SPURIOUS: AtomicU64 = AtomicU64::new(0);

static GIC: spin::Once<Gic> = spin::Once::new();

struct Gic {
    gicd: MmioRef<GicdRegs>,
    gicr_base: u64,
    gicr_size: u64,
}

/// Each CPU's SGI/PPI frame, by CPU index, once it has set itself up.
static SGI_FRAMES: [spin::Once<MmioRef<GicrSgiRegs>>; MAX_CPUS] =
    [const { spin::Once::new() }; MAX_CPUS];

/// The calling CPU's SGI/PPI frame.
fn sgi_frame() -> Result<&'static MmioRef<GicrSgiRegs>, GicError> {
    SGI_FRAMES
        .get(crate::cpus::index())
        .and_then(spin::Once::get)
        .ok_or(GicError::NotInitialized)
}

#[derive(Debug)]
pub enum GicError {
    NoRedistributor {
        mpidr: u64,
    },
    IntidOutOfRange(u32),
    NotInitialized,
    /// Another driver's handler has the line.
    InUse(u32),
}

impl core::fmt::Display for GicError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NoRedistributor { mpidr } => {
                write!(f, "no GICv3 redistributor for CPU with MPIDR {mpidr:#x}")
            }
            Self::IntidOutOfRange(i) => {
                write!(f, "INTID {i} is beyond the {MAX_INTID} unikv handles")
            }
            Self::NotInitialized => f.write_str("the GIC is not initialized"),
            Self::InUse(i) => write!(f, "INTID {i} has another driver's handler"),
        }
    }
}

fn wait_rwp(gicd: &GicdRegs) {
    while gicd.ctlr.is_set(GICD_CTLR::RWP) {
        core::hint::spin_loop();
    }
}

/// Brings up the distributor, then the boot CPU's redistributor and CPU
/// interface (`init_cpu`). Interrupts stay masked in PSTATE until the
/// caller unmasks.
pub fn init(gicd_base: u64, gicr_base: u64, gicr_size: u64) -> Result<(), GicError> {
    // SAFETY: the addresses come from the device tree's arm,gic-v3 node and
    // are mapped as device memory by the MMU set-up.
    let gicd: MmioRef<GicdRegs> = unsafe { MmioRef::new(gicd_base as usize) };

    gicd.ctlr.set(0);
    wait_rwp(&gicd);
    let lines = ((gicd.typer.get() & 0x1f) as usize + 1) * 32;
    // Every SPI: group 1, default priority, disabled, to CPU 0.
    for i in 1..lines.min(1020) / 32 {
        gicd.icenabler[i].set(u32::MAX);
        gicd.igroupr[i].set(u32::MAX);
        gicd.igrpmodr[i].set(0);
    }
    for intid in 32..lines.min(1020) {
        gicd.ipriorityr[intid].set(DEFAULT_PRIORITY);
        gicd.irouter[intid - 32].set(0);
    }
    wait_rwp(&gicd);
    gicd.ctlr
        .write(GICD_CTLR::ARE::SET + GICD_CTLR::EnableGrp1::SET);
    wait_rwp(&gicd);
    GIC.call_once(|| Gic {
        gicd,
        gicr_base,
        gicr_size,
    });
    init_cpu()
}

/// Brings up the calling CPU's redistributor (found by its MPIDR) and CPU
/// interface: every SGI and PPI group 1, default priority, disabled until
/// `enable`d on this CPU.
pub fn init_cpu() -> Result<(), GicError> {
    let gic = GIC.get().ok_or(GicError::NotInitialized)?;
    let frame = SGI_FRAMES
        .get(crate::cpus::index())
        .ok_or(GicError::NotInitialized)?;
    let rd = find_redistributor(gic.gicr_base, gic.gicr_size, super::cpu::mpidr())?;
    // Wake the redistributor: it stays asleep (and drops PPIs) until told.
    rd.waker.modify(GICR_WAKER::ProcessorSleep::CLEAR);
    while rd.waker.is_set(GICR_WAKER::ChildrenAsleep) {
        core::hint::spin_loop();
    }
    // SAFETY: the SGI frame follows the RD frame we just found, inside the
    // redistributor region the device tree describes.
    let sgi: MmioRef<GicrSgiRegs> = unsafe { MmioRef::new(rd.addr() + SGI_FRAME) };
    sgi.icenabler0.set(u32::MAX);
    sgi.igroupr0.set(u32::MAX);
    sgi.igrpmodr0.set(0);
    for p in sgi.ipriorityr.iter() {
        p.set(DEFAULT_PRIORITY);
    }

    ICC_SRE_EL1.set(ICC_SRE_EL1.get() | 0x7);
    barrier::isb(barrier::SY);
    ICC_PMR_EL1.set(0xff);
    ICC_BPR1_EL1.set(0);
    ICC_IGRPEN1_EL1.set(1);
    barrier::isb(barrier::SY);

    frame.call_once(|| sgi);
    Ok(())
}

/// Raises SGI `intid` (0-15) on the CPU with affinity `mpidr`.
pub fn send_sgi(intid: u32, mpidr: u64) {
    // ICC_SGI1R_EL1: Aff3 [55:48], Aff2 [39:32], INTID [27:24], Aff1
    // [23:16], a target list of Aff0 values [15:0] (virt's Aff0 is under 16).
    let aff0 = mpidr & 0xf;
    let value = (((mpidr >> 32) & 0xff) << 48)
        | (((mpidr >> 16) & 0xff) << 32)
        | (u64::from(intid & 0xf) << 24)
        | (((mpidr >> 8) & 0xff) << 16)
        | (1 << aff0);
    // The writes that the woken CPU should see are ordered before its
    // interrupt.
    barrier::dsb(barrier::ISHST);
    ICC_SGI1R_EL1.set(value);
    barrier::isb(barrier::SY);
}

fn find_redistributor(base: u64, size: u64, mpidr: u64) -> Result<MmioRef<GicrRegs>, GicError> {
    let aff = ((mpidr >> 32) & 0xff) << 24 | (mpidr & 0xff_ffff);
    let mut addr = base as usize;
    while (addr as u64) < base + size {
        // SAFETY: addr walks the redistributor region from the device tree,
        // one 128 KiB frame at a time, stopping at the frame marked Last.
        let rd: MmioRef<GicrRegs> = unsafe { MmioRef::new(addr) };
        if rd.typer.read(GICR_TYPER::Affinity) == aff {
            return Ok(rd);
        }
        if rd.typer.is_set(GICR_TYPER::Last) {
            break;
        }
        addr += REDIST_STRIDE;
    }
    Err(GicError::NoRedistributor { mpidr })
}

/// Installs `handler` for `intid` and enables it (an SGI or PPI on the
/// calling CPU only); `edge` selects edge-triggered (SPIs only; PPIs keep
/// their configuration).
pub fn enable(intid: u32, handler: Handler, edge: bool) -> Result<(), GicError> {
    let gic = GIC.get().ok_or(GicError::NotInitialized)?;
    let i = intid as usize;
    if i >= MAX_INTID {
        return Err(GicError::IntidOutOfRange(intid));
    }
    HANDLERS[i].store(handler as usize, Ordering::Release);
    let bit = 1u32 << (i % 32);
    if i < 32 {
        sgi_frame()?.isenabler0.set(bit);
    } else {
        let cfg = &gic.gicd.icfgr[i / 16];
        let shift = (i % 16) * 2 + 1;
        cfg.set((cfg.get() & !(1 << shift)) | (u32::from(edge) << shift));
        gic.gicd.isenabler[i / 32].set(bit);
    }
    Ok(())
}

/// As [`enable`] for a level-triggered SPI, unless another handler has the
/// line (a PCI INTx line that two functions share).
pub fn claim(intid: u32, handler: Handler) -> Result<(), GicError> {
    let i = intid as usize;
    if !(32..MAX_INTID).contains(&i) {
        return Err(GicError::IntidOutOfRange(intid));
    }
    let h = handler as usize;
    match HANDLERS[i].load(Ordering::Acquire) {
        0 => enable(intid, handler, false),
        x if x == h => Ok(()),
        _ => Err(GicError::InUse(intid)),
    }
}

/// Delivers SPI `intid` to the calling CPU from now on (every SPI goes to
/// the boot CPU until routed elsewhere).
pub fn route_here(intid: u32) -> Result<(), GicError> {
    let gic = GIC.get().ok_or(GicError::NotInitialized)?;
    let i = intid as usize;
    if !(32..MAX_INTID).contains(&i) {
        return Err(GicError::IntidOutOfRange(intid));
    }
    let mpidr = super::cpu::mpidr();
    // GICD_IROUTER: Aff3 [39:32], Aff2.Aff1.Aff0 [23:0], IRM (bit 31) 0.
    gic.gicd.irouter[i - 32].set(mpidr & 0xff_00ff_ffff);
    Ok(())
}

/// Stops `intid` from being signalled, its handler kept: a handler that
/// leaves the device's acknowledgement to the main loop masks its line
/// until then, so that nothing runs with interrupts masked meanwhile.
pub fn mask(intid: u32) -> Result<(), GicError> {
    set_enabled(intid, false)
}

/// Lets `intid` be signalled again after [`mask`]; a line still raised is
/// taken at once.
pub fn unmask(intid: u32) -> Result<(), GicError> {
    set_enabled(intid, true)
}

fn set_enabled(intid: u32, on: bool) -> Result<(), GicError> {
    let gic = GIC.get().ok_or(GicError::NotInitialized)?;
    let i = intid as usize;
    if i >= MAX_INTID {
        return Err(GicError::IntidOutOfRange(intid));
    }
    let bit = 1u32 << (i % 32);
    match (i < 32, on) {
        (true, true) => sgi_frame()?.isenabler0.set(bit),
        (true, false) => sgi_frame()?.icenabler0.set(bit),
        (false, true) => gic.gicd.isenabler[i / 32].set(bit),
        (false, false) => gic.gicd.icenabler[i / 32].set(bit),
    }
    Ok(())
}

/// Disables `intid` (SPIs only) and forgets its handler: for a driver that
/// lets its device go.
pub fn disable(intid: u32) -> Result<(), GicError> {
    let gic = GIC.get().ok_or(GicError::NotInitialized)?;
    let i = intid as usize;
    if !(32..MAX_INTID).contains(&i) {
        return Err(GicError::IntidOutOfRange(intid));
    }
    gic.gicd.icenabler[i / 32].set(1u32 << (i % 32));
    wait_rwp(&gic.gicd);
    HANDLERS[i].store(0, Ordering::Release);
    Ok(())
}

/// Called from the IRQ vector: acknowledge, dispatch, end.
pub fn handle_irq() {
    let mut handled = false;
    loop {
        let intid = (ICC_IAR1_EL1.get() & 0xff_ffff) as u32;
        if intid >= SPURIOUS_FIRST {
            // Only an IRQ with nothing behind it is spurious; the read that
            // ends a batch always finds none.
            if !handled {
                SPURIOUS.fetch_add(1, Ordering::Relaxed);
            }
            return;
        }
        handled = true;
        crate::cpus::this().count_irq();
        let i = intid as usize;
        if i < MAX_INTID {
            UNIKV_IRQ_COUNTS[i].fetch_add(1, Ordering::Relaxed);
            let h = HANDLERS[i].load(Ordering::Acquire);
            if h != 0 {
                // SAFETY: only `enable` stores into HANDLERS, and it stores a
                // `Handler` converted to usize.
                let handler: Handler = unsafe { core::mem::transmute::<usize, Handler>(h) };
                handler(intid);
            }
        }
        ICC_EOIR1_EL1.set(u64::from(intid));
    }
}

/// Interrupts taken per INTID, for `INFO`: (intid, count) for every non-zero.
pub fn counts() -> impl Iterator<Item = (u32, u64)> {
    UNIKV_IRQ_COUNTS
        .iter()
        .enumerate()
        .map(|(i, c)| (i as u32, c.load(Ordering::Relaxed)))
        .filter(|&(_, c)| c != 0)
}

pub fn spurious() -> u64 {
    SPURIOUS.load(Ordering::Relaxed)
}

pub fn total() -> u64 {
    UNIKV_IRQ_COUNTS
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .sum()
}

//! The PCI host bridge (`compatible = "pci-host-ecam-generic"`): where its
//! configuration space is, which bus numbers it decodes, the address windows
//! it forwards to PCI (`ranges`), and how each device's INTx pins reach the
//! interrupt controller (`interrupt-map` and `interrupt-map-mask`).
//!
//! The walk keeps the node's raw properties and every node's phandle; the
//! decoding happens once the walk is over ([`decode`]), because the
//! interrupt map names its interrupt controller by phandle and the
//! controller may come later in the blob. Only a GICv3 parent is decoded
//! (the kernel drives nothing else); a map that names an unknown phandle,
//! or whose length does not divide into whole entries, is an error.

use alloc::vec::Vec;

use super::fdt::be32;
use super::props::{cells, reg_entries};
use super::{DtError, MemRegion};

const NODE: &str = "pci-host-ecam-generic";

/// Which PCI address space a window maps (the `ss` bits of `phys.hi`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PciSpace {
    /// I/O space.
    Io,
    /// 32-bit memory space.
    Mem32,
    /// 64-bit memory space.
    Mem64,
}

/// One entry of the host bridge's `ranges`: CPU addresses
/// `cpu_base..cpu_base+size` reach PCI addresses `pci_base..` of `space`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PciWindow {
    /// The PCI address space.
    pub space: PciSpace,
    /// Reads have no side effects (the `p` bit).
    pub prefetchable: bool,
    /// First address on the PCI side.
    pub pci_base: u64,
    /// First address on the CPU side.
    pub cpu_base: u64,
    /// Length in bytes.
    pub size: u64,
}

/// One `interrupt-map` entry: the device (bus, device and function as in
/// `phys.hi`, before masking) and INTx pin (1 = INTA .. 4 = INTD) it
/// matches, and the GIC interrupt that pin drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PciIntx {
    /// `phys.hi` of the child unit address: bus << 16 | device << 11 | function << 8.
    pub addr_hi: u32,
    /// The pin, 1..=4.
    pub pin: u32,
    /// GIC INTID.
    pub intid: u32,
    /// Level-triggered (flags 4 or 8) rather than edge-triggered.
    pub level: bool,
}

/// A generic ECAM PCI host bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PciHost {
    /// The ECAM configuration space (4 KiB per function, 1 MiB per bus).
    pub ecam: MemRegion,
    /// First bus number the bridge decodes.
    pub bus_start: u8,
    /// Last bus number the bridge decodes.
    pub bus_end: u8,
    /// The address windows, in `ranges` order.
    pub windows: Vec<PciWindow>,
    /// `interrupt-map-mask`: child unit address (3 cells) and pin.
    pub intx_mask: [u32; 4],
    /// The decoded `interrupt-map`.
    pub intx: Vec<PciIntx>,
}

impl PciHost {
    /// The first window of `space` (preferring a non-prefetchable one for
    /// memory, which any BAR may use).
    pub fn window(&self, space: PciSpace) -> Option<PciWindow> {
        let mut of_space = self.windows.iter().filter(|w| w.space == space);
        let first = of_space.clone().next().copied();
        of_space.find(|w| !w.prefetchable).copied().or(first)
    }

    /// The interrupt that INTx pin `pin` (1..=4) of `bus:device.function`
    /// raises, through the interrupt map and its mask.
    pub fn intx(&self, bus: u8, device: u8, function: u8, pin: u8) -> Option<PciIntx> {
        let hi =
            u32::from(bus) << 16 | u32::from(device & 0x1f) << 11 | u32::from(function & 7) << 8;
        let key_hi = hi & self.intx_mask[0];
        let key_pin = u32::from(pin) & self.intx_mask[3];
        self.intx
            .iter()
            .find(|e| {
                e.addr_hi & self.intx_mask[0] == key_hi && e.pin & self.intx_mask[3] == key_pin
            })
            .copied()
    }
}

/// What a node with a phandle tells an interrupt map about itself.
#[derive(Debug, Clone, Copy)]
pub(super) struct Phandle {
    pub(super) phandle: u32,
    pub(super) address_cells: Option<u32>,
    pub(super) interrupt_cells: Option<u32>,
    pub(super) gic_v3: bool,
}

/// The host bridge's properties as the walk found them.
#[derive(Debug, Clone, Default)]
pub(super) struct RawPciHost {
    pub(super) reg: Vec<u8>,
    pub(super) parent_address_cells: usize,
    pub(super) parent_size_cells: usize,
    pub(super) address_cells: Option<u32>,
    pub(super) size_cells: Option<u32>,
    pub(super) interrupt_cells: Option<u32>,
    pub(super) bus_range: Option<Vec<u8>>,
    pub(super) ranges: Vec<u8>,
    pub(super) interrupt_map: Vec<u8>,
    pub(super) interrupt_map_mask: Option<Vec<u8>>,
}

fn bad(property: &'static str) -> DtError {
    DtError::BadProperty {
        node: NODE,
        property,
    }
}

/// A property as big-endian cells.
fn cell_list(value: &[u8], property: &'static str) -> Result<Vec<u32>, DtError> {
    if !value.len().is_multiple_of(4) {
        return Err(bad(property));
    }
    (0..value.len() / 4)
        .map(|i| be32(value, i * 4).ok_or_else(|| bad(property)))
        .collect()
}

fn join(hi: u32, lo: u32) -> u64 {
    u64::from(hi) << 32 | u64::from(lo)
}

/// Decodes the host bridge once every phandle is known.
pub(super) fn decode(raw: &RawPciHost, phandles: &[Phandle]) -> Result<PciHost, DtError> {
    let ecam = *reg_entries(
        &raw.reg,
        raw.parent_address_cells,
        raw.parent_size_cells,
        NODE,
    )?
    .first()
    .ok_or_else(|| bad("reg"))?;
    // PCI unit addresses are three cells (phys.hi, phys.mid, phys.lo).
    if raw.address_cells != Some(3) {
        return Err(bad("#address-cells"));
    }
    let size_cells = raw.size_cells.unwrap_or(2) as usize;
    if !(1..=2).contains(&size_cells) {
        return Err(bad("#size-cells"));
    }
    let (bus_start, bus_end) = match &raw.bus_range {
        None => (0, 0xff),
        Some(v) => match cell_list(v, "bus-range")?.as_slice() {
            [s, e] if s <= e && *e <= 0xff => (*s as u8, *e as u8),
            _ => return Err(bad("bus-range")),
        },
    };
    Ok(PciHost {
        ecam,
        bus_start,
        bus_end,
        windows: windows(raw, size_cells)?,
        intx_mask: mask(raw)?,
        intx: interrupt_map(raw, phandles)?,
    })
}

fn windows(raw: &RawPciHost, size_cells: usize) -> Result<Vec<PciWindow>, DtError> {
    let pac = raw.parent_address_cells;
    if !(1..=2).contains(&pac) {
        return Err(bad("ranges"));
    }
    let entry = (3 + pac + size_cells) * 4;
    if !raw.ranges.len().is_multiple_of(entry) {
        return Err(bad("ranges"));
    }
    raw.ranges
        .chunks_exact(entry)
        .map(|e| {
            let hi = be32(e, 0).ok_or_else(|| bad("ranges"))?;
            let pci_base = join(
                be32(e, 4).ok_or_else(|| bad("ranges"))?,
                be32(e, 8).ok_or_else(|| bad("ranges"))?,
            );
            let cpu_base = cells(e.get(12..).ok_or_else(|| bad("ranges"))?, pac)
                .ok_or_else(|| bad("ranges"))?;
            let size = cells(
                e.get(12 + pac * 4..).ok_or_else(|| bad("ranges"))?,
                size_cells,
            )
            .ok_or_else(|| bad("ranges"))?;
            let space = match (hi >> 24) & 3 {
                1 => PciSpace::Io,
                2 => PciSpace::Mem32,
                3 => PciSpace::Mem64,
                // Configuration space is never a window.
                _ => return Err(bad("ranges")),
            };
            Ok(PciWindow {
                space,
                prefetchable: hi & (1 << 30) != 0,
                pci_base,
                cpu_base,
                size,
            })
        })
        .collect()
}

fn mask(raw: &RawPciHost) -> Result<[u32; 4], DtError> {
    // Without a mask every bit of the child address and pin takes part.
    let Some(v) = &raw.interrupt_map_mask else {
        return Ok([u32::MAX; 4]);
    };
    match cell_list(v, "interrupt-map-mask")?.as_slice() {
        [a, b, c, d] => Ok([*a, *b, *c, *d]),
        _ => Err(bad("interrupt-map-mask")),
    }
}

fn interrupt_map(raw: &RawPciHost, phandles: &[Phandle]) -> Result<Vec<PciIntx>, DtError> {
    let p = "interrupt-map";
    if raw.interrupt_map.is_empty() {
        return Ok(Vec::new());
    }
    if raw.interrupt_cells != Some(1) {
        return Err(bad("#interrupt-cells"));
    }
    let map = cell_list(&raw.interrupt_map, p)?;
    let mut out = Vec::new();
    let mut at = 0;
    while at < map.len() {
        // child unit address (3), child pin (1), parent phandle (1), then the
        // parent's unit address and interrupt specifier, sized by the parent.
        let head = map.get(at..at + 5).ok_or_else(|| bad(p))?;
        let parent = phandles
            .iter()
            .find(|ph| ph.phandle == head[4])
            .ok_or_else(|| bad(p))?;
        let pac = parent.address_cells.unwrap_or(0) as usize;
        let pic = parent.interrupt_cells.ok_or_else(|| bad(p))? as usize;
        let spec = map
            .get(at + 5 + pac..at + 5 + pac + pic)
            .ok_or_else(|| bad(p))?;
        at += 5 + pac + pic;
        if !parent.gic_v3 {
            continue;
        }
        let [kind, number, flags] = spec else {
            return Err(bad(p));
        };
        let intid = match kind {
            0 if *number < 988 => number + 32,
            1 if *number < 16 => number + 16,
            _ => return Err(bad(p)),
        };
        out.push(PciIntx {
            addr_hi: head[0],
            pin: head[3],
            intid,
            level: flags & 0xc != 0,
        });
    }
    Ok(out)
}

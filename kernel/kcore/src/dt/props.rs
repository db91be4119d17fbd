//! Property decoding: the properties of a node the board cares about, and
//! the decoders for strings, cells, `reg` and GIC interrupt specifiers.

use alloc::string::String;
use alloc::vec::Vec;

use super::fdt;
use super::{DtError, MemRegion};

/// The properties of one node that the board cares about.
#[derive(Default)]
pub(super) struct Props<'a> {
    pub(super) compatible: &'a [u8],
    pub(super) device_type: &'a [u8],
    pub(super) status: Option<&'a [u8]>,
    pub(super) reg: Option<&'a [u8]>,
    pub(super) interrupts: Option<&'a [u8]>,
    pub(super) method: Option<&'a [u8]>,
    pub(super) bootargs: Option<&'a [u8]>,
    pub(super) stdout_path: Option<&'a [u8]>,
    pub(super) model: Option<&'a [u8]>,
    pub(super) address_cells: Option<&'a [u8]>,
    pub(super) size_cells: Option<&'a [u8]>,
    pub(super) interrupt_cells: Option<&'a [u8]>,
    pub(super) phandle: Option<&'a [u8]>,
    pub(super) ranges: Option<&'a [u8]>,
    pub(super) bus_range: Option<&'a [u8]>,
    pub(super) interrupt_map: Option<&'a [u8]>,
    pub(super) interrupt_map_mask: Option<&'a [u8]>,
}

impl<'a> Props<'a> {
    pub(super) fn set(&mut self, name: &str, value: &'a [u8]) {
        match name {
            "compatible" => self.compatible = value,
            "device_type" => self.device_type = value,
            "status" => self.status = Some(value),
            "reg" => self.reg = Some(value),
            "interrupts" => self.interrupts = Some(value),
            "method" => self.method = Some(value),
            "bootargs" => self.bootargs = Some(value),
            "stdout-path" => self.stdout_path = Some(value),
            "model" => self.model = Some(value),
            "#address-cells" => self.address_cells = Some(value),
            "#size-cells" => self.size_cells = Some(value),
            "#interrupt-cells" => self.interrupt_cells = Some(value),
            // Old blobs spell it `linux,phandle`; both mean the same.
            "phandle" | "linux,phandle" => self.phandle = Some(value),
            "ranges" => self.ranges = Some(value),
            "bus-range" => self.bus_range = Some(value),
            "interrupt-map" => self.interrupt_map = Some(value),
            "interrupt-map-mask" => self.interrupt_map_mask = Some(value),
            _ => {}
        }
    }

    pub(super) fn is_compatible(&self, with: &str) -> bool {
        strings(self.compatible).any(|c| c == with)
    }

    pub(super) fn enabled(&self) -> bool {
        match self.status {
            None => true,
            Some(s) => matches!(first_string(s), Some("okay" | "ok")),
        }
    }
}

pub(super) struct Frame<'a> {
    pub(super) name: &'a str,
    pub(super) props: Props<'a>,
    pub(super) finished: bool,
}

impl<'a> Frame<'a> {
    pub(super) fn new(name: &'a str) -> Self {
        Self {
            name,
            props: Props::default(),
            finished: false,
        }
    }
}

/// A property value as a list of NUL-terminated strings.
pub(super) fn strings(value: &[u8]) -> impl Iterator<Item = &str> {
    value
        .split(|&c| c == 0)
        .filter(|s| !s.is_empty())
        .filter_map(|s| core::str::from_utf8(s).ok())
}

pub(super) fn first_string(value: &[u8]) -> Option<&str> {
    let end = value.iter().position(|&c| c == 0).unwrap_or(value.len());
    core::str::from_utf8(value.get(..end)?).ok()
}

pub(super) fn one_cell(value: &[u8]) -> Option<u32> {
    (value.len() == 4).then(|| fdt::be32(value, 0)).flatten()
}

/// `n` big-endian cells (at most 2) as one number.
pub(super) fn cells(value: &[u8], n: usize) -> Option<u64> {
    (0..n).try_fold(0u64, |acc, i| {
        Some((acc << 32) | u64::from(fdt::be32(value, i * 4)?))
    })
}

/// Decodes `reg` with the parent's cell counts.
pub(super) fn reg_entries(
    value: &[u8],
    address_cells: usize,
    size_cells: usize,
    node: &'static str,
) -> Result<Vec<MemRegion>, DtError> {
    let bad = DtError::BadProperty {
        node,
        property: "reg",
    };
    if !(1..=2).contains(&address_cells) || size_cells > 2 {
        return Err(bad);
    }
    let entry = (address_cells + size_cells) * 4;
    if value.is_empty() || !value.len().is_multiple_of(entry) {
        return Err(bad);
    }
    value
        .chunks_exact(entry)
        .map(|e| {
            let base = cells(e, address_cells).ok_or(bad)?;
            let size = cells(e.get(address_cells * 4..).ok_or(bad)?, size_cells).ok_or(bad)?;
            Ok(MemRegion { base, size })
        })
        .collect()
}

/// Decodes GICv3 interrupt specifiers `<type number flags>` to INTIDs.
pub(super) fn gic_intids(value: Option<&[u8]>, node: &'static str) -> Result<Vec<u32>, DtError> {
    let bad = DtError::BadProperty {
        node,
        property: "interrupts",
    };
    let value = value.ok_or(bad)?;
    if value.is_empty() || !value.len().is_multiple_of(12) {
        return Err(bad);
    }
    value
        .chunks_exact(12)
        .map(|spec| {
            let kind = fdt::be32(spec, 0).ok_or(bad)?;
            let n = fdt::be32(spec, 4).ok_or(bad)?;
            match kind {
                // SPIs are INTIDs 32..1019, PPIs 16..31.
                0 if n < 988 => Ok(n + 32),
                1 if n < 16 => Ok(n + 16),
                _ => Err(bad),
            }
        })
        .collect()
}

pub(super) fn first_reg(
    props: &Props<'_>,
    ac: usize,
    sc: usize,
    node: &'static str,
) -> Result<MemRegion, DtError> {
    let bad = DtError::BadProperty {
        node,
        property: "reg",
    };
    let reg = props.reg.ok_or(bad)?;
    reg_entries(reg, ac, sc, node)?.first().copied().ok_or(bad)
}

pub(super) fn first_intid(props: &Props<'_>, node: &'static str) -> Result<u32, DtError> {
    let bad = DtError::BadProperty {
        node,
        property: "interrupts",
    };
    gic_intids(props.interrupts, node)?
        .first()
        .copied()
        .ok_or(bad)
}

pub(super) fn owned_string(
    value: &[u8],
    node: &'static str,
    property: &'static str,
) -> Result<String, DtError> {
    first_string(value)
        .map(String::from)
        .ok_or(DtError::BadProperty { node, property })
}

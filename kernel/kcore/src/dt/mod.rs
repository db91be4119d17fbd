//! The board description, read from the flattened device tree that QEMU (or
//! firmware) hands the kernel.
//!
//! [`Board::from_fdt`] makes one pass over the structure block and keeps only
//! what the kernel drives: RAM, the PL011, the GICv3, the generic timer, the
//! virtio-mmio slots, the PCI host bridge, the PSCI conduit, the boot
//! arguments. Absent optional
//! devices come back as `None` or empty; a blob without RAM, with a damaged
//! structure, or with a device whose properties do not decode is an error.
//! Nothing in a blob can make this module panic.
//!
//! Limits, all true of QEMU `virt`: device addresses are taken as they are
//! written (no `ranges` translation through intermediate buses), interrupt
//! specifiers are the GIC's three cells `<type number flags>` whatever the
//! node's `interrupt-parent` says, and of several PL011s the one named by
//! `/chosen/stdout-path` wins, else the first.
//!
//! This module owns the error type; the rest is split by concern:
//!
//! - `fdt`: the blob's header, memory reservation block and structure-block
//!   tokens ([`Fdt`], [`Walk`]);
//! - `board`: the device types and [`Board`], with the walk that fills it;
//! - `builder`: the node walkers, what each kind of node contributes, and the
//!   checks once the walk is over;
//! - `pci`: the PCI host bridge ([`PciHost`]): ECAM, bus range, windows and
//!   the INTx interrupt map, decoded once every phandle is known;
//! - `props`: a node's properties and their decoders (strings, cells, `reg`,
//!   GIC interrupt specifiers);
//! - `ram`: [`ram_regions`], the RAM banks without allocating;
//! - `bootargs`: [`bootarg`], a key's value in the kernel command line.

mod board;
mod bootargs;
mod builder;
mod fdt;
mod pci;
mod props;
mod ram;

pub use board::{Board, Gic, MemRegion, Psci, PsciConduit, Rtc, Timer, Uart, VirtioMmio};
pub use bootargs::bootarg;
pub use fdt::{Fdt, Reservations, Token, Walk, MAX_FDT_SIZE};
pub use pci::{PciHost, PciIntx, PciSpace, PciWindow};
pub use ram::ram_regions;

use core::fmt;

/// Deeper nesting than this is refused; real trees are 4-6 levels deep and
/// the bound keeps the per-level state small on an early, tiny heap.
const MAX_DEPTH: usize = 32;

/// Why a device tree was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtError {
    /// [`Board::from_ptr`] was given a null pointer.
    NullPointer,
    /// The blob is shorter than its header says.
    Truncated {
        /// Bytes the header asks for.
        needed: usize,
        /// Bytes actually given.
        available: usize,
    },
    /// The first word is not 0xd00dfeed.
    BadMagic(u32),
    /// `totalsize` is beyond [`MAX_FDT_SIZE`].
    TooLarge(usize),
    /// A format version this reader does not understand.
    UnsupportedVersion {
        /// `version` from the header.
        version: u32,
        /// `last_comp_version` from the header.
        last_compatible: u32,
    },
    /// A header field points outside the blob.
    BadHeader(&'static str),
    /// The structure block is malformed at `offset` (from the block's start).
    BadStructure {
        /// Byte offset inside the structure block.
        offset: usize,
        /// What is wrong there.
        what: &'static str,
    },
    /// Nodes nest deeper than this reader allows.
    TooDeep,
    /// A property of a device the kernel needs does not decode.
    BadProperty {
        /// The kind of node (e.g. "pl011", "timer").
        node: &'static str,
        /// The property's name.
        property: &'static str,
    },
    /// No `device_type = "memory"` node with a usable `reg`.
    NoMemory,
    /// An interrupt controller other than a GICv3 and no GICv3.
    UnsupportedGic {
        /// The GIC architecture version found.
        version: u8,
    },
}

impl fmt::Display for DtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NullPointer => write!(f, "device tree pointer is null"),
            Self::Truncated { needed, available } => write!(
                f,
                "device tree truncated: header says {needed} bytes, {available} available"
            ),
            Self::BadMagic(m) => write!(f, "not a device tree: magic {m:#010x}, want 0xd00dfeed"),
            Self::TooLarge(n) => write!(
                f,
                "device tree totalsize {n} exceeds the {MAX_FDT_SIZE}-byte limit"
            ),
            Self::UnsupportedVersion {
                version,
                last_compatible,
            } => write!(
                f,
                "device tree version {version} (compatible with {last_compatible}) is not supported"
            ),
            Self::BadHeader(what) => write!(f, "bad device tree header: {what}"),
            Self::BadStructure { offset, what } => {
                write!(f, "bad device tree structure at offset {offset:#x}: {what}")
            }
            Self::TooDeep => write!(f, "device tree nodes nest deeper than {MAX_DEPTH} levels"),
            Self::BadProperty { node, property } => {
                write!(
                    f,
                    "device tree: {node} node has a bad '{property}' property"
                )
            }
            Self::NoMemory => write!(f, "device tree has no /memory node with a reg"),
            Self::UnsupportedGic { version } => write!(
                f,
                "interrupt controller is a GICv{version}, the kernel needs a GICv3 \
                 (QEMU: -M virt,gic-version=3)"
            ),
        }
    }
}

impl core::error::Error for DtError {}

#[cfg(test)]
mod tests;

//! The board description, read from the flattened device tree that QEMU (or
//! firmware) hands the kernel.
//!
//! [`Board::from_fdt`] makes one pass over the structure block and keeps only
//! what the kernel drives: RAM, the PL011, the GICv3, the generic timer, the
//! virtio-mmio slots, the PSCI conduit, the boot arguments. Absent optional
//! devices come back as `None` or empty; a blob without RAM, with a damaged
//! structure, or with a device whose properties do not decode is an error.
//! Nothing in a blob can make this module panic.
//!
//! Limits, all true of QEMU `virt`: device addresses are taken as they are
//! written (no `ranges` translation through intermediate buses), interrupt
//! specifiers are the GIC's three cells `<type number flags>` whatever the
//! node's `interrupt-parent` says, and of several PL011s the one named by
//! `/chosen/stdout-path` wins, else the first.

mod fdt;

pub use fdt::{Fdt, Reservations, Token, Walk, MAX_FDT_SIZE};

use alloc::string::String;
use alloc::vec::Vec;
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
    /// The PSCI conduit.
    pub psci: Option<Psci>,
    /// `/chosen/bootargs` (QEMU `-append`).
    pub bootargs: Option<String>,
    /// Number of `/cpus/cpu@*` nodes with `device_type = "cpu"`.
    pub cpus: usize,
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
    /// [`MAX_FDT_SIZE`]) must be readable and must not change during the call.
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

/// The RAM banks of `blob` without allocating, for a kernel that needs them
/// to place its heap before it can call [`Board::from_fdt`]. Fills `out` with
/// the banks of the root's `device_type = "memory"` nodes in blob order and
/// returns how many there are (more than `out.len()` if `out` is too small;
/// only the first `out.len()` are stored). Zero-sized banks are skipped.
pub fn ram_regions(blob: &[u8], out: &mut [MemRegion]) -> Result<usize, DtError> {
    let fdt = Fdt::new(blob)?;
    let (mut ac, mut sc) = (2, 1);
    let (mut is_memory, mut reg, mut enabled) = (false, None, true);
    let mut found = 0;
    let mut walk = fdt.walk();
    while let Some(token) = walk.next() {
        match (token?, walk.depth()) {
            (Token::Property { name, value }, 1) => match name {
                "#address-cells" => ac = one_cell(value).map_or(usize::MAX, |c| c as usize),
                "#size-cells" => sc = one_cell(value).map_or(usize::MAX, |c| c as usize),
                _ => {}
            },
            (Token::Property { name, value }, 2) => match name {
                "device_type" => is_memory = first_string(value) == Some("memory"),
                "reg" => reg = Some(value),
                "status" => enabled = matches!(first_string(value), Some("okay" | "ok")),
                _ => {}
            },
            (Token::EndNode, 1) => {
                if is_memory && enabled {
                    let bad = DtError::BadProperty {
                        node: "memory",
                        property: "reg",
                    };
                    let value = reg.ok_or(bad)?;
                    if !(1..=2).contains(&ac) || sc > 2 {
                        return Err(bad);
                    }
                    let entry = (ac + sc) * 4;
                    if value.is_empty() || !value.len().is_multiple_of(entry) {
                        return Err(bad);
                    }
                    for e in value.chunks_exact(entry) {
                        let base = cells(e, ac).ok_or(bad)?;
                        let size = cells(e.get(ac * 4..).ok_or(bad)?, sc).ok_or(bad)?;
                        if size == 0 {
                            continue;
                        }
                        if let Some(slot) = out.get_mut(found) {
                            *slot = MemRegion { base, size };
                        }
                        found += 1;
                    }
                }
                (is_memory, reg, enabled) = (false, None, true);
            }
            _ => {}
        }
    }
    if found == 0 {
        return Err(DtError::NoMemory);
    }
    Ok(found)
}

/// The properties of one node that the board cares about.
#[derive(Default)]
struct Props<'a> {
    compatible: &'a [u8],
    device_type: &'a [u8],
    status: Option<&'a [u8]>,
    reg: Option<&'a [u8]>,
    interrupts: Option<&'a [u8]>,
    method: Option<&'a [u8]>,
    bootargs: Option<&'a [u8]>,
    stdout_path: Option<&'a [u8]>,
    model: Option<&'a [u8]>,
    address_cells: Option<&'a [u8]>,
    size_cells: Option<&'a [u8]>,
    interrupt_cells: Option<&'a [u8]>,
}

impl<'a> Props<'a> {
    fn set(&mut self, name: &str, value: &'a [u8]) {
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
            _ => {}
        }
    }

    fn is_compatible(&self, with: &str) -> bool {
        strings(self.compatible).any(|c| c == with)
    }

    fn enabled(&self) -> bool {
        match self.status {
            None => true,
            Some(s) => matches!(first_string(s), Some("okay" | "ok")),
        }
    }
}

struct Frame<'a> {
    name: &'a str,
    props: Props<'a>,
    finished: bool,
}

impl<'a> Frame<'a> {
    fn new(name: &'a str) -> Self {
        Self {
            name,
            props: Props::default(),
            finished: false,
        }
    }
}

/// A property value as a list of NUL-terminated strings.
fn strings(value: &[u8]) -> impl Iterator<Item = &str> {
    value
        .split(|&c| c == 0)
        .filter(|s| !s.is_empty())
        .filter_map(|s| core::str::from_utf8(s).ok())
}

fn first_string(value: &[u8]) -> Option<&str> {
    let end = value.iter().position(|&c| c == 0).unwrap_or(value.len());
    core::str::from_utf8(value.get(..end)?).ok()
}

fn one_cell(value: &[u8]) -> Option<u32> {
    (value.len() == 4).then(|| fdt::be32(value, 0)).flatten()
}

/// `n` big-endian cells (at most 2) as one number.
fn cells(value: &[u8], n: usize) -> Option<u64> {
    (0..n).try_fold(0u64, |acc, i| {
        Some((acc << 32) | u64::from(fdt::be32(value, i * 4)?))
    })
}

/// Decodes `reg` with the parent's cell counts.
fn reg_entries(
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
fn gic_intids(value: Option<&[u8]>, node: &'static str) -> Result<Vec<u32>, DtError> {
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

fn first_reg(
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

fn first_intid(props: &Props<'_>, node: &'static str) -> Result<u32, DtError> {
    let bad = DtError::BadProperty {
        node,
        property: "interrupts",
    };
    gic_intids(props.interrupts, node)?
        .first()
        .copied()
        .ok_or(bad)
}

fn owned_string(
    value: &[u8],
    node: &'static str,
    property: &'static str,
) -> Result<String, DtError> {
    first_string(value)
        .map(String::from)
        .ok_or(DtError::BadProperty { node, property })
}

#[derive(Default)]
struct Builder {
    ram: Vec<MemRegion>,
    reserved: Vec<MemRegion>,
    uarts: Vec<(String, Uart)>,
    stdout_path: Option<String>,
    gic: Option<Gic>,
    other_gic: Option<u8>,
    timer: Option<Timer>,
    virtio_mmio: Vec<VirtioMmio>,
    psci: Option<Psci>,
    bootargs: Option<String>,
    cpus: usize,
    model: Option<String>,
}

impl Builder {
    /// Interprets `stack[i]` once its properties are complete: at its first
    /// child or at its end, whichever comes first.
    fn finish_node(&mut self, stack: &mut [Frame<'_>], i: usize) -> Result<(), DtError> {
        let Some(frame) = stack.get(i) else {
            return Ok(());
        };
        if frame.finished {
            return Ok(());
        }
        let parent = i.checked_sub(1).and_then(|p| stack.get(p));
        // Defaults from the devicetree spec, section 2.3.5.
        let cells_of = |v: Option<&[u8]>, default: u32, property| {
            v.map_or(Some(default), one_cell)
                .map(|c| c as usize)
                .ok_or(DtError::BadProperty {
                    node: "parent",
                    property,
                })
        };
        let (ac, sc) = match parent {
            Some(p) => (
                cells_of(p.props.address_cells, 2, "#address-cells")?,
                cells_of(p.props.size_cells, 1, "#size-cells")?,
            ),
            None => (2, 1),
        };
        let grandparent_is_root = i == 2;
        let parent_name = parent.map_or("", |p| p.name);
        self.interpret(frame, i, ac, sc, parent_name, grandparent_is_root, stack)?;
        if let Some(frame) = stack.get_mut(i) {
            frame.finished = true;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn interpret(
        &mut self,
        frame: &Frame<'_>,
        depth: usize,
        ac: usize,
        sc: usize,
        parent_name: &str,
        parent_at_top: bool,
        stack: &[Frame<'_>],
    ) -> Result<(), DtError> {
        let p = &frame.props;
        let base_name = frame.name.split('@').next().unwrap_or("");
        if depth == 0 {
            if let Some(m) = p.model {
                self.model = Some(owned_string(m, "root", "model")?);
            }
            return Ok(());
        }
        if depth == 1 && frame.name == "chosen" {
            if let Some(v) = p.bootargs {
                self.bootargs = Some(owned_string(v, "chosen", "bootargs")?);
            }
            if let Some(v) = p.stdout_path {
                self.stdout_path = Some(owned_string(v, "chosen", "stdout-path")?);
            }
            return Ok(());
        }
        if !p.enabled() {
            return Ok(());
        }
        if first_string(p.device_type) == Some("memory") {
            let reg = p.reg.ok_or(DtError::BadProperty {
                node: "memory",
                property: "reg",
            })?;
            let banks = reg_entries(reg, ac, sc, "memory")?;
            self.ram.extend(banks.into_iter().filter(|r| r.size != 0));
            return Ok(());
        }
        if parent_at_top && parent_name == "cpus" && base_name == "cpu" {
            if first_string(p.device_type) == Some("cpu") {
                self.cpus += 1;
            }
            return Ok(());
        }
        if parent_at_top && parent_name == "reserved-memory" {
            // Entries with only `size` are pools for the OS to place; they
            // reserve nothing yet.
            if let Some(reg) = p.reg {
                self.reserved
                    .extend(reg_entries(reg, ac, sc, "reserved-memory")?);
            }
            return Ok(());
        }
        if p.is_compatible("arm,pl011") {
            let reg = first_reg(p, ac, sc, "pl011")?;
            let intid = first_intid(p, "pl011")?;
            let mut path = String::new();
            for f in stack.get(1..=depth).unwrap_or(&[]) {
                path.push('/');
                path.push_str(f.name);
            }
            self.uarts.push((
                path,
                Uart {
                    base: reg.base,
                    size: reg.size,
                    intid,
                },
            ));
        } else if p.is_compatible("arm,gic-v3") {
            if self.gic.is_none() {
                self.gic = Some(Self::gic(p, ac, sc)?);
            }
        } else if [
            "arm,gic-400",
            "arm,cortex-a15-gic",
            "arm,cortex-a9-gic",
            "arm,cortex-a7-gic",
        ]
        .iter()
        .any(|c| p.is_compatible(c))
        {
            self.other_gic = Some(2);
        } else if p.is_compatible("arm,armv8-timer") {
            let ids = gic_intids(p.interrupts, "timer")?;
            // Spec order: secure phys, non-secure phys, virtual, hyp phys.
            let [s, ns, virt, rest @ ..] = ids.as_slice() else {
                return Err(DtError::BadProperty {
                    node: "timer",
                    property: "interrupts",
                });
            };
            self.timer = Some(Timer {
                phys_ns_intid: *ns,
                virt_intid: *virt,
                hyp_intid: rest.first().copied(),
                phys_s_intid: Some(*s),
            });
        } else if p.is_compatible("virtio,mmio") {
            let reg = first_reg(p, ac, sc, "virtio-mmio")?;
            let intid = first_intid(p, "virtio-mmio")?;
            self.virtio_mmio.push(VirtioMmio {
                base: reg.base,
                size: reg.size,
                intid,
            });
        } else if (depth == 1 && base_name == "psci")
            || strings(p.compatible).any(|c| c.starts_with("arm,psci"))
        {
            let bad = DtError::BadProperty {
                node: "psci",
                property: "method",
            };
            let conduit = match p.method.and_then(first_string) {
                Some("hvc") => PsciConduit::Hvc,
                Some("smc") => PsciConduit::Smc,
                _ => return Err(bad),
            };
            self.psci = Some(Psci { conduit });
        }
        Ok(())
    }

    fn gic(p: &Props<'_>, ac: usize, sc: usize) -> Result<Gic, DtError> {
        if p.interrupt_cells.and_then(one_cell) != Some(3) {
            return Err(DtError::BadProperty {
                node: "gic-v3",
                property: "#interrupt-cells",
            });
        }
        let bad = DtError::BadProperty {
            node: "gic-v3",
            property: "reg",
        };
        let reg = reg_entries(p.reg.ok_or(bad)?, ac, sc, "gic-v3")?;
        let [gicd, gicr, ..] = reg.as_slice() else {
            return Err(bad);
        };
        Ok(Gic {
            version: 3,
            gicd_base: gicd.base,
            gicd_size: gicd.size,
            gicr_base: gicr.base,
            gicr_size: gicr.size,
        })
    }

    fn into_board(mut self, fdt_size: usize) -> Result<Board, DtError> {
        if self.ram.is_empty() {
            return Err(DtError::NoMemory);
        }
        if self.gic.is_none() {
            if let Some(version) = self.other_gic {
                return Err(DtError::UnsupportedGic { version });
            }
        }
        self.ram.sort_unstable();
        self.reserved.sort_unstable();
        self.virtio_mmio.sort_unstable_by_key(|v| v.base);
        // stdout-path may carry options after ':' ("/pl011@9000000:115200n8").
        let wanted = self
            .stdout_path
            .as_deref()
            .map(|s| s.split(':').next().unwrap_or(s));
        let chosen = self
            .uarts
            .iter()
            .position(|(path, _)| Some(path.as_str()) == wanted)
            .unwrap_or(0);
        Ok(Board {
            ram: self.ram,
            reserved: self.reserved,
            uart: self.uarts.get(chosen).map(|(_, u)| *u),
            gic: self.gic,
            timer: self.timer,
            virtio_mmio: self.virtio_mmio,
            psci: self.psci,
            bootargs: self.bootargs,
            cpus: self.cpus,
            model: self.model,
            fdt_size,
        })
    }
}

/// Looks `key` up in a kernel command line.
///
/// Words are separated by ASCII whitespace; double quotes group spaces into a
/// word (`msg="a b"`) and are stripped from the value, as Linux's
/// `next_arg` does. `key=value` yields `Some("value")`, a bare `key` yields
/// `Some("")`. When a key repeats, the last one wins (later words override
/// earlier ones, as on Linux). Words after a lone `--` belong to something
/// else and are not searched.
pub fn bootarg<'a>(bootargs: &'a str, key: &str) -> Option<&'a str> {
    if key.is_empty() {
        return None;
    }
    let mut found = None;
    for word in words(bootargs) {
        if word == "--" {
            break;
        }
        let (k, v) = match word.split_once('=') {
            Some((k, v)) => (k, v),
            None => (word, ""),
        };
        if k == key {
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v);
            found = Some(v);
        }
    }
    found
}

/// Splits at whitespace outside double quotes.
fn words(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = s;
    core::iter::from_fn(move || {
        rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace());
        if rest.is_empty() {
            return None;
        }
        let mut quoted = false;
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                if c == '"' {
                    quoted = !quoted;
                }
                !quoted && c.is_ascii_whitespace()
            })
            .map_or(rest.len(), |(i, _)| i);
        let (word, tail) = rest.split_at(end);
        rest = tail;
        Some(word)
    })
}

#[cfg(test)]
mod tests;

//! The node walkers: what each kind of node (memory, CPUs, reserved memory,
//! the PL011, the PL031, the GIC, the timer, virtio-mmio, the PCI host
//! bridge, PSCI, `/chosen`) contributes to the [`Board`], and the checks made
//! once the walk is over.

use alloc::string::String;
use alloc::vec::Vec;

use super::pci::{self, Phandle, RawPciHost};
use super::props::{
    first_intid, first_reg, first_string, gic_intids, one_cell, owned_string, reg_entries, strings,
    Frame, Props,
};
use super::{Board, DtError, Gic, MemRegion, Psci, PsciConduit, Rtc, Timer, Uart, VirtioMmio};

/// What the walk has gathered so far; [`Builder::into_board`] checks it and
/// makes the [`Board`].
#[derive(Default)]
pub(super) struct Builder {
    ram: Vec<MemRegion>,
    pub(super) reserved: Vec<MemRegion>,
    uarts: Vec<(String, Uart)>,
    stdout_path: Option<String>,
    gic: Option<Gic>,
    other_gic: Option<u8>,
    timer: Option<Timer>,
    virtio_mmio: Vec<VirtioMmio>,
    psci: Option<Psci>,
    rtc: Option<Rtc>,
    bootargs: Option<String>,
    cpus: usize,
    cpu_ids: Vec<u64>,
    model: Option<String>,
    phandles: Vec<Phandle>,
    pci: Option<RawPciHost>,
}

impl Builder {
    /// Interprets `stack[i]` once its properties are complete: at its first
    /// child or at its end, whichever comes first.
    pub(super) fn finish_node(&mut self, stack: &mut [Frame<'_>], i: usize) -> Result<(), DtError> {
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
        if let Some(phandle) = p.phandle.and_then(one_cell) {
            self.phandles.push(Phandle {
                phandle,
                address_cells: p.address_cells.and_then(one_cell),
                interrupt_cells: p.interrupt_cells.and_then(one_cell),
                gic_v3: p.is_compatible("arm,gic-v3"),
            });
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
                if let Some(reg) = p.reg {
                    let id = reg_entries(reg, ac, sc, "cpu")?;
                    self.cpu_ids.extend(id.first().map(|r| r.base));
                }
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
        } else if p.is_compatible("arm,pl031") {
            if self.rtc.is_none() {
                let reg = first_reg(p, ac, sc, "pl031")?;
                let intid = first_intid(p, "pl031")?;
                self.rtc = Some(Rtc {
                    base: reg.base,
                    size: reg.size,
                    intid,
                });
            }
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
        } else if p.is_compatible("pci-host-ecam-generic") {
            // The first bridge is the one the kernel drives.
            if self.pci.is_none() {
                self.pci = Some(Self::pci_host(p, ac, sc)?);
            }
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

    fn pci_host(p: &Props<'_>, ac: usize, sc: usize) -> Result<RawPciHost, DtError> {
        let bad = |property| DtError::BadProperty {
            node: "pci-host-ecam-generic",
            property,
        };
        let cell = |v: Option<&[u8]>, property| match v {
            None => Ok(None),
            Some(v) => one_cell(v).map(Some).ok_or_else(|| bad(property)),
        };
        Ok(RawPciHost {
            reg: p.reg.ok_or_else(|| bad("reg"))?.to_vec(),
            parent_address_cells: ac,
            parent_size_cells: sc,
            address_cells: cell(p.address_cells, "#address-cells")?,
            size_cells: cell(p.size_cells, "#size-cells")?,
            interrupt_cells: cell(p.interrupt_cells, "#interrupt-cells")?,
            bus_range: p.bus_range.map(<[u8]>::to_vec),
            ranges: p.ranges.unwrap_or(&[]).to_vec(),
            interrupt_map: p.interrupt_map.unwrap_or(&[]).to_vec(),
            interrupt_map_mask: p.interrupt_map_mask.map(<[u8]>::to_vec),
        })
    }

    pub(super) fn into_board(mut self, fdt_size: usize) -> Result<Board, DtError> {
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
        let pci = match &self.pci {
            Some(raw) => Some(pci::decode(raw, &self.phandles)?),
            None => None,
        };
        Ok(Board {
            ram: self.ram,
            reserved: self.reserved,
            uart: self.uarts.get(chosen).map(|(_, u)| *u),
            gic: self.gic,
            timer: self.timer,
            virtio_mmio: self.virtio_mmio,
            pci,
            psci: self.psci,
            rtc: self.rtc,
            bootargs: self.bootargs,
            cpus: self.cpus,
            cpu_ids: self.cpu_ids,
            model: self.model,
            fdt_size,
        })
    }
}

//! virtio-mmio discovery: which of the device tree's slots hold a device,
//! and of what kind. Drivers attach to what this finds (through
//! `VirtioDevice::transport`); this module only reads identification
//! registers.

use super::virtio::{Location, VirtioDevice};
use crate::mmio::MmioRef;
use alloc::vec::Vec;
use tock_registers::{interfaces::Readable, register_structs, registers::ReadOnly};

register_structs! {
    /// The identification registers common to every virtio-mmio version.
    pub VirtioMmioIdRegs {
        (0x000 => magic: ReadOnly<u32>),
        (0x004 => version: ReadOnly<u32>),
        (0x008 => device_id: ReadOnly<u32>),
        (0x00c => vendor_id: ReadOnly<u32>),
        (0x010 => @END),
    }
}

/// "virt" in little-endian ASCII.
const MAGIC: u32 = 0x7472_6976;

/// Reads every slot; empty slots (device ID 0) and non-virtio windows are
/// skipped, as the virtio spec says a driver must.
pub fn probe(slots: &[kcore::dt::VirtioMmio]) -> Vec<VirtioDevice> {
    let mut found = Vec::new();
    for slot in slots {
        if slot.size < 0x10 {
            continue;
        }
        // SAFETY: the slot comes from the device tree's virtio,mmio nodes,
        // inside the first GiB that the MMU maps as device memory; only the
        // read-only identification registers are touched.
        let regs: MmioRef<VirtioMmioIdRegs> = unsafe { MmioRef::new(slot.base as usize) };
        if regs.magic.get() != MAGIC {
            continue;
        }
        let device_id = regs.device_id.get();
        if device_id == 0 {
            continue;
        }
        found.push(VirtioDevice {
            location: Location::Mmio {
                base: slot.base,
                size: slot.size,
                version: regs.version.get(),
            },
            device_id,
            vendor_id: regs.vendor_id.get(),
            intid: Some(slot.intid),
        });
    }
    found
}

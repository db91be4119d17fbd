//! The virtio bus service: finds the virtio devices in the device tree's
//! virtio-mmio slots and on the PCI bus (whose BARs it assigns), for the
//! drivers that attach to them; the store's block driver and the network
//! service depend on it. It keeps the list of every PCI function too, for
//! `INFO devices`.
//!
//! Its name stays `virtio-mmio`, as it was before PCI came, so that
//! `SERVICES` and `SERVICE STOP` mean what they meant; `virtio` is its
//! alias.

use alloc::{format, string::String, vec::Vec};
use hal::drivers::pci::{self, PciFunction};
use hal::drivers::virtio::{self, Location, VirtioDevice};
use hal::drivers::virtio_mmio;
use kcore::registry::ServiceError;
use spin::Mutex;

static DEVICES: Mutex<Vec<VirtioDevice>> = Mutex::new(Vec::new());
static PCI: Mutex<Vec<PciFunction>> = Mutex::new(Vec::new());

fn init() -> Result<(), ServiceError> {
    let board = crate::board::board();
    let mut found = virtio_mmio::probe(&board.virtio_mmio);
    for d in &found {
        if let Location::Mmio { base, version, .. } = d.location {
            log::info!(
                "virtio-mmio: {} device (id {}, vendor {:#x}) at {:#x}, INTID {}, {}",
                d.kind(),
                d.device_id,
                d.vendor_id,
                base,
                d.intid.unwrap_or(0),
                if version == 1 {
                    "legacy interface"
                } else {
                    "modern interface"
                }
            );
        }
    }
    if found.is_empty() {
        log::info!("virtio-mmio: {} slots, all empty", board.virtio_mmio.len());
    }
    let functions = match &board.pci {
        None => {
            log::info!("pci: no host bridge in the device tree");
            Vec::new()
        }
        Some(host) => match pci::enumerate(host) {
            Ok(functions) => functions,
            // The mmio devices still work without the PCI ones.
            Err(e) => {
                log::error!("pci: {e}: no PCI devices");
                Vec::new()
            }
        },
    };
    for f in &functions {
        log::info!("pci: {}", describe(f));
        if let Some(device_id) = f.virtio_type {
            found.push(VirtioDevice {
                location: Location::Pci {
                    bus: f.bus,
                    device: f.device,
                    function: f.function,
                },
                device_id,
                vendor_id: u32::from(f.vendor_id),
                intid: f.intid.map(|(intid, _)| intid),
            });
        }
    }
    *DEVICES.lock() = found;
    *PCI.lock() = functions;
    Ok(())
}

/// One line about a PCI function: where, what, its BARs and interrupt.
pub fn describe(f: &PciFunction) -> String {
    let mut s = format!(
        "{:02x}:{:02x}.{} {:04x}:{:04x} class {:02x}.{:02x}",
        f.bus, f.device, f.function, f.vendor_id, f.device_id, f.class, f.subclass
    );
    if let Some(t) = f.virtio_type {
        s.push_str(&format!(" virtio {}", virtio::kind(t)));
    }
    if f.bridge {
        s.push_str(" (bridge, not scanned behind)");
    }
    for b in &f.bars {
        if b.io {
            s.push_str(&format!(", BAR{} I/O {} bytes unassigned", b.index, b.size));
        } else {
            s.push_str(&format!(
                ", BAR{} {}{} {:#x} ({} KiB)",
                b.index,
                if b.bits64 { "mem64" } else { "mem32" },
                if b.prefetchable { " pref" } else { "" },
                b.address,
                b.size >> 10
            ));
        }
    }
    match (f.pin, f.intid) {
        (0, _) => {}
        (pin, Some((intid, level))) => s.push_str(&format!(
            ", INT{} INTID {intid} {}",
            char::from(b'A' + pin - 1),
            if level { "level" } else { "edge" }
        )),
        (pin, None) => s.push_str(&format!(", INT pin {pin} not routed")),
    }
    s
}

fn exit() -> Result<(), ServiceError> {
    DEVICES.lock().clear();
    PCI.lock().clear();
    Ok(())
}

/// The virtio devices found when the service last started, mmio first.
pub fn devices() -> Vec<VirtioDevice> {
    DEVICES.lock().clone()
}

/// Every PCI function found when the service last started.
pub fn pci_functions() -> Vec<PciFunction> {
    PCI.lock().clone()
}

crate::service!(VIRTIO_SERVICE {
    name: "virtio-mmio",
    description: "virtio bus: finds virtio devices in the device tree's slots and on PCI",
    author: "The unikv developers",
    license: "MIT OR Apache-2.0",
    alias: "virtio",
    depends: [],
    init: init,
    exit: Some(exit),
});

//! The virtio-mmio bus service: finds the virtio devices in the device
//! tree's slots, for the drivers that attach to them (the store's block
//! driver depends on this service).

use alloc::vec::Vec;
use hal::drivers::virtio_mmio::{self, VirtioDevice};
use kcore::registry::ServiceError;
use spin::Mutex;

static DEVICES: Mutex<Vec<VirtioDevice>> = Mutex::new(Vec::new());

fn init() -> Result<(), ServiceError> {
    let board = crate::board::board();
    let found = virtio_mmio::probe(&board.virtio_mmio);
    for d in &found {
        log::info!(
            "virtio-mmio: {} device (id {}, vendor {:#x}) at {:#x}, INTID {}, {}",
            d.kind(),
            d.device_id,
            d.vendor_id,
            d.base,
            d.intid,
            if d.version == 1 {
                "legacy interface"
            } else {
                "modern interface"
            }
        );
    }
    if found.is_empty() {
        log::info!("virtio-mmio: {} slots, all empty", board.virtio_mmio.len());
    }
    *DEVICES.lock() = found;
    Ok(())
}

fn exit() -> Result<(), ServiceError> {
    DEVICES.lock().clear();
    Ok(())
}

/// The devices found when the service last started.
pub fn devices() -> Vec<VirtioDevice> {
    DEVICES.lock().clone()
}

crate::service!(VIRTIO_SERVICE {
    name: "virtio-mmio",
    description: "virtio-mmio bus: finds virtio devices in the device tree's slots",
    author: "The unikv developers",
    license: "MIT OR Apache-2.0",
    alias: "virtio",
    depends: [],
    init: init,
    exit: Some(exit),
});

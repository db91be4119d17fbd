//! Device drivers.

pub mod pci;
pub mod pl011;
pub mod pl031;
pub mod virtio;
pub mod virtio_blk;
pub mod virtio_mmio;
pub mod virtio_net;
pub mod virtio_quiet;

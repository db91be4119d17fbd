//! Device drivers.

pub mod pl011;
pub mod pl031;
pub mod virtio_blk;
pub mod virtio_mmio;

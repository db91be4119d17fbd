//! A transport that hides VIRTIO_F_EVENT_IDX from the driver, so that the
//! device's notification suppression works through the rings' flags.
//!
//! `virtio-drivers` 0.13 negotiates EVENT_IDX but decides whether to
//! notify with `avail_idx >= avail_event + 1` rather than the spec's
//! `vring_need_event` (notify only when the new buffers cross
//! `avail_event`). QEMU moves a receive queue's `avail_event` only when it
//! runs out of buffers, so every recycled receive buffer and every frame
//! sent was a notify: an exit to QEMU, 20-40 us each under TCG. A traced
//! `redis-benchmark -c 10 -t set` (2026-12-04, `-trace virtio_queue_notify`)
//! showed 12 in a row, ~430 us, between a commit's flush and the next WAL
//! write. With the flags instead, QEMU sets NO_NOTIFY while it has receive
//! buffers and while its transmit bottom half is scheduled, as it did for
//! Linux before EVENT_IDX.

use virtio_drivers::device::common::Feature;
use virtio_drivers::transport::{DeviceStatus, DeviceType, InterruptStatus, Transport};
use virtio_drivers::{PhysAddr, Result};
use zerocopy::{FromBytes, Immutable, IntoBytes};

/// `T`, offering every feature but EVENT_IDX.
pub struct NoEventIdx<T>(pub T);

impl<T: Transport> Transport for NoEventIdx<T> {
    fn device_type(&self) -> DeviceType {
        self.0.device_type()
    }
    fn read_device_features(&mut self) -> u64 {
        self.0.read_device_features() & !Feature::RING_EVENT_IDX.bits()
    }
    fn write_driver_features(&mut self, driver_features: u64) {
        self.0.write_driver_features(driver_features)
    }
    fn max_queue_size(&mut self, queue: u16) -> u32 {
        self.0.max_queue_size(queue)
    }
    fn notify(&mut self, queue: u16) {
        self.0.notify(queue)
    }
    fn get_status(&self) -> DeviceStatus {
        self.0.get_status()
    }
    fn set_status(&mut self, status: DeviceStatus) {
        self.0.set_status(status)
    }
    fn set_guest_page_size(&mut self, guest_page_size: u32) {
        self.0.set_guest_page_size(guest_page_size)
    }
    fn requires_legacy_layout(&self) -> bool {
        self.0.requires_legacy_layout()
    }
    fn queue_set(
        &mut self,
        queue: u16,
        size: u32,
        descriptors: PhysAddr,
        driver_area: PhysAddr,
        device_area: PhysAddr,
    ) {
        self.0
            .queue_set(queue, size, descriptors, driver_area, device_area)
    }
    fn queue_unset(&mut self, queue: u16) {
        self.0.queue_unset(queue)
    }
    fn queue_used(&mut self, queue: u16) -> bool {
        self.0.queue_used(queue)
    }
    fn ack_interrupt(&mut self) -> InterruptStatus {
        self.0.ack_interrupt()
    }
    fn read_config_generation(&self) -> u32 {
        self.0.read_config_generation()
    }
    fn read_config_space<V: FromBytes + IntoBytes>(&self, offset: usize) -> Result<V> {
        self.0.read_config_space(offset)
    }
    fn write_config_space<V: IntoBytes + Immutable>(
        &mut self,
        offset: usize,
        value: V,
    ) -> Result<()> {
        self.0.write_config_space(offset, value)
    }
}

//! virtio-net: Ethernet frames in and out, on either transport
//! (virtio-net-device on mmio, virtio-net-pci), over `virtio-drivers`'
//! `VirtIONetRaw`, which leaves the buffers to us: sends do not wait for the
//! device, and received frames are handed out by value so that a network
//! stack can read one while it sends another.
//!
//! Every receive buffer is posted at attach and re-posted when the frame in
//! it has been read ([`VirtioNet::recycle`]). Transmit buffers come from a
//! pool of [`QUEUE`]; one goes back to the pool when the device reports it
//! used, which [`VirtioNet::transmit`] and [`VirtioNet::reclaim`] check.
//!
//! Notifications: EVENT_IDX is not negotiated ([`NoEventIdx`] says why),
//! so both ways go by the rings' flags: the driver notifies unless the
//! device set NO_NOTIFY (QEMU does while it has receive buffers, and while
//! its transmit bottom half is scheduled), and the device raises its line
//! for every buffer it uses (the driver never sets NO_INTERRUPT). The line is
//! level-triggered on PCI (INTx) and held until acknowledged on mmio:
//! [`VirtioNet::ack_interrupt`] (the ISR read on PCI, InterruptACK on mmio)
//! lowers it: the handler runs it before its end of interrupt, or masks the
//! line at the GIC until something else has (the net service does so).
//!
//! The device offers no checksum offload that is negotiated here (the stack
//! checksums in software) and one queue pair; frames are at most 1514 bytes.

use super::virtio::KernelHal;
use super::virtio_quiet::NoEventIdx;
use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use virtio_drivers::{device::net::VirtIONetRaw, transport::SomeTransport};

/// Entries per virtqueue, and buffers each way (QEMU allows up to 256).
pub const QUEUE: usize = 128;
/// The largest Ethernet frame without FCS or VLAN tag.
pub const MAX_FRAME: usize = 1514;
/// A buffer: the virtio-net header (10 or 12 bytes) and one frame.
const BUF_LEN: usize = 1536;

#[derive(Debug)]
pub enum NetAttachError {
    Device(virtio_drivers::Error),
}

impl core::fmt::Display for NetAttachError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Device(e) => write!(f, "virtio-net: {e}"),
        }
    }
}

/// Frames and bytes each way, and what went wrong.
#[derive(Clone, Copy, Debug, Default)]
pub struct NetDevStats {
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    /// Receive completions the driver could not take (dropped).
    pub rx_errors: u64,
    /// Frames dropped for want of a buffer or refused by the device.
    pub tx_errors: u64,
}

/// A received frame, out of the ring until [`VirtioNet::recycle`].
pub struct RxFrame {
    buf: Box<[u8]>,
    start: usize,
    len: usize,
}

impl RxFrame {
    /// The Ethernet frame.
    pub fn data(&self) -> &[u8] {
        &self.buf[self.start..self.start + self.len]
    }
}

pub struct VirtioNet {
    raw: VirtIONetRaw<KernelHal, NoEventIdx<SomeTransport<'static>>, QUEUE>,
    /// The buffer posted under each receive token.
    rx_posted: Vec<Option<Box<[u8]>>>,
    tx_free: Vec<Box<[u8]>>,
    /// The buffer and length sent under each transmit token.
    tx_inflight: Vec<Option<(Box<[u8]>, usize)>>,
    stats: NetDevStats,
}

impl VirtioNet {
    /// Negotiates with the device behind `transport` and posts every
    /// receive buffer.
    pub fn attach(transport: SomeTransport<'static>) -> Result<Self, NetAttachError> {
        let raw = VirtIONetRaw::new(NoEventIdx(transport)).map_err(NetAttachError::Device)?;
        let mut nic = Self {
            raw,
            rx_posted: (0..QUEUE).map(|_| None).collect(),
            tx_free: (0..QUEUE)
                .map(|_| vec![0u8; BUF_LEN].into_boxed_slice())
                .collect(),
            tx_inflight: (0..QUEUE).map(|_| None).collect(),
            stats: NetDevStats::default(),
        };
        for _ in 0..QUEUE {
            nic.post(vec![0u8; BUF_LEN].into_boxed_slice())
                .map_err(NetAttachError::Device)?;
        }
        Ok(nic)
    }

    pub fn mac(&self) -> [u8; 6] {
        self.raw.mac_address()
    }

    fn post(&mut self, mut buf: Box<[u8]>) -> Result<(), virtio_drivers::Error> {
        // SAFETY: the buffer is kept in `rx_posted` under its token, untouched
        // until the device returns that token; the heap block does not move
        // when the Box does.
        let token = unsafe { self.raw.receive_begin(&mut buf) }?;
        let slot = self
            .rx_posted
            .get_mut(usize::from(token))
            .ok_or(virtio_drivers::Error::WrongToken)?;
        *slot = Some(buf);
        Ok(())
    }

    /// Whether a received frame waits.
    pub fn rx_ready(&self) -> bool {
        self.raw.poll_receive().is_some()
    }

    /// The next received frame, if any.
    pub fn receive(&mut self) -> Option<RxFrame> {
        loop {
            let token = self.raw.poll_receive()?;
            let Some(mut buf) = self
                .rx_posted
                .get_mut(usize::from(token))
                .and_then(Option::take)
            else {
                // A token the driver never posted: the ring is not what we
                // think. Nothing sane can be read from it.
                self.stats.rx_errors += 1;
                return None;
            };
            // SAFETY: `buf` is the buffer posted under `token`.
            match unsafe { self.raw.receive_complete(token, &mut buf) } {
                Ok((start, len)) if start + len <= buf.len() => {
                    self.stats.rx_packets += 1;
                    self.stats.rx_bytes += len as u64;
                    return Some(RxFrame { buf, start, len });
                }
                _ => {
                    self.stats.rx_errors += 1;
                    if self.post(buf).is_err() {
                        self.stats.rx_errors += 1;
                    }
                }
            }
        }
    }

    /// Gives a frame's buffer back to the device.
    pub fn recycle(&mut self, frame: RxFrame) {
        if self.post(frame.buf).is_err() {
            self.stats.rx_errors += 1;
        }
    }

    /// Takes back the transmit buffers the device is done with.
    pub fn reclaim(&mut self) {
        while let Some(token) = self.raw.poll_transmit() {
            let Some((buf, len)) = self
                .tx_inflight
                .get_mut(usize::from(token))
                .and_then(Option::take)
            else {
                self.stats.tx_errors += 1;
                return;
            };
            // SAFETY: the same buffer and length passed to transmit_begin
            // under this token.
            if unsafe { self.raw.transmit_complete(token, &buf[..len]) }.is_err() {
                self.stats.tx_errors += 1;
            }
            self.tx_free.push(buf);
        }
    }

    /// Whether a frame can be sent now.
    pub fn can_transmit(&mut self) -> bool {
        if self.tx_free.is_empty() {
            self.reclaim();
        }
        !self.tx_free.is_empty() && self.raw.can_send()
    }

    /// Sends a frame of `len` bytes (at most [`MAX_FRAME`]) that `fill`
    /// writes. Without a free buffer (or for a longer frame) `fill` writes
    /// into a scratch buffer and the frame is dropped, as a NIC with a full
    /// ring drops it: the stack above resends what matters.
    pub fn transmit<R>(&mut self, len: usize, fill: impl FnOnce(&mut [u8]) -> R) -> R {
        if self.tx_free.is_empty() {
            self.reclaim();
        }
        let hdr = match self.tx_free.pop() {
            Some(mut buf) if len <= MAX_FRAME && self.raw.can_send() => {
                match self.raw.fill_buffer_header(&mut buf) {
                    Ok(hdr) => Some((buf, hdr)),
                    Err(_) => {
                        self.tx_free.push(buf);
                        None
                    }
                }
            }
            Some(buf) => {
                self.tx_free.push(buf);
                None
            }
            None => None,
        };
        let Some((mut buf, hdr)) = hdr else {
            self.stats.tx_errors += 1;
            return fill(&mut vec![0u8; len]);
        };
        let result = fill(&mut buf[hdr..hdr + len]);
        // SAFETY: the buffer stays in `tx_inflight` under its token, untouched
        // until `reclaim` sees the token used.
        match unsafe { self.raw.transmit_begin(&buf[..hdr + len]) } {
            Ok(token) => {
                self.stats.tx_packets += 1;
                self.stats.tx_bytes += len as u64;
                match self.tx_inflight.get_mut(usize::from(token)) {
                    Some(slot) => *slot = Some((buf, hdr + len)),
                    // Tokens are descriptor indices, below QUEUE; should one
                    // not be, the device may still read the buffer: keep it
                    // alive for good rather than reuse it.
                    None => {
                        Box::leak(buf);
                    }
                }
            }
            // Out of descriptors: the frame is dropped, as a full NIC drops it.
            Err(_) => {
                self.stats.tx_errors += 1;
                self.tx_free.push(buf);
            }
        }
        result
    }

    /// Acknowledges the device's interrupt (lowering its line); whether it
    /// had raised one.
    pub fn ack_interrupt(&mut self) -> bool {
        !self.raw.ack_interrupt().is_empty()
    }

    pub fn stats(&self) -> NetDevStats {
        self.stats
    }
}

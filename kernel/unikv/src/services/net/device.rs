//! smoltcp's `Device` over the virtio-net driver, for the length of one
//! poll: the driver sits in a `RefCell` because smoltcp takes a receive
//! token and a transmit token together and sends the reply (an ARP answer,
//! an ACK, a ping's echo) from inside the receive token's closure. The
//! receive token owns its frame (out of the ring), so no borrow of the
//! driver is held while smoltcp reads it.
//!
//! The poll takes each frame out of the ring first ([`Dev::next_frame`]),
//! reads its TCP header ([`segment`]) to choose the socket set smoltcp
//! gets with it (`shards`), or to drop it, then hands it over
//! ([`Dev::hold`]): smoltcp's next `receive` gets that frame and no other.
//! A frame is taken only when a transmit buffer is free for the reply, so
//! a full transmit ring holds reception back instead of losing replies.

use core::cell::RefCell;
use core::net::Ipv4Addr;
use hal::drivers::virtio_net::{RxFrame, VirtioNet, MAX_FRAME};
use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetFrame, EthernetProtocol, IpProtocol, Ipv4Packet, TcpPacket};

/// A TCP segment for the sessions' port, as far as routing it goes.
pub struct Segment {
    /// Its sender's address and port.
    pub peer: (Ipv4Addr, u16),
    /// A SYN without ACK: a new connection's first segment.
    pub opens: bool,
}

/// `frame`'s TCP segment, if it is one for `port` (over IPv4). smoltcp
/// checks the checksums and the rest when it takes the frame.
pub fn segment(port: u16, frame: &[u8]) -> Option<Segment> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    if eth.ethertype() != EthernetProtocol::Ipv4 {
        return None;
    }
    let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
    if ip.next_header() != IpProtocol::Tcp {
        return None;
    }
    let tcp = TcpPacket::new_checked(ip.payload()).ok()?;
    (tcp.dst_port() == port).then(|| Segment {
        peer: (ip.src_addr(), tcp.src_port()),
        opens: tcp.syn() && !tcp.ack(),
    })
}

pub struct Dev<'n> {
    nic: RefCell<&'n mut VirtioNet>,
    /// The frame smoltcp's next `receive` gets.
    held: Option<RxFrame>,
}

impl<'n> Dev<'n> {
    pub fn new(nic: &'n mut VirtioNet) -> Self {
        Self {
            nic: RefCell::new(nic),
            held: None,
        }
    }

    pub fn rx_ready(&self) -> bool {
        self.nic.borrow().rx_ready()
    }

    /// The next frame the NIC received, if a transmit buffer is free for
    /// its reply (otherwise frames wait in the ring, and the device holds
    /// further ones back, rather than have their replies dropped).
    pub fn next_frame(&mut self) -> Option<RxFrame> {
        let nic = self.nic.get_mut();
        if !nic.can_transmit() {
            return None;
        }
        nic.receive()
    }

    /// Gives `frame` to smoltcp's next `receive`.
    pub fn hold(&mut self, frame: RxFrame) {
        if let Some(old) = self.held.replace(frame) {
            self.nic.get_mut().recycle(old);
        }
    }

    /// Returns `frame`'s buffer to the ring, unread.
    pub fn drop_frame(&mut self, frame: RxFrame) {
        self.nic.get_mut().recycle(frame);
    }
}

impl Drop for Dev<'_> {
    fn drop(&mut self) {
        if let Some(frame) = self.held.take() {
            self.nic.get_mut().recycle(frame);
        }
    }
}

pub struct Rx<'a, 'n> {
    nic: &'a RefCell<&'n mut VirtioNet>,
    frame: RxFrame,
}

pub struct Tx<'a, 'n> {
    nic: &'a RefCell<&'n mut VirtioNet>,
}

impl phy::RxToken for Rx<'_, '_> {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&[u8]) -> R,
    {
        let result = f(self.frame.data());
        self.nic.borrow_mut().recycle(self.frame);
        result
    }
}

impl phy::TxToken for Tx<'_, '_> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        self.nic.borrow_mut().transmit(len, f)
    }
}

impl<'n> phy::Device for Dev<'n> {
    type RxToken<'a>
        = Rx<'a, 'n>
    where
        Self: 'a;
    type TxToken<'a>
        = Tx<'a, 'n>
    where
        Self: 'a;

    fn receive(&mut self, _now: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let frame = self.held.take()?;
        Some((
            Rx {
                nic: &self.nic,
                frame,
            },
            Tx { nic: &self.nic },
        ))
    }

    fn transmit(&mut self, _now: Instant) -> Option<Self::TxToken<'_>> {
        if !self.nic.get_mut().can_transmit() {
            return None;
        }
        Some(Tx { nic: &self.nic })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = MAX_FRAME;
        caps
    }
}

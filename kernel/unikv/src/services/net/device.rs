//! smoltcp's `Device` over the virtio-net driver, for the length of one
//! poll: the driver sits in a `RefCell` because smoltcp takes a receive
//! token and a transmit token together and sends the reply (an ARP answer,
//! an ACK, a ping's echo) from inside the receive token's closure. The
//! receive token owns its frame (out of the ring), so no borrow of the
//! driver is held while smoltcp reads it.
//!
//! It also turns away the SYNs that no listener would take (the pool of
//! listening sockets is empty because the connection limit is reached):
//! dropped and counted rather than handed to smoltcp, which would reset
//! them. It takes a frame only when a transmit buffer is free for the
//! reply, so a full transmit ring holds reception back instead of losing
//! replies.

use core::cell::RefCell;
use hal::drivers::virtio_net::{RxFrame, VirtioNet, MAX_FRAME};
use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetFrame, EthernetProtocol, IpProtocol, Ipv4Packet, TcpPacket};

pub struct Dev<'n> {
    nic: RefCell<&'n mut VirtioNet>,
    /// The port the sessions listen on, and whether a listener is free.
    port: u16,
    listening: bool,
    /// SYNs for `port` dropped because no listener was free.
    pub refused: u64,
}

impl<'n> Dev<'n> {
    pub fn new(nic: &'n mut VirtioNet, port: u16, listening: bool) -> Self {
        Self {
            nic: RefCell::new(nic),
            port,
            listening,
            refused: 0,
        }
    }

    /// Whether a listener is free, as the connection table says after each
    /// packet.
    pub fn set_listening(&mut self, listening: bool) {
        self.listening = listening;
    }

    pub fn rx_ready(&self) -> bool {
        self.nic.borrow().rx_ready()
    }

    fn is_new_connection(port: u16, frame: &[u8]) -> bool {
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            return false;
        };
        if eth.ethertype() != EthernetProtocol::Ipv4 {
            return false;
        }
        let Ok(ip) = Ipv4Packet::new_checked(eth.payload()) else {
            return false;
        };
        if ip.next_header() != IpProtocol::Tcp {
            return false;
        }
        let Ok(tcp) = TcpPacket::new_checked(ip.payload()) else {
            return false;
        };
        tcp.syn() && !tcp.ack() && tcp.dst_port() == port
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
        let (port, listening) = (self.port, self.listening);
        let nic = self.nic.get_mut();
        loop {
            // A reply needs a transmit buffer: with none free, frames wait
            // in the ring (the device holds further ones back) rather than
            // have their replies dropped.
            if !nic.can_transmit() {
                return None;
            }
            let frame = nic.receive()?;
            if listening || !Self::is_new_connection(port, frame.data()) {
                return Some((
                    Rx {
                        nic: &self.nic,
                        frame,
                    },
                    Tx { nic: &self.nic },
                ));
            }
            // No listener free: smoltcp would answer with a reset. Dropped
            // instead, as Linux drops a SYN its full accept queue cannot
            // take, so the client retries a second later.
            self.refused += 1;
            nic.recycle(frame);
        }
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

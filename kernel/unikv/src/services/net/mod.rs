//! The network service: TCP/IP (smoltcp) on the first virtio-net device,
//! mmio or PCI, and the connections a session serves.
//!
//! At start it attaches the NIC, takes its address from the boot arguments
//! (`ip=A.B.C.D/N gw=A.B.C.D`) or by DHCP (the default; QEMU's user network
//! answers with 10.0.2.15/24, gateway 10.0.2.2), and keeps a pool of
//! listening sockets on `port=` (default 6379). ARP and ICMP echo are
//! smoltcp's own. Without a NIC the service fails with the reason ("net: no
//! network device" in the log) and everything else runs as before.
//!
//! # What a session uses
//!
//! Nothing here blocks, and no smoltcp type shows:
//!
//! - [`poll`]`() -> bool`: receives what the NIC holds (at most
//!   `INGRESS_PER_POLL` frames, so one call stays short), sends what the
//!   sockets queued, runs TCP's and DHCP's timers, accepts handshakes;
//!   returns whether anything happened. Call it every round of the main
//!   loop after the sessions wrote; [`poll_ingress`], its receiving half,
//!   before they read.
//! - [`pending`]`() -> bool`: whether `poll` has work now (a frame arrived,
//!   a session queued data or closed, a timer is due, the last poll stopped
//!   at its bound) or the sessions have (the last poll took frames in, whose
//!   data they have not read). The main loop sleeps only when it is false; the NIC's
//!   interrupt ends that sleep (and the 100 Hz tick wakes it for timers).
//! - [`accept`]`() -> Option<ConnId>`: the next connection whose handshake
//!   completed. A [`ConnId`] is opaque; once closed it stays closed (its
//!   slot's reuse is recognised).
//! - [`recv`]`(conn, &mut buf) -> usize`: bytes read, 0 when none wait.
//! - [`send`]`(conn, &data) -> usize`: bytes taken into the socket's send
//!   buffer (0 when full or closed).
//! - [`is_closed`]`(conn)`: the peer has closed (or reset) and everything
//!   it sent has been read; the session should then [`close`] it.
//! - [`close`]`(conn)`: sends what is queued, then FIN; the id is released
//!   at once. [`abort`]`(conn)`: a reset, queued data dropped.
//! - [`peer`]`(conn) -> Option<SocketAddrV4>`.
//!
//! Connections: up to `conns::MAX_CONNS` (512) at once, Nagle off, the
//! delayed ACK kept (the reply carries it), buffers of
//! `SOCKET_BUFFER_MAX` (64 KiB) each way unless memory is short. See
//! `conns` for the listener pool that stands in for a listen backlog, and
//! `INFO network` for the counts.
//!
//! Locking: the stack and the NIC are used from the main loop only (spin
//! lock). The NIC's interrupt handler touches neither: it masks the line
//! at the GIC and raises [`pending`]; `poll` acknowledges the device and
//! unmasks the line. So nothing runs with interrupts masked for the length
//! of a poll (the console and the profiler's tick are taken at once).

mod config;
mod conns;
mod device;
mod shards;

pub use conns::ConnId;

use alloc::{format, string::String, vec::Vec};
use config::{Addressing, NetConfig};
use conns::Conns;
use console::Report;
use core::net::{Ipv4Addr, SocketAddrV4};
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use device::Dev;
use hal::arch::{gicv3, timer};
use hal::drivers::virtio::Location;
use hal::drivers::virtio_net::VirtioNet;
use kcore::registry::ServiceError;
use shards::FRONT;
use smoltcp::iface::{Config, Interface, PollIngressSingleResult, SocketHandle};
use smoltcp::socket::dhcpv4;
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpCidr, Ipv4Cidr};
use spin::Mutex;

/// Frames taken per `poll`: bounds the time one call holds the loop.
const INGRESS_PER_POLL: usize = 64;
/// Egress passes per `poll` (each sends at most a segment per socket).
const EGRESS_PASSES: usize = 64;
const SOCKET_BUFFER_MAX: usize = 64 << 10;
const SOCKET_BUFFER_MIN: usize = 16 << 10;

struct Stack {
    iface: Interface,
    dhcp: Option<SocketHandle>,
    config: NetConfig,
    address: Option<Ipv4Cidr>,
    gateway: Option<Ipv4Addr>,
    conns: Conns,
    nic: VirtioNet,
    mac: [u8; 6],
    location: Location,
    intid: Option<u32>,
    buf: usize,
}

static STACK: Mutex<Option<Stack>> = Mutex::new(None);
/// An interrupt came, or the last poll took frames in (their data waits for
/// the sessions) or left some behind.
static PENDING: AtomicBool = AtomicBool::new(false);
/// The NIC's line is masked at the GIC: its interrupt came and `poll` has
/// yet to acknowledge the device.
static MASKED: AtomicBool = AtomicBool::new(false);
/// A session queued data, read some (the window may reopen) or closed.
static DIRTY: AtomicBool = AtomicBool::new(false);
/// When smoltcp's next timer is due, in microseconds since reset.
static DEADLINE_US: AtomicU64 = AtomicU64::new(u64::MAX);

fn now() -> Instant {
    Instant::from_micros(timer::now_us() as i64)
}

fn on_interrupt(intid: u32) {
    // The device's line stays raised until `poll` acknowledges it.
    let _ = gicv3::mask(intid);
    MASKED.store(true, Ordering::Release);
    PENDING.store(true, Ordering::Release);
}

/// Socket buffers each way: sockets may take a quarter of the free heap at
/// the connection limit, within 16-64 KiB.
fn buffer_size() -> usize {
    let share = hal::heap::stats().free / 4 / (conns::MAX_CONNS * 2);
    share.clamp(SOCKET_BUFFER_MIN, SOCKET_BUFFER_MAX)
}

fn mac_string(mac: &[u8; 6]) -> String {
    let parts: Vec<String> = mac.iter().map(|b| format!("{b:02x}")).collect();
    parts.join(":")
}

fn init() -> Result<(), ServiceError> {
    let board = crate::board::board();
    let config = config::from_bootargs(board.bootargs.as_deref().unwrap_or(""))
        .map_err(ServiceError::owned)?;
    let Some(dev) = crate::services::virtio::devices()
        .into_iter()
        .find(|d| d.device_id == 1)
    else {
        log::info!("net: no network device");
        return Err(ServiceError::new(
            "no virtio network device: start QEMU with -nic user,model=virtio-net-pci \
             (tools/run gives one)",
        ));
    };
    let at = dev.location;
    // SAFETY: the virtio bus service found this network device; only this
    // service drives it.
    let transport =
        unsafe { dev.transport() }.map_err(|e| ServiceError::owned(format!("NIC at {at}: {e}")))?;
    let mut nic = VirtioNet::attach(transport)
        .map_err(|e| ServiceError::owned(format!("NIC at {at}: {e}")))?;
    let mac = nic.mac();
    let buf = buffer_size();
    let mut conns = Conns::new(config.port, buf);
    let mut iface_config = Config::new(HardwareAddress::Ethernet(EthernetAddress(mac)));
    iface_config.random_seed = timer::counter();
    let mut iface = Interface::new(iface_config, &mut Dev::new(&mut nic), now());
    let (mut address, mut gateway, mut dhcp) = (None, None, None);
    match config.addressing {
        Addressing::Static {
            address: a,
            gateway: g,
        } => {
            iface.update_ip_addrs(|addrs| {
                let _ = addrs.push(IpCidr::Ipv4(a));
            });
            if let Some(g) = g {
                iface
                    .routes_mut()
                    .add_default_ipv4_route(g)
                    .map_err(|_| ServiceError::new("the route table is full"))?;
            }
            log::info!(
                "net: static address {a}, gateway {}",
                g.map_or_else(|| String::from("none"), |g| format!("{g}"))
            );
            (address, gateway) = (Some(a), g);
        }
        Addressing::Dhcp => dhcp = Some(conns.shards.add(FRONT, dhcpv4::Socket::new()).handle),
    }
    conns.update();
    if let Some(intid) = dev.intid {
        gicv3::enable(intid, on_interrupt, false)
            .map_err(|e| ServiceError::owned(format!("NIC interrupt {intid}: {e}")))?;
    }
    log::info!(
        "net: {} NIC at {at}, MAC {}, INTID {}, TCP port {}, {} KiB socket buffers",
        if matches!(at, Location::Pci { .. }) {
            "virtio-net-pci"
        } else {
            "virtio-net"
        },
        mac_string(&mac),
        dev.intid
            .map_or_else(|| String::from("none"), |i| format!("{i}")),
        config.port,
        buf >> 10
    );
    *STACK.lock() = Some(Stack {
        iface,
        dhcp,
        config,
        address,
        gateway,
        conns,
        nic,
        mac,
        location: at,
        intid: dev.intid,
        buf,
    });
    INTID.store(dev.intid.unwrap_or(NO_INTID), Ordering::Release);
    // The first poll sends the DHCP discover.
    PENDING.store(true, Ordering::Release);
    Ok(())
}

fn exit() -> Result<(), ServiceError> {
    INTID.store(NO_INTID, Ordering::Release);
    let stack = STACK.lock().take();
    if let Some(intid) = stack.as_ref().and_then(|s| s.intid) {
        let _ = gicv3::disable(intid);
    }
    // Dropping the driver (with the stack) resets the device, which lowers
    // its line.
    drop(stack);
    MASKED.store(false, Ordering::Release);
    PENDING.store(false, Ordering::Release);
    DIRTY.store(false, Ordering::Release);
    DEADLINE_US.store(u64::MAX, Ordering::Release);
    Ok(())
}

impl Stack {
    fn dhcp_events(&mut self) -> bool {
        let Some(h) = self.dhcp else {
            return false;
        };
        match self
            .conns
            .shards
            .set_mut(FRONT)
            .get_mut::<dhcpv4::Socket>(h)
            .poll()
        {
            None => false,
            Some(dhcpv4::Event::Configured(c)) => {
                let a = c.address;
                self.iface.update_ip_addrs(|addrs| {
                    addrs.clear();
                    let _ = addrs.push(IpCidr::Ipv4(a));
                });
                match c.router {
                    Some(r) => {
                        let _ = self.iface.routes_mut().add_default_ipv4_route(r);
                    }
                    None => {
                        self.iface.routes_mut().remove_default_ipv4_route();
                    }
                }
                log::info!(
                    "net: DHCP: address {a}, gateway {}",
                    c.router
                        .map_or_else(|| String::from("none"), |r| format!("{r}"))
                );
                self.address = Some(a);
                self.gateway = c.router;
                true
            }
            // The socket starts by reporting itself unconfigured: only a
            // lease that was there can be lost.
            Some(dhcpv4::Event::Deconfigured) if self.address.is_none() => false,
            Some(dhcpv4::Event::Deconfigured) => {
                log::warn!("net: DHCP: lease lost, no address");
                self.iface.update_ip_addrs(|addrs| addrs.clear());
                self.iface.routes_mut().remove_default_ipv4_route();
                self.address = None;
                self.gateway = None;
                true
            }
        }
    }
}

/// Drives the stack: frames in (bounded), frames out, timers, DHCP,
/// handshakes. Returns whether anything happened.
pub fn poll() -> bool {
    poll_with(true)
}

/// [`poll`]'s first half: frames in (bounded) and handshakes, nothing
/// sent. For the start of a loop's round, whose [`poll`] after the
/// sessions wrote sends their replies and the ACKs with them: smoltcp's
/// visits of the sockets for sending and for the next timer (of every set
/// touched, `shards`) then happen once a round, not twice (at `-c 10`
/// SETs, 14,426 guest instructions a request, a third of them smoltcp's,
/// when they happened twice and over every socket).
pub fn poll_ingress() -> bool {
    poll_with(false)
}

fn poll_with(egress: bool) -> bool {
    let mut guard = STACK.lock();
    let Some(st) = guard.as_mut() else {
        return false;
    };
    PENDING.store(false, Ordering::Release);
    if egress {
        DIRTY.store(false, Ordering::Release);
    }
    let ts = now();
    let mut did = false;
    let mut left = false;
    // Whether frames were taken in: what they carried waits in the sockets
    // until a session reads it, in the loop's next round, which must then
    // come before the loop sleeps (the poll after the sessions wrote takes
    // frames in too).
    let mut took = false;
    // Acknowledged before the ring is read: a frame that comes after the
    // read raises the line again.
    let unmask = MASKED.swap(false, Ordering::AcqRel);
    if unmask {
        st.nic.ack_interrupt();
    }
    {
        st.nic.reclaim();
        let port = st.conns.port();
        let mut dev = Dev::new(&mut st.nic);
        for _ in 0..INGRESS_PER_POLL {
            let Some(frame) = dev.next_frame() else {
                break;
            };
            let set = match device::segment(port, frame.data()) {
                Some(seg) => match st.conns.route(&seg) {
                    Some(set) => set,
                    None => {
                        st.conns.stats.refused += 1;
                        dev.drop_frame(frame);
                        continue;
                    }
                },
                None => FRONT,
            };
            dev.hold(frame);
            let sockets = st.conns.shards.set_mut(set);
            if st.iface.poll_ingress_single(ts, &mut dev, sockets) != PollIngressSingleResult::None
            {
                did = true;
                took = true;
            }
            st.conns.shards.touch(set);
            if set == FRONT {
                st.conns.update();
            }
        }
        left |= dev.rx_ready();
        if egress {
            let (sent, stopped) =
                st.conns
                    .shards
                    .egress(&mut st.iface, ts, &mut dev, EGRESS_PASSES);
            did |= sent;
            left |= stopped;
        }
    }
    if egress {
        did |= st.dhcp_events();
        st.conns.maintain();
        DEADLINE_US.store(st.conns.shards.next_deadline(), Ordering::Release);
    }
    if left || took {
        PENDING.store(true, Ordering::Release);
    }
    if let (true, Some(intid)) = (unmask, st.intid) {
        let _ = gicv3::unmask(intid);
    }
    did
}

/// The NIC's INTID while the service runs (`NO_INTID` otherwise), for a
/// loop that wants it routed to its core.
static INTID: AtomicU32 = AtomicU32::new(NO_INTID);
const NO_INTID: u32 = u32::MAX;

/// The NIC's interrupt, while the service runs and the NIC has one.
pub fn intid() -> Option<u32> {
    let i = INTID.load(Ordering::Acquire);
    (i != NO_INTID).then_some(i)
}

/// Has the NIC's interrupt (an SPI) delivered to the calling core, whose
/// loop sleeps until it comes.
pub fn route_interrupt_here(intid: u32) {
    if let Err(e) = gicv3::route_here(intid) {
        log::error!("net: routing INTID {intid} to this core: {e}");
    }
}

/// Whether [`poll`] has work now. Takes no lock: the main loop asks with
/// interrupts masked, just before it sleeps.
pub fn pending() -> bool {
    PENDING.load(Ordering::Acquire)
        || DIRTY.load(Ordering::Acquire)
        || DEADLINE_US.load(Ordering::Acquire) <= timer::now_us()
}

fn with<R>(default: R, f: impl FnOnce(&mut Stack) -> R) -> R {
    match STACK.lock().as_mut() {
        Some(st) => f(st),
        None => default,
    }
}

/// The next connection whose handshake completed, if any.
pub fn accept() -> Option<ConnId> {
    with(None, |st| st.conns.accept())
}

/// Reads what `conn` received into `buf`; 0 when nothing waits.
pub fn recv(conn: ConnId, buf: &mut [u8]) -> usize {
    let n = with(0, |st| st.conns.recv(conn, buf));
    if n > 0 {
        DIRTY.store(true, Ordering::Release);
    }
    n
}

/// Queues `data` on `conn`; returns how many bytes were taken.
pub fn send(conn: ConnId, data: &[u8]) -> usize {
    let n = with(0, |st| st.conns.send(conn, data));
    if n > 0 {
        DIRTY.store(true, Ordering::Release);
    }
    n
}

/// Closes `conn` after what is queued (FIN); the id is released now.
pub fn close(conn: ConnId) {
    with((), |st| st.conns.close(conn));
    DIRTY.store(true, Ordering::Release);
}

/// Resets `conn`, dropping what is queued; the id is released now.
pub fn abort(conn: ConnId) {
    with((), |st| st.conns.abort(conn));
    DIRTY.store(true, Ordering::Release);
}

/// The peer's address and port.
pub fn peer(conn: ConnId) -> Option<SocketAddrV4> {
    with(None, |st| st.conns.peer(conn))
}

/// The peer closed (or reset) and everything it sent has been read; also
/// true of a released or unknown id.
pub fn is_closed(conn: ConnId) -> bool {
    with(true, |st| st.conns.is_closed(conn))
}

/// The address (once it has one) and the port the sessions listen on.
pub fn listen_addr() -> Option<([u8; 4], u16)> {
    with(None, |st| {
        Some((
            st.address.map_or([0; 4], |a| a.address().octets()),
            st.conns.port(),
        ))
    })
}

/// The fields of `INFO`'s network section (the command layer starts it).
pub fn info(r: &mut Report) {
    let guard = STACK.lock();
    let Some(st) = guard.as_ref() else {
        r.add_field("link", "none");
        return;
    };
    let dev = st.nic.stats();
    r.add_field("link", "up");
    r.add_field(
        "device",
        match st.location {
            Location::Pci { .. } => format!("virtio-net-pci at {}", st.location),
            Location::Mmio { .. } => format!("virtio-net at {}", st.location),
        },
    );
    r.add_field(
        "intid",
        st.intid
            .map_or_else(|| String::from("none"), |i| format!("{i}")),
    );
    r.add_field("mac", mac_string(&st.mac));
    r.add_field(
        "address",
        st.address
            .map_or_else(|| String::from("none"), |a| format!("{a}")),
    );
    r.add_field(
        "address_source",
        match (st.config.addressing, st.address) {
            (Addressing::Static { .. }, _) => "static",
            (Addressing::Dhcp, Some(_)) => "dhcp",
            (Addressing::Dhcp, None) => "dhcp (waiting)",
        },
    );
    r.add_field(
        "gateway",
        st.gateway
            .map_or_else(|| String::from("none"), |g| format!("{g}")),
    );
    r.add_field("port", st.conns.port());
    r.add_field("rx_packets", dev.rx_packets);
    r.add_field("rx_bytes", dev.rx_bytes);
    r.add_field("tx_packets", dev.tx_packets);
    r.add_field("tx_bytes", dev.tx_bytes);
    r.add_field("rx_errors", dev.rx_errors);
    r.add_field("tx_dropped", dev.tx_errors);
    let c = st.conns.stats;
    r.add_field("tcp_accepted", c.accepted);
    r.add_field("tcp_open", st.conns.open());
    r.add_field("tcp_open_peak", c.peak);
    r.add_field("tcp_waiting", st.conns.waiting());
    r.add_field("tcp_closed", c.closed);
    r.add_field("tcp_closing", st.conns.closing());
    r.add_field("tcp_refused", c.refused);
    r.add_field("tcp_listeners", st.conns.idle_listeners());
    r.add_field("tcp_max_connections", conns::MAX_CONNS);
    r.add_field("socket_buffer_bytes", st.buf);
}

crate::service!(NET_SERVICE {
    name: "net",
    description: "TCP/IP (smoltcp) on the virtio-net NIC: DHCP or static address, TCP connections for sessions",
    author: "The unikv developers",
    license: "MIT OR Apache-2.0",
    alias: "network",
    depends: ["virtio-mmio"],
    init: init,
    exit: Some(exit),
});

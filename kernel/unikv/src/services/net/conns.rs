//! The TCP connections on the sessions' port.
//!
//! smoltcp has no listen backlog: a SYN finds a socket already listening on
//! the port, or it is answered with a reset. So a pool of listening sockets
//! waits for SYNs, and [`Conns::update`] runs after every received packet:
//! a listener that completed its handshake becomes a connection (a slot in
//! the table, an opaque [`ConnId`], a place in the accept queue) and a new
//! listener takes its place. A burst of connections then meets a listener
//! per SYN, whatever its length, up to [`MAX_CONNS`] open at once; past that
//! SYNs are dropped (the client retries) and counted as refused.
//!
//! Each socket is walked by smoltcp for every packet, so the pool stays
//! small ([`IDLE_LISTENERS`]) and sockets that finished closing are reused
//! as listeners or freed. A connection the peer closed before any session
//! took it, having sent nothing (a port probe, a client that gave up), is
//! closed here: there is nothing to answer.

use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;
use core::net::{IpAddr, SocketAddrV4};
use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::socket::tcp::{self, State};
use smoltcp::time::Duration;

/// Connections open at once (the sessions' and those waiting for one).
/// QEMU's user network turns a client's burst of short connections into
/// as many simultaneous ones to the guest (it accepts them all on the host
/// before it connects any), so the limit is well above the 256 clients a
/// benchmark may hold open; buffers shrink to keep the total in bounds.
pub const MAX_CONNS: usize = 512;
/// Listening sockets kept ready. `update` tops the pool up after every
/// received packet, so a burst of SYNs in one poll meets a fresh listener
/// each; more listeners would only lengthen smoltcp's walk of the sockets,
/// which it makes for every packet and every poll (at 16, a third of a
/// lone client's GET went to walking them).
pub const IDLE_LISTENERS: usize = 2;
/// Sockets closed by us and still in TIME-WAIT (10 s in smoltcp) or
/// waiting for the peer's last ACK; past this many the oldest is reset.
const MAX_CLOSING: usize = 128;
/// A peer that stops acknowledging for this long is dropped.
const TIMEOUT: Duration = Duration::from_secs(60);
/// Probes an idle connection's peer, as Redis's `tcp-keepalive 300` does.
const KEEP_ALIVE: Duration = Duration::from_secs(300);

/// A connection, as a session names it. Stale ids (a connection closed and
/// its slot reused) are recognised and treated as closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(u32);

struct Conn {
    handle: SocketHandle,
    peer: Option<SocketAddrV4>,
}

#[derive(Default)]
struct Slot {
    generation: u16,
    conn: Option<Conn>,
}

/// Connection counts for `INFO network`.
#[derive(Clone, Copy, Debug, Default)]
pub struct ConnStats {
    /// Handshakes completed.
    pub accepted: u64,
    /// Connections released (by a session, or here when nobody took them).
    pub closed: u64,
    /// SYNs turned away (dropped: the client retries) for want of a
    /// listener, the connection limit being reached.
    pub refused: u64,
    /// The most connections open at once.
    pub peak: usize,
}

pub struct Conns {
    port: u16,
    buf: usize,
    listeners: Vec<SocketHandle>,
    slots: Vec<Slot>,
    free: Vec<u16>,
    open: usize,
    queue: VecDeque<ConnId>,
    closing: VecDeque<SocketHandle>,
    pub stats: ConnStats,
}

fn peer_of(s: &tcp::Socket<'_>) -> Option<SocketAddrV4> {
    let ep = s.remote_endpoint()?;
    match IpAddr::from(ep.addr) {
        IpAddr::V4(a) => Some(SocketAddrV4::new(a, ep.port)),
        IpAddr::V6(_) => None,
    }
}

impl Conns {
    /// A table for `port` whose sockets have `buf` bytes each way.
    pub fn new(port: u16, buf: usize) -> Self {
        Self {
            port,
            buf,
            listeners: Vec::new(),
            slots: Vec::new(),
            free: Vec::new(),
            open: 0,
            queue: VecDeque::new(),
            closing: VecDeque::new(),
            stats: ConnStats::default(),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn open(&self) -> usize {
        self.open
    }

    pub fn waiting(&self) -> usize {
        self.queue.len()
    }

    pub fn closing(&self) -> usize {
        self.closing.len()
    }

    /// Listeners waiting for a SYN.
    pub fn idle_listeners(&self, sockets: &SocketSet<'_>) -> usize {
        self.listeners
            .iter()
            .filter(|&&h| sockets.get::<tcp::Socket>(h).state() == State::Listen)
            .count()
    }

    fn new_socket(&self) -> tcp::Socket<'static> {
        let mut s = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0u8; self.buf]),
            tcp::SocketBuffer::new(vec![0u8; self.buf]),
        );
        // Replies go out whole and at once: Nagle would hold the tail of
        // each back for an ACK. The delayed ACK stays: the reply carries it.
        s.set_nagle_enabled(false);
        s.set_timeout(Some(TIMEOUT));
        s.set_keep_alive(Some(KEEP_ALIVE));
        s
    }

    fn listen(&self, s: &mut tcp::Socket<'_>) -> bool {
        s.listen(self.port).is_ok()
    }

    /// Adds a closed socket to the pool (reusing its buffers) if the pool
    /// needs one; otherwise frees it.
    fn recycle(&mut self, sockets: &mut SocketSet<'static>, h: SocketHandle) {
        let idle = self.idle_listeners(sockets);
        let s = sockets.get_mut::<tcp::Socket>(h);
        if idle < IDLE_LISTENERS && self.open + self.listeners.len() < MAX_CONNS && self.listen(s) {
            self.listeners.push(h);
        } else {
            sockets.remove(h);
        }
    }

    /// After each received packet: listeners that completed a handshake
    /// become connections, listeners whose handshake failed listen again,
    /// and the pool is topped up. Returns whether a listener is free.
    pub fn update(&mut self, sockets: &mut SocketSet<'static>) -> bool {
        let mut i = 0;
        while i < self.listeners.len() {
            let h = self.listeners[i];
            let s = sockets.get_mut::<tcp::Socket>(h);
            match s.state() {
                State::Listen | State::SynReceived => i += 1,
                State::Closed => {
                    // The handshake timed out: listen again.
                    if !self.listen(s) {
                        self.listeners.swap_remove(i);
                        sockets.remove(h);
                    } else {
                        i += 1;
                    }
                }
                _ => {
                    let peer = peer_of(s);
                    self.listeners.swap_remove(i);
                    let id = self.insert(Conn { handle: h, peer });
                    self.queue.push_back(id);
                    self.stats.accepted += 1;
                }
            }
        }
        let mut idle = self.idle_listeners(sockets);
        while idle < IDLE_LISTENERS && self.open + self.listeners.len() < MAX_CONNS {
            let mut s = self.new_socket();
            if !self.listen(&mut s) {
                break;
            }
            self.listeners.push(sockets.add(s));
            idle += 1;
        }
        idle > 0
    }

    fn insert(&mut self, conn: Conn) -> ConnId {
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot::default());
                (self.slots.len() - 1) as u16
            }
        };
        let slot = &mut self.slots[usize::from(index)];
        slot.conn = Some(conn);
        self.open += 1;
        self.stats.peak = self.stats.peak.max(self.open);
        ConnId(u32::from(slot.generation) << 16 | u32::from(index))
    }

    fn get(&self, id: ConnId) -> Option<&Conn> {
        let slot = self.slots.get((id.0 & 0xffff) as usize)?;
        (u32::from(slot.generation) == id.0 >> 16)
            .then_some(slot.conn.as_ref())
            .flatten()
    }

    fn socket<'s>(
        &self,
        sockets: &'s mut SocketSet<'static>,
        id: ConnId,
    ) -> Option<&'s mut tcp::Socket<'static>> {
        let h = self.get(id)?.handle;
        Some(sockets.get_mut::<tcp::Socket>(h))
    }

    /// Frees `id`'s slot; its socket goes on closing.
    fn release(&mut self, id: ConnId) -> Option<SocketHandle> {
        let index = (id.0 & 0xffff) as usize;
        self.get(id)?;
        let slot = &mut self.slots[index];
        let conn = slot.conn.take()?;
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(index as u16);
        self.open -= 1;
        self.stats.closed += 1;
        self.closing.push_back(conn.handle);
        Some(conn.handle)
    }

    /// Once per poll: closes connections nobody took whose peer left
    /// without a word, and reuses or frees the sockets that finished
    /// closing.
    pub fn maintain(&mut self, sockets: &mut SocketSet<'static>) {
        let waiting: Vec<ConnId> = self.queue.iter().copied().collect();
        for id in waiting {
            let Some(s) = self.socket(sockets, id) else {
                continue;
            };
            if !s.may_recv() && s.recv_queue() == 0 {
                s.close();
                self.queue.retain(|&q| q != id);
                self.release(id);
            }
        }
        // Sockets that finished closing first; then, over the cap, the
        // oldest are reset (their RST goes out with the next poll's egress,
        // before the next sweep reuses them).
        let mut i = 0;
        while i < self.closing.len() {
            let h = self.closing[i];
            if sockets.get::<tcp::Socket>(h).state() == State::Closed {
                self.closing.remove(i);
                self.recycle(sockets, h);
            } else {
                i += 1;
            }
        }
        let over = self.closing.len().saturating_sub(MAX_CLOSING);
        for &h in self.closing.iter().take(over) {
            sockets.get_mut::<tcp::Socket>(h).abort();
        }
    }

    pub fn accept(&mut self) -> Option<ConnId> {
        self.queue.pop_front()
    }

    pub fn recv(&self, sockets: &mut SocketSet<'static>, id: ConnId, buf: &mut [u8]) -> usize {
        // Every connection is asked every round, most with nothing come:
        // recv_slice would still copy twice (its ring's two halves, empty).
        self.socket(sockets, id)
            .filter(|s| s.recv_queue() > 0)
            .and_then(|s| s.recv_slice(buf).ok())
            .unwrap_or(0)
    }

    pub fn send(&self, sockets: &mut SocketSet<'static>, id: ConnId, data: &[u8]) -> usize {
        self.socket(sockets, id)
            .and_then(|s| s.send_slice(data).ok())
            .unwrap_or(0)
    }

    pub fn close(&mut self, sockets: &mut SocketSet<'static>, id: ConnId) {
        self.queue.retain(|&q| q != id);
        if let Some(s) = self.socket(sockets, id) {
            s.close();
            self.release(id);
        }
    }

    pub fn abort(&mut self, sockets: &mut SocketSet<'static>, id: ConnId) {
        self.queue.retain(|&q| q != id);
        if let Some(s) = self.socket(sockets, id) {
            s.abort();
            self.release(id);
        }
    }

    pub fn peer(&self, id: ConnId) -> Option<SocketAddrV4> {
        self.get(id)?.peer
    }

    pub fn is_closed(&self, sockets: &mut SocketSet<'static>, id: ConnId) -> bool {
        match self.socket(sockets, id) {
            Some(s) => !s.may_recv() && s.recv_queue() == 0,
            None => true,
        }
    }
}

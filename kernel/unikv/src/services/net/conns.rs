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
//! The listeners are in the stack's front set, which smoltcp walks for
//! every frame that is not a connection's (`shards`), so the pool stays
//! small ([`IDLE_LISTENERS`]); a completed handshake moves its socket to
//! its peer's shard. Sockets that finished closing are reused as
//! listeners or freed. A connection the peer closed before any session
//! took it, having sent nothing (a port probe, a client that gave up), is
//! closed here: there is nothing to answer.

use super::device::Segment;
use super::shards::{shard_of, Shards, Sock, FRONT};
use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;
use core::net::{IpAddr, SocketAddrV4};
use smoltcp::socket::tcp::{self, State};
use smoltcp::time::Duration;

/// Connections open at once (the sessions' and those waiting for one).
/// QEMU's user network turns a client's burst of short connections into
/// as many simultaneous ones to the guest (it accepts them all on the host
/// before it connects any), so the limit is well above the 256 clients a
/// benchmark may hold open; buffers shrink to keep the total in bounds.
pub const MAX_CONNS: usize = 512;
/// Listening sockets kept ready. `update` tops the pool up after every
/// frame the front set takes, so a burst of SYNs in one poll meets a fresh
/// listener each; more listeners would only lengthen smoltcp's walk of the
/// front set, which it makes for every frame that is not a connection's.
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

impl ConnId {
    /// Its slot in the table: a small number that a later connection
    /// reuses once this one is closed, as a file descriptor is (CLIENT
    /// LIST's `fd`).
    pub fn slot(self) -> u16 {
        self.0 as u16
    }
}

struct Conn {
    sock: Sock,
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
    /// The stack's sockets: the listeners' and the connections'.
    pub shards: Shards,
    listeners: Vec<Sock>,
    slots: Vec<Slot>,
    free: Vec<u16>,
    open: usize,
    queue: VecDeque<ConnId>,
    closing: VecDeque<Sock>,
    pub stats: ConnStats,
}

fn peer_of(s: &tcp::Socket<'_>) -> Option<SocketAddrV4> {
    let ep = s.remote_endpoint()?;
    match IpAddr::from(ep.addr) {
        IpAddr::V4(a) => Some(SocketAddrV4::new(a, ep.port)),
        IpAddr::V6(_) => None,
    }
}

fn listen(port: u16, s: &mut tcp::Socket<'_>) -> bool {
    s.listen(port).is_ok()
}

impl Conns {
    /// A table for `port` whose sockets have `buf` bytes each way.
    pub fn new(port: u16, buf: usize) -> Self {
        Self {
            port,
            buf,
            shards: Shards::new(),
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
    pub fn idle_listeners(&self) -> usize {
        self.listeners
            .iter()
            .filter(|&&l| self.shards.tcp(l).state() == State::Listen)
            .count()
    }

    /// The set that must take `seg` (a TCP segment for the sessions'
    /// port): the front set's for a handshake (a new connection's SYN, or
    /// a segment from a listener's peer), else its connection's shard.
    /// `None`: a new connection's SYN with no listener free, to be dropped
    /// (smoltcp would reset it) as Linux drops a SYN its full accept queue
    /// cannot take, so that the client retries.
    pub fn route(&self, seg: &Segment) -> Option<usize> {
        let (addr, port) = seg.peer;
        let shard = shard_of(addr, port);
        let from_peer = |s: &tcp::Socket<'_>| peer_of(s) == Some(SocketAddrV4::new(addr, port));
        if seg.opens {
            // A connection of that peer still open answers it, as it did
            // with every socket in one set; one in TIME-WAIT is left
            // behind (`update` removes it when the new one moves in).
            let open = self.shards.tcp_in(shard).any(|(_, s)| {
                !matches!(s.state(), State::Closed | State::TimeWait) && from_peer(s)
            });
            if open {
                return Some(shard);
            }
            return (self.idle_listeners() > 0).then_some(FRONT);
        }
        if self
            .listeners
            .iter()
            .any(|&l| from_peer(self.shards.tcp(l)))
        {
            return Some(FRONT);
        }
        Some(shard)
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

    /// Adds a closed socket to the pool (reusing its buffers) if the pool
    /// needs one; otherwise frees it.
    fn recycle(&mut self, sock: Sock) {
        let idle = self.idle_listeners();
        if idle < IDLE_LISTENERS && self.open + self.listeners.len() < MAX_CONNS {
            let l = self.shards.move_to(sock, FRONT);
            if listen(self.port, self.shards.tcp_mut(l)) {
                self.listeners.push(l);
            } else {
                self.shards.remove(l);
            }
        } else {
            self.shards.remove(sock);
        }
    }

    /// After each frame the front set took: listeners that completed a
    /// handshake become connections (in their peer's shard), listeners
    /// whose handshake failed listen again, and the pool is topped up.
    pub fn update(&mut self) {
        let mut i = 0;
        while i < self.listeners.len() {
            let l = self.listeners[i];
            let s = self.shards.tcp_mut(l);
            match s.state() {
                State::Listen | State::SynReceived => i += 1,
                State::Closed => {
                    // The handshake timed out: listen again.
                    if !listen(self.port, s) {
                        self.listeners.swap_remove(i);
                        self.shards.remove(l);
                    } else {
                        i += 1;
                    }
                }
                _ => {
                    let peer = peer_of(s);
                    self.listeners.swap_remove(i);
                    // The stack is IPv4 only: every peer has an address.
                    let set = peer.map_or(FRONT, |p| shard_of(*p.ip(), p.port()));
                    self.forget_closing(set, peer);
                    let sock = self.shards.move_to(l, set);
                    let id = self.insert(Conn { sock, peer });
                    self.queue.push_back(id);
                    self.stats.accepted += 1;
                }
            }
        }
        let mut idle = self.idle_listeners();
        while idle < IDLE_LISTENERS && self.open + self.listeners.len() < MAX_CONNS {
            let mut s = self.new_socket();
            if !listen(self.port, &mut s) {
                break;
            }
            let l = self.shards.add(FRONT, s);
            self.listeners.push(l);
            idle += 1;
        }
    }

    /// Removes, silently, the closing sockets of `set` that had `peer`: a
    /// new connection from the same address and port takes their place,
    /// and the first of them in the set's walk would take its segments.
    fn forget_closing(&mut self, set: usize, peer: Option<SocketAddrV4>) {
        let mut i = 0;
        while i < self.closing.len() {
            let c = self.closing[i];
            if c.set == set && peer_of(self.shards.tcp(c)) == peer {
                self.closing.remove(i);
                self.shards.remove(c);
            } else {
                i += 1;
            }
        }
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

    fn sock(&self, id: ConnId) -> Option<Sock> {
        self.get(id).map(|c| c.sock)
    }

    /// Frees `id`'s slot; its socket goes on closing.
    fn release(&mut self, id: ConnId) {
        let index = (id.0 & 0xffff) as usize;
        if self.get(id).is_none() {
            return;
        }
        let slot = &mut self.slots[index];
        let Some(conn) = slot.conn.take() else {
            return;
        };
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(index as u16);
        self.open -= 1;
        self.stats.closed += 1;
        self.closing.push_back(conn.sock);
    }

    /// Once per poll: closes connections nobody took whose peer left
    /// without a word, and reuses or frees the sockets that finished
    /// closing.
    pub fn maintain(&mut self) {
        let waiting: Vec<ConnId> = self.queue.iter().copied().collect();
        for id in waiting {
            let Some(sock) = self.sock(id) else {
                continue;
            };
            let s = self.shards.tcp_mut(sock);
            if !s.may_recv() && s.recv_queue() == 0 {
                s.close();
                self.shards.touch(sock.set);
                self.queue.retain(|&q| q != id);
                self.release(id);
            }
        }
        // Sockets that finished closing first; then, over the cap, the
        // oldest are reset (their RST goes out with the next poll's egress,
        // before the next sweep reuses them).
        let mut i = 0;
        while i < self.closing.len() {
            let c = self.closing[i];
            if self.shards.tcp(c).state() == State::Closed {
                self.closing.remove(i);
                self.recycle(c);
            } else {
                i += 1;
            }
        }
        let over = self.closing.len().saturating_sub(MAX_CLOSING);
        for i in 0..over {
            let c = self.closing[i];
            self.shards.tcp_mut(c).abort();
            self.shards.touch(c.set);
        }
    }

    pub fn accept(&mut self) -> Option<ConnId> {
        self.queue.pop_front()
    }

    pub fn recv(&mut self, id: ConnId, buf: &mut [u8]) -> usize {
        let Some(sock) = self.sock(id) else {
            return 0;
        };
        // Every connection is asked every round, most with nothing come.
        let s = self.shards.tcp_mut(sock);
        if s.recv_queue() == 0 {
            return 0;
        }
        // The ring's contiguous part, then what wrapped to its start.
        // `recv_slice` copies both halves with a `memcpy` call each, the
        // second almost always empty; a request is a few dozen bytes,
        // copied inline.
        let total = buf.len();
        let n = in_two_parts(total, |n| {
            let rest = &mut buf[n..];
            s.recv(|chunk| {
                let k = chunk.len().min(rest.len());
                unaligned::copy_short(&mut rest[..k], &chunk[..k]);
                (k, k)
            })
            .unwrap_or(0)
        });
        // The window it opened may be worth announcing.
        self.shards.touch(sock.set);
        n
    }

    pub fn send(&mut self, id: ConnId, data: &[u8]) -> usize {
        let Some(sock) = self.sock(id) else {
            return 0;
        };
        // As `recv`: the free space's two parts, replies copied inline.
        let s = self.shards.tcp_mut(sock);
        let n = in_two_parts(data.len(), |n| {
            let rest = &data[n..];
            s.send(|room| {
                let k = room.len().min(rest.len());
                unaligned::copy_short(&mut room[..k], &rest[..k]);
                (k, k)
            })
            .unwrap_or(0)
        });
        self.shards.touch(sock.set);
        n
    }

    pub fn close(&mut self, id: ConnId) {
        self.queue.retain(|&q| q != id);
        if let Some(sock) = self.sock(id) {
            self.shards.tcp_mut(sock).close();
            self.shards.touch(sock.set);
            self.release(id);
        }
    }

    pub fn abort(&mut self, id: ConnId) {
        self.queue.retain(|&q| q != id);
        if let Some(sock) = self.sock(id) {
            self.shards.tcp_mut(sock).abort();
            self.shards.touch(sock.set);
            self.release(id);
        }
    }

    pub fn peer(&self, id: ConnId) -> Option<SocketAddrV4> {
        self.get(id)?.peer
    }

    pub fn is_closed(&self, id: ConnId) -> bool {
        match self.sock(id) {
            Some(sock) => {
                let s = self.shards.tcp(sock);
                !s.may_recv() && s.recv_queue() == 0
            }
            None => true,
        }
    }
}

/// Moves up to `total` bytes through a ring in at most two steps (its
/// contiguous part, then what wrapped to its start): `step(done)` moves
/// what it can past the first `done` bytes and says how many.
fn in_two_parts(total: usize, mut step: impl FnMut(usize) -> usize) -> usize {
    let mut n = 0;
    for _ in 0..2 {
        let moved = step(n);
        n += moved;
        if moved == 0 || n == total {
            break;
        }
    }
    n
}

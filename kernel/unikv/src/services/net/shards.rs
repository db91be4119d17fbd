//! The stack's sockets, in shards. smoltcp walks a socket set for every
//! frame it takes in (the first socket that accepts the segment gets it),
//! and visits every socket of a set in each egress pass and each timer
//! query. With every connection in one set, each frame paid a walk of all
//! of them: at `-c 50` GETs, `process_ethernet` took 2,255 of 8,812 guest
//! instructions a request, and egress and `poll_at` ~1,300 more.
//!
//! Here the sessions' connections are spread over [`SHARDS`] sets by their
//! peer's address and port ([`shard_of`]); the poll reads each frame's TCP
//! header first and hands smoltcp the frame with the one set its
//! connection is in. Egress and timers visit only the sets a frame or a
//! session touched since, or whose timer is due.
//!
//! Set [`FRONT`] holds what has no connection's shard: the listeners (with
//! those mid-handshake) and the DHCP socket; it takes every frame that is
//! not TCP from a connection's peer (ARP, ICMP, DHCP, SYNs, segments for
//! other ports, which smoltcp answers as before). A listener whose
//! handshake completes moves to its peer's shard (`Conns::update`), a
//! move of the socket's struct; its buffers stay where they are.

use alloc::vec::Vec;
use core::net::Ipv4Addr;
use smoltcp::iface::{Interface, PollResult, SocketHandle, SocketSet};
use smoltcp::phy::Device;
use smoltcp::socket::{tcp, AnySocket, Socket};
use smoltcp::time::Instant;

/// The set of the listeners and the DHCP socket.
pub const FRONT: usize = 0;
/// Sets the connections are spread over. A frame's walk is its shard's
/// sockets (with 50 connections, about one); an egress pass visits only
/// the sets something touched.
pub const SHARDS: usize = 64;
const SETS: usize = SHARDS + 1;

/// A socket: its set, and its handle there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sock {
    pub set: usize,
    pub handle: SocketHandle,
}

/// The shard of a connection with `peer`. The peers of QEMU's user
/// network all have one address and consecutive ports: the product
/// spreads them.
pub fn shard_of(addr: Ipv4Addr, port: u16) -> usize {
    let x = (u32::from(addr) ^ u32::from(port)).wrapping_mul(0x9e37_79b1);
    1 + (x >> 26) as usize % SHARDS
}

pub struct Shards {
    sets: Vec<SocketSet<'static>>,
    /// Sets to visit in the next egress (a bit each): a frame came in to
    /// them, or a session sent, read or closed there.
    dirty: u128,
    /// Each set's next timer, as smoltcp's `poll_at` gave it after the
    /// set's last egress, in microseconds since reset (`u64::MAX`: none).
    deadline: [u64; SETS],
    /// At most the earliest of `deadline` (it may lag behind a set's
    /// timer that moved later): until it comes, no set's timer is looked
    /// at. A scan of every set's timer in every poll cost a lone client's
    /// GET ~1,300 instructions (four polls a request, 65 sets).
    earliest: u64,
}

const _: () = assert!(SETS <= u128::BITS as usize);

impl Shards {
    pub fn new() -> Self {
        Self {
            sets: (0..SETS).map(|_| SocketSet::new(Vec::new())).collect(),
            dirty: 0,
            deadline: [u64::MAX; SETS],
            earliest: u64::MAX,
        }
    }

    /// Set `set`, for smoltcp.
    pub fn set_mut(&mut self, set: usize) -> &mut SocketSet<'static> {
        &mut self.sets[set]
    }

    pub fn tcp(&self, s: Sock) -> &tcp::Socket<'static> {
        self.sets[s.set].get::<tcp::Socket>(s.handle)
    }

    pub fn tcp_mut(&mut self, s: Sock) -> &mut tcp::Socket<'static> {
        self.sets[s.set].get_mut::<tcp::Socket>(s.handle)
    }

    /// Adds `socket` to `set`.
    pub fn add(&mut self, set: usize, socket: impl AnySocket<'static>) -> Sock {
        let handle = self.sets[set].add(socket);
        self.touch(set);
        Sock { set, handle }
    }

    pub fn remove(&mut self, s: Sock) -> Socket<'static> {
        self.sets[s.set].remove(s.handle)
    }

    /// Moves `s` to `set` (its buffers stay where they are).
    pub fn move_to(&mut self, s: Sock, set: usize) -> Sock {
        if s.set == set {
            return s;
        }
        let socket = self.remove(s);
        self.add(set, socket)
    }

    /// `set`'s TCP sockets, with where they are.
    pub fn tcp_in(&self, set: usize) -> impl Iterator<Item = (Sock, &tcp::Socket<'static>)> {
        self.sets[set]
            .iter()
            .filter_map(move |(handle, s)| match s {
                Socket::Tcp(t) => Some((Sock { set, handle }, t)),
                _ => None,
            })
    }

    /// Marks `set` for the next egress.
    pub fn touch(&mut self, set: usize) {
        self.dirty |= 1 << set;
    }

    /// Sends what the sets marked since the last call, and those whose
    /// timer is due at `ts`, queued (each set at most `passes` segments a
    /// socket), and takes their next timers. Returns whether anything was
    /// sent, and whether a set stopped at the bound (it stays marked).
    pub fn egress<D: Device + ?Sized>(
        &mut self,
        iface: &mut Interface,
        ts: Instant,
        dev: &mut D,
        passes: usize,
    ) -> (bool, bool) {
        let now = ts.total_micros().max(0) as u64;
        let mut visit = core::mem::take(&mut self.dirty);
        let due = now >= self.earliest;
        if due {
            for (set, &at) in self.deadline.iter().enumerate() {
                if at <= now {
                    visit |= 1 << set;
                }
            }
        }
        let (mut did, mut left) = (false, false);
        while visit != 0 {
            let set = visit.trailing_zeros() as usize;
            visit &= visit - 1;
            let sockets = &mut self.sets[set];
            // Another pass only if the timers say a socket has more to
            // send now (a reply longer than a segment): most sets send
            // their one reply in the first, and a second would only walk
            // them again to find nothing.
            let mut n = 0;
            loop {
                let sent = iface.poll_egress(ts, dev, sockets) == PollResult::SocketStateChanged;
                did |= sent;
                let at = iface
                    .poll_at(ts, sockets)
                    .map_or(u64::MAX, |t| t.total_micros().max(0) as u64);
                self.deadline[set] = at;
                self.earliest = self.earliest.min(at);
                n += 1;
                if !sent || at > now {
                    break;
                }
                if n == passes {
                    left = true;
                    self.dirty |= 1 << set;
                    break;
                }
            }
        }
        if due {
            self.earliest = self.deadline.iter().copied().min().unwrap_or(u64::MAX);
        }
        (did, left)
    }

    /// When a set's timer may next be due (`u64::MAX`: none): at most the
    /// earliest, so that a poll then finds each due set.
    pub fn next_deadline(&self) -> u64 {
        self.earliest
    }
}

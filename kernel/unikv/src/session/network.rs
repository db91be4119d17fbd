//! Network sessions: every TCP connection the net service accepts speaks
//! Redis's protocol, through `conn::Connection` (parsing, commands,
//! replies, limits). This file only moves bytes between the sockets and the
//! connections, and enforces what needs the socket: `maxclients`, the idle
//! `timeout`, and closing.

use crate::host::KernelHost;
use crate::services::kv::STORE;
use crate::services::net::{self, ConnId};
use alloc::vec::Vec;
use cmd::{Caller, ServerCell};
use conn::{Connection, Env, MAX_CLIENTS_REPLY};
use hal::drivers::pl031;

/// Bytes read from a socket at a time.
const READ_CHUNK: usize = 16 << 10;

pub struct Network {
    conns: Vec<(ConnId, Connection)>,
    buf: Vec<u8>,
    server: &'static ServerCell,
    /// The bound on every client's unread replies together, and when
    /// (wall ms) it was read from the heap: at most once every
    /// [`BUDGET_MS`] while replies are owed, which with pipelined writes is
    /// nearly every round (the heap's lock, which every core's allocations
    /// take, cost the round ~700 instructions a SET of spinning).
    budget: (usize, u64),
    /// `cmd::kills()` when the connections were last checked against the
    /// server's killed clients.
    kills_seen: u64,
}

/// How long [`Network::budget`] stands, in milliseconds: a round under
/// load (or under the instruction-counting profiler) takes more than one.
/// The bound is a safety valve against slow readers piling up replies over
/// seconds; a budget this old is as good.
const BUDGET_MS: u64 = 10;

/// What a connection may hold without a look at the heap: an idle one
/// keeps a line buffer of up to 1 KiB, and a request of a few small
/// arguments is under this too.
const IDLE_HOLDING: usize = 4 << 10;

impl Network {
    pub fn new(server: &'static ServerCell) -> Network {
        Network {
            conns: Vec::new(),
            buf: alloc::vec![0; READ_CHUNK],
            server,
            budget: (0, 0),
            kills_seen: 0,
        }
    }

    fn env(&self) -> Env<'static> {
        Env {
            store: &STORE,
            server: self.server,
            host: &KernelHost,
            clock: crate::services::kv::clock(),
        }
    }

    /// Accepts new connections and takes what every connection sent;
    /// returns whether anything happened.
    pub fn poll(&mut self) -> bool {
        let env = self.env();
        let mut busy = net::poll_ingress();
        while let Some(id) = net::accept() {
            busy = true;
            let maxclients = self.server.lock().config.maxclients;
            if self.conns.len() as u64 >= maxclients {
                net::send(id, MAX_CLIENTS_REPLY);
                net::close(id);
                self.server.lock().stats.rejected_connections += 1;
                continue;
            }
            let caller = match net::peer(id) {
                Some(p) => Caller::Network {
                    addr: p.ip().octets(),
                    port: p.port(),
                },
                None => Caller::Network {
                    addr: [0; 4],
                    port: 0,
                },
            };
            let mut c = Connection::new(&env, caller);
            c.set_fd(&env, id.slot().into());
            self.conns.push((id, c));
        }
        for (id, c) in &mut self.conns {
            while !c.wants_close() {
                let n = net::recv(*id, &mut self.buf);
                if n == 0 {
                    break;
                }
                busy = true;
                c.input(&env, &self.buf[..n]);
            }
        }
        // What CLIENT PAUSE held, once it ended (by the clock, which the
        // tick brings here, or by an UNPAUSE, which wakes this core).
        for (_, c) in &mut self.conns {
            busy |= c.resume(&env);
        }
        self.bound_held();
        busy
    }

    /// Each client's unread replies are capped (client-output-buffer-limit);
    /// what all the clients hold (unread replies and unfinished requests)
    /// is capped at a quarter of the free heap: past it, the client that
    /// holds the most goes, so that many slow readers, or clients that send
    /// large requests and never finish them, cannot take the memory the
    /// store and its cache need (an allocation that fails stops the
    /// kernel).
    fn bound_held(&mut self) {
        let held = |conns: &[(ConnId, Connection)]| -> usize {
            conns.iter().map(|(_, c)| c.held_bytes()).sum()
        };
        let owed = held(&self.conns);
        if owed <= IDLE_HOLDING * self.conns.len() {
            // The usual round: no heap lock (every core's allocations take
            // it) to learn that little is held.
            return;
        }
        let now = pl031::wall_ms();
        let (budget, read_at) = self.budget;
        if owed <= budget && now.wrapping_sub(read_at) < BUDGET_MS {
            return;
        }
        let budget = hal::heap::stats().free / 4;
        self.budget = (budget, now);
        loop {
            if held(&self.conns) <= budget {
                return;
            }
            let Some((_, worst)) = self
                .conns
                .iter_mut()
                .filter(|(_, c)| !c.was_dropped())
                .max_by_key(|(_, c)| c.held_bytes())
            else {
                return;
            };
            log::warn!(
                "net: dropping a client that holds {} bytes of unread replies and unfinished requests: what the clients hold passed a quarter of the free heap",
                worst.held_bytes()
            );
            worst.drop_client();
        }
    }

    /// Sends the replies that no longer wait (their group commit happened),
    /// and closes what should be closed; returns whether anything happened.
    pub fn flush(&mut self) -> bool {
        let env = self.env();
        let now = pl031::wall_ms();
        let timeout_ms = self.server.lock().config.timeout_s.saturating_mul(1000);
        let kills = cmd::kills();
        if kills != self.kills_seen {
            self.kills_seen = kills;
            let mut server = self.server.lock();
            for (_, c) in &mut self.conns {
                if server.killed.remove(&c.client().id) {
                    c.kill();
                }
            }
        }
        let mut busy = false;
        let mut i = 0;
        while i < self.conns.len() {
            let (id, c) = &mut self.conns[i];
            c.release(&env);
            while !c.output().is_empty() {
                let n = net::send(*id, c.output());
                if n == 0 {
                    break;
                }
                busy = true;
                c.sent(n);
            }
            // One waiting for CLIENT PAUSE to end is not idle (Redis does
            // not time out its blocked clients).
            let idle = timeout_ms > 0 && c.idle_ms(now) > timeout_ms && !c.client().postponed;
            if c.wants_close() || idle || net::is_closed(*id) {
                busy = true;
                if c.was_dropped() {
                    net::abort(*id);
                } else {
                    net::close(*id);
                }
                let (_, c) = self.conns.swap_remove(i);
                c.close(&env);
                continue;
            }
            i += 1;
        }
        busy |= net::poll();
        busy
    }
}

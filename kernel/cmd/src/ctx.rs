//! What a handler works with: [`Ctx`] (the store, the host, the session's
//! sink, the caller), and the typed [`CmdError`] it returns.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::ops::{Deref, DerefMut};

use console::{Reply, Report};
use kv::{Clock, Store, StoreCell, Ticket};

use crate::state::{Appendfsync, Client, ServerCell};

/// One service, as `SERVICES` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceRow {
    /// Its name.
    pub name: &'static str,
    /// Its state, in words ("running", "failed: why" ...).
    pub state: String,
    /// What it is.
    pub description: &'static str,
    /// Who wrote it.
    pub author: &'static str,
    /// Under what license.
    pub license: &'static str,
}

/// What only the kernel knows and does. The kernel implements it over its
/// registry, log ring, timer, PSCI and debug hooks; tests implement a double.
pub trait Host {
    /// The INFO sections the kernel has fields for, lower case: Redis's
    /// (`server`, `memory`, `cpu`) and its own (`services`, `devices`,
    /// which INFO puts after Redis's, in this order).
    fn info_sections(&self) -> &'static [&'static str];
    /// Adds the kernel's fields of section `name` (one of
    /// [`Host::info_sections`]) to `r`'s current section, which INFO has
    /// started (with Redis's fields first, if Redis has the section).
    fn info(&self, name: &str, r: &mut Report);
    /// Every service, in the registry's order.
    fn services(&self) -> Vec<ServiceRow>;
    /// The state of the service `name`, in words.
    fn service_state(&self, name: &str) -> String;
    /// Starts a service (and what it depends on), by name or alias.
    fn start_service(&self, name: &str) -> Result<(), String>;
    /// Stops a service, by name or alias.
    fn stop_service(&self, name: &str) -> Result<(), String>;
    /// Stops every service, dependents first (before power-off or reset).
    fn stop_all_services(&self);
    /// Powers off (`reset` false) or resets the machine.
    fn power(&self, reset: bool) -> !;
    /// The last `n` lines of the kernel log.
    fn log_lines(&self, n: usize) -> Vec<Vec<u8>>;
    /// Sets the level of log records the console prints (and keeps).
    fn set_console_log_level(&self, level: log::LevelFilter);
    /// Free heap bytes: the bound for replies built in memory.
    fn free_memory(&self) -> usize;
    /// Heap bytes in use (INFO memory's `used_memory`).
    fn used_memory(&self) -> usize;
    /// The machine's RAM in bytes (`total_system_memory`).
    fn total_memory(&self) -> u64;
    /// The IPv4 address and TCP port the Redis service listens on
    /// (`tcp_port`, CONFIG GET port, CLIENT LIST's `laddr`); `None` while
    /// there is no network service.
    fn listen_addr(&self) -> Option<([u8; 4], u16)>;
    /// The time source for benchmarks.
    fn clock(&self) -> Clock;
    /// Panics on purpose (`DEBUG PANIC`).
    fn panic(&self, message: &str) -> !;
    /// Wakes the cores that serve sessions: a MONITOR line is waiting for
    /// a client another core may serve. By default, nothing.
    fn wake_sessions(&self) {}
    /// Reads an unmapped address (`DEBUG FAULT`); returns only if the MMU
    /// let the read through, with a message that says so.
    fn fault(&self) -> String;
    /// Recurses until the stack's guard page stops it (`DEBUG OVERFLOW`);
    /// returns only if it did not, with a message that says so.
    fn overflow(&self) -> String;
    /// Waits `us` microseconds, the core asleep where it can be
    /// (`DEBUG SLEEP`).
    fn sleep_us(&self, us: u64);
    /// Starts the sampling profiler at `hz` on CPU `cpu`.
    fn profile_start(&self, hz: u64, cpu: usize) -> Result<(), String>;
    /// Stops it: (samples, the `top` hottest addresses with their counts).
    fn profile_stop(&self, top: usize) -> (usize, Vec<(u64, u32)>);
    /// Runs `job(i)` for every `i` in `0..n` at once: job 0 on the calling
    /// core, each other on a core of its own; returns when all have
    /// returned. Fails, running nothing, when fewer than `n` cores can take
    /// one (the message says how many can).
    fn parallel(&self, n: usize, job: &(dyn Fn(usize) + Sync)) -> Result<(), String>;
}

/// The session a command runs in: where its output beyond the reply goes,
/// and whether the user asked it to stop. `Send`: a command that runs on
/// several cores (BENCH threads=N) lends it to the job it runs on its own
/// core, which every core shares.
pub trait Sink: Send {
    /// A progress line while the command runs (BENCH).
    fn progress(&mut self, line: &str);
    /// A line of unframed output (DEBUG TRACE DUMP).
    fn raw(&mut self, line: &[u8]);
    /// Whether the user asked the running command to stop (Ctrl-C).
    fn interrupted(&mut self) -> bool;
    /// Sends `reply` at once and waits until it has left (before the power
    /// goes).
    fn reply_now(&mut self, reply: &Reply);
}

/// Why a command failed; every variant renders as the console's
/// `(error) ERR ...` but [`CmdError::Interrupted`], which is `(interrupted)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CmdError {
    /// The user stopped it at a safe point; what it did so far stands.
    Interrupted,
    /// The store failed or refused.
    Store(lsm::Error),
    /// A service the command needs is not running; says which and why.
    Unavailable(String),
    /// An argument is wrong; says what is expected.
    Invalid(String),
    /// The arguments do not fit the command: its usage line.
    Usage(&'static str),
    /// The kernel refused (a service would not start or stop ...).
    Host(String),
    /// An error with a code other than ERR, as Redis's `WRONGTYPE`,
    /// `NOAUTH`, `WRONGPASS`, `EXECABORT`.
    Coded(&'static str, String),
}

impl CmdError {
    /// Redis's `ERR syntax error`.
    pub fn syntax() -> CmdError {
        CmdError::Invalid(String::from("syntax error"))
    }

    /// Redis's error for an argument that must be a 64-bit integer.
    pub fn not_integer() -> CmdError {
        CmdError::Invalid(String::from("value is not an integer or out of range"))
    }

    /// Redis's `WRONGTYPE` error.
    pub fn wrong_type() -> CmdError {
        CmdError::Coded(
            "WRONGTYPE",
            String::from("Operation against a key holding the wrong kind of value"),
        )
    }

    /// Redis's `OOM command not allowed` error, with unikv's reason: what
    /// the command would hold (see `Ctx::over_heap_quarter`).
    pub fn oom(reason: fmt::Arguments<'_>) -> CmdError {
        CmdError::Coded("OOM", format!("command not allowed: {reason}"))
    }
}

impl fmt::Display for CmdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CmdError::Interrupted => f.write_str("interrupted"),
            CmdError::Store(e) => e.fmt(f),
            CmdError::Unavailable(s) | CmdError::Invalid(s) | CmdError::Host(s) => f.write_str(s),
            CmdError::Usage(usage) => write!(f, "usage: {usage}"),
            CmdError::Coded(code, message) => write!(f, "{code} {message}"),
        }
    }
}

impl From<lsm::Error> for CmdError {
    fn from(e: lsm::Error) -> Self {
        match e {
            lsm::Error::Interrupted => CmdError::Interrupted,
            e => CmdError::Store(e),
        }
    }
}

impl From<CmdError> for Reply {
    fn from(e: CmdError) -> Self {
        match e {
            CmdError::Interrupted => Reply::Interrupted,
            CmdError::Coded(code, message) => Reply::coded(code, message),
            e => Reply::error(e),
        }
    }
}

/// The store, locked, and known to be running.
pub struct StoreGuard<'a>(kv::StoreCellGuard<'a>);

impl Deref for StoreGuard<'_> {
    type Target = Store;
    fn deref(&self) -> &Store {
        // `Ctx::store` only builds a guard around `Some`.
        self.0.as_ref().expect("checked when locked")
    }
}

impl DerefMut for StoreGuard<'_> {
    fn deref_mut(&mut self) -> &mut Store {
        self.0.as_mut().expect("checked when locked")
    }
}

/// The store, shared ([`Ctx::store_shared`]), and known to be running.
pub(crate) struct SharedStore<'a>(kv::StoreCellReadGuard<'a>);

impl Deref for SharedStore<'_> {
    type Target = Store;
    fn deref(&self) -> &Store {
        // `Ctx::store_shared` only builds a guard around `Some`.
        self.0.as_ref().expect("checked when locked")
    }
}

/// A command's context. See the crate doc.
pub struct Ctx<'a> {
    store: &'a StoreCell,
    /// What every session shares: configuration, clients, statistics.
    pub server: &'a ServerCell,
    /// What only the kernel knows and does.
    pub host: &'a dyn Host,
    /// The host's clock, which the session gives (`Host::clock` once per
    /// session or read, not per command: each call is a call through a
    /// pointer, and a command reads the time three times).
    pub clock: Clock,
    /// The session's output and interrupt check.
    pub out: &'a mut dyn Sink,
    /// The session's state: who is asking, in which protocol, its
    /// transaction.
    pub client: &'a mut Client,
    /// Set by a write whose reply must wait until its ticket is durable.
    pub(crate) wait_for: Option<Ticket>,
    /// The command's reading of the time of day (see `Ctx::now_ms`).
    pub(crate) now: core::cell::Cell<Option<u64>>,
    /// Keyspace hits and misses not counted in the server's statistics
    /// yet: they are, with the command's other counters, under the one
    /// lock the command takes at its end (a lock per read cost a GET a
    /// second lock section).
    pub(crate) reads: core::cell::Cell<(u64, u64)>,
    /// Bytes of the values the command (a transaction: all its commands)
    /// has read so far: see `Ctx::count_read`.
    pub(crate) read_bytes: core::cell::Cell<usize>,
    /// The client's pending writes went to the store: the transactions
    /// that watch their keys
    /// learn of them in that same lock.
    pub(crate) applied: bool,
    /// `appendfsync` as the command's end found it.
    pub(crate) appendfsync: Appendfsync,
}

impl<'a> Ctx<'a> {
    /// A context for one command of `client`'s session; `clock` is
    /// `host`'s.
    pub fn new(
        store: &'a StoreCell,
        server: &'a ServerCell,
        (host, clock): (&'a dyn Host, Clock),
        out: &'a mut dyn Sink,
        client: &'a mut Client,
    ) -> Self {
        // A command starts with no writes (a failed one may have left its).
        client.pending.clear();
        Ctx {
            store,
            server,
            host,
            clock,
            out,
            client,
            wait_for: None,
            now: core::cell::Cell::new(None),
            reads: core::cell::Cell::new((0, 0)),
            read_bytes: core::cell::Cell::new(0),
            applied: false,
            // Until the command's end reads the setting: the safe one.
            appendfsync: Appendfsync::Always,
        }
    }

    /// The free heap, if a command holding `total` bytes (of values read,
    /// commands queued, keys watched) would pass a quarter of it: what a
    /// client makes the kernel hold is bounded, since an allocation that
    /// fails stops the kernel. Below `unchecked` bytes the heap is not
    /// looked at (its lock is every core's allocations'), so that the
    /// usual command pays a compare.
    #[inline(always)]
    pub(crate) fn over_heap_quarter(&self, total: usize, unchecked: usize) -> Option<usize> {
        if total <= unchecked {
            return None;
        }
        self.free_below(total.saturating_mul(4))
    }

    /// The free heap, if it is below `bytes`.
    #[cold]
    #[inline(never)]
    fn free_below(&self, bytes: usize) -> Option<usize> {
        let free = self.host.free_memory();
        (free < bytes).then_some(free)
    }

    /// The store, locked; or why it is not available.
    pub fn store(&self) -> Result<StoreGuard<'a>, CmdError> {
        self.present(self.store.lock())
    }

    /// The store, locked for a write ([`StoreCell::lock_for_write`]: a
    /// write braked by the store's level 0 waits without the lock).
    pub fn store_for_write(&self) -> Result<StoreGuard<'a>, CmdError> {
        self.present(self.store.lock_for_write())
    }

    /// `guard`, if it holds a store; else why there is none (the lock let
    /// go first).
    fn present(&self, guard: kv::StoreCellGuard<'a>) -> Result<StoreGuard<'a>, CmdError> {
        if guard.is_none() {
            drop(guard);
            return Err(self.unavailable());
        }
        Ok(StoreGuard(guard))
    }

    /// The store, shared with other lookups, for a lookup: cheaper than
    /// [`Ctx::store`] (no wait for other readers, nothing to publish when
    /// let go), and other cores' lookups go on meanwhile. Not to be held
    /// while taking the store again (see [`kv::StoreCell::read`]).
    pub(crate) fn store_shared(&self) -> Result<SharedStore<'a>, CmdError> {
        let guard = self.store.read();
        if guard.is_none() {
            drop(guard);
            return Err(self.unavailable());
        }
        Ok(SharedStore(guard))
    }

    fn unavailable(&self) -> CmdError {
        CmdError::Unavailable(alloc::format!(
            "the store is not available: service 'kv' is {} (see LOG; SERVICE START kv retries)",
            self.host.service_state("kv")
        ))
    }

    /// The store's lock itself, for a command that takes it once per
    /// operation (BENCH).
    pub(crate) fn store_cell(&self) -> &'a StoreCell {
        self.store
    }

    /// The ticket the command's reply waits for, if its write was deferred
    /// (group commit): the session holds the reply until it is durable.
    pub fn wait_for(&self) -> Option<Ticket> {
        self.wait_for
    }

    /// What a network reply waits for: [`Ctx::wait_for`] under
    /// `appendfsync always`; with `everysec` or `no` nothing, the loss
    /// window being the owner's flush period. The setting is the one
    /// [`crate::run`] found at the command's end.
    pub fn reply_gate(&self) -> Option<Ticket> {
        self.wait_for
            .filter(|_| self.appendfsync == Appendfsync::Always)
    }

    /// Whether the user asked the command to stop.
    pub fn interrupted(&mut self) -> bool {
        self.out.interrupted()
    }
}

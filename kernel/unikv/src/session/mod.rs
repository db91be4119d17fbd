//! Sessions: the front ends people and programs use. Each turns its input
//! into commands for the `cmd` crate and renders the replies its own way;
//! the store's group commit spans them all.
//!
//! The loops below are the kernel's main loops. Each lets its sessions
//! take the input that has arrived, then makes the writes they gathered
//! durable with one WAL flush (with the writes any other loop gathered
//! meanwhile: a commit covers every write before it, and a loop that finds
//! them covered flushes nothing) and lets the sessions send the replies
//! that waited for it, then sleeps (`wfi`) until the next interrupt.
//!
//! The flush runs without the store's lock ([`::kv::Store::begin_commit`]):
//! the other cores' lookups, their writes and the background's work go on
//! while the disk flushes, where they used to spin on the lock for the
//! whole of it. Nor does a loop that serves the network wait for it: it
//! hands the disk the flush and serves on (the requests that arrive
//! meanwhile are executed, their replies wait for the next commit), and
//! the disk's interrupt brings it back to finish the commit and send the
//! replies it covered, before it runs the input that came meanwhile
//! (whose writes the next commit takes); so the disk's flush and the
//! serving overlap, as with RocksDB's pipelined writes. (The console's
//! own loop waits: its next command may be a long one.) A loop that finds
//! another core's commit under way leaves its writes for the next and
//! sleeps; the committing core wakes it when the commit is done, so that
//! its replies go.
//!
//! With three cores or more the console and the network sessions each have
//! a loop and a core of their own (`cores`), so a long console command
//! (BENCH, COMPACT) does not hold up the network's clients, nor a flood
//! of requests the console; the NIC's interrupt then goes to the network
//! core. With fewer, one loop on CPU 0 serves both, as before.

mod console;
mod network;

use crate::cores;
use crate::services::kv::{self, STORE};
use crate::services::net;
use ::kv::{BeginCommit, CommitDone, CommitFlight};
use cmd::{Appendfsync, Config, Server, ServerCell};
use core::sync::atomic::{AtomicUsize, Ordering};
use hal::arch::cpu;
use hal::cpus::Role;
use hal::drivers::{pl011, pl031, virtio_blk};

/// What every session shares: configuration, the client list, statistics.
static SERVER: spin::Once<ServerCell> = spin::Once::new();

fn server() -> &'static ServerCell {
    SERVER.call_once(|| ServerCell::new(Server::new(config(), pl031::wall_ms())))
}

/// The configuration the boot arguments give: `requirepass=` sets the
/// password network clients must give (the console needs none).
fn config() -> Config {
    let mut config = Config::default();
    let args = crate::board::board().bootargs.as_deref().unwrap_or("");
    if let Some(pass) = kcore::dt::bootarg(args, "requirepass").filter(|p| !p.is_empty()) {
        config.requirepass = Some(pass.as_bytes().to_vec());
        log::info!("sessions: network clients must AUTH (requirepass= in the boot arguments)");
    }
    config
}

/// Runs the sessions for good, on CPU 0 (and the network core if there is
/// one).
pub fn run() -> ! {
    let server = server();
    match cores::network_core() {
        Some(core) => {
            cores::assign(core, Role::Network, network_loop);
            hal::cpus::set_role(0, Role::Console);
            console_loop()
        }
        None => combined_loop(server),
    }
}

/// The console session alone.
fn console_loop() -> ! {
    let mut console = console::Console::new(server());
    let mut committer = Committer::new(false);
    loop {
        console.poll();
        // Only for its own replies: the network core commits the rest
        // (and runs `everysec`'s clock). Joining in for the network's
        // writes, this loop took every other commit, synchronously, and
        // the two cores woke each other for the replies.
        if console.holds() {
            settle(&mut committer);
        }
        console.release();
        maintenance();
        // Makes the time of day exact in the first seconds (the 100 Hz
        // tick wakes the loop for it); one atomic load afterwards.
        pl031::sync_step();
        cpu::wait_for_interrupt_if(|| pl011::RX.is_empty() && committer.may_sleep());
    }
}

/// The network sessions alone, on their own core: the NIC's interrupt is
/// routed here, so that its arrival wakes this loop.
fn network_loop() -> ! {
    let mut network = network::Network::new(server());
    let mut committer = Committer::new(true);
    let mut routed = None;
    loop {
        // The net service may have (re)started since the last round.
        let intid = net::intid();
        if intid != routed {
            if let Some(i) = intid {
                net::route_interrupt_here(i);
            }
            routed = intid;
        }
        // A flush the disk finished: its replies go before the input that
        // came meanwhile is run, so that their clients send their next
        // requests (for the next commit) while this round's are executed.
        if finish_flight(&mut committer) {
            network.flush();
        }
        network.poll();
        settle(&mut committer);
        network.flush();
        kv::tick();
        expire_step();
        cpu::wait_for_interrupt_if(|| !net::pending() && committer.may_sleep());
    }
}

/// Both, in one loop (one or two cores).
fn combined_loop(server: &'static ServerCell) -> ! {
    let mut console = console::Console::new(server);
    let mut network = network::Network::new(server);
    let mut committer = Committer::new(true);
    loop {
        if finish_flight(&mut committer) {
            console.release();
            network.flush();
        }
        // Frames in, then every session takes what arrived.
        console.poll();
        network.poll();
        // No more input waiting: what was gathered shares one flush.
        settle(&mut committer);
        console.release();
        network.flush();
        maintenance();
        pl031::sync_step();
        cpu::wait_for_interrupt_if(|| {
            pl011::RX.is_empty() && !net::pending() && committer.may_sleep()
        });
    }
}

/// What the store needs between rounds: buffered writes whose deadline
/// came and a step of the active expiry (from whichever loop gets there),
/// and the compaction reads asked for. That one runs from CPU 0's loop
/// only, between console commands: in the network's loop it would hold
/// the store for the length of a compaction while a console BENCH reads
/// (its reads ask for one again and again), and every client would wait.
fn maintenance() {
    kv::tick();
    expire_step();
    idle_compaction();
}

/// A loop's part in the group commit.
struct Committer {
    /// Whether this loop serves on while the disk flushes its commit: not
    /// the console's alone, whose next command may be a long one (BENCH,
    /// COMPACT), during which its commit would be asked about by nobody
    /// and the network's writes would wait for it.
    overlap: bool,
    /// The commit this loop started whose flush the disk still has.
    flight: Option<CommitFlight>,
    /// Disk interrupts taken before `flight` was last polled.
    seen: u64,
    /// When `everysec` last committed.
    last_sync_ms: u64,
    /// `appendfsync` as this loop last read it.
    policy: Appendfsync,
}

impl Committer {
    fn new(overlap: bool) -> Committer {
        Committer {
            overlap,
            flight: None,
            seen: 0,
            last_sync_ms: pl031::wall_ms(),
            policy: Appendfsync::Always,
        }
    }

    /// Whether the loop may sleep as far as the commit goes: none under
    /// way, or no disk interrupt since it was last polled (its completion's
    /// is routed to this core, or else another core's request found it
    /// done and wakes this one).
    fn may_sleep(&self) -> bool {
        self.flight.is_none() || virtio_blk::interrupts_taken() == self.seen
    }

    /// Asks the commit under way whether the disk is done with it, and
    /// settles it if so; whether it did (false with none under way).
    fn poll_flight(&mut self) -> bool {
        let Some(flight) = &mut self.flight else {
            return false;
        };
        self.seen = virtio_blk::interrupts_taken();
        let Some(done) = flight.poll() else {
            return false;
        };
        self.flight = None;
        finish_commit(done);
        true
    }
}

/// Makes the writes gathered this round durable as `appendfsync` says:
/// `always`, one WAL flush now, before their replies go; `everysec`, a
/// flush once a second (their replies did not wait); `no`, none here: the
/// store's write-out deadline puts them on the disk. A flush under way is
/// asked about in every round.
///
/// The server's lock is not waited for here: with nothing deferred and no
/// flush under way there is nothing to settle, and a lock another core
/// holds leaves the policy as this loop last read it. Waiting, the
/// network core spun ~1,560 instructions a pipelined SET on it (2026-12-04,
/// `tools/insn-profile set -c 10 -P 16`): the other loops take it every
/// round, and on a two-core host a vCPU holding it may not be running. A
/// stale policy costs at most a round: every reply that must wait for the
/// disk says so itself ([`cmd::Ctx::reply_gate`], read under the lock at
/// its command's end), and waits for a later commit.
fn settle(c: &mut Committer) {
    if c.flight.is_none() && !STORE.has_pending() {
        return;
    }
    if let Some(server) = server().try_lock() {
        c.policy = server.config.appendfsync;
    }
    let policy = c.policy;
    let now = pl031::wall_ms();
    let due = match policy {
        Appendfsync::Always => true,
        Appendfsync::Everysec => now.saturating_sub(c.last_sync_ms) >= 1000,
        Appendfsync::No => false,
    };
    if due || c.flight.is_some() {
        group_commit(c, due);
    }
    match policy {
        Appendfsync::Always => {}
        Appendfsync::Everysec if due => c.last_sync_ms = now,
        Appendfsync::Everysec | Appendfsync::No => note_unsynced(),
    }
}

/// Settles the commit under way if the disk is done with it (its
/// replies may then go); whether it was. Begins no other: the loop's
/// `settle` does, once the round's input has been run, so that it covers
/// that too. Traced (2026-12-04, `-c 10` SETs, QEMU's virtio trace
/// events): the loop ran the 8 requests that had come during the flush,
/// ~450 us, then wrote the next commit, ~140 us more, before the finished
/// commit's replies went out.
fn finish_flight(c: &mut Committer) -> bool {
    c.flight.is_some() && virtio_blk::interrupts_taken() != c.seen && c.poll_flight()
}

/// Deferred writes that no commit covers yet start the store's write-out
/// clock, so they reach the disk within its bound.
fn note_unsynced() {
    if !kv::upkeep() {
        return;
    }
    if let Some(store) = STORE.lock().as_mut() {
        store.note_unsynced();
    }
}

/// Cores whose loop found another core's commit under way (a bit each):
/// the committing core wakes them when it is done.
static COMMIT_WAITERS: AtomicUsize = AtomicUsize::new(0);

/// The loops' group commit: every deferred write made so far durable with
/// one WAL flush, which runs without the store's lock and without this
/// loop waiting for it (see the module doc); the replies waiting for it
/// can go once a later round finds it done. The one under way is asked
/// about first; a new one begins (if `begin`) only once it is done. If
/// another core's commit is under way, this core sleeps until that one
/// wakes it, then commits what is left. A failure is each waiting reply's
/// error.
fn group_commit(c: &mut Committer, begin: bool) {
    if c.flight.is_some() && !c.poll_flight() {
        return;
    }
    if !begin || !STORE.has_pending() {
        return;
    }
    let me = 1 << hal::cpus::index();
    // Asked before the store is: a commit that ends after the lock is let
    // go below sees it, so its wake-up cannot be missed.
    COMMIT_WAITERS.fetch_or(me, Ordering::AcqRel);
    let begun = match STORE.lock().as_mut() {
        Some(store) => store.begin_commit(),
        None => BeginCommit::Idle,
    };
    if !matches!(begun, BeginCommit::Busy) {
        COMMIT_WAITERS.fetch_and(!me, Ordering::AcqRel);
    }
    match begun {
        BeginCommit::Ready(job) if !c.overlap => finish_commit(job.run()),
        BeginCommit::Ready(job) => {
            c.seen = virtio_blk::interrupts_taken();
            let mut flight = job.start();
            match flight.poll() {
                Some(done) => finish_commit(done),
                None => c.flight = Some(flight),
            }
        }
        BeginCommit::Failed(e) => log::error!("kv: group commit failed: {e}"),
        BeginCommit::Busy | BeginCommit::Idle => {}
    }
}

/// Settles a commit the device is done with, and wakes the loops that
/// waited for it.
fn finish_commit(done: CommitDone) {
    if let Some(store) = STORE.lock().as_mut() {
        if let Err(e) = store.finish_commit(done) {
            log::error!("kv: group commit failed: {e}");
        }
    }
    let waiters = COMMIT_WAITERS.swap(0, Ordering::AcqRel);
    for core in (0..usize::BITS as usize).filter(|c| waiters & (1 << c) != 0) {
        hal::arch::smp::wake(core);
    }
}

/// Makes every deferred write durable (one WAL flush) before it returns,
/// under the store's lock (after any commit under way without it), so the
/// replies waiting for it can go: the console's, before a command that
/// must not pass them. A failure is each waiting reply's error.
fn commit() {
    // Every round of every loop asks: nothing pending is the usual answer,
    // and it needs no lock.
    if !STORE.has_pending() {
        return;
    }
    if let Some(store) = STORE.lock().as_mut() {
        if let Err(e) = store.commit() {
            log::error!("kv: group commit failed: {e}");
        }
    }
}

/// The compaction reads asked for (a table lookups looked past too often),
/// between rounds of the loop: replies gathered so far are out. A failure
/// is logged; the store retries when reads ask again. Only a store without
/// a background core has such work; and a store another core holds is
/// asked again next round rather than waited for: waiting, this loop spun
/// for the lock against a BENCH on another core, which takes it for every
/// operation (fillrandom at 1,000,000 keys: ~760 instructions a write, on
/// a vCPU that the host's two cores then ran instead of the BENCH's or the
/// background core's).
fn idle_compaction() {
    if !kv::upkeep() || !STORE.compacts_inline() {
        return;
    }
    if let Some(store) = STORE.try_lock().as_mut().and_then(|g| g.as_mut()) {
        if let Err(e) = store.idle_compaction() {
            log::warn!("kv: compaction asked for by reads: {e}");
        }
    }
}

/// Keys each step of the active expiry looks at.
const EXPIRE_BUDGET: usize = 64;
/// Milliseconds between two steps: ten a second, as Redis's `hz 10`.
const EXPIRE_PERIOD_MS: u64 = 100;
/// Milliseconds between two steps after one failed (a damaged table in
/// its way: VERIFY reports it, and reads of it fail on their own).
const EXPIRE_RETRY_MS: u64 = 10_000;

/// When the active expiry last stepped, and whether that step failed;
/// shared by the loops (whichever comes first steps).
struct Expiry {
    last_ms: u64,
    failing: bool,
}

static EXPIRY: spin::Mutex<Expiry> = spin::Mutex::new(Expiry {
    last_ms: 0,
    failing: false,
});

/// One step of the store's active expiry: the expired keys nobody reads
/// go, a few at a time, at most ten times a second (the loop wakes on every
/// packet), and not at all while the store has no key with an expiry. A
/// failure is logged once (not ten times a second, in the middle of the
/// console's replies), and the expiry then retries every ten seconds.
fn expire_step() {
    // The other loop is at it: nothing to do here.
    let Some(mut x) = EXPIRY.try_lock() else {
        return;
    };
    let now = pl031::wall_ms();
    let period = if x.failing {
        EXPIRE_RETRY_MS
    } else {
        EXPIRE_PERIOD_MS
    };
    if now.saturating_sub(x.last_ms) < period {
        return;
    }
    x.last_ms = now;
    // CLIENT PAUSE stops every change to the data set, expiry's too (a key
    // that expires meanwhile is hidden from reads, not deleted).
    if !STORE.may_expire() || cmd::paused(&server().lock(), now) {
        return;
    }
    if let Some(store) = STORE.lock().as_mut() {
        match store.expire_step(EXPIRE_BUDGET) {
            Ok(_) => {
                if x.failing {
                    log::info!("kv: the active expiry works again");
                }
                x.failing = false;
            }
            Err(e) => {
                if !x.failing {
                    log::warn!(
                        "kv: active expiry: {e}; retrying every {} s",
                        EXPIRE_RETRY_MS / 1000
                    );
                }
                x.failing = true;
            }
        }
    }
}

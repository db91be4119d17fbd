//! Sessions: the front ends people and programs use. Each turns its input
//! into commands for the `cmd` crate and renders the replies its own way;
//! the store's group commit spans them all.
//!
//! The loop below is the kernel's main loop: it lets every session take
//! the input that has arrived, then makes the writes they gathered durable
//! with one WAL flush and lets the sessions send the replies that waited
//! for it, then sleeps (`wfi`) until the next interrupt.

mod console;
mod network;

use crate::services::kv::{self, STORE};
use crate::services::net;
use cmd::{Appendfsync, Config, Server, ServerCell};
use hal::arch::cpu;
use hal::drivers::{pl011, pl031};

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

/// Runs the sessions for good.
pub fn run() -> ! {
    let mut console = console::Console::new(server());
    let mut network = network::Network::new(server());
    let mut last_sync_ms = pl031::wall_ms();
    let mut expiry = Expiry {
        last_ms: last_sync_ms,
        failing: false,
    };
    loop {
        // Frames in, then every session takes what arrived.
        console.poll();
        network.poll();
        // No more input waiting: what was gathered shares one flush.
        settle(&mut last_sync_ms);
        console.release();
        network.flush();
        kv::tick();
        expire_step(&mut expiry);
        idle_compaction();
        // Makes the time of day exact in the first seconds (the 100 Hz
        // tick wakes the loop for it); one atomic load afterwards.
        pl031::sync_step();
        cpu::wait_for_interrupt_if(|| pl011::RX.is_empty() && !net::pending());
    }
}

/// Makes the writes gathered this round durable as `appendfsync` says:
/// `always`, one WAL flush now, before their replies go; `everysec`, a
/// flush once a second (their replies did not wait); `no`, none here: the
/// store's write-out deadline puts them on the disk.
fn settle(last_sync_ms: &mut u64) {
    let policy = server().lock().config.appendfsync;
    let now = pl031::wall_ms();
    match policy {
        Appendfsync::Always => commit(),
        Appendfsync::Everysec if now.saturating_sub(*last_sync_ms) >= 1000 => {
            commit();
            *last_sync_ms = now;
        }
        Appendfsync::Everysec | Appendfsync::No => note_unsynced(),
    }
}

/// Deferred writes that no commit covers yet start the store's write-out
/// clock, so they reach the disk within its bound.
fn note_unsynced() {
    if let Some(store) = STORE.lock().as_mut() {
        store.note_unsynced();
    }
}

/// Makes every deferred write durable (one WAL flush), so the replies
/// waiting for it can go. A failure is each waiting reply's error.
fn commit() {
    if let Some(store) = STORE.lock().as_mut() {
        if let Err(e) = store.commit() {
            log::error!("kv: group commit failed: {e}");
        }
    }
}

/// The compaction reads asked for (a table lookups looked past too often),
/// between rounds of the loop: replies gathered so far are out. A failure
/// is logged; the store retries when reads ask again.
fn idle_compaction() {
    if let Some(store) = STORE.lock().as_mut() {
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

/// When the active expiry steps next, and whether its last step failed.
struct Expiry {
    last_ms: u64,
    failing: bool,
}

/// One step of the store's active expiry: the expired keys nobody reads
/// go, a few at a time, at most ten times a second (the loop wakes on every
/// packet), and not at all while the store has no key with an expiry. A
/// failure is logged once (not ten times a second, in the middle of the
/// console's replies), and the expiry then retries every ten seconds.
fn expire_step(x: &mut Expiry) {
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

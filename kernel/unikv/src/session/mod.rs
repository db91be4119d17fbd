//! Sessions: the front ends people and programs use. Each turns its input
//! into commands for the `cmd` crate and renders the replies its own way;
//! the store's group commit spans them all.
//!
//! The loop below is the kernel's main loop: it lets every session take
//! the input that has arrived, then makes the writes they gathered durable
//! with one WAL flush and lets the sessions send the replies that waited
//! for it, then sleeps (`wfi`) until the next interrupt.

mod console;

use crate::services::kv::{self, STORE};
use cmd::{Config, Server, ServerCell};
use hal::arch::cpu;
use hal::drivers::{pl011, pl031};

/// What every session shares: configuration, the client list, statistics.
static SERVER: spin::Once<ServerCell> = spin::Once::new();

fn server() -> &'static ServerCell {
    SERVER.call_once(|| ServerCell::new(Server::new(Config::default(), pl031::wall_ms())))
}

/// Runs the sessions for good.
pub fn run() -> ! {
    let mut console = console::Console::new(server());
    loop {
        console.poll();
        // No more input waiting: what was gathered shares one flush.
        commit();
        console.release();
        kv::tick();
        expire_step();
        cpu::wait_for_interrupt_if(|| pl011::RX.is_empty());
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

/// Keys each pass of the loop checks for expiry (Redis samples 20 keys
/// ten times a second; the loop runs at least on every 100 Hz tick).
const EXPIRE_BUDGET: usize = 16;

/// One step of the store's active expiry: the expired keys nobody reads
/// go, a few at a time.
fn expire_step() {
    if let Some(store) = STORE.lock().as_mut() {
        if let Err(e) = store.expire_step(EXPIRE_BUDGET) {
            log::warn!("kv: active expiry: {e}");
        }
    }
}

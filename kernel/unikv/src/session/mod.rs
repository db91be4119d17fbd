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
use crate::services::net;
use hal::arch::cpu;
use hal::drivers::pl011;

/// Runs the sessions for good.
pub fn run() -> ! {
    let mut console = console::Console::new();
    loop {
        net::poll();
        console.poll();
        // No more input waiting: what was gathered shares one flush.
        commit();
        console.release();
        net::poll();
        kv::tick();
        cpu::wait_for_interrupt_if(|| pl011::RX.is_empty() && !net::pending());
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

//! `kcore`: the unikv kernel's portable logic.
//!
//! The kernel crate owns everything that touches registers, exception levels
//! and QEMU; what it decides with that hardware lives here, in plain
//! `no_std` + `alloc` Rust that also builds for the host, so that
//! `cargo test -p kcore` checks it in seconds instead of through a booted
//! image and a serial console.
//!
//! ```text
//!   kernel (unikv): boot, MMU, GICv3, timer, PL011, virtio, heap, console
//!        |                 |                 |                  |
//!        v                 v                 v                  v
//!   dt::Board         ring::SpscRing    logring::LogRing    registry::Registry
//!   (what the         (UART bytes from  (the log, for LOG   (services: order,
//!    machine is)       IRQ to main)      and for gdb)        start, stop)
//! ```
//!
//! - [`dt`] reads the flattened device tree into a [`dt::Board`] without
//!   trusting a single offset in it.
//! - [`ring`] is the lock-free byte queue between an interrupt handler and
//!   the main loop.
//! - [`logring`] keeps the last lines of the kernel log in a layout a
//!   debugger script can read.
//! - [`registry`] starts and stops the kernel's services in dependency
//!   order, shaped after Linux modules.
#![no_std]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod dt;
pub mod logring;
pub mod registry;
pub mod ring;

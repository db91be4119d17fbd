//! # hal: unikv's lower layer
//!
//! Everything that touches the machine, and nothing above it: the kernel's
//! services, commands and sessions (the `unikv` crate) use this crate, and
//! this crate cannot name them, so the compiler keeps the layers apart.
//!
//! ```text
//!   drivers: pl011 (UART), pci (ECAM bus, BARs, INTx), virtio (shared Hal,
//!            devices on both buses), virtio_mmio (discovery), virtio_blk,
//!            virtio_net
//!   console_out (the one way to the serial port)   logger ─► log ring
//!   heap (talc)   memory (image layout)   profile (sampling on the tick)
//!   sync: IrqLock, BootCell                panic: message + backtrace
//!   cpus: per-CPU records (index, online, role, idle time, interrupts)
//!   arch/aarch64: exception, gicv3, timer, mmu, psci, smp (the other
//!                 CPUs), semihosting, backtrace, cpu;
//!                 boot/entry.s and boot/vectors.s
//! ```
//!
//! Drivers offer their own small APIs (sector reads and writes, bytes in
//! and out); adapting them to what a portable library wants (the store's
//! `BlockDevice`) is the job of the service that uses them.
//!
//! The crate only means something on `aarch64-unknown-none`; on the host it
//! is empty, so that `cargo clippy --workspace` and `cargo test` pass over it.

#![cfg(target_os = "none")]
#![no_std]

extern crate alloc;

pub mod arch;
pub mod console_out;
pub mod cpus;
pub mod drivers;
pub mod heap;
pub mod logger;
pub mod memory;
pub mod mmio;
pub mod profile;
pub mod sync;

mod panic;

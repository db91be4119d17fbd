//! # unikv: the kernel
//!
//! A key-value appliance that QEMU's `virt` machine boots directly: no Linux,
//! no user space, one address space, one core doing the work. This crate is
//! the part that knows about hardware; everything portable lives in the
//! libraries beside it (`kcore`, `console`, and the store's and cache's
//! crates), which are tested on the host.
//!
//! ```text
//!   shell (console service) ── console crate: line editor, parser, replies
//!   services: registry (service! = module_init), console, virtio-mmio, ...
//!   ───────────────────────────────────────────────────────────────────────
//!   drivers: pl011 (UART), virtio_mmio      logger ─► log ring (LOG, gdb)
//!   heap (talc)                             memory (image layout)
//!   arch/aarch64: exception, gicv3, timer, mmu, psci, semihosting, backtrace
//!   ───────────────────────────────────────────────────────────────────────
//!   boot/entry.s (EL2→EL1, FP on, stacks, .bss, vectors) + linker.ld
//! ```
//!
//! Boot order is `kernel_main` below, top to bottom.

#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
extern crate alloc;

#[cfg(target_os = "none")]
mod bench;
#[cfg(target_os = "none")]
mod board;
#[cfg(target_os = "none")]
mod boot;
#[cfg(target_os = "none")]
mod gdb_scripts;
#[cfg(target_os = "none")]
mod kvcmd;
#[cfg(target_os = "none")]
mod registry;
#[cfg(target_os = "none")]
mod services;
#[cfg(target_os = "none")]
mod shell;
#[cfg(target_os = "none")]
mod ycsb;

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "unikv is a kernel: build it with `cargo build --release -p unikv --target aarch64-unknown-none` \
         and boot it with tools/run"
    );
    std::process::exit(2);
}

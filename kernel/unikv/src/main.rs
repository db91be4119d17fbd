//! # unikv: the kernel
//!
//! A key-value appliance that QEMU's `virt` machine boots directly: no Linux,
//! no user space, one address space, every core its own. This crate
//! wires the portable libraries to the machine; everything it can leave to
//! them, it does (they are tested on the host):
//!
//! ```text
//!   boot        kernel_main: the boot sequence; imports everything, imported by nothing
//!   session/    front ends: the serial console (line editor ─► cmd ─► replies)
//!   host        the kernel as the commands see it (cmd::Host): INFO, services, power, debug
//!   services/   registry-managed services: kv (the store on virtio-blk), cache, virtio-mmio, console
//!   registry    service! = module_init; start in dependency order, stop dependents first
//!   board       what boot learned: the device tree's board, version, CPU, boot time
//!   cores       the other CPUs: started at boot, each runs its role's work
//!   ───────────────────────────────────────────────────────────────────────────────────
//!   portable:   cmd (every command's handler) ─► kv (store service) ─► lsm, cache
//!               workload (BENCH), console (line editor, parser, replies), kcore
//!   hal:        arch/aarch64, drivers (pl011, virtio), heap, logger, memory, sync, panic
//!   boot/entry.s (EL2→EL1, FP on, stacks, .bss, vectors) + linker.ld
//! ```
//!
//! Boot order is `boot::kernel_main`, top to bottom; then `session::run` is
//! the main loop.

#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
extern crate alloc;

#[cfg(target_os = "none")]
mod board;
#[cfg(target_os = "none")]
mod boot;
#[cfg(target_os = "none")]
mod cores;
#[cfg(target_os = "none")]
mod gdb_scripts;
#[cfg(target_os = "none")]
mod host;
#[cfg(target_os = "none")]
mod registry;
#[cfg(target_os = "none")]
mod services;
#[cfg(target_os = "none")]
mod session;

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "unikv is a kernel: build it with `cargo build --release -p unikv --target aarch64-unknown-none` \
         and boot it with tools/run"
    );
    std::process::exit(2);
}

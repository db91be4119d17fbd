//! Debugging: tools/gdb/run in batch mode stops at kernel_main, shows a
//! backtrace, and the unikv gdb helpers print the log ring and services.

use std::process::Command;
use systest::{kernel, workspace_root};

#[test]
fn gdb_breaks_at_kernel_main_and_helpers_print_state() {
    let root = workspace_root();
    let out = Command::new(root.join("tools/gdb/run"))
        .args(["--no-disk", "-batch"])
        .args(["-ex", "break kernel_main", "-ex", "continue", "-ex", "bt"])
        .args(["-ex", "break unikv::shell::run", "-ex", "continue"])
        .args(["-ex", "unikv-dmesg", "-ex", "unikv-services"])
        .args([
            "-ex",
            "break unikv::arch::aarch64::timer::on_tick",
            "-ex",
            "continue",
            "-ex",
            "unikv-irqs",
        ])
        .env("UNIKV_GDB_PORT", "12345")
        .env("UNIKV_KERNEL", kernel())
        .current_dir(&root)
        .output()
        .expect("run tools/gdb/run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("hit Breakpoint 1") && text.contains("kernel_main"),
        "{text}"
    );
    assert!(
        text.contains("#1  unikv::boot::kernel_main")
            || text.contains("#0  unikv::boot::kernel_main"),
        "{text}"
    );
    assert!(
        text.contains("in _start"),
        "the backtrace reaches the entry code: {text}"
    );
    assert!(
        text.contains("hit Breakpoint 2") && text.contains("unikv::shell::run"),
        "{text}"
    );
    assert!(
        text.contains("INFO  unikv::boot: boot complete"),
        "unikv-dmesg: {text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("console") && l.contains("running")),
        "unikv-services: {text}"
    );
    assert!(text.contains("INTID  30:"), "unikv-irqs: {text}");
}

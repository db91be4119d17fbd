//! The failure paths: a panic and a fault print what happened with a
//! backtrace and end QEMU with a non-zero status (semihosting), so that
//! tests and CI can tell them from a clean exit.

use std::time::Duration;
use systest::{Options, Qemu};

fn crash(command: &str) -> (i32, String) {
    let mut q = Qemu::boot(&Options::default());
    q.send(command.as_bytes());
    q.send(b"\r");
    let status = q.wait_exit(Duration::from_secs(30));
    (status.code().unwrap_or(-1), q.transcript())
}

fn frames(t: &str) -> usize {
    t.lines()
        .filter(|l| l.trim_start().starts_with('#') && l.contains("0x"))
        .count()
}

#[test]
fn panic_prints_message_and_backtrace_and_fails() {
    let (code, t) = crash("DEBUG PANIC \"on purpose\"");
    assert_eq!(code, 101, "{t}");
    assert!(t.contains("*** unikv kernel panic ***"), "{t}");
    assert!(
        t.contains("DEBUG PANIC from the console: on purpose"),
        "{t}"
    );
    assert!(t.contains("at kernel/unikv/src/host.rs:"), "{t}");
    assert!(frames(&t) >= 3, "{t}");
}

#[test]
fn data_abort_is_decoded() {
    let (code, t) = crash("DEBUG FAULT");
    assert_eq!(code, 3, "{t}");
    assert!(t.contains("unhandled synchronous exception"), "{t}");
    assert!(
        t.contains("EC 0x25: data abort, translation fault at level 1, on a read"),
        "{t}"
    );
    assert!(t.contains("FAR_EL1  0x0000007f00000000"), "{t}");
    assert!(t.contains("x29 0x") && t.contains("backtrace:"), "{t}");
    assert!(frames(&t) >= 2, "{t}");
}

#[test]
fn stack_overflow_hits_the_guard_page() {
    let (code, t) = crash("DEBUG OVERFLOW");
    assert_eq!(code, 3, "{t}");
    assert!(
        t.contains("*** kernel stack overflow on CPU 0 (fault in its guard page) ***"),
        "{t}"
    );
    assert!(
        t.contains("more times"),
        "recursion is folded in the backtrace: {t}"
    );
}

#[test]
fn without_semihosting_a_panic_halts_instead() {
    let mut q = Qemu::boot(&Options {
        semihosting: false,
        ..Options::default()
    });
    q.send(b"DEBUG PANIC\r");
    q.read_until("backtrace");
    // The kernel halts; QEMU keeps running until killed.
    std::thread::sleep(Duration::from_millis(500));
    assert!(q
        .try_read_until("unikv> ", Duration::from_millis(500))
        .is_none());
}

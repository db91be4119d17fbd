//! Debugging: tools/gdb/run in batch mode stops at kernel_main, shows a
//! backtrace, and the unikv gdb helpers print the log ring and services.

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use systest::{kernel, workspace_root};

/// Runs tools/gdb/run in batch mode with `args`, on a free port, and returns
/// what gdb printed. A breakpoint that never hits would leave gdb waiting
/// for good: after `timeout` the whole process group (the script, gdb and
/// QEMU) is killed and the test fails with what was printed so far.
fn gdb_batch(args: &[&str], timeout: Duration) -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let root = workspace_root();
    let out_path = root.join(format!("target/systest/gdb-{port}.out"));
    std::fs::create_dir_all(root.join("target/systest")).expect("target/systest");
    let out_file = std::fs::File::create(&out_path).expect("gdb output file");
    let mut child = Command::new(root.join("tools/gdb/run"))
        .args(["--no-disk", "-batch"])
        .args(args)
        .env("UNIKV_GDB_PORT", port.to_string())
        .env("UNIKV_KERNEL", kernel())
        .current_dir(&root)
        .stdin(Stdio::null())
        .stdout(out_file)
        .process_group(0)
        .spawn()
        .expect("run tools/gdb/run");
    let deadline = Instant::now() + timeout;
    let finished = loop {
        if child.try_wait().expect("wait for gdb").is_some() {
            break true;
        }
        if Instant::now() >= deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    if !finished {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", child.id())])
            .status();
        let _ = child.wait();
    }
    let text = std::fs::read_to_string(&out_path).unwrap_or_default();
    let _ = std::fs::remove_file(&out_path);
    assert!(finished, "gdb did not finish within {timeout:?}:\n{text}");
    text
}

#[test]
fn gdb_breaks_at_kernel_main_and_helpers_print_state() {
    let text = gdb_batch(
        &[
            "-ex",
            "break kernel_main",
            "-ex",
            "continue",
            "-ex",
            "bt",
            "-ex",
            "break unikv::session::run",
            "-ex",
            "continue",
            "-ex",
            "unikv-dmesg",
            "-ex",
            "unikv-services",
            "-ex",
            "break hal::arch::aarch64::timer::on_tick",
            "-ex",
            "continue",
            "-ex",
            "unikv-irqs",
        ],
        Duration::from_secs(120),
    );
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
        text.contains("hit Breakpoint 2") && text.contains("unikv::session::run"),
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

//! Host-side harness for unikv's system tests: finds (or builds) the kernel
//! image, boots it under QEMU with the seed's machine line and drives its
//! serial console the way a person or a script would: through QEMU's stdio.
//!
//! Every wait has a deadline, so a hung kernel fails a test instead of
//! hanging the suite; QEMU is killed when a `Qemu` is dropped.

pub mod net;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const PROMPT: &str = "unikv> ";
/// Generous: QEMU under TCG on a loaded 2-core machine can stall seconds.
pub const TIMEOUT: Duration = Duration::from_secs(60);

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// The kernel ELF: `UNIKV_KERNEL` if set, else the release build, which is
/// built once per test process if it is missing (tools/test builds it first).
pub fn kernel() -> PathBuf {
    static KERNEL: OnceLock<PathBuf> = OnceLock::new();
    KERNEL
        .get_or_init(|| {
            if let Ok(p) = std::env::var("UNIKV_KERNEL") {
                return PathBuf::from(p);
            }
            let root = workspace_root();
            let target = std::env::var("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|_| root.join("target"));
            let elf = target.join("aarch64-unknown-none/release/unikv");
            if !elf.exists() {
                let status =
                    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                        .args([
                            "build",
                            "--release",
                            "-p",
                            "unikv",
                            "--target",
                            "aarch64-unknown-none",
                        ])
                        .current_dir(&root)
                        .status()
                        .expect("run cargo build for the kernel");
                assert!(status.success(), "building the kernel failed");
            }
            elf
        })
        .clone()
}

/// Which bus the disk sits on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiskBus {
    /// `-device virtio-blk-device` (virtio-mmio), as tools/run does.
    Mmio,
    /// `-drive if=virtio`: virtio-blk-pci.
    Pci,
}

/// The guest's network card.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Nic {
    /// What QEMU adds by itself (virtio-net-pci on user networking, no
    /// forwarding): the seed's line.
    QemuDefault,
    /// `-nic none`.
    None,
    /// A NIC on user networking with `restrict=on`, and 127.0.0.1:`host_port`
    /// forwarded to the guest's `guest_port`. `pci` picks virtio-net-pci over
    /// virtio-net-device. QEMU runs with the listen-backlog shim (see
    /// [`backlog_shim`]) so that bursts of connections are not held back.
    User {
        pci: bool,
        host_port: u16,
        guest_port: u16,
    },
    /// A tap device `tap0` that `wrapper` creates (see [`Options::wrapper`]).
    Tap { pci: bool },
}

/// How to start QEMU.
#[derive(Clone, Debug)]
pub struct Options {
    pub mem_mib: u32,
    /// `-smp`: the seed's line has 4.
    pub smp: u32,
    pub disk: Option<PathBuf>,
    pub disk_bus: DiskBus,
    pub nic: Nic,
    /// Adds `-semihosting` so that a panic's exit status reaches the host.
    pub semihosting: bool,
    pub append: Option<String>,
    pub extra: Vec<String>,
    /// A command QEMU runs under (its program and arguments come last), e.g.
    /// `unshare --net sh -c 'set-up; exec "$0" "$@"'`.
    pub wrapper: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            mem_mib: 1024,
            smp: 4,
            disk: None,
            disk_bus: DiskBus::Mmio,
            nic: Nic::QemuDefault,
            semihosting: true,
            append: None,
            extra: Vec::new(),
            wrapper: Vec::new(),
        }
    }
}

impl Options {
    /// The seed's exact machine line (memory size aside).
    pub fn qemu_args(&self, kernel: &Path) -> Vec<String> {
        let mut a: Vec<String> = [
            "-m",
            &self.mem_mib.to_string(),
            "-cpu",
            "cortex-a57",
            "-smp",
            &self.smp.to_string(),
            "-M",
            "virt,gic-version=3,its=on,iommu=smmuv3",
            "-nographic",
            "-kernel",
            kernel.to_str().expect("utf-8 path"),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if let Some(disk) = &self.disk {
            a.push("-drive".into());
            match self.disk_bus {
                DiskBus::Mmio => {
                    a.push(format!("if=none,file={},format=raw,id=hd0", disk.display()));
                    a.push("-device".into());
                    a.push("virtio-blk-device,drive=hd0".into());
                }
                DiskBus::Pci => a.push(format!("file={},if=virtio,format=raw", disk.display())),
            }
        }
        let model = |pci: bool| {
            if pci {
                "virtio-net-pci"
            } else {
                "virtio-net-device"
            }
        };
        match &self.nic {
            Nic::QemuDefault => {}
            Nic::None => a.extend(["-nic".into(), "none".into()]),
            Nic::User {
                pci,
                host_port,
                guest_port,
            } => {
                a.push("-netdev".into());
                a.push(format!(
                    "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:{host_port}-:{guest_port}"
                ));
                a.push("-device".into());
                a.push(format!("{},netdev=n0", model(*pci)));
            }
            Nic::Tap { pci } => {
                a.push("-netdev".into());
                a.push("tap,id=n0,ifname=tap0,script=no,downscript=no".into());
                a.push("-device".into());
                a.push(format!("{},netdev=n0", model(*pci)));
            }
        }
        if self.semihosting {
            a.push("-semihosting".into());
        }
        if let Some(append) = &self.append {
            a.push("-append".into());
            a.push(append.clone());
        }
        a.extend(self.extra.iter().cloned());
        a
    }
}

/// A running QEMU with the kernel's console on its stdio.
pub struct Qemu {
    child: Child,
    stdin: Option<ChildStdin>,
    rx: Receiver<Vec<u8>>,
    /// Everything the console printed so far.
    pub output: Vec<u8>,
    /// Where the next `read_until` starts looking.
    cursor: usize,
    pub started: Instant,
}

impl Qemu {
    pub fn start(opts: &Options) -> Qemu {
        let kernel = kernel();
        let mut command = match opts.wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg("qemu-system-aarch64");
                c
            }
            None => Command::new("qemu-system-aarch64"),
        };
        if matches!(opts.nic, Nic::User { .. }) {
            command.env("LD_PRELOAD", backlog_shim());
        }
        let mut child = command
            .args(opts.qemu_args(&kernel))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start qemu-system-aarch64 (tools/setup installs it)");
        let started = Instant::now();
        let mut stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                match stdout.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if tx.send(buf[..n].to_vec()).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        let stdin = child.stdin.take();
        Qemu {
            child,
            stdin,
            rx,
            output: Vec::new(),
            cursor: 0,
            started,
        }
    }

    /// Boots with `opts` and waits for the first prompt.
    pub fn boot(opts: &Options) -> Qemu {
        let mut q = Qemu::start(opts);
        q.read_until(PROMPT);
        q
    }

    fn pump(&mut self, deadline: Instant) -> bool {
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        match self.rx.recv_timeout(deadline - now) {
            Ok(bytes) => {
                self.output.extend_from_slice(&bytes);
                true
            }
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => {
                // QEMU is gone; nothing more will come. Fail now, not at
                // the deadline.
                let status = self.child.wait().expect("wait for qemu");
                panic!(
                    "QEMU exited ({status}) while a test waited for output; transcript:\n{}",
                    String::from_utf8_lossy(&self.output)
                );
            }
        }
    }

    /// Reads until `pattern` appears after the cursor; returns what came
    /// before it (and moves the cursor past it). Panics with the whole
    /// transcript on timeout, which is what a failing test should show.
    pub fn read_until(&mut self, pattern: &str) -> String {
        self.try_read_until(pattern, TIMEOUT).unwrap_or_else(|| {
            panic!(
                "timed out waiting for {pattern:?}; console transcript:\n{}",
                String::from_utf8_lossy(&self.output)
            )
        })
    }

    pub fn try_read_until(&mut self, pattern: &str, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        // Only new bytes are searched (with a pattern's length of overlap),
        // or a multi-megabyte reply would be rescanned for every chunk.
        let mut from = self.cursor;
        loop {
            if let Some(pos) = find(&self.output[from..], pattern.as_bytes()) {
                let start = self.cursor;
                let end = from + pos;
                self.cursor = end + pattern.len();
                return Some(String::from_utf8_lossy(&self.output[start..end]).into_owned());
            }
            from = self
                .output
                .len()
                .saturating_sub(pattern.len())
                .max(self.cursor);
            if !self.pump(deadline) && Instant::now() >= deadline {
                return None;
            }
        }
    }

    /// Sends raw bytes to the console. Under `-nographic`, Ctrl-A is QEMU's
    /// escape key, so a literal 0x01 is sent as Ctrl-A Ctrl-A.
    pub fn send(&mut self, bytes: &[u8]) {
        let mut escaped = Vec::with_capacity(bytes.len());
        for &b in bytes {
            escaped.push(b);
            if b == 0x01 {
                escaped.push(0x01);
            }
        }
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(&escaped).expect("write to qemu");
        stdin.flush().expect("flush to qemu");
    }

    /// Types `line` + CR and returns the reply: the text between the echoed
    /// line and the next prompt, with "\r\n" turned into "\n".
    pub fn cmd(&mut self, line: &str) -> String {
        self.cmd_within(line, TIMEOUT)
    }

    /// `cmd` for replies that take long to print (QEMU's PL011 writes the
    /// host side a byte per system call: about 100 KB/s).
    pub fn cmd_within(&mut self, line: &str, timeout: Duration) -> String {
        self.send(line.as_bytes());
        self.send(b"\r");
        let raw = self.try_read_until(PROMPT, timeout).unwrap_or_else(|| {
            panic!(
                "no prompt after {line:?} within {timeout:?}; transcript tail:\n{}",
                {
                    let t = String::from_utf8_lossy(&self.output);
                    t[t.len().saturating_sub(2000)..].to_string()
                }
            )
        });
        strip_echo(&raw, line)
    }

    /// Waits for QEMU to exit (after SHUTDOWN, a panic...).
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            while let Ok(bytes) = self.rx.try_recv() {
                self.output.extend_from_slice(&bytes);
            }
            if let Some(status) = self.child.try_wait().expect("wait for qemu") {
                // Collect what it printed last.
                while let Ok(bytes) = self.rx.recv_timeout(Duration::from_millis(200)) {
                    self.output.extend_from_slice(&bytes);
                }
                return status;
            }
            if Instant::now() >= deadline {
                panic!(
                    "QEMU did not exit within {timeout:?}; transcript:\n{}",
                    String::from_utf8_lossy(&self.output)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Types SHUTDOWN and checks that QEMU exits 0 (powered off cleanly).
    pub fn shutdown(mut self) {
        self.send(b"SHUTDOWN\r");
        assert_eq!(
            self.wait_exit(Duration::from_secs(30)).code(),
            Some(0),
            "{}",
            self.transcript()
        );
    }

    /// Waits until the console has been quiet for `quiet`, then skips
    /// everything printed so far: after input whose replies do not matter.
    pub fn settle(&mut self, quiet: Duration) {
        loop {
            if !self.pump(Instant::now() + quiet) {
                break;
            }
        }
        self.cursor = self.output.len();
    }

    pub fn transcript(&self) -> String {
        String::from_utf8_lossy(&self.output).into_owned()
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        self.kill();
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The reply part of what came back for a line: the echo of the line ends
/// with the first "\r\n" (the editor echoes the line end as "\r\n"). A
/// kernel log line printed between the prompt and the echo (warnings go to
/// the console, from whichever core logs them) is not part of it; one
/// between the echo and the reply is (LOG's reply is log lines), and a
/// test that may meet one drops it with [`without_log_lines`]. Nor is one
/// printed in the middle of the echo, after the line's text and before its
/// end: the echo's own "\r\n" then follows the log line's.
pub fn strip_echo(raw: &str, line: &str) -> String {
    let raw = mend_echo(skip_log_lines(raw), line);
    let raw = raw.as_str();
    let (echo, mut body) = raw.split_once("\r\n").unwrap_or((raw, raw));
    if echo.strip_prefix(line).is_some_and(is_log_line) {
        body = body.strip_prefix("\r\n").unwrap_or(body);
    }
    body.replace("\r\n", "\n")
}

/// `raw` with a log line that cut into the echo of `line` taken out
/// (`V[    2.0] WARN ...\r\nERIFY\r\n`: another core's warning printed
/// between two echoed bytes).
fn mend_echo(raw: &str, line: &str) -> String {
    let mut raw = raw.to_string();
    loop {
        let n = raw
            .bytes()
            .zip(line.bytes())
            .take_while(|(a, b)| a == b)
            .count();
        // `get`: the echo may differ from `line` inside a multi-byte
        // character, where slicing would panic.
        let rest = raw.get(n..).filter(|_| n > 0 && n < line.len());
        match rest.and_then(|r| r.find("\r\n").filter(|_| is_log_line(r))) {
            Some(end) => raw.replace_range(n..n + end + 2, ""),
            None => return raw,
        }
    }
}

/// A reply without the kernel log lines a warning on another core put in
/// it (for replies that have none of their own).
pub fn without_log_lines(reply: &str) -> String {
    reply
        .lines()
        .filter(|l| !is_log_line(l))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// `text` after the kernel log lines it starts with.
fn skip_log_lines(mut text: &str) -> &str {
    while is_log_line(text) {
        text = text.find("\r\n").map_or("", |i| &text[i + 2..]);
    }
    text
}

/// Whether `text` starts with a kernel log line: `[    1.234567] WARN  ...`.
fn is_log_line(text: &str) -> bool {
    let Some(rest) = text.strip_prefix('[') else {
        return false;
    };
    let Some((stamp, after)) = rest.split_once("] ") else {
        return false;
    };
    let stamp = stamp.trim_start();
    let level = after.split_whitespace().next().unwrap_or("");
    stamp.contains('.')
        && stamp.chars().all(|c| c.is_ascii_digit() || c == '.')
        && matches!(level, "ERROR" | "WARN" | "INFO" | "DEBUG" | "TRACE")
}

/// `field:value` of a report.
pub fn field<'a>(report: &'a str, name: &str) -> Option<&'a str> {
    report
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
}

/// The disk's interrupt as the boot log names it ("disk requests wait
/// asleep for INTID N") and how many times `INFO cpu` says it came, so a
/// test can check that requests were waited for asleep, not polled.
pub fn disk_interrupts(q: &mut Qemu) -> (u32, u64) {
    let t = q.transcript();
    let intid: u32 = t
        .split("disk requests wait asleep for INTID ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no disk interrupt in the boot log:\n{t}"));
    let cpu = q.cmd("INFO cpu");
    let prefix = format!("irq_{intid}_");
    let count = cpu
        .lines()
        .find_map(|l| l.strip_prefix(&prefix)?.split_once(':')?.1.parse().ok())
        .unwrap_or(0);
    (intid, count)
}

/// A TCP port on 127.0.0.1 that nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// `tools/shim/listen-backlog.c` built (once per test process) into the
/// target directory: preloaded into QEMU, it raises the backlog of the
/// user network's hostfwd socket from 1, which otherwise makes the host's
/// kernel drop the SYNs of a connection burst (clients then wait for SYN
/// retransmissions, a second and more each).
pub fn backlog_shim() -> PathBuf {
    static SHIM: OnceLock<PathBuf> = OnceLock::new();
    SHIM.get_or_init(|| {
        let root = workspace_root();
        let dir = root.join("target/systest");
        std::fs::create_dir_all(&dir).expect("create target/systest");
        let out = dir.join("listen-backlog.so");
        // Built under a name of its own, then renamed over: test processes
        // running side by side never load a half-written file.
        let tmp = dir.join(format!("listen-backlog.so.{}", std::process::id()));
        let status = Command::new("gcc")
            .args(["-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-o"])
            .arg(&tmp)
            .arg(root.join("tools/shim/listen-backlog.c"))
            .arg("-ldl")
            .status()
            .expect("run gcc (tools/setup installs it)");
        assert!(status.success(), "building the listen-backlog shim failed");
        std::fs::rename(&tmp, &out).expect("move the shim into place");
        out
    })
    .clone()
}

/// A scratch file under the target directory, removed when dropped.
pub struct TempFile(pub PathBuf);

impl TempFile {
    pub fn new(name: &str, bytes: u64) -> TempFile {
        let dir = workspace_root().join("target/systest");
        std::fs::create_dir_all(&dir).expect("create target/systest");
        // QEMU locks its disk image: every test gets its own file.
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = dir.join(format!("{}-{n}-{name}", std::process::id()));
        let f = std::fs::File::create(&path).expect("create disk image");
        f.set_len(bytes).expect("size disk image");
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests;

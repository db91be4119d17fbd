//! Debugging: tools/gdb/run in batch mode stops at kernel_main, shows a
//! backtrace, and the unikv gdb helpers print the log ring, the services,
//! the interrupts, and the store and its read cache exactly as the
//! console's INFO reports them in the same state.

use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};
use systest::{field, kernel, strip_echo, workspace_root, TempFile, PROMPT};

/// tools/gdb/run in batch mode on a free port, with its console's socket in
/// a directory of its own (so that runs do not meet), gdb's output in a file.
struct GdbRun {
    /// One run at a time: each starts with tools/setup, which may call apt.
    _one_at_a_time: MutexGuard<'static, ()>,
    child: Child,
    out_path: PathBuf,
    state: PathBuf,
    deadline: Instant,
    timeout: Duration,
}

impl GdbRun {
    /// Starts `tools/gdb/run RUN_ARGS -batch GDB_ARGS`. A breakpoint that
    /// never hits would leave gdb waiting for good: [`GdbRun::finish`] kills
    /// the whole process group (the script, gdb and QEMU) after `timeout`.
    fn start(run_args: &[&str], gdb_args: &[&str], timeout: Duration) -> GdbRun {
        static RUNS: Mutex<()> = Mutex::new(());
        let one_at_a_time = RUNS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let root = workspace_root();
        let state = root.join(format!("target/systest/gdb-{port}"));
        let _ = std::fs::remove_dir_all(&state);
        std::fs::create_dir_all(&state).expect("gdb state directory");
        let out_path = state.join("gdb.out");
        let out_file = std::fs::File::create(&out_path).expect("gdb output file");
        let child = Command::new(root.join("tools/gdb/run"))
            .args(run_args)
            .arg("-batch")
            .args(gdb_args)
            .env("UNIKV_GDB_PORT", port.to_string())
            .env("UNIKV_GDB_STATE", &state)
            .env("UNIKV_KERNEL", kernel())
            .current_dir(&root)
            .stdin(Stdio::null())
            .stdout(out_file)
            .process_group(0)
            .spawn()
            .expect("run tools/gdb/run");
        GdbRun {
            _one_at_a_time: one_at_a_time,
            child,
            out_path,
            state,
            deadline: Instant::now() + timeout,
            timeout,
        }
    }

    /// What gdb printed so far.
    fn output(&self) -> String {
        std::fs::read_to_string(&self.out_path).unwrap_or_default()
    }

    /// Waits for gdb to end (or kills it at the deadline) and returns what
    /// it printed.
    fn finish(mut self) -> String {
        let finished = loop {
            if self.child.try_wait().expect("wait for gdb").is_some() {
                break true;
            }
            if Instant::now() >= self.deadline {
                break false;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let text = self.output();
        assert!(
            finished,
            "gdb did not finish within {:?}:\n{text}",
            self.timeout
        );
        text
    }
}

impl Drop for GdbRun {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.child.id())])
                .status();
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.state);
    }
}

/// Runs tools/gdb/run --no-disk in batch mode with `args` and returns what
/// gdb printed.
fn gdb_batch(args: &[&str], timeout: Duration) -> String {
    GdbRun::start(&["--no-disk"], args, timeout).finish()
}

/// gdb's first command for a run whose console the test drives: it waits
/// until [`Console::attach`] has connected.
const GATE: &str = "shell until [ -e \"$UNIKV_GDB_STATE/attached\" ]; do sleep 0.05; done";

/// The kernel's console on the run's unix socket.
struct Console {
    sock: UnixStream,
    buf: Vec<u8>,
    deadline: Instant,
}

impl Console {
    /// Connects to the console's socket (QEMU makes it when it starts, the
    /// CPU halted), then lets gdb go on (see [`GATE`]): nothing the kernel
    /// prints is lost before the test listens.
    fn attach(run: &GdbRun) -> Console {
        let path = run.state.join("console.sock");
        let sock = loop {
            match UnixStream::connect(&path) {
                Ok(s) => break s,
                Err(e) => {
                    assert!(
                        Instant::now() < run.deadline,
                        "no console at {}: {e}\n{}",
                        path.display(),
                        run.output()
                    );
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        };
        std::fs::write(run.state.join("attached"), b"").expect("let gdb go on");
        Console {
            sock,
            buf: Vec::new(),
            deadline: run.deadline,
        }
    }

    /// Reads until `pattern`; returns what came before it.
    fn read_until(&mut self, pattern: &str) -> String {
        loop {
            if let Some(at) = self
                .buf
                .windows(pattern.len())
                .position(|w| w == pattern.as_bytes())
            {
                let text = String::from_utf8_lossy(&self.buf[..at]).into_owned();
                self.buf.drain(..at + pattern.len());
                return text;
            }
            let left = self.deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "timed out waiting for {pattern:?} on the console; got:\n{}",
                String::from_utf8_lossy(&self.buf)
            );
            self.sock.set_read_timeout(Some(left)).expect("timeout");
            let mut chunk = [0u8; 4096];
            match self.sock.read(&mut chunk) {
                Ok(0) => panic!(
                    "the console closed; got:\n{}",
                    String::from_utf8_lossy(&self.buf)
                ),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) => panic!("reading the console: {e}"),
            }
        }
    }

    fn send(&mut self, line: &str) {
        self.sock
            .write_all(format!("{line}\r").as_bytes())
            .expect("write to the console");
    }

    /// Types `line` and returns its reply (as `systest::Qemu::cmd` does).
    fn cmd(&mut self, line: &str) -> String {
        self.send(line);
        strip_echo(&self.read_until(PROMPT), line)
    }
}

/// The `# name` section of a helper's output: its lines up to the next
/// section.
fn section<'a>(text: &'a str, name: &str) -> &'a str {
    let head = format!("# {name}\n");
    let start = text
        .find(&head)
        .unwrap_or_else(|| panic!("no {head:?} in:\n{text}"))
        + head.len();
    let rest = &text[start..];
    let end = rest.find("\n# ").map_or(rest.len(), |i| i + 1);
    &rest[..end]
}

/// gdb's output at each stop: what it printed after the n-th breakpoint hit
/// (index 0 is what came before the first).
fn stops(text: &str) -> Vec<&str> {
    text.split("hit Breakpoint").collect()
}

/// Asserts that every `name` has the same value in the helper's section
/// and in the console's report.
fn assert_same(names: &[&str], gdb: &str, console: &str) {
    for name in names {
        let want = field(console, name).unwrap_or_else(|| panic!("{name} missing: {console}"));
        assert_eq!(
            field(gdb, name),
            Some(want),
            "{name}: gdb says\n{gdb}\nthe console says\n{console}"
        );
    }
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
            "unikv-lsm",
            "-ex",
            "unikv-cache",
            "-ex",
            "break hal::arch::aarch64::timer::on_tick",
            "-ex",
            "continue",
            "-ex",
            "unikv-irqs",
            "-ex",
            "unikv-cpus",
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
    // Without a disk the kv service fails and the cache, which needs it, is
    // skipped: the helpers say so instead of failing.
    assert!(
        text.contains(
            "\nthe store is not running: service 'kv' is failed\n\
             the read cache is not running: service 'cache' is skipped\n"
        ),
        "unikv-lsm, unikv-cache without a disk: {text}"
    );
    assert!(text.contains("INTID  30:"), "unikv-irqs: {text}");
    // The seed's machine line has four cores, all brought up by then.
    for cpu in 0..4 {
        assert!(
            text.contains(&format!("CPU {cpu}: online  role=")),
            "unikv-cpus: {text}"
        );
    }
    // The tick may come before the sessions split CPU 0's role in two.
    assert!(
        (text.contains("CPU 0: online  role=sessions")
            || text.contains("CPU 0: online  role=console"))
            && text.contains("(gdb thread 4)"),
        "unikv-cpus: {text}"
    );
}

/// INFO storage's fields that unikv-lsm prints under the same names.
const STORAGE_FIELDS: [&str; 18] = [
    "memtable_bytes",
    "wal_bytes",
    "tables",
    "level_0_tables",
    "level_0_bytes",
    "level_1_tables",
    "level_1_bytes",
    "level_2_tables",
    "level_2_bytes",
    "level_3_tables",
    "level_3_bytes",
    "level_4_tables",
    "level_4_bytes",
    "level_5_tables",
    "level_5_bytes",
    "level_6_tables",
    "level_6_bytes",
    "last_sequence",
];

/// Every field of an INFO cache report, which unikv-cache prints too.
fn report_fields(report: &str) -> Vec<&str> {
    report
        .lines()
        .filter_map(|l| l.split_once(':').map(|(name, _)| name))
        .collect()
}

/// The rows of unikv-lsm's table list: (number, level, bytes, "smallest .. largest").
fn table_rows(lsm: &str) -> Vec<(u64, usize, u64, String)> {
    section(lsm, "Tables")
        .lines()
        .skip(1)
        .map(|l| {
            let mut w = l.split_whitespace();
            let mut num = || w.next().and_then(|s| s.parse::<u64>().ok());
            let (n, level, bytes) = (num(), num(), num());
            let range = l[l.find('"').unwrap_or(l.len())..].to_string();
            (
                n.expect("number"),
                level.expect("level") as usize,
                bytes.expect("bytes"),
                range,
            )
        })
        .collect()
}

#[test]
fn gdb_lsm_and_cache_match_info_in_the_same_state() {
    let disk = TempFile::new("gdb.img", 64 << 20);
    let disk_arg = disk.0.to_str().expect("utf-8 path").to_string();
    let flush_imm =
        "break lsm::db::maintain::Job<alloc::boxed::Box<(dyn lsm::device::BlockDevice + \
                     core::marker::Send), alloc::alloc::Global>>::flush_imm<alloc::boxed::Box<(dyn \
                     lsm::device::BlockDevice + core::marker::Send), alloc::alloc::Global>>";
    let run = GdbRun::start(
        &["--disk", &disk_arg],
        &[
            "-ex",
            GATE,
            "-ex",
            "break cmd::server::services",
            "-ex",
            "continue",
            "-ex",
            "unikv-lsm",
            "-ex",
            "unikv-cache",
            "-ex",
            "continue",
            "-ex",
            "unikv-cache",
            "-ex",
            flush_imm,
            "-ex",
            "continue",
            "-ex",
            "unikv-lsm",
        ],
        Duration::from_secs(50),
    );
    let mut con = Console::attach(&run);
    con.read_until(PROMPT);
    // Two tables on two levels (COMPACT moves the first one down), two
    // writes in the memtable and the WAL, a key that needs escapes.
    for line in [
        "SET a 1",
        "SET \"bin\\x00\\xff\" 2",
        "FLUSH",
        "COMPACT",
        "SET m 3",
        "SET n 4",
        "FLUSH",
        "SET x 5",
        "SET y 6",
    ] {
        assert_eq!(con.cmd(line), "OK\n", "{line}");
    }
    for key in ["a", "m", "a", "nothing"] {
        con.cmd(&format!("GET {key}"));
    }
    let storage = con.cmd("INFO storage");
    let lru = con.cmd("INFO cache");
    // The breakpoint: gdb prints, then lets SERVICES answer.
    con.cmd("SERVICES");
    // Index and filter blocks through the cache too, so that AC-Key's block
    // part holds both of its priorities' lists.
    assert_eq!(con.cmd("CACHE METADATA cached"), "OK\n");
    assert_eq!(con.cmd("CACHE POLICY ackey"), "OK\n");
    for key in ["a", "a", "m", "bin\\x00\\xff", "a"] {
        con.cmd(&format!("GET \"{key}\""));
    }
    let ackey = con.cmd("INFO cache");
    con.cmd("SERVICES");
    // Stops in the flush, the memtable frozen; gdb's batch ends there.
    con.send("FLUSH");
    let text = run.finish();
    let stops = stops(&text);
    assert_eq!(stops.len(), 4, "three stops: {text}");

    // At the first stop: the store as INFO storage showed it.
    let lsm = section(stops[1], "LSM");
    assert_same(&STORAGE_FIELDS, lsm, &storage);
    assert_eq!(field(lsm, "memtable_entries"), Some("2"), "{lsm}");
    assert_eq!(field(lsm, "immutable_memtable"), Some("none"), "{lsm}");
    assert_eq!(field(&storage, "immutable_memtable_bytes"), Some("0"));
    assert_eq!(field(lsm, "failed"), Some("no"), "{lsm}");
    assert_eq!(field(lsm, "read_only"), Some("no"), "{lsm}");
    assert!(!stops[1].contains("lock is held"), "{}", stops[1]);
    let rows = table_rows(stops[1]);
    assert_eq!(rows.len(), 2, "{}", stops[1]);
    for level in 0..7 {
        let (n, bytes) = rows
            .iter()
            .filter(|r| r.1 == level)
            .fold((0, 0), |(n, b), r| (n + 1, b + r.2));
        assert_eq!(
            field(&storage, &format!("level_{level}_tables")),
            Some(n.to_string().as_str())
        );
        assert_eq!(
            field(&storage, &format!("level_{level}_bytes")),
            Some(bytes.to_string().as_str())
        );
    }
    // Newest first on level 0, then the compacted table below it.
    assert_eq!(rows[0].1, 0, "{rows:?}");
    assert_eq!(rows[0].3, "\"m\" .. \"n\"", "{rows:?}");
    assert!(rows[1].1 > 0, "{rows:?}");
    assert_eq!(rows[1].3, "\"a\" .. \"bin\\x00\\xff\"", "{rows:?}");
    assert!(rows[0].0 > rows[1].0, "{rows:?}");

    // The cache as INFO cache showed it, under LRU and then AC-Key.
    let cache = section(stops[1], "Cache");
    assert_eq!(field(cache, "policy"), Some("lru"), "{cache}");
    assert_same(&report_fields(&lru), cache, &lru);
    let cache = section(stops[2], "Cache");
    assert_eq!(field(cache, "policy"), Some("ackey"), "{cache}");
    assert_same(&report_fields(&ackey), cache, &ackey);
    assert_ne!(field(cache, "kv_bytes"), Some("0"), "{cache}");
    assert_ne!(field(cache, "block_bytes"), Some("0"), "{cache}");

    // In the flush: the memtable frozen, a new one and a new log started,
    // no table written yet, the store's lock held.
    let frozen = section(stops[3], "LSM");
    assert!(
        stops[3].contains("(the store's lock is held"),
        "{}",
        stops[3]
    );
    assert_eq!(field(frozen, "memtable_entries"), Some("0"), "{frozen}");
    assert_eq!(
        field(frozen, "immutable_memtable_entries"),
        Some("2"),
        "{}",
        stops[3]
    );
    assert_eq!(
        field(frozen, "immutable_memtable_bytes"),
        field(lsm, "memtable_bytes")
    );
    assert_eq!(field(frozen, "wal_bytes"), Some("0"), "{frozen}");
    let log: u64 = field(lsm, "wal_log")
        .and_then(|s| s.parse().ok())
        .expect("wal_log");
    assert_eq!(
        field(frozen, "wal_log"),
        Some((log + 1).to_string().as_str())
    );
    assert_eq!(field(frozen, "tables"), Some("2"), "{frozen}");
    assert_eq!(field(frozen, "last_sequence"), field(lsm, "last_sequence"));
}

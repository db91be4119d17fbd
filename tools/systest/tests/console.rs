//! The console's contract (`docs/console.md`), driven through QEMU's serial port
//! on the seed's machine line: every command, its exact reply form, the
//! prompt, and what bad input must not break.

use std::time::Duration;
use systest::{field, Options, Qemu, TempFile, PROMPT};

fn boot() -> (Qemu, TempFile) {
    let disk = TempFile::new("console.img", 64 << 20);
    let q = Qemu::boot(&Options {
        disk: Some(disk.0.clone()),
        ..Options::default()
    });
    (q, disk)
}

/// A command typed (or pasted, or piped) before the prompt is kept whole:
/// its first byte waits in the UART while the kernel boots, and turning the
/// FIFO on used to drop it ("ING": unknown command).
#[test]
fn input_typed_before_the_prompt_is_kept() {
    let disk = TempFile::new("console-early.img", 64 << 20);
    let mut q = Qemu::start(&Options {
        disk: Some(disk.0.clone()),
        ..Options::default()
    });
    q.send(b"PING\r");
    let before = q.read_until("PONG");
    assert!(!before.contains("unknown command"), "{before}");
    q.read_until(PROMPT);
    q.send(b"SHUTDOWN\r");
    q.wait_exit(Duration::from_secs(30));
}

#[test]
fn boot_log_then_prompt() {
    let (q, _disk) = boot();
    let t = q.transcript();
    assert!(t.contains("INFO  unikv::boot: unikv "), "{t}");
    assert!(t.contains("MMU on"), "{t}");
    assert!(t.contains("service console: started"), "{t}");
    assert!(
        t.contains("virtio-mmio: block device (id 2, vendor 0x554d4551) at 0xa003e00, INTID 79"),
        "{t}"
    );
    assert!(
        t.ends_with(PROMPT),
        "the prompt ends the boot output, with no newline: {t:?}"
    );
    // Log lines carry a timestamp, a level and the module.
    let line = t.lines().next().unwrap();
    assert!(
        line.starts_with("[    0.") && line.contains("] INFO  unikv::"),
        "{line}"
    );
}

#[test]
fn info_reports_server_memory_cpu() {
    let (mut q, _disk) = boot();
    let all = q.cmd("INFO");
    for section in ["# Server", "# Memory", "# CPU", "# Services", "# Devices"] {
        assert!(all.contains(section), "{section} missing:\n{all}");
    }
    let server = q.cmd("info server");
    assert!(server.starts_with("# Server\n"), "{server}");
    assert_eq!(field(&server, "version"), Some(env!("CARGO_PKG_VERSION")));
    assert_eq!(field(&server, "cpus"), Some("4"));
    assert_eq!(field(&server, "exception_level"), Some("1"));
    assert_eq!(field(&server, "timer_hz"), Some("62500000"));
    let up: u64 = field(&server, "uptime_ms").unwrap().parse().unwrap();
    assert!(up > 0, "{server}");

    let mem = q.cmd("INFO memory");
    assert_eq!(field(&mem, "ram_bytes"), Some("1073741824"));
    let total: u64 = field(&mem, "heap_total_bytes").unwrap().parse().unwrap();
    let used: u64 = field(&mem, "heap_used_bytes").unwrap().parse().unwrap();
    let free: u64 = field(&mem, "heap_free_bytes").unwrap().parse().unwrap();
    assert!(
        total > 1000 << 20 && used > 0 && used + free == total,
        "{mem}"
    );
    // The boot freed small blocks, which the CPUs keep for their next
    // allocations (counted as free).
    let cached: u64 = field(&mem, "heap_cpu_cached_bytes")
        .unwrap()
        .parse()
        .unwrap();
    assert!(cached > 0 && cached < free, "{mem}");

    // The tick runs: its interrupt count grows between two reports.
    let ticks = |r: &str| field(r, "irq_30_timer").map_or(0, |v| v.parse::<u64>().unwrap());
    let cpu1 = q.cmd("INFO cpu");
    std::thread::sleep(Duration::from_millis(300));
    let cpu2 = q.cmd("INFO CPU");
    assert!(ticks(&cpu2) > ticks(&cpu1), "{cpu1}\n{cpu2}");
    assert!(
        field(&cpu2, "irq_33_uart").is_some(),
        "typed input arrives by interrupt: {cpu2}"
    );

    assert!(q
        .cmd("INFO nonsense")
        .starts_with("(error) ERR no INFO section 'nonsense'"));
    assert!(q.cmd("INFO storage").contains("disk_bytes:"));
}

#[test]
fn help_lists_and_explains() {
    let (mut q, _disk) = boot();
    let help = q.cmd("HELP");
    for cmd in [
        "SET key value",
        "GET key",
        "RANGE start end [LIMIT n]",
        "INFO [section]",
        "SERVICES",
        "SHUTDOWN",
    ] {
        assert!(help.contains(cmd), "{cmd} missing from HELP:\n{help}");
    }
    assert!(q.cmd("help get").starts_with("usage: GET key\n"));
    assert!(q
        .cmd("HELP nosuch")
        .starts_with("(error) ERR no such command 'nosuch'"));
}

#[test]
fn services_and_service_control() {
    let (mut q, _disk) = boot();
    let list = q.cmd("SERVICES");
    assert!(list.contains(") \"virtio-mmio\" \"running\" "), "{list}");
    assert!(list.contains(") \"kv\" \"running\" "), "{list}");
    assert!(
        list.contains("\"console\" \"running\" \"serial console"),
        "{list}"
    );
    assert!(
        list.contains("\"The unikv developers\" \"MIT OR Apache-2.0\""),
        "{list}"
    );

    // kv depends on virtio-mmio: refused while kv runs, then in order.
    assert!(
        q.cmd("SERVICE STOP virtio-mmio")
            .starts_with("(error) ERR "),
        "stopping a service in use is refused"
    );
    assert!(
        q.cmd("SERVICE STOP kv").starts_with("(error) ERR "),
        "the cache uses kv"
    );
    assert_eq!(q.cmd("SERVICE STOP cache"), "OK\n");
    assert_eq!(q.cmd("SERVICE STOP kv"), "OK\n");
    assert!(q
        .cmd("GET a")
        .starts_with("(error) ERR the store is not available: service 'kv' is stopped"));
    // The network service (on QEMU's default NIC) uses the bus too.
    assert_eq!(q.cmd("SERVICE STOP net"), "OK\n");
    assert_eq!(q.cmd("SERVICE STOP virtio-mmio"), "OK\n");
    assert!(q.cmd("SERVICES").contains("\"virtio-mmio\" \"stopped\""));
    assert!(
        q.cmd("SERVICE STOP virtio").starts_with("(error) ERR "),
        "stopping a stopped service is an error"
    );
    assert_eq!(
        q.cmd("service start virtio"),
        "OK\n",
        "aliases work (commands are case-insensitive, names are not)"
    );
    assert!(q.cmd("SERVICES").contains("\"virtio-mmio\" \"running\""));
    assert!(q
        .cmd("SERVICE START virtio-mmio")
        .starts_with("(error) ERR "));
    assert_eq!(
        q.cmd("SERVICE START cache"),
        "OK\n",
        "starts kv, its dependency, too"
    );
    assert_eq!(q.cmd("SET after restart"), "OK\n");
    assert_eq!(q.cmd("SERVICE START net"), "OK\n", "the NIC attaches again");
    assert!(q
        .cmd("SERVICE STOP console")
        .starts_with("(error) ERR service 'console' cannot be stopped"));
    assert!(q.cmd("SERVICE STOP nosuch").starts_with("(error) ERR "));
    assert!(q
        .cmd("SERVICE RESTART console")
        .starts_with("(error) ERR unknown SERVICE action"));
    // Enough lines back to reach the restart's first whatever the NIC's
    // DHCP lines (which come when they come) add after it.
    let log = q.cmd("LOG 30");
    assert!(log.contains("service virtio-mmio: started"), "{log}");
}

#[test]
fn log_prints_the_ring() {
    let (mut q, _disk) = boot();
    let all = q.cmd("LOG");
    assert!(
        all.contains("MMU on") && all.contains("boot complete"),
        "{all}"
    );
    let last2 = q.cmd("LOG 2");
    assert_eq!(last2.lines().count(), 2, "{last2}");
    assert!(q
        .cmd("LOG many")
        .starts_with("(error) ERR LOG takes a line count"));
}

#[test]
fn store_commands_without_a_disk_say_why() {
    // No disk: the kv service fails with its reason, the kernel boots on,
    // and every store command says what is missing.
    let mut q = Qemu::boot(&Options::default());
    assert!(
        q.transcript()
            .contains("service kv: not started: failed: no virtio block device"),
        "{}",
        q.transcript()
    );
    for line in [
        "SET a b",
        "GET a",
        "DEL a",
        "EXISTS a",
        "RANGE a z",
        "FLUSH",
        "COMPACT",
        "VERIFY",
        "BENCH fillseq 10",
        "INFO storage",
    ] {
        let r = q.cmd(line);
        assert!(
            r.starts_with("(error) ERR the store is not available: service 'kv' is failed: no virtio block device"),
            "{line}: {r}"
        );
    }
    assert!(q
        .cmd("SERVICES")
        .contains("\"kv\" \"failed: no virtio block device"));
    assert!(q
        .cmd("CACHE POLICY arc")
        .starts_with("(error) ERR the read cache is not running: service 'cache'"));
}

#[test]
fn errors_for_unknown_commands_arity_and_quoting() {
    let (mut q, _disk) = boot();
    assert_eq!(
        q.cmd("FROBNICATE x"),
        "(error) ERR unknown command 'FROBNICATE', type HELP for the list of commands\n"
    );
    assert_eq!(
        q.cmd("GET"),
        "(error) ERR wrong number of arguments for 'GET': usage GET key\n"
    );
    assert!(q
        .cmd("SET a")
        .starts_with("(error) ERR wrong number of arguments for 'SET'"));
    // A malformed SHUTDOWN powers nothing off.
    assert_eq!(q.cmd("SHUTDOWN later"), "(error) ERR syntax error\n");
    assert!(q
        .cmd("SHUTDOWN a b c d e")
        .starts_with("(error) ERR wrong number of arguments for 'SHUTDOWN'"));
    assert!(q
        .cmd("GET \"unterminated")
        .starts_with("(error) ERR unbalanced quotes"));
    assert!(q
        .cmd("GET \"bad\\q\"")
        .starts_with("(error) ERR bad escape '\\q'"));
    assert!(q.cmd("GET \"a\"b").starts_with("(error) ERR "));
    // Quoting and escapes reach the command: HELP "g\x65t" is HELP get.
    assert!(q.cmd("HELP \"g\\x65t\"").starts_with("usage: GET key"));
    // Blank lines just prompt again.
    assert_eq!(q.cmd(""), "");
    assert_eq!(q.cmd("   "), "");
}

#[test]
fn line_editing_and_escape_sequences() {
    let (mut q, _disk) = boot();
    // Backspace and DEL edit the line.
    q.send(b"HELPX\x7f get\x08\x08\x08get\r");
    let r = q.read_until(PROMPT);
    assert!(r.contains("usage: GET key"), "{r:?}");
    // Arrow keys (ESC [ A/B/C/D) never reach the parser.
    q.send(b"HE\x1b[ALP\x1b[D GET\x1bOA\r");
    let r = q.read_until(PROMPT);
    assert!(r.contains("usage: GET key"), "{r:?}");
    // CRLF is one line end: one reply, one prompt.
    q.send(b"HELP GET\r\nLOG 1\r\n");
    let first = q.read_until(PROMPT);
    let second = q.read_until(PROMPT);
    assert!(first.contains("usage: GET key"), "{first:?}");
    assert!(second.contains("] "), "{second:?}");
    assert!(
        q.try_read_until(PROMPT, Duration::from_millis(500))
            .is_none(),
        "CRLF gave an extra prompt"
    );
    // Ctrl-C abandons the line.
    q.send(b"SHUTDOWN\x03");
    q.read_until(PROMPT);
    assert!(q.cmd("INFO server").contains("uptime_ms:"));
}

#[test]
fn bad_input_never_breaks_the_console() {
    let (mut q, _disk) = boot();
    // A 100 KiB line is refused whole, and the console goes on.
    let long = vec![b'A'; 100 * 1024];
    q.send(b"SET k ");
    q.send(&long);
    q.send(b"\r");
    let r = q.read_until(PROMPT);
    assert!(
        r.contains("(error) ERR line too long (102406 bytes, the limit is 65536)"),
        "{}",
        &r[r.len().saturating_sub(300)..]
    );
    assert!(q.cmd("INFO server").contains("cpus:4"));

    // A 16 KiB line is accepted (and reaches the parser).
    let key = "k".repeat(16 * 1024);
    assert_eq!(q.cmd(&format!("GET {key}")), "(nil)\n");
    // ... and a 16 KiB value is stored and read back whole.
    let value = "v".repeat(16 * 1024);
    assert_eq!(q.cmd(&format!("SET big {value}")), "OK\n");
    assert_eq!(q.cmd("GET big"), format!("\"{value}\"\n"));
    // A key over 1 KiB is refused with a reason, and nothing changes.
    assert!(q.cmd(&format!("SET {key} v")).starts_with("(error) ERR "));

    // Random binary bytes, then a fresh line: the kernel still answers.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut junk = Vec::new();
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        junk.push(x as u8);
    }
    q.send(&junk);
    q.send(b"\x03\r\n");
    q.settle(Duration::from_millis(700));
    let r = q.cmd("INFO server");
    assert!(r.contains("# Server"), "after binary junk: {r}");
    assert!(q.cmd("SERVICES").contains("\"console\" \"running\""));
}

#[test]
fn piped_input_is_never_lost() {
    let (mut q, _disk) = boot();
    // Many commands at once, faster than they run: every one gets its reply.
    let mut batch = Vec::new();
    for i in 0..200 {
        batch.extend_from_slice(
            format!("HELP {}\r", if i % 2 == 0 { "get" } else { "set" }).as_bytes(),
        );
    }
    batch.extend_from_slice(b"INFO server\r");
    q.send(&batch);
    for i in 0..200 {
        let r = q.read_until(PROMPT);
        let want = if i % 2 == 0 {
            "usage: GET key"
        } else {
            "usage: SET key value"
        };
        assert!(r.contains(want), "reply {i}: {r:?}");
    }
    assert!(q.read_until(PROMPT).contains("uptime_ms:"));
}

#[test]
fn shutdown_exits_qemu_with_status_zero() {
    let (mut q, _disk) = boot();
    q.send(b"SHUTDOWN\r");
    let status = q.wait_exit(Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "{}", q.transcript());
    let t = q.transcript();
    assert!(t.contains("SHUTDOWN\r\nOK\r\n"), "{t}");
}

#[test]
fn reboot_comes_back_to_the_prompt() {
    let (mut q, _disk) = boot();
    q.send(b"REBOOT\r");
    q.read_until("OK\r\n");
    q.read_until("boot complete");
    q.read_until(PROMPT);
    assert!(q.cmd("INFO server").contains("cpus:4"));
    q.send(b"SHUTDOWN\r");
    assert_eq!(q.wait_exit(Duration::from_secs(30)).code(), Some(0));
}

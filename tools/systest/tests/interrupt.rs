//! Ctrl-C at the console stops a running command, as a shell's does: BENCH,
//! RANGE, VERIFY, COMPACT and DEBUG TRACE DUMP stop at their next safe
//! point, say `(interrupted)` and give the prompt back within a second;
//! nothing acknowledged is lost and the store verifies clean afterwards.

use std::time::{Duration, Instant};
use systest::{field, Options, Qemu, TempFile, PROMPT};

/// The contract: the prompt is back within a second of the Ctrl-C.
const WITHIN: Duration = Duration::from_secs(1);

/// Types `line`, waits until the kernel has taken it (its echo ends with
/// CRLF) and `after` more, so the command is running, then sends Ctrl-C.
/// Returns the reply and how long the prompt took to come back.
fn interrupt(q: &mut Qemu, line: &str, after: Duration) -> (String, Duration) {
    q.send(line.as_bytes());
    q.send(b"\r");
    q.read_until(&format!("{line}\r\n"));
    std::thread::sleep(after);
    let sent = Instant::now();
    q.send(b"\x03");
    let reply = q.read_until(PROMPT);
    (reply.replace("\r\n", "\n"), sent.elapsed())
}

fn assert_interrupted(what: &str, (reply, took): (String, Duration)) {
    assert!(
        reply.ends_with("(interrupted)\n"),
        "{what}: no (interrupted) in {reply:?}"
    );
    assert!(took <= WITHIN, "{what}: the prompt took {took:?}");
    eprintln!("{what}: the prompt came back {took:?} after Ctrl-C");
}

#[test]
fn ctrl_c_stops_long_commands_and_loses_nothing() {
    let d = TempFile::new("interrupt.img", 1 << 30);
    let mut q = Qemu::boot(&Options {
        disk: Some(d.0.clone()),
        ..Options::default()
    });

    // A run far too long to finish: stopped, and what it wrote is synced.
    assert_interrupted(
        "BENCH fillseq",
        interrupt(
            &mut q,
            "BENCH fillseq 50000000",
            Duration::from_millis(2500),
        ),
    );
    // What it wrote before the stop is there; writes go on.
    assert_eq!(q.cmd("EXISTS 0000000000000000"), "(integer) 1\n");
    assert_eq!(q.cmd("SET before-compact 1"), "OK\n");

    // 600,000 keys in several levels for the long reads and COMPACT.
    let fill = q.cmd_within(
        "BENCH fillrandom 600000 keys=600000",
        Duration::from_secs(300),
    );
    assert_eq!(field(&fill, "ops"), Some("600000"), "{fill}");

    assert_interrupted(
        "RANGE",
        interrupt(&mut q, "RANGE \"\" \"\\xff\"", Duration::from_millis(300)),
    );
    assert_interrupted(
        "VERIFY",
        interrupt(&mut q, "VERIFY", Duration::from_millis(300)),
    );
    assert_interrupted(
        "COMPACT",
        interrupt(&mut q, "COMPACT", Duration::from_millis(500)),
    );

    // A recorded trace long enough that dumping it takes seconds.
    assert_eq!(q.cmd("DEBUG TRACE START"), "OK\n");
    let run = q.cmd_within("BENCH readrandom 20000", Duration::from_secs(120));
    assert!(run.contains("workload:readrandom"), "{run}");
    let stop = q.cmd("DEBUG TRACE STOP");
    let records: u64 = field(&stop, "records").unwrap().parse().unwrap();
    assert!(records > 20000, "{stop}");
    assert_interrupted(
        "DEBUG TRACE DUMP",
        interrupt(&mut q, "DEBUG TRACE DUMP", Duration::from_millis(300)),
    );

    // The console takes commands again, typed-ahead input is kept, and
    // the store is whole.
    assert_eq!(q.cmd("GET before-compact"), "\"1\"\n");
    let v = q.cmd_within("VERIFY", Duration::from_secs(120));
    assert!(v.contains("errors:0"), "{v}");
    // After a reboot everything acknowledged is there and verifies.
    q.send(b"REBOOT\r");
    q.read_until("boot complete");
    q.read_until(PROMPT);
    assert_eq!(q.cmd("GET before-compact"), "\"1\"\n");
    let v = q.cmd_within("VERIFY", Duration::from_secs(120));
    assert!(v.contains("errors:0"), "{v}");
    let n: u64 = field(&v, "entries").unwrap().parse().unwrap();
    assert!(n >= 600_000 / 2, "{v}");
}

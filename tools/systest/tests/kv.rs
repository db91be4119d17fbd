//! The store through the console on a real virtio-blk disk: the commands'
//! replies, durability across REBOOT, SHUTDOWN and a killed QEMU, damage
//! reported and never served, and foreign disks left untouched. BENCH and
//! the read cache are in tests/kv_bench.rs.

mod common;

use std::time::Duration;

use common::{boot_on, disk};
use systest::{field, without_log_lines, Qemu, TempFile, PROMPT};

#[test]
fn commands_and_reply_forms() {
    let d = disk("kv-cmds.img");
    let mut q = boot_on(&d);
    assert!(
        q.transcript()
            .contains("was blank: formatted it as a unikv store"),
        "{}",
        q.transcript()
    );
    assert_eq!(q.cmd("SET alice 1"), "OK\n");
    assert_eq!(q.cmd("put bob \"two words\""), "OK\n");
    assert_eq!(q.cmd("SET bin \"\\x00\\xff\\\"\\\\\\n\""), "OK\n");
    assert_eq!(q.cmd("GET alice"), "\"1\"\n");
    assert_eq!(q.cmd("GET bob"), "\"two words\"\n");
    assert_eq!(q.cmd("GET bin"), "\"\\x00\\xff\\\"\\\\\\n\"\n");
    assert_eq!(q.cmd("GET nobody"), "(nil)\n");
    assert_eq!(q.cmd("EXISTS alice"), "(integer) 1\n");
    assert_eq!(q.cmd("EXISTS nobody"), "(integer) 0\n");
    assert_eq!(
        q.cmd("RANGE a c"),
        "1) \"alice\" \"1\"\n2) \"bin\" \"\\x00\\xff\\\"\\\\\\n\"\n3) \"bob\" \"two words\"\n"
    );
    assert_eq!(q.cmd("RANGE a c LIMIT 1"), "1) \"alice\" \"1\"\n");
    assert_eq!(q.cmd("RANGE x z"), "(empty)\n");
    assert!(q.cmd("RANGE a c LIMIT").starts_with("(error) ERR "));
    assert_eq!(q.cmd("DEL alice nobody bob"), "(integer) 2\n");
    assert_eq!(q.cmd("GET alice"), "(nil)\n");
    assert_eq!(q.cmd("FLUSH"), "OK\n");
    assert_eq!(q.cmd("COMPACT"), "OK\n");
    // The disk's requests were waited for asleep, on its interrupt.
    let (intid, taken) = systest::disk_interrupts(&mut q);
    assert!(taken > 0, "INTID {intid} taken {taken} times");
    let v = q.cmd("VERIFY");
    assert!(v.starts_with("# Verify\n") && v.contains("errors:0"), "{v}");
    let s = q.cmd("INFO storage");
    for f in [
        "disk_bytes",
        "disk_used_bytes",
        "memtable_bytes",
        "wal_bytes",
        "tables",
        "disk_reads",
        "disk_writes",
        "compactions",
        "level_0_tables",
        "level_0_bytes",
    ] {
        assert!(field(&s, f).is_some(), "{f} missing: {s}");
    }
    assert_eq!(field(&s, "disk_bytes"), Some("67108864"));
    q.shutdown();
}

#[test]
fn data_survives_reboot_and_shutdown() {
    let d = disk("kv-persist.img");
    let mut q = boot_on(&d);
    for i in 0..50 {
        assert_eq!(q.cmd(&format!("SET key{i:03} value{i}")), "OK\n");
    }
    assert_eq!(q.cmd("FLUSH"), "OK\n");
    for i in 50..80 {
        assert_eq!(q.cmd(&format!("SET key{i:03} value{i}")), "OK\n");
    }
    q.send(b"REBOOT\r");
    q.read_until("boot complete");
    q.read_until(PROMPT);
    assert_eq!(q.cmd("GET key000"), "\"value0\"\n");
    assert_eq!(q.cmd("GET key079"), "\"value79\"\n");
    assert_eq!(q.cmd("DEL key010"), "(integer) 1\n");
    q.shutdown();

    let mut q = boot_on(&d);
    assert!(
        !q.transcript().contains("formatted"),
        "a formatted disk is not formatted again"
    );
    let all = q.cmd("RANGE key key~");
    assert_eq!(all.lines().count(), 79, "{all}");
    assert_eq!(q.cmd("GET key010"), "(nil)\n");
    assert_eq!(q.cmd("GET key055"), "\"value55\"\n");
    q.shutdown();
}

#[test]
fn killing_qemu_loses_no_acknowledged_write() {
    let d = disk("kv-kill.img");
    let mut q = boot_on(&d);
    // A stream of SETs, faster than they complete; count the OKs that came
    // back, then pull the power while writes are still in flight.
    let mut stream = Vec::new();
    for i in 0..400 {
        stream.extend_from_slice(format!("SET k{i:04} v{i}-{}\r", "x".repeat(i % 50)).as_bytes());
    }
    q.send(&stream);
    let mut acked = 0;
    while acked < 150 {
        let r = q.read_until(PROMPT);
        if r.contains("OK") {
            acked += 1;
        }
    }
    q.kill();
    drop(q);

    let mut q = boot_on(&d);
    let t = q.transcript();
    assert!(t.contains("service kv: started"), "{t}");
    // Every acknowledged write is there with its value; nothing else is
    // invented (keys beyond the stream's are absent).
    let listing = q.cmd("RANGE k k~");
    let n = listing.lines().count();
    assert!(
        n >= acked,
        "{n} keys survived, {acked} were acknowledged:\n{t}"
    );
    for i in (0..acked).step_by(7) {
        let want = format!("\"v{i}-{}\"\n", "x".repeat(i % 50));
        assert_eq!(q.cmd(&format!("GET k{i:04}")), want, "key {i}");
    }
    for (i, line) in listing.lines().enumerate() {
        assert!(
            line.starts_with(&format!("{}) \"k{i:04}\" \"v{i}-", i + 1)),
            "a prefix of the stream, in order: {line}"
        );
    }
    assert!(q.cmd("VERIFY").contains("errors:0"));
    q.shutdown();
}

#[test]
fn damaged_disk_is_reported_never_served() {
    let d = disk("kv-damage.img");
    let mut q = boot_on(&d);
    let marker = "MARKER-".repeat(8);
    for i in 0..200 {
        assert_eq!(q.cmd(&format!("SET d{i:03} {marker}{i}")), "OK\n");
    }
    assert_eq!(q.cmd("FLUSH"), "OK\n");
    q.shutdown();

    // Flip a byte inside every copy of the values (table and old WAL).
    let mut img = std::fs::read(&d.0).unwrap();
    let needle = marker.as_bytes();
    let mut flipped = 0;
    let mut i = 0;
    while i + needle.len() <= img.len() {
        if &img[i..i + needle.len()] == needle {
            img[i + 3] ^= 0x20;
            flipped += 1;
            i += needle.len();
        } else {
            i += 1;
        }
    }
    assert!(flipped > 0);
    std::fs::write(&d.0, &img).unwrap();

    let mut q = boot_on(&d);
    // The active expiry meets the damage at once and warns on the console,
    // maybe in the middle of a reply.
    let v = without_log_lines(&q.cmd("VERIFY"));
    assert!(
        v.starts_with("(error) ERR ") && v.contains("corruption"),
        "{v}"
    );
    assert!(v.contains("table"), "the error names what is damaged: {v}");
    // Reads of damaged data are errors, never a wrong value.
    let mut errors = 0;
    for i in (0..200).step_by(10) {
        let r = without_log_lines(&q.cmd(&format!("GET d{i:03}")));
        if r.starts_with("(error) ERR ") {
            errors += 1;
        } else {
            assert_eq!(
                r,
                format!("\"{marker}{i}\"\n"),
                "a damaged read must never return other data; transcript:\n{}",
                q.transcript()
            );
        }
    }
    assert!(errors > 0, "the damage is in the table every key lives in");
    // The active expiry meets the damage too: it says so once, not ten
    // times a second across the console's replies.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(
        q.cmd("INFO server").contains("cpus:4"),
        "the kernel goes on"
    );
    let said = q.transcript().matches("active expiry").count();
    assert!(said <= 1, "the active expiry's failure logged {said} times");
    q.shutdown();
}

#[test]
fn foreign_disk_is_refused_and_left_untouched() {
    let d = disk("kv-foreign.img");
    let mut img = vec![0u8; 64 << 20];
    for (i, b) in img.iter_mut().enumerate() {
        *b = (i.wrapping_mul(2_654_435_761) >> 13) as u8;
    }
    img[..16].copy_from_slice(b"SOMEONE ELSE'S!!");
    std::fs::write(&d.0, &img).unwrap();

    let mut q = boot_on(&d);
    let t = q.transcript();
    assert!(t.contains("service kv: not started: failed: disk at 0xa003e00 (64 MiB): the disk holds another format; refusing to touch it"), "{t}");
    assert!(q
        .cmd("SET a b")
        .starts_with("(error) ERR the store is not available"));
    q.shutdown();
    assert!(
        std::fs::read(&d.0).unwrap() == img,
        "the foreign disk was written to"
    );
}

#[test]
fn piped_sets_share_wal_syncs_and_reply_in_order() {
    let d = disk("kv-group.img");
    let mut q = boot_on(&d);
    let mut batch = Vec::new();
    for i in 0..100 {
        batch.extend_from_slice(format!("SET g{i:03} v{i}\r").as_bytes());
        if i == 50 {
            // A non-SET in the middle is answered in its place.
            batch.extend_from_slice(b"GET g010\r");
        }
    }
    q.send(&batch);
    for i in 0..100 {
        let r = q.read_until(PROMPT);
        assert!(
            r.starts_with(&format!("SET g{i:03} v{i}\r\nOK\r\n")),
            "reply {i}: {r:?}"
        );
        if i == 50 {
            let r = q.read_until(PROMPT);
            assert!(r.ends_with("\"v10\"\r\n"), "{r:?}");
        }
    }
    let s = q.cmd("INFO storage");
    let groups: u64 = field(&s, "group_commits").unwrap().parse().unwrap();
    assert_eq!(field(&s, "group_commit_writes"), Some("100"), "{s}");
    assert!(groups < 50, "100 piped SETs took {groups} syncs");
    q.send(b"REBOOT\r");
    q.read_until("boot complete");
    q.read_until(PROMPT);
    assert_eq!(q.cmd("RANGE g g~").lines().count(), 100);
    q.shutdown();
}

/// Fills a small disk until a write is refused, deletes half the keys,
/// compacts, and the freed space takes new data; nothing acknowledged is
/// lost on the way and the store verifies clean after a reboot.
#[test]
fn full_disk_refuses_then_deleting_and_compacting_frees_space() {
    let d = TempFile::new("kv-full.img", 8 << 20);
    let mut q = boot_on(&d);
    let r = q.cmd_within(
        "BENCH fillseq 4000 value_size=4000",
        Duration::from_secs(120),
    );
    assert!(r.starts_with("(error) ERR no space"), "{r}");
    // How many keys went in: fillseq writes them in order, so binary search.
    let exists = |q: &mut Qemu, i: u64| q.cmd(&format!("EXISTS {i:016}")) == "(integer) 1\n";
    let (mut lo, mut hi) = (0u64, 4000u64);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if exists(&mut q, mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    let n = lo;
    assert!(n > 1000, "only {n} keys of 4000 bytes fit in 8 MiB: {r}");
    let used = |q: &mut Qemu| -> u64 {
        let s = q.cmd("INFO storage");
        field(&s, "disk_used_bytes").unwrap().parse().unwrap()
    };
    let full = used(&mut q);
    for chunk in (0..n).step_by(2).collect::<Vec<_>>().chunks(50) {
        let keys: Vec<String> = chunk.iter().map(|i| format!("{i:016}")).collect();
        let r = q.cmd(&format!("DEL {}", keys.join(" ")));
        assert_eq!(r, format!("(integer) {}\n", chunk.len()));
    }
    assert_eq!(q.cmd_within("COMPACT", Duration::from_secs(120)), "OK\n");
    let after = used(&mut q);
    assert!(after < full * 2 / 3, "{after} of {full} bytes still used");
    // New data: keys 0..n/3 again, the even ones new, the odd ones
    // overwritten (their old versions take room until compaction meets
    // them, as in any LSM tree).
    let m = n / 3;
    let r = q.cmd_within(
        &format!("BENCH fillseq {m} value_size=4000"),
        Duration::from_secs(120),
    );
    assert_eq!(field(&r, "ops"), Some(format!("{m}").as_str()), "{r}");
    q.send(b"REBOOT\r");
    q.read_until("boot complete");
    q.read_until(PROMPT);
    // Compacted, the tables hold each live key once: keys below m, and
    // the odd ones from m to n.
    assert_eq!(q.cmd_within("COMPACT", Duration::from_secs(120)), "OK\n");
    let v = q.cmd_within("VERIFY", Duration::from_secs(60));
    assert_eq!(field(&v, "errors"), Some("0"), "{v}");
    let entries: u64 = field(&v, "entries").unwrap().parse().unwrap();
    assert_eq!(entries, m + n / 2 - m / 2, "{v}");
    let last_odd = if n % 2 == 0 { n - 1 } else { n - 2 };
    assert!(exists(&mut q, last_odd));
    assert!(!exists(&mut q, last_odd - 1));
    q.shutdown();
}

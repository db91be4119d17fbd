//! The store through the console on a real virtio-blk disk: the commands'
//! replies, durability across REBOOT, SHUTDOWN and a killed QEMU, damage
//! reported and never served, and foreign disks left untouched.

use std::time::Duration;
use systest::{field, without_log_lines, Options, Qemu, TempFile, PROMPT};

fn disk(name: &str) -> TempFile {
    TempFile::new(name, 64 << 20)
}

fn boot_on(d: &TempFile) -> Qemu {
    Qemu::boot(&Options {
        disk: Some(d.0.clone()),
        ..Options::default()
    })
}

fn shutdown(mut q: Qemu) {
    q.send(b"SHUTDOWN\r");
    assert_eq!(
        q.wait_exit(Duration::from_secs(30)).code(),
        Some(0),
        "{}",
        q.transcript()
    );
}

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
    shutdown(q);
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
    shutdown(q);

    let mut q = boot_on(&d);
    assert!(
        !q.transcript().contains("formatted"),
        "a formatted disk is not formatted again"
    );
    let all = q.cmd("RANGE key key~");
    assert_eq!(all.lines().count(), 79, "{all}");
    assert_eq!(q.cmd("GET key010"), "(nil)\n");
    assert_eq!(q.cmd("GET key055"), "\"value55\"\n");
    shutdown(q);
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
    shutdown(q);
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
    shutdown(q);

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
    shutdown(q);
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
    shutdown(q);
    assert!(
        std::fs::read(&d.0).unwrap() == img,
        "the foreign disk was written to"
    );
}

#[test]
fn bench_reports_every_field() {
    let d = disk("kv-bench.img");
    let mut q = boot_on(&d);
    let r = q.cmd("BENCH fillrandom 3000");
    for f in [
        "workload",
        "ops",
        "elapsed_ms",
        "ops_per_sec",
        "mb_per_sec",
        "p50_us",
        "p99_us",
        "p999_us",
        "cache_hit_ratio",
        "disk_reads_per_op",
        "disk_writes_per_op",
        "bytes_written_to_disk",
    ] {
        assert!(field(&r, f).is_some(), "{f} missing: {r}");
    }
    assert_eq!(field(&r, "workload"), Some("fillrandom"));
    assert_eq!(field(&r, "ops"), Some("3000"));
    let r = q.cmd("BENCH readrandom 2000 keys=3000");
    assert_eq!(field(&r, "ops"), Some("2000"));
    let r = q.cmd("BENCH fillseq 200 sync=1");
    let flushes: u64 = field(&r, "disk_flushes").unwrap().parse().unwrap();
    assert!(flushes >= 200, "sync=1 flushes every write: {r}");
    assert!(q
        .cmd("BENCH nosuch")
        .starts_with("(error) ERR unknown workload"));
    assert!(q
        .cmd("BENCH fillseq 10 bogus=1")
        .starts_with("(error) ERR unknown argument"));
    // Every read checks its value: one BENCH did not write stops the run.
    assert_eq!(q.cmd("SET 0000000000000007 hello"), "OK\n");
    assert_eq!(
        q.cmd("BENCH readrandom 2000 keys=10"),
        "(error) ERR key 0000000000000007 read back a value BENCH did not write for it\n"
    );
    shutdown(q);
}

#[test]
fn bench_threads_run_from_several_cores() {
    let d = disk("kv-bench-threads.img");
    // Eight cores: the console's, the network's and the store's background
    // work take three, which leaves five to take threads besides CPU 0.
    let mut q = Qemu::boot(&Options {
        disk: Some(d.0.clone()),
        smp: 8,
        ..Options::default()
    });
    let long = Duration::from_secs(120);
    let r = q.cmd_within("BENCH fillrandom 20000 threads=2", long);
    assert_eq!(field(&r, "ops"), Some("20000"), "{r}");
    assert_eq!(field(&r, "threads"), Some("2"), "{r}");
    // Every read checks its value: two cores reading at once still get
    // what BENCH wrote.
    for threads in [1, 2, 4] {
        let r = q.cmd_within(&format!("BENCH readrandom 20000 threads={threads}"), long);
        assert_eq!(field(&r, "ops"), Some("20000"), "{r}");
        assert_eq!(field(&r, "keys"), Some("20000"), "{r}");
        if threads > 1 {
            assert_eq!(field(&r, "threads"), Some(threads.to_string().as_str()));
            let rates = field(&r, "thread_ops_per_sec").unwrap();
            assert_eq!(rates.split(',').count(), threads, "{r}");
        }
        eprintln!(
            "readrandom 20000 threads={threads}: ops_per_sec {} p50_us {} p99_us {} per thread {}",
            field(&r, "ops_per_sec").unwrap(),
            field(&r, "p50_us").unwrap(),
            field(&r, "p99_us").unwrap(),
            field(&r, "thread_ops_per_sec").unwrap_or("-"),
        );
    }
    // Eight threads cannot run beside the sessions and background work,
    // and nothing does.
    let r = q.cmd("BENCH readrandom 20000 threads=8");
    assert!(r.starts_with("(error) ERR 8 threads need 8 cores; "), "{r}");
    assert!(q
        .cmd("BENCH readrandom 10 threads=9")
        .starts_with("(error) ERR threads must be between 1 and 8"));
    // Ctrl-C reaches thread 0 (the console's core), which stops them all.
    let line = "BENCH readrandom 10000000 threads=4";
    q.send(line.as_bytes());
    q.send(b"\r");
    q.read_until(&format!("{line}\r\n"));
    std::thread::sleep(Duration::from_millis(1500));
    let sent = std::time::Instant::now();
    q.send(b"\x03");
    let reply = q.read_until(PROMPT).replace("\r\n", "\n");
    assert!(reply.ends_with("(interrupted)\n"), "{reply:?}");
    assert!(
        sent.elapsed() < Duration::from_secs(2),
        "{:?}",
        sent.elapsed()
    );
    // The cores are free again, and the store still serves.
    let r = q.cmd_within("BENCH readrandom 2000 threads=4", long);
    assert_eq!(field(&r, "ops"), Some("2000"), "{r}");
    assert_eq!(q.cmd("SET after threads"), "OK\n");
    assert_eq!(q.cmd("GET after"), "\"threads\"\n");
    shutdown(q);
}

#[test]
fn cache_policies_switch_at_run_time_and_never_serve_stale_blocks() {
    let d = disk("kv-cache.img");
    let mut q = boot_on(&d);
    let info = q.cmd("INFO cache");
    assert_eq!(field(&info, "policy"), Some("lru"), "{info}");
    // A quarter of the heap that was free when the cache started.
    let capacity: u64 = field(&info, "capacity_bytes").unwrap().parse().unwrap();
    let mem = q.cmd("INFO memory");
    let heap: u64 = field(&mem, "heap_total_bytes").unwrap().parse().unwrap();
    assert!(
        capacity >= 8 << 20 && capacity <= heap / 4 && capacity > heap / 5,
        "{capacity} of {heap}"
    );
    for i in 0..300 {
        assert_eq!(q.cmd(&format!("SET c{i:03} old{i}")), "OK\n");
    }
    assert_eq!(q.cmd("FLUSH"), "OK\n");
    for policy in ["arc", "ackey", "none", "lru", "ARC"] {
        assert_eq!(q.cmd(&format!("CACHE POLICY {policy}")), "OK\n");
        for i in (0..300).step_by(37) {
            assert_eq!(
                q.cmd(&format!("GET c{i:03}")),
                format!("\"old{i}\"\n"),
                "{policy}"
            );
        }
    }
    // Overwrite, flush and compact under a warm cache: reads see the new
    // values (compaction deletes the old tables, whose blocks are cached).
    for i in 0..300 {
        assert_eq!(q.cmd(&format!("SET c{i:03} new{i}")), "OK\n");
    }
    assert_eq!(q.cmd("COMPACT"), "OK\n");
    for i in (0..300).step_by(13) {
        assert_eq!(q.cmd(&format!("GET c{i:03}")), format!("\"new{i}\"\n"));
    }
    let info = q.cmd("INFO cache");
    assert_eq!(field(&info, "policy"), Some("arc"));
    let hits: u64 = field(&info, "hits").unwrap().parse().unwrap();
    assert!(hits > 0, "{info}");
    for f in ["used_bytes", "misses", "hit_ratio", "disk_reads_saved"] {
        assert!(field(&info, f).is_some(), "{f}: {info}");
    }
    assert_eq!(q.cmd("CACHE RESET"), "OK\n");
    assert_eq!(field(&q.cmd("INFO cache"), "hits"), Some("0"));
    // Index and filter blocks: kept by each open table (the default), or
    // fetched through the cache like data blocks (the cache study's way).
    let info = q.cmd("INFO cache");
    assert_eq!(field(&info, "metadata"), Some("pinned"), "{info}");
    let pinned: u64 = field(&info, "pinned_metadata_bytes")
        .unwrap()
        .parse()
        .unwrap();
    assert!(pinned > 0, "the GETs above opened tables: {info}");
    let limit: u64 = field(&info, "pinned_metadata_limit")
        .unwrap()
        .parse()
        .unwrap();
    assert!(limit > 8 << 20 && pinned <= limit, "{info}");
    let meta_hits = |q: &mut Qemu| -> u64 {
        let info = q.cmd("INFO cache");
        ["index_block_hits", "filter_block_hits"]
            .iter()
            .map(|f| field(&info, f).unwrap().parse::<u64>().unwrap())
            .sum()
    };
    for _ in 0..2 {
        for i in (0..300).step_by(13) {
            assert_eq!(q.cmd(&format!("GET c{i:03}")), format!("\"new{i}\"\n"));
        }
    }
    assert_eq!(meta_hits(&mut q), 0, "pinned tables never ask the cache");
    assert_eq!(q.cmd("CACHE METADATA cached"), "OK\n");
    for _ in 0..2 {
        for i in (0..300).step_by(13) {
            assert_eq!(q.cmd(&format!("GET c{i:03}")), format!("\"new{i}\"\n"));
        }
    }
    assert!(meta_hits(&mut q) > 0);
    assert_eq!(field(&q.cmd("INFO cache"), "metadata"), Some("cached"));
    assert!(q
        .cmd("CACHE METADATA loose")
        .starts_with("(error) ERR CACHE METADATA takes pinned"));
    assert_eq!(q.cmd("CACHE METADATA pinned"), "OK\n");
    assert_eq!(q.cmd("CACHE RESET"), "OK\n");
    assert_eq!(q.cmd("CACHE SIZE 1048576"), "OK\n");
    assert_eq!(
        field(&q.cmd("INFO cache"), "capacity_bytes"),
        Some("1048576")
    );
    assert_eq!(q.cmd("CACHE POLICY ackey"), "OK\n");
    assert!(q.cmd("INFO cache").contains("kv_bytes:"));
    assert!(q.cmd("CACHE POLICY mru").starts_with("(error) ERR "));
    assert!(q.cmd("CACHE SIZE lots").starts_with("(error) ERR "));
    shutdown(q);
}

#[test]
fn ycsb_workloads_and_ackey_point_cache() {
    let d = disk("kv-ycsb.img");
    let mut q = boot_on(&d);
    assert_eq!(q.cmd("CACHE POLICY ackey"), "OK\n");
    // Records in tables, not the memtable, so lookups go through the cache.
    assert!(q.cmd("BENCH fillseq 2000").contains("ops:2000"));
    assert_eq!(q.cmd("FLUSH"), "OK\n");
    let r = q.cmd("BENCH ycsb-c 3000 keys=2000");
    assert_eq!(field(&r, "workload"), Some("ycsb-c"));
    assert_eq!(field(&r, "dist"), Some("zipfian"));
    assert_eq!(field(&r, "reads"), Some("3000"));
    assert_eq!(
        field(&r, "found"),
        Some("3000"),
        "the load phase wrote every record: {r}"
    );
    for f in [
        "cache_hit_ratio",
        "disk_reads_per_op",
        "ops_per_sec",
        "p99_us",
    ] {
        assert!(field(&r, f).is_some(), "{f}: {r}");
    }
    let info = q.cmd("INFO cache");
    let kv: u64 = field(&info, "kv_bytes").unwrap().parse().unwrap();
    assert!(
        kv > 0,
        "AC-Key's KV part holds hot keys after point lookups: {info}"
    );
    for f in [
        "kp_bytes",
        "block_bytes",
        "target_kv_bytes",
        "target_block_bytes",
    ] {
        assert!(field(&info, f).is_some(), "{f}: {info}");
    }
    for (w, mix) in [
        ("ycsb-a", "updates"),
        ("ycsb-b", "updates"),
        ("ycsb-d", "inserts"),
        ("ycsb-e", "scans"),
        ("ycsb-f", "read_modify_writes"),
    ] {
        let r = q.cmd(&format!("BENCH {w} 500"));
        assert!(
            field(&r, mix)
                .and_then(|v| v.parse::<u64>().ok())
                .is_some_and(|n| n > 0),
            "{w}: {r}"
        );
    }
    let r = q.cmd("BENCH ycsb-b 500 dist=uniform");
    assert_eq!(field(&r, "dist"), Some("uniform"));
    assert!(q
        .cmd("BENCH ycsb-b 10 dist=pareto")
        .starts_with("(error) ERR dist is zipfian, latest or uniform"));
    // After updates through every path, reads still see the latest values.
    assert_eq!(q.cmd("SET 0000000000000007 fresh"), "OK\n");
    assert_eq!(q.cmd("GET 0000000000000007"), "\"fresh\"\n");
    assert!(q.cmd("VERIFY").contains("errors:0"));
    shutdown(q);
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
    shutdown(q);
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
    shutdown(q);
}

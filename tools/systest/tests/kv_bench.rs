//! BENCH and the read cache through the console on a real virtio-blk
//! disk: BENCH's report and its errors, threads on several cores, cache
//! policies switched at run time without serving stale blocks, and the
//! YCSB workloads on AC-Key's point cache.

mod common;

use std::time::Duration;

use common::{boot_on, disk};
use systest::{field, Options, Qemu, PROMPT};

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
    q.shutdown();
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
    q.shutdown();
}

#[test]
fn cache_policies_switch_at_run_time_and_never_serve_stale_blocks() {
    let d = disk("kv-cache.img");
    let mut q = boot_on(&d);
    let info = q.cmd("INFO cache");
    assert_eq!(field(&info, "policy"), Some("lru"), "{info}");
    // Three eighths of the heap that was free when the cache started.
    let capacity: u64 = field(&info, "capacity_bytes").unwrap().parse().unwrap();
    let mem = q.cmd("INFO memory");
    let heap: u64 = field(&mem, "heap_total_bytes").unwrap().parse().unwrap();
    assert!(
        capacity >= 8 << 20 && capacity <= heap / 8 * 3 && capacity > heap / 3,
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
    q.shutdown();
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
    q.shutdown();
}

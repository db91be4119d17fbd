//! Runs the in-kernel `BENCH` workloads under QEMU (seed machine line, a
//! fresh 1 GiB disk per run) and prints the medians as a Markdown table:
//!
//!     cargo run --release -p systest --bin bench -- [--n 100000] [--runs 3] [--cache BYTES]
//!     cargo run --release -p systest --bin bench -- --profile readrandom
//!
//! With `--cache`, the table's runs use a read cache of that size instead of
//! the kernel's default (three eighths of the free heap).
//!
//! `--record FILE "WORKLOAD ARGS"` loads `n` keys, flushes them to tables
//! and records the store's cache requests (`DEBUG TRACE`, under LRU so
//! every lookup's blocks are in it) during the two runs `--compare` makes
//! (seeds 7 and 8; the second marked `# phase measure`, from which
//! `cachesim` counts) into FILE, for `cachesim --format store`:
//!
//!     cargo run --release -p systest --bin bench -- --n 200000 --record ycsb-c.trace "ycsb-c 100000"
//!
//! `--compare "WORKLOAD ARGS" --cache BYTES` loads `n` keys into tables,
//! then runs the workload twice under each policy (none, lru, arc, ackey) at
//! that cache size, the first run to warm the cache, and prints the second
//! run's disk reads per operation:
//!
//!     cargo run --release -p systest --bin bench -- --n 200000 --cache 500000 --compare "ycsb-c 50000"
//!
//! `--profile WORKLOAD` loads the store, runs that workload under the
//! kernel's sampling profiler (`DEBUG PROFILE`, 1 kHz timer samples) and
//! prints where the time went, by function (symbols from the ELF via gdb).
//!
//! The workloads run as db_bench (and the anchors' kvbench) runs them:
//! fillseq and fillrandom each on an empty store (`FLUSHALL` first),
//! overwrite and the reads on fillrandom's, every workload with a seed of
//! its own, so that fillrandom writes about 63% of the `n` keys, overwrite
//! takes that to about 86%, readrandom finds about 86% of the keys it asks
//! for and readseq reads the keys there are.

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;
use systest::{field, kernel, Options, Qemu, TempFile};

const WORKLOADS: [&str; 7] = [
    "fillseq",
    "fillrandom",
    "overwrite",
    "readrandom",
    "readseq",
    "readmissing",
    "fillrandom sync=1",
];

/// Whether the `w`th workload starts from an empty store, as db_bench's
/// fresh ones do (its synced fill runs on what is there, as kvbench's).
fn fresh(w: usize) -> bool {
    w < 2
}

fn main() {
    let mut n: u64 = 100_000;
    let mut runs = 3;
    let mut cache_bytes: Option<u64> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--n" => n = args.next().and_then(|v| v.parse().ok()).expect("--n N"),
            "--runs" => runs = args.next().and_then(|v| v.parse().ok()).expect("--runs N"),
            "--cache" => {
                cache_bytes = Some(
                    args.next()
                        .and_then(|v| v.parse().ok())
                        .expect("--cache BYTES"),
                )
            }
            "--compare" => {
                return compare(
                    &args.next().expect("--compare WORKLOAD"),
                    n,
                    cache_bytes.unwrap_or(8 << 20),
                )
            }
            "--profile" => return profile(&args.next().expect("--profile WORKLOAD"), n),
            "--record" => {
                let file = args.next().expect("--record FILE WORKLOAD");
                return record(&file, &args.next().expect("--record FILE WORKLOAD"), n);
            }
            _ => panic!("usage: bench [--n N] [--runs N]"),
        }
    }
    let fields = [
        "ops_per_sec",
        "p50_us",
        "p99_us",
        "disk_reads_per_op",
        "disk_writes_per_op",
        "cache_hit_ratio",
    ];
    let mut results: Vec<Vec<Vec<f64>>> = vec![vec![Vec::new(); fields.len()]; WORKLOADS.len()];
    for run in 0..runs {
        let disk = TempFile::new(&format!("bench-{run}.img"), 1 << 30);
        let mut q = Qemu::boot(&Options {
            disk: Some(disk.0.clone()),
            ..Options::default()
        });
        if let Some(bytes) = cache_bytes {
            assert_eq!(q.cmd(&format!("CACHE SIZE {bytes}")), "OK\n");
        }
        for (w, workload) in WORKLOADS.iter().enumerate() {
            // Synced writes are slow: a fraction of n keeps the run short.
            let ops = if workload.contains("sync=1") {
                n / 50
            } else {
                n
            };
            let (name, extra) = workload.split_once(' ').unwrap_or((workload, ""));
            if fresh(w) {
                assert_eq!(q.cmd("FLUSHALL"), "OK\n");
            }
            let seed = w + 1;
            // A million reads through a small cache take minutes.
            let r = q.cmd_within(
                &format!("BENCH {name} {ops} keys={n} seed={seed} {extra}"),
                Duration::from_secs(900),
            );
            for (f, name) in fields.iter().enumerate() {
                let v = field(&r, name)
                    .and_then(|v| v.parse::<f64>().ok())
                    .unwrap_or_else(|| panic!("{name} missing: {r}"));
                results[w][f].push(v);
            }
            eprintln!(
                "run {run} {workload}: {} ops/s",
                field(&r, "ops_per_sec").unwrap_or("?")
            );
        }
        q.send(b"SHUTDOWN\r");
        q.wait_exit(Duration::from_secs(60));
    }
    println!(
        "| workload | ops/s | p50 us | p99 us | disk reads/op | disk writes/op | cache hit ratio |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (w, workload) in WORKLOADS.iter().enumerate() {
        let med: Vec<f64> = results[w]
            .iter()
            .map(|v| {
                let mut v = v.clone();
                v.sort_by(|a, b| a.total_cmp(b));
                v[v.len() / 2]
            })
            .collect();
        println!(
            "| {workload} | {:.0} | {:.0} | {:.0} | {:.3} | {:.3} | {:.3} |",
            med[0], med[1], med[2], med[3], med[4], med[5]
        );
    }
}

fn profile(workload: &str, n: u64) {
    let disk = TempFile::new("profile.img", 1 << 30);
    let mut q = Qemu::boot(&Options {
        disk: Some(disk.0.clone()),
        ..Options::default()
    });
    if !workload.starts_with("fill") {
        // The store as the table's runs leave it for the reads.
        for fill in ["fillseq", "fillrandom", "overwrite"] {
            q.cmd(&format!("BENCH {fill} {n} keys={n}"));
        }
    }
    assert_eq!(q.cmd("DEBUG PROFILE START 1000"), "OK\n");
    let report = q.cmd(&format!("BENCH {workload} {n} keys={n}"));
    let hot = q.cmd("DEBUG PROFILE STOP 400");
    q.send(b"SHUTDOWN\r");
    q.wait_exit(Duration::from_secs(60));
    println!("{report}");
    if let Ok(path) = std::env::var("UNIKV_PROFILE_RAW") {
        // The samples as the kernel gave them (count, symbol, pc), for
        // symbolizing by line with addr2line -i.
        std::fs::write(&path, &hot).expect("write UNIKV_PROFILE_RAW");
    }

    let total: u64 = hot
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("samples:"))
        .and_then(|v| v.parse().ok())
        .expect("samples line");
    let samples: Vec<(u64, String)> = hot
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let n = w.next()?.parse().ok()?;
            let pc = w.nth(1)?.to_string();
            Some((n, pc))
        })
        .collect();
    let mut gdb = Command::new("gdb-multiarch");
    // No auto-loading: the ELF's embedded helpers would make gdb print a
    // safe-path notice into the output this zips with the addresses.
    gdb.args(["-q", "-batch", "-nx", "-iex", "set auto-load off"]);
    for (_, pc) in &samples {
        gdb.args(["-ex", &format!("info symbol {pc}")]);
    }
    let out = gdb.arg(kernel()).output().expect("run gdb-multiarch");
    let names = String::from_utf8_lossy(&out.stdout);
    let mut by_fn: HashMap<String, u64> = HashMap::new();
    for ((n, pc), line) in samples.iter().zip(names.lines()) {
        let name = line
            .split(" + ")
            .next()
            .unwrap_or(pc)
            .split(" in section")
            .next()
            .unwrap_or(pc);
        *by_fn.entry(demangle_hash(name)).or_default() += n;
    }
    let mut rows: Vec<_> = by_fn.into_iter().collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.1));
    println!("{total} samples at 1 kHz; hottest functions:");
    for (name, n) in rows.iter().take(25) {
        println!("{:>6.1}%  {name}", *n as f64 * 100.0 / total.max(1) as f64);
    }
}

/// Drops the `::h0123abcd` hash rustc appends to symbol names.
fn demangle_hash(name: &str) -> String {
    match name.rfind("::h") {
        Some(i) if name[i + 3..].chars().all(|c| c.is_ascii_hexdigit()) => name[..i].to_string(),
        _ => name.to_string(),
    }
}

fn record(file: &str, workload: &str, n: u64) {
    let disk = TempFile::new("record.img", 1 << 30);
    let mut q = Qemu::boot(&Options {
        disk: Some(disk.0.clone()),
        ..Options::default()
    });
    q.cmd(&format!("BENCH fillrandom {n}"));
    assert_eq!(q.cmd("FLUSH"), "OK\n");
    // The study puts every block, index and filter too, under the one
    // budget the policies share (RocksDB's cache_index_and_filter_blocks).
    assert_eq!(q.cmd("CACHE METADATA cached"), "OK\n");
    assert_eq!(q.cmd("CACHE POLICY lru"), "OK\n");
    // The two runs `--compare` makes, with its seeds: the replay warms its
    // cache on the first and counts the second (`# phase measure`), as the
    // kernel's comparison does, so that the two measure the same thing.
    let mut text = String::new();
    for (phase, seed) in [("warm-up", 7), ("measure", 8)] {
        assert_eq!(q.cmd("DEBUG TRACE START"), "OK\n");
        let report = q.cmd(&format!("BENCH {workload} keys={n} seed={seed}"));
        eprintln!("{report}");
        eprintln!("{}", q.cmd("DEBUG TRACE STOP"));
        let trace = q.cmd_within("DEBUG TRACE DUMP", Duration::from_secs(1200));
        let Some(body) = trace.strip_prefix("# unikv store trace v1\n") else {
            panic!("{}", &trace[..trace.len().min(300)]);
        };
        if text.is_empty() {
            text.push_str("# unikv store trace v1\n");
        }
        text.push_str(&format!("# phase {phase}\n"));
        text.push_str(body);
    }
    q.send(b"SHUTDOWN\r");
    q.wait_exit(Duration::from_secs(60));
    std::fs::write(file, text).expect("write the trace");
    eprintln!("wrote {file}");
}

fn compare(workload: &str, n: u64, cache_bytes: u64) {
    let disk = TempFile::new("compare.img", 1 << 30);
    let mut q = Qemu::boot(&Options {
        disk: Some(disk.0.clone()),
        ..Options::default()
    });
    q.cmd(&format!("BENCH fillrandom {n}"));
    assert_eq!(q.cmd("FLUSH"), "OK\n");
    // The study puts every block, index and filter too, under the one
    // budget the policies share (RocksDB's cache_index_and_filter_blocks).
    assert_eq!(q.cmd("CACHE METADATA cached"), "OK\n");
    let used = field(&q.cmd("INFO storage"), "disk_used_bytes")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    println!(
        "{workload}, {n} keys ({:.1} MB of tables), cache {cache_bytes} bytes ({:.1}% of the data):\n",
        used as f64 / 1e6,
        cache_bytes as f64 * 100.0 / used.max(1) as f64
    );
    println!("| policy | disk reads/op | vs LRU | cache hit ratio | ops/s |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    let mut lru = None;
    for policy in ["none", "lru", "arc", "ackey"] {
        assert_eq!(q.cmd(&format!("CACHE POLICY {policy}")), "OK\n");
        assert_eq!(q.cmd(&format!("CACHE SIZE {cache_bytes}")), "OK\n");
        q.cmd(&format!("BENCH {workload} keys={n} seed=7"));
        let r = q.cmd(&format!("BENCH {workload} keys={n} seed=8"));
        let get = |f: &str| {
            field(&r, f)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or_else(|| panic!("{f}: {r}"))
        };
        let reads = get("disk_reads_per_op");
        if policy == "lru" {
            lru = Some(reads);
        }
        let vs = lru.map_or_else(
            || String::from("-"),
            |l| format!("{:+.1}%", (reads / l - 1.0) * 100.0),
        );
        println!(
            "| {policy} | {reads:.4} | {vs} | {:.4} | {:.0} |",
            get("cache_hit_ratio"),
            get("ops_per_sec")
        );
    }
    q.send(b"SHUTDOWN\r");
    q.wait_exit(Duration::from_secs(60));
}

//! Runs the in-kernel `BENCH` workloads under QEMU (seed machine line, a
//! fresh 1 GiB disk per run) and prints the medians as a Markdown table:
//!
//!     cargo run --release -p systest --bin bench -- [--n 100000] [--runs 3]
//!
//! The workloads run in db_bench's order on one store, so the read
//! workloads read the `n` keys the fills loaded.

use std::time::Duration;
use systest::{field, Options, Qemu, TempFile};

const WORKLOADS: [&str; 7] = [
    "fillseq",
    "fillrandom",
    "overwrite",
    "readrandom",
    "readseq",
    "readmissing",
    "fillrandom sync=1",
];

fn main() {
    let mut n: u64 = 100_000;
    let mut runs = 3;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--n" => n = args.next().and_then(|v| v.parse().ok()).expect("--n N"),
            "--runs" => runs = args.next().and_then(|v| v.parse().ok()).expect("--runs N"),
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
        for (w, workload) in WORKLOADS.iter().enumerate() {
            // Synced writes are slow: a fraction of n keeps the run short.
            let ops = if workload.contains("sync=1") {
                n / 50
            } else {
                n
            };
            let (name, extra) = workload.split_once(' ').unwrap_or((workload, ""));
            let r = q.cmd(&format!("BENCH {name} {ops} keys={n} {extra}"));
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

//! `BENCH`: LevelDB db_bench's workloads run inside the kernel, against the
//! real store on the real disk, with the report fields of console.md.
//!
//! Keys are 16 bytes (`%016d` of the key number, as db_bench), values
//! `value_size` bytes of pseudo-random data. Latency is measured per
//! operation with the generic timer; disk I/O from the store's counters.

use crate::services::kv;
use crate::ycsb;
use alloc::{format, string::String, vec::Vec};
use console::{Reply, Report};
use core::sync::atomic::{AtomicU64, Ordering};
use hal::arch::timer;
use lsm::iter::KvIter;
use lsm::random::Rng;

type CmdResult = Result<Reply, String>;

/// The key space of the last fill run since boot.
static LOADED_KEYS: AtomicU64 = AtomicU64::new(0);

struct Params {
    workload: String,
    dist: Option<ycsb::Dist>,
    n: u64,
    keys: Option<u64>,
    value_size: usize,
    sync: bool,
    seed: u64,
}

const WORKLOADS: [&str; 12] = [
    "fillseq",
    "fillrandom",
    "overwrite",
    "readrandom",
    "readseq",
    "readmissing",
    "ycsb-a",
    "ycsb-b",
    "ycsb-c",
    "ycsb-d",
    "ycsb-e",
    "ycsb-f",
];
const USAGE: &str =
    "BENCH fillseq|fillrandom|overwrite|readrandom|readseq|readmissing|ycsb-a..ycsb-f [n] \
                     [keys=N] [value_size=N] [sync=0|1] [seed=N] [dist=zipfian|latest|uniform]";

fn parse(args: &[Vec<u8>]) -> Result<Params, String> {
    let text = |a: &Vec<u8>| {
        core::str::from_utf8(a)
            .map(String::from)
            .map_err(|_| String::from("arguments are text"))
    };
    let workload = text(&args[0])?.to_ascii_lowercase();
    if !WORKLOADS.contains(&workload.as_str()) {
        return Err(format!("unknown workload '{workload}'; usage: {USAGE}"));
    }
    let mut p = Params {
        workload,
        dist: None,
        n: 100_000,
        keys: None,
        value_size: 100,
        sync: false,
        seed: 301,
    };
    for (i, a) in args[1..].iter().enumerate() {
        let a = text(a)?;
        let num = |v: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("'{a}' is not a number; usage: {USAGE}"))
        };
        match a.split_once('=') {
            None if i == 0 => p.n = num(&a)?,
            Some(("keys", v)) => p.keys = Some(num(v)?),
            Some(("value_size", v)) => p.value_size = num(v)? as usize,
            Some(("sync", v)) => p.sync = num(v)? != 0,
            Some(("seed", v)) => p.seed = num(v)?,
            Some(("dist", v)) => {
                p.dist =
                    Some(ycsb::Dist::parse(v).ok_or_else(|| {
                        format!("dist is zipfian, latest or uniform; usage: {USAGE}")
                    })?)
            }
            _ => return Err(format!("unknown argument '{a}'; usage: {USAGE}")),
        }
    }
    if p.n == 0 || p.n > 100_000_000 {
        return Err(String::from("n must be between 1 and 100000000"));
    }
    if p.keys.is_some_and(|k| k == 0 || k > 100_000_000) {
        return Err(String::from("keys must be between 1 and 100000000"));
    }
    if p.value_size > 1 << 20 {
        return Err(String::from("value_size is at most 1048576"));
    }
    Ok(p)
}

/// Uniform in [0, 1) from 53 random bits.
fn unit(rng: &mut Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

fn key(i: u64) -> [u8; 16] {
    let mut k = [b'0'; 16];
    let mut v = i;
    for b in k.iter_mut().rev() {
        *b = b'0' + (v % 10) as u8;
        v /= 10;
    }
    k
}

pub fn run(args: &[Vec<u8>]) -> CmdResult {
    let p = parse(args)?;
    let mut rng = Rng::new(p.seed);
    let mut value = alloc::vec![0u8; p.value_size];
    for b in value.iter_mut() {
        *b = b' ' + (rng.next_u64() % 95) as u8;
    }
    // Reads (and overwrite) default to the key space the last fill of this
    // boot loaded, as console.md says; fills (and a fresh boot) to n.
    let is_fill = matches!(p.workload.as_str(), "fillseq" | "fillrandom");
    let loaded = LOADED_KEYS.load(Ordering::Relaxed);
    let keys = p
        .keys
        .unwrap_or(if is_fill || loaded == 0 { p.n } else { loaded })
        .max(1);
    if is_fill {
        LOADED_KEYS.store(keys, Ordering::Relaxed);
    }
    let ycsb_w = p
        .workload
        .strip_prefix("ycsb-")
        .and_then(|w| w.chars().next());
    let mut inserted = keys;
    if ycsb_w.is_some() {
        // YCSB's load phase, untimed: the records the run reads must exist.
        let from = LOADED_KEYS.load(Ordering::Relaxed).min(keys);
        for i in from..keys {
            kv::with(|db| db.put(&key(i), &value, false))?;
        }
        kv::with(|db| db.sync_wal())?;
        LOADED_KEYS.store(keys, Ordering::Relaxed);
    }
    let dist = p
        .dist
        .unwrap_or(ycsb_w.map_or(ycsb::Dist::Uniform, ycsb::default_dist));
    let zipf = ycsb_w.map(|_| ycsb::Zipfian::new(keys));
    let mut mix = [0u64; 5];
    let before = kv::with(|db| Ok(db.stats()))?;
    let cache_before = crate::services::cache::snapshot()
        .ok()
        .map(|c| (c.policy, c.stats));
    // One latency per operation; asked for up front so that a run too big
    // for this machine's memory is refused instead of dying halfway.
    let mut lat: Vec<u32> = Vec::new();
    lat.try_reserve_exact(p.n as usize).map_err(|_| {
        format!(
            "not enough memory to record {} latencies; use a smaller n or more RAM (-m)",
            p.n
        )
    })?;
    let mut found = 0u64;
    let mut bytes = 0u64;
    let progress_every = if p.n >= 200_000 { p.n / 10 } else { u64::MAX };
    let start = timer::counter();

    match p.workload.as_str() {
        "readseq" => {
            // One iterator over the whole store, as db_bench's readseq.
            kv::with(|db| {
                let mut it = db.iter(None)?;
                it.seek(b"")?;
                // One counter read per step: each step's end is the next
                // one's start (a read of the virtual counter is a call into
                // the emulator under TCG, and a step is only ~1.5 us).
                let mut t = timer::counter();
                while it.valid() && (lat.len() as u64) < p.n {
                    bytes += (it.key().len() + it.value().len()) as u64;
                    found += 1;
                    it.next()?;
                    let now = timer::counter();
                    lat.push((now - t) as u32);
                    t = now;
                }
                Ok(())
            })?;
        }
        workload => {
            for i in 0..p.n {
                let t = timer::counter();
                // Only writes buffer WAL records that need a timely write-out.
                let mut wrote = true;
                match workload {
                    _ if ycsb_w.is_some() => {
                        let w = ycsb_w.unwrap_or('c');
                        let u = unit(&mut rng);
                        let pick = |rng: &mut Rng| -> u64 {
                            let z = zipf.as_ref().map_or(0, |z| z.sample(unit(rng)));
                            match dist {
                                ycsb::Dist::Uniform => rng.uniform(inserted),
                                ycsb::Dist::Zipfian => ycsb::fnv1a(z) % inserted,
                                ycsb::Dist::Latest => inserted - 1 - z.min(inserted - 1),
                            }
                        };
                        let scan_len = 1 + rng.uniform(100) as u32;
                        match ycsb::choose(w, u, scan_len) {
                            ycsb::Op::Read => {
                                wrote = false;
                                mix[0] += 1;
                                let k = key(pick(&mut rng));
                                if let Some(v) = kv::with(|db| db.get(&k, None))? {
                                    found += 1;
                                    bytes += 16 + v.len() as u64;
                                }
                            }
                            ycsb::Op::Update => {
                                mix[1] += 1;
                                let k = key(pick(&mut rng));
                                kv::with(|db| db.put(&k, &value, p.sync))?;
                                bytes += 16 + p.value_size as u64;
                            }
                            ycsb::Op::Insert => {
                                mix[2] += 1;
                                kv::with(|db| db.put(&key(inserted), &value, p.sync))?;
                                inserted += 1;
                                bytes += 16 + p.value_size as u64;
                            }
                            ycsb::Op::Scan(len) => {
                                wrote = false;
                                mix[3] += 1;
                                let start = key(pick(&mut rng));
                                crate::services::trace::scan(&start, len as usize);
                                let rows =
                                    kv::with(|db| db.range(&start, None, len as usize, None))?;
                                found += rows.len() as u64;
                            }
                            ycsb::Op::ReadModifyWrite => {
                                mix[4] += 1;
                                let k = key(pick(&mut rng));
                                kv::with(|db| {
                                    let _ = db.get(&k, None)?;
                                    db.put(&k, &value, p.sync)
                                })?;
                                bytes += 16 + p.value_size as u64;
                            }
                        }
                    }
                    "fillseq" => {
                        kv::with(|db| db.put(&key(i), &value, p.sync))?;
                        bytes += 16 + p.value_size as u64;
                    }
                    "fillrandom" | "overwrite" => {
                        let k = key(rng.uniform(keys));
                        kv::with(|db| db.put(&k, &value, p.sync))?;
                        bytes += 16 + p.value_size as u64;
                    }
                    "readrandom" => {
                        wrote = false;
                        let k = key(rng.uniform(keys));
                        if let Some(v) = kv::with(|db| db.get(&k, None))? {
                            found += 1;
                            bytes += 16 + v.len() as u64;
                        }
                    }
                    _ => {
                        wrote = false;
                        // readmissing: keys that sort among the real ones
                        // but are never written.
                        let mut k = [0u8; 17];
                        k[..16].copy_from_slice(&key(rng.uniform(keys)));
                        k[16] = b'.';
                        if kv::with(|db| db.get(&k, None))?.is_some() {
                            found += 1;
                        }
                    }
                }
                if wrote && !p.sync {
                    kv::note_buffered();
                }
                kv::tick();
                lat.push((timer::counter() - t).min(u64::from(u32::MAX)) as u32);
                if (i + 1) % progress_every == 0 {
                    hal::console_out::write(
                        format!("progress: {}/{} ops\r\n", i + 1, p.n).as_bytes(),
                    );
                }
            }
        }
    }
    // Everything the run wrote is durable before the report.
    kv::with(|db| db.sync_wal())?;
    let elapsed = timer::counter() - start;
    let after = kv::with(|db| Ok(db.stats()))?;

    let ops = lat.len() as u64;
    lat.sort_unstable();
    let pct = |q: f64| -> u64 {
        if lat.is_empty() {
            return 0;
        }
        let i = ((lat.len() as f64 * q) as usize).min(lat.len() - 1);
        timer::ticks_to_us(u64::from(lat[i]))
    };
    let elapsed_us = timer::ticks_to_us(elapsed).max(1);
    let secs = elapsed_us as f64 / 1e6;
    let per_op = |v: u64| if ops == 0 { 0.0 } else { v as f64 / ops as f64 };
    let reads = after.io.reads - before.io.reads;
    let writes = after.io.writes - before.io.writes;

    let mut r = Report::new();
    r.add_section("Bench");
    r.add_field("workload", &p.workload);
    r.add_field("ops", ops);
    r.add_field("keys", keys);
    r.add_field("value_size", p.value_size);
    r.add_field("sync", u8::from(p.sync));
    r.add_field("elapsed_ms", elapsed_us / 1000);
    r.add_field("ops_per_sec", format!("{:.0}", ops as f64 / secs));
    r.add_field("mb_per_sec", format!("{:.2}", bytes as f64 / secs / 1e6));
    r.add_field("p50_us", pct(0.50));
    r.add_field("p99_us", pct(0.99));
    r.add_field("p999_us", pct(0.999));
    if matches!(
        p.workload.as_str(),
        "readrandom" | "readseq" | "readmissing"
    ) || ycsb_w.is_some()
    {
        r.add_field("found", found);
    }
    if ycsb_w.is_some() {
        r.add_field("dist", dist.name());
        r.add_field("reads", mix[0]);
        r.add_field("updates", mix[1]);
        r.add_field("inserts", mix[2]);
        r.add_field("scans", mix[3]);
        r.add_field("read_modify_writes", mix[4]);
    }
    match (
        cache_before,
        crate::services::cache::snapshot()
            .ok()
            .map(|c| (c.policy, c.stats)),
    ) {
        (Some((_, b)), Some((policy, a))) => {
            let hits = a.hits.saturating_sub(b.hits);
            let lookups = hits + a.misses.saturating_sub(b.misses);
            r.add_field("cache_policy", policy.name());
            r.add_field("cache_hits", hits);
            r.add_field(
                "cache_hit_ratio",
                format!(
                    "{:.6}",
                    if lookups == 0 {
                        0.0
                    } else {
                        hits as f64 / lookups as f64
                    }
                ),
            );
        }
        // No cache service: every block read goes to the disk.
        _ => {
            r.add_field("cache_policy", "none");
            r.add_field("cache_hit_ratio", 0);
        }
    }
    r.add_field("disk_reads", reads);
    r.add_field("disk_writes", writes);
    r.add_field("disk_reads_per_op", format!("{:.3}", per_op(reads)));
    r.add_field("disk_writes_per_op", format!("{:.3}", per_op(writes)));
    r.add_field(
        "bytes_written_to_disk",
        after.io.write_bytes - before.io.write_bytes,
    );
    r.add_field("disk_flushes", after.io.flushes - before.io.flushes);
    if !p.sync {
        r.add_field("wal_loss_bound_ms", kv::WAL_LOSS_BOUND_MS);
    }
    Ok(Reply::Report(r))
}

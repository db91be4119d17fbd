//! db_bench's workloads on the engine alone, over an in-memory device, so the
//! engine's own cost can be profiled without a disk or an OS in the way.
//!
//! `cargo run --release -p lsm --example mem_bench [keys]`

use lsm::db::{Db, Options};
use lsm::device::MemDevice;
use lsm::iter::KvIter;
use lsm::random::Rng;
use std::time::Instant;

fn key(i: u64) -> [u8; 16] {
    let mut k = [b'0'; 16];
    let s = format!("{i:016}");
    k.copy_from_slice(s.as_bytes());
    k
}

fn report(name: &str, n: u64, start: Instant) {
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{name:12} {:>10.0} ops/s  {:>8.2} us/op",
        n as f64 / secs,
        secs * 1e6 / n as f64
    );
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let value = [b'x'; 100];
    let opts = Options::default;
    let fresh = || Db::open(MemDevice::new(512 << 20), opts()).unwrap().0;

    let mut db = fresh();
    let t = Instant::now();
    for i in 0..n {
        db.put(&key(i), &value, false).unwrap();
    }
    db.sync_wal().unwrap();
    report("fillseq", n, t);

    let mut db2 = fresh();
    let mut rng = Rng::new(1);
    let t = Instant::now();
    for _ in 0..n {
        db2.put(&key(rng.uniform(n)), &value, false).unwrap();
    }
    db2.sync_wal().unwrap();
    report("fillrandom", n, t);
    drop(db2);

    let t = Instant::now();
    for _ in 0..n {
        db.put(&key(rng.uniform(n)), &value, false).unwrap();
    }
    db.sync_wal().unwrap();
    report("overwrite", n, t);

    let t = Instant::now();
    let mut found = 0;
    for _ in 0..n {
        found += u64::from(db.get(&key(rng.uniform(n)), None).unwrap().is_some());
    }
    report("readrandom", n, t);
    assert_eq!(found, n);

    let t = Instant::now();
    let mut it = db.iter(None).unwrap();
    it.seek_to_first().unwrap();
    let mut count = 0;
    while it.valid() {
        count += 1;
        it.next().unwrap();
    }
    drop(it);
    report("readseq", count, t);

    let t = Instant::now();
    for i in 0..n {
        let mut k = key(i);
        k[15] = b'.';
        assert!(db.get(&k, None).unwrap().is_none());
    }
    report("readmissing", n, t);

    let t = Instant::now();
    let mut db3 = fresh();
    let synced = n / 10;
    for i in 0..synced {
        db3.put(&key(i), &value, true).unwrap();
    }
    report("fillsync", synced, t);

    let s = db.stats();
    println!("levels (tables, bytes): {:?}", s.levels);
    println!(
        "compactions {}  flushes {}  write amplification {:.2}",
        s.compactions,
        s.flushes,
        s.write_amplification()
    );
}

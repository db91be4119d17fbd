//! db_bench's workloads (16-byte keys, 100-byte values) on the engine alone,
//! over an in-memory device or a file, so the engine's own cost can be
//! profiled and compared with LevelDB natively.
//!
//! `cargo run --release -p lsm --example db_bench -- [--keys N] [--file PATH]`
//!
//! With `--file PATH`, each store lives in its own file `PATH.<workload>`,
//! zeroed and formatted afresh (put it on a real disk to measure syncs).

use lsm::db::{Db, Options};
use lsm::device::{BlockDevice, DeviceError, MemDevice};
use lsm::iter::KvIter;
use lsm::random::Rng;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::time::Instant;

const CAPACITY: u64 = 512 << 20;

/// A file as a disk: positional reads and writes, `fdatasync` as FLUSH.
struct FileDevice {
    file: File,
    capacity: u64,
}

fn io_err(e: std::io::Error) -> DeviceError {
    DeviceError::Io(e.raw_os_error().unwrap_or(0) as u32)
}

impl BlockDevice for FileDevice {
    fn read(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        lsm::device::check_request(offset, buf.len(), self.capacity)?;
        self.file.read_exact_at(buf, offset).map_err(io_err)
    }
    fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        lsm::device::check_request(offset, data.len(), self.capacity)?;
        self.file.write_all_at(data, offset).map_err(io_err)
    }
    fn flush(&mut self) -> Result<(), DeviceError> {
        self.file.sync_data().map_err(io_err)
    }
    fn capacity(&self) -> u64 {
        self.capacity
    }
}

enum Dev {
    Mem(MemDevice),
    File(FileDevice),
}

impl BlockDevice for Dev {
    fn read(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        match self {
            Dev::Mem(d) => d.read(offset, buf),
            Dev::File(d) => d.read(offset, buf),
        }
    }
    fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        match self {
            Dev::Mem(d) => d.write(offset, data),
            Dev::File(d) => d.write(offset, data),
        }
    }
    fn flush(&mut self) -> Result<(), DeviceError> {
        match self {
            Dev::Mem(d) => d.flush(),
            Dev::File(d) => d.flush(),
        }
    }
    fn capacity(&self) -> u64 {
        match self {
            Dev::Mem(d) => d.capacity(),
            Dev::File(d) => d.capacity(),
        }
    }
}

fn device(path: Option<&str>) -> Dev {
    match path {
        None => Dev::Mem(MemDevice::new(CAPACITY as usize)),
        Some(p) => {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(p)
                .expect("open the bench file");
            file.set_len(CAPACITY).expect("size the bench file");
            Dev::File(FileDevice {
                file,
                capacity: CAPACITY,
            })
        }
    }
}

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
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let n: u64 = arg("--keys")
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let path = arg("--file");
    let value = [b'x'; 100];
    // Each store gets its own file: two stores on one disk would destroy
    // each other.
    let fresh = |tag: &str| {
        let p = path.as_ref().map(|p| format!("{p}.{tag}"));
        Db::open(device(p.as_deref()), Options::default())
            .unwrap()
            .0
    };
    println!(
        "{n} keys of 16 bytes, values of 100 bytes, on {}",
        path.as_deref().unwrap_or("memory")
    );

    let mut db = fresh("seq");
    let t = Instant::now();
    for i in 0..n {
        db.put(&key(i), &value, false).unwrap();
    }
    db.sync_wal().unwrap();
    report("fillseq", n, t);

    let mut db2 = fresh("random");
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

    let mut db3 = fresh("sync");
    let t = Instant::now();
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

//! db_bench's workloads (16-byte keys, 100-byte values) on the engine alone,
//! over an in-memory device or a file, so the engine's own cost can be
//! profiled and compared with LevelDB natively.
//!
//! `cargo run --release -p lsm --example db_bench -- [--keys N] [--file PATH]
//! [--cache-mb MB]`
//!
//! `--cache-mb` gives the store an LRU block cache of that many MiB (the
//! kernel's default is 8, like LevelDB's); without it every block a lookup
//! needs is read from the device and checked.
//!
//! With `--file PATH`, each store lives in its own file `PATH.<workload>`,
//! zeroed and formatted afresh (put it on a real disk to measure syncs).

use lsm::db::{BlockCache, Db, Options};
use lsm::device::{BlockDevice, DeviceError, MemDevice};
use lsm::iter::KvIter;
use lsm::random::Rng;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::hash::{BuildHasherDefault, Hasher};
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Mutex};
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

/// A CLOCK block cache charged by block bytes (cheap enough not to hide the
/// engine's own costs in a profile).
struct Clock {
    budget: usize,
    inner: Mutex<ClockInner>,
}

#[derive(Default)]
struct ClockInner {
    map: HashMap<(u64, u64), usize, BuildHasherDefault<Fx>>,
    slots: Vec<Slot>,
    free: Vec<usize>,
    hand: usize,
    bytes: usize,
}

struct Slot {
    key: (u64, u64),
    block: Option<Arc<[u8]>>,
    referenced: bool,
}

/// FxHash's multiply-rotate, for `(table, offset)` keys.
#[derive(Default)]
struct Fx(u64);

impl Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Clock {
    fn new(budget: usize) -> Self {
        Self {
            budget,
            inner: Mutex::new(ClockInner::default()),
        }
    }
}

impl ClockInner {
    /// Frees one slot's block, giving referenced blocks a second chance.
    fn evict_one(&mut self) -> bool {
        if self.slots.is_empty() {
            return false;
        }
        for _ in 0..2 * self.slots.len() + 1 {
            let i = self.hand;
            self.hand = (self.hand + 1) % self.slots.len();
            let s = &mut self.slots[i];
            if s.block.is_none() {
                continue;
            }
            if s.referenced {
                s.referenced = false;
                continue;
            }
            let b = s.block.take().map_or(0, |b| b.len());
            self.bytes -= b;
            let key = s.key;
            self.map.remove(&key);
            self.free.push(i);
            return true;
        }
        false
    }
}

impl BlockCache for Clock {
    fn get(&self, table: u64, offset: u64) -> Option<Arc<[u8]>> {
        let mut g = self.inner.lock().unwrap();
        let &i = g.map.get(&(table, offset))?;
        let s = &mut g.slots[i];
        s.referenced = true;
        s.block.clone()
    }

    fn insert(&self, table: u64, offset: u64, block: Arc<[u8]>) {
        let mut g = self.inner.lock().unwrap();
        if g.map.contains_key(&(table, offset)) {
            return;
        }
        g.bytes += block.len();
        let slot = Slot {
            key: (table, offset),
            block: Some(block),
            referenced: false,
        };
        let i = match g.free.pop() {
            Some(i) => {
                g.slots[i] = slot;
                i
            }
            None => {
                g.slots.push(slot);
                g.slots.len() - 1
            }
        };
        g.map.insert((table, offset), i);
        while g.bytes > self.budget && g.evict_one() {}
    }

    fn erase_table(&self, table: u64) {
        let mut g = self.inner.lock().unwrap();
        let g = &mut *g;
        for s in &mut g.slots {
            if s.key.0 == table {
                if let Some(b) = s.block.take() {
                    g.bytes -= b.len();
                    g.map.remove(&s.key);
                }
            }
        }
        g.free = (0..g.slots.len())
            .filter(|&i| g.slots[i].block.is_none())
            .collect();
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

// The read workloads are functions of their own, so that a profiler (e.g.
// `valgrind --tool=callgrind --toggle-collect='*db_bench*readrandom*'`)
// can count their instructions alone.

#[inline(never)]
fn readrandom<D: BlockDevice>(db: &Db<D>, rng: &mut Rng, n: u64) -> u64 {
    let mut found = 0;
    for _ in 0..n {
        found += u64::from(db.get(&key(rng.uniform(n)), None).unwrap().is_some());
    }
    found
}

#[inline(never)]
fn readseq<D: BlockDevice>(db: &Db<D>) -> u64 {
    let mut it = db.iter(None).unwrap();
    it.seek_to_first().unwrap();
    let mut count = 0;
    while it.valid() {
        count += 1;
        it.next().unwrap();
    }
    count
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
    let cache_mb: usize = arg("--cache-mb").and_then(|s| s.parse().ok()).unwrap_or(0);
    let value = [b'x'; 100];
    // Each store gets its own file: two stores on one disk would destroy
    // each other.
    let fresh = |tag: &str| {
        let p = path.as_ref().map(|p| format!("{p}.{tag}"));
        let mut db = Db::open(device(p.as_deref()), Options::default())
            .unwrap()
            .0;
        if cache_mb > 0 {
            db.set_block_cache(Some(Arc::new(Clock::new(cache_mb << 20))));
        }
        db
    };
    println!(
        "{n} keys of 16 bytes, values of 100 bytes, on {}, CLOCK block cache {cache_mb} MiB",
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
    assert_eq!(readrandom(&db, &mut rng, n), n);
    report("readrandom", n, t);

    let t = Instant::now();
    let count = readseq(&db);
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

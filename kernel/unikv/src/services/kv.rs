//! The kv service: the LSM store (`lsm::Db`) on the first virtio-blk disk.
//!
//! At start it attaches the disk, formats it if it is blank (and says so),
//! refuses a disk of another format or version without writing to it, and
//! replays the WAL. Without a disk the service fails with the reason, and
//! the kernel boots on without it. Its exit makes everything durable (WAL
//! synced, memtable flushed to a table), so `SHUTDOWN`, `REBOOT` and
//! `SERVICE STOP kv` leave a clean disk.
//!
//! The store is used from the shell only (one core, no interrupt context),
//! so a plain lock around it is enough.

use alloc::{format, string::String, vec::Vec};
use core::sync::atomic::{AtomicU64, Ordering};
use hal::arch::timer;
use hal::drivers::virtio_blk::{BlkError, VirtioBlk};
use kcore::registry::ServiceError;
use lsm::db::{Db, Options};
use lsm::device::{check_request, BlockDevice, DeviceError};
use spin::Mutex;

pub type Store = Db<Disk>;

/// The virtio-blk disk as the store's `BlockDevice`.
pub struct Disk(VirtioBlk);

fn device_error(e: BlkError) -> DeviceError {
    DeviceError::Io(e.code())
}

impl BlockDevice for Disk {
    fn read(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        check_request(offset, buf.len(), self.0.capacity())?;
        self.0.read(offset, buf).map_err(device_error)
    }

    fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        check_request(offset, data.len(), self.0.capacity())?;
        self.0.write(offset, data).map_err(device_error)
    }

    fn flush(&mut self) -> Result<(), DeviceError> {
        self.0.flush().map_err(device_error)
    }

    fn capacity(&self) -> u64 {
        self.0.capacity()
    }
}

struct Kv {
    db: Store,
    /// Counter value when WAL records were first left buffered (sync=0).
    buffered_since: Option<u64>,
}

static KV: Mutex<Option<Kv>> = Mutex::new(None);

/// How long an unsynced (sync=0) write may wait in memory before it is
/// written out: the bound on what a power cut can lose.
pub const WAL_WRITEOUT_US: u64 = 5_000;

/// The worst case of that bound: records are checked at least once per
/// timer tick, so they reach the disk within the write-out delay plus one
/// tick of being buffered.
pub const WAL_LOSS_BOUND_MS: u64 = WAL_WRITEOUT_US / 1000 + 1000 / timer::TICK_HZ;

/// Times the CRC32C instructions against the tables on a 4 KiB block and
/// keeps the faster, once both agree: on silicon the instructions win by
/// far, under QEMU's TCG (each instruction a call into the emulator) the
/// tables do, by about 40% (every block read from the disk is checked).
fn choose_crc32c() {
    use lsm::crc32c;
    if !crc32c::uses_hardware() {
        return;
    }
    let block: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(131) + 7) as u8)
        .collect();
    let time = |software: bool| {
        crc32c::use_software(software);
        let mut best = u64::MAX;
        let mut crc = 0;
        for _ in 0..5 {
            let t = timer::counter();
            crc = crc32c::value(&block);
            best = best.min(timer::counter() - t);
        }
        (best * 1_000_000_000 / timer::frequency().max(1), crc)
    };
    let (hw_ns, hw) = time(false);
    let (sw_ns, sw) = time(true);
    if hw != sw {
        log::error!(
            "crc32c: the CRC32 instructions give {hw:#010x}, the tables {sw:#010x}: using the tables"
        );
        return;
    }
    crc32c::use_software(sw_ns < hw_ns);
    log::info!(
        "crc32c: {} ({} ns per 4 KiB; the {} take {} ns)",
        if sw_ns < hw_ns {
            "tables"
        } else {
            "CRC32 instructions"
        },
        hw_ns.min(sw_ns),
        if sw_ns < hw_ns {
            "instructions"
        } else {
            "tables"
        },
        hw_ns.max(sw_ns)
    );
}

fn init() -> Result<(), ServiceError> {
    choose_crc32c();
    let disk = crate::services::virtio::devices()
        .into_iter()
        .find(|d| d.device_id == 2)
        .ok_or(ServiceError::new(
            "no virtio block device: start QEMU with -drive if=none,file=disk.img,format=raw,id=hd0 \
             -device virtio-blk-device,drive=hd0 (tools/run does)",
        ))?;
    // SAFETY: the virtio-mmio service found a block device in this slot (from
    // the device tree, mapped as device memory); only this service drives it.
    let dev = unsafe { VirtioBlk::attach(disk.base, disk.size) }
        .map(Disk)
        .map_err(|e| ServiceError::owned(format!("disk at {:#x}: {e}", disk.base)))?;
    let capacity = lsm::device::BlockDevice::capacity(&dev);
    let (db, report) = Db::open(dev, options_for(capacity)).map_err(|e| {
        ServiceError::owned(format!(
            "disk at {:#x} ({} MiB): {e}",
            disk.base,
            capacity >> 20
        ))
    })?;
    if report.formatted {
        log::warn!(
            "kv: the disk ({} MiB) was blank: formatted it as a unikv store",
            capacity >> 20
        );
    } else {
        log::info!(
            "kv: opened the store ({} MiB): {} tables, {} WAL records replayed, last sequence {}",
            capacity >> 20,
            report.tables,
            report.wal_records,
            report.last_sequence
        );
    }
    if report.wal_torn || report.wal_dropped_bytes > 0 {
        log::warn!(
            "kv: the WAL ended in a torn record ({} bytes dropped): writes in flight at the crash, never acknowledged",
            report.wal_dropped_bytes
        );
    }
    if report.manifest_torn {
        log::warn!("kv: the manifest ended in a torn record: an uncommitted change, ignored");
    }
    *KV.lock() = Some(Kv {
        db,
        buffered_since: None,
    });
    Ok(())
}

/// LevelDB's sizes (4 MiB memtable, 2 MiB tables) suit big disks; on a
/// small one they would leave no room for a compaction's output next to its
/// input, so memtable and tables shrink with the disk (about 1/128 of it).
fn options_for(capacity: u64) -> Options {
    let mut o = Options::default();
    let table = (capacity / 128).clamp(64 << 10, o.table_size);
    o.table_size = table;
    o.write_buffer_size = (table * 2).min(o.write_buffer_size as u64) as usize;
    o.l1_max_bytes = table * 5;
    o
}

fn exit() -> Result<(), ServiceError> {
    let Some(mut kv) = KV.lock().take() else {
        return Ok(());
    };
    let result = kv.db.sync_wal().and_then(|()| kv.db.flush());
    let _ = kv.db.close();
    result.map_err(|e| ServiceError::owned(format!("making the store durable: {e}")))
}

/// Runs `f` on the store, or says why there is none.
pub fn with<R>(f: impl FnOnce(&mut Store) -> Result<R, lsm::Error>) -> Result<R, String> {
    let mut guard = KV.lock();
    let kv = guard.as_mut().ok_or_else(not_running)?;
    f(&mut kv.db).map_err(|e| format!("{e}"))
}

fn not_running() -> String {
    let state = crate::registry::table()
        .into_iter()
        .find(|(d, _)| d.name == "kv")
        .map(|(_, s)| s)
        .unwrap_or_default();
    format!(
        "the store is not available: service 'kv' is {state} (see LOG; SERVICE START kv retries)"
    )
}

static GROUP_COMMITS: AtomicU64 = AtomicU64::new(0);
static GROUPED_WRITES: AtomicU64 = AtomicU64::new(0);

/// Whether the store takes this key and value (the store's own limits).
pub fn accepts(key: &[u8], value: &[u8]) -> bool {
    let o = Options::default();
    !key.is_empty() && key.len() <= o.max_key_len && value.len() <= o.max_value_len
}

/// Counts a group commit of `n` writes (for INFO storage).
pub fn note_group(n: u32) {
    GROUP_COMMITS.fetch_add(1, Ordering::Relaxed);
    GROUPED_WRITES.fetch_add(u64::from(n), Ordering::Relaxed);
}

/// (group commits, writes they carried) since boot.
pub fn group_stats() -> (u64, u64) {
    (
        GROUP_COMMITS.load(Ordering::Relaxed),
        GROUPED_WRITES.load(Ordering::Relaxed),
    )
}

/// Notes that WAL records were left buffered (a sync=0 write).
pub fn note_buffered() {
    if let Some(kv) = KV.lock().as_mut() {
        kv.buffered_since.get_or_insert_with(timer::counter);
    }
}

/// Writes buffered WAL records out once they have waited `WAL_WRITEOUT_US`;
/// called from the shell's loop on every wake-up (at least every tick) and
/// from benchmarks between operations.
pub fn tick() {
    let mut guard = KV.lock();
    let Some(kv) = guard.as_mut() else { return };
    let Some(since) = kv.buffered_since else {
        return;
    };
    // Compared in counter ticks: this runs once per benchmark operation and
    // a conversion to microseconds is a 128-bit division.
    if timer::counter() - since >= timer::frequency() / 1_000_000 * WAL_WRITEOUT_US {
        if let Err(e) = kv.db.write_out_wal() {
            log::error!("kv: writing out buffered WAL records: {e}");
        }
        kv.buffered_since = None;
    }
}

crate::service!(KV_SERVICE {
    name: "kv",
    description: "LSM key-value store on the virtio-blk disk (WAL, SSTables, leveled compaction)",
    author: "The unikv developers",
    license: "MIT OR Apache-2.0",
    alias: "store",
    depends: ["virtio-mmio"],
    init: init,
    exit: Some(exit),
});

//! The kv service: the LSM store (`lsm::Db`) on the first virtio-blk disk.
//!
//! At start it attaches the disk, formats it if it is blank (and says so),
//! refuses a disk of another format or version without writing to it, and
//! replays the WAL. Without a disk the service fails with the reason, and
//! the kernel boots on without it. Its exit makes everything durable (WAL
//! synced, memtable flushed to a table), so `SHUTDOWN`, `REBOOT` and
//! `SERVICE STOP kv` leave a clean disk.
//!
//! The store itself, with its promises (group commit, the sync=0 deadline,
//! the trace), is `kv::Store`, portable and host-tested; this file gives it
//! a disk and a clock, and keeps it in [`STORE`] for every session. The
//! store is used from sessions only (never in interrupt context), so a
//! plain lock around it is enough. With two cores or more its flushes and
//! compactions run on the background core ([`background_loop`]) without
//! that lock, as LevelDB's background thread runs without its mutex.

use alloc::{boxed::Box, format, vec::Vec};
use hal::arch::timer;
use hal::drivers::virtio_blk::{BlkError, VirtioBlk};
use kcore::registry::ServiceError;
use kv::{Clock, Store, StoreCell};
use lsm::db::{Db, Options};
use lsm::device::{check_request, BlockDevice, DeviceError};
use lsm::percore::CoreIndex;

/// The store, for every session; `None` while the service is stopped.
/// Its per-core slots go by TPIDR_EL1, where `hal::cpus` keeps each core's
/// index (lsm reads it in place).
pub static STORE: StoreCell = StoreCell::per_core(None, CoreIndex::Tpidr);

/// The virtio-blk disk as the store's `BlockDevice`.
struct VirtioDisk(VirtioBlk);

fn device_error(e: BlkError) -> DeviceError {
    DeviceError::Io(e.code())
}

impl BlockDevice for VirtioDisk {
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

    fn start_flush(&mut self) -> Result<bool, DeviceError> {
        self.0.start_flush().map_err(device_error)
    }

    fn poll_flush(&mut self) -> Option<Result<(), DeviceError>> {
        Some(self.0.poll_flush()?.map_err(device_error))
    }

    fn write_durable(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        check_request(offset, data.len(), self.0.capacity())?;
        self.0.write_durable(offset, data).map_err(device_error)
    }

    fn start_durable_write(&mut self, offset: u64, data: Vec<u8>) -> Result<bool, DeviceError> {
        check_request(offset, data.len(), self.0.capacity())?;
        self.0
            .start_durable_write(offset, data)
            .map_err(device_error)
    }
}

/// The generic timer (its physical count, as `timer::counter` reads it,
/// read in place by `kv::Clock`), and the tick that calls `Store::tick`
/// at least this often (the session loop wakes on every tick).
pub fn clock() -> Clock {
    Clock {
        now: lsm::clock::Counter::Cntpct,
        hz: timer::frequency(),
        tick_hz: timer::TICK_HZ,
        wall_us: hal::drivers::pl031::wall_us,
    }
}

/// Sleeps in `wfi` while `still()` holds (looked at with interrupts masked,
/// so that the holder's wake-up after it cannot be missed).
fn park_for_disk(still: &dyn Fn() -> bool) {
    hal::arch::cpu::wait_for_interrupt_if(still);
}

/// Wakes the cores of `cores` (one bit each) that sleep for the disk.
fn unpark_for_disk(cores: usize) {
    let me = hal::cpus::index();
    (0..usize::BITS as usize)
        .filter(|&c| cores & (1 << c) != 0 && c != me)
        .for_each(hal::arch::smp::wake);
}

/// How long a writer stopped by the store's brakes sleeps before it looks
/// again: a flush or a compaction it waits for takes milliseconds.
const STALL_WAIT_US: u64 = 200;

/// A writer stopped by the store's brakes (a full memtable while the
/// frozen one is flushed, level 0 at its stop trigger; under STORE's lock)
/// waits for the background core asleep, a little at a time. It waited in
/// `wfe` for a job's `sev`, but QEMU runs `wfe` as a no-op when it emulates
/// several cores at once (MTTCG): the writer spun, on a host core that the
/// background core's job needed.
fn wait_for_background() {
    timer::delay_us(STALL_WAIT_US);
}

/// Times the CRC32C instructions against the tables on a 4 KiB block and
/// keeps the faster, once both agree (every block read from the disk is
/// checked): on silicon the instructions win by far, under QEMU's TCG
/// (each instruction a call into the emulator, each table load a lookup
/// in its software TLB) they come close; timed in turn, the instructions
/// won on six boots of six on this host, by 5-27% (6.5-9.4 us a block).
fn choose_crc32c() {
    use lsm::crc32c;
    if !crc32c::uses_hardware() {
        return;
    }
    let block: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(131) + 7) as u8)
        .collect();
    let once = |software: bool| {
        crc32c::use_software(software);
        let t = timer::counter();
        let crc = crc32c::value(&block);
        (timer::counter() - t, crc)
    };
    // The two in turn, the best of each: timed one after the other, a
    // slow spell of the host landed on one side and the choice flipped
    // from boot to boot (tables 13-21 us against instructions 16-25 us,
    // then instructions 26 us against tables 29 us).
    let (mut hw_best, mut sw_best, mut hw, mut sw) = (u64::MAX, u64::MAX, 0, 0);
    for _ in 0..12 {
        let (t, c) = once(false);
        (hw_best, hw) = (hw_best.min(t), c);
        let (t, c) = once(true);
        (sw_best, sw) = (sw_best.min(t), c);
    }
    let ns = |ticks: u64| ticks * 1_000_000_000 / timer::frequency().max(1);
    let (hw_ns, sw_ns) = (ns(hw_best), ns(sw_best));
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

/// The disk's interrupt, if no other device raises the same line (PCI
/// functions share INTx lines four ways).
fn own_line(intid: Option<u32>) -> Option<u32> {
    let i = intid?;
    let virtio = crate::services::virtio::devices()
        .iter()
        .filter(|d| d.intid == Some(i))
        .count();
    let pci = crate::services::virtio::pci_functions()
        .iter()
        .filter(|f| f.virtio_type.is_none() && f.intid.is_some_and(|(j, _)| j == i))
        .count();
    (virtio == 1 && pci == 0).then_some(i)
}

fn init() -> Result<(), ServiceError> {
    choose_crc32c();
    let disk = crate::services::virtio::devices()
        .into_iter()
        .find(|d| d.device_id == 2)
        .ok_or(ServiceError::new(
            "no virtio block device: start QEMU with -drive if=none,file=disk.img,format=raw,id=hd0 \
             -device virtio-blk-device,drive=hd0 (tools/run does), or -drive file=disk.img,if=virtio,format=raw",
        ))?;
    let at = disk.location;
    // SAFETY: the virtio bus service found this block device (an mmio slot
    // from the device tree, or a PCI function whose BARs it assigned); only
    // this service drives it.
    let transport = unsafe { disk.transport() }
        .map_err(|e| ServiceError::owned(format!("disk at {at}: {e}")))?;
    let dev = VirtioBlk::attach(transport, own_line(disk.intid))
        .map_err(|e| ServiceError::owned(format!("disk at {at}: {e}")))?;
    match dev.interrupt() {
        Some(i) => log::info!("kv: disk requests wait asleep for INTID {i}"),
        None => log::info!("kv: disk requests are polled (no interrupt line of its own)"),
    }
    log::info!(
        "kv: the disk's write cache: {}",
        hal::drivers::virtio_blk::stats::write_cache().name()
    );
    let capacity = dev.capacity();
    let dev: kv::Disk = Box::new(VirtioDisk(dev));
    let mut opts = Options::for_disk(capacity);
    opts.core = CoreIndex::Tpidr;
    // A request that finds the disk busy with another core's sleeps until
    // that one lets go (an SGI), rather than spinning through it.
    opts.park = Some(park_for_disk);
    opts.unpark = Some(unpark_for_disk);
    // Index and filter blocks are ~2% of the tables: an eighth of the heap
    // keeps those of a disk several times the RAM; past it, tables are
    // served through the cache.
    opts.pinned_meta_limit = hal::heap::stats().free as u64 / 8;
    let background = crate::cores::background_core().is_some();
    if background {
        opts.background = true;
        // Work for the background core: an SGI wakes it.
        opts.wake = Some(crate::cores::wake_background);
        opts.wait = Some(wait_for_background);
        opts.delay_us = Some(timer::delay_us);
    }
    let (db, report) = Db::open(dev, opts)
        .map_err(|e| ServiceError::owned(format!("disk at {at} ({} MiB): {e}", capacity >> 20)))?;
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
    let store = Store::new(db, clock());
    if background {
        *BACKGROUND.lock() = Some(store.background());
        crate::cores::wake_background();
        log::info!(
            "kv: flushes and compactions run on CPU {}",
            crate::cores::BACKGROUND_CPU
        );
    }
    *STORE.lock() = Some(store);
    Ok(())
}

/// The store's background work, for the core that runs it (`cores`):
/// memtable flushes and compactions, which need nothing [`STORE`]'s lock
/// protects. `None` while the service is stopped, or when there is no
/// core for it (then writes flush and compact inline, as on one core).
static BACKGROUND: spin::Mutex<Option<lsm::db::Background<kv::Disk>>> = spin::Mutex::new(None);

/// The background core's loop: a unit of work at a time while there is
/// some, `wfi` between (the store's wake hook sends an SGI when a memtable
/// is frozen or a writer waits).
pub fn background_loop() -> ! {
    loop {
        let bg = BACKGROUND.lock().clone();
        match bg.as_ref().map(lsm::db::Background::work) {
            Some(Ok(true)) => continue,
            Some(Err(e)) => log::error!("kv: background flush or compaction: {e}"),
            _ => {}
        }
        // An SGI that came since the check ends the wait at once.
        hal::arch::cpu::wait_for_interrupt_if(|| !bg.as_ref().is_some_and(|b| b.pending()));
    }
}

fn exit() -> Result<(), ServiceError> {
    // The background core finishes the job it is in (close waits for it)
    // and then finds nothing to do.
    BACKGROUND.lock().take();
    let Some(store) = STORE.lock().take() else {
        return Ok(());
    };
    store
        .close()
        .map_err(|e| ServiceError::owned(format!("making the store durable: {e}")))
}

/// Writes out `sync=0` writes whose deadline came; the session loop calls
/// it on every wake-up (at least every tick).
pub fn tick() {
    if !upkeep() {
        return;
    }
    // A store another core holds is at work: that core's loop, or its
    // BENCH between operations, ticks it; a round that waited here would
    // only take the lock away from it.
    if let Some(store) = STORE.try_lock().as_mut().and_then(|g| g.as_mut()) {
        if let Err(e) = store.tick() {
            log::error!("kv: writing out buffered WAL records: {e}");
        }
    }
}

/// Whether the store has upkeep for a loop's round (see
/// `StoreCell::has_upkeep`): asked without a lock.
pub fn upkeep() -> bool {
    STORE.has_upkeep(timer::counter())
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

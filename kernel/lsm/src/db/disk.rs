//! The store's handle on its device: I/O counters for `INFO storage`, byte
//! reads at any offset for tables (rounded out to sectors), durable writes;
//! the allocator of table extents is `extents`.

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::Cell;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::device::{BlockDevice, ConcurrentRead, DeviceError, SECTOR_SIZE};
use crate::error::{Corruption, CorruptionKind, Error, Result};
use crate::park::{ParkGuard, ParkLock, Parking};
use crate::table::{BlockCheck, BlockKind, PinBudget, ReadAt};

pub use super::extents::{round_up, ExtentAllocator};
use super::version::Extent;

/// Device I/O issued by the store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IoStats {
    /// Read requests.
    pub reads: u64,
    /// Bytes read.
    pub read_bytes: u64,
    /// Write requests.
    pub writes: u64,
    /// Bytes written.
    pub write_bytes: u64,
    /// Flush requests.
    pub flushes: u64,
}

/// The device, shared by the store's parts through `&Disk`: the owner's
/// reads and writes and a background job's on another core. Each request
/// holds the device's lock for itself alone (the device is one queue);
/// nothing else is locked while it is held. A request that finds it held
/// sleeps until it is let go, where the embedder says how
/// ([`Options::park`](super::Options::park)). Reads skip the lock where
/// the device has a [`BlockDevice::concurrent_reader`].
pub struct Disk<D: BlockDevice> {
    /// `None` once the store has given the device back (closed): a job
    /// that outlived the store finds [`DeviceError::Closed`].
    dev: ParkLock<Option<D>>,
    /// The device's reader that needs no lock, if it has one.
    reader: Option<Arc<dyn ConcurrentRead>>,
    /// Set when the device is given back: reads through `reader` fail then
    /// as the others do.
    closed: AtomicBool,
    stats: IoCounters,
    /// Sector-aligned bounce buffer of unaligned block reads, kept between
    /// reads (up to `SCRATCH_KEEP` bytes) so they need not allocate; a read
    /// that finds it in use (another core's) allocates its own.
    scratch: spin::Mutex<Vec<u8>>,
}

/// [`IoStats`] as atomics, counted by whichever core issues the request.
#[derive(Default)]
struct IoCounters {
    reads: AtomicU64,
    read_bytes: AtomicU64,
    writes: AtomicU64,
    write_bytes: AtomicU64,
    flushes: AtomicU64,
}

/// The device, locked, for the owner's own requests.
pub struct DeviceGuard<'a, D: BlockDevice>(ParkGuard<'a, Option<D>>);

impl<D: BlockDevice> core::ops::Deref for DeviceGuard<'_, D> {
    type Target = D;
    fn deref(&self) -> &D {
        // A guard is made only while the device is there (see `device`).
        self.0.as_ref().expect("device present")
    }
}

impl<D: BlockDevice> core::ops::DerefMut for DeviceGuard<'_, D> {
    fn deref_mut(&mut self) -> &mut D {
        self.0.as_mut().expect("device present")
    }
}

/// The longest device request a write makes (see [`Disk::write`]): a
/// multiple of every sector size.
pub const WRITE_CHUNK: usize = 256 << 10;

/// Largest bounce buffer kept between reads.
const SCRATCH_KEEP: usize = 256 << 10;

impl<D: BlockDevice> Disk<D> {
    pub fn new(dev: D, parking: Parking) -> Self {
        Self {
            reader: dev.concurrent_reader(),
            closed: AtomicBool::new(false),
            dev: ParkLock::new(Some(dev), parking),
            stats: IoCounters::default(),
            scratch: spin::Mutex::new(Vec::new()),
        }
    }

    /// The device, locked; `None` once given back.
    pub fn device(&self) -> Option<DeviceGuard<'_, D>> {
        let g = self.dev.lock();
        g.is_some().then(|| DeviceGuard(g))
    }

    /// Gives the device back; every later request fails with
    /// [`DeviceError::Closed`].
    pub fn take(&self) -> Option<D> {
        self.closed.store(true, Ordering::Release);
        self.dev.lock().take()
    }

    pub fn stats(&self) -> IoStats {
        let s = &self.stats;
        IoStats {
            reads: s.reads.load(Ordering::Relaxed),
            read_bytes: s.read_bytes.load(Ordering::Relaxed),
            writes: s.writes.load(Ordering::Relaxed),
            write_bytes: s.write_bytes.load(Ordering::Relaxed),
            flushes: s.flushes.load(Ordering::Relaxed),
        }
    }

    pub fn capacity(&self) -> u64 {
        self.dev.lock().as_ref().map_or(0, |d| d.capacity())
    }

    /// Runs `f` on the device, locked for this one request.
    #[inline]
    fn with<T>(&self, f: impl FnOnce(&mut D) -> Result<T, DeviceError>) -> Result<T, DeviceError> {
        match self.dev.lock().as_mut() {
            Some(d) => f(d),
            None => Err(DeviceError::Closed),
        }
    }

    pub fn read(&self, offset: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        self.stats.reads.fetch_add(1, Ordering::Relaxed);
        self.stats
            .read_bytes
            .fetch_add(buf.len() as u64, Ordering::Relaxed);
        if let Some(r) = &self.reader {
            if self.closed.load(Ordering::Acquire) {
                return Err(DeviceError::Closed);
            }
            return r.read(offset, buf);
        }
        self.with(|d| d.read(offset, buf))
    }

    /// Writes `data` at `offset`; a write longer than [`WRITE_CHUNK`]
    /// (a table, from a flush or a compaction) goes as several requests,
    /// the device's lock let go between them, so that a lookup's block
    /// read on another core waits for one chunk, not the whole table:
    /// with the background core writing 2 MiB tables, lookups through an
    /// 8 MiB cache had a p99 of 2.4 ms.
    pub fn write(&self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        self.count_write(data.len());
        self.write_chunks(offset, data)
    }

    fn count_write(&self, len: usize) {
        self.stats.writes.fetch_add(1, Ordering::Relaxed);
        self.stats
            .write_bytes
            .fetch_add(len as u64, Ordering::Relaxed);
    }

    fn write_chunks(&self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        for (i, chunk) in data.chunks(WRITE_CHUNK).enumerate() {
            let at = offset + (i * WRITE_CHUNK) as u64;
            self.with(|d| d.write(at, chunk))?;
        }
        Ok(())
    }

    pub fn flush(&self) -> Result<(), DeviceError> {
        self.stats.flushes.fetch_add(1, Ordering::Relaxed);
        self.with(|d| d.flush())
    }

    /// [`BlockDevice::start_flush`]: `Ok(true)` while it runs on.
    pub fn start_flush(&self) -> Result<bool, DeviceError> {
        self.stats.flushes.fetch_add(1, Ordering::Relaxed);
        self.with(|d| d.start_flush())
    }

    /// [`BlockDevice::start_durable_write`]: `Ok(true)` while it runs on.
    /// Counted as a write and a flush. A write longer than [`WRITE_CHUNK`]
    /// goes out in chunks as [`Disk::write`]'s do, the last one durable
    /// with them all.
    pub fn start_durable_write(&self, offset: u64, mut data: Vec<u8>) -> Result<bool, DeviceError> {
        let head = self.durable_head(offset, &data)?;
        if head > 0 {
            data.drain(..head);
        }
        self.with(|d| d.start_durable_write(offset + head as u64, data))
    }

    /// [`BlockDevice::write_durable`], as [`Disk::start_durable_write`].
    pub fn write_durable(&self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        let head = self.durable_head(offset, data)?;
        self.with(|d| d.write_durable(offset + head as u64, &data[head..]))
    }

    /// Counts a durable write of `data` and writes all of it but its last
    /// chunk, plainly; how many bytes that was.
    fn durable_head(&self, offset: u64, data: &[u8]) -> Result<usize, DeviceError> {
        self.count_write(data.len());
        self.stats.flushes.fetch_add(1, Ordering::Relaxed);
        let head = data.len().saturating_sub(1) / WRITE_CHUNK * WRITE_CHUNK;
        self.write_chunks(offset, &data[..head])?;
        Ok(head)
    }

    /// [`BlockDevice::poll_flush`]. It may wait for another core's request
    /// (which waits for the flush first): a `None` then always means the
    /// device still has the flush.
    pub fn poll_flush(&self) -> Option<Result<(), DeviceError>> {
        match self.dev.lock().as_mut() {
            Some(d) => d.poll_flush(),
            None => Some(Err(DeviceError::Closed)),
        }
    }

    /// Reads `buf.len()` bytes at any `offset`, through sector-aligned reads.
    pub fn read_unaligned(&self, offset: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        let sector = SECTOR_SIZE as u64;
        let start = offset - offset % sector;
        let end = (offset + buf.len() as u64).div_ceil(sector) * sector;
        if start == offset && end == offset + buf.len() as u64 {
            return self.read(offset, buf);
        }
        let mut tmp = vec![0u8; (end - start) as usize];
        self.read(start, &mut tmp)?;
        let at = (offset - start) as usize;
        buf.copy_from_slice(&tmp[at..at + buf.len()]);
        Ok(())
    }
}

impl<D: BlockDevice> Disk<D> {
    /// Reads `len` bytes at any `offset`, through sector-aligned reads into
    /// the reused bounce buffer, and hands them to `f`.
    pub fn read_unaligned_with<T>(
        &self,
        offset: u64,
        len: usize,
        f: impl FnOnce(&[u8]) -> T,
    ) -> Result<T, DeviceError> {
        let sector = SECTOR_SIZE as u64;
        let start = offset - offset % sector;
        let end = (offset + len as u64).div_ceil(sector) * sector;
        let span = (end - start) as usize;
        // Taken, not borrowed: a nested read, or one on another core, gets
        // a buffer of its own.
        let mut buf = self
            .scratch
            .try_lock()
            .map(|mut b| core::mem::take(&mut *b))
            .unwrap_or_default();
        if buf.len() < span {
            // Only the growth is zeroed; the buffer keeps its largest size.
            buf.resize(span, 0);
        }
        let r = self.read(start, &mut buf[..span]).map(|()| {
            let at = (offset - start) as usize;
            f(&buf[at..at + len])
        });
        if buf.len() <= SCRATCH_KEEP {
            if let Some(mut kept) = self.scratch.try_lock() {
                if kept.capacity() < buf.capacity() {
                    *kept = buf;
                }
            }
        }
        r
    }
}

/// A `BlockDevice` view of `&Disk`, for the WAL code.
pub struct DiskRef<'a, D: BlockDevice>(pub &'a Disk<D>);

impl<D: BlockDevice> BlockDevice for DiskRef<'_, D> {
    fn read(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        self.0.read(offset, buf)
    }
    fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        self.0.write(offset, data)
    }
    fn flush(&mut self) -> Result<(), DeviceError> {
        self.0.flush()
    }
    fn capacity(&self) -> u64 {
        self.0.capacity()
    }
    fn write_durable(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        self.0.write_durable(offset, data)
    }
}

/// A cache of verified blocks (data, index and filter), shared by every
/// table of a store; the kernel's read cache implements it so that every
/// block read it saves is counted under one memory budget.
///
/// Blocks are immutable and table numbers are never reused while the store
/// is open, so `(table, offset)` names a block for the life of the store
/// (offsets of different kinds never coincide within a table).
///
/// The store calls [`get_block`](Self::get_block) and
/// [`insert_block`](Self::insert_block); their defaults forward to the
/// kind-blind [`get`](Self::get) and [`insert`](Self::insert), so a cache
/// that does not care about kinds implements only those.
pub trait BlockCache {
    /// The block of `table` at `offset`, if cached.
    fn get(&self, table: u64, offset: u64) -> Option<Arc<[u8]>>;
    /// Offers a block that has just passed its checksum.
    fn insert(&self, table: u64, offset: u64, block: Arc<[u8]>);
    /// The table was deleted: its blocks will never be asked for again.
    fn erase_table(&self, _table: u64) {}
    /// Several tables were deleted at once (a compaction's inputs): a
    /// cache that must visit every entry to find a table's blocks does it
    /// once for all of them. By default, one table at a time.
    fn erase_tables(&self, tables: &[u64]) {
        for &t in tables {
            self.erase_table(t);
        }
    }
    /// The block of `table` at `offset`, of `kind`, if cached.
    fn get_block(&self, table: u64, offset: u64, _kind: BlockKind) -> Option<Arc<[u8]>> {
        self.get(table, offset)
    }
    /// Offers a block of `kind` that has just passed its checksum.
    fn insert_block(&self, table: u64, offset: u64, _kind: BlockKind, block: Arc<[u8]>) {
        self.insert(table, offset, block)
    }
    /// Bytes [`offer_block`](Self::offer_block) could take now without
    /// evicting anything. The default, 0, turns offers off.
    fn room(&self) -> u64 {
        0
    }
    /// A block of a table just written (so known good), offered while it is
    /// still in memory: kept only if there is room, evicting nothing, so
    /// that reads after writes find their blocks as they would in an OS
    /// page cache without a small cache losing what it holds (RocksDB's
    /// `prepopulate_block_cache`). The default ignores it.
    fn offer_block(&self, _table: u64, _offset: u64, _kind: BlockKind, _block: Arc<[u8]>) {}
    /// The block of `table` at `offset`, if cached, without counting a hit
    /// or touching its recency: a compaction reads its inputs once, and
    /// its reads are not reuse (RocksDB's compactions look blocks up
    /// without filling the cache). The default finds nothing.
    fn peek_block(&self, _table: u64, _offset: u64, _kind: BlockKind) -> Option<Arc<[u8]>> {
        None
    }
}

/// Blocks one lookup fetched, counted by the [`TableFile`]s it read through.
#[derive(Debug, Default)]
pub struct ReadCounter {
    /// Device reads (blocks the cache did not have, table footers).
    pub disk: Cell<u32>,
    /// Blocks fetched, whether the cache had them or not.
    pub blocks: Cell<u32>,
    /// Blocks the cache had.
    pub hits: Cell<u32>,
}

impl ReadCounter {
    /// Copies the counts into a lookup's statistics.
    pub fn fill(&self, stats: &mut super::lookup::LookupStats) {
        stats.disk_reads = self.disk.get();
        stats.block_reads = self.blocks.get();
        stats.cache_hits = self.hits.get();
    }
}

fn bump(c: &Cell<u32>) {
    c.set(c.get().saturating_add(1));
}

/// Where a table's bytes are: borrowed from its `FileMeta` for the length
/// of a lookup (no reference count touched, so readers on several cores
/// share no written cache line here), or held by an iterator that
/// outlives the borrow.
pub enum Extents<'a> {
    Borrowed(&'a [Extent]),
    Held(Arc<[Extent]>),
}

impl core::ops::Deref for Extents<'_> {
    type Target = [Extent];

    #[inline]
    fn deref(&self) -> &[Extent] {
        match self {
            Extents::Borrowed(e) => e,
            Extents::Held(e) => e,
        }
    }
}

/// One table's bytes on the disk.
pub struct TableFile<'a, D: BlockDevice> {
    pub disk: &'a Disk<D>,
    pub number: u64,
    pub extents: Extents<'a>,
    pub size: u64,
    pub cache: Option<&'a (dyn BlockCache + Send + Sync)>,
    pub counter: Option<&'a ReadCounter>,
    /// Served from the index and filter blocks the table keeps, pinned
    /// from this budget (`None`: through the cache).
    pub pins: Option<&'a Arc<PinBudget>>,
    /// Only peeks into the cache (a compaction's input): blocks it holds
    /// are taken without being counted as reuse, and blocks read are not
    /// offered to it.
    pub peek: bool,
}

impl<D: BlockDevice> TableFile<'_, D> {
    /// The device offset of table byte `offset` and how many bytes of the
    /// table follow it in the same extent.
    fn locate(&self, offset: u64) -> Result<(u64, u64)> {
        let mut start = 0u64;
        for e in self.extents.iter() {
            if offset < start + e.len {
                return Ok((e.offset + (offset - start), start + e.len - offset));
            }
            start += e.len;
        }
        Err(Corruption::new(CorruptionKind::OutOfBounds).into())
    }

    /// Checks that `len` bytes at `offset` lie inside the table and counts a
    /// device read for the lookup.
    fn start_read(&self, offset: u64, len: usize) -> Result<()> {
        let end = offset.checked_add(len as u64);
        if end.is_none_or(|e| e > self.size) {
            return Err(Corruption::new(CorruptionKind::OutOfBounds).into());
        }
        if let Some(c) = self.counter {
            bump(&c.disk);
        }
        Ok(())
    }

    /// Reads table bytes that may cross from one extent into the next.
    fn read_pieces(&self, mut offset: u64, buf: &mut [u8]) -> Result<()> {
        let mut done = 0;
        while done < buf.len() {
            let (at, run) = self.locate(offset)?;
            let n = (run as usize).min(buf.len() - done);
            self.disk
                .read_unaligned(at, &mut buf[done..done + n])
                .map_err(Error::Device)?;
            done += n;
            offset += n as u64;
        }
        Ok(())
    }
}

impl<D: BlockDevice> ReadAt for TableFile<'_, D> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.start_read(offset, buf.len())?;
        self.read_pieces(offset, buf)
    }

    fn cached_block(&self, offset: u64, kind: BlockKind) -> Option<Arc<[u8]>> {
        let b = self.cache.and_then(|c| match self.peek {
            true => c.peek_block(self.number, offset, kind),
            false => c.get_block(self.number, offset, kind),
        });
        if let Some(c) = self.counter {
            bump(&c.blocks);
            if b.is_some() {
                bump(&c.hits);
            }
        }
        b
    }

    fn cache_block(&self, offset: u64, kind: BlockKind, block: &Arc<[u8]>) {
        if let Some(c) = self.cache.filter(|_| !self.peek) {
            c.insert_block(self.number, offset, kind, Arc::clone(block));
        }
    }

    fn pin_budget(&self) -> Option<&Arc<PinBudget>> {
        self.pins
    }

    fn peek_block(&self, offset: u64, kind: BlockKind) -> Option<Arc<[u8]>> {
        self.cache?.peek_block(self.number, offset, kind)
    }

    fn read_with(
        &self,
        offset: u64,
        len: usize,
        f: &mut BlockCheck<'_>,
    ) -> Result<Result<Arc<[u8]>>> {
        self.start_read(offset, len)?;
        let (at, run) = self.locate(offset)?;
        if run < len as u64 {
            // The block crosses into the next extent: gather it first.
            let mut buf = vec![0u8; len];
            self.read_pieces(offset, &mut buf)?;
            return Ok(f(&buf));
        }
        self.disk
            .read_unaligned_with(at, len, f)
            .map_err(Error::Device)
    }
}

//! virtio-blk: byte-addressed reads and writes of whole sectors, and FLUSH.
//! The store's service adapts it to the store's `BlockDevice` (this layer
//! knows nothing of the store). It attaches through either transport:
//! virtio-blk-device (mmio) or virtio-blk-pci.
//!
//! Every request costs about 50 us under QEMU whatever its size, so the
//! store hands over large buffers and they go out as single requests of up
//! to `MAX_REQUEST` bytes.
//!
//! With an interrupt line of its own, a core that waits for any request,
//! FLUSH included, sleeps in `wfi` until the device's interrupt, routed to
//! it, says the request is done. Waiting by polling the used ring keeps a
//! host thread spinning for the whole request, a thread that the
//! emulator's own I/O and the other cores' vCPUs need: on a 2-core host the
//! background core's compaction and QEMU's completion of the very request
//! ran slower for it. FLUSH is the costly one (the host's fdatasync, 0.2 to
//! 0.8 ms), and spinning through it was 42% of a SET's guest instructions.
//!
//! So the driver is our own, on virtio-drivers' public queue and transport:
//! its `VirtIOBlk` offers FLUSH only as a call that spins until the device
//! is done, and keeps its queue to itself. Only one request is in flight at
//! a time, which keeps the queue's bookkeeping trivial: the caller holds
//! `&mut self` until it completes, except a FLUSH handed over with
//! [`VirtioBlk::start_flush`], which runs on while its starter serves (the
//! group commit's, 0.2 to 0.8 ms in which a core would otherwise sleep)
//! and which the next request of any core waits for first.
//!
//! A durable write (a group commit's WAL write) is one request where the
//! driver may switch the device's write cache off for it: `durable`.

mod durable;
mod error;
pub mod stats;

pub use error::{AttachError, BlkError};

use super::virtio::KernelHal;
use crate::arch::{cpu, gicv3, smp};
use alloc::{boxed::Box, vec::Vec};
use core::sync::atomic::{AtomicU64, Ordering};
use virtio_drivers::{
    queue::VirtQueue,
    transport::{DeviceStatus, SomeTransport, Transport},
    Error, PAGE_SIZE,
};

/// Largest single request: QEMU takes any size, this only bounds the time
/// one request holds the device.
const MAX_REQUEST: usize = 1 << 20;
/// virtio-blk's sector: every request is a whole number of them.
pub const SECTOR_SIZE: usize = 512;

/// virtio-blk has one request queue.
const QUEUE: u16 = 0;
/// One request is in flight at a time and takes at most three descriptors,
/// so any size would do; 16, virtio-drivers' own driver's, is one the
/// devices are known to offer and the DMA pool is sized for.
const QUEUE_SIZE: usize = 16;

// Feature bits (virtio 1.2, 5.2.3 and 6). Neither INDIRECT_DESC nor
// EVENT_IDX: a three-descriptor chain gains nothing from an indirect table,
// and without EVENT_IDX the ring's flag alone turns the device's interrupts
// off when they are polled for instead.
const F_RO: u64 = 1 << 5;
const F_FLUSH: u64 = 1 << 9;
const F_CONFIG_WCE: u64 = 1 << 11;
const F_VERSION_1: u64 = 1 << 32;
const SUPPORTED_FEATURES: u64 = F_RO | F_FLUSH | F_CONFIG_WCE | F_VERSION_1;

// Request types and statuses (virtio 1.2, 5.2.6).
const T_IN: u32 = 0;
const T_OUT: u32 = 1;
const T_FLUSH: u32 = 4;
const S_OK: u8 = 0;
const S_IOERR: u8 = 1;
const S_UNSUPP: u8 = 2;
/// Not a status the device sends: what the status byte holds until the
/// device writes it, so that a request it never answered is not taken for
/// a success.
const S_UNWRITTEN: u8 = 0xff;

/// A request's header as the device reads it: type, a reserved word, and
/// the first sector, little-endian.
fn header(kind: u32, sector: u64) -> [u8; 16] {
    let mut h = [0; 16];
    h[..4].copy_from_slice(&kind.to_le_bytes());
    h[8..].copy_from_slice(&sector.to_le_bytes());
    h
}

/// The device's verdict on a request.
fn status(byte: u8) -> Result<(), BlkError> {
    match byte {
        S_OK => Ok(()),
        S_IOERR => Err(BlkError::Device(Error::IoError)),
        S_UNSUPP => Err(BlkError::Device(Error::Unsupported)),
        S_UNWRITTEN => Err(BlkError::Device(Error::NotReady)),
        _ => Err(BlkError::Device(Error::IoError)),
    }
}

/// One virtio-blk disk.
pub struct VirtioBlk {
    transport: SomeTransport<'static>,
    queue: VirtQueue<KernelHal, QUEUE_SIZE>,
    capacity: u64,
    /// Whether the device takes FLUSH; one that does not has no volatile
    /// cache to flush (virtio 1.2, 5.2.6.2).
    flush: bool,
    /// Whether the driver may switch the device's write cache
    /// (CONFIG_WCE, and the switch seen to work at attach).
    switchable: bool,
    /// The write cache's state, as last set or read.
    writeback: bool,
    /// A write completed with the cache on and no FLUSH done since: it may
    /// still be volatile.
    volatile: bool,
    /// The device's interrupt, when a request's waiter sleeps until it.
    intid: Option<u32>,
    /// The core that interrupt was last routed to, so that a waiter on the
    /// same core as the last need not route it again (an emulated write to
    /// the distributor).
    routed_to: Option<usize>,
    /// A FLUSH [`VirtioBlk::start_flush`] handed over that nobody has seen
    /// done yet.
    in_flight: Option<InFlight>,
    /// How that FLUSH went, when another request found it done first; for
    /// [`VirtioBlk::poll_flush`].
    flush_done: Option<Result<(), BlkError>>,
    /// [`interrupts_taken`] when the line was last acknowledged and
    /// unmasked ([`VirtioBlk::reopen`]); `u64::MAX` before the first time.
    reopened_at: u64,
}

/// What the device reads for a request that runs on without a waiter:
/// its header, then its data unless it has none (a FLUSH).
fn inputs<'a>(both: &'a [&'a [u8]; 2]) -> &'a [&'a [u8]] {
    &both[..if both[1].is_empty() { 1 } else { 2 }]
}

/// A FLUSH, or a durable write, under way without a waiter.
struct InFlight {
    token: u16,
    /// The header the device reads and the status byte it writes, boxed
    /// so that they stay put while the driver moves.
    bufs: Box<FlushBuffers>,
    /// A durable write's bytes (a `Vec`'s heap buffer stays put too);
    /// empty for a FLUSH.
    data: Vec<u8>,
    /// Its starter, woken when another core's request finds it done.
    owner: usize,
}

struct FlushBuffers {
    header: [u8; 16],
    status: [u8; 1],
}

/// Disk interrupts taken, by every disk: a caller that started a FLUSH
/// reads it before it asks [`VirtioBlk::poll_flush`], and sleeps only while
/// it has not moved, so that a completion between the two is not slept
/// through.
static INTERRUPTS: AtomicU64 = AtomicU64::new(0);

/// Disk interrupts taken so far (see [`VirtioBlk::start_flush`]).
pub fn interrupts_taken() -> u64 {
    INTERRUPTS.load(Ordering::Acquire)
}

/// The line stays raised until the waiter acknowledges the device, which
/// it does in its own time; masked meanwhile, the line cannot storm.
fn on_interrupt(intid: u32) {
    let _ = gicv3::mask(intid);
    INTERRUPTS.fetch_add(1, Ordering::AcqRel);
}

/// The first steps of virtio 1.2, 3.1.1 (what `Transport::begin_init` does,
/// which takes its features as a `bitflags` type this crate does without):
/// reset, say hello, agree on features. Returns the agreed ones.
fn negotiate(transport: &mut SomeTransport<'static>) -> Result<u64, AttachError> {
    let hello = DeviceStatus::ACKNOWLEDGE | DeviceStatus::DRIVER;
    transport.set_status(DeviceStatus::empty());
    transport.set_status(hello);
    let features = transport.read_device_features() & SUPPORTED_FEATURES;
    transport.write_driver_features(features);
    transport.set_status(hello | DeviceStatus::FEATURES_OK);
    // A legacy device has no FEATURES_OK to withdraw; a modern one that
    // clears it refuses the features (3.1.1, step 6).
    if features & F_VERSION_1 != 0 && !transport.get_status().contains(DeviceStatus::FEATURES_OK) {
        transport.set_status(hello | DeviceStatus::FAILED);
        return Err(AttachError::Device(Error::Unsupported));
    }
    // Only a legacy queue's layout depends on it.
    transport.set_guest_page_size(PAGE_SIZE as u32);
    Ok(features)
}

impl VirtioBlk {
    /// Attaches to the block device behind `transport`. With `intid` (a
    /// line no other device raises) requests are waited for asleep.
    pub fn attach(
        mut transport: SomeTransport<'static>,
        intid: Option<u32>,
    ) -> Result<Self, AttachError> {
        let features = negotiate(&mut transport)?;
        // Refused before the queue is set up: dropping the transport then
        // resets the device, and nothing points it at freed memory.
        if features & F_RO != 0 {
            return Err(AttachError::ReadOnly);
        }
        // The capacity's halves must come from one generation of the
        // config space, should the disk be resized in between.
        let sectors = transport
            .read_consistent(|| {
                let low: u32 = transport.read_config_space(0)?;
                let high: u32 = transport.read_config_space(4)?;
                Ok((u64::from(high) << 32) | u64::from(low))
            })
            .map_err(AttachError::Device)?;
        let mut queue =
            VirtQueue::new(&mut transport, QUEUE, false, false).map_err(AttachError::Device)?;
        let intid = intid.filter(|&i| match gicv3::claim(i, on_interrupt) {
            Ok(()) => true,
            Err(e) => {
                log::warn!("virtio-blk: interrupt {i}: {e}; requests are polled");
                false
            }
        });
        // A polling waiter has no use for the device's interrupts, and a
        // line it shares with another device must not stay raised by ours.
        queue.set_dev_notify(intid.is_some());
        let flush = features & F_FLUSH != 0;
        let mut blk = Self {
            transport,
            queue,
            capacity: sectors.saturating_mul(SECTOR_SIZE as u64),
            flush,
            switchable: false,
            writeback: flush,
            // Whatever ran before may have left writes in the cache.
            volatile: flush,
            intid,
            routed_to: None,
            in_flight: None,
            reopened_at: u64::MAX,
            flush_done: None,
        };
        blk.transport.finish_init();
        blk.probe_cache(features & F_CONFIG_WCE != 0);
        stats::set_cache(match (blk.flush, blk.switchable, blk.writeback) {
            (false, ..) => stats::WriteCache::None,
            (true, true, _) => stats::WriteCache::Switched,
            (true, false, false) => stats::WriteCache::Off,
            (true, false, true) => stats::WriteCache::On,
        });
        Ok(blk)
    }

    /// Whether a request's waiter sleeps until the device's interrupt.
    pub fn interrupt(&self) -> Option<u32> {
        self.intid
    }

    /// Returns once the device has used the request `token`: asleep until
    /// its interrupt, on the waiting core.
    fn wait(&mut self, intid: u32, token: u16) {
        self.route_here(intid);
        loop {
            if self.queue.peek_used() == Some(token) {
                return;
            }
            // An interrupt taken after an earlier request was seen done
            // left the line masked: clear it, so this one's can come.
            self.reopen(intid);
            // An interrupt taken since `reopen` (an earlier request's,
            // seen done before it came) masked the line again: look
            // again rather than sleep through this one's completion.
            cpu::wait_for_interrupt_if(|| {
                self.queue.peek_used() != Some(token)
                    && INTERRUPTS.load(Ordering::Acquire) == self.reopened_at
            });
        }
    }

    /// Acknowledges the device and unmasks its line, if an interrupt was
    /// taken (and so the line masked) since this was last done: each is an
    /// exit to the emulator under QEMU's big lock, which the thread that
    /// completes requests and carries the network's packets holds too, and
    /// the network's loop polls a FLUSH under way every round (3 of them
    /// per poll, ~10 per group commit at `-c 10` SETs, 2026-12-04 trace).
    fn reopen(&mut self, intid: u32) {
        let taken = INTERRUPTS.load(Ordering::Acquire);
        if taken == self.reopened_at {
            return;
        }
        self.transport.ack_interrupt();
        let _ = gicv3::unmask(intid);
        self.reopened_at = taken;
    }

    /// Routes the device's interrupt to this core.
    fn route_here(&mut self, intid: u32) {
        let me = crate::cpus::index();
        if self.routed_to != Some(me) && gicv3::route_here(intid).is_ok() {
            self.routed_to = Some(me);
        }
    }

    /// Waits for a FLUSH under way and keeps its outcome for its starter
    /// (woken, should it sleep meanwhile), so that the queue holds one
    /// request at a time.
    fn settle(&mut self) {
        let (Some(mut f), Some(intid)) = (self.in_flight.take(), self.intid) else {
            return;
        };
        self.wait(intid, f.token);
        self.flush_done = Some(self.finish_in_flight(&mut f));
        if f.owner != crate::cpus::index() {
            smp::wake(f.owner);
        }
    }

    /// Takes the FLUSH or durable write `f` back from the device, which
    /// has used it.
    fn finish_in_flight(&mut self, f: &mut InFlight) -> Result<(), BlkError> {
        let FlushBuffers { header, status: st } = &mut *f.bufs;
        let flush = f.data.is_empty();
        let both = [&header[..], &f.data[..]];
        // SAFETY: the very buffers `hand_over` gave `add` (the same
        // `inputs`), for the token it returned, which the device has now
        // used.
        unsafe {
            self.queue
                .pop_used(f.token, inputs(&both), &mut [&mut st[..]])
        }
        .map_err(BlkError::Device)?;
        let done = status(st[0]);
        // Every write completed before the FLUSH was handed over (one
        // request at a time), so it covered them all.
        if flush && done.is_ok() {
            self.volatile = false;
        }
        done
    }

    /// Forgets how an earlier FLUSH or durable write went, unless it
    /// failed: its starter still has to hear that.
    fn forget_done(&mut self) {
        if !matches!(self.flush_done, Some(Err(_))) {
            self.flush_done = None;
        }
    }

    /// Hands the device a FLUSH of every completed write and returns at
    /// once: `Ok(true)` while it runs (its interrupt, routed to this core,
    /// says when it is done; [`Self::poll_flush`] then says how it went),
    /// `Ok(false)` if it is done already: a device without FLUSH, or one
    /// whose requests are polled (nothing would wake the caller), which
    /// flushes here. Read [`interrupts_taken`] before each poll, and sleep
    /// only while it has not moved. Every other request waits for it first.
    pub fn start_flush(&mut self) -> Result<bool, BlkError> {
        self.settle();
        self.forget_done();
        let Some(intid) = self.intid.filter(|_| self.flush && self.volatile) else {
            return self.flush().map(|()| false);
        };
        self.hand_over(intid, header(T_FLUSH, 0), Vec::new())
    }

    /// Hands the device a request that runs on without a waiter (a FLUSH,
    /// `data` empty, or a durable write of `data`) and returns `Ok(true)`:
    /// [`Self::poll_flush`] says how it went.
    fn hand_over(&mut self, intid: u32, header: [u8; 16], data: Vec<u8>) -> Result<bool, BlkError> {
        self.route_here(intid);
        // An earlier request's interrupt cleared and the line open before
        // the device has this one, so that its completion's interrupt comes.
        self.reopen(intid);
        stats::count(&header, self.writeback);
        let mut bufs = Box::new(FlushBuffers {
            header,
            status: [S_UNWRITTEN],
        });
        let FlushBuffers { header, status } = &mut *bufs;
        let both = [&header[..], &data[..]];
        // SAFETY: the header and status are the box's and the bytes the
        // vector's heap buffer (which stays put when the vector moves);
        // `in_flight` keeps both, untouched, until `finish_in_flight` gives
        // them back, and whatever ends the driver's use of the queue
        // settles it first (every request, and the drop).
        let token = unsafe { self.queue.add(inputs(&both), &mut [&mut status[..]]) }
            .map_err(BlkError::Device)?;
        if self.queue.should_notify() {
            self.transport.notify(QUEUE);
        }
        self.in_flight = Some(InFlight {
            token,
            bufs,
            data,
            owner: crate::cpus::index(),
        });
        Ok(true)
    }

    /// How the FLUSH [`Self::start_flush`] left running went, once the
    /// device is done (or when none runs); `None` while it runs, the
    /// device's interrupt then routed to this core and open.
    pub fn poll_flush(&mut self) -> Option<Result<(), BlkError>> {
        if let Some(done) = self.flush_done.take() {
            return Some(done);
        }
        let (token, intid) = match (&self.in_flight, self.intid) {
            (Some(f), Some(intid)) => (f.token, intid),
            _ => return Some(Ok(())),
        };
        if self.queue.peek_used() != Some(token) {
            self.route_here(intid);
            self.reopen(intid);
            // Done between the look and the acknowledgement: its
            // interrupt may be gone with it.
            if self.queue.peek_used() != Some(token) {
                return None;
            }
        }
        let mut f = self.in_flight.take()?;
        Some(self.finish_in_flight(&mut f))
    }

    /// Hands the device one request, `inputs` for it to read and `outputs`
    /// (the status byte last) for it to write, and returns once it is done.
    fn request<'a>(
        &mut self,
        inputs: &'a [&'a [u8]],
        outputs: &'a mut [&'a mut [u8]],
    ) -> Result<(), BlkError> {
        self.settle();
        // SAFETY: the buffers stay borrowed, untouched by anyone else, until
        // `pop_used` below gives them back, which always runs: waiting for
        // the token cannot fail, and nothing between returns early.
        let token = unsafe { self.queue.add(inputs, outputs) }.map_err(BlkError::Device)?;
        if let Some(h) = inputs.first().and_then(|h| <&[u8; 16]>::try_from(*h).ok()) {
            stats::count(h, self.writeback);
        }
        if self.queue.should_notify() {
            self.transport.notify(QUEUE);
        }
        match self.intid {
            Some(intid) => self.wait(intid, token),
            None => {
                while self.queue.peek_used() != Some(token) {
                    core::hint::spin_loop();
                }
            }
        }
        // SAFETY: the very buffers `add` was given, for the token it
        // returned, which the device has now used.
        unsafe { self.queue.pop_used(token, inputs, outputs) }.map_err(BlkError::Device)?;
        Ok(())
    }

    fn read_request(&mut self, sector: usize, buf: &mut [u8]) -> Result<(), BlkError> {
        let req = header(T_IN, sector as u64);
        let mut resp = [S_UNWRITTEN];
        self.request(&[&req], &mut [buf, &mut resp])?;
        status(resp[0])
    }

    fn write_request(&mut self, sector: usize, buf: &[u8]) -> Result<(), BlkError> {
        let req = header(T_OUT, sector as u64);
        let mut resp = [S_UNWRITTEN];
        // A durable write in flight ends first: the cache is switched
        // between requests only.
        self.settle();
        self.cache(true);
        // Written with the cache on, it may stay volatile until a FLUSH
        // (even a failed write may have changed some sectors).
        self.volatile |= self.writeback;
        self.request(&[&req, buf], &mut [&mut resp])?;
        status(resp[0])
    }

    /// The disk's size in bytes.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// The first sector of a request of `len` bytes at `offset`, once it is
    /// known to be whole sectors inside the disk: refused here, a bad
    /// request costs no round trip to the device, and no empty buffer
    /// reaches the queue (which asserts there are none).
    fn start(&self, offset: u64, len: usize) -> Result<usize, BlkError> {
        if !offset.is_multiple_of(SECTOR_SIZE as u64) || !len.is_multiple_of(SECTOR_SIZE) {
            return Err(BlkError::Unaligned);
        }
        if offset
            .checked_add(len as u64)
            .is_none_or(|end| end > self.capacity)
        {
            return Err(BlkError::OutOfRange);
        }
        Ok((offset / SECTOR_SIZE as u64) as usize)
    }

    /// Reads `buf.len()` bytes at byte `offset`.
    pub fn read(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), BlkError> {
        let mut sector = self.start(offset, buf.len())?;
        for chunk in buf.chunks_mut(MAX_REQUEST) {
            self.read_request(sector, chunk)?;
            sector += chunk.len() / SECTOR_SIZE;
        }
        Ok(())
    }

    /// Writes `data` at byte `offset`.
    pub fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), BlkError> {
        let mut sector = self.start(offset, data.len())?;
        for chunk in data.chunks(MAX_REQUEST) {
            self.write_request(sector, chunk)?;
            sector += chunk.len() / SECTOR_SIZE;
        }
        Ok(())
    }

    /// Makes every completed write durable (virtio's FLUSH).
    pub fn flush(&mut self) -> Result<(), BlkError> {
        // A durable write in flight first: it may leave nothing volatile.
        self.settle();
        if !self.flush || !self.volatile {
            return Ok(());
        }
        let req = header(T_FLUSH, 0);
        let mut resp = [S_UNWRITTEN];
        self.request(&[&req], &mut [&mut resp])?;
        status(resp[0])?;
        self.volatile = false;
        Ok(())
    }
}

impl Drop for VirtioBlk {
    fn drop(&mut self) {
        // The device must be done with the FLUSH's buffers before they go.
        self.settle();
        if let Some(i) = self.intid {
            let _ = gicv3::disable(i);
        }
        // The queue's memory goes back to the DMA pool next: the device must
        // not point at it, and a later attach (the service restarted) finds
        // the queue free to set up again.
        self.transport.queue_unset(QUEUE);
    }
}

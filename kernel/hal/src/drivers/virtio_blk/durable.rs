//! Durable writes in one request: the device's write cache switched off
//! for a write that must be durable, on again for plain ones.
//!
//! A group commit needs its WAL write durable, which with the device's
//! write cache on is a write and then a FLUSH: two requests, and between
//! them a round trip through the guest (the write's interrupt, the FLUSH's
//! notify), 80-110 us under QEMU (2026-12-04, host syscalls traced). Where
//! the device lets the driver switch its cache (VIRTIO_BLK_F_CONFIG_WCE),
//! a durable write turns it off for that write (QEMU then writes and
//! fdatasyncs in one request: virtio 1.2, 5.2.6.2, a write made and
//! completed while `writeback` is 0 is stable) and the next plain write
//! turns it on again, so that tables and `sync=0` WAL writes keep the cache
//! (each would otherwise pay the host's fdatasync: `BENCH fillrandom` at
//! 1,000,000 keys ran 12% slower with every write through). A durable write
//! while some plain write may still be volatile goes the long way, write
//! and FLUSH, and so does every one on a device without the switch. A
//! cache off from the start (`-drive cache=writethrough`) stays off.

use super::{header, status, BlkError, VirtioBlk, MAX_REQUEST, S_UNWRITTEN, T_OUT};
use alloc::vec::Vec;
use virtio_drivers::transport::Transport;

/// `writeback` in the config space (virtio 1.2, 5.2.4): after capacity,
/// size_max, seg_max, geometry, blk_size and topology.
const CONFIG_WRITEBACK: usize = 32;

impl VirtioBlk {
    /// At attach, with CONFIG_WCE negotiated or not: what the cache is,
    /// and whether it switches.
    pub(super) fn probe_cache(&mut self, config_wce: bool) {
        if !config_wce {
            return;
        }
        // Off from the start (`-drive cache=writethrough`) it stays off:
        // every write is durable as it completes.
        let on: Result<u8, _> = self.transport.read_config_space(CONFIG_WRITEBACK);
        self.writeback = on.map_or(self.flush, |b| b != 0);
        self.volatile &= self.writeback;
        if self.writeback && self.flush {
            self.switchable = self.set_writeback(false) && self.set_writeback(true);
        }
    }

    /// Whether a durable write of `len` bytes can be one request: nothing
    /// volatile for it to cover, and the cache off (switched off if need
    /// be). Between requests only.
    fn durable_in_one(&mut self, len: usize) -> bool {
        len != 0 && len <= MAX_REQUEST && !self.volatile && self.cache(false)
    }

    /// Switches the device's write cache on or off, and reads the switch
    /// back: whether it took. Between requests only (none is in flight).
    fn set_writeback(&mut self, on: bool) -> bool {
        self.write_writeback(on);
        let now: Result<u8, _> = self.transport.read_config_space(CONFIG_WRITEBACK);
        self.writeback = now != Ok(0);
        self.writeback == on
    }

    /// The cache as a plain write (`on`) or a durable one (off) needs it:
    /// a config write, an exit to QEMU, only when it changes. Whether it
    /// is so; a switch that fails is not tried again.
    pub(super) fn cache(&mut self, on: bool) -> bool {
        if self.writeback != on && self.switchable {
            if !self.write_writeback(on) {
                self.switchable = false;
                return false;
            }
            self.writeback = on;
        }
        self.writeback == on
    }

    /// Writes the config's `writeback` byte; whether the transport took it.
    fn write_writeback(&mut self, on: bool) -> bool {
        let ok = self
            .transport
            .write_config_space(CONFIG_WRITEBACK, u8::from(on))
            .is_ok();
        if ok {
            super::stats::switched();
        }
        ok
    }

    /// Writes `data` at byte `offset` and makes it durable, with every
    /// write completed before it: [`Self::start_durable_write`], waited for.
    pub fn write_durable(&mut self, offset: u64, data: &[u8]) -> Result<(), BlkError> {
        let sector = self.start(offset, data.len())?;
        self.settle();
        if self.durable_in_one(data.len()) {
            let req = header(T_OUT, sector as u64);
            let mut resp = [S_UNWRITTEN];
            self.request(&[&req, data], &mut [&mut resp])?;
            return status(resp[0]);
        }
        self.write(offset, data)?;
        self.flush()
    }

    /// Writes `data` at byte `offset` and makes it durable, with every
    /// write completed before it, returning as [`Self::start_flush`] does
    /// (`Ok(true)`: under way, [`Self::poll_flush`] says how it went). With
    /// the cache switchable and nothing volatile, that is one request, the
    /// write with the cache off; otherwise the write, then a FLUSH.
    pub fn start_durable_write(&mut self, offset: u64, data: Vec<u8>) -> Result<bool, BlkError> {
        let sector = self.start(offset, data.len())?;
        self.settle();
        let Some(intid) = self.intid else {
            // Polled: nothing would wake the caller to poll.
            return self.write_durable(offset, &data).map(|()| false);
        };
        if !self.durable_in_one(data.len()) {
            self.write(offset, &data)?;
            return self.start_flush();
        }
        self.forget_done();
        self.hand_over(intid, header(T_OUT, sector as u64), data)
    }
}

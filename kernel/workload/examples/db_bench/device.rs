//! The devices db_bench's stores live on: memory, or a file.

use lsm::device::{BlockDevice, ConcurrentRead, DeviceError, MemDevice};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

const CAPACITY: u64 = 512 << 20;

/// A file as a disk: positional reads and writes, `fdatasync` as FLUSH.
/// Positional reads need no exclusive access, so the store's reads go
/// through a [`ConcurrentRead`] on the same file, not behind the device's
/// lock: LevelDB and RocksDB read their tables while a compaction writes
/// (with the lock, a scan on the host spent a third of its instructions
/// spinning for it behind the background thread's table writes).
pub struct FileDevice {
    file: Arc<File>,
    capacity: u64,
}

impl ConcurrentRead for FileDevice {
    fn read(&self, offset: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        lsm::device::check_request(offset, buf.len(), self.capacity)?;
        self.file.read_exact_at(buf, offset).map_err(io_err)
    }
}

fn io_err(e: std::io::Error) -> DeviceError {
    DeviceError::Io(e.raw_os_error().unwrap_or(0) as u32)
}

impl BlockDevice for FileDevice {
    fn read(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        ConcurrentRead::read(self, offset, buf)
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
    fn concurrent_reader(&self) -> Option<Arc<dyn ConcurrentRead>> {
        Some(Arc::new(FileDevice {
            file: Arc::clone(&self.file),
            capacity: self.capacity,
        }))
    }
}

pub enum Dev {
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
    fn concurrent_reader(&self) -> Option<Arc<dyn ConcurrentRead>> {
        match self {
            Dev::Mem(_) => None,
            Dev::File(d) => d.concurrent_reader(),
        }
    }
}

pub fn device(path: Option<&str>) -> Result<Dev, String> {
    let Some(p) = path else {
        return Ok(Dev::Mem(MemDevice::new(CAPACITY as usize)));
    };
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(p)
        .map_err(|e| format!("opening {p}: {e}"))?;
    file.set_len(CAPACITY)
        .map_err(|e| format!("sizing {p}: {e}"))?;
    Ok(Dev::File(FileDevice {
        file: Arc::new(file),
        capacity: CAPACITY,
    }))
}

//! The disk image as the store's block device: positional reads and writes
//! of a file, `sync_data` for the store's flushes; and opening the image so
//! that the commands that only read can never write it.
//!
//! A device of this shape also serves the host's db_bench
//! (`kernel/workload/examples/db_bench/device.rs`); a shared std-only home
//! for both would be a small public module of its own.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

use lsm::device::{check_request, BlockDevice, DeviceError, SECTOR_SIZE};

use crate::error::LdbError;
use crate::lock;

/// An image file as a block device of its length rounded down to a sector.
#[derive(Debug)]
pub struct FileDevice {
    file: File,
    file_bytes: u64,
    capacity: u64,
}

fn io_err(e: io::Error) -> DeviceError {
    DeviceError::Io(
        e.raw_os_error()
            .and_then(|c| u32::try_from(c).ok())
            .unwrap_or(0),
    )
}

impl FileDevice {
    /// The device over `file`, sized by the file's length now.
    pub fn new(file: File) -> io::Result<Self> {
        let file_bytes = file.metadata()?.len();
        Ok(Self {
            file,
            file_bytes,
            capacity: file_bytes - file_bytes % SECTOR_SIZE as u64,
        })
    }

    /// Length of the file (the device ignores a partial last sector).
    pub fn file_bytes(&self) -> u64 {
        self.file_bytes
    }
}

impl BlockDevice for FileDevice {
    fn read(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        check_request(offset, buf.len(), self.capacity)?;
        self.file.read_exact_at(buf, offset).map_err(io_err)
    }
    fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        check_request(offset, data.len(), self.capacity)?;
        self.file.write_all_at(data, offset).map_err(io_err)
    }
    fn flush(&mut self) -> Result<(), DeviceError> {
        self.file.sync_data().map_err(io_err)
    }
    fn capacity(&self) -> u64 {
        self.capacity
    }
}

/// How a command opens the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The file opened read-only: a write would fail, so none can happen.
    ReadOnly,
    /// Opened for writing (`load`), with ldb's write lock over the whole
    /// file held until the device is dropped.
    Write,
}

/// Opens the image at `path`, refusing it if another process (a running
/// QEMU) holds a lock on it.
pub fn open_image(path: &Path, access: Access) -> Result<FileDevice, LdbError> {
    let file_err = |action| {
        move |source| LdbError::File {
            path: path.to_path_buf(),
            action,
            source,
        }
    };
    let file = OpenOptions::new()
        .read(true)
        .write(access == Access::Write)
        .open(path)
        .map_err(file_err("open"))?;
    let in_use = |holder| LdbError::InUse {
        path: path.to_path_buf(),
        holder,
    };
    match access {
        Access::ReadOnly => {
            if let Some(h) = lock::holder(&file).map_err(file_err("check the locks of"))? {
                return Err(in_use(Some(h)));
            }
        }
        Access::Write => {
            if !lock::lock_exclusive(&file).map_err(file_err("lock"))? {
                let holder = lock::holder(&file).map_err(file_err("check the locks of"))?;
                return Err(in_use(holder));
            }
        }
    }
    FileDevice::new(file).map_err(file_err("read the size of"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_whole_sectors_at_their_offsets() {
        let dir = std::env::temp_dir().join(format!("ldb-device-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // Removed when the test ends, passed or not.
        struct Remove(std::path::PathBuf);
        impl Drop for Remove {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
        let _remove = Remove(dir.clone());
        let path = dir.join("disk.img");
        // A partial last sector is not part of the device.
        std::fs::write(&path, vec![0u8; 4 * 512 + 100]).unwrap();
        let mut dev = open_image(&path, Access::Write).unwrap();
        assert_eq!((dev.capacity(), dev.file_bytes()), (2048, 2148));
        dev.write(512, &[7u8; 1024]).unwrap();
        dev.flush().unwrap();
        let mut buf = [0u8; 512];
        dev.read(1024, &mut buf).unwrap();
        assert_eq!(buf, [7u8; 512]);
        assert_eq!(
            dev.write(100, &[0u8; 512]),
            Err(DeviceError::Misaligned {
                offset: 100,
                len: 512
            })
        );
        assert!(matches!(
            dev.read(2048, &mut buf),
            Err(DeviceError::OutOfRange { .. })
        ));
        drop(dev);
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes[512..1536].iter().all(|&b| b == 7));
        assert!(bytes[..512].iter().chain(&bytes[1536..]).all(|&b| b == 0));

        // Opened read-only, a write fails and changes nothing.
        let mut ro = open_image(&path, Access::ReadOnly).unwrap();
        assert!(matches!(ro.write(0, &[1u8; 512]), Err(DeviceError::Io(_))));
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
    }
}

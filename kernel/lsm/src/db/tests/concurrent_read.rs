//! A device with a reader that needs no lock (`concurrent_reader`): the
//! store's reads go through it, a read does not wait for the device's
//! lock (held by a write on another thread), and a store closed refuses
//! reads through it as through the lock.

use super::*;
use crate::device::ConcurrentRead;
use crate::park::Parking;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{mpsc, RwLock};
use std::time::Duration;

/// Memory both the device and its reader see.
#[derive(Clone)]
struct Shared {
    bytes: Arc<RwLock<Vec<u8>>>,
    reads: Arc<AtomicU64>,
}

struct Reader(Shared);

impl ConcurrentRead for Reader {
    fn read(&self, offset: u64, buf: &mut [u8]) -> core::result::Result<(), DeviceError> {
        let bytes = self.0.bytes.read().unwrap();
        crate::device::check_request(offset, buf.len(), bytes.len() as u64)?;
        let at = offset as usize;
        buf.copy_from_slice(&bytes[at..at + buf.len()]);
        self.0.reads.fetch_add(1, Relaxed);
        Ok(())
    }
}

struct SharedDevice(Shared);

impl SharedDevice {
    fn new(size: usize) -> Self {
        Self(Shared {
            bytes: Arc::new(RwLock::new(vec![0; size])),
            reads: Arc::new(AtomicU64::new(0)),
        })
    }
}

impl BlockDevice for SharedDevice {
    fn read(&mut self, _offset: u64, _buf: &mut [u8]) -> core::result::Result<(), DeviceError> {
        panic!("a read took the device's lock though the device has a concurrent reader")
    }
    fn write(&mut self, offset: u64, data: &[u8]) -> core::result::Result<(), DeviceError> {
        let mut bytes = self.0.bytes.write().unwrap();
        crate::device::check_request(offset, data.len(), bytes.len() as u64)?;
        let at = offset as usize;
        bytes[at..at + data.len()].copy_from_slice(data);
        Ok(())
    }
    fn flush(&mut self) -> core::result::Result<(), DeviceError> {
        Ok(())
    }
    fn capacity(&self) -> u64 {
        self.0.bytes.read().unwrap().len() as u64
    }
    fn concurrent_reader(&self) -> Option<Arc<dyn ConcurrentRead>> {
        Some(Arc::new(Reader(self.0.clone())))
    }
}

/// A store on such a device opens, writes, compacts, reopens and reads
/// back everything, every read through the reader (the device's own
/// `read` fails the test).
#[test]
fn a_store_reads_through_the_concurrent_reader() {
    let dev = SharedDevice::new(8 << 20);
    let reads = Arc::clone(&dev.0.reads);
    let (mut db, _) = Db::open(dev, small_opts()).unwrap();
    let mut model = Model::new();
    for i in 0..3000u32 {
        let (k, v) = (format!("k{:05}", (i * 7919) % 3000), format!("v{i}"));
        db.put(k.as_bytes(), v.as_bytes(), false).unwrap();
        model.insert(k.into_bytes(), v.into_bytes());
    }
    db.compact_all().unwrap();
    let dev = db.close().unwrap();
    let (db, _) = Db::open(dev, small_opts()).unwrap();
    assert_eq!(contents(&db, None), model);
    assert!(reads.load(Relaxed) > 0);
}

/// A read goes on while another thread holds the device's lock (as a
/// compaction's write does for a whole request), and fails once the
/// device is given back.
#[test]
fn a_read_does_not_wait_for_the_devices_lock() {
    let dev = SharedDevice::new(1 << 20);
    dev.0.bytes.write().unwrap()[512..1024].fill(7);
    let disk = Arc::new(super::super::disk::Disk::new(dev, Parking::SPIN));
    let held = disk.device().expect("device");
    let (tx, rx) = mpsc::channel();
    let reader = Arc::clone(&disk);
    let t = std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        let r = reader.read(512, &mut buf);
        tx.send((r, buf[0])).unwrap();
    });
    let got = rx.recv_timeout(Duration::from_secs(10));
    drop(held);
    t.join().unwrap();
    assert_eq!(got.expect("the read waited for the lock"), (Ok(()), 7));
    assert!(disk.take().is_some());
    let mut buf = [0u8; 512];
    assert_eq!(disk.read(0, &mut buf), Err(DeviceError::Closed));
}

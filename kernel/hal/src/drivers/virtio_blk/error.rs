//! How attaching a virtio-blk disk or one of its requests fails, as the
//! store and the console see it.

#[derive(Debug)]
pub enum AttachError {
    Device(virtio_drivers::Error),
    ReadOnly,
}

impl core::fmt::Display for AttachError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Device(e) => write!(f, "virtio-blk: {e}"),
            Self::ReadOnly => f.write_str("the disk is read-only (QEMU readonly=on?)"),
        }
    }
}

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlkError {
    /// The offset or length is not a whole number of sectors.
    Unaligned,
    /// The request reaches past the end of the disk.
    OutOfRange,
    /// The device or the transport failed it.
    Device(virtio_drivers::Error),
}

impl BlkError {
    /// A status number for the failure, as a device would report one.
    pub fn code(&self) -> u32 {
        use virtio_drivers::Error as E;
        match self {
            Self::Device(E::IoError) => 1,
            Self::Device(E::Unsupported) => 2,
            Self::Device(E::NotReady) => 3,
            Self::Device(E::QueueFull) => 4,
            Self::Device(E::DmaError) => 5,
            Self::Device(_) => 99,
            Self::Unaligned => 100,
            Self::OutOfRange => 101,
        }
    }
}

impl core::fmt::Display for BlkError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Unaligned => f.write_str("request not aligned to 512-byte sectors"),
            Self::OutOfRange => f.write_str("request past the end of the disk"),
            Self::Device(e) => write!(f, "virtio-blk: {e}"),
        }
    }
}

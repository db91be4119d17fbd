//! The crate's error types: device failures, damage found on disk, and
//! requests the store refuses.

use alloc::string::String;
use core::fmt;

use crate::device::DeviceError;

/// What is wrong with damaged bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorruptionKind {
    /// The stored CRC32C does not match the bytes.
    ChecksumMismatch,
    /// A magic number is not the one this format writes.
    BadMagic,
    /// The bytes end before the structure they hold.
    Truncated,
    /// A length, offset or count points outside what holds it.
    OutOfBounds,
    /// A tag, type byte or encoding has a value the format never writes.
    Malformed(&'static str),
    /// Keys are not in the order the format promises.
    OutOfOrder,
}

impl fmt::Display for CorruptionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ChecksumMismatch => f.write_str("checksum mismatch"),
            Self::BadMagic => f.write_str("bad magic number"),
            Self::Truncated => f.write_str("truncated"),
            Self::OutOfBounds => f.write_str("length or offset out of bounds"),
            Self::Malformed(what) => write!(f, "malformed {what}"),
            Self::OutOfOrder => f.write_str("keys out of order"),
        }
    }
}

/// Damage found in bytes read from the device, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corruption {
    /// What is damaged, outermost first, e.g. `table 12 block at offset 4096`.
    /// Empty while the error is still inside the decoder that found it; each
    /// layer that knows more names its part on the way out.
    pub location: String,
    /// What is wrong with it.
    pub kind: CorruptionKind,
}

impl Corruption {
    /// Damage of `kind` at a location the caller will name.
    pub fn new(kind: CorruptionKind) -> Self {
        Self {
            location: String::new(),
            kind,
        }
    }

    /// Damage of `kind` at `location`.
    pub fn at(location: impl Into<String>, kind: CorruptionKind) -> Self {
        Self {
            location: location.into(),
            kind,
        }
    }

    /// Prefixes the location with an outer one (`table 12` + `block at ...`).
    pub fn within(mut self, outer: &str) -> Self {
        if self.location.is_empty() {
            self.location = String::from(outer);
        } else {
            let inner = core::mem::take(&mut self.location);
            self.location = alloc::format!("{outer} {inner}");
        }
        self
    }
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.location.is_empty() {
            write!(f, "corruption: {}", self.kind)
        } else {
            write!(f, "corruption: {}: {}", self.location, self.kind)
        }
    }
}

/// Every error the store reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The block device failed.
    Device(DeviceError),
    /// Bytes read from the device are damaged.
    Corruption(Corruption),
    /// The region being written is full.
    NoSpace {
        /// What ran out of room, e.g. `WAL region`.
        region: &'static str,
        /// Bytes that did not fit.
        needed: u64,
    },
    /// The caller asked for something the store does not do.
    InvalidArgument(&'static str),
    /// A key or a value past the store's limit (`Options::max_key_len`,
    /// `max_value_len`).
    TooLong {
        /// `key` or `value`.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The longest the store keeps.
        max: usize,
    },
    /// The disk holds something that is not a unikv store; it is left alone.
    ForeignFormat,
    /// The disk holds a unikv store of a format version this code does not
    /// read; it is left alone.
    UnsupportedVersion {
        /// Version on the disk.
        found: u32,
        /// The newest version this code reads (and the one it writes).
        supported: u32,
    },
    /// The disk is blank (formatting was not asked for, or the store was
    /// opened read-only).
    Unformatted,
    /// The caller's stop hook asked a long operation to stop; what it had
    /// committed stays, the rest was abandoned and the store is as usable
    /// as before.
    Interrupted,
    /// The store was opened read-only: it makes no change.
    ReadOnly,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Device(e) => write!(f, "device: {e}"),
            Self::Corruption(c) => c.fmt(f),
            Self::NoSpace { region, needed } => {
                write!(f, "no space: {region} cannot take {needed} more bytes")
            }
            Self::InvalidArgument(what) => write!(f, "invalid argument: {what}"),
            Self::TooLong { what, len, max } => write!(
                f,
                "{what} too long ({len} bytes; the store keeps {what}s of at most {max} bytes)"
            ),
            Self::ForeignFormat => {
                f.write_str("the disk holds another format; refusing to touch it")
            }
            Self::UnsupportedVersion { found, supported } => write!(
                f,
                "the disk holds unikv format version {found}, this build reads versions {} to {supported}; refusing to touch it",
                crate::db::OLDEST_READ_VERSION
            ),
            Self::Unformatted => f.write_str("the disk is blank: it holds no unikv store"),
            Self::Interrupted => f.write_str("interrupted"),
            Self::ReadOnly => f.write_str("the store is open read-only"),
        }
    }
}

impl From<DeviceError> for Error {
    fn from(e: DeviceError) -> Self {
        Self::Device(e)
    }
}

impl From<Corruption> for Error {
    fn from(c: Corruption) -> Self {
        Self::Corruption(c)
    }
}

impl Error {
    /// Names an outer location on a corruption error; other errors pass.
    pub fn within(self, outer: &str) -> Self {
        match self {
            Self::Corruption(c) => Self::Corruption(c.within(outer)),
            e => e,
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = core::result::Result<T, E>;

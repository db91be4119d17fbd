//! A LevelDB-style LSM-tree key-value store that owns a raw block device.
//!
//! The crate knows nothing of the kernel: it reaches storage only through
//! [`device::BlockDevice`] and time only through [`clock::Clock`], so it builds
//! for `aarch64-unknown-none` and tests on the host with in-memory and
//! fault-injecting devices.
//!
//! ```text
//!   writes -> WAL record (wal) -> memtable (skiplist in an arena)
//!                                   | full: becomes immutable, flushed
//!                                   v
//!                     SSTable (table): data blocks + bloom filter + index
//!   every record and block: masked CRC32C (crc32c); varints (coding)
//! ```
//!
//! Layout, after LevelDB's split: `util`-like foundations at the top level
//! (`coding`, `crc32c`, `random`, `error`, `device`, `clock`), the on-disk
//! formats in `wal` and `table`, and the in-memory structures in `key`,
//! `skiplist` and `memtable`.
#![no_std]
#![warn(missing_docs)]

extern crate alloc;

pub mod clock;
pub mod coding;
pub mod comparator;
pub mod crc32c;
pub mod db;
pub mod device;
pub mod error;
pub mod iter;
pub mod key;
pub mod memtable;
pub mod merge;
pub mod random;
pub mod skiplist;
pub mod table;
pub mod wal;

pub use error::{Corruption, CorruptionKind, Error, Result};

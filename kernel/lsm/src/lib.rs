//! A LevelDB-style LSM-tree key-value store that owns a raw block device.
//!
//! The crate knows nothing of the kernel: it reaches storage only through
//! [`device::BlockDevice`] and time only through [`clock::Clock`], so it builds
//! for `aarch64-unknown-none` and tests on the host with in-memory and
//! fault-injecting devices.
//!
//! ```text
//!   Db (db)  put/delete/write -> WAL record (wal) -> memtable (memtable:
//!            skiplist in an arena) -> frozen -> level-0 table (table)
//!            -> leveled compaction; manifest edits (db::version) commit
//!            every change of the live tables; superblock (db::superblock)
//!            says what the disk is and which manifest is current
//!   reads    memtables, then tables level by level; iterators merge them
//!            (merge) and hide old versions and tombstones (db::DbIter)
//!   checks   masked CRC32C (crc32c) on every record, block and footer
//! ```
//!
//! Layout, after LevelDB's split: foundations at the top level (`coding`,
//! `crc32c`, `random`, `error`, `device`, `clock`, `comparator`, `key`,
//! `iter`), the on-disk formats in `wal` and `table` (described in
//! `doc/format.md`), the in-memory structures in `skiplist` and `memtable`,
//! and the engine in `db`.
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
pub mod fence;
pub mod iter;
pub mod key;
pub mod memtable;
pub mod merge;
pub mod park;
pub mod percore;
pub mod random;
pub mod skiplist;
pub mod table;
pub mod wal;

pub use error::{Corruption, CorruptionKind, Error, Result};

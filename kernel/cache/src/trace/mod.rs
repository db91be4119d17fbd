//! The store trace: what the store asked its read cache for, one record a
//! line, so that the host simulator (`cachesim`) can replay exactly the
//! store's requests through every policy and OPT. This module is the one
//! definition of the format: its records ([`Record`]), how they are written
//! (their `Display`), how they are read ([`Parser`]), and the recorder the
//! kernel puts in front of its cache ([`Recorder`], [`Traced`]).
//!
//! Text, one record per line, fields separated by one space, keys in
//! lowercase hex; the file starts with [`HEADER`]; other `#` lines are
//! comments, except `# phase NAME`, which marks where a phase of the
//! workload begins.
//!
//! ```text
//!   G <key>                               point lookup past the memtables
//!   B <table> <offset> <size> <d|i|f>     a block it (or a scan) needed
//!   V <key> <value_len> <table> <offset> <size>   it found the key there
//!   S <start-key> <limit>                 a range scan begins
//!   W <key>                               a write or delete of the key
//!   D <table>                             a compaction deleted the table
//! ```
//!
//! The `B` records after a `G` or `S`, up to the next `G`, `S`, `W`, `V`, `D`
//! or the end, are the blocks that operation needed, in order, whether the
//! recording store's cache had them or not. A `G` without a `V` found nothing.
//! `D` is optional (the recorder does not write it): without it, pointers
//! into deleted tables are noticed when a later lookup finds the key
//! elsewhere.

mod parse;
mod recorder;

pub use parse::{parse, ParseError, ParseErrorKind, Parser};
pub use recorder::{Recorder, Summary, Traced, MAX_BYTES};

use alloc::borrow::Cow;
use core::fmt;
pub use lsm::db::BlockKind;

/// The first line of a store trace.
pub const HEADER: &str = "# unikv store trace v1";

/// Whether `first_line` (with or without its line end) is [`HEADER`].
pub fn is_header(first_line: &str) -> bool {
    first_line.trim_end() == HEADER
}

/// One block the store needed; its cache identity is `(table, offset)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlockRef {
    /// Table number.
    pub table: u64,
    /// Byte offset of the block in its table.
    pub offset: u64,
    /// Bytes the block occupies in a cache (0: the recording cache missed
    /// it and the store did not insert it).
    pub size: u64,
    /// What it holds.
    pub kind: BlockKind,
}

/// Where a point lookup found its key (a `V` record): what a KP entry
/// points to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Found {
    /// Bytes of the value.
    pub value_len: u64,
    /// Table of the data block holding it.
    pub table: u64,
    /// Offset of that data block.
    pub offset: u64,
    /// Size of that data block.
    pub size: u64,
}

/// One line of a trace that means something. Keys are borrowed when written
/// and owned when parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record<'a> {
    /// `G`: a point lookup past the memtables begins.
    Get {
        /// The key looked up.
        key: Cow<'a, [u8]>,
    },
    /// `B`: a block the open lookup or scan needed.
    Block(BlockRef),
    /// `V`: the open lookup found its key there (ends its blocks).
    Found {
        /// The key, the lookup's.
        key: Cow<'a, [u8]>,
        /// Where.
        found: Found,
    },
    /// `S`: a range scan begins.
    Scan {
        /// Its first key.
        start: Cow<'a, [u8]>,
        /// Most keys it returns.
        limit: u64,
    },
    /// `W`: a write or delete.
    Write {
        /// The key written.
        key: Cow<'a, [u8]>,
    },
    /// `D`: a compaction deleted the table.
    DropTable {
        /// Its number.
        table: u64,
    },
    /// `# phase NAME`: a phase of the workload begins.
    Phase(Cow<'a, str>),
}

impl Record<'_> {
    /// The record with its keys owned.
    pub fn into_owned(self) -> Record<'static> {
        let own = |k: Cow<'_, [u8]>| Cow::Owned(k.into_owned());
        match self {
            Record::Get { key } => Record::Get { key: own(key) },
            Record::Block(b) => Record::Block(b),
            Record::Found { key, found } => Record::Found {
                key: own(key),
                found,
            },
            Record::Scan { start, limit } => Record::Scan {
                start: own(start),
                limit,
            },
            Record::Write { key } => Record::Write { key: own(key) },
            Record::DropTable { table } => Record::DropTable { table },
            Record::Phase(name) => Record::Phase(Cow::Owned(name.into_owned())),
        }
    }
}

/// The record's line, without its line end.
impl fmt::Display for Record<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Record::Get { key } => write!(f, "G {}", Hex(key)),
            Record::Block(b) => write!(
                f,
                "B {} {} {} {}",
                b.table,
                b.offset,
                b.size,
                kind_letter(b.kind)
            ),
            Record::Found { key, found: v } => write!(
                f,
                "V {} {} {} {} {}",
                Hex(key),
                v.value_len,
                v.table,
                v.offset,
                v.size
            ),
            Record::Scan { start, limit } => write!(f, "S {} {limit}", Hex(start)),
            Record::Write { key } => write!(f, "W {}", Hex(key)),
            Record::DropTable { table } => write!(f, "D {table}"),
            Record::Phase(name) => write!(f, "# phase {name}"),
        }
    }
}

/// Bytes as lowercase hex.
pub struct Hex<'a>(pub &'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// A block kind's letter in `B` records.
pub fn kind_letter(k: BlockKind) -> char {
    match k {
        BlockKind::Data => 'd',
        BlockKind::Index => 'i',
        BlockKind::Filter => 'f',
    }
}

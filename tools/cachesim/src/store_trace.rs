//! The store's own lookup traces, as the kernel records them (`BENCH` with
//! tracing on), so that every policy replays exactly what the store asked for.
//!
//! Text, one record per line, fields separated by one space, keys in lowercase
//! hex; the file starts with [`HEADER`]; other `#` lines are comments, except
//! `# phase NAME`, which marks where a phase of the workload begins (drawn on
//! the split plot).
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
//! `D` is optional: without it, KP pointers into deleted tables are noticed
//! when a later lookup finds the key elsewhere (see `store_sim`).

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::io::BufRead;

use crate::trace::{Request, TraceError};

/// The first line of a store trace.
pub const HEADER: &str = "# unikv store trace v1";

/// What a block holds, as the store's `BlockKind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A data block (`d`).
    Data,
    /// An index block (`i`).
    Index,
    /// A filter block (`f`).
    Filter,
}

impl Kind {
    fn letter(self) -> char {
        match self {
            Kind::Data => 'd',
            Kind::Index => 'i',
            Kind::Filter => 'f',
        }
    }
}

/// One block the store needed; its cache identity is `(table, offset)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlockRef {
    /// Table number.
    pub table: u64,
    /// Byte offset of the block in its table.
    pub offset: u64,
    /// Bytes the block occupies in a cache.
    pub size: u64,
    /// What it holds.
    pub kind: Kind,
}

/// Where a point lookup found its key (a `V` record): what a KP entry points to.
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

/// One operation of the trace. Block lists are ranges into [`StoreTrace::blocks`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// A point lookup of key number `key` ([`StoreTrace::keys`]).
    Get {
        /// Interned key.
        key: u32,
        /// Its blocks, as a range of [`StoreTrace::blocks`].
        blocks: std::ops::Range<u32>,
        /// Where the key was, if anywhere.
        found: Option<Found>,
    },
    /// A range scan.
    Scan {
        /// Interned start key.
        start: u32,
        /// Most keys it returns.
        limit: u64,
        /// Its blocks.
        blocks: std::ops::Range<u32>,
    },
    /// A write or delete.
    Write {
        /// Interned key.
        key: u32,
    },
    /// A table deleted by a compaction.
    DropTable {
        /// Its number.
        table: u64,
    },
}

/// A parsed store trace.
#[derive(Clone, Debug, Default)]
pub struct StoreTrace {
    /// Operations in order.
    pub ops: Vec<Op>,
    /// Every `B` record, in order.
    pub blocks: Vec<BlockRef>,
    /// Key bytes by interned number.
    pub keys: Vec<Box<[u8]>>,
    /// `# phase NAME` markers: the index in `ops` where each phase begins.
    pub phases: Vec<(usize, String)>,
}

/// Counts of a trace's records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// `G` records.
    pub lookups: u64,
    /// `G` records with a `V`.
    pub found: u64,
    /// `S` records.
    pub scans: u64,
    /// `W` records.
    pub writes: u64,
    /// `B` records.
    pub blocks: u64,
    /// Lookups that found their key without needing any block: only possible
    /// when the recording store served them from a point cache, which hides
    /// their blocks from the trace.
    pub found_without_blocks: u64,
}

impl StoreTrace {
    /// How many records of each kind.
    pub fn counts(&self) -> Counts {
        let mut c = Counts {
            blocks: self.blocks.len() as u64,
            ..Counts::default()
        };
        for op in &self.ops {
            match op {
                Op::Get { blocks, found, .. } => {
                    c.lookups += 1;
                    if found.is_some() {
                        c.found += 1;
                        if blocks.is_empty() {
                            c.found_without_blocks += 1;
                        }
                    }
                }
                Op::Scan { .. } => c.scans += 1,
                Op::Write { .. } => c.writes += 1,
                Op::DropTable { .. } => {}
            }
        }
        c
    }

    /// The blocks of an operation's range.
    pub fn blocks_of(&self, r: &std::ops::Range<u32>) -> &[BlockRef] {
        &self.blocks[r.start as usize..r.end as usize]
    }

    /// Every block request in order, each `(table, offset)` interned to one
    /// number, charged its size: the stream a block cache (and OPT) sees.
    pub fn block_requests(&self) -> Vec<Request> {
        let mut ids: HashMap<(u64, u64), u64> = HashMap::new();
        self.blocks
            .iter()
            .map(|b| {
                let next = ids.len() as u64;
                Request {
                    key: *ids.entry((b.table, b.offset)).or_insert(next),
                    size: b.size,
                }
            })
            .collect()
    }

    /// The trace as text, in the format [`parse`] reads.
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(self.blocks.len() * 24 + self.ops.len() * 40);
        out.push_str(HEADER);
        out.push('\n');
        let mut phases = self.phases.iter().peekable();
        for (i, op) in self.ops.iter().enumerate() {
            while let Some((_, name)) = phases.next_if(|(at, _)| *at == i) {
                let _ = writeln!(out, "# phase {name}");
            }
            let hex = |k: u32| Hex(&self.keys[k as usize]);
            let blocks = match op {
                Op::Get { key, blocks, .. } => {
                    let _ = writeln!(out, "G {}", hex(*key));
                    Some(blocks)
                }
                Op::Scan {
                    start,
                    limit,
                    blocks,
                } => {
                    let _ = writeln!(out, "S {} {limit}", hex(*start));
                    Some(blocks)
                }
                Op::Write { key } => {
                    let _ = writeln!(out, "W {}", hex(*key));
                    None
                }
                Op::DropTable { table } => {
                    let _ = writeln!(out, "D {table}");
                    None
                }
            };
            for b in blocks.map(|r| self.blocks_of(r)).unwrap_or_default() {
                let _ = writeln!(
                    out,
                    "B {} {} {} {}",
                    b.table,
                    b.offset,
                    b.size,
                    b.kind.letter()
                );
            }
            if let Op::Get {
                key,
                found: Some(f),
                ..
            } = op
            {
                let _ = writeln!(
                    out,
                    "V {} {} {} {} {}",
                    hex(*key),
                    f.value_len,
                    f.table,
                    f.offset,
                    f.size
                );
            }
        }
        out
    }
}

struct Hex<'a>(&'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// Whether `first_line` marks a store trace.
pub fn is_header(first_line: &str) -> bool {
    first_line.trim_end() == HEADER
}

/// Builds a [`StoreTrace`] record by record (the parser and the generator).
#[derive(Default)]
pub struct Builder {
    trace: StoreTrace,
    names: HashMap<Box<[u8]>, u32>,
    /// The operation `B` and `V` records attach to: an open `G` or `S`.
    open: bool,
}

impl Builder {
    /// An empty trace.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of `key`, interning it.
    pub fn key(&mut self, key: &[u8]) -> u32 {
        if let Some(&k) = self.names.get(key) {
            return k;
        }
        let k = self.trace.keys.len() as u32;
        self.trace.keys.push(key.into());
        self.names.insert(key.into(), k);
        k
    }

    fn here(&self) -> u32 {
        self.trace.blocks.len() as u32
    }

    /// A `# phase NAME` marker before the next operation.
    pub fn phase(&mut self, name: &str) {
        self.trace.phases.push((self.trace.ops.len(), name.into()));
    }

    /// A `G` record.
    pub fn get(&mut self, key: &[u8]) {
        let key = self.key(key);
        let at = self.here();
        self.trace.ops.push(Op::Get {
            key,
            blocks: at..at,
            found: None,
        });
        self.open = true;
    }

    /// An `S` record.
    pub fn scan(&mut self, start: &[u8], limit: u64) {
        let start = self.key(start);
        let at = self.here();
        self.trace.ops.push(Op::Scan {
            start,
            limit,
            blocks: at..at,
        });
        self.open = true;
    }

    /// A `W` record.
    pub fn write(&mut self, key: &[u8]) {
        let key = self.key(key);
        self.trace.ops.push(Op::Write { key });
        self.open = false;
    }

    /// A `D` record.
    pub fn drop_table(&mut self, table: u64) {
        self.trace.ops.push(Op::DropTable { table });
        self.open = false;
    }

    /// A `B` record; `Err` when no `G` or `S` is open.
    pub fn block(&mut self, b: BlockRef) -> Result<(), &'static str> {
        if !self.open {
            return Err("a block record outside a lookup or scan");
        }
        self.trace.blocks.push(b);
        let end = self.here();
        match self.trace.ops.last_mut() {
            Some(Op::Get { blocks, .. } | Op::Scan { blocks, .. }) => blocks.end = end,
            _ => return Err("a block record outside a lookup or scan"),
        }
        Ok(())
    }

    /// A `V` record; `Err` unless it follows a `G` of the same key.
    pub fn found(&mut self, key: &[u8], f: Found) -> Result<(), &'static str> {
        let want = self.names.get(key).copied();
        match self.trace.ops.last_mut() {
            Some(Op::Get {
                key: k,
                found: slot @ None,
                ..
            }) if self.open && Some(*k) == want => {
                *slot = Some(f);
                // The lookup's block list ends at its V.
                self.open = false;
                Ok(())
            }
            _ => Err("a V record that does not follow a G of the same key"),
        }
    }

    /// The trace so far.
    pub fn finish(self) -> StoreTrace {
        self.trace
    }
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

/// Parses a store trace. The header line is optional here (the caller may
/// have forced the format); any other malformed line is an error naming it.
pub fn parse(reader: impl BufRead) -> Result<StoreTrace, TraceError> {
    let mut b = Builder::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line?;
        let bad = |reason: String| TraceError::Parse {
            line: i + 1,
            reason,
        };
        if let Some(comment) = line.strip_prefix('#') {
            if let Some(name) = comment.trim().strip_prefix("phase ") {
                b.phase(name.trim());
            }
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let Some((&tag, rest)) = fields.split_first() else {
            continue;
        };
        let want = |n: usize| {
            if rest.len() == n {
                Ok(())
            } else {
                Err(bad(format!(
                    "`{tag}` needs {n} field{}, found {}",
                    if n == 1 { "" } else { "s" },
                    rest.len()
                )))
            }
        };
        let key = |s: &str| decode_hex(s).ok_or_else(|| bad(format!("key `{s}` is not hex")));
        let num = |s: &str| {
            s.parse::<u64>()
                .map_err(|_| bad(format!("`{s}` is not a number")))
        };
        match tag {
            "G" => {
                want(1)?;
                b.get(&key(rest[0])?);
            }
            "S" => {
                want(2)?;
                b.scan(&key(rest[0])?, num(rest[1])?);
            }
            "W" => {
                want(1)?;
                b.write(&key(rest[0])?);
            }
            "D" => {
                want(1)?;
                b.drop_table(num(rest[0])?);
            }
            "B" => {
                want(4)?;
                let kind = match rest[3] {
                    "d" => Kind::Data,
                    "i" => Kind::Index,
                    "f" => Kind::Filter,
                    k => return Err(bad(format!("block kind `{k}` is not d, i or f"))),
                };
                b.block(BlockRef {
                    table: num(rest[0])?,
                    offset: num(rest[1])?,
                    size: num(rest[2])?,
                    kind,
                })
                .map_err(|e| bad(e.into()))?;
            }
            "V" => {
                want(5)?;
                let k = key(rest[0])?;
                let f = Found {
                    value_len: num(rest[1])?,
                    table: num(rest[2])?,
                    offset: num(rest[3])?,
                    size: num(rest[4])?,
                };
                b.found(&k, f).map_err(|e| bad(e.into()))?;
            }
            other => return Err(bad(format!("unknown record `{other}`"))),
        }
    }
    Ok(b.finish())
}

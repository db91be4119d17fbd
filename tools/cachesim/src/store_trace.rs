//! The store's own lookup traces, as the kernel records them (`BENCH` with
//! tracing on), held in memory for replay: each operation with the blocks it
//! needed, keys interned. The format itself (its records, how they are
//! written and parsed) is the `cache` crate's, [`cache::trace`]; this module
//! only builds the replay's view of a trace from its records and writes one
//! back (for generated traces).

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::BufRead;

use cache::trace::{Parser, Record, HEADER};

pub use cache::trace::{BlockRef, Found};

use crate::{Request, TraceError};

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

/// The phase from which a replay counts (see
/// [`StoreTrace::measured_from`]).
pub const MEASURE_PHASE: &str = "measure";

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

    /// Where counting starts: the operation after the last `# phase measure`
    /// marker, or the first. A trace recorded as `bench --compare` measures
    /// (a warm-up run, then the measured run) replays the warm-up to fill the
    /// cache and counts only the second run, as the kernel's comparison does.
    pub fn measured_from(&self) -> usize {
        self.phases
            .iter()
            .rev()
            .find(|(_, name)| name == MEASURE_PHASE)
            .map_or(0, |(at, _)| *at)
    }

    /// The index in `blocks` of the first block of the measured operations.
    pub fn measured_first_block(&self) -> usize {
        self.ops[..self.measured_from()]
            .iter()
            .filter_map(|op| match op {
                Op::Get { blocks, .. } | Op::Scan { blocks, .. } => Some(blocks.end as usize),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    }

    /// [`counts`](Self::counts) of the measured operations only.
    pub fn measured_counts(&self) -> Counts {
        let from = self.measured_from();
        if from == 0 {
            return self.counts();
        }
        let tail = StoreTrace {
            ops: self.ops[from..].to_vec(),
            ..StoreTrace::default()
        };
        Counts {
            blocks: (self.blocks.len() - self.measured_first_block()) as u64,
            ..tail.counts()
        }
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

    /// Every record of the trace, in order, as the format has them.
    pub fn for_each_record(&self, mut f: impl FnMut(Record<'_>)) {
        let key = |k: u32| Cow::Borrowed(&*self.keys[k as usize]);
        let mut phases = self.phases.iter().peekable();
        for (i, op) in self.ops.iter().enumerate() {
            while let Some((_, name)) = phases.next_if(|(at, _)| *at == i) {
                f(Record::Phase(Cow::Borrowed(name.as_str())));
            }
            let blocks = match op {
                Op::Get { key: k, blocks, .. } => {
                    f(Record::Get { key: key(*k) });
                    Some(blocks)
                }
                Op::Scan {
                    start,
                    limit,
                    blocks,
                } => {
                    f(Record::Scan {
                        start: key(*start),
                        limit: *limit,
                    });
                    Some(blocks)
                }
                Op::Write { key: k } => {
                    f(Record::Write { key: key(*k) });
                    None
                }
                Op::DropTable { table } => {
                    f(Record::DropTable { table: *table });
                    None
                }
            };
            for b in blocks.map(|r| self.blocks_of(r)).unwrap_or_default() {
                f(Record::Block(*b));
            }
            if let Op::Get {
                key: k,
                found: Some(found),
                ..
            } = op
            {
                f(Record::Found {
                    key: key(*k),
                    found: *found,
                });
            }
        }
    }

    /// The trace as text, in the format [`parse`] reads.
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(self.blocks.len() * 24 + self.ops.len() * 40);
        out.push_str(HEADER);
        out.push('\n');
        self.for_each_record(|r| {
            let _ = writeln!(out, "{r}");
        });
        out
    }
}

/// Builds a [`StoreTrace`] record by record (the parser and the generator).
/// It keeps no order of its own: records come in an order the format allows
/// (the parser checks it; a generator makes it so).
#[derive(Default)]
pub struct Builder {
    trace: StoreTrace,
    names: HashMap<Box<[u8]>, u32>,
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

    /// A record, in the order it came.
    pub fn push(&mut self, r: Record<'_>) {
        match r {
            Record::Get { key } => self.get(&key),
            Record::Block(b) => self.block(b),
            Record::Found { found, .. } => self.found(found),
            Record::Scan { start, limit } => self.scan(&start, limit),
            Record::Write { key } => self.write(&key),
            Record::DropTable { table } => self.drop_table(table),
            Record::Phase(name) => self.phase(&name),
        }
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
    }

    /// A `W` record.
    pub fn write(&mut self, key: &[u8]) {
        let key = self.key(key);
        self.trace.ops.push(Op::Write { key });
    }

    /// A `D` record.
    pub fn drop_table(&mut self, table: u64) {
        self.trace.ops.push(Op::DropTable { table });
    }

    /// A `B` record: a block of the last operation, a `G` or `S`.
    pub fn block(&mut self, b: BlockRef) {
        let end = self.here() + 1;
        match self.trace.ops.last_mut() {
            Some(Op::Get { blocks, .. } | Op::Scan { blocks, .. }) => {
                blocks.end = end;
                self.trace.blocks.push(b);
            }
            _ => debug_assert!(false, "a block record outside a lookup or scan"),
        }
    }

    /// A `V` record: where the last operation, a `G`, found its key.
    pub fn found(&mut self, f: Found) {
        match self.trace.ops.last_mut() {
            Some(Op::Get { found, .. }) => *found = Some(f),
            _ => debug_assert!(false, "a V record that does not follow its G"),
        }
    }

    /// The trace so far.
    pub fn finish(self) -> StoreTrace {
        self.trace
    }
}

/// Parses a store trace ([`cache::trace::Parser`] line by line). The header
/// line is optional here (the caller may have forced the format); any other
/// malformed line is an error naming it.
pub fn parse(reader: impl BufRead) -> Result<StoreTrace, TraceError> {
    let mut p = Parser::new();
    let mut b = Builder::new();
    for line in reader.lines() {
        if let Some(r) = p.line(&line?)? {
            b.push(r);
        }
    }
    Ok(b.finish())
}

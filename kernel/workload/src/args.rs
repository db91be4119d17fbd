//! BENCH's arguments: `workload [n] [keys=N] [value_size=N] [sync=0|1]
//! [seed=N] [dist=zipfian|latest|uniform] [threads=N]`, their defaults and
//! limits, and the messages a bad one gets (the console prints them as they
//! are).

use alloc::string::{String, ToString};
use core::fmt;

use crate::ycsb::{Dist, Ycsb};

/// The one-line usage every argument error ends with.
pub const USAGE: &str =
    "BENCH fillseq|fillrandom|overwrite|readrandom|readseq|readmissing|ycsb-a..ycsb-f [n] \
                     [keys=N] [value_size=N] [sync=0|1] [seed=N] [dist=zipfian|latest|uniform] [threads=N]";

/// Most operations (and keys) one run takes.
pub const MAX_N: u64 = 100_000_000;
/// Largest value.
pub const MAX_VALUE_SIZE: usize = 1 << 20;
/// Most threads one run takes (the kernel brings up at most eight CPUs).
pub const MAX_THREADS: usize = 8;

/// What a run does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// Writes keys `0..n` in order.
    FillSeq,
    /// Writes `n` keys drawn uniformly from the key space.
    FillRandom,
    /// As fillrandom, over the key space already loaded.
    Overwrite,
    /// Reads `n` keys drawn uniformly from the key space.
    ReadRandom,
    /// Iterates the store in key order, `n` entries at most.
    ReadSeq,
    /// Reads `n` keys that sort among the real ones but are never written.
    ReadMissing,
    /// One of YCSB's core workloads, after its untimed load phase.
    Ycsb(Ycsb),
}

impl Workload {
    /// Every workload, in the order the usage lists them.
    pub const ALL: [Workload; 12] = [
        Workload::FillSeq,
        Workload::FillRandom,
        Workload::Overwrite,
        Workload::ReadRandom,
        Workload::ReadSeq,
        Workload::ReadMissing,
        Workload::Ycsb(Ycsb::A),
        Workload::Ycsb(Ycsb::B),
        Workload::Ycsb(Ycsb::C),
        Workload::Ycsb(Ycsb::D),
        Workload::Ycsb(Ycsb::E),
        Workload::Ycsb(Ycsb::F),
    ];

    /// Its name as typed (`fillseq`, ..., `ycsb-a`).
    pub fn name(self) -> &'static str {
        match self {
            Workload::FillSeq => "fillseq",
            Workload::FillRandom => "fillrandom",
            Workload::Overwrite => "overwrite",
            Workload::ReadRandom => "readrandom",
            Workload::ReadSeq => "readseq",
            Workload::ReadMissing => "readmissing",
            Workload::Ycsb(Ycsb::A) => "ycsb-a",
            Workload::Ycsb(Ycsb::B) => "ycsb-b",
            Workload::Ycsb(Ycsb::C) => "ycsb-c",
            Workload::Ycsb(Ycsb::D) => "ycsb-d",
            Workload::Ycsb(Ycsb::E) => "ycsb-e",
            Workload::Ycsb(Ycsb::F) => "ycsb-f",
        }
    }

    /// The workload called `name` (lowercase).
    pub fn from_name(name: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.name() == name)
    }

    /// Whether it loads the key space (fillseq, fillrandom): its key space
    /// becomes the one later reads default to.
    pub fn is_fill(self) -> bool {
        matches!(self, Workload::FillSeq | Workload::FillRandom)
    }

    /// Its YCSB workload, if it is one.
    pub fn ycsb(self) -> Option<Ycsb> {
        match self {
            Workload::Ycsb(w) => Some(w),
            _ => None,
        }
    }

    /// Whether its report counts what it found.
    pub fn reports_found(self) -> bool {
        matches!(
            self,
            Workload::ReadRandom | Workload::ReadSeq | Workload::ReadMissing | Workload::Ycsb(_)
        )
    }
}

/// One run's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    /// What to run.
    pub workload: Workload,
    /// Operations (readseq: entries at most); 100,000 unless given.
    pub n: u64,
    /// The key space; unset, fills use `n` and the others the key space the
    /// last fill loaded (see [`State`](crate::State)).
    pub keys: Option<u64>,
    /// Bytes of each value; 100 unless given.
    pub value_size: usize,
    /// Whether each write waits for its WAL record to be on the disk.
    pub sync: bool,
    /// Seed of every draw (values, keys, operations); 301 unless given.
    pub seed: u64,
    /// YCSB's request distribution; unset, the workload's own.
    pub dist: Option<Dist>,
    /// Threads that run the workload at once, each on a core of its own,
    /// sharing its `n` operations (see [`run_threads`](crate::run_threads));
    /// 1 unless given.
    pub threads: usize,
}

impl Params {
    /// The defaults for `workload`.
    pub fn new(workload: Workload) -> Params {
        Params {
            workload,
            n: 100_000,
            keys: None,
            value_size: 100,
            sync: false,
            seed: 301,
            dist: None,
            threads: 1,
        }
    }

    /// Parses BENCH's arguments (the workload first, case-insensitive).
    pub fn parse<A: AsRef<[u8]>>(args: &[A]) -> Result<Params, ArgError> {
        fn text(a: &[u8]) -> Result<&str, ArgError> {
            core::str::from_utf8(a).map_err(|_| ArgError::NotText)
        }
        let (first, rest) = args.split_first().ok_or(ArgError::NoWorkload)?;
        let name = text(first.as_ref())?.to_ascii_lowercase();
        let workload = Workload::from_name(&name).ok_or(ArgError::UnknownWorkload(name))?;
        let mut p = Params::new(workload);
        // Checked as given, after the others, before narrowing to usize.
        let mut value_size = p.value_size as u64;
        let mut threads = p.threads as u64;
        for (i, a) in rest.iter().enumerate() {
            let a = text(a.as_ref())?;
            let num = |v: &str| {
                v.parse::<u64>()
                    .map_err(|_| ArgError::NotANumber(a.to_string()))
            };
            match a.split_once('=') {
                None if i == 0 => p.n = num(a)?,
                Some(("keys", v)) => p.keys = Some(num(v)?),
                Some(("value_size", v)) => value_size = num(v)?,
                Some(("sync", v)) => p.sync = num(v)? != 0,
                Some(("seed", v)) => p.seed = num(v)?,
                Some(("dist", v)) => p.dist = Some(Dist::parse(v).ok_or(ArgError::BadDist)?),
                Some(("threads", v)) => threads = num(v)?,
                _ => return Err(ArgError::UnknownArgument(a.to_string())),
            }
        }
        if p.n == 0 || p.n > MAX_N {
            return Err(ArgError::NOutOfRange);
        }
        if p.keys.is_some_and(|k| k == 0 || k > MAX_N) {
            return Err(ArgError::KeysOutOfRange);
        }
        if value_size > MAX_VALUE_SIZE as u64 {
            return Err(ArgError::ValueTooLarge);
        }
        p.value_size = value_size as usize;
        if threads == 0 || threads > MAX_THREADS as u64 {
            return Err(ArgError::ThreadsOutOfRange);
        }
        p.threads = threads as usize;
        Ok(p)
    }
}

/// Why BENCH's arguments were refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArgError {
    /// No argument at all (the console's arity check makes this unreachable
    /// there).
    NoWorkload,
    /// An argument is not UTF-8.
    NotText,
    /// The first argument names no workload (lowercased as typed).
    UnknownWorkload(String),
    /// A count, size, flag or seed is not a number (the whole argument).
    NotANumber(String),
    /// `dist=` names no distribution.
    BadDist,
    /// Neither the count (second argument only) nor a known `name=value`.
    UnknownArgument(String),
    /// `n` is 0 or above [`MAX_N`].
    NOutOfRange,
    /// `keys=` is 0 or above [`MAX_N`].
    KeysOutOfRange,
    /// `value_size=` is above [`MAX_VALUE_SIZE`].
    ValueTooLarge,
    /// `threads=` is 0 or above [`MAX_THREADS`].
    ThreadsOutOfRange,
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgError::NoWorkload => write!(f, "usage: {USAGE}"),
            ArgError::NotText => f.write_str("arguments are text"),
            ArgError::UnknownWorkload(w) => write!(f, "unknown workload '{w}'; usage: {USAGE}"),
            ArgError::NotANumber(a) => write!(f, "'{a}' is not a number; usage: {USAGE}"),
            ArgError::BadDist => write!(f, "dist is zipfian, latest or uniform; usage: {USAGE}"),
            ArgError::UnknownArgument(a) => write!(f, "unknown argument '{a}'; usage: {USAGE}"),
            ArgError::NOutOfRange => write!(f, "n must be between 1 and {MAX_N}"),
            ArgError::KeysOutOfRange => write!(f, "keys must be between 1 and {MAX_N}"),
            ArgError::ValueTooLarge => write!(f, "value_size is at most {MAX_VALUE_SIZE}"),
            ArgError::ThreadsOutOfRange => write!(f, "threads must be between 1 and {MAX_THREADS}"),
        }
    }
}

impl core::error::Error for ArgError {}

//! The cache simulator: replays a trace through each policy of the `cache`
//! crate, and through Belady's OPT, at several cache sizes.
//!
//! The binary (`src/main.rs`) is a thin command line over [`simulate`] (block
//! traces) and [`store_sim::simulate_store`] (the store's own lookup traces,
//! replayed through the kernel's `cache::StoreCache`); the tests call the same
//! functions on the ARC paper's OLTP trace and on store traces.

pub mod lsm_model;
pub mod opt;
pub mod phase;
pub mod plot;
pub mod store_sim;
pub mod store_trace;
pub mod trace;

use std::fmt;
use std::io;
use std::str::FromStr;

use cache::{AnyCache, Cache, Policy};

/// One request: a key and the bytes it occupies (1 for unit-size traces).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    /// The page number or the interned key.
    pub key: u64,
    /// The entry's size; 1 when the trace gives none.
    pub size: u64,
}

/// Why a trace could not be read.
#[derive(Debug)]
pub enum TraceError {
    /// The file could not be opened or read.
    Io(io::Error),
    /// The zstd stream is damaged.
    Zstd(String),
    /// A line does not follow the format.
    Parse {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceError::Io(e) => write!(f, "reading the trace: {e}"),
            TraceError::Zstd(e) => write!(f, "decompressing the trace: {e}"),
            TraceError::Parse { line, reason } => write!(f, "trace line {line}: {reason}"),
        }
    }
}

impl std::error::Error for TraceError {}

impl From<io::Error> for TraceError {
    fn from(e: io::Error) -> Self {
        TraceError::Io(e)
    }
}

impl From<cache::trace::ParseError> for TraceError {
    fn from(e: cache::trace::ParseError) -> Self {
        TraceError::Parse {
            line: e.line,
            reason: e.kind.to_string(),
        }
    }
}

/// A policy the simulator can run: one of the crate's, or OPT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SimPolicy {
    /// A policy of the `cache` crate (AC-Key runs with its block part only).
    Cache(Policy),
    /// Belady's OPT with demand paging (exact for unit sizes, a heuristic for
    /// sized traces).
    Opt,
    /// Belady's OPT allowed to decline admission (see [`opt`]).
    OptBypass,
}

impl fmt::Display for SimPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimPolicy::Cache(p) => p.fmt(f),
            SimPolicy::Opt => f.write_str("opt"),
            SimPolicy::OptBypass => f.write_str("opt-bypass"),
        }
    }
}

/// A policy name the simulator does not know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownPolicy(pub String);

impl fmt::Display for UnknownPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown policy `{}` (expected none, lru, arc, ackey, opt or opt-bypass)",
            self.0
        )
    }
}

impl std::error::Error for UnknownPolicy {}

impl FromStr for SimPolicy {
    type Err = UnknownPolicy;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("opt") {
            return Ok(SimPolicy::Opt);
        }
        if s.eq_ignore_ascii_case("opt-bypass") {
            return Ok(SimPolicy::OptBypass);
        }
        s.parse::<Policy>()
            .map(SimPolicy::Cache)
            .map_err(|_| UnknownPolicy(s.to_string()))
    }
}

/// The outcome of one policy at one size.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SimResult {
    /// Which policy.
    pub policy: SimPolicy,
    /// Capacity: pages for unit-size traces, bytes for sized ones.
    pub size: u64,
    /// Requests replayed.
    pub requests: u64,
    /// Requests that hit.
    pub hits: u64,
}

impl SimResult {
    /// Hits over requests.
    pub fn hit_ratio(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.hits as f64 / self.requests as f64
        }
    }
}

impl fmt::Display for SimResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "policy={} size={} requests={} hits={} hit_ratio={:.6}",
            self.policy,
            self.size,
            self.requests,
            self.hits,
            self.hit_ratio()
        )
    }
}

/// Replays `requests` through one cache policy of `size`.
pub fn run_cache(requests: &[Request], policy: Policy, size: u64) -> SimResult {
    let mut cache: AnyCache<u64, ()> = AnyCache::new(policy, size);
    let mut hits = 0;
    for r in requests {
        if cache.access(r.key, (), r.size) {
            hits += 1;
        }
    }
    SimResult {
        policy: SimPolicy::Cache(policy),
        size,
        requests: requests.len() as u64,
        hits,
    }
}

/// Runs every policy at every size, in parallel, results in the order asked
/// (policies outer, sizes inner).
pub fn simulate(requests: &[Request], policies: &[SimPolicy], sizes: &[u64]) -> Vec<SimResult> {
    let next = policies
        .iter()
        .any(|p| matches!(p, SimPolicy::Opt | SimPolicy::OptBypass))
        .then(|| opt::next_uses(requests));
    let jobs: Vec<(SimPolicy, u64)> = policies
        .iter()
        .flat_map(|&p| sizes.iter().map(move |&s| (p, s)))
        .collect();
    par_map(&jobs, |&(policy, size)| match policy {
        SimPolicy::Cache(p) => run_cache(requests, p, size),
        SimPolicy::Opt | SimPolicy::OptBypass => SimResult {
            policy,
            size,
            requests: requests.len() as u64,
            hits: opt::opt_hits(
                requests,
                next.as_deref().unwrap_or_default(),
                size,
                policy == SimPolicy::OptBypass,
            ),
        },
    })
}

/// `f` over `jobs` on every core, results in the order of `jobs`.
pub(crate) fn par_map<J: Sync, R: Send>(jobs: &[J], f: impl Fn(&J) -> R + Sync) -> Vec<R> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(jobs.len().max(1));
    let next_job = std::sync::atomic::AtomicUsize::new(0);
    let mut out: Vec<Option<R>> = (0..jobs.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next_job.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(job) = jobs.get(i) else {
                            break;
                        };
                        done.push((i, f(job)));
                    }
                    done
                })
            })
            .collect();
        for h in handles {
            for (i, r) in h.join().expect("simulation thread panicked") {
                out[i] = Some(r);
            }
        }
    });
    out.into_iter().flatten().collect()
}

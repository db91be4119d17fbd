//! Replays a [store trace](crate::store_trace) through the kernel's own read
//! cache, [`cache::StoreCache`], driving it as the store's `Db::get_with_stats`
//! does, and through Belady's OPT on the block requests.
//!
//! ```text
//!   G key, B..., V:  PointCache::lookup(key)
//!       KV hit  -> no block at all
//!       KP hit  -> the one data block it points to (through the block part),
//!                  then promote(key, value)
//!       miss    -> every B through get_block / insert_block (a miss there is a
//!                  disk read), then insert(key, value, pointer, stats) with the
//!                  lookup's block and disk reads
//!   S, B...:         every B through the block cache
//!   W key:           invalidate(key)
//!   D table:         erase_table(table), and KP pointers into it dropped
//! ```
//!
//! Using `StoreCache` itself, not a copy of its logic, keeps the simulator's
//! charges (key + value for KV, key + `BlockPointer::CHARGE` for KP, the block's
//! length for blocks) and AC-Key's E the kernel's. Under `none`, `lru` and `arc`
//! the point calls are silent misses, exactly as in the kernel.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use cache::{AcKeyConfig, EReads, Policy, StoreCache, Targets};
use lsm::db::{BlockCache, BlockKind, BlockPointer, LookupStats, PointCache, PointHit};

use crate::store_trace::{BlockRef, Op, StoreTrace};
use crate::{opt, par_map, SimPolicy};

/// One policy at one size on a store trace.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StoreResult {
    /// Which policy.
    pub policy: SimPolicy,
    /// Budget in bytes.
    pub size: u64,
    /// Point lookups (`G`).
    pub lookups: u64,
    /// Range scans (`S`).
    pub scans: u64,
    /// Blocks the trace says the store needed (`B` records).
    pub blocks_needed: u64,
    /// Blocks asked of the block cache: all of them under a block cache, fewer
    /// under AC-Key (a KV hit asks none, a KP hit one).
    pub block_requests: u64,
    /// Block requests the cache could not serve.
    pub disk_reads: u64,
    /// Point lookups AC-Key's KV part answered.
    pub kv_hits: u64,
    /// Point lookups AC-Key's KP part answered.
    pub kp_hits: u64,
    /// Disk reads of OPT (demand paging) on the block requests at this size.
    pub opt_disk_reads: Option<u64>,
}

impl StoreResult {
    /// Disk reads per read operation (a scan counts as one).
    pub fn disk_reads_per_lookup(&self) -> f64 {
        self.disk_reads as f64 / (self.lookups + self.scans).max(1) as f64
    }

    /// The share of the blocks the store needed that were not read from the
    /// disk: the block hit ratio for a block cache, and for AC-Key also the
    /// blocks its KV and KP hits made unnecessary.
    pub fn hit_ratio(&self) -> f64 {
        if self.blocks_needed == 0 {
            0.0
        } else {
            1.0 - self.disk_reads as f64 / self.blocks_needed as f64
        }
    }

    /// Disk reads as a multiple of OPT's.
    pub fn vs_opt(&self) -> Option<f64> {
        let o = self.opt_disk_reads?;
        Some(if o == 0 {
            if self.disk_reads == 0 {
                1.0
            } else {
                f64::INFINITY
            }
        } else {
            self.disk_reads as f64 / o as f64
        })
    }
}

impl fmt::Display for StoreResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "policy={} size={} lookups={} scans={} block_requests={} disk_reads={} \
             disk_reads_per_lookup={:.4} hit_ratio={:.6} kv_hits={} kp_hits={}",
            self.policy,
            self.size,
            self.lookups,
            self.scans,
            self.block_requests,
            self.disk_reads,
            self.disk_reads_per_lookup(),
            self.hit_ratio(),
            self.kv_hits,
            self.kp_hits,
        )?;
        match self.vs_opt() {
            Some(v) => write!(f, " vs_opt={v:.4}"),
            None => Ok(()),
        }
    }
}

/// AC-Key's state at one point of the replay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    /// Operations replayed so far.
    pub op: usize,
    /// Bytes resident in KV.
    pub kv: u64,
    /// Bytes resident in KP.
    pub kp: u64,
    /// Bytes resident in the block part.
    pub block: u64,
    /// Where the adaptation has put the boundaries.
    pub targets: Targets,
}

/// How the kernel's cache is configured for a replay.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReplayConfig {
    /// AC-Key's knobs.
    pub ackey: AcKeyConfig,
    /// What a point entry's E counts.
    pub e_reads: EReads,
}

/// Blocks' contents do not matter, only their length (the charge): one shared
/// buffer per distinct size keeps a replay from allocating per miss.
#[derive(Default)]
struct Buffers(HashMap<u64, Arc<[u8]>>);

impl Buffers {
    fn of(&mut self, size: u64) -> Arc<[u8]> {
        self.0
            .entry(size)
            .or_insert_with(|| vec![0u8; size as usize].into())
            .clone()
    }
}

struct Replayer {
    cache: StoreCache,
    bufs: Buffers,
    result: StoreResult,
}

impl Replayer {
    /// One block through the block cache, as the store's table reader does;
    /// returns whether it was a disk read.
    fn block(&mut self, b: &BlockRef) -> bool {
        self.result.block_requests += 1;
        if self.cache.get_block(b.table, b.offset, b.kind).is_some() {
            return false;
        }
        self.result.disk_reads += 1;
        let buf = self.bufs.of(b.size);
        self.cache.insert_block(b.table, b.offset, b.kind, buf);
        true
    }
}

/// Replays `trace` through the kernel's cache under `policy` with `size`
/// bytes, calling `sample` every `every` operations (never if 0) and after
/// the last.
pub fn replay(
    trace: &StoreTrace,
    policy: Policy,
    size: u64,
    config: ReplayConfig,
    every: usize,
    mut sample: impl FnMut(Sample),
) -> StoreResult {
    let counts = trace.measured_counts();
    let from = trace.measured_from();
    let mut r = Replayer {
        cache: StoreCache::with_config(policy, size, config.ackey, config.e_reads),
        bufs: Buffers::default(),
        result: StoreResult {
            policy: SimPolicy::Cache(policy),
            size,
            lookups: counts.lookups,
            scans: counts.scans,
            blocks_needed: counts.blocks,
            block_requests: 0,
            disk_reads: 0,
            kv_hits: 0,
            kp_hits: 0,
            opt_disk_reads: None,
        },
    };
    let sizes: HashMap<(u64, u64), u64> = trace
        .blocks
        .iter()
        .map(|b| ((b.table, b.offset), b.size))
        .collect();
    let mut value = Vec::new();
    let mut take_sample = |r: &Replayer, op: usize| {
        if let Some(s) = r.cache.ac_stats() {
            sample(Sample {
                op,
                kv: s.kv.stats.used_bytes,
                kp: s.kp.stats.used_bytes,
                block: s.block.stats.used_bytes,
                targets: s.targets,
            });
        }
    };
    // The counters when the measured operations begin (all zero unless the
    // trace has a warm-up).
    let mut warm = r.result;
    for (i, op) in trace.ops.iter().enumerate() {
        if every > 0 && i % every == 0 {
            take_sample(&r, i);
        }
        if i == from {
            warm = r.result;
        }
        match op {
            Op::Get { key, blocks, found } => {
                let key = &trace.keys[*key as usize];
                match PointCache::lookup(&r.cache, key) {
                    PointHit::Kv(_) => {
                        r.result.kv_hits += 1;
                        continue;
                    }
                    PointHit::Kp(ptr) => {
                        // The pointer is right if the tree found the key in
                        // the block it names. If not, a compaction moved the
                        // key and the kernel would have dropped the pointer
                        // then (without a read): do that now, and search.
                        match found {
                            Some(f) if (f.table, f.offset) == (ptr.table, ptr.offset) => {
                                r.result.kp_hits += 1;
                                // Charged as when the tree read it, so both
                                // paths agree on what the block costs.
                                let size = sizes
                                    .get(&(ptr.table, ptr.offset))
                                    .copied()
                                    .unwrap_or(f.size);
                                r.block(&BlockRef {
                                    table: ptr.table,
                                    offset: ptr.offset,
                                    size,
                                    kind: BlockKind::Data,
                                });
                                value.resize(f.value_len as usize, 0);
                                r.cache.promote(key, &value);
                                continue;
                            }
                            _ => PointCache::invalidate(&r.cache, key),
                        }
                    }
                    PointHit::Miss => {}
                }
                let mut stats = LookupStats::default();
                for b in trace.blocks_of(blocks) {
                    stats.block_reads += 1;
                    if r.block(b) {
                        stats.disk_reads += 1;
                    } else {
                        stats.cache_hits += 1;
                    }
                }
                if let Some(f) = found {
                    let ptr = BlockPointer {
                        // The level does not take part in caching decisions.
                        level: 0,
                        table: f.table,
                        offset: f.offset,
                        size: f.size,
                    };
                    stats.location = Some(ptr);
                    value.resize(f.value_len as usize, 0);
                    PointCache::insert(&r.cache, key, &value, ptr, &stats);
                }
            }
            Op::Scan { blocks, .. } => {
                for b in trace.blocks_of(blocks) {
                    r.block(b);
                }
            }
            Op::Write { key } => PointCache::invalidate(&r.cache, &trace.keys[*key as usize]),
            Op::DropTable { table } => {
                r.cache.erase_table(*table);
                r.cache.retain_pointers(&mut |_, p| p.table != *table);
            }
        }
    }
    take_sample(&r, trace.ops.len());
    let mut result = r.result;
    result.block_requests -= warm.block_requests;
    result.disk_reads -= warm.disk_reads;
    result.kv_hits -= warm.kv_hits;
    result.kp_hits -= warm.kp_hits;
    result
}

/// OPT on the trace's block requests at `size` bytes: every block the store
/// needed, through a cache that evicts the block next needed furthest away.
/// With blocks of different sizes this is a heuristic, not a bound.
pub fn replay_opt(
    trace: &StoreTrace,
    requests: &[crate::trace::Request],
    next: &[usize],
    size: u64,
    bypass: bool,
) -> StoreResult {
    let counts = trace.measured_counts();
    let from = trace.measured_first_block();
    let hits = opt::opt_hits_from(requests, next, size, bypass, from);
    let disk_reads = (requests.len() - from) as u64 - hits;
    StoreResult {
        policy: if bypass {
            SimPolicy::OptBypass
        } else {
            SimPolicy::Opt
        },
        size,
        lookups: counts.lookups,
        scans: counts.scans,
        blocks_needed: counts.blocks,
        block_requests: (requests.len() - from) as u64,
        disk_reads,
        kv_hits: 0,
        kp_hits: 0,
        opt_disk_reads: None,
    }
}

/// Every policy at every size, in parallel; results in the order asked
/// (policies outer, sizes inner), each with OPT's disk reads at its size.
pub fn simulate_store(
    trace: &StoreTrace,
    policies: &[SimPolicy],
    sizes: &[u64],
    config: ReplayConfig,
) -> Vec<StoreResult> {
    let requests = trace.block_requests();
    let next = opt::next_uses(&requests);
    // OPT is the yardstick of every line, so it runs even when not listed.
    let mut jobs: Vec<(SimPolicy, u64)> = policies
        .iter()
        .flat_map(|&p| sizes.iter().map(move |&s| (p, s)))
        .collect();
    let listed = jobs.len();
    jobs.extend(
        sizes
            .iter()
            .filter(|_| !policies.contains(&SimPolicy::Opt))
            .map(|&s| (SimPolicy::Opt, s)),
    );
    let run = |&(policy, size): &(SimPolicy, u64)| match policy {
        SimPolicy::Cache(p) => replay(trace, p, size, config, 0, |_| {}),
        SimPolicy::Opt | SimPolicy::OptBypass => replay_opt(
            trace,
            &requests,
            &next,
            size,
            policy == SimPolicy::OptBypass,
        ),
    };
    let mut results = par_map(&jobs, run);
    let opt_at: HashMap<u64, u64> = results
        .iter()
        .filter(|r| r.policy == SimPolicy::Opt)
        .map(|r| (r.size, r.disk_reads))
        .collect();
    results.truncate(listed);
    for r in &mut results {
        r.opt_disk_reads = opt_at.get(&r.size).copied();
    }
    results
}

/// AC-Key's mean split over one phase of a trace.
#[derive(Clone, Debug, PartialEq)]
pub struct PhaseSplit {
    /// The phase's name (`# phase NAME`), or `all` for an unmarked trace.
    pub name: String,
    /// First operation of the phase.
    pub start: usize,
    /// One past its last operation.
    pub end: usize,
    /// Mean bytes in KV over the phase's samples.
    pub kv: f64,
    /// Mean bytes in KP.
    pub kp: f64,
    /// Mean bytes in blocks.
    pub block: f64,
    /// Mean KV+KP target.
    pub point_target: f64,
}

impl PhaseSplit {
    /// Share of the resident bytes held by KV and KP.
    pub fn point_share(&self) -> f64 {
        let total = self.kv + self.kp + self.block;
        if total == 0.0 {
            0.0
        } else {
            (self.kv + self.kp) / total
        }
    }
}

impl fmt::Display for PhaseSplit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "phase={} ops={}..{} kv_bytes={:.0} kp_bytes={:.0} block_bytes={:.0} \
             point_target={:.0} point_share={:.4}",
            self.name,
            self.start,
            self.end,
            self.kv,
            self.kp,
            self.block,
            self.point_target,
            self.point_share()
        )
    }
}

/// Means of `samples` over each phase of `trace`, leaving out the first
/// `settle` (a fraction, 0 to 1) of each phase, while the split moves from
/// where the previous phase left it.
pub fn phase_splits(trace: &StoreTrace, samples: &[Sample], settle: f64) -> Vec<PhaseSplit> {
    let mut bounds: Vec<(usize, String)> = trace.phases.clone();
    if bounds.first().is_none_or(|(at, _)| *at > 0) {
        bounds.insert(
            0,
            (0, if bounds.is_empty() { "all" } else { "start" }.into()),
        );
    }
    let n = trace.ops.len();
    (0..bounds.len())
        .map(|i| {
            let (start, name) = (bounds[i].0, bounds[i].1.clone());
            let end = bounds.get(i + 1).map_or(n, |b| b.0);
            let from = start + ((end - start) as f64 * settle.clamp(0.0, 1.0)) as usize;
            let inside: Vec<&Sample> = samples
                .iter()
                .filter(|s| s.op >= from && s.op < end.max(from + 1))
                .collect();
            let mean = |f: &dyn Fn(&Sample) -> u64| {
                inside.iter().map(|s| f(s) as f64).sum::<f64>() / inside.len().max(1) as f64
            };
            PhaseSplit {
                name,
                start,
                end,
                kv: mean(&|s| s.kv),
                kp: mean(&|s| s.kp),
                block: mean(&|s| s.block),
                point_target: mean(&|s| s.targets.point),
            }
        })
        .collect()
}

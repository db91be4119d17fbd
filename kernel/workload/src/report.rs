//! BENCH's report: a [`BenchResult`] as the console prints it, field for
//! field and in order (`docs/console.md`), with the caller's read-cache figures.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use console::Report;

use crate::run::BenchResult;

/// A read cache's lookup counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheCounters {
    /// Lookups it answered.
    pub hits: u64,
    /// Lookups it could not.
    pub misses: u64,
}

/// The store's read cache around a run: its policy, and its counters
/// before and after (the report shows the difference).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheFigures {
    /// The policy's name (`none`, `lru`, `arc`, `ackey`).
    pub policy: &'static str,
    /// Counters before the run.
    pub before: CacheCounters,
    /// Counters after it.
    pub after: CacheCounters,
}

impl BenchResult {
    /// The report: section `Bench` with the run's figures (for a run of
    /// several threads also `threads` after `sync`, and
    /// `thread_ops_per_sec`, each thread's, after `mb_per_sec`); then the read
    /// cache's (`cache: None` when there is none: every block read goes to
    /// the disk); then the disk's; then, for `sync=0` runs,
    /// `wal_loss_bound_ms`: how much acknowledged writing a power cut may
    /// lose.
    pub fn report(&self, cache: Option<&CacheFigures>, wal_loss_bound_ms: u64) -> Report {
        let mut r = Report::new();
        r.add_section("Bench");
        r.add_field("workload", self.workload.name());
        r.add_field("ops", self.ops);
        r.add_field("keys", self.keys);
        r.add_field("value_size", self.value_size);
        r.add_field("sync", u8::from(self.sync));
        let threads = self.per_thread.threads;
        if threads > 1 {
            r.add_field("threads", threads);
        }
        r.add_field("elapsed_ms", self.elapsed_us / 1000);
        r.add_field("ops_per_sec", format!("{:.0}", self.ops_per_sec()));
        r.add_field("mb_per_sec", format!("{:.2}", self.mb_per_sec()));
        if threads > 1 {
            // Each over its own time from the common start: a thread that
            // waited for the store's lock shows it here.
            let rates: Vec<String> = self
                .per_thread
                .ops_per_sec()
                .map(|r| format!("{r:.0}"))
                .collect();
            r.add_field("thread_ops_per_sec", rates.join(","));
        }
        r.add_field("p50_us", self.p50_us);
        r.add_field("p99_us", self.p99_us);
        r.add_field("p999_us", self.p999_us);
        if self.workload.reports_found() {
            r.add_field("found", self.found);
        }
        if let Some(dist) = self.dist {
            r.add_field("dist", dist.name());
            r.add_field("reads", self.mix.reads);
            r.add_field("updates", self.mix.updates);
            r.add_field("inserts", self.mix.inserts);
            r.add_field("scans", self.mix.scans);
            r.add_field("read_modify_writes", self.mix.read_modify_writes);
        }
        match cache {
            Some(c) => {
                let hits = c.after.hits.saturating_sub(c.before.hits);
                let lookups = hits + c.after.misses.saturating_sub(c.before.misses);
                let ratio = if lookups == 0 {
                    0.0
                } else {
                    hits as f64 / lookups as f64
                };
                r.add_field("cache_policy", c.policy);
                r.add_field("cache_hits", hits);
                r.add_field("cache_hit_ratio", format!("{ratio:.6}"));
            }
            None => {
                r.add_field("cache_policy", "none");
                r.add_field("cache_hit_ratio", 0);
            }
        }
        let per_op = |v: u64| {
            if self.ops == 0 {
                0.0
            } else {
                v as f64 / self.ops as f64
            }
        };
        r.add_field("disk_reads", self.io.reads);
        r.add_field("disk_writes", self.io.writes);
        r.add_field("disk_reads_per_op", format!("{:.3}", per_op(self.io.reads)));
        r.add_field(
            "disk_writes_per_op",
            format!("{:.3}", per_op(self.io.writes)),
        );
        r.add_field("bytes_written_to_disk", self.io.write_bytes);
        r.add_field("disk_flushes", self.io.flushes);
        if !self.sync {
            r.add_field("wal_loss_bound_ms", wal_loss_bound_ms);
        }
        r
    }
}

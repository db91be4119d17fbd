//! One command's latency histogram, laid out as Redis 7.0's (an
//! HdrHistogram from 1 ns to 1 s with two significant digits): every value
//! below 256 ns has its own counter, and every power of two above is cut
//! into 128 equal ranges, so a value read back is within 1/128 (0.8%) of
//! the values it stands for. 3,072 counters, 24 KiB, made at a command's
//! first call.
//!
//! Reading it back follows HdrHistogram's rules, as Redis's replies do: a
//! percentile is the highest value of the range where the cumulative count
//! reaches it (the lowest, for the 0th), and LATENCY HISTOGRAM's buckets
//! are the cumulative counts at 1,024 ns times each power of two, keyed by
//! the highest value of that range in whole microseconds (1, 2, 4, 8, 16,
//! 33, 66, 132 ...).

use alloc::vec;
use alloc::vec::Vec;

/// Values recorded are clamped to this range (Redis's
/// `LATENCY_HISTOGRAM_MIN_VALUE` and `_MAX_VALUE`), in nanoseconds.
pub const MIN_NS: u64 = 1;
/// See [`MIN_NS`].
pub const MAX_NS: u64 = 1_000_000_000;

/// Values below this have a counter each.
const EXACT: u64 = 256;
/// Ranges each power of two from [`EXACT`] up is cut into.
const HALF: usize = 128;
/// Counters: the exact ones, then 128 for each power of two up to 2^30 ns,
/// past [`MAX_NS`].
const COUNTERS: usize = 3072;

/// A command's latencies (see the module doc).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Histogram {
    counts: Vec<u64>,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

/// The counter a value of `ns` (clamped) goes to.
#[inline(always)]
fn index(ns: u64) -> usize {
    let v = ns.clamp(MIN_NS, MAX_NS);
    if v < EXACT {
        return v as usize;
    }
    let shift = 63 - v.leading_zeros() - 7;
    (shift as usize) * HALF + (v >> shift) as usize
}

/// The lowest value counter `i` stands for, and how many values it does.
fn range(i: usize) -> (u64, u64) {
    if (i as u64) < EXACT {
        return (i as u64, 1);
    }
    let shift = i / HALF - 1;
    let sub = (i - shift * HALF) as u64;
    (sub << shift, 1 << shift)
}

/// The highest value counter `i` stands for.
fn highest(i: usize) -> u64 {
    let (low, width) = range(i);
    low + width - 1
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Histogram {
            counts: vec![0; COUNTERS],
        }
    }

    /// Counts one command that took `ns` nanoseconds.
    #[inline(always)]
    pub fn record(&mut self, ns: u64) {
        // A counter does not wrap in the life of a machine (2^64 calls),
        // so no saturating add on every command; the total is summed when
        // read, which is rare.
        if let Some(c) = self.counts.get_mut(index(ns)) {
            *c += 1;
        }
    }

    /// Values recorded.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The value at percentile `p` (0 to 100), in nanoseconds, as
    /// HdrHistogram's `hdr_value_at_percentile` gives it; 0 when empty.
    pub fn percentile(&self, p: f64) -> u64 {
        let p = p.clamp(0.0, 100.0);
        let wanted = ((p / 100.0) * self.total() as f64 + 0.5) as u64;
        let wanted = wanted.max(1);
        let mut seen = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= wanted {
                return if p == 0.0 { range(i).0 } else { highest(i) };
            }
        }
        0
    }

    /// LATENCY HISTOGRAM's buckets: (microseconds, values up to there)
    /// at 1,024 ns times each power of two, where the count grew, up to
    /// the bucket that holds the largest value.
    pub fn buckets(&self) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let total = self.total();
        let (mut seen, mut at, mut reported) = (0u64, 0usize, 0u64);
        let mut level: u64 = 1024;
        while reported < total {
            let last = index(level).min(COUNTERS - 1);
            while at <= last {
                seen += self.counts[at];
                at += 1;
            }
            if seen > reported {
                out.push((highest(last) / 1000, seen));
                reported = seen;
            }
            if at >= COUNTERS {
                break;
            }
            level = level.saturating_mul(2);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn counters_tile_the_values_without_gaps() {
        assert_eq!(index(0), 1, "clamped to 1 ns");
        assert_eq!(index(255), 255);
        assert_eq!(index(256), 256);
        assert_eq!(index(257), 256, "two values a counter from 256");
        assert_eq!(index(511), 383);
        assert_eq!(index(512), 384);
        assert!(index(MAX_NS) < COUNTERS);
        assert_eq!(index(u64::MAX), index(MAX_NS));
        // Up to the counter of the largest value (those past it stay
        // empty: values are clamped).
        for i in 1..index(MAX_NS) {
            let (low, width) = range(i);
            assert_eq!(range(i + 1).0, low + width, "counter {i}");
            assert_eq!(index(low), i);
            assert_eq!(index(low + width - 1), i);
        }
    }

    #[test]
    fn the_buckets_are_keyed_as_redis_keys_them() {
        let mut h = Histogram::new();
        for ns in [500, 1_500, 3_000, 40_000, 40_000, 900_000] {
            h.record(ns);
        }
        // Redis's keys for these levels: 1031, 2063, 4127, ... ns.
        assert_eq!(h.buckets(), [(1, 1), (2, 2), (4, 3), (66, 5), (1056, 6)]);
        assert_eq!(Histogram::new().buckets(), []);
    }

    #[test]
    fn percentiles_are_hdr_histograms() {
        let mut h = Histogram::new();
        assert_eq!(h.percentile(50.0), 0);
        for ns in 1..=100 {
            h.record(ns * 1000);
        }
        // 50,000 ns: counter of width 256 from 49,920.
        assert_eq!(h.percentile(50.0), 50_175);
        assert_eq!(h.percentile(0.0), 1000);
        assert_eq!(h.percentile(100.0), 100_351);
        assert_eq!(h.total(), 100);
    }

    proptest! {
        /// Against the sorted values: a percentile is within 1/128 of the
        /// value HdrHistogram's rule picks.
        #[test]
        fn percentiles_are_within_the_resolution(
            values in proptest::collection::vec(1u64..2_000_000_000, 1..300),
            p in 0.0f64..=100.0,
        ) {
            let mut h = Histogram::new();
            for &v in &values {
                h.record(v);
            }
            let mut sorted: Vec<u64> = values.iter().map(|v| (*v).clamp(MIN_NS, MAX_NS)).collect();
            sorted.sort_unstable();
            let wanted = (((p / 100.0) * sorted.len() as f64 + 0.5) as usize).max(1);
            let exact = sorted[wanted.min(sorted.len()) - 1];
            let got = h.percentile(p);
            prop_assert!(got.abs_diff(exact) <= exact / 128 + 1, "{got} vs {exact}");
            let b = h.buckets();
            prop_assert_eq!(b.last().map(|x| x.1), Some(values.len() as u64));
            prop_assert!(b.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1));
        }
    }
}

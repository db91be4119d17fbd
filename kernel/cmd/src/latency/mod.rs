//! Redis 7.0's latency tracking: a histogram of every command's run times
//! (`histogram`), kept while `latency-tracking` is yes (its default),
//! read as INFO latencystats' percentiles (`latency-tracking-info-percentiles`,
//! 50 99 99.9 by default) and as LATENCY HISTOGRAM's cumulative buckets;
//! and the rest of LATENCY, Redis's latency monitor, which with its
//! threshold at 0 (Redis's default, and the only value unikv takes)
//! records nothing.
//!
//! The time is the handler's, as INFO commandstats and the SLOWLOG count
//! it, in nanoseconds from the CPU's counter (Redis records whole
//! microseconds times 1,000). Commands are tracked by name, not by
//! subcommand (`config`, where Redis has `config|set`), as commandstats
//! tracks them here. CONFIG RESETSTAT empties the histograms.

pub mod histogram;

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use console::command::Position;
use console::{CommandSpec, Invocation, Reply, Report};

use crate::ctx::{CmdError, Ctx};
use crate::state::{Config, Stats};
use crate::subcommand::{Container, Sub, HELP};
use histogram::Histogram;

/// Each command's histogram, kept in the server's statistics.
impl Stats {
    /// Counts a run of `ns` nanoseconds in the histogram of the command
    /// at `place`: a few instructions on every command, once its
    /// histogram is made.
    #[inline(always)]
    pub(crate) fn record_latency(&mut self, place: Option<Position>, ns: u64) {
        let Some(place) = place else {
            return;
        };
        match self.latency.get_mut(place.index) {
            Some(Some(h)) => h.record(ns),
            _ => self.first_latency(place.index, ns),
        }
    }

    /// [`Stats::record_latency`] for a command without a histogram yet.
    #[cold]
    #[inline(never)]
    fn first_latency(&mut self, index: usize, ns: u64) {
        if self.latency.is_empty() {
            self.latency.resize_with(console::command::count(), || None);
        }
        if let Some(slot) = self.latency.get_mut(index) {
            slot.get_or_insert_with(Box::default).record(ns);
        }
    }

    /// The histogram of `spec`'s command, if it ran while tracking was on.
    pub fn latency_of(&self, spec: &'static CommandSpec) -> Option<&Histogram> {
        let at = console::command::position(spec)?.index;
        self.latency.get(at)?.as_deref()
    }

    /// Every command that has a histogram, by name.
    pub fn latencies(&self) -> impl Iterator<Item = (&'static str, &Histogram)> + '_ {
        let mut used: Vec<(&'static str, &Histogram)> = console::commands()
            .zip(&self.latency)
            .filter_map(|(spec, h)| Some((spec.name, h.as_deref()?)))
            .collect();
        used.sort_unstable_by_key(|(name, _)| *name);
        used.into_iter()
    }
}

/// LATENCY's subcommands: HISTOGRAM, and Redis's latency monitor with its
/// threshold at 0, where it records nothing (unikv has no monitor:
/// SLOWLOG, INFO commandstats and latencystats time its commands).
pub(crate) static LATENCY: Container = Container {
    name: "LATENCY",
    bare: false,
    subs: &[
        Sub {
            name: "DOCTOR",
            arity: 2,
            args: "",
            summary: "Return a human readable latency analysis report.",
            since: "2.8.13",
        },
        Sub {
            name: "GRAPH",
            arity: 3,
            args: "<event>",
            summary: "Return an ASCII latency graph for the <event> class.",
            since: "2.8.13",
        },
        Sub {
            name: "HISTOGRAM",
            arity: -2,
            args: "[<command> ...]",
            summary: "Return a cumulative distribution of latencies in the format of a histogram \
                      for the specified command names. If no commands are specified then all \
                      histograms are replied.",
            since: "7.0.0",
        },
        Sub {
            name: "HISTORY",
            arity: 3,
            args: "<event>",
            summary: "Return time-latency samples for the <event> class.",
            since: "2.8.13",
        },
        Sub {
            name: "LATEST",
            arity: 2,
            args: "",
            summary: "Return the latest latency samples for all events.",
            since: "2.8.13",
        },
        Sub {
            name: "RESET",
            arity: -2,
            args: "[<event> ...]",
            summary: "Reset latency data of one or more <event> classes.",
            since: "2.8.13",
        },
        HELP,
    ],
};

/// LATENCY: HISTOGRAM from the commands' histograms; the monitor's
/// subcommands as Redis answers them with nothing recorded (no events in
/// LATEST and HISTORY, none reset, no samples to graph) and a report that
/// says where unikv's timings are.
pub fn latency(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let sub = LATENCY.enter(ctx, inv)?;
    match sub.name {
        "HISTOGRAM" => Ok(histograms(&ctx.server.lock().stats, &inv.args[1..])),
        "LATEST" | "HISTORY" => Ok(Reply::Array(Vec::new())),
        "RESET" => Ok(Reply::Integer(0)),
        "GRAPH" => Err(CmdError::Invalid(format!(
            "No samples available for event '{}'",
            crate::subcommand::shown(&inv.args[1])
        ))),
        // Free text, as Redis's verbatim reply (redis-cli prints it raw).
        "DOCTOR" => Ok(Reply::Text(String::from(
            "unikv records no latency events (latency-monitor-threshold is 0, Redis's default, \
              and the only value unikv takes). LATENCY HISTOGRAM and INFO latencystats give \
              each command's distribution of run times; SLOWLOG GET lists the commands that took \
              longer than slowlog-log-slower-than microseconds; INFO commandstats gives each \
              command's calls and time; DEBUG PROFILE samples where the CPU goes.\n",
        ))),
        _ => Ok(LATENCY.help()),
    }
}

/// LATENCY HISTOGRAM's map: each named command that has a histogram (or
/// every one, with no names), by its lower-case name, to its calls and
/// cumulative buckets. Names of no command are skipped, as in Redis.
fn histograms(stats: &Stats, names: &[Vec<u8>]) -> Reply {
    let entry = |name: &str, h: &Histogram| {
        let buckets = h
            .buckets()
            .into_iter()
            .map(|(usec, n)| (Reply::Integer(usec as i64), Reply::Integer(n as i64)))
            .collect();
        (
            Reply::Value(name.to_ascii_lowercase().into_bytes()),
            Reply::Map(alloc::vec![
                (
                    Reply::Value(b"calls".to_vec()),
                    Reply::Integer(h.total() as i64)
                ),
                (
                    Reply::Value(b"histogram_usec".to_vec()),
                    Reply::Map(buckets)
                ),
            ]),
        )
    };
    let out = if names.is_empty() {
        stats.latencies().map(|(n, h)| entry(n, h)).collect()
    } else {
        names
            .iter()
            .filter_map(|n| console::lookup(n))
            .filter_map(|spec| stats.latency_of(spec).map(|h| entry(spec.name, h)))
            .collect()
    };
    Reply::Map(out)
}

/// INFO latencystats: `latency_percentiles_usec_<command>:p50=..,p99=..`
/// for every command that has a histogram, while tracking is on.
pub(crate) fn info_latencystats(stats: &Stats, config: &Config, r: &mut Report) {
    if !config.latency_tracking {
        return;
    }
    for (name, h) in stats.latencies() {
        let mut value = String::new();
        for (i, &p) in config.latency_percentiles.iter().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            let usec = h.percentile(p) as f64 / 1000.0;
            let _ = write!(value, "{sep}p{}={usec:.3}", percentile_name(p));
        }
        r.add_field(
            &format!("latency_percentiles_usec_{}", name.to_ascii_lowercase()),
            value,
        );
    }
}

/// A percentile as Redis writes it (`%f`, trailing zeros and point
/// trimmed): 50, 99.9, 0.
pub(crate) fn percentile_name(p: f64) -> String {
    let mut s = format!("{p:.6}");
    while s.ends_with('0') {
        s.pop();
    }
    if s.ends_with('.') {
        s.pop();
    }
    s
}

/// `latency-tracking-info-percentiles`' value: percentiles between 0 and
/// 100, separated by spaces (none: an empty string), or Redis's error.
pub(crate) fn parse_percentiles(value: &[u8]) -> Result<Vec<f64>, String> {
    let text = core::str::from_utf8(value).map_err(|_| invalid_percentiles())?;
    let mut out = Vec::new();
    for word in text.split_ascii_whitespace() {
        let p: f64 = word
            .parse()
            .ok()
            .filter(|p: &f64| !p.is_nan())
            .ok_or_else(invalid_percentiles)?;
        if !(0.0..=100.0).contains(&p) {
            return Err(String::from(
                "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]",
            ));
        }
        out.push(p);
    }
    Ok(out)
}

fn invalid_percentiles() -> String {
    String::from("Invalid latency-tracking-info-percentiles parameters")
}

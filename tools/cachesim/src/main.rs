//! `cachesim --trace FILE [--format lis|keys|store] [--policies lru,arc,opt]
//! [--sizes 1000,2000] [--plot out.svg]`: one line per policy and size. A file
//! starting with the store trace header is a store trace (see
//! `cachesim::store_trace`): its lookups go through the kernel's own cache
//! (`--split-plot out.svg` draws AC-Key's split over the trace).
//!
//! `cachesim --gen-phase-trace FILE [--lsm-keys N] [--ops N] [--scans N]
//! [--scan-len N]`: writes a synthetic store trace of points, scans, points.
//!
//! `cachesim --lsm-keys N [--ops N] [--theta T] [--key-size B] [--value-size B]
//! --policies none,lru,arc,ackey --sizes BYTES,...`: Zipfian point lookups over
//! a modelled LSM tree (see `cachesim::lsm_model`), counting disk reads.

use std::path::PathBuf;
use std::process::ExitCode;

use cache::EReads;
use cachesim::lsm_model::{run_lookups, zipf_keys, LsmModel};
use cachesim::phase::{phase_trace, PhaseSpec};
use cachesim::plot::{Chart, Series};
use cachesim::store_sim::{phase_splits, replay, simulate_store, ReplayConfig, Sample};
use cachesim::store_trace::{self, StoreTrace};
use cachesim::trace::{self, Format};
use cachesim::{plot, simulate, SimPolicy, SimResult};

const USAGE: &str = "usage: cachesim --trace FILE [--format lis|keys|store] \
[--policies none,lru,arc,ackey,opt,opt-bypass] [--sizes N,N,...] [--plot OUT.svg]\n\
       (store traces also: [--split-plot OUT.svg] [--sample-every N] [--e-reads expected|blocks|disk]\n\
        [--ackey step_scale=F,window=N,steady_windows=N,steady_permille=N,\
initial_point_permille=N,elru_sample=N,adapt=BOOL])\n\
       cachesim --lsm-keys N [--ops N] [--theta T] [--key-size B] [--value-size B] \
[--policies none,lru,arc,ackey] [--sizes BYTES,...] [--plot OUT.svg]\n\
       cachesim --gen-phase-trace FILE [--lsm-keys N] [--ops N] [--scans N] [--scan-len N] \
[--theta T] [--key-size B] [--value-size B]";

/// The point-lookup workload over a modelled LSM tree.
struct LsmArgs {
    keys: u64,
    ops: usize,
    theta: f64,
    key_size: u64,
    value_size: u64,
}

impl Args {
    /// The policies and sizes asked for, or the defaults for page traces
    /// and the LSM model: LRU, ARC and OPT at 1000 and 2000.
    fn unit_policies_and_sizes(&self) -> (Vec<SimPolicy>, Vec<u64>) {
        let policies = self.policies.clone().unwrap_or_else(|| {
            vec![
                SimPolicy::Cache(cache::Policy::Lru),
                SimPolicy::Cache(cache::Policy::Arc),
                SimPolicy::Opt,
            ]
        });
        (
            policies,
            self.sizes.clone().unwrap_or_else(|| vec![1000, 2000]),
        )
    }
}

struct Args {
    trace: Option<PathBuf>,
    lsm: Option<LsmArgs>,
    format: Option<Format>,
    /// `None`: the default list, which depends on the trace.
    policies: Option<Vec<SimPolicy>>,
    /// `None`: the default sizes, which depend on the trace.
    sizes: Option<Vec<u64>>,
    plot: Option<PathBuf>,
    split_plot: Option<PathBuf>,
    sample_every: Option<usize>,
    e_reads: EReads,
    ackey: cache::AcKeyConfig,
    gen: Option<(PathBuf, PhaseSpec)>,
}

/// `name=value,...` over AC-Key's knobs (see `cache::AcKeyConfig`).
fn parse_ackey(spec: &str) -> Result<cache::AcKeyConfig, String> {
    let mut c = cache::AcKeyConfig::default();
    for item in spec.split(',').filter(|s| !s.is_empty()) {
        let (name, v) = item
            .split_once('=')
            .ok_or_else(|| format!("--ackey: `{item}` is not name=value"))?;
        let bad = || format!("--ackey: {name}: `{v}` is not a valid value");
        let int = || v.parse::<u64>().map_err(|_| bad());
        match name {
            "step_scale" => c.step_scale = v.parse().map_err(|_| bad())?,
            "initial_point_permille" => c.initial_point_permille = int()? as u32,
            "window" => c.window = int()?,
            "steady_permille" => c.steady_permille = int()? as u32,
            "steady_windows" => c.steady_windows = int()?.min(u64::from(u32::MAX)) as u32,
            "elru_sample" => c.elru_sample = int()? as usize,
            "adapt" => c.adapt = v.parse().map_err(|_| bad())?,
            _ => return Err(format!("--ackey: unknown knob `{name}`")),
        }
    }
    Ok(c)
}

fn parse_args() -> Result<Args, String> {
    let mut trace = None;
    let mut format = None;
    let mut policies = None;
    let mut sizes = None;
    let mut plot = None;
    let mut split_plot = None;
    let mut sample_every = None;
    let mut e_reads = EReads::default();
    let mut ackey = cache::AcKeyConfig::default();
    let mut gen_path = None;
    let (mut scans, mut scan_len) = (None, None);
    let mut lsm_keys = None;
    let (mut ops, mut theta, mut key_size, mut value_size) = (None, 0.99f64, 16u64, 100u64);
    let num = |flag: &str, v: String| {
        v.parse::<u64>()
            .map_err(|_| format!("{flag}: `{v}` is not a number"))
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--trace" => trace = Some(PathBuf::from(value()?)),
            "--format" => {
                format = Some(match value()?.as_str() {
                    "lis" => Format::Lis,
                    "keys" => Format::Keys,
                    "store" => Format::Store,
                    other => return Err(format!("unknown format `{other}` (lis, keys or store)")),
                })
            }
            "--policies" => {
                policies = Some(
                    value()?
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(|s| {
                            s.parse()
                                .map_err(|e: cachesim::UnknownPolicy| e.to_string())
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                )
            }
            "--sizes" => {
                sizes = Some(
                    value()?
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(|s| {
                            s.trim()
                                .parse::<u64>()
                                .map_err(|_| format!("size `{s}` is not a number"))
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                )
            }
            "--plot" => plot = Some(PathBuf::from(value()?)),
            "--split-plot" => split_plot = Some(PathBuf::from(value()?)),
            "--sample-every" => sample_every = Some(num(&flag, value()?)?.max(1) as usize),
            "--e-reads" => {
                e_reads = match value()?.as_str() {
                    "blocks" => EReads::Blocks,
                    "disk" => EReads::Disk,
                    "expected" => EReads::Expected,
                    other => {
                        return Err(format!("--e-reads: `{other}` (expected, blocks or disk)"))
                    }
                }
            }
            "--ackey" => ackey = parse_ackey(&value()?)?,
            "--gen-phase-trace" => gen_path = Some(PathBuf::from(value()?)),
            "--scans" => scans = Some(num(&flag, value()?)? as usize),
            "--scan-len" => scan_len = Some(num(&flag, value()?)?.max(1)),
            "--lsm-keys" => lsm_keys = Some(num(&flag, value()?)?.max(1)),
            "--ops" => ops = Some(num(&flag, value()?)? as usize),
            "--key-size" => key_size = num(&flag, value()?)?,
            "--value-size" => value_size = num(&flag, value()?)?,
            "--theta" => {
                let v = value()?;
                theta = v
                    .parse::<f64>()
                    .ok()
                    .filter(|t| (0.0..1.0).contains(t) && *t > 0.0)
                    .ok_or_else(|| format!("--theta: `{v}` is not in (0, 1)"))?
            }
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    let gen = gen_path.map(|path| {
        let d = PhaseSpec::default();
        let spec = PhaseSpec {
            keys: lsm_keys.unwrap_or(d.keys),
            point_ops: ops.unwrap_or(d.point_ops),
            scan_ops: scans.unwrap_or(d.scan_ops),
            scan_len: scan_len.unwrap_or(d.scan_len),
            theta,
            key_size,
            value_size,
            ..d
        };
        (path, spec)
    });
    // With --gen-phase-trace, --lsm-keys sizes the generated tree instead.
    let lsm = lsm_keys.filter(|_| gen.is_none()).map(|keys| LsmArgs {
        keys,
        ops: ops.unwrap_or(1_000_000),
        theta,
        key_size,
        value_size,
    });
    if trace.is_none() && lsm.is_none() && gen.is_none() {
        return Err(format!(
            "--trace or --lsm-keys is required (or --gen-phase-trace)\n{USAGE}"
        ));
    }
    if policies.as_ref().is_some_and(Vec::is_empty) || sizes.as_ref().is_some_and(Vec::is_empty) {
        return Err("need at least one policy and one size".into());
    }
    Ok(Args {
        trace,
        lsm,
        format,
        policies,
        sizes,
        plot,
        split_plot,
        sample_every,
        e_reads,
        ackey,
        gen,
    })
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if let Some((out, spec)) = &args.gen {
        let t = phase_trace(spec);
        if let Err(e) = std::fs::write(out, t.to_text()) {
            eprintln!("cachesim: {}: {e}", out.display());
            return ExitCode::FAILURE;
        }
        let c = t.counts();
        eprintln!(
            "cachesim: wrote {} ({} lookups, {} scans, {} block records)",
            out.display(),
            c.lookups,
            c.scans,
            c.blocks
        );
        if args.trace.is_none() {
            return ExitCode::SUCCESS;
        }
    }
    if let Some(lsm) = &args.lsm {
        return run_lsm(&args, lsm);
    }
    let Some(path) = &args.trace else {
        return ExitCode::from(2);
    };
    let format = match args.format.map_or_else(|| trace::detect(path), Ok) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("cachesim: {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    };
    if format == Format::Store {
        return run_store(&args, path);
    }
    if args.split_plot.is_some() {
        eprintln!("cachesim: --split-plot needs a store trace");
        return ExitCode::from(2);
    }
    let (policies, sizes) = args.unit_policies_and_sizes();
    let trace = match trace::load(path, format) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cachesim: {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    };
    if trace.sized
        && policies
            .iter()
            .any(|p| matches!(p, SimPolicy::Opt | SimPolicy::OptBypass))
    {
        eprintln!(
            "cachesim: note: the trace has sizes, so opt is a heuristic \
             (furthest next use first), not the true optimum"
        );
    }
    let results = simulate(&trace.requests, &policies, &sizes);
    for r in &results {
        println!("{r}");
    }
    if let Some(out) = &args.plot {
        let unit = if trace.sized { "bytes" } else { "pages" };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let title = format!("{name}: hit ratio by cache size");
        if let Err(e) = plot::write_svg(out, &title, unit, &results) {
            eprintln!("cachesim: {}: {e}", out.display());
            return ExitCode::FAILURE;
        }
        eprintln!("cachesim: wrote {}", out.display());
    }
    ExitCode::SUCCESS
}

fn run_lsm(args: &Args, lsm: &LsmArgs) -> ExitCode {
    let model = LsmModel::new(lsm.keys, lsm.key_size, lsm.value_size);
    let keys = zipf_keys(lsm.keys, lsm.theta, lsm.ops, 0x5eed);
    let mut results = Vec::new();
    let (policies, sizes) = args.unit_policies_and_sizes();
    for policy in &policies {
        let SimPolicy::Cache(p) = *policy else {
            eprintln!("cachesim: {policy} needs a trace; skipped for --lsm-keys");
            continue;
        };
        for &size in &sizes {
            let r = run_lookups(&model, &keys, p, size);
            println!("{r}");
            results.push(SimResult {
                policy: *policy,
                size,
                requests: r.lookups,
                hits: r.free_lookups,
            });
        }
    }
    if let Some(out) = &args.plot {
        let title = format!(
            "{} keys, zipf {}: lookups with no disk read",
            lsm.keys, lsm.theta
        );
        if let Err(e) = plot::write_svg(out, &title, "bytes", &results) {
            eprintln!("cachesim: {}: {e}", out.display());
            return ExitCode::FAILURE;
        }
        eprintln!("cachesim: wrote {}", out.display());
    }
    ExitCode::SUCCESS
}

/// A store trace: every policy through the kernel's cache, OPT as the yardstick.
fn run_store(args: &Args, path: &std::path::Path) -> ExitCode {
    let trace = match trace::open(path).and_then(store_trace::parse) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cachesim: {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    };
    let c = trace.counts();
    eprintln!(
        "cachesim: {} lookups ({} found), {} scans, {} writes, {} block records",
        c.lookups, c.found, c.scans, c.writes, c.blocks
    );
    if trace.measured_from() > 0 {
        let m = trace.measured_counts();
        eprintln!(
            "cachesim: counting from `# phase measure`: {} lookups, {} scans, {} block records",
            m.lookups, m.scans, m.blocks
        );
    }
    if c.found_without_blocks > 0 {
        eprintln!(
            "cachesim: warning: {} lookups found their key without any block: the trace \
             was recorded with a point cache (AC-Key) serving lookups, which hides their \
             blocks; record under none, lru or arc",
            c.found_without_blocks
        );
    }
    eprintln!(
        "cachesim: note: blocks differ in size, so opt is a heuristic \
         (furthest next use first), not the true optimum"
    );
    use cache::Policy;
    let policies = args.policies.clone().unwrap_or_else(|| {
        let mut p: Vec<SimPolicy> = Policy::ALL.into_iter().map(SimPolicy::Cache).collect();
        p.push(SimPolicy::Opt);
        p
    });
    let sizes = args
        .sizes
        .clone()
        .unwrap_or_else(|| vec![1_000_000, 2_000_000]);
    let config = ReplayConfig {
        e_reads: args.e_reads,
        ackey: args.ackey,
    };
    let results = simulate_store(&trace, &policies, &sizes, config);
    for r in &results {
        println!("{r}");
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Some(out) = &args.plot {
        let series: Vec<Series> = policies
            .iter()
            .map(|p| Series {
                name: p.to_string(),
                points: results
                    .iter()
                    .filter(|r| r.policy == *p)
                    .map(|r| (r.size as f64, r.disk_reads_per_lookup()))
                    .collect(),
                markers: true,
                ..Series::default()
            })
            .collect();
        let (lo, hi) = (
            sizes.iter().copied().min().unwrap_or(1).max(1),
            sizes.iter().copied().max().unwrap_or(1),
        );
        let log_x = hi / lo >= 10;
        let title = format!("{name}: disk reads per lookup by cache size");
        let x_desc = if log_x {
            "cache size (bytes, log scale)"
        } else {
            "cache size (bytes)"
        };
        let chart = Chart {
            title: &title,
            x_desc,
            y_desc: "disk reads per lookup",
            log_x,
            marks: &[],
            series: &series,
        };
        if let Err(e) = plot::write_lines_svg(out, &chart) {
            eprintln!("cachesim: {}: {e}", out.display());
            return ExitCode::FAILURE;
        }
        eprintln!("cachesim: wrote {}", out.display());
    }
    if let Some(out) = &args.split_plot {
        let has_ackey = policies.contains(&SimPolicy::Cache(Policy::AcKey));
        let [size] = sizes[..] else {
            eprintln!("cachesim: --split-plot needs exactly one size");
            return ExitCode::from(2);
        };
        if !has_ackey {
            eprintln!("cachesim: --split-plot needs ackey among --policies");
            return ExitCode::from(2);
        }
        let every = args
            .sample_every
            .unwrap_or_else(|| (trace.ops.len() / 500).max(1));
        if let Err(e) = write_split_plot(out, &name, &trace, size, config, every) {
            eprintln!("cachesim: {}: {e}", out.display());
            return ExitCode::FAILURE;
        }
        eprintln!("cachesim: wrote {}", out.display());
    }
    ExitCode::SUCCESS
}

/// AC-Key's bytes in KV, KP and blocks, and its targets, over the trace.
fn write_split_plot(
    out: &std::path::Path,
    name: &str,
    trace: &StoreTrace,
    size: u64,
    config: ReplayConfig,
    every: usize,
) -> Result<(), plot::PlotError> {
    let mut samples: Vec<Sample> = Vec::new();
    replay(trace, cache::Policy::AcKey, size, config, every, |s| {
        samples.push(s)
    });
    // The second half of each phase: where the split settled.
    for p in phase_splits(trace, &samples, 0.5) {
        println!("{p}");
    }
    let line = |name: &str, dashed: bool, f: &dyn Fn(&Sample) -> u64| Series {
        name: name.into(),
        points: samples.iter().map(|s| (s.op as f64, f(s) as f64)).collect(),
        dashed,
        markers: false,
    };
    let series = [
        line("KV bytes", false, &|s| s.kv),
        line("KP bytes", false, &|s| s.kp),
        line("block bytes", false, &|s| s.block),
        line("KV+KP target", true, &|s| s.targets.point),
        line("KV target", true, &|s| s.targets.kv),
    ];
    let marks: Vec<(f64, String)> = trace
        .phases
        .iter()
        .map(|(at, n)| (*at as f64, n.clone()))
        .collect();
    let title = format!("{name}: AC-Key's split, {size} bytes");
    plot::write_lines_svg(
        out,
        &Chart {
            title: &title,
            x_desc: "operations replayed",
            y_desc: "bytes",
            log_x: false,
            marks: &marks,
            series: &series,
        },
    )
}

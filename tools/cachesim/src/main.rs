//! `cachesim --trace FILE [--format lis|keys] [--policies lru,arc,opt]
//! [--sizes 1000,2000] [--plot out.svg]`: one line per policy and size.
//!
//! `cachesim --lsm-keys N [--ops N] [--theta T] [--key-size B] [--value-size B]
//! --policies none,lru,arc,ackey --sizes BYTES,...`: Zipfian point lookups over
//! a modelled LSM tree (see `cachesim::lsm_model`), counting disk reads.

use std::path::PathBuf;
use std::process::ExitCode;

use cachesim::lsm_model::{run_lookups, zipf_keys, LsmModel};
use cachesim::trace::{self, Format};
use cachesim::{plot, simulate, SimPolicy, SimResult};

const USAGE: &str = "usage: cachesim --trace FILE [--format lis|keys] \
[--policies none,lru,arc,ackey,opt,opt-bypass] [--sizes N,N,...] [--plot OUT.svg]\n\
       cachesim --lsm-keys N [--ops N] [--theta T] [--key-size B] [--value-size B] \
[--policies none,lru,arc,ackey] [--sizes BYTES,...] [--plot OUT.svg]";

/// The point-lookup workload over a modelled LSM tree.
struct LsmArgs {
    keys: u64,
    ops: usize,
    theta: f64,
    key_size: u64,
    value_size: u64,
}

struct Args {
    trace: Option<PathBuf>,
    lsm: Option<LsmArgs>,
    format: Option<Format>,
    policies: Vec<SimPolicy>,
    sizes: Vec<u64>,
    plot: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut trace = None;
    let mut format = None;
    let mut policies = vec![
        SimPolicy::Cache(cache::Policy::Lru),
        SimPolicy::Cache(cache::Policy::Arc),
        SimPolicy::Opt,
    ];
    let mut sizes = vec![1000, 2000];
    let mut plot = None;
    let mut lsm_keys = None;
    let (mut ops, mut theta, mut key_size, mut value_size) =
        (1_000_000usize, 0.99f64, 16u64, 100u64);
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
                    other => return Err(format!("unknown format `{other}` (lis or keys)")),
                })
            }
            "--policies" => {
                policies = value()?
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(|s| {
                        s.parse()
                            .map_err(|e: cachesim::UnknownPolicy| e.to_string())
                    })
                    .collect::<Result<_, _>>()?
            }
            "--sizes" => {
                sizes = value()?
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(|s| {
                        s.trim()
                            .parse::<u64>()
                            .map_err(|_| format!("size `{s}` is not a number"))
                    })
                    .collect::<Result<_, _>>()?
            }
            "--plot" => plot = Some(PathBuf::from(value()?)),
            "--lsm-keys" => lsm_keys = Some(num(&flag, value()?)?.max(1)),
            "--ops" => ops = num(&flag, value()?)? as usize,
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
    let lsm = lsm_keys.map(|keys| LsmArgs {
        keys,
        ops,
        theta,
        key_size,
        value_size,
    });
    if trace.is_none() && lsm.is_none() {
        return Err(format!("--trace or --lsm-keys is required\n{USAGE}"));
    }
    if policies.is_empty() || sizes.is_empty() {
        return Err("need at least one policy and one size".into());
    }
    Ok(Args {
        trace,
        lsm,
        format,
        policies,
        sizes,
        plot,
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
    if let Some(lsm) = &args.lsm {
        return run_lsm(&args, lsm);
    }
    let Some(path) = &args.trace else {
        return ExitCode::from(2);
    };
    let format = args.format.unwrap_or_else(|| Format::guess(path));
    let trace = match trace::load(path, format) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cachesim: {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    };
    if trace.sized
        && args
            .policies
            .iter()
            .any(|p| matches!(p, SimPolicy::Opt | SimPolicy::OptBypass))
    {
        eprintln!(
            "cachesim: note: the trace has sizes, so opt is a heuristic \
             (furthest next use first), not the true optimum"
        );
    }
    let results = simulate(&trace.requests, &args.policies, &args.sizes);
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
    for policy in &args.policies {
        let SimPolicy::Cache(p) = *policy else {
            eprintln!("cachesim: {policy} needs a trace; skipped for --lsm-keys");
            continue;
        };
        for &size in &args.sizes {
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

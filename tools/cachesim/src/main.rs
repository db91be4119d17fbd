//! `cachesim --trace FILE [--format lis|keys] [--policies lru,arc,opt]
//! [--sizes 1000,2000] [--plot out.svg]`: one line per policy and size.

use std::path::PathBuf;
use std::process::ExitCode;

use cachesim::trace::{self, Format};
use cachesim::{plot, simulate, SimPolicy};

const USAGE: &str = "usage: cachesim --trace FILE [--format lis|keys] \
[--policies none,lru,arc,ackey,opt,opt-bypass] [--sizes N,N,...] [--plot OUT.svg]";

struct Args {
    trace: PathBuf,
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
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    let trace = trace.ok_or_else(|| format!("--trace is required\n{USAGE}"))?;
    if policies.is_empty() || sizes.is_empty() {
        return Err("need at least one policy and one size".into());
    }
    Ok(Args {
        trace,
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
    let format = args.format.unwrap_or_else(|| Format::guess(&args.trace));
    let trace = match trace::load(&args.trace, format) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cachesim: {}: {e}", args.trace.display());
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
        let name = args
            .trace
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

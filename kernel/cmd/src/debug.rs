//! DEBUG: the kernel's failure paths (as Linux's sysrq), the console's log
//! level, the sampling profiler and the store's trace recorder.

use alloc::{format, string::String};

use console::{Invocation, Reply, Report};

use crate::ctx::{CmdError, Ctx};
use crate::server::text;

/// Lines of a trace dump between two looks at Ctrl-C.
const DUMP_CHECK_EVERY: usize = 4096;

fn upper(inv: &Invocation, i: usize) -> Option<String> {
    inv.args
        .get(i)
        .map(|a| String::from_utf8_lossy(a).to_ascii_uppercase())
}

fn number(inv: &Invocation, i: usize, default: u64) -> Result<u64, CmdError> {
    match inv.args.get(i) {
        None => Ok(default),
        Some(a) => text(a)?
            .parse()
            .map_err(|_| CmdError::Usage(inv.spec.usage)),
    }
}

pub fn debug(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let usage = CmdError::Usage(inv.spec.usage);
    match upper(inv, 0).as_deref() {
        Some("PANIC") => {
            let msg = inv.args.get(1).map(|m| String::from_utf8_lossy(m));
            ctx.host.panic(&format!(
                "DEBUG PANIC from the console: {}",
                msg.as_deref().unwrap_or("no message")
            ))
        }
        Some("FAULT") => Err(CmdError::Host(ctx.host.fault())),
        Some("OVERFLOW") => Err(CmdError::Host(ctx.host.overflow())),
        Some("LOGLEVEL") => {
            let level = inv
                .args
                .get(1)
                .and_then(|l| core::str::from_utf8(l).ok())
                .and_then(|l| l.parse::<log::LevelFilter>().ok())
                .ok_or_else(|| {
                    CmdError::Invalid(String::from(
                        "DEBUG LOGLEVEL off|error|warn|info|debug|trace",
                    ))
                })?;
            ctx.host.set_console_log_level(level);
            Ok(Reply::Ok)
        }
        Some("PROFILE") => match upper(inv, 1).as_deref() {
            Some("START") => {
                ctx.host
                    .profile_start(number(inv, 2, 1000)?, number(inv, 3, 0)? as usize)
                    .map_err(CmdError::Host)?;
                Ok(Reply::Ok)
            }
            Some("STOP") => {
                let (total, hot) = ctx.host.profile_stop(number(inv, 2, 40)? as usize);
                let mut out = format!("samples:{total}\n");
                for (pc, n) in hot {
                    out.push_str(&format!(
                        "{n:>7} {:>5.1}% {pc:#x}\n",
                        f64::from(n) * 100.0 / total.max(1) as f64
                    ));
                }
                Ok(Reply::Text(out))
            }
            _ => Err(usage),
        },
        Some("TRACE") => trace(ctx, inv),
        Some("SLEEP") => sleep(ctx, inv),
        _ => Err(usage),
    }
}

/// Longest step of `DEBUG SLEEP` between two looks at Ctrl-C.
const SLEEP_STEP_US: u64 = 100_000;

/// `DEBUG SLEEP seconds` (Redis's: fractions allowed, 0 returns at once):
/// the session waits, its core asleep, as long as the store's writers wait
/// at its level-0 slowdown; Ctrl-C ends it early.
fn sleep(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let seconds: f64 = match inv.args.get(1) {
        Some(a) if inv.args.len() == 2 => text(a)?
            .parse()
            .map_err(|_| CmdError::Invalid(String::from("value is not a valid float")))?,
        _ => return Err(CmdError::Usage(inv.spec.usage)),
    };
    // A day at most: longer is a typo, and the microseconds stay exact.
    if !(0.0..=86_400.0).contains(&seconds) {
        return Err(CmdError::Invalid(String::from(
            "DEBUG SLEEP takes 0 to 86400 seconds",
        )));
    }
    let mut left = (seconds * 1e6) as u64;
    while left > 0 && !ctx.interrupted() {
        let step = left.min(SLEEP_STEP_US);
        ctx.host.sleep_us(step);
        left -= step;
    }
    Ok(Reply::Ok)
}

fn trace(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let mut store = ctx.store()?;
    match upper(inv, 1).as_deref() {
        Some("START") => {
            store.start_trace();
            Ok(Reply::Ok)
        }
        Some("STOP") => {
            let summary = store.stop_trace();
            let mut r = Report::new();
            r.add_section("Trace");
            r.add_field("records", summary.records);
            r.add_field("truncated", u8::from(summary.truncated));
            Ok(Reply::Report(r))
        }
        Some("DUMP") => {
            let text = store.recorder().text();
            drop(store);
            if ctx.client.is_network() {
                // A protocol reply, which a client reads whole.
                return Ok(Reply::Text(text));
            }
            // At the console, raw lines for `cachesim --format store`, with
            // no reply framing, and Ctrl-C between them.
            for (i, line) in text.lines().filter(|l| !l.is_empty()).enumerate() {
                if i % DUMP_CHECK_EVERY == DUMP_CHECK_EVERY - 1 && ctx.out.interrupted() {
                    return Err(CmdError::Interrupted);
                }
                ctx.out.raw(line.as_bytes());
            }
            Ok(Reply::Text(String::new()))
        }
        _ => Err(CmdError::Usage(inv.spec.usage)),
    }
}

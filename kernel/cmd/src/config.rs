//! CONFIG GET, SET, RESETSTAT, REWRITE: the parameters unikv has (the
//! session layer honours them: `requirepass`, `maxclients`, `timeout`,
//! `appendfsync`, `proto-max-bulk-len`, `client-query-buffer-limit`,
//! `client-output-buffer-limit`'s normal class, `slowlog-log-slower-than`,
//! `slowlog-max-len`, `latency-tracking`,
//! `latency-tracking-info-percentiles`), and the ones clients ask
//! for that have one value here (`save` "", `appendonly` "yes": every
//! write goes to the WAL; `maxmemory` 0, `maxmemory-policy` noeviction;
//! `databases` 1; `port`). Names without case, errors as Redis 7.0 words
//! them, a SET of several parameters all or nothing.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use console::{Invocation, Reply};

use crate::args::{memory, parse_i64};
use crate::ctx::{CmdError, Ctx};
use crate::keys::glob;
use crate::state::{Appendfsync, Config, Stats, MIN_PROTO_MAX_BULK_LEN};
use crate::subcommand::{Container, Sub, HELP};

/// CONFIG's subcommands, with Redis's arities.
pub(crate) static CONFIG: Container = Container {
    name: "CONFIG",
    bare: false,
    subs: &[
        Sub {
            name: "GET",
            arity: -3,
            args: "<pattern>",
            summary: "Return parameters matching the glob-like <pattern> and their values.",
            since: "2.0.0",
        },
        Sub {
            name: "SET",
            arity: -4,
            args: "<directive> <value>",
            summary: "Set the configuration <directive> to <value>.",
            since: "2.0.0",
        },
        Sub {
            name: "RESETSTAT",
            arity: 2,
            args: "",
            summary: "Reset statistics reported by the INFO command.",
            since: "2.0.0",
        },
        Sub {
            name: "REWRITE",
            arity: 2,
            args: "",
            summary: "Rewrite the configuration file.",
            since: "2.8.0",
        },
        HELP,
    ],
};

/// The parameters, in CONFIG GET's order.
const PARAMS: [&str; 18] = [
    "requirepass",
    "maxclients",
    "timeout",
    "appendfsync",
    "proto-max-bulk-len",
    "client-query-buffer-limit",
    "client-output-buffer-limit",
    "slowlog-log-slower-than",
    "slowlog-max-len",
    "save",
    "appendonly",
    "maxmemory",
    "maxmemory-policy",
    "latency-monitor-threshold",
    "latency-tracking",
    "latency-tracking-info-percentiles",
    "databases",
    "port",
];

/// Parameters whose value is fixed by what unikv is: CONFIG SET refuses
/// them as Redis refuses its immutable ones.
const IMMUTABLE: [&str; 2] = ["databases", "port"];

/// Redis's `client-output-buffer-limit` classes unikv has no clients of,
/// with Redis's defaults.
const OTHER_CLASSES: &str = "slave 268435456 67108864 60 pubsub 33554432 8388608 60";

/// The canonical name of parameter `name`, if there is one.
fn lookup(name: &[u8]) -> Option<&'static str> {
    PARAMS
        .iter()
        .copied()
        .find(|p| p.as_bytes().eq_ignore_ascii_case(name))
}

/// Parameter `name`'s value now.
fn get(ctx: &Ctx<'_>, config: &Config, name: &str) -> String {
    match name {
        "requirepass" => config
            .requirepass
            .as_deref()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .unwrap_or_default(),
        "maxclients" => config.maxclients.to_string(),
        "timeout" => config.timeout_s.to_string(),
        "appendfsync" => String::from(config.appendfsync.name()),
        "proto-max-bulk-len" => config.proto_max_bulk_len.to_string(),
        "client-query-buffer-limit" => config.client_query_buffer_limit.to_string(),
        "client-output-buffer-limit" => format!(
            "normal {} 0 0 {OTHER_CLASSES}",
            config.client_output_buffer_limit
        ),
        "slowlog-log-slower-than" => config.slowlog_log_slower_than.to_string(),
        "slowlog-max-len" => config.slowlog_max_len.to_string(),
        "save" => String::new(),
        "appendonly" => String::from("yes"),
        "latency-monitor-threshold" => String::from("0"),
        "latency-tracking" => String::from(if config.latency_tracking { "yes" } else { "no" }),
        "latency-tracking-info-percentiles" => config
            .latency_percentiles
            .iter()
            .map(|&p| crate::latency::percentile_name(p))
            .collect::<Vec<_>>()
            .join(" "),
        "maxmemory" => String::from("0"),
        "maxmemory-policy" => String::from("noeviction"),
        "databases" => String::from("1"),
        "port" => ctx
            .host
            .listen_addr()
            .map_or(0, |(_, port)| port)
            .to_string(),
        _ => String::new(),
    }
}

/// A yes/no parameter's value.
fn yes_no(value: &[u8]) -> Result<bool, String> {
    if value.eq_ignore_ascii_case(b"yes") {
        Ok(true)
    } else if value.eq_ignore_ascii_case(b"no") {
        Ok(false)
    } else {
        Err(String::from("argument must be 'yes' or 'no'"))
    }
}

/// An integer parameter's value, in `min..=max`.
fn int_in(value: &[u8], min: i64, max: i64) -> Result<u64, String> {
    let n = parse_i64(value)
        .ok_or_else(|| String::from("argument couldn't be parsed into an integer"))?;
    in_range(n, min, max)
}

/// A memory parameter's value (`1mb`), in `min..=max`.
fn memory_in(value: &[u8], min: i64, max: i64) -> Result<u64, String> {
    let n = memory(value).ok_or_else(|| String::from("argument must be a memory value"))?;
    in_range(i64::try_from(n).unwrap_or(i64::MAX), min, max)
}

fn in_range(n: i64, min: i64, max: i64) -> Result<u64, String> {
    if n < min || n > max {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(n as u64)
}

/// Sets parameter `name` of `config` to `value`, or says why not, in
/// Redis's words.
fn set(config: &mut Config, name: &str, value: &[u8]) -> Result<(), String> {
    match name {
        "requirepass" => config.requirepass = (!value.is_empty()).then(|| value.to_vec()),
        "maxclients" => config.maxclients = int_in(value, 1, u32::MAX.into())?,
        "timeout" => config.timeout_s = int_in(value, 0, i32::MAX.into())?,
        "appendfsync" => {
            config.appendfsync = [Appendfsync::Everysec, Appendfsync::Always, Appendfsync::No]
                .into_iter()
                .find(|a| a.name().as_bytes().eq_ignore_ascii_case(value))
                .ok_or_else(|| {
                    String::from("argument(s) must be one of the following: everysec, always, no")
                })?
        }
        "proto-max-bulk-len" => {
            config.proto_max_bulk_len = memory_in(value, MIN_PROTO_MAX_BULK_LEN as i64, i64::MAX)?
        }
        "client-query-buffer-limit" => {
            config.client_query_buffer_limit = memory_in(value, 1 << 20, i64::MAX)?
        }
        "client-output-buffer-limit" => set_output_limit(config, value)?,
        "slowlog-log-slower-than" => {
            // Redis's range: -1 (log nothing) and up.
            config.slowlog_log_slower_than = int_in(value, -1, i64::MAX)? as i64
        }
        "slowlog-max-len" => config.slowlog_max_len = int_in(value, 0, i64::MAX)?,
        "save" if value.is_empty() => {}
        "save" => {
            return Err(String::from(
                "unikv takes no snapshots: every write is in its WAL (save must be \"\")",
            ))
        }
        "appendonly" if value.eq_ignore_ascii_case(b"yes") => {}
        "appendonly" => {
            return Err(String::from(
                "unikv writes every change to its WAL (appendonly is always yes)",
            ))
        }
        "maxmemory" if memory(value) == Some(0) => {}
        "maxmemory" => {
            return Err(String::from(
                "unikv keeps its data on disk, not in memory (maxmemory must be 0)",
            ))
        }
        "latency-tracking" => config.latency_tracking = yes_no(value)?,
        "latency-tracking-info-percentiles" => {
            config.latency_percentiles = crate::latency::parse_percentiles(value)?
        }
        "latency-monitor-threshold" if parse_i64(value) == Some(0) => {}
        "latency-monitor-threshold" => {
            return Err(String::from(
                "unikv records no latency events (latency-monitor-threshold must be 0); \
                 SLOWLOG and INFO commandstats time its commands",
            ))
        }
        "maxmemory-policy" if value.eq_ignore_ascii_case(b"noeviction") => {}
        "maxmemory-policy" => {
            return Err(String::from(
                "argument(s) must be one of the following: noeviction",
            ))
        }
        _ => return Err(String::from("can't set immutable config")),
    }
    Ok(())
}

/// `client-output-buffer-limit "class hard soft seconds ..."`: Redis's
/// syntax; unikv's only clients are normal ones and it enforces only the
/// hard limit, so other classes must keep Redis's defaults and the soft
/// limit must be 0.
fn set_output_limit(config: &mut Config, value: &[u8]) -> Result<(), String> {
    let text = core::str::from_utf8(value).unwrap_or("\u{fffd}");
    let words: Vec<&str> = text.split_ascii_whitespace().collect();
    if !words.len().is_multiple_of(4) {
        return Err(String::from(
            "Wrong number of arguments in buffer limit configuration.",
        ));
    }
    let mut hard = config.client_output_buffer_limit;
    for group in words.chunks(4) {
        let class = group[0].to_ascii_lowercase();
        if !["normal", "slave", "replica", "pubsub"].contains(&class.as_str()) {
            return Err(String::from(
                "Invalid client class specified in buffer limit configuration.",
            ));
        }
        let limits = (
            memory(group[1].as_bytes()),
            memory(group[2].as_bytes()),
            parse_i64(group[3].as_bytes()).filter(|s| *s >= 0),
        );
        let (Some(h), Some(soft), Some(secs)) = limits else {
            return Err(String::from(
                "Error in hard, soft or soft_seconds setting in buffer limit configuration.",
            ));
        };
        let default = match class.as_str() {
            "normal" => {
                if soft != 0 || secs != 0 {
                    return Err(String::from(
                        "unikv enforces only the hard limit of normal clients (soft limit and \
                         seconds must be 0)",
                    ));
                }
                hard = h;
                continue;
            }
            "pubsub" => (33_554_432, 8_388_608, 60),
            _ => (268_435_456, 67_108_864, 60),
        };
        if (h, soft, secs) != default {
            return Err(String::from(
                "unikv has no replicas or pub/sub clients: their limits keep Redis's defaults",
            ));
        }
    }
    config.client_output_buffer_limit = hard;
    Ok(())
}

/// CONFIG and its subcommands (checked by `run` before this).
pub fn config(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let sub = CONFIG.enter(ctx, inv)?;
    let args = &inv.args[1..];
    match sub.name {
        "GET" => config_get(ctx, args),
        "SET" => config_set(ctx, args),
        "RESETSTAT" => {
            ctx.server.lock().stats = Stats::default();
            Ok(Reply::Ok)
        }
        "REWRITE" => Err(CmdError::Invalid(String::from(
            "The server is running without a config file",
        ))),
        _ => Ok(CONFIG.help()),
    }
}

/// Each name or glob (matched without case) in turn; a parameter once.
/// A name is answered as it was asked, a glob's matches by their names.
fn config_get(ctx: &Ctx<'_>, patterns: &[Vec<u8>]) -> Result<Reply, CmdError> {
    let config = ctx.server.lock().config.clone();
    let mut found: Vec<(Vec<u8>, &str)> = Vec::new();
    for pattern in patterns {
        let is_glob = pattern.iter().any(|b| matches!(b, b'[' | b'*' | b'?'));
        if !is_glob {
            if let Some(name) = lookup(pattern) {
                if !found.iter().any(|(_, n)| *n == name) {
                    found.push((pattern.clone(), name));
                }
            }
            continue;
        }
        for name in PARAMS {
            if !found.iter().any(|(_, n)| *n == name)
                && glob::matches(pattern, name.as_bytes(), true)
            {
                found.push((name.as_bytes().to_vec(), name));
            }
        }
    }
    Ok(Reply::Map(
        found
            .into_iter()
            .map(|(asked, name)| {
                (
                    Reply::Value(asked),
                    Reply::Value(get(ctx, &config, name).into_bytes()),
                )
            })
            .collect(),
    ))
}

/// All the pairs or none: checked (names, then values in order) on a copy
/// that replaces the configuration only if every one is right.
fn config_set(ctx: &Ctx<'_>, args: &[Vec<u8>]) -> Result<Reply, CmdError> {
    if !args.len().is_multiple_of(2) {
        return Err(CmdError::syntax());
    }
    let failed = |name: &[u8], why: &str| {
        CmdError::Invalid(format!(
            "CONFIG SET failed (possibly related to argument '{}') - {why}",
            crate::subcommand::shown(name)
        ))
    };
    let mut names: Vec<&str> = Vec::new();
    for pair in args.chunks(2) {
        let Some(name) = lookup(&pair[0]) else {
            return Err(CmdError::Invalid(format!(
                "Unknown option or number of arguments for CONFIG SET - '{}'",
                crate::subcommand::shown(&pair[0])
            )));
        };
        if IMMUTABLE.contains(&name) {
            return Err(failed(&pair[0], "can't set immutable config"));
        }
        if names.contains(&name) {
            return Err(failed(&pair[0], "duplicate parameter"));
        }
        names.push(name);
    }
    let mut config = ctx.server.lock().config.clone();
    if names.contains(&"requirepass") && ctx.client.is_network() && config.requirepass.is_none() {
        // Without a password the network may not use the appliance's
        // controls; a password set from the network would let any client
        // lift that for itself.
        return Err(failed(
            b"requirepass",
            "while no password is set, one is set at the console or with requirepass= in the \
             boot arguments, not over the network",
        ));
    }
    for (pair, name) in args.chunks(2).zip(names) {
        set(&mut config, name, &pair[1]).map_err(|why| failed(name.as_bytes(), &why))?;
    }
    ctx.server.lock().config = config;
    Ok(Reply::Ok)
}

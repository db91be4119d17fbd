//! INFO: Redis 7.0's sections and field names (server, clients, memory,
//! persistence, stats, replication, cpu, modules, commandstats,
//! errorstats, latencystats, cluster, keyspace), each with the kernel's
//! own fields of that section after Redis's (the `Host` adds them), then
//! the kernel's own sections (services, devices) and the store's (storage,
//! cache).
//!
//! `INFO` alone and `INFO default` give every section but commandstats and
//! latencystats; `all` and `everything` give them all; several names give
//! each once, in INFO's order. A name no section has gives nothing over
//! the network, as in Redis (`INFO sentinel`), and an error at the console,
//! which lists the sections.
//!
//! What unikv does not have reads as Redis reads without it: no replicas
//! (`role:master`, `connected_slaves:0`), no snapshots, a log of every
//! write (`aof_enabled:1`), no children. `used_cpu_user` is the time spent
//! in commands (the kernel runs everything at one privilege level and
//! keeps no other account of its time), `used_cpu_sys` 0.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use console::{Invocation, Reply, Report};

use crate::cachecmd::info_cache;
use crate::connection::REDIS_VERSION;
use crate::ctx::{CmdError, Ctx};
use crate::keys::iterate::count_keys;
use crate::state::Appendfsync;
use crate::storage::info_storage;

/// INFO's sections in order: (name, title, in the default set). The
/// kernel's own sections (`Host::info_sections` beyond these) come after
/// keyspace, then storage and cache.
const SECTIONS: [(&str, &str, bool); 13] = [
    ("server", "Server", true),
    ("clients", "Clients", true),
    ("memory", "Memory", true),
    ("persistence", "Persistence", true),
    ("stats", "Stats", true),
    ("replication", "Replication", true),
    ("cpu", "CPU", true),
    ("modules", "Modules", true),
    ("commandstats", "Commandstats", false),
    ("errorstats", "Errorstats", true),
    ("latencystats", "Latencystats", false),
    ("cluster", "Cluster", true),
    ("keyspace", "Keyspace", true),
];

/// The processor the server runs on (INFO's `os`).
const ARCH: &str = if cfg!(target_arch = "aarch64") {
    "aarch64"
} else if cfg!(target_arch = "x86_64") {
    "x86_64"
} else {
    "unknown"
};

/// The store's sections, last.
const STORE_SECTIONS: [&str; 2] = ["storage", "cache"];

/// Every section's name, in order.
fn all_sections(ctx: &Ctx<'_>) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = SECTIONS.iter().map(|s| s.0).collect();
    for s in ctx.host.info_sections() {
        if !names.contains(s) {
            names.push(s);
        }
    }
    names.extend(STORE_SECTIONS);
    names
}

/// Whether `name` is in INFO's default set.
fn in_default(name: &str) -> bool {
    SECTIONS.iter().find(|s| s.0 == name).is_none_or(|s| s.2)
}

/// A section's title: Redis's, or the name capitalised.
fn title(name: &str) -> String {
    if let Some(s) = SECTIONS.iter().find(|s| s.0 == name) {
        return String::from(s.1);
    }
    let mut t = String::from(name);
    if let Some(first) = t.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    t
}

pub fn info(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let names = all_sections(ctx);
    let mut wanted: Vec<&str> = Vec::new();
    let mut explicit = false;
    if inv.args.is_empty() {
        wanted.extend(names.iter().filter(|n| in_default(n)));
    }
    for arg in &inv.args {
        let arg = String::from_utf8_lossy(arg).to_ascii_lowercase();
        match arg.as_str() {
            "all" | "everything" => wanted.extend(&names),
            "default" => wanted.extend(names.iter().filter(|n| in_default(n))),
            "module_list" => wanted.push("modules"),
            name => match names.iter().find(|n| **n == name) {
                Some(n) => {
                    wanted.push(n);
                    explicit = inv.args.len() == 1;
                }
                None if ctx.client.is_network() => {}
                None => {
                    return Err(CmdError::Invalid(format!(
                        "no INFO section '{name}'; sections: {}",
                        names.join(", ")
                    )))
                }
            },
        }
    }
    let mut report = Report::new();
    for name in names.iter().filter(|n| wanted.contains(n)) {
        match section(ctx, name, &mut report) {
            // A section the store gives while it is down: an error if it
            // was the one asked for, left out otherwise.
            Err(e) if explicit || e == CmdError::Interrupted => return Err(e),
            _ => {}
        }
    }
    Ok(Reply::Report(report))
}

/// Adds section `name` to `r`.
fn section(ctx: &mut Ctx<'_>, name: &str, r: &mut Report) -> Result<(), CmdError> {
    match name {
        "storage" => return info_storage(ctx, r),
        "cache" => return info_cache(ctx, r),
        "keyspace" => {
            let (keys, expires, avg_ttl) = keyspace(ctx)?;
            r.add_section("Keyspace");
            if keys > 0 {
                r.add_field(
                    "db0",
                    format!("keys={keys},expires={expires},avg_ttl={avg_ttl}"),
                );
            }
            return Ok(());
        }
        _ => {}
    }
    r.add_section(&title(name));
    redis_fields(ctx, name, r);
    if ctx.host.info_sections().contains(&name) {
        ctx.host.info(name, r);
    }
    Ok(())
}

/// Live keys, those that expire, and their average time to live in ms.
fn keyspace(ctx: &mut Ctx<'_>) -> Result<(u64, u64, u64), CmdError> {
    let now = ctx.now_ms();
    let mut ttl_sum: u128 = 0;
    let (keys, expires) = count_keys(ctx, &mut |at| {
        ttl_sum += u128::from(at.saturating_sub(now));
    })?;
    let avg = match expires {
        0 => 0,
        n => (ttl_sum / u128::from(n)) as u64,
    };
    Ok((keys, expires, avg))
}

/// Redis's `bytesToHuman`: `1023B`, `1.00K`, `2.50M` ...
fn human(n: u64) -> String {
    const UNITS: [(u64, &str); 5] = [
        (1 << 50, "P"),
        (1 << 40, "T"),
        (1 << 30, "G"),
        (1 << 20, "M"),
        (1 << 10, "K"),
    ];
    for (size, unit) in UNITS {
        if n >= size {
            return format!("{:.2}{unit}", n as f64 / size as f64);
        }
    }
    format!("{n}B")
}

/// Redis's fields of section `name`.
fn redis_fields(ctx: &Ctx<'_>, name: &str, r: &mut Report) {
    let now = ctx.now_ms();
    // What the store knows, read before the server's lock is taken.
    let (expired_by_pass, loss_bound_ms) = ctx
        .store()
        .map(|s| (s.expired_keys(), s.wal_loss_bound_ms()))
        .unwrap_or((0, 0));
    let server = ctx.server.lock();
    let stats = &server.stats;
    match name {
        "server" => {
            let uptime = now.saturating_sub(server.started_ms) / 1000;
            r.add_field("redis_version", REDIS_VERSION);
            r.add_field("redis_mode", "standalone");
            r.add_field("os", format!("unikv {ARCH}"));
            r.add_field("arch_bits", usize::BITS);
            r.add_field("run_id", &server.run_id);
            r.add_field(
                "tcp_port",
                ctx.host.listen_addr().map_or(0, |(_, port)| port),
            );
            r.add_field("server_time_usec", now.saturating_mul(1000));
            r.add_field("uptime_in_seconds", uptime);
            r.add_field("uptime_in_days", uptime / 86_400);
            r.add_field("config_file", "");
        }
        "clients" => {
            // The serial console is listed (CLIENT LIST) but is not a
            // connection, as Redis leaves its replicas out of this count:
            // CLIENT KILL's tools count on the two agreeing.
            let connections = server
                .clients
                .values()
                .filter(|c| c.caller.is_network())
                .count();
            // Redis samples these over its last seconds; here, what the
            // clients hold as of their last reads.
            let (input, output) = server.clients.values().fold((0, 0), |(i, o), c| {
                (i.max(c.buffers.query), o.max(c.buffers.unsent))
            });
            r.add_field("connected_clients", connections);
            r.add_field("cluster_connections", 0);
            r.add_field("maxclients", server.config.maxclients);
            r.add_field("client_recent_max_input_buffer", input);
            r.add_field("client_recent_max_output_buffer", output);
            // Those waiting for CLIENT PAUSE to end (Redis's postponed
            // clients; unikv has no blocking commands).
            let waiting = server.clients.values().filter(|c| c.postponed).count();
            r.add_field("blocked_clients", waiting);
            r.add_field("tracking_clients", 0);
            r.add_field("clients_in_timeout_table", 0);
        }
        "memory" => {
            let used = ctx.host.used_memory() as u64;
            let total = ctx.host.total_memory();
            r.add_field("used_memory", used);
            r.add_field("used_memory_human", human(used));
            r.add_field("total_system_memory", total);
            r.add_field("total_system_memory_human", human(total));
            r.add_field("maxmemory", 0);
            r.add_field("maxmemory_human", "0B");
            r.add_field("maxmemory_policy", "noeviction");
        }
        "persistence" => {
            r.add_field("loading", 0);
            r.add_field("async_loading", 0);
            r.add_field("rdb_changes_since_last_save", server.changes_since_save);
            r.add_field("rdb_bgsave_in_progress", 0);
            r.add_field("rdb_last_save_time", server.last_save_ms / 1000);
            r.add_field("aof_enabled", 1);
            r.add_field("aof_rewrite_in_progress", 0);
            r.add_field("aof_rewrite_scheduled", 0);
            // unikv's: when an acknowledged write is on the disk, and what a
            // power cut may lose of them.
            let policy = server.config.appendfsync;
            r.add_field("appendfsync", policy.name());
            r.add_field(
                "acknowledged_loss_window_ms",
                match policy {
                    Appendfsync::Always => 0,
                    Appendfsync::Everysec => 1000 + loss_bound_ms,
                    Appendfsync::No => loss_bound_ms,
                },
            );
        }
        "stats" => {
            r.add_field("total_connections_received", stats.connections_received);
            r.add_field("total_commands_processed", stats.commands_processed);
            r.add_field("rejected_connections", stats.rejected_connections);
            // Keys the active expiry deleted (reads of expired keys only
            // hide them, so they are not counted twice).
            r.add_field("expired_keys", stats.expired_keys + expired_by_pass);
            r.add_field("evicted_keys", 0);
            r.add_field("keyspace_hits", stats.keyspace_hits);
            r.add_field("keyspace_misses", stats.keyspace_misses);
            r.add_field("total_error_replies", stats.errors.values().sum::<u64>());
        }
        "replication" => {
            r.add_field("role", "master");
            r.add_field("connected_slaves", 0);
            r.add_field("master_failover_state", "no-failover");
            r.add_field("master_repl_offset", 0);
            r.add_field("second_repl_offset", -1);
            r.add_field("repl_backlog_active", 0);
        }
        "cpu" => {
            let usec: u64 = stats.commands().map(|(_, c)| c.usec).sum();
            r.add_field("used_cpu_sys", "0.000000");
            r.add_field(
                "used_cpu_user",
                format!("{}.{:06}", usec / 1_000_000, usec % 1_000_000),
            );
            r.add_field("used_cpu_sys_children", "0.000000");
            r.add_field("used_cpu_user_children", "0.000000");
        }
        "commandstats" => {
            for (name, c) in stats.commands() {
                let per_call = if c.calls == 0 {
                    0.0
                } else {
                    c.usec as f64 / c.calls as f64
                };
                let mut value = String::new();
                let _ = write!(
                    value,
                    "calls={},usec={},usec_per_call={per_call:.2},rejected_calls={},failed_calls={}",
                    c.calls, c.usec, c.rejected, c.failed
                );
                r.add_field(&format!("cmdstat_{}", name.to_ascii_lowercase()), value);
            }
        }
        "latencystats" => crate::latency::info_latencystats(stats, &server.config, r),
        "errorstats" => {
            for (code, count) in &stats.errors {
                r.add_field(&format!("errorstat_{code}"), format!("count={count}"));
            }
        }
        "cluster" => {
            r.add_field("cluster_enabled", 0);
        }
        _ => {}
    }
}

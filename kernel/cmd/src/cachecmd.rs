//! The read cache's commands: CACHE POLICY|SIZE|METADATA|RESET and INFO's
//! cache section.

use alloc::{format, string::String, sync::Arc};

use cache::StoreCache;
use console::{Invocation, Reply, Report};

use crate::ctx::{CmdError, Ctx};

/// The read cache, or why there is none.
fn the_cache(ctx: &Ctx<'_>) -> Result<Arc<StoreCache>, CmdError> {
    let cache = ctx.store().ok().and_then(|s| s.cache().cloned());
    cache.ok_or_else(|| {
        CmdError::Unavailable(format!(
            "the read cache is not running: service 'cache' is {} (see SERVICES, LOG)",
            ctx.host.service_state("cache")
        ))
    })
}

fn word(inv: &Invocation, i: usize) -> Result<String, CmdError> {
    let arg = inv.args.get(i).ok_or(CmdError::Usage(inv.spec.usage))?;
    core::str::from_utf8(arg)
        .map(|s| s.to_ascii_lowercase())
        .map_err(|_| CmdError::Usage(inv.spec.usage))
}

pub fn cache(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    let usage = inv.spec.usage;
    match (word(inv, 0)?.as_str(), inv.args.len()) {
        ("policy", 2) => {
            let policy = word(inv, 1)?
                .parse::<cache::Policy>()
                .map_err(|e| CmdError::Invalid(format!("{e}; usage: {usage}")))?;
            // The cache restarts empty under the same budget.
            the_cache(ctx)?.set_policy(policy);
        }
        ("size", 2) => {
            let bytes = word(inv, 1)?.parse::<u64>().map_err(|_| {
                CmdError::Invalid(format!(
                    "CACHE SIZE takes a number of bytes; usage: {usage}"
                ))
            })?;
            the_cache(ctx)?.resize(bytes);
        }
        ("metadata", 2) => {
            let pin = match word(inv, 1)?.as_str() {
                "pinned" => true,
                "cached" => false,
                _ => {
                    return Err(CmdError::Invalid(format!(
                        "CACHE METADATA takes pinned (each open table keeps its index and \
                         filter blocks) or cached (they go through the read cache); usage: {usage}"
                    )))
                }
            };
            ctx.store()?.db().set_pin_table_meta(pin);
        }
        ("reset", 1) => the_cache(ctx)?.reset_stats(),
        _ => return Err(CmdError::Usage(usage)),
    }
    Ok(Reply::Ok)
}

/// INFO's cache section: policy, budget, hits per block kind, and AC-Key's
/// parts and targets.
pub fn info_cache(ctx: &Ctx<'_>, r: &mut Report) -> Result<(), CmdError> {
    let c = the_cache(ctx)?;
    let s = c.stats();
    r.add_section("Cache");
    r.add_field("policy", c.policy().name());
    r.add_field("capacity_bytes", s.capacity_bytes);
    r.add_field("shards", c.shard_count());
    r.add_field("used_bytes", s.used_bytes);
    r.add_field("entries", s.entries);
    r.add_field("hits", s.hits);
    r.add_field("misses", s.misses);
    r.add_field("hit_ratio", format!("{:.6}", s.hit_ratio()));
    r.add_field("disk_reads_saved", s.disk_reads_saved);
    r.add_field("inserts", s.inserts);
    r.add_field("evictions", s.evictions);
    let (pinned, (pinned_bytes, pinned_limit)) = match ctx.store() {
        Ok(store) => (store.db().pin_table_meta(), store.db().pinned_meta_bytes()),
        Err(_) => (false, (0, 0)),
    };
    r.add_field("metadata", if pinned { "pinned" } else { "cached" });
    r.add_field("pinned_metadata_bytes", pinned_bytes);
    r.add_field("pinned_metadata_limit", pinned_limit);
    let kinds = c.kind_stats();
    for (i, kind) in ["data", "index", "filter"].iter().enumerate() {
        r.add_field(&format!("{kind}_block_hits"), kinds.hits[i]);
        r.add_field(&format!("{kind}_block_misses"), kinds.misses[i]);
    }
    if let Some(a) = c.ac_stats() {
        r.add_field("kv_bytes", a.kv.stats.used_bytes);
        r.add_field("kp_bytes", a.kp.stats.used_bytes);
        r.add_field("block_bytes", a.block.stats.used_bytes);
        r.add_field("kv_hits", a.kv.stats.hits);
        r.add_field("kp_hits", a.kp.stats.hits);
        r.add_field("block_hits", a.block.stats.hits);
        r.add_field("target_point_bytes", a.targets.point);
        r.add_field("target_kv_bytes", a.targets.kv);
        r.add_field("target_kp_bytes", a.targets.kp);
        r.add_field("target_block_bytes", a.targets.block);
        r.add_field("ghosts_enabled", u8::from(a.ghosts_enabled));
    }
    Ok(())
}

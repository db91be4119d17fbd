//! The store's console commands: SET, GET, DEL, EXISTS, RANGE, FLUSH,
//! COMPACT, VERIFY and INFO storage, as console.md specifies them.

use crate::services::kv;
use alloc::{format, string::String, vec, vec::Vec};
use console::{Reply, Report};
use lsm::db::WriteBatch;
use lsm::iter::KvIter;

type CmdResult = Result<Reply, String>;

pub fn set(args: &[Vec<u8>]) -> CmdResult {
    // OK only once the WAL record is on disk and the device flushed it.
    kv::with(|db| db.put(&args[0], &args[1], true))?;
    Ok(Reply::Ok)
}

pub fn get(args: &[Vec<u8>]) -> CmdResult {
    Ok(match kv::with(|db| db.get(&args[0], None))? {
        Some(v) => Reply::Value(v),
        None => Reply::Nil,
    })
}

pub fn exists(args: &[Vec<u8>]) -> CmdResult {
    let found = kv::with(|db| db.get(&args[0], None))?.is_some();
    Ok(Reply::Integer(i64::from(found)))
}

pub fn del(args: &[Vec<u8>]) -> CmdResult {
    // One batch, one sync: all the keys go, or (on an error) none.
    let removed = kv::with(|db| {
        let mut batch = WriteBatch::new();
        let mut n = 0;
        for key in args {
            if db.get(key, None)?.is_some() {
                n += 1;
            }
            batch.delete(key);
        }
        db.write(batch, true)?;
        Ok(n)
    })?;
    Ok(Reply::Integer(removed))
}

pub fn range(args: &[Vec<u8>]) -> CmdResult {
    let limit = match args.get(2..) {
        Some([]) | None => usize::MAX,
        Some([word, n]) if word.eq_ignore_ascii_case(b"LIMIT") => core::str::from_utf8(n)
            .ok()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| String::from("LIMIT takes a count: RANGE start end LIMIT 10"))?,
        _ => return Err(String::from("usage: RANGE start end [LIMIT n]")),
    };
    crate::services::trace::scan(&args[0], limit);
    // The reply is built in memory: a scan of a store bigger than the heap
    // stops with an error at a quarter of the free heap (the rendered reply
    // needs about as much again) rather than exhausting it.
    let budget = hal::heap::stats().free / 4;
    let rows = kv::with(|db| {
        // One iterator is one consistent state (a snapshot of the sequence).
        let mut it = db.iter(None)?;
        it.seek(&args[0])?;
        let mut rows = Vec::new();
        let mut bytes = 0usize;
        while it.valid() && rows.len() < limit && it.key() < args[1].as_slice() {
            bytes += it.key().len() + it.value().len() + 64;
            if bytes > budget {
                return Ok(None);
            }
            rows.push(vec![it.key().to_vec(), it.value().to_vec()]);
            it.next()?;
        }
        Ok(Some(rows))
    })?;
    let rows = rows.ok_or_else(|| {
        format!("the range holds more than the free memory allows ({budget} bytes); add LIMIT n and continue from the last key")
    })?;
    Ok(Reply::List(rows))
}

pub fn flush() -> CmdResult {
    kv::with(|db| db.flush())?;
    Ok(Reply::Ok)
}

pub fn compact() -> CmdResult {
    kv::with(|db| db.compact_all())?;
    Ok(Reply::Ok)
}

pub fn verify() -> CmdResult {
    let report = kv::with(|db| Ok(db.verify()))?;
    if let Some(first) = report.errors.first() {
        let mut msg = format!("{} problem(s) found: {first}", report.errors.len());
        for e in report.errors.iter().skip(1).take(9) {
            msg.push_str(&format!("; {e}"));
        }
        return Err(msg);
    }
    let mut r = Report::new();
    r.add_section("Verify");
    r.add_field("tables", report.tables);
    r.add_field("entries", report.entries);
    r.add_field("errors", 0);
    Ok(Reply::Report(r))
}

pub fn info_storage(r: &mut Report) -> Result<(), String> {
    let s = kv::with(|db| Ok(db.stats()))?;
    r.add_section("Storage");
    r.add_field("disk_bytes", s.capacity);
    r.add_field("disk_used_bytes", s.table_region_bytes - s.table_free_bytes);
    r.add_field("table_region_bytes", s.table_region_bytes);
    r.add_field("table_free_bytes", s.table_free_bytes);
    r.add_field("table_reserve_bytes", s.table_reserve_bytes);
    r.add_field("memtable_bytes", s.memtable_bytes);
    r.add_field("immutable_memtable_bytes", s.immutable_bytes);
    r.add_field("wal_bytes", s.wal_bytes);
    r.add_field("tables", s.levels.iter().map(|l| l.0).sum::<usize>());
    for (i, (tables, bytes)) in s.levels.iter().enumerate() {
        r.add_field(&format!("level_{i}_tables"), tables);
        r.add_field(&format!("level_{i}_bytes"), bytes);
    }
    r.add_field("disk_reads", s.io.reads);
    r.add_field("disk_read_bytes", s.io.read_bytes);
    r.add_field("disk_writes", s.io.writes);
    r.add_field("disk_write_bytes", s.io.write_bytes);
    r.add_field("disk_flushes", s.io.flushes);
    r.add_field("flushes", s.flushes);
    r.add_field("compactions", s.compactions);
    r.add_field("compactions_put_off", s.compactions_put_off);
    r.add_field("user_bytes_written", s.user_bytes);
    r.add_field(
        "write_amplification",
        format!("{:.3}", s.write_amplification()),
    );
    r.add_field("last_sequence", s.last_sequence);
    r.add_field("wal_loss_bound_ms", kv::WAL_LOSS_BOUND_MS);
    let (groups, grouped) = kv::group_stats();
    r.add_field("group_commits", groups);
    r.add_field("group_commit_writes", grouped);
    Ok(())
}

pub fn cache_cmd(args: &[Vec<u8>]) -> CmdResult {
    use crate::services::cache;
    let usage = "usage: CACHE POLICY none|lru|arc|ackey | CACHE SIZE bytes | CACHE RESET";
    let word = |a: &[u8]| {
        core::str::from_utf8(a)
            .map(|s| s.to_ascii_lowercase())
            .map_err(|_| String::from(usage))
    };
    match (word(&args[0])?.as_str(), args.get(1)) {
        ("policy", Some(p)) => {
            let policy = word(p)?
                .parse::<::cache::Policy>()
                .map_err(|e| format!("{e}; {usage}"))?;
            cache::set_policy(policy)?;
        }
        ("size", Some(n)) => {
            let bytes = word(n)?
                .parse::<u64>()
                .map_err(|_| format!("CACHE SIZE takes a number of bytes; {usage}"))?;
            cache::resize(bytes)?;
        }
        ("reset", None) => cache::reset()?,
        _ => return Err(String::from(usage)),
    }
    Ok(Reply::Ok)
}

pub fn info_cache(r: &mut Report) -> Result<(), String> {
    let c = crate::services::cache::snapshot()?;
    let s = c.stats;
    r.add_section("Cache");
    r.add_field("policy", c.policy.name());
    r.add_field("capacity_bytes", s.capacity_bytes);
    r.add_field("used_bytes", s.used_bytes);
    r.add_field("entries", s.entries);
    r.add_field("hits", s.hits);
    r.add_field("misses", s.misses);
    r.add_field("hit_ratio", format!("{:.6}", s.hit_ratio()));
    r.add_field("disk_reads_saved", s.disk_reads_saved);
    r.add_field("inserts", s.inserts);
    r.add_field("evictions", s.evictions);
    for (i, kind) in ["data", "index", "filter"].iter().enumerate() {
        r.add_field(&format!("{kind}_block_hits"), c.kinds.hits[i]);
        r.add_field(&format!("{kind}_block_misses"), c.kinds.misses[i]);
    }
    if let Some(a) = c.ackey {
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

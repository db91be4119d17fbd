//! The storage commands: FLUSH (SAVE, BGSAVE), COMPACT, VERIFY, and INFO's storage
//! section.

use alloc::format;
use alloc::string::String;

use console::{Invocation, Reply, Report};

use crate::ctx::{CmdError, Ctx};

/// FLUSH and SAVE: the memtable written to a table, which is what the
/// statistics of saves (`rdb_changes_since_last_save`, LASTSAVE) count.
pub fn flush(ctx: &mut Ctx<'_>, _: &Invocation) -> Result<Reply, CmdError> {
    ctx.store()?.flush()?;
    let now = ctx.now_ms();
    let mut server = ctx.server.lock();
    server.changes_since_save = 0;
    server.last_save_ms = now;
    Ok(Reply::Ok)
}

/// Redis's BGSAVE [SCHEDULE]: what SAVE does, answered as Redis answers
/// a background save it started. Every acknowledged write is already on
/// disk and a memtable's flush takes milliseconds, so there is nothing to
/// put in the background; a script that waits for LASTSAVE to move after
/// it finds it moved.
pub fn bgsave(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    match inv.args.first() {
        None => {}
        Some(a) if a.eq_ignore_ascii_case(b"SCHEDULE") => {}
        Some(_) => return Err(CmdError::syntax()),
    }
    flush(ctx, inv)?;
    Ok(Reply::Status(String::from("Background saving started")))
}

/// Redis's BGREWRITEAOF: its append-only file is unikv's WAL, which a
/// memtable written to a table leaves with nothing to replay (the shortest
/// log there is), so SAVE's work, done before the reply, as BGSAVE's.
/// Scripts that compact Redis's AOF on a schedule send it.
pub fn bgrewriteaof(ctx: &mut Ctx<'_>, inv: &Invocation) -> Result<Reply, CmdError> {
    flush(ctx, inv)?;
    Ok(Reply::Status(String::from(
        "Background append only file rewriting started",
    )))
}

/// Stops at the next safe point on Ctrl-C: what was compacted stays
/// compacted, a slice in progress is dropped, nothing is lost.
pub fn compact(ctx: &mut Ctx<'_>, _: &Invocation) -> Result<Reply, CmdError> {
    let mut store = ctx.store()?;
    let out = &mut *ctx.out;
    store.compact_all(&mut || out.interrupted())?;
    Ok(Reply::Ok)
}

pub fn verify(ctx: &mut Ctx<'_>, _: &Invocation) -> Result<Reply, CmdError> {
    let store = ctx.store()?;
    let out = &mut *ctx.out;
    let report = store.verify(&mut || out.interrupted());
    if let Some(first) = report.errors.first() {
        let mut msg = format!("{} problem(s) found: {first}", report.errors.len());
        for e in report.errors.iter().skip(1).take(9) {
            msg.push_str(&format!("; {e}"));
        }
        return Err(CmdError::Invalid(msg));
    }
    if report.interrupted {
        return Err(CmdError::Interrupted);
    }
    let mut r = Report::new();
    r.add_section("Verify");
    r.add_field("tables", report.tables);
    r.add_field("entries", report.entries);
    r.add_field("errors", 0);
    Ok(Reply::Report(r))
}

/// INFO's storage section: levels, bytes, disk I/O, write amplification,
/// group commits.
pub fn info_storage(ctx: &Ctx<'_>, r: &mut Report) -> Result<(), CmdError> {
    let store = ctx.store()?;
    let s = store.stats();
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
    r.add_field("tables_moved", s.tables_moved);
    r.add_field("table_bytes_written", s.table_bytes_written);
    r.add_field("write_slowdowns", s.write_stalls.slowdowns);
    r.add_field("write_stalls_memtable", s.write_stalls.memtable);
    r.add_field("write_stalls_level0", s.write_stalls.level0);
    r.add_field("user_bytes_written", s.user_bytes);
    r.add_field(
        "write_amplification",
        format!("{:.3}", s.write_amplification()),
    );
    r.add_field("last_sequence", s.last_sequence);
    r.add_field("wal_loss_bound_ms", store.wal_loss_bound_ms());
    let (groups, grouped) = store.group_stats();
    r.add_field("group_commits", groups);
    r.add_field("group_commit_writes", grouped);
    r.add_field(
        "group_commit_writes_during_flush",
        store.writes_during_flush(),
    );
    let (avg_us, max_us) = store.commit_latency_us();
    r.add_field("group_commit_avg_us", avg_us);
    r.add_field("group_commit_max_us", max_us);
    Ok(())
}

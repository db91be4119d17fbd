//! The commands that read: info, verify, get, scan, dump and sst, on a store
//! opened with `Db::open_read_only` over an image opened read-only.
//!
//! Reports are the console's [`Report`], rendered by the console's
//! [`render`]; keys and values are in the console's quoting ([`quote`]), so
//! every line reads as console tokens. Lines end with `\n` (the console's
//! `\r\n` is for a terminal on a serial line).
//!
//! get, scan and dump read values as the kernel does ([`crate::value`]):
//! decoded, an expired one absent, one that does not decode reported as
//! damage with its key and never printed. sst shows the stored bytes, and
//! what they decode to after them.

use std::io::Write;

use console::{quote, render, Reply, Report};
use lsm::db::{Db, FileMeta, OpenReport, MAGIC};
use lsm::iter::KvIter;
use lsm::key::{user_key, ParsedInternalKey, ValueType};
use lsm::table::bloom::FilterLayout;
use lsm::table::{BLOCK_TRAILER_SIZE, FOOTER_SIZE, TABLE_MAGIC};

use kv::value::BadValue;

use crate::device::FileDevice;
use crate::error::LdbError;
use crate::value::{describe, live, pair_line, value_text};

/// The store as a read-only command sees it.
pub struct Store<'a> {
    /// The image's path, for messages.
    pub path: &'a std::path::Path,
    /// The store, read-only.
    pub db: Db<FileDevice>,
    /// What the read-only open found (WAL records replayed, torn tails).
    pub report: OpenReport,
    /// Length of the image file.
    pub file_bytes: u64,
}

/// `reply` as the console renders it, with `\n` line ends.
pub fn text(reply: &Reply) -> String {
    let mut s = String::new();
    // Rendering into a String cannot fail.
    let _ = render(reply, &mut s);
    // Quoting escapes every CR and a report makes fields one line, so the
    // only CRs are the line ends'.
    s.replace("\r\n", "\n")
}

/// Writes `s` to the output.
pub fn emit(out: &mut dyn Write, s: &str) -> Result<(), LdbError> {
    out.write_all(s.as_bytes()).map_err(LdbError::Output)
}

fn flag(b: bool) -> u8 {
    u8::from(b)
}

/// `info`: superblock, layout, manifest, levels, every table, the WAL.
pub fn info(s: &Store<'_>, out: &mut dyn Write) -> Result<(), LdbError> {
    let db = &s.db;
    let sb = db.superblock();
    let l = sb.layout;
    let stats = db.stats();
    let mut r = Report::new();
    r.add_section("Superblock");
    r.add_field("magic", quote(&MAGIC));
    r.add_field("format_version", sb.version);
    r.add_field("generation", sb.generation);
    // The slot is chosen by generation (doc/format.md).
    r.add_field("slot", sb.generation & 1);
    r.add_field("manifest_half", sb.manifest_half);
    r.add_field("manifest_log", sb.manifest_log);
    r.add_section("Layout");
    r.add_field("file_bytes", s.file_bytes);
    r.add_field("capacity", l.capacity);
    r.add_field("superblock_bytes", l.manifest_start);
    r.add_field("manifest_start", l.manifest_start);
    r.add_field("manifest_half_bytes", l.manifest_half);
    r.add_field("wal_start", l.wal_start);
    r.add_field("wal_half_bytes", l.wal_half);
    r.add_field("table_start", l.table_start);
    r.add_field("table_bytes", l.table_len);
    r.add_section("Manifest");
    r.add_field("torn", flag(s.report.manifest_torn));
    r.add_field("log_number", db.log_number());
    r.add_field("next_file_number", db.next_file_number());
    r.add_section("Levels");
    r.add_field("tables", stats.levels.iter().map(|l| l.0).sum::<usize>());
    r.add_field("bytes", stats.levels.iter().map(|l| l.1).sum::<u64>());
    for (i, (tables, bytes)) in stats.levels.iter().enumerate() {
        r.add_field(&format!("level_{i}_tables"), tables);
        r.add_field(&format!("level_{i}_bytes"), bytes);
    }
    r.add_field("table_free_bytes", stats.table_free_bytes);
    for (level, f) in db.version().files() {
        r.add_section(&format!("Table {}", f.number));
        r.add_field("level", level);
        r.add_field("bytes", f.size);
        r.add_field("extents", extents(f));
        r.add_field("smallest", quote(user_key(&f.smallest)));
        r.add_field("largest", quote(user_key(&f.largest)));
    }
    r.add_section("WAL");
    r.add_field(
        "logs",
        format!("{} {}", db.log_number(), db.log_number() + 1),
    );
    r.add_field("records", s.report.wal_records);
    r.add_field("torn", flag(s.report.wal_torn));
    r.add_field("dropped_bytes", s.report.wal_dropped_bytes);
    r.add_field("memtable_bytes", stats.memtable_bytes);
    r.add_field("last_sequence", s.report.last_sequence);
    emit(out, &text(&r.into()))
}

/// Extents as `offset+length` separated by commas.
fn extents(f: &FileMeta) -> String {
    let parts: Vec<String> = f
        .extents
        .iter()
        .map(|e| format!("{}+{}", e.offset, e.len))
        .collect();
    parts.join(",")
}

/// `verify`: the console's VERIFY report; damage is an error naming every
/// problem.
pub fn verify(s: &Store<'_>, out: &mut dyn Write) -> Result<(), LdbError> {
    let v = s.db.verify();
    let mut r = Report::new();
    r.add_section("Verify");
    r.add_field("tables", v.tables);
    r.add_field("entries", v.entries);
    r.add_field("errors", v.errors.len());
    emit(out, &text(&r.into()))?;
    if v.errors.is_empty() {
        Ok(())
    } else {
        Err(LdbError::Damaged(v.errors))
    }
}

fn bad_values(s: &Store<'_>, values: Vec<(Vec<u8>, BadValue)>) -> LdbError {
    LdbError::BadValues {
        path: s.path.to_path_buf(),
        values,
    }
}

/// `get KEY` at `now_ms`: the value, quoted, with ` PXAT <unix-ms>` after
/// it if it expires; `(nil)` if there is none or it has expired.
pub fn get(s: &Store<'_>, key: &[u8], now_ms: u64, out: &mut dyn Write) -> Result<(), LdbError> {
    let stored = s.db.get(key, None).map_err(LdbError::store(s.path))?;
    let line = match stored.as_deref().map(|v| live(v, now_ms)).transpose() {
        Ok(Some(Some(raw))) => format!("{}\n", value_text(&raw)),
        Ok(_) => text(&Reply::Nil),
        Err(bad) => return Err(bad_values(s, vec![(key.to_vec(), bad)])),
    };
    emit(out, &line)
}

/// `scan` and `dump` at `now_ms`: the live pairs with `start <= key <
/// end`, at most `limit`, one line each (`"key" "value"`, with
/// ` PXAT <unix-ms>` for one that expires), as the iterator yields them
/// (one consistent state, streamed). Values that do not decode are left
/// out and named, with their keys, in the error that ends the command.
pub fn scan(
    s: &Store<'_>,
    start: &[u8],
    end: Option<&[u8]>,
    limit: Option<usize>,
    now_ms: u64,
    out: &mut dyn Write,
) -> Result<(), LdbError> {
    let store = LdbError::store(s.path);
    let mut it = s.db.iter(None).map_err(&store)?;
    it.seek(start).map_err(&store)?;
    let mut n = 0;
    let mut bad = Vec::new();
    while it.valid() && limit.is_none_or(|l| n < l) {
        if end.is_some_and(|e| it.key() >= e) {
            break;
        }
        match live(it.value(), now_ms) {
            Ok(Some(raw)) => {
                emit(out, &pair_line(it.key(), &raw))?;
                n += 1;
            }
            Ok(None) => {}
            Err(e) => bad.push((it.key().to_vec(), e)),
        }
        it.next().map_err(&store)?;
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(bad_values(s, bad))
    }
}

/// An internal key as console tokens: `"user key" sequence type`.
fn internal(key: &[u8]) -> String {
    match ParsedInternalKey::parse(key) {
        Some(p) => {
            let kind = match p.kind {
                ValueType::Value => "value",
                ValueType::Deletion => "deletion",
            };
            format!("{} {} {kind}", quote(p.user_key), p.sequence)
        }
        None => format!("{} malformed", quote(key)),
    }
}

/// `sst N`: table N's manifest entry, footer, filter, blocks and index,
/// then every entry (`"key" sequence value "stored bytes" decoded` or
/// `"key" sequence deletion`), `decoded` being [`describe`]'s.
pub fn sst(s: &Store<'_>, number: u64, out: &mut dyn Write) -> Result<(), LdbError> {
    let mut entries = String::new();
    let t =
        s.db.inspect_table(number, |k, v| {
            entries.push_str(&internal(k));
            if ParsedInternalKey::parse(k).is_some_and(|p| p.kind == ValueType::Value) {
                entries.push(' ');
                entries.push_str(&quote(v));
                entries.push(' ');
                entries.push_str(&describe(v));
            }
            entries.push('\n');
        })
        .map_err(LdbError::store(s.path))?
        .ok_or(LdbError::NoSuchTable { number })?;
    let (f, b) = (&t.meta, &t.blocks);
    let mut r = Report::new();
    r.add_section("Table");
    r.add_field("number", f.number);
    r.add_field("level", t.level);
    r.add_field("bytes", f.size);
    r.add_field("extents", extents(f));
    r.add_field("smallest", internal(&f.smallest));
    r.add_field("largest", internal(&f.largest));
    r.add_field("entries", b.entries());
    r.add_section("Footer");
    r.add_field("offset", f.size - FOOTER_SIZE as u64);
    r.add_field("filter_offset", b.filter.handle.offset);
    r.add_field("filter_bytes", b.filter.handle.size);
    r.add_field("index_offset", b.index.offset);
    r.add_field("index_bytes", b.index.size);
    r.add_field("table_id", f.number);
    r.add_field("magic", quote(&TABLE_MAGIC.to_le_bytes()));
    r.add_section("Filter");
    r.add_field(
        "kind",
        match b.filter.layout {
            FilterLayout::Local => "bloom (cache-local, 64-byte blocks)",
            FilterLayout::LevelDb => "bloom (LevelDB's)",
            FilterLayout::Unknown => "unknown (matches every key)",
        },
    );
    r.add_field("bytes", b.filter.handle.size);
    r.add_field("bits", b.filter.bits);
    r.add_field("probes", b.filter.probes);
    r.add_section("Blocks");
    let sizes = b.data_blocks.iter().map(|d| d.handle.size);
    r.add_field("data_blocks", b.data_blocks.len());
    r.add_field("data_bytes", b.data_bytes());
    r.add_field("data_block_min_bytes", sizes.clone().min().unwrap_or(0));
    r.add_field("data_block_max_bytes", sizes.max().unwrap_or(0));
    r.add_field("index_bytes", b.index.size);
    r.add_field("filter_bytes", b.filter.handle.size);
    r.add_field(
        "trailer_bytes",
        (b.data_blocks.len() + 2) * BLOCK_TRAILER_SIZE,
    );
    r.add_field("footer_bytes", FOOTER_SIZE);
    r.add_section("Index");
    for (i, d) in b.data_blocks.iter().enumerate() {
        r.add_field(
            &format!("block_{i}"),
            format!(
                "offset={} size={} entries={} last_key={} index_key={}",
                d.handle.offset,
                d.handle.size,
                d.entries,
                quote(user_key(&d.last_key)),
                quote(user_key(&d.index_key)),
            ),
        );
    }
    emit(out, &text(&r.into()))?;
    emit(out, "\n# Entries\n")?;
    emit(out, &entries)
}

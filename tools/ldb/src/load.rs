//! `load FILE`: dump's lines written back into a store.
//!
//! A line is `"key" "value"` or `"key" "value" PXAT <unix-ms>`; the value
//! is stored as the kv service stores it ([`kv::value::encode`]), with its
//! expiry. A pair already expired when it is loaded is written all the
//! same: the file says the key ends with that value, so an older value of
//! the key (earlier in the file, or already in the store) must not show
//! through, and the kernel reads it as absent and its compactions drop it,
//! exactly as if it had expired after the load. The report counts them.
//!
//! All or nothing up to the disk: the whole file is read and every line
//! checked (its tokens, a key the store takes, a pair that fits the WAL)
//! before the store is opened for writing, so a bad line writes nothing,
//! not even the format of a blank image. Then the pairs go in file
//! order (a key given twice ends with its last value), in write batches of
//! about [`BATCH_BYTES`], each atomic; at the end the WAL is synced, the
//! memtable flushed to a table and the store closed, so the image is
//! complete and durable when ldb exits. Only a failure of the store
//! partway (a full disk, an I/O error) leaves a prefix of the batches, and
//! says how many pairs it holds.

use std::io::Write;
use std::path::Path;

use kv::value::{decode, Entry};
use lsm::db::{Db, Layout, Options, WriteBatch};
use lsm::wal::{LogWriter, Region};

use crate::device::{open_image, Access, FileDevice};
use crate::error::{LdbError, LoadProblem, TokenProblem};
use crate::show::{emit, text};
use crate::value::{now_ms, PXAT};

/// Bytes of pairs per write batch (a batch holds at least one pair).
pub const BATCH_BYTES: usize = 64 << 10;

/// One pair of a load file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    /// Its line number, from 1.
    pub line: usize,
    /// The key.
    pub key: Vec<u8>,
    /// The value as the store keeps it: tagged, with its expiry
    /// ([`kv::value::encode`]).
    pub stored: Vec<u8>,
}

/// The time of a `PXAT` option: Unix milliseconds, decimal digits only.
fn expiry(token: &[u8]) -> Option<u64> {
    if token.is_empty() || !token.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(token).ok()?.parse().ok()
}

/// A line's tokens as a key and its value.
fn line_pair(tokens: Vec<Vec<u8>>) -> Result<(Vec<u8>, Entry), LoadProblem> {
    let found = tokens.len();
    let mut it = tokens.into_iter();
    match (it.next(), it.next(), it.next(), it.next(), it.next()) {
        (Some(key), Some(value), None, None, None) => Ok((key, Entry::string(value))),
        (Some(key), Some(value), Some(option), Some(at), None) => {
            // Redis takes its options in any case.
            if !option.eq_ignore_ascii_case(PXAT.as_bytes()) {
                return Err(LoadProblem::NotPxat { option });
            }
            let at = expiry(&at).ok_or(LoadProblem::BadExpiry { token: at })?;
            let mut entry = Entry::string(value);
            entry.expires_at = Some(at);
            Ok((key, entry))
        }
        _ => Err(LoadProblem::TokenCount { found }),
    }
}

/// Reads a load file: lines of two console tokens, `"key" "value"`, or
/// four, `"key" "value" PXAT <unix-ms>`; blank lines and lines whose first
/// non-blank byte is `#` are skipped (a key that starts with `#` is
/// written quoted, as dump writes every key). A line may end with `\r\n`.
/// Keys and stored values are checked against `opts`' limits.
pub fn parse(text: &[u8], opts: &Options) -> Result<Vec<Pair>, (usize, LoadProblem)> {
    let mut pairs = Vec::new();
    for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
        let line = i + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        match raw.iter().find(|&&b| b != b' ' && b != b'\t') {
            None | Some(b'#') => continue,
            Some(_) => {}
        }
        let tokens = console::split_args(raw)
            .map_err(|e| (line, LoadProblem::Tokens(TokenProblem::Parse(e))))?;
        let (key, entry) = line_pair(tokens).map_err(|p| (line, p))?;
        let stored = entry.encode();
        let value = entry.value;
        let problem = if key.is_empty() {
            Some(LoadProblem::EmptyKey)
        } else if key.len() > opts.max_key_len {
            Some(LoadProblem::KeyTooLong {
                len: key.len(),
                max: opts.max_key_len,
            })
        } else if stored.len() > opts.max_value_len {
            // The store's limit is on the stored bytes: the tag and the
            // expiry take their share of it.
            Some(LoadProblem::ValueTooLong {
                len: value.len(),
                max: opts
                    .max_value_len
                    .saturating_sub(stored.len() - value.len()),
            })
        } else {
            None
        };
        if let Some(p) = problem {
            return Err((line, p));
        }
        pairs.push(Pair { line, key, stored });
    }
    Ok(pairs)
}

/// The WAL half of the store on `dev`, read without writing; for a blank
/// image, the one formatting it will give. Refuses a foreign or
/// other-version image as the store does.
fn wal_half(dev: &mut FileDevice, opts: &Options) -> lsm::Result<u64> {
    // Bound first: the store (which waits for its jobs when dropped) must
    // be gone before `dev` is used again.
    let half = Db::open_read_only(&mut *dev, opts.clone()).map(|(db, _)| db.layout().wal_half);
    match half {
        Ok(half) => Ok(half),
        Err(lsm::Error::Unformatted) => {
            let capacity = lsm::device::BlockDevice::capacity(dev);
            Layout::for_capacity(capacity, opts.wal_half_bytes)
                .map(|l| l.wal_half)
                .ok_or(lsm::Error::InvalidArgument("disk too small for a store"))
        }
        Err(e) => Err(e),
    }
}

/// An empty log in a WAL half of `wal_half` bytes.
fn empty_log(wal_half: u64) -> lsm::Result<LogWriter> {
    let half = Region {
        start: 0,
        len: wal_half,
    };
    LogWriter::new(half, 1)
}

/// Checks that each pair, alone in a batch, fits `empty_log`'s WAL half of
/// `wal_half` bytes (the store refuses a larger write).
fn check_wal_fit(
    pairs: &[Pair],
    empty_log: &LogWriter,
    wal_half: u64,
) -> Result<(), (usize, LoadProblem)> {
    for p in pairs {
        let mut b = WriteBatch::new();
        b.put(&p.key, &p.stored);
        let bytes = empty_log.cost(b.size());
        if bytes > wal_half {
            return Err((p.line, LoadProblem::LargerThanWal { bytes, wal_half }));
        }
    }
    Ok(())
}

/// `load FILE` into the image at `disk`.
pub fn run(disk: &Path, file: &Path, out: &mut dyn Write) -> Result<(), LdbError> {
    // The image first: its lock is held from here until the store closes.
    let mut dev = open_image(disk, Access::Write)?;
    let content = std::fs::read(file).map_err(|source| LdbError::File {
        path: file.to_path_buf(),
        action: "read",
        source,
    })?;
    let bad_line = |(line, problem)| LdbError::Load {
        path: file.to_path_buf(),
        line,
        problem,
    };
    let store = LdbError::store(disk);
    let opts = Options::for_disk(lsm::device::BlockDevice::capacity(&dev));
    let pairs = parse(&content, &opts).map_err(bad_line)?;
    let now = now_ms();
    let expired = pairs
        .iter()
        .filter(|p| decode(&p.stored).is_ok_and(|v| v.is_expired(now)))
        .count();
    let half = wal_half(&mut dev, &opts).map_err(&store)?;
    let log = empty_log(half).map_err(&store)?;
    check_wal_fit(&pairs, &log, half).map_err(bad_line)?;

    let (mut db, opened) = Db::open(dev, opts).map_err(&store)?;
    let mut written = 0;
    let mut batches = 0;
    let mut batch = WriteBatch::new();
    let mut in_batch = 0;
    let mut result = Ok(());
    for (i, p) in pairs.iter().enumerate() {
        batch.put(&p.key, &p.stored);
        in_batch += 1;
        let last = i + 1 == pairs.len();
        if batch.size() >= BATCH_BYTES || last {
            let full = std::mem::take(&mut batch);
            if let Err(e) = db.write(full, false) {
                result = Err(e);
                break;
            }
            written += in_batch;
            in_batch = 0;
            batches += 1;
        }
    }
    let stopped = |source| LdbError::LoadStopped {
        path: disk.to_path_buf(),
        written,
        total: pairs.len(),
        source,
    };
    if let Err(e) = result {
        // Keep what was written: sync it; the failure is what is reported.
        let _ = db.sync_wal();
        let _ = db.close();
        return Err(stopped(e));
    }
    db.sync_wal().map_err(stopped)?;
    db.flush().map_err(stopped)?;
    let last_sequence = db.stats().last_sequence;
    // Closing releases the device, and with it the file and its lock.
    db.close().map_err(stopped)?;

    let mut r = console::Report::new();
    r.add_section("Load");
    r.add_field("pairs", pairs.len());
    r.add_field("expired", expired);
    r.add_field("batches", batches);
    r.add_field("formatted", u8::from(opened.formatted));
    r.add_field("last_sequence", last_sequence);
    emit(out, &text(&r.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> Options {
        Options::for_disk(8 << 20)
    }

    use kv::value::encode;

    /// Each pair as its line, key and value.
    fn pairs(text: &str) -> Vec<(usize, Vec<u8>, Entry)> {
        parse(text.as_bytes(), &opts())
            .unwrap()
            .into_iter()
            .map(|p| (p.line, p.key, decode(&p.stored).unwrap().to_entry()))
            .collect()
    }

    /// A string `value` expiring at `at`.
    fn entry(value: &[u8], at: Option<u64>) -> Entry {
        let mut e = Entry::string(value.to_vec());
        e.expires_at = at;
        e
    }

    fn problem(text: &[u8]) -> (usize, String) {
        let (line, p) = parse(text, &opts()).unwrap_err();
        (line, p.to_string())
    }

    #[test]
    fn lines_of_two_tokens_comments_and_blanks() {
        let text = "# a dump\n\nalice \"in \\\"wonderland\\\"\"\r\n  \t\n  # indented comment\n\
                    \"k\\x00\\xff\" \"\"\n\"#tag\" \\\\\n";
        assert_eq!(
            pairs(text),
            vec![
                (3, b"alice".to_vec(), entry(b"in \"wonderland\"", None)),
                (6, b"k\x00\xff".to_vec(), entry(b"", None)),
                (7, b"#tag".to_vec(), entry(b"\\\\", None)),
            ]
        );
        assert_eq!(pairs(""), vec![]);
        assert_eq!(pairs("a b"), vec![(1, b"a".to_vec(), entry(b"b", None))]);
    }

    #[test]
    fn pxat_lines_and_the_bytes_they_store() {
        let text =
            "a \"1 2\" PXAT 1700000000123\r\nb \"\" pxat 0\nc x \"PXAT\" 18446744073709551615\n";
        assert_eq!(
            pairs(text),
            vec![
                (1, b"a".to_vec(), entry(b"1 2", Some(1_700_000_000_123))),
                (2, b"b".to_vec(), entry(b"", Some(0))),
                (3, b"c".to_vec(), entry(b"x", Some(u64::MAX))),
            ]
        );
        let p = parse(b"k v PXAT 258\nj w\n", &opts()).unwrap();
        assert_eq!(p[0].stored, b"\x80\x02\x01\0\0\0\0\0\0v");
        assert_eq!(p[1].stored, b"\x00w");
    }

    #[test]
    fn a_bad_pxat_line_is_named_by_its_number() {
        let count = |n: usize| {
            format!(
                "not a \"key\" \"value\" line: {n} console token(s) where 2 belong \
                 (4 with PXAT <unix-ms>); \
                 double-quote one that holds spaces (\"a b\") or is empty (\"\")"
            )
        };
        assert_eq!(problem(b"k v PXAT\n"), (1, count(3)));
        assert_eq!(problem(b"a 1\nk v PXAT 5 6\n"), (2, count(5)));
        assert_eq!(
            problem(b"k v EX 5\n"),
            (
                1,
                "\"EX\" where PXAT belongs: a line is \"key\" \"value\" \
                 or \"key\" \"value\" PXAT <unix-ms>"
                    .to_string()
            )
        );
        for (bad, quoted) in [
            (&b"-5"[..], "\"-5\""),
            (b"+5", "\"+5\""),
            (b"1.5", "\"1.5\""),
            (b"\"\"", "\"\""),
            (b"18446744073709551616", "\"18446744073709551616\""),
        ] {
            let line = [&b"k v PXAT "[..], bad, b"\n"].concat();
            assert_eq!(
                problem(&line),
                (
                    1,
                    format!("PXAT takes a time in Unix milliseconds (digits), not {quoted}")
                )
            );
        }
    }

    #[test]
    fn a_bad_line_is_named_by_its_number() {
        assert_eq!(
            problem(b"a 1\nb 2 3\n"),
            (
                2,
                "not a \"key\" \"value\" line: 3 console token(s) where 2 belong \
                 (4 with PXAT <unix-ms>); \
                 double-quote one that holds spaces (\"a b\") or is empty (\"\")"
                    .to_string()
            )
        );
        assert_eq!(problem(b"a 1\n\nlonely\n").0, 3);
        assert_eq!(
            problem(b"\"open 1\n"),
            (
                1,
                "not a \"key\" \"value\" line: unbalanced quotes in request: \
                 the quote at byte 0 is never closed"
                    .to_string()
            )
        );
        assert_eq!(
            problem(b"\"\" v\n"),
            (
                1,
                "empty key: the store takes keys of 1 byte or more".to_string()
            )
        );
        let long = format!("{} v\n", "k".repeat(1025));
        assert_eq!(
            problem(long.as_bytes()),
            (
                1,
                "key of 1025 bytes: the store takes at most 1024".to_string()
            )
        );
        // The store's limit is on the stored bytes: 1 MiB less the tag,
        // and less the expiry for a value that has one.
        let max = "v".repeat((1 << 20) - 1);
        assert_eq!(pairs(&format!("k {max}\n"))[0].2.value.len(), (1 << 20) - 1);
        let big = format!("k {max}v\n");
        assert_eq!(
            problem(big.as_bytes()),
            (
                1,
                "value of 1048576 bytes: the store takes at most 1048575".to_string()
            )
        );
        let max = "v".repeat((1 << 20) - 9);
        assert_eq!(pairs(&format!("k {max} PXAT 1\n")).len(), 1);
        let big = format!("k {max}v PXAT 1\n");
        assert_eq!(
            problem(big.as_bytes()),
            (
                1,
                "value of 1048568 bytes: the store takes at most 1048567".to_string()
            )
        );
    }

    #[test]
    fn a_pair_larger_than_a_wal_half_is_refused_before_writing() {
        let ok = Pair {
            line: 4,
            key: b"k".to_vec(),
            stored: encode(&[0; 200 << 10], None),
        };
        let big = Pair {
            line: 9,
            key: b"k".to_vec(),
            stored: encode(&[0; 300 << 10], Some(1)),
        };
        let log = empty_log(256 << 10).unwrap();
        assert_eq!(
            check_wal_fit(std::slice::from_ref(&ok), &log, 256 << 10),
            Ok(())
        );
        let (line, p) = check_wal_fit(&[ok, big], &log, 256 << 10).unwrap_err();
        assert_eq!(line, 9);
        assert!(
            matches!(p, LoadProblem::LargerThanWal { bytes, wal_half: 262144 } if bytes > 300 << 10),
            "{p:?}"
        );
    }
}

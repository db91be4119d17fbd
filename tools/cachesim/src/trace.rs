//! Reading traces: the ARC paper's `.lis` format, a plain one-key-per-line
//! format and the store's own traces ([`crate::store_trace`]), any of them
//! optionally zstd-compressed.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

pub use crate::{Request, TraceError};

/// A whole trace, loaded into memory.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    /// Requests in order.
    pub requests: Vec<Request>,
    /// Whether any line gave a size (then cache sizes are in bytes).
    pub sized: bool,
}

impl Trace {
    /// Distinct keys the trace refers to.
    pub fn unique_keys(&self) -> usize {
        let mut keys: Vec<u64> = self.requests.iter().map(|r| r.key).collect();
        keys.sort_unstable();
        keys.dedup();
        keys.len()
    }
}

/// How the lines of a trace are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `start_block n_blocks ignored request_no`: one request per page of the range.
    Lis,
    /// `key` or `key size`; keys that are not numbers are interned.
    Keys,
    /// The store's lookup traces ([`crate::store_trace`]); as a plain request
    /// list, its block requests.
    Store,
}

impl Format {
    /// The format a file name suggests: `.lis` (before any `.zst`) is [`Format::Lis`].
    pub fn guess(path: &Path) -> Format {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let name = name.strip_suffix(".zst").unwrap_or(name);
        if name.ends_with(".lis") {
            Format::Lis
        } else {
            Format::Keys
        }
    }
}

/// Opens a trace file, decompressing it if its name ends in `.zst`.
pub fn open(path: &Path) -> Result<Box<dyn BufRead>, TraceError> {
    let file = File::open(path)?;
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "zst") {
        let dec = ruzstd::decoding::StreamingDecoder::new(BufReader::new(file))
            .map_err(|e| TraceError::Zstd(e.to_string()))?;
        Box::new(dec)
    } else {
        Box::new(file)
    };
    Ok(Box::new(BufReader::new(reader)))
}

/// The format of `path`: a store trace if its first line is the store
/// trace header, else what its name suggests ([`Format::guess`]).
pub fn detect(path: &Path) -> Result<Format, TraceError> {
    let mut first = String::new();
    open(path)?.read_line(&mut first)?;
    Ok(if cache::trace::is_header(&first) {
        Format::Store
    } else {
        Format::guess(path)
    })
}

/// Loads a trace file, decompressing it if its name ends in `.zst`.
pub fn load(path: &Path, format: Format) -> Result<Trace, TraceError> {
    parse(open(path)?, format)
}

/// Parses trace text.
pub fn parse(reader: impl BufRead, format: Format) -> Result<Trace, TraceError> {
    if format == Format::Store {
        return Ok(Trace {
            requests: crate::store_trace::parse(reader)?.block_requests(),
            sized: true,
        });
    }
    let mut trace = Trace::default();
    let mut names: HashMap<String, u64> = HashMap::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line?;
        let lineno = i + 1;
        let mut fields = line.split_whitespace();
        let Some(first) = fields.next() else {
            continue;
        };
        if first.starts_with('#') {
            continue;
        }
        let bad = |reason: String| TraceError::Parse {
            line: lineno,
            reason,
        };
        match format {
            // Handled above, before any line is read.
            Format::Store => {}
            Format::Lis => {
                let start: u64 = first
                    .parse()
                    .map_err(|_| bad(format!("start block `{first}` is not a number")))?;
                let n: u64 = fields
                    .next()
                    .ok_or_else(|| bad("missing block count".into()))?
                    .parse()
                    .map_err(|_| bad("block count is not a number".into()))?;
                for page in start..start + n {
                    trace.requests.push(Request { key: page, size: 1 });
                }
            }
            Format::Keys => {
                let key = match first.parse::<u64>() {
                    Ok(k) => k,
                    Err(_) => {
                        // Numeric keys keep their value; names get ids above 2^63
                        // so the two never collide in a mixed file.
                        let next = (1u64 << 63) + names.len() as u64;
                        *names.entry(first.to_string()).or_insert(next)
                    }
                };
                let size = match fields.next() {
                    Some(s) => {
                        trace.sized = true;
                        s.parse::<u64>()
                            .ok()
                            .filter(|&s| s > 0)
                            .ok_or_else(|| bad(format!("size `{s}` is not a positive number")))?
                    }
                    None => 1,
                };
                trace.requests.push(Request { key, size });
            }
        }
    }
    Ok(trace)
}

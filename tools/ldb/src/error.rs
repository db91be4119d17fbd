//! Everything that can stop a command, each saying what and where; `main`
//! prints it as `ldb: ...` on stderr and exits with [`LdbError::exit_code`].

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::lock::Holder;
use crate::value::PXAT;

/// Why a command-line argument or a line of a load file is not what it
/// should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenProblem {
    /// The console's tokenizer refused it.
    Parse(console::ParseError),
    /// It splits into this many tokens instead of the number expected.
    Count {
        /// Tokens expected.
        expected: usize,
        /// Tokens found.
        found: usize,
    },
}

impl fmt::Display for TokenProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenProblem::Parse(e) => e.fmt(f),
            TokenProblem::Count { expected, found } => write!(
                f,
                "{found} console token(s) where {expected} belong; \
                 double-quote one that holds spaces (\"a b\") or is empty (\"\")"
            ),
        }
    }
}

/// Why a pair of a load file cannot go into the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadProblem {
    /// The line is not console tokens.
    Tokens(TokenProblem),
    /// The line holds this many tokens: neither 2 (`"key" "value"`) nor 4
    /// (`"key" "value" PXAT <unix-ms>`).
    TokenCount {
        /// Tokens found.
        found: usize,
    },
    /// The third token is not the option `PXAT`.
    NotPxat {
        /// The token found.
        option: Vec<u8>,
    },
    /// What follows `PXAT` is not a time in Unix milliseconds.
    BadExpiry {
        /// The token found.
        token: Vec<u8>,
    },
    /// The key is empty (the console refuses such a key too).
    EmptyKey,
    /// The key is longer than the store takes.
    KeyTooLong {
        /// Its length.
        len: usize,
        /// The store's limit.
        max: usize,
    },
    /// The value, with its tag and expiry, is longer than the store takes.
    ValueTooLong {
        /// Its length.
        len: usize,
        /// The longest value the store takes with this one's tag and expiry.
        max: usize,
    },
    /// The pair's WAL record would not fit in a WAL half of this disk.
    LargerThanWal {
        /// Bytes the record takes in the WAL.
        bytes: u64,
        /// Bytes of a WAL half.
        wal_half: u64,
    },
}

impl fmt::Display for LoadProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadProblem::Tokens(p) => write!(f, "not a \"key\" \"value\" line: {p}"),
            LoadProblem::TokenCount { found } => write!(
                f,
                "not a \"key\" \"value\" line: {found} console token(s) where 2 belong \
                 (4 with {PXAT} <unix-ms>); \
                 double-quote one that holds spaces (\"a b\") or is empty (\"\")"
            ),
            LoadProblem::NotPxat { option } => write!(
                f,
                "{} where {PXAT} belongs: a line is \"key\" \"value\" \
                 or \"key\" \"value\" {PXAT} <unix-ms>",
                console::quote(option)
            ),
            LoadProblem::BadExpiry { token } => write!(
                f,
                "{PXAT} takes a time in Unix milliseconds (digits), not {}",
                console::quote(token)
            ),
            LoadProblem::EmptyKey => {
                f.write_str("empty key: the store takes keys of 1 byte or more")
            }
            LoadProblem::KeyTooLong { len, max } => {
                write!(f, "key of {len} bytes: the store takes at most {max}")
            }
            LoadProblem::ValueTooLong { len, max } => {
                write!(f, "value of {len} bytes: the store takes at most {max}")
            }
            LoadProblem::LargerThanWal { bytes, wal_half } => write!(
                f,
                "the pair takes {bytes} bytes in the WAL, whose halves on this disk hold {wal_half}"
            ),
        }
    }
}

/// Everything that can stop a command.
#[derive(Debug)]
pub enum LdbError {
    /// The command line is not one ldb takes; the usage follows.
    Usage(String),
    /// A command-line argument is not one console token.
    Arg {
        /// What the argument is (`KEY`, `START`, `END`).
        what: &'static str,
        /// What is wrong with it.
        problem: TokenProblem,
    },
    /// A file could not be opened, read or written.
    File {
        /// The file.
        path: PathBuf,
        /// What was being done (`open`, `read`).
        action: &'static str,
        /// The system's answer.
        source: io::Error,
    },
    /// Another process (a running QEMU, or another `ldb load`) holds a
    /// lock on the image.
    InUse {
        /// The image.
        path: PathBuf,
        /// The lock found, if it could be seen.
        holder: Option<Holder>,
    },
    /// The store refused the image or failed on it.
    Store {
        /// The image.
        path: PathBuf,
        /// The store's error.
        source: lsm::Error,
    },
    /// No live table has this number.
    NoSuchTable {
        /// The number asked for.
        number: u64,
    },
    /// A line of a load file cannot be loaded; nothing was written.
    Load {
        /// The load file.
        path: PathBuf,
        /// Its line number, from 1.
        line: usize,
        /// What is wrong with it.
        problem: LoadProblem,
    },
    /// The store failed partway through a load: the pairs before were
    /// written (and synced), the rest not.
    LoadStopped {
        /// The image.
        path: PathBuf,
        /// Pairs written before the failure.
        written: usize,
        /// Pairs in the load file.
        total: usize,
        /// The store's error.
        source: lsm::Error,
    },
    /// `verify` found damage: every problem, each naming what is damaged.
    Damaged(Vec<lsm::Error>),
    /// Stored values that do not decode (`kv::value`), each with its key;
    /// none of them was printed.
    BadValues {
        /// The image.
        path: PathBuf,
        /// Each key, and what is wrong with its value.
        values: Vec<(Vec<u8>, kv::value::BadValue)>,
    },
    /// Standard output could not be written.
    Output(io::Error),
}

impl LdbError {
    /// The process exit status: 2 for a command line ldb does not take, 1
    /// for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            LdbError::Usage(_) | LdbError::Arg { .. } => 2,
            _ => 1,
        }
    }

    /// Wraps a store error on the image at `path`.
    pub fn store(path: &std::path::Path) -> impl Fn(lsm::Error) -> LdbError + '_ {
        move |source| LdbError::Store {
            path: path.to_path_buf(),
            source,
        }
    }
}

impl fmt::Display for LdbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LdbError::Usage(msg) => f.write_str(msg),
            LdbError::Arg { what, problem } => write!(f, "{what}: {problem}"),
            LdbError::File {
                path,
                action,
                source,
            } => write!(f, "cannot {action} {}: {source}", path.display()),
            LdbError::InUse { path, holder } => {
                let path = path.display();
                if holder.is_some_and(|h| h.is_ldb_load()) {
                    write!(
                        f,
                        "{path} is in use (another ldb load is writing it): wait for it to finish"
                    )
                } else {
                    write!(
                        f,
                        "{path} is in use (a running QEMU holds it): stop QEMU first"
                    )
                }
            }
            LdbError::Store { path, source } => write!(f, "{}: {source}", path.display()),
            LdbError::NoSuchTable { number } => write!(
                f,
                "no live table has number {number} (ldb DISK info lists the tables)"
            ),
            LdbError::Load {
                path,
                line,
                problem,
            } => write!(
                f,
                "{} line {line}: {problem}; nothing was written",
                path.display()
            ),
            LdbError::LoadStopped {
                path,
                written,
                total,
                source,
            } => write!(
                f,
                "{}: {source}; the first {written} of {total} pairs were written, the rest not",
                path.display()
            ),
            LdbError::Damaged(problems) => {
                write!(f, "verify found {} problem(s):", problems.len())?;
                for p in problems {
                    write!(f, "\n  {p}")?;
                }
                Ok(())
            }
            LdbError::BadValues { path, values } => {
                write!(
                    f,
                    "{}: {} damaged value(s), not printed:",
                    path.display(),
                    values.len()
                )?;
                for (key, bad) in values {
                    write!(f, "\n  {}: {bad}", console::quote(key))?;
                }
                Ok(())
            }
            LdbError::Output(e) => write!(f, "writing the output: {e}"),
        }
    }
}

impl std::error::Error for LdbError {}

//! The command line: `ldb DISK COMMAND [ARGS]`, and each key argument read
//! as one console token with the console's own tokenizer.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use crate::error::{LdbError, TokenProblem};

/// What `--help` prints, and bad arguments after their error.
pub const USAGE: &str = "\
usage: ldb DISK COMMAND [ARGS]

Inspects a unikv disk image on the host through the store's own code. Every
command but load opens the image read-only and never writes to it; an image
that a running QEMU holds is refused.

commands:
  info                            superblock, layout, levels, tables, WAL
  verify                          read and check every block of every table
  get KEY                         the value of KEY, or (nil)
  scan [START [END]] [--limit N]  the pairs with START <= key < END, in order
  dump                            every live pair, one \"key\" \"value\" line each
  load FILE                       write FILE's pairs (dump's form) into DISK,
                                  formatting a blank image as the kernel does
  sst N                           table N: footer, filter, index, blocks, entries

A value that expires is followed by PXAT and its expiry in Unix milliseconds
(get: \"value\" PXAT 1700000000000; dump: \"key\" \"value\" PXAT 1700000000000);
one that has expired by the host's clock is absent, as in the kernel.

A key is one console token: plain (get alice) or double-quoted with the
console's escapes \\\" \\\\ \\n \\r \\t \\xHH (get '\"k\\x00\"').
Exit status: 0 done, 1 failed or damage found (why, on stderr), 2 bad usage.
";

/// A command to run on the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// The superblock, layout, levels, tables and WAL.
    Info,
    /// Every block of every table read and checked.
    Verify,
    /// One key's value.
    Get(Vec<u8>),
    /// Pairs with `start <= key < end`, at most `limit` of them.
    Scan {
        /// First key (inclusive).
        start: Vec<u8>,
        /// End key (exclusive); `None` runs to the last key.
        end: Option<Vec<u8>>,
        /// Most pairs to print.
        limit: Option<usize>,
    },
    /// Every live pair.
    Dump,
    /// The pairs of a file written into the store.
    Load(PathBuf),
    /// One table, block by block.
    Sst(u64),
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// `--help`: print [`USAGE`].
    Help,
    /// Run `command` on the image at `disk`.
    Run {
        /// The image.
        disk: PathBuf,
        /// The command.
        command: Command,
    },
}

fn is_help(a: &OsStr) -> bool {
    a == "-h" || a == "--help"
}

fn usage(msg: impl Into<String>) -> LdbError {
    LdbError::Usage(msg.into())
}

/// Reads `raw` as exactly one console token: plain, or double-quoted with
/// the console's escapes.
pub fn one_token(raw: &[u8]) -> Result<Vec<u8>, TokenProblem> {
    let mut tokens = console::split_args(raw).map_err(TokenProblem::Parse)?;
    match tokens.len() {
        1 => Ok(tokens.swap_remove(0)),
        found => Err(TokenProblem::Count { expected: 1, found }),
    }
}

fn key(raw: &OsStr, what: &'static str) -> Result<Vec<u8>, LdbError> {
    one_token(raw.as_bytes()).map_err(|problem| LdbError::Arg { what, problem })
}

fn number<T: std::str::FromStr>(raw: &OsStr, what: &str) -> Result<T, LdbError> {
    raw.to_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| usage(format!("{what} takes a number, not {}", raw.display())))
}

/// Parses the arguments after the program's name.
pub fn parse(args: &[OsString]) -> Result<Parsed, LdbError> {
    if args.iter().take(2).any(|a| is_help(a)) {
        return Ok(Parsed::Help);
    }
    let (disk, command, rest) = match args {
        [disk, command, rest @ ..] => (PathBuf::from(disk), command, rest),
        [_] => return Err(usage("no command given")),
        [] => return Err(usage("no disk image given")),
    };
    let extra = |n: usize| {
        rest.get(n).map_or(Ok(()), |a| {
            Err(usage(format!(
                "{} takes no argument {}",
                command.display(),
                a.display()
            )))
        })
    };
    let command = match command.to_str().unwrap_or("") {
        "info" => extra(0).map(|()| Command::Info)?,
        "verify" => extra(0).map(|()| Command::Verify)?,
        "dump" => extra(0).map(|()| Command::Dump)?,
        "get" => match rest {
            [k] => Command::Get(key(k, "KEY")?),
            _ => return Err(usage("get takes one KEY")),
        },
        "load" => match rest {
            [file] => Command::Load(PathBuf::from(file)),
            _ => return Err(usage("load takes one FILE")),
        },
        "sst" => match rest {
            [n] => Command::Sst(number(n, "sst")?),
            _ => return Err(usage("sst takes one table number")),
        },
        "scan" => scan(rest)?,
        _ => {
            return Err(usage(format!(
                "unknown command {}",
                console::quote(command.as_bytes())
            )))
        }
    };
    Ok(Parsed::Run { disk, command })
}

fn scan(rest: &[OsString]) -> Result<Command, LdbError> {
    let mut keys = Vec::new();
    let mut limit = None;
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        // The option is the bare word: a key spelled so is quoted, "--limit".
        if a == "--limit" {
            let n = it
                .next()
                .ok_or_else(|| usage("--limit takes a number of pairs"))?;
            limit = Some(number(n, "--limit")?);
        } else {
            keys.push(a);
        }
    }
    match keys.as_slice() {
        [] => Ok(Command::Scan {
            start: Vec::new(),
            end: None,
            limit,
        }),
        [s] => Ok(Command::Scan {
            start: key(s, "START")?,
            end: None,
            limit,
        }),
        [s, e] => Ok(Command::Scan {
            start: key(s, "START")?,
            end: Some(key(e, "END")?),
            limit,
        }),
        _ => Err(usage("scan takes at most START and END")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Parsed, LdbError> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        parse(&args)
    }

    fn command(args: &[&str]) -> Command {
        match run(args) {
            Ok(Parsed::Run { disk, command }) => {
                assert_eq!(disk, PathBuf::from(args[0]));
                command
            }
            other => panic!("{args:?}: {other:?}"),
        }
    }

    fn error(args: &[&str]) -> String {
        run(args).unwrap_err().to_string()
    }

    #[test]
    fn commands_and_their_arguments() {
        assert_eq!(command(&["d.img", "info"]), Command::Info);
        assert_eq!(command(&["d.img", "verify"]), Command::Verify);
        assert_eq!(command(&["d.img", "dump"]), Command::Dump);
        assert_eq!(
            command(&["d.img", "get", "alice"]),
            Command::Get(b"alice".to_vec())
        );
        assert_eq!(
            command(&["d.img", "get", r#""k\x00 \"q\"""#]),
            Command::Get(b"k\x00 \"q\"".to_vec())
        );
        assert_eq!(
            command(&["d.img", "get", r#""""#]),
            Command::Get(Vec::new())
        );
        assert_eq!(
            command(&["d.img", "load", "pairs.txt"]),
            Command::Load(PathBuf::from("pairs.txt"))
        );
        assert_eq!(command(&["d.img", "sst", "12"]), Command::Sst(12));
        assert_eq!(
            command(&["d.img", "scan"]),
            Command::Scan {
                start: Vec::new(),
                end: None,
                limit: None
            }
        );
        assert_eq!(
            command(&["d.img", "scan", "a", "--limit", "5", r#""z\xff""#]),
            Command::Scan {
                start: b"a".to_vec(),
                end: Some(b"z\xff".to_vec()),
                limit: Some(5)
            }
        );
        assert_eq!(
            command(&["d.img", "scan", r#""--limit""#]),
            Command::Scan {
                start: b"--limit".to_vec(),
                end: None,
                limit: None
            }
        );
        assert_eq!(run(&["--help"]).unwrap(), Parsed::Help);
        assert_eq!(run(&["d.img", "-h"]).unwrap(), Parsed::Help);
    }

    #[test]
    fn bad_command_lines_say_why() {
        assert_eq!(error(&[]), "no disk image given");
        assert_eq!(error(&["d.img"]), "no command given");
        assert_eq!(error(&["d.img", "frob"]), "unknown command \"frob\"");
        assert_eq!(error(&["d.img", "info", "x"]), "info takes no argument x");
        assert_eq!(error(&["d.img", "get"]), "get takes one KEY");
        assert_eq!(error(&["d.img", "sst", "x1"]), "sst takes a number, not x1");
        assert_eq!(
            error(&["d.img", "scan", "a", "--limit"]),
            "--limit takes a number of pairs"
        );
        assert_eq!(
            error(&["d.img", "scan", "a", "b", "c"]),
            "scan takes at most START and END"
        );
        for args in [&["d.img", "frob"][..], &["d.img", "get", "a b"]] {
            assert_eq!(run(args).unwrap_err().exit_code(), 2);
        }
    }

    #[test]
    fn a_key_is_exactly_one_console_token() {
        assert_eq!(
            error(&["d.img", "get", "a b"]),
            "KEY: 2 console token(s) where 1 belong; \
             double-quote one that holds spaces (\"a b\") or is empty (\"\")"
        );
        assert_eq!(
            error(&["d.img", "get", ""]),
            "KEY: 0 console token(s) where 1 belong; \
             double-quote one that holds spaces (\"a b\") or is empty (\"\")"
        );
        assert_eq!(
            error(&["d.img", "scan", r#""a"#]),
            "START: unbalanced quotes in request: the quote at byte 0 is never closed"
        );
        assert_eq!(
            error(&["d.img", "scan", "a", r#""\q""#]),
            r#"END: bad escape '\q' at byte 1; inside quotes use \" \\ \n \r \t or \xHH"#
        );
    }
}

//! The serial console's byte-level contract, as `docs/console.md` fixes it:
//!
//! ```text
//!  UART rx ─► line::LineEditor ─► parse::split_args ─► command::parse_command
//!             CR/LF, BS, ^C, ^U,   quotes, \xHH         table, aliases, arity
//!             escape sequences;                                   │
//!             echo ─► UART tx                                     ▼
//!  UART tx ◄─ reply::render ◄───── reply::Reply ◄──────── the kernel runs it
//!             "\r\n" line ends, redis-cli forms
//! ```
//!
//! Users type at this interface and scripts parse what it prints, so its exact
//! bytes are a contract. Keeping it in a crate of its own, with no dependency on
//! the kernel, lets every rule of that contract be unit-tested on the host
//! (`cargo test -p console`) while the kernel only moves bytes between the UART
//! and these types and decides what each command does.

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod command;
pub mod line;
pub mod parse;
pub mod reply;

pub use command::{
    commands, flag, lookup, parse_command, CommandError, CommandSpec, Invocation, Keys, TypedName,
};
pub use line::{LineEditor, LineEvent};
pub use parse::{split_args, ParseError};
pub use reply::{quote, render, Coded, Reply, Report};

//! Redis's wire protocol, RESP, for unikv's network front end, so that
//! redis-cli, redis-benchmark and client libraries work unchanged:
//!
//! ```text
//!  TCP rx ─► request::RequestParser ─► argv ─► the command layer
//!            inline and multibulk,              │
//!            Redis 7.0's rules and errors       ▼
//!  TCP tx ◄─ encode::encode ◄──────────── console::Reply
//!            RESP2 or RESP3
//! ```
//!
//! * [`request`] reads a connection's requests incrementally, exactly as
//!   Redis 7.0's `processInputBuffer` does, limits and error texts included;
//!   [`error`] holds those errors and Redis's reply to them.
//! * [`text`] is Redis's `sdssplitargs` and `string2ll`.
//! * [`mod@encode`] writes a [`console::Reply`] as RESP2 or RESP3.
//! * [`mod@decode`] is the client side, reading reply frames back, for tests
//!   and host tools.
//!
//! The crate knows nothing of the kernel or of sockets: it turns bytes into
//! commands and replies into bytes, and is tested on the host.

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod decode;
pub mod encode;
pub mod error;
pub mod request;
pub mod text;

pub use decode::{decode, decode_all, DecodeError, Frame};
pub use encode::{encode, encoded, Protocol};
pub use error::ProtocolError;
pub use request::{Argv, Limits, Parsed, RequestParser};

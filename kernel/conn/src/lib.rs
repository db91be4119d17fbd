//! # conn: what every session does that needs no hardware
//!
//! The kernel's sessions move bytes between a device (the UART, a TCP
//! socket) and this crate:
//!
//! - [`Outbox`]: a session's output, in order, with each write's reply held
//!   until the group commit that covers it (so no `OK` goes out before its
//!   write is on the disk, while the writes of every session share one WAL
//!   flush). The serial console keeps one; so does every connection.
//! - [`Connection`]: one client speaking Redis's protocol: request bytes in
//!   (`resp`'s parser), commands through `cmd`, replies out in RESP2 or
//!   RESP3, pipelined, with Redis's limits (request and bulk sizes, the
//!   unread-output cap that drops a client that never reads) and QUIT.
//!
//! ```text
//!   socket bytes ─► Connection::input ─► resp::RequestParser ─► cmd::run ─► Reply
//!                                                                  │
//!   socket ◄─ Connection::output ◄─ Outbox (held until durable) ◄──┘ resp::encode
//! ```

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

mod connection;
mod outbox;

pub use connection::{Connection, Env, MAX_CLIENTS_REPLY};
pub use outbox::Outbox;

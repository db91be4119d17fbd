//! # cmd: the commands, written once for every front end
//!
//! A session (the serial console; network connections) turns its input
//! into a [`console::Invocation`] and calls [`run`]; the handler the table
//! names for that command does the work and returns a [`Reply`], which the
//! session renders its own way (redis-cli style at the console). Handlers
//! never touch a device: they reach the world through a [`Ctx`]:
//!
//! - the store service ([`kv::Store`], behind its lock), which keeps the
//!   store's promises (group commit, the sync=0 deadline, the scan trace);
//! - the [`Host`]: what only the kernel knows (its INFO sections, services,
//!   log, power, the debug hooks), implemented by the kernel and by a test
//!   double in this crate's tests;
//! - the session's [`Sink`]: progress lines, unframed output, and whether
//!   the user asked to stop (Ctrl-C), so long commands stop at a safe point;
//! - the session's [`Client`] (who is asking, its protocol, its
//!   transaction) and the [`Server`] every session shares (configuration,
//!   the client list, statistics, WATCHed keys).
//!
//! A command's writes gather in one batch that goes to the store's group
//! commit only when it succeeds (a transaction's, when EXEC ends), and its
//! reads see them (`keyspace`).
//!
//! A line the session refuses itself (an unknown command, a wrong number
//! of arguments) never reaches [`run`]: the session reports it with
//! [`refused`], which counts it and makes a transaction's EXEC abort, as
//! Redis does. After QUIT ([`Client::closing`]) the session sends the
//! reply and closes, running nothing the client sent after it.
//!
//! ```text
//!   session ─► console::parse_command ─► cmd::run ─► table::HANDLERS[name]
//!                                                        │   │    │
//!                                         kv::Store ◄────┘   │    └──► Sink
//!                                         Host (kernel) ◄────┘
//! ```
//!
//! The table is keyed by the console crate's command specs: every spec has
//! a handler and every handler a spec (a test checks both), and usage
//! strings live only in the specs.

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(feature = "testing")]
extern crate std;

#[cfg(feature = "testing")]
pub mod testing;

mod acl;
mod appliance;
mod args;
mod bench;
mod bitmaps;
mod cachecmd;
mod clientlist;
mod config;
mod connection;
mod ctx;
mod debug;
mod expire;
mod info;
mod introspect;
mod keys;
mod keyspace;
mod kill;
mod latency;
mod monitor;
mod pause;
mod rdb;
mod server;
mod serverfamily;
mod slowlog;
mod state;
mod storage;
mod strings;
mod subcommand;
mod table;
mod transactions;

pub use clientlist::{Buffers, ClientInfo};
pub use connection::REDIS_VERSION;
pub use console::Reply;
pub use ctx::{CmdError, Ctx, Host, ServiceRow, Sink, StoreGuard};
pub use monitor::Monitors;
pub use pause::{paused, postponed, Pause};
pub use state::{
    addr, kills, past_output_limit, Appendfsync, Caller, Client, CommandStats, Config, Multi,
    Protocol, Server, ServerCell, Stats, Watched, MAX_CURSORS, REPLY_BUFFER, SPARE_BATCH_MAX,
    SPARE_VALUE_MAX,
};
pub use table::{
    entries, handler, joins_group, redis_invocation, refused, run, Entry, Handler, HANDLERS,
};

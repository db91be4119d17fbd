//! The connection tests' rig: a real store and server, a fake host, and
//! two network clients' addresses.

#![allow(dead_code)] // Each test file uses a part of it.

use cmd::testing::{server, store, FakeHost};
use cmd::{Caller, Host, ServerCell};
use conn::{Connection, Env};
use kv::StoreCell;

pub const PEER: Caller = Caller::Network {
    addr: [127, 0, 0, 1],
    port: 50000,
};
/// A second client, beside [`PEER`].
pub const OTHER: Caller = Caller::Network {
    addr: [127, 0, 0, 1],
    port: 50001,
};

pub struct Rig {
    pub store: StoreCell,
    pub server: ServerCell,
    pub host: FakeHost,
}

impl Rig {
    pub fn new() -> Rig {
        Rig {
            store: store(16 << 20),
            server: server(),
            host: FakeHost::default(),
        }
    }

    pub fn env(&self) -> Env<'_> {
        Env {
            store: &self.store,
            server: &self.server,
            host: &self.host,
            clock: self.host.clock(),
        }
    }

    /// Makes every write so far durable (a group commit).
    pub fn commit(&self) {
        self.store.lock().as_mut().unwrap().commit().unwrap();
    }
}

/// What the connection has ready to send, taken.
pub fn take(c: &mut Connection) -> String {
    let out = String::from_utf8_lossy(c.output()).into_owned();
    let n = c.output().len();
    c.sent(n);
    out
}

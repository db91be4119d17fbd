//! [`Outbox`]: a session's output, in order, with the replies of deferred
//! writes held until their group commit.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use kv::{Commit, StoreCell, Ticket};

enum Item {
    Bytes(Vec<u8>),
    /// A write's reply: it goes once `Ticket` is durable; if the commit
    /// failed, the session's rendering of the error goes instead.
    Reply(Ticket, Vec<u8>),
}

/// Output waiting to go out, in order.
#[derive(Default)]
pub struct Outbox {
    items: VecDeque<Item>,
    held_bytes: usize,
}

impl Outbox {
    /// An empty outbox.
    pub fn new() -> Outbox {
        Outbox::default()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Bytes held.
    pub fn held_bytes(&self) -> usize {
        self.held_bytes
    }

    /// `bytes` go out after everything held: at once through `send` if
    /// nothing is held, else queued.
    pub fn emit(&mut self, bytes: Vec<u8>, send: &mut dyn FnMut(&[u8])) {
        if bytes.is_empty() {
            return;
        }
        if self.items.is_empty() {
            send(&bytes);
        } else {
            self.held_bytes += bytes.len();
            self.items.push_back(Item::Bytes(bytes));
        }
    }

    /// A write's reply, held until `ticket` is durable.
    pub fn hold(&mut self, ticket: Ticket, reply: Vec<u8>) {
        self.held_bytes += reply.len();
        self.items.push_back(Item::Reply(ticket, reply));
    }

    /// Sends what no longer waits: everything up to the first reply whose
    /// commit has not happened yet. A failed commit's replies become
    /// `on_error(error)`. A stopped store (`None`) closed cleanly, so its
    /// writes are durable.
    pub fn release(
        &mut self,
        store: &StoreCell,
        on_error: &dyn Fn(&lsm::Error) -> Vec<u8>,
        send: &mut dyn FnMut(&[u8]),
    ) {
        if self.items.is_empty() {
            return;
        }
        let store = store.lock();
        while let Some(item) = self.items.front() {
            match item {
                Item::Bytes(b) => send(b),
                Item::Reply(t, ok) => match store.as_ref().map(|s| s.status(*t)) {
                    None | Some(Commit::Durable) => send(ok),
                    Some(Commit::Failed(e)) => send(&on_error(&e)),
                    Some(Commit::Pending) => return,
                },
            }
            if let Some(item) = self.items.pop_front() {
                self.held_bytes -= match &item {
                    Item::Bytes(b) | Item::Reply(_, b) => b.len(),
                };
            }
        }
    }
}

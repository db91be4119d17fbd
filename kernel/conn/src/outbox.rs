//! [`Outbox`]: a session's output, in order, with the replies of deferred
//! writes held until their group commit.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use kv::{Commit, StoreCell, Ticket};

/// Held bytes kept allocated once everything has gone: a pipeline's
/// replies, not a large value's.
const KEEP_CAPACITY: usize = 64 << 10;

enum Item {
    /// Bytes handed over whole: a large reply is not copied once more.
    Owned(Vec<u8>),
    /// The next `len` bytes of [`Outbox::buf`]; a write's reply if there
    /// is a ticket: it goes once the ticket is durable; if the commit
    /// failed, the session's rendering of the error goes instead.
    Buffered(Option<Ticket>, usize),
}

/// Output waiting to go out, in order.
#[derive(Default)]
pub struct Outbox {
    items: VecDeque<Item>,
    /// The buffered items' bytes, one after the other from `start`: one
    /// buffer for them all, where a buffer per reply cost an allocation
    /// per write.
    buf: Vec<u8>,
    start: usize,
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
            self.items.push_back(Item::Owned(bytes));
        }
    }

    /// What `write` appends goes out after everything held; the caller
    /// sends it itself while nothing is held.
    pub fn queue_with(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        self.buffer(None, write);
    }

    /// A write's reply, held until `ticket` is durable.
    pub fn hold(&mut self, ticket: Ticket, reply: Vec<u8>) {
        self.hold_with(ticket, |b| b.extend_from_slice(&reply));
    }

    /// A write's reply, as `write` appends it, held until `ticket` is
    /// durable.
    pub fn hold_with(&mut self, ticket: Ticket, write: impl FnOnce(&mut Vec<u8>)) {
        self.buffer(Some(ticket), write);
    }

    fn buffer(&mut self, ticket: Option<Ticket>, write: impl FnOnce(&mut Vec<u8>)) {
        let before = self.buf.len();
        write(&mut self.buf);
        let len = self.buf.len() - before;
        if len == 0 && ticket.is_none() {
            return;
        }
        self.held_bytes += len;
        self.items.push_back(Item::Buffered(ticket, len));
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
        while let Some(item) = self.items.front() {
            let len = match item {
                Item::Owned(b) => {
                    send(b);
                    b.len()
                }
                Item::Buffered(ticket, len) => {
                    let bytes = &self.buf[self.start..self.start + len];
                    match ticket.map_or(Commit::Durable, |t| store.commit_status(t)) {
                        Commit::Durable => send(bytes),
                        Commit::Failed(e) => send(&on_error(&e)),
                        Commit::Pending => break,
                    }
                    self.start += len;
                    *len
                }
            };
            self.held_bytes -= len;
            self.items.pop_front();
        }
        if self.items.is_empty() {
            self.start = 0;
            if self.buf.capacity() > KEEP_CAPACITY {
                self.buf = Vec::new();
            } else {
                self.buf.clear();
            }
        } else if self.start >= KEEP_CAPACITY && self.start * 2 >= self.buf.len() {
            // Sent bytes go once they are most of the buffer.
            self.buf.drain(..self.start);
            self.start = 0;
        }
    }
}

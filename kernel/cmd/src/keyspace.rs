//! The keyspace as a command sees it: reads see the store and the
//! command's (or transaction's) own writes; writes gather in one batch that
//! [`Ctx::apply`] hands to the store's group commit when the command (or the
//! whole EXEC) has succeeded, so a command is atomic, and so is a
//! transaction. Expired values read as absent everywhere.

use alloc::collections::{btree_map, BTreeMap};
use alloc::vec::Vec;
use core::cmp::Ordering;

use kv::value::{self, Raw};
use kv::{Entry, Kind};
use lsm::db::WriteBatch;
use lsm::iter::KvIter;
use unaligned::extend_short;

use crate::ctx::{CmdError, Ctx};
use crate::state::Server;

/// Keys visited between two looks at Ctrl-C during a scan.
const SCAN_CHECK_EVERY: usize = 256;

/// Bytes of values a command may read before [`Ctx::read_for_write`]
/// looks at the free heap (a value is at most 16 MiB, so a command holds
/// at most 20 MiB unlooked).
const UNCHECKED_READ: usize = 4 << 20;

/// What a scan calls for each live key and its value: false stops it.
pub(crate) type Visit<'v> = dyn FnMut(&[u8], &Entry) -> Result<bool, CmdError> + 'v;

/// Writes from which on [`Pending`] keeps an index of its keys: below, a
/// look from the end of the list is faster than a tree and allocates
/// nothing (most commands write one key).
const INDEX_FROM: usize = 16;

/// Writes not applied yet. A session's client keeps one and each command
/// starts from it emptied: its buffers outlive the command, so that a SET
/// allocates nothing here (a key, a value and the list took three
/// allocations a command).
#[derive(Debug, Default)]
pub(crate) struct Pending {
    /// Every write in order, so that a failed command of a transaction can
    /// take back its own. A key holds what its last write says.
    ops: Vec<Op>,
    /// The writes' keys and values, one after the other.
    bytes: Vec<u8>,
    /// Each key's last write in `ops`, once there are `INDEX_FROM` writes.
    index: Option<BTreeMap<Vec<u8>, usize>>,
}

/// One write: its key is `bytes[start..key_end]`; a value's is
/// `bytes[key_end..end]`.
#[derive(Clone, Copy, Debug)]
struct Op {
    start: usize,
    key_end: usize,
    end: usize,
    /// The value's kind and expiry; `None`: a deletion.
    put: Option<(Kind, Option<u64>)>,
}

/// Bytes of keys and values kept between commands: a pipeline's, not a
/// large value's.
const KEEP_BYTES: usize = 64 << 10;

impl Pending {
    /// The write that last wrote `key`, if one did. Inlined for the usual
    /// case, a command that has written nothing yet (every read): no call.
    #[inline(always)]
    fn find(&self, key: &[u8]) -> Option<usize> {
        if self.ops.is_empty() {
            return None;
        }
        self.find_written(key)
    }

    fn find_written(&self, key: &[u8]) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(key).copied(),
            None => self.ops.iter().rposition(|op| self.key(op) == key),
        }
    }

    fn key(&self, op: &Op) -> &[u8] {
        &self.bytes[op.start..op.key_end]
    }

    /// What write `i` leaves its key holding (`None`: nothing).
    fn written(&self, i: usize) -> Option<Raw<'_>> {
        let op = &self.ops[i];
        op.put.map(|(kind, expires_at)| Raw {
            kind,
            expires_at,
            value: &self.bytes[op.key_end..op.end],
        })
    }

    fn push(&mut self, key: &[u8], put: Option<Raw<'_>>) {
        let start = self.bytes.len();
        extend_short(&mut self.bytes, key);
        let key_end = self.bytes.len();
        if let Some(raw) = put {
            extend_short(&mut self.bytes, raw.value);
        }
        self.ops.push(Op {
            start,
            key_end,
            end: self.bytes.len(),
            put: put.map(|raw| (raw.kind, raw.expires_at)),
        });
        let i = self.ops.len() - 1;
        match &mut self.index {
            Some(index) => {
                index.insert(key.to_vec(), i);
            }
            None if self.ops.len() >= INDEX_FROM => self.reindex(),
            None => {}
        }
    }

    fn len(&self) -> usize {
        self.ops.len()
    }

    fn truncate(&mut self, len: usize) {
        self.ops.truncate(len);
        self.bytes.truncate(self.ops.last().map_or(0, |op| op.end));
        // Asked first: assigning calls the old value's drop, out of line,
        // for every SET, where nearly always there is none.
        if self.index.is_some() {
            self.index = None;
        }
        if self.ops.len() >= INDEX_FROM {
            self.reindex();
        }
    }

    /// Forgets every write, keeping the room for the next command's.
    pub(crate) fn clear(&mut self) {
        if self.ops.is_empty() {
            return;
        }
        self.truncate(0);
        if self.bytes.capacity() > KEEP_BYTES {
            self.bytes = Vec::new();
        }
    }

    fn reindex(&mut self) {
        let index = self
            .ops
            .iter()
            .enumerate()
            .map(|(i, op)| (self.key(op).to_vec(), i));
        self.index = Some(index.collect());
    }

    /// Each written key once, with what it holds: in key order with the
    /// index, else in the order of their last writes.
    fn last_writes(&self) -> LastWrites<'_> {
        LastWrites {
            pending: self,
            order: match &self.index {
                Some(index) => Order::Indexed(index.values()),
                None => Order::Listed(0),
            },
        }
    }

    /// [`Pending::last_writes`] in key order, from `start` on.
    fn sorted_from(&self, start: &[u8]) -> Vec<(&[u8], Option<Raw<'_>>)> {
        let mut writes: Vec<_> = self.last_writes().filter(|(k, _)| *k >= start).collect();
        writes.sort_unstable_by(|a, b| a.0.cmp(b.0));
        writes
    }
}

/// [`Pending::last_writes`]: one concrete iterator, where a chain of the
/// two orders cost a SET about a hundred instructions.
struct LastWrites<'a> {
    pending: &'a Pending,
    order: Order<'a>,
}

enum Order<'a> {
    /// By the index, in key order.
    Indexed(btree_map::Values<'a, Vec<u8>, usize>),
    /// The list from this position on, each key at its last write.
    Listed(usize),
}

impl<'a> Iterator for LastWrites<'a> {
    type Item = (&'a [u8], Option<Raw<'a>>);

    fn next(&mut self) -> Option<Self::Item> {
        let p = self.pending;
        let i = match &mut self.order {
            Order::Indexed(values) => *values.next()?,
            Order::Listed(next) => loop {
                let i = *next;
                let key = p.key(p.ops.get(i)?);
                *next += 1;
                if !p.ops[i + 1..].iter().any(|later| p.key(later) == key) {
                    break i;
                }
            },
        };
        Some((p.key(&p.ops[i]), p.written(i)))
    }
}

impl Ctx<'_> {
    /// The time now, in Unix milliseconds.
    ///
    /// Read once per command (and once for a whole transaction), as Redis
    /// takes one time snapshot per command: every key expires or not at the
    /// same instant.
    pub(crate) fn now_ms(&self) -> u64 {
        if let Some(t) = self.now.get() {
            return t;
        }
        let t = self.clock.wall_ms();
        self.now.set(Some(t));
        t
    }

    /// What `key` holds for this command: its own writes first, then the
    /// store; `None` if nothing, or something expired.
    pub(crate) fn read(&self, key: &[u8]) -> Result<Option<Entry>, CmdError> {
        let found = self.read_for_write(key)?;
        let (hits, misses) = self.reads.get();
        self.reads.set(match found {
            Some(_) => (hits + 1, misses),
            None => (hits, misses + 1),
        });
        Ok(found)
    }

    /// [`Ctx::read`] without counting a keyspace hit or miss: what a
    /// command that writes the key looks at first (Redis's
    /// `lookupKeyWrite`: RENAME's source, COPY's target).
    pub(crate) fn read_for_write(&self, key: &[u8]) -> Result<Option<Entry>, CmdError> {
        let pending = &self.client.pending;
        Ok(match pending.find(key) {
            Some(i) => match pending
                .written(i)
                .filter(|raw| !raw.is_expired(self.now_ms()))
            {
                Some(raw) => {
                    self.count_read(raw.value.len())?;
                    Some(raw.to_entry())
                }
                None => None,
            },
            None => {
                // Into the client's spare buffer, which the reply's value
                // usually becomes (and comes back from).
                let mut value = self.client.spare_value.take();
                let found = self
                    .store_shared()?
                    .get_into(key, || self.now_ms(), &mut value)?;
                match found {
                    Some((kind, expires_at)) => {
                        self.count_read(value.len())?;
                        Some(Entry {
                            kind,
                            expires_at,
                            value,
                        })
                    }
                    None => {
                        self.client.spare_value.set(value);
                        None
                    }
                }
            }
        })
    }

    /// Counts `len` bytes more of values read by the command, and refuses
    /// to go on once they pass a quarter of the free heap: every value a
    /// command reads is a copy held until its reply is sent (MGET's, a
    /// transaction's, BITOP's sources), and the rendered reply needs about
    /// as much again. A command's first value is let through: it is read
    /// already, and a command of one key needs it.
    #[inline(always)]
    fn count_read(&self, len: usize) -> Result<(), CmdError> {
        let total = self.read_bytes.get().saturating_add(len);
        self.read_bytes.set(total);
        match self.over_heap_quarter(total, UNCHECKED_READ.max(len)) {
            Some(free) => Err(CmdError::oom(format_args!(
                "the values it reads ({total} bytes so far) pass a quarter of the free memory \
                 ({free} bytes); read fewer or smaller values at a time"
            ))),
            None => Ok(()),
        }
    }

    /// Whether this command (or transaction) has written `key` so far.
    pub(crate) fn has_written(&self, key: &[u8]) -> bool {
        self.client.pending.find(key).is_some()
    }

    /// Whether `key` holds something (not counted as a hit or a miss).
    pub(crate) fn exists(&self, key: &[u8]) -> Result<bool, CmdError> {
        let pending = &self.client.pending;
        Ok(match pending.find(key) {
            Some(i) => pending
                .written(i)
                .is_some_and(|raw| !raw.is_expired(self.now_ms())),
            None => self
                .store_shared()?
                .get_at(key, || self.now_ms())?
                .is_some(),
        })
    }

    /// Sets `key` to `entry` when the command succeeds.
    pub(crate) fn write(&mut self, key: &[u8], entry: Entry) {
        let raw = Raw {
            kind: entry.kind,
            expires_at: entry.expires_at,
            value: &entry.value,
        };
        self.write_raw(key, raw);
    }

    /// [`Ctx::write`] of a value the caller only borrows.
    pub(crate) fn write_raw(&mut self, key: &[u8], raw: Raw<'_>) {
        self.client.pending.push(key, Some(raw));
    }

    /// Deletes `key` when the command succeeds.
    pub(crate) fn remove(&mut self, key: &[u8]) {
        self.client.pending.push(key, None);
    }

    /// How many writes are gathered (a mark for [`Ctx::truncate_pending`]).
    pub(crate) fn pending_len(&self) -> usize {
        self.client.pending.len()
    }

    /// Takes back the writes after the first `len`.
    pub(crate) fn truncate_pending(&mut self, len: usize) {
        if len < self.client.pending.len() {
            self.client.pending.truncate(len);
        }
    }

    /// Hands the writes gathered so far to the store, as one batch joining
    /// the group commit; the reply then waits for it. Transactions watching
    /// the keys will abort, once [`Ctx::settle`] has told the server; until
    /// then the writes are not handed over again.
    pub(crate) fn apply(&mut self) -> Result<(), CmdError> {
        let pending = &self.client.pending;
        if pending.ops.is_empty() || self.applied {
            return Ok(());
        }
        // One allocation for the batch: its size first, counting a key
        // written twice twice (a bound is enough, and cheaper).
        let size = pending
            .ops
            .iter()
            .map(|op| {
                let value = op
                    .put
                    .map_or(0, |_| value::MAX_HEADER + op.end - op.key_end);
                WriteBatch::put_size(op.key_end - op.start, value)
            })
            .sum();
        let mut batch = match self.client.spare_batch.take() {
            Some(mut b) => {
                b.reset(size);
                b
            }
            None => WriteBatch::with_capacity(size),
        };
        let mut add = |key: &[u8], written: Option<Raw<'_>>| match written {
            Some(raw) => batch.put_parts(
                key,
                &[
                    value::header_of(raw.kind, raw.expires_at).as_bytes(),
                    raw.value,
                ],
            ),
            None => batch.delete(key),
        };
        if let [op] = pending.ops.as_slice() {
            // Most commands write one key: no walk for later writes of it
            // (the walk's two calls of `next` were ~100 instructions a SET).
            add(pending.key(op), pending.written(0));
        } else {
            for (key, written) in pending.last_writes() {
                add(key, written);
            }
        }
        let expiring = pending
            .ops
            .iter()
            .any(|op| matches!(op.put, Some((_, Some(_)))));
        let ticket = self
            .store_for_write()?
            .write_deferred_known(&mut batch, expiring)?;
        if batch.capacity() <= crate::state::SPARE_BATCH_MAX {
            // Taken above, so empty: nothing to drop.
            self.client.spare_batch.get_or_insert(batch);
        }
        self.wait_for = Some(ticket);
        // The writes stay where they are (moving them out cost copies) and
        // go once `settle` has told the watchers.
        self.applied = true;
        Ok(())
    }

    /// Tells `server` what the command's reads and writes so far did: its
    /// keyspace hits and misses, the keys it handed to the store (for
    /// WATCH).
    ///
    /// Inlined, the watched keys' part out of line: every command ends here,
    /// and under TCG each return is a lookup of its target.
    #[inline(always)]
    pub(crate) fn settle(&mut self, server: &mut Server) {
        let (hits, misses) = self.reads.take();
        server.stats.keyspace_hits += hits;
        server.stats.keyspace_misses += misses;
        if self.applied {
            server.changes_since_save += self.client.pending.ops.len() as u64;
            if !server.watched.is_empty() {
                self.touch_watched(server);
            }
            self.client.pending.clear();
            self.applied = false;
        }
    }

    /// Tells the watched keys' transactions what the command wrote.
    fn touch_watched(&self, server: &mut Server) {
        for (key, _) in self.client.pending.last_writes() {
            server.touch(key);
        }
    }

    /// Visits every live key from `start` in order, with what it holds, as
    /// this command sees them (its own writes included), until `visit`
    /// returns false; stops with `Interrupted` on Ctrl-C.
    pub(crate) fn scan(
        &mut self,
        start: &[u8],
        limit: usize,
        visit: &mut Visit<'_>,
    ) -> Result<(), CmdError> {
        let now = self.now_ms();
        let store = self.store()?;
        let mut it = store.scan(start, limit)?;
        let mut overlay = self
            .client
            .pending
            .sorted_from(start)
            .into_iter()
            .peekable();
        let mut seen = 0usize;
        loop {
            seen += 1;
            if seen.is_multiple_of(SCAN_CHECK_EVERY) && self.out.interrupted() {
                return Err(CmdError::Interrupted);
            }
            let order = match (it.valid(), overlay.peek()) {
                (false, None) => return Ok(()),
                (true, None) => Ordering::Less,
                (false, Some(_)) => Ordering::Greater,
                (true, Some((k, _))) => it.key().cmp(k),
            };
            let go_on = match order {
                Ordering::Less => {
                    let raw = value::decode(it.value()).map_err(kv::bad_value)?;
                    let go_on = raw.is_expired(now) || visit(it.key(), &raw.to_entry())?;
                    it.next()?;
                    go_on
                }
                _ => {
                    if order == Ordering::Equal {
                        it.next()?;
                    }
                    match overlay.next() {
                        Some((k, Some(raw))) if !raw.is_expired(now) => visit(k, &raw.to_entry())?,
                        _ => true,
                    }
                }
            };
            if !go_on {
                return Ok(());
            }
        }
    }
}

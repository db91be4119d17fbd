//! The keyspace as a command sees it: reads see the store and the
//! command's (or transaction's) own writes; writes gather in one batch that
//! [`Ctx::apply`] hands to the store's group commit when the command (or the
//! whole EXEC) has succeeded, so a command is atomic, and so is a
//! transaction. Expired values read as absent everywhere.

use alloc::collections::{btree_map, BTreeMap};
use alloc::vec::Vec;
use core::cmp::Ordering;

use kv::{value, Entry};
use lsm::db::WriteBatch;
use lsm::iter::KvIter;

use crate::ctx::{CmdError, Ctx};
use crate::state::Server;

/// Keys visited between two looks at Ctrl-C during a scan.
const SCAN_CHECK_EVERY: usize = 256;

/// What a scan calls for each live key and its value: false stops it.
pub(crate) type Visit<'v> = dyn FnMut(&[u8], &Entry) -> Result<bool, CmdError> + 'v;

/// Writes from which on [`Pending`] keeps an index of its keys: below, a
/// look from the end of the list is faster than a tree and allocates
/// nothing (most commands write one key).
const INDEX_FROM: usize = 16;

/// Writes not applied yet.
#[derive(Default)]
pub(crate) struct Pending {
    /// Every write in order (`None`: a deletion), so that a failed command
    /// of a transaction can take back its own. A key holds what its last
    /// write says.
    ops: Vec<(Vec<u8>, Option<Entry>)>,
    /// Each key's last write in `ops`, once there are `INDEX_FROM` writes.
    index: Option<BTreeMap<Vec<u8>, usize>>,
}

impl Pending {
    /// What the writes leave `key` holding, if they wrote it.
    fn get(&self, key: &[u8]) -> Option<&Option<Entry>> {
        let i = match &self.index {
            Some(index) => *index.get(key)?,
            None => self.ops.iter().rposition(|(k, _)| k == key)?,
        };
        Some(&self.ops[i].1)
    }

    fn push(&mut self, key: &[u8], entry: Option<Entry>) {
        self.ops.push((key.to_vec(), entry));
        let i = self.ops.len() - 1;
        match &mut self.index {
            Some(index) => {
                index.insert(key.to_vec(), i);
            }
            None if self.ops.len() >= INDEX_FROM => self.reindex(),
            None => {}
        }
    }

    fn truncate(&mut self, len: usize) {
        self.ops.truncate(len);
        self.index = None;
        if self.ops.len() >= INDEX_FROM {
            self.reindex();
        }
    }

    fn reindex(&mut self) {
        let index = self
            .ops
            .iter()
            .enumerate()
            .map(|(i, (k, _))| (k.clone(), i));
        self.index = Some(index.collect());
    }

    /// Each written key once, with what it holds: in key order with the
    /// index, else in the order of their last writes.
    fn last_writes(&self) -> LastWrites<'_> {
        LastWrites {
            ops: &self.ops,
            order: match &self.index {
                Some(index) => Order::Indexed(index.values()),
                None => Order::Listed(0),
            },
        }
    }

    /// [`Pending::last_writes`] in key order, from `start` on.
    fn sorted_from(&self, start: &[u8]) -> Vec<(&[u8], &Option<Entry>)> {
        let mut writes: Vec<_> = self.last_writes().filter(|(k, _)| *k >= start).collect();
        writes.sort_unstable_by(|a, b| a.0.cmp(b.0));
        writes
    }
}

/// [`Pending::last_writes`]: one concrete iterator, where a chain of the
/// two orders cost a SET about a hundred instructions.
struct LastWrites<'a> {
    ops: &'a [(Vec<u8>, Option<Entry>)],
    order: Order<'a>,
}

enum Order<'a> {
    /// By the index, in key order.
    Indexed(btree_map::Values<'a, Vec<u8>, usize>),
    /// The list from this position on, each key at its last write.
    Listed(usize),
}

impl<'a> Iterator for LastWrites<'a> {
    type Item = (&'a [u8], &'a Option<Entry>);

    fn next(&mut self) -> Option<Self::Item> {
        let i = match &mut self.order {
            Order::Indexed(values) => *values.next()?,
            Order::Listed(next) => loop {
                let i = *next;
                let (key, _) = self.ops.get(i)?;
                *next += 1;
                if !self.ops[i + 1..].iter().any(|(later, _)| later == key) {
                    break i;
                }
            },
        };
        let (key, entry) = &self.ops[i];
        Some((key, entry))
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
        let t = self.host.clock().wall_ms();
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
        Ok(match self.pending.get(key) {
            Some(e) => e.clone().filter(|e| !e.is_expired(self.now_ms())),
            None => self.store_shared()?.get_at(key, self.now_ms())?,
        })
    }

    /// Whether this command (or transaction) has written `key` so far.
    pub(crate) fn has_written(&self, key: &[u8]) -> bool {
        self.pending.get(key).is_some()
    }

    /// Whether `key` holds something (not counted as a hit or a miss).
    pub(crate) fn exists(&self, key: &[u8]) -> Result<bool, CmdError> {
        Ok(match self.pending.get(key) {
            Some(e) => e.as_ref().is_some_and(|e| !e.is_expired(self.now_ms())),
            None => self.store_shared()?.get_at(key, self.now_ms())?.is_some(),
        })
    }

    /// Sets `key` to `entry` when the command succeeds.
    pub(crate) fn write(&mut self, key: &[u8], entry: Entry) {
        self.pending.push(key, Some(entry));
    }

    /// Deletes `key` when the command succeeds.
    pub(crate) fn remove(&mut self, key: &[u8]) {
        self.pending.push(key, None);
    }

    /// How many writes are gathered (a mark for [`Ctx::truncate_pending`]).
    pub(crate) fn pending_len(&self) -> usize {
        self.pending.ops.len()
    }

    /// Takes back the writes after the first `len`.
    pub(crate) fn truncate_pending(&mut self, len: usize) {
        if len < self.pending.ops.len() {
            self.pending.truncate(len);
        }
    }

    /// Hands the writes gathered so far to the store, as one batch joining
    /// the group commit; the reply then waits for it. Transactions watching
    /// the keys will abort, once [`Ctx::settle`] has told the server; until
    /// then the writes are not handed over again.
    pub(crate) fn apply(&mut self) -> Result<(), CmdError> {
        if self.pending.ops.is_empty() || self.applied {
            return Ok(());
        }
        // One allocation for the batch: its size first, counting a key
        // written twice twice (a bound is enough, and cheaper).
        let size = self
            .pending
            .ops
            .iter()
            .map(|(key, entry)| {
                let value = entry
                    .as_ref()
                    .map_or(0, |e| value::MAX_HEADER + e.value.len());
                WriteBatch::put_size(key.len(), value)
            })
            .sum();
        let mut batch = WriteBatch::with_capacity(size);
        for (key, entry) in self.pending.last_writes() {
            match entry {
                Some(e) => batch.put_parts(key, &[e.header().as_bytes(), &e.value]),
                None => batch.delete(key),
            }
        }
        let ticket = self.store()?.write_deferred(batch)?;
        self.wait_for = Some(ticket);
        // The writes stay where they are (moving them out cost copies) and
        // go once `settle` has told the watchers.
        self.applied = true;
        Ok(())
    }

    /// Tells `server` what the command's reads and writes so far did: its
    /// keyspace hits and misses, the keys it handed to the store (for
    /// WATCH).
    pub(crate) fn settle(&mut self, server: &mut Server) {
        let (hits, misses) = self.reads.take();
        server.stats.keyspace_hits += hits;
        server.stats.keyspace_misses += misses;
        if self.applied {
            if !server.watched.is_empty() {
                for (key, _) in self.pending.last_writes() {
                    server.touch(key);
                }
            }
            self.pending.truncate(0);
            self.applied = false;
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
        let mut overlay = self.pending.sorted_from(start).into_iter().peekable();
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
                        Some((k, Some(e))) if !e.is_expired(now) => visit(k, e)?,
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

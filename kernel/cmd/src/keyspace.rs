//! The keyspace as a command sees it: reads see the store and the
//! command's (or transaction's) own writes; writes gather in one batch that
//! [`Ctx::apply`] hands to the store's group commit when the command (or the
//! whole EXEC) has succeeded, so a command is atomic, and so is a
//! transaction. Expired values read as absent everywhere.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::cmp::Ordering;

use kv::{value, Entry};
use lsm::db::WriteBatch;
use lsm::iter::KvIter;

use crate::ctx::{CmdError, Ctx};

/// Keys visited between two looks at Ctrl-C during a scan.
const SCAN_CHECK_EVERY: usize = 256;

/// What a scan calls for each live key and its value: false stops it.
pub(crate) type Visit<'v> = dyn FnMut(&[u8], &Entry) -> Result<bool, CmdError> + 'v;

/// Writes not applied yet.
#[derive(Default)]
pub(crate) struct Pending {
    /// Every write in order (`None`: a deletion), so that a failed command
    /// of a transaction can take back its own.
    ops: Vec<(Vec<u8>, Option<Entry>)>,
    /// What the writes leave each key holding.
    overlay: BTreeMap<Vec<u8>, Option<Entry>>,
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
        let mut server = self.server.lock();
        if found.is_some() {
            server.stats.keyspace_hits += 1;
        } else {
            server.stats.keyspace_misses += 1;
        }
        Ok(found)
    }

    /// [`Ctx::read`] without counting a keyspace hit or miss: what a
    /// command that writes the key looks at first (Redis's
    /// `lookupKeyWrite`: RENAME's source, COPY's target).
    pub(crate) fn read_for_write(&self, key: &[u8]) -> Result<Option<Entry>, CmdError> {
        Ok(match self.pending.overlay.get(key) {
            Some(e) => e.clone().filter(|e| !e.is_expired(self.now_ms())),
            None => self.store()?.get_at(key, self.now_ms())?,
        })
    }

    /// Whether this command (or transaction) has written `key` so far.
    pub(crate) fn has_written(&self, key: &[u8]) -> bool {
        self.pending.overlay.contains_key(key)
    }

    /// Whether `key` holds something (not counted as a hit or a miss).
    pub(crate) fn exists(&self, key: &[u8]) -> Result<bool, CmdError> {
        Ok(match self.pending.overlay.get(key) {
            Some(e) => e.as_ref().is_some_and(|e| !e.is_expired(self.now_ms())),
            None => self.store()?.get_at(key, self.now_ms())?.is_some(),
        })
    }

    /// Sets `key` to `entry` when the command succeeds.
    pub(crate) fn write(&mut self, key: &[u8], entry: Entry) {
        self.pending.ops.push((key.to_vec(), Some(entry.clone())));
        self.pending.overlay.insert(key.to_vec(), Some(entry));
    }

    /// Deletes `key` when the command succeeds.
    pub(crate) fn remove(&mut self, key: &[u8]) {
        self.pending.ops.push((key.to_vec(), None));
        self.pending.overlay.insert(key.to_vec(), None);
    }

    /// How many writes are gathered (a mark for [`Ctx::truncate_pending`]).
    pub(crate) fn pending_len(&self) -> usize {
        self.pending.ops.len()
    }

    /// Takes back the writes after the first `len`.
    pub(crate) fn truncate_pending(&mut self, len: usize) {
        if len >= self.pending.ops.len() {
            return;
        }
        self.pending.ops.truncate(len);
        self.pending.overlay = self.pending.ops.iter().cloned().collect();
    }

    /// Hands the writes gathered so far to the store, as one batch joining
    /// the group commit; the reply then waits for it. Transactions watching
    /// the keys will abort.
    pub(crate) fn apply(&mut self) -> Result<(), CmdError> {
        if self.pending.ops.is_empty() {
            return Ok(());
        }
        let pending = core::mem::take(&mut self.pending);
        let mut batch = WriteBatch::new();
        for (key, entry) in &pending.overlay {
            match entry {
                Some(e) => batch.put(key, &e.encode()),
                None => batch.delete(key),
            }
        }
        let ticket = self.store()?.write_deferred(batch)?;
        self.wait_for = Some(ticket);
        let mut server = self.server.lock();
        if !server.watched.is_empty() {
            for key in pending.overlay.keys() {
                server.touch(key);
            }
        }
        Ok(())
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
        let mut overlay = self.pending.overlay.range(start.to_vec()..).peekable();
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
                (true, Some((k, _))) => it.key().cmp(k.as_slice()),
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

//! The caller's stop hook for long operations (`COMPACT`, and the flushes
//! and compactions it runs): asked only at points where stopping leaves the
//! store as its last commit left it, often enough that a console's Ctrl-C
//! gets control back within a moment even when one compaction slice takes
//! many seconds (a large disk under emulation).

use crate::error::{Error, Result};

/// Entries merged or written between two questions.
const EVERY_ENTRIES: u32 = 256;
/// Bytes merged or written between two questions, for large values.
const EVERY_BYTES: usize = 1 << 20;

/// A stop hook and what went by since it was last asked.
pub(super) struct Stop<'a> {
    hook: Option<&'a mut dyn FnMut() -> bool>,
    entries: u32,
    bytes: usize,
}

impl<'a> Stop<'a> {
    /// Asks `hook`, which says `true` to stop.
    pub fn new(hook: &'a mut dyn FnMut() -> bool) -> Self {
        Self {
            hook: Some(hook),
            entries: 0,
            bytes: 0,
        }
    }

    /// Never stops (the store's own maintenance, recovery).
    pub fn never() -> Stop<'static> {
        Stop {
            hook: None,
            entries: 0,
            bytes: 0,
        }
    }

    /// Asks the hook now: [`Error::Interrupted`] if it says stop.
    pub fn check(&mut self) -> Result<()> {
        self.entries = 0;
        self.bytes = 0;
        if self.hook.as_mut().is_some_and(|hook| hook()) {
            Err(Error::Interrupted)
        } else {
            Ok(())
        }
    }

    /// Counts an entry of `bytes` bytes, and asks the hook once
    /// [`EVERY_ENTRIES`] entries or [`EVERY_BYTES`] bytes went by.
    #[inline]
    pub fn entry(&mut self, bytes: usize) -> Result<()> {
        self.entries += 1;
        self.bytes = self.bytes.saturating_add(bytes);
        if self.entries >= EVERY_ENTRIES || self.bytes >= EVERY_BYTES {
            self.check()
        } else {
            Ok(())
        }
    }
}

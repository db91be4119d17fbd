//! Compaction filters (RocksDB's CompactionFilter): the owner of the store
//! tells compactions which values are dead although nothing deleted them,
//! such as keys whose expiry time has passed, so that their space comes back
//! without a write per key.
//!
//! A filtered value is not just dropped: an older version of the same key
//! in a deeper level would show through. It becomes a deletion, which the
//! usual rules then drop once no deeper level can hold the key.

use alloc::sync::Arc;

use super::Db;
use crate::device::BlockDevice;

/// Decides, during compactions, which values are dead.
pub trait CompactionFilter {
    /// Whether the newest value of `key` is dead and may go. Called only
    /// for values every snapshot sees as the newest.
    fn is_dead(&self, key: &[u8], value: &[u8]) -> bool;
}

impl<D: BlockDevice> Db<D> {
    /// Sets (or removes) the filter compactions ask about each value.
    pub fn set_compaction_filter(
        &mut self,
        filter: Option<Arc<dyn CompactionFilter + Send + Sync>>,
    ) {
        // Jobs take it from the shared state when they start.
        self.sh.state.lock().filter = filter;
    }
}

//! # kv: the store as a service every session calls
//!
//! The kernel's `kv` service mounts the disk and hands the store to this
//! crate's [`Store`]; from then on every front end (the serial console,
//! network connections) reaches the store through it, and so gets the
//! store's promises without keeping them itself:
//!
//! - **Group commit.** [`Store::write_deferred`] applies a write at once and
//!   returns a [`Ticket`]; [`Store::commit`] makes every write so far
//!   durable with one WAL flush, or [`Store::begin_commit`] takes that
//!   flush out of the store to run without its lock. A session holds a write's `OK` until its
//!   ticket is durable, so writes that arrive together, from one session or
//!   many, share one flush, and no `OK` is ever given for a write a power
//!   cut could lose.
//! - **The sync=0 write-out deadline.** Writes made with
//!   [`Store::write_buffered`] (benchmarks with `sync=0`) wait in memory at
//!   most [`WAL_WRITEOUT_US`]; [`Store::tick`] writes them out.
//! - **The scan trace.** Scans go through [`Store::scan`], which tells the
//!   trace recorder before the scan's blocks are read.
//! - **The read cache.** [`Store::set_cache`] puts a cache under the store
//!   (with the trace recorder in front of it while `DEBUG TRACE` records).
//!
//! Time comes from a [`Clock`] the owner gives (the generic timer in the
//! kernel, a fake one in tests), so all of this is tested on the host.
//!
//! ```text
//!   sessions ──► cmd (handlers) ──► kv::Store ──► lsm::Db ──► BlockDevice
//!                                        └──► [cache::trace::Traced, recording] ──► cache::StoreCache
//! ```

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

mod store;
pub mod value;

pub use store::{
    bad_value, BeginCommit, Clock, Commit, CommitDone, CommitFlight, CommitJob, Disk, Store,
    StoreCell, StoreCellGuard, StoreCellReadGuard, Ticket, WAL_WRITEOUT_US,
};
pub use value::{Entry, Kind};
#[cfg(test)]
mod sync_check {
    fn is_sync<T: Sync>() {}
    #[test]
    fn store_is_sync() {
        is_sync::<crate::Store>();
    }
}

//! The counters every policy keeps, in one shape so they can be compared.

/// Counters and usage of one cache (or of one part of an AC-Key cache).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Lookups that found their entry resident.
    pub hits: u64,
    /// Lookups that did not.
    pub misses: u64,
    /// Entries admitted (overwrites included).
    pub inserts: u64,
    /// Entries pushed out to make room (not deletes or invalidations).
    pub evictions: u64,
    /// Bytes charged by resident entries.
    pub used_bytes: u64,
    /// The byte budget.
    pub capacity_bytes: u64,
    /// Disk reads the hits avoided: one per hit for a plain cache; for AC-Key
    /// the reads each entry's lookup made below the memtable.
    pub disk_reads_saved: u64,
    /// Resident entries.
    pub entries: u64,
    /// Ghost (history-only) entries.
    pub ghost_entries: u64,
}

impl Stats {
    /// Hits over lookups, 0 before the first lookup.
    pub fn hit_ratio(&self) -> f64 {
        let total = self.hits + self.misses;
        if total == 0 {
            0.0
        } else {
            self.hits as f64 / total as f64
        }
    }
}

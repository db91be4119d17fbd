//! Ghosts and adaptation: remembering what the parts gave up, and moving the
//! targets when an insert finds its key among the ghosts.
//!
//! Two ARC-like levels. Upper: a ghost-KV or ghost-KP hit grows the point
//! target, a ghost-block hit shrinks it (taking from KV and KP in proportion
//! to their sizes). Lower: KP plays ARC's T1 and KV its T2; a ghost-KP hit
//! grows KP's target, a ghost-KV hit KV's.
//!
//! A hit moves a boundary by `k * E * ratio` bytes with `k = s / E_ghost`
//! (`s` the ghost's charge, `E_ghost` the reads over the bytes of all ghosts
//! together), which is `b / E_ghost`: an entry worth what the margin is worth
//! per byte moves the boundary by its own size, as byte-weighted ARC does,
//! and one worth twice as much per byte moves it twice as far. Every ghost
//! hit thus counts the reads it would have saved, whatever the entry's size.
//! The unit is the ghosts' E rather than the residents' because ghosts come
//! and go, while a resident block's `b` grows with every hit for as long as it
//! stays: the residents' E grows with the cache's age and would shrink every
//! step with it. `kernel/cache/doc/ackey.md` has the measurements behind
//! these rules and the step's cap.

use core::hash::Hash;

use super::{AcKey, GhostHit, Part, FRAC, ONE};

/// One ghost hit moves a boundary by at most this fraction of the capacity:
/// a hit is one lookup's evidence, however much its entry saved before it
/// went, and a block that served many lookups would otherwise swing the
/// split at a stroke.
const MAX_STEP_DIVISOR: u32 = 64;

impl<K, V, P, H, B> AcKey<K, V, P, H, B>
where
    K: Hash + Eq + Clone,
    H: Hash + Eq + Clone,
{
    /// Looks for `key`'s ghost in the lists of `a` and `b`, adapting the targets
    /// (before the entry becomes resident) and forgetting the ghost.
    pub(super) fn take_ghost<T: Hash>(&mut self, key: &T, a: Part, b: Part) -> GhostHit {
        if !self.ghosts_on {
            return GhostHit::None;
        }
        let h = self.hash(key);
        for part in [a, b] {
            let list = &self.ghosts[part.idx()];
            if let Some(slot) = list.find(&h) {
                let (charge, saves) = (list.node(slot).charge, list.node(slot).value);
                self.adapt(part, charge, saves);
                self.drop_ghost(part, slot);
                self.ghost_hits[part.idx()] += 1;
                return match part {
                    Part::Kv => GhostHit::Kv,
                    Part::Kp => GhostHit::Kp,
                    Part::Block => GhostHit::Block,
                };
            }
        }
        GhostHit::None
    }

    /// `k * E * ratio` in fixed-point bytes (see the module docs for `k`);
    /// `ratio` is ARC's, `other` ghost bytes over `mine`, at least one.
    fn step(&self, charge: u64, saves: u32, mine: u64, other: u64) -> u128 {
        // A ghost whose entry spared nothing (a KP entry while index and
        // filter blocks stay cached) is no evidence for its part.
        if saves == 0 {
            return 0;
        }
        let ratio = if mine == 0 || other <= mine {
            1.0
        } else {
            other as f64 / mine as f64
        };
        // Reads are turned into bytes at the ghosts' E, not the residents'
        // (see the module docs: the residents' grows with the cache's age).
        let bytes: u64 = self.ghosts.iter().map(|g| g.bytes(0)).sum();
        let saved: u64 = self.ghost_saved.iter().sum();
        let charge = charge.max(1) as f64;
        let natural = if bytes == 0 || saved == 0 {
            // Nothing to compare with yet: byte-weighted ARC's step.
            charge
        } else {
            let e = f64::from(saves) / charge;
            let e_margin = saved as f64 / bytes as f64;
            charge * e / e_margin
        };
        // One hit is one lookup's evidence (see MAX_STEP_DIVISOR).
        let cap = self.capacity as f64 / f64::from(MAX_STEP_DIVISOR);
        let step = (natural * ratio * self.config.step_scale).clamp(0.0, cap);
        (step * ONE as f64) as u128
    }

    fn adapt(&mut self, part: Part, charge: u64, saves: u32) {
        let cap = u128::from(self.capacity) << FRAC;
        let g = |p: Part| self.ghosts[p.idx()].bytes(0);
        match part {
            Part::Kv | Part::Kp => {
                // No ARC ratio at this level: its ghost lists hold entries
                // 100-500 times apart in size (a KP ghost of tens of bytes, a
                // filter block of tens of kilobytes), so a few point ghosts
                // against a few block ghosts would make the ratio hundreds and
                // one hit would swing the whole budget. Between KV and KP,
                // alike in size, ARC's ratio does what it does in ARC.
                let up = self.step(charge, saves, 1, 1);
                let point = self.point_target.min(cap);
                let block_used = u128::from(self.used(Part::Block)) << FRAC;
                self.point_target = cap - self.lower(Part::Block, cap - point, up, block_used);
                if part == Part::Kv {
                    let d = self.step(charge, saves, g(Part::Kv), g(Part::Kp));
                    self.kv_target = (self.kv_target + d).min(self.point_target);
                } else {
                    let d = self.step(charge, saves, g(Part::Kp), g(Part::Kv));
                    self.kv_target = self.kv_target.saturating_sub(d);
                }
            }
            Part::Block => {
                // 1 against 1, as for the point ghosts above.
                let d = self.step(charge, saves, 1, 1);
                let point = self.point_target.min(cap);
                let point_used = u128::from(self.used(Part::Kv) + self.used(Part::Kp)) << FRAC;
                let d = point - self.lower(Part::Kv, point, d, point_used);
                let (kv, kp) = (
                    u128::from(self.used(Part::Kv)),
                    u128::from(self.used(Part::Kp)),
                );
                // Shrink KV and KP in proportion to their sizes (or, both being
                // empty, to their targets).
                let from_kv = (d * kv)
                    .checked_div(kv + kp)
                    .or_else(|| {
                        (d * self.kv_target.min(self.point_target)).checked_div(self.point_target)
                    })
                    .unwrap_or(0);
                self.point_target = point - d;
                self.kv_target = self
                    .kv_target
                    .saturating_sub(from_kv)
                    .min(self.point_target);
            }
        }
    }

    /// `side`'s `target` lowered by `step` for a ghost hit of the other
    /// side, `used` being what `side` holds.
    ///
    /// While `side` is filling its target for the first time, not at all: it
    /// has had no evictions, so no ghosts of its own to argue for its room,
    /// and the other side's ghosts are of entries lost from room it borrowed.
    /// The block ghosts of a cold cache whose point side was still filling
    /// took the point target of a 2 MiB cache from half the budget to 7%
    /// within 10,000 lookups of ycsb-c, and it then had to earn its way back
    /// one ghost hit at a time. Afterwards, a hit that finds `side` under its
    /// target takes only the room `side` leaves unused: what it holds is
    /// taken by the next hit, once it is at its target.
    /// `kernel/cache/doc/ackey.md` has the measurements.
    fn lower(&self, side: Part, target: u128, step: u128, used: u128) -> u128 {
        let lowered = target.saturating_sub(step);
        if used >= target {
            lowered
        } else if self.filling[super::side(side)] {
            target
        } else {
            lowered.max(used)
        }
    }

    /// Remembers an entry `part` evicted: the hash of its key, its charge and
    /// the reads a hit on it would have saved.
    pub(super) fn remember(&mut self, part: Part, key_hash: u32, charge: u64, saves: u32) {
        if let Some(old) = self.ghosts[part.idx()].find(&key_hash) {
            self.drop_ghost(part, old);
        }
        self.ghosts[part.idx()].push_mru(0, key_hash, saves, charge);
        self.ghost_saved[part.idx()] += u64::from(saves);
        self.bound_ghosts();
    }

    /// Ghosts together are charged at most the capacity (ARC's 2c directory);
    /// the largest ghost list gives way first.
    pub(super) fn bound_ghosts(&mut self) {
        loop {
            let total: u64 = self.ghosts.iter().map(|g| g.bytes(0)).sum();
            if total <= self.capacity {
                break;
            }
            let Some(big) = Part::ALL
                .into_iter()
                .max_by_key(|&p| self.ghosts[p.idx()].bytes(0))
            else {
                break;
            };
            let Some(slot) = self.ghosts[big.idx()].lru(0) else {
                break;
            };
            self.drop_ghost(big, slot);
        }
    }

    fn drop_ghost(&mut self, part: Part, slot: u32) {
        let n = self.ghosts[part.idx()].remove(slot);
        self.ghost_saved[part.idx()] -= u64::from(n.value);
    }

    pub(super) fn clear_ghosts(&mut self) {
        for g in &mut self.ghosts {
            g.clear();
        }
        self.ghost_saved = [0; 3];
    }
}

//! Making room: which part gives way when an insert needs bytes, and which of
//! its entries goes.
//!
//! The part that gives way is the one furthest over its target, so the
//! targets the adaptation sets are what the parts converge to. Inside a part,
//! E-LRU: among the `a` least recently used entries the one with the lowest E
//! goes, `a = e^v` with `v` the standard deviation of the normalized E of a
//! sample at the LRU end. The more the entries' worth differs, the further
//! from the LRU end a cheap one may be taken; with equal E it is plain LRU.

use core::hash::Hash;

use super::{block_saves, kp_saves, side, AcKey, Part, Priority, FRAC};
use crate::list::Lists;

impl<K, V, P, H, B> AcKey<K, V, P, H, B>
where
    K: Hash + Eq + Clone,
    H: Hash + Eq + Clone,
{
    /// Evicts until `extra` more bytes for `into` fit in the capacity.
    pub(super) fn make_room(&mut self, extra: u64, into: Part) {
        while self.used_total() + extra > self.capacity {
            let Some(victim) = self.victim(extra, into) else {
                break;
            };
            self.evict_one(victim);
        }
    }

    /// The non-empty part furthest over its target, counting `extra` as `into`'s.
    fn victim(&self, extra: u64, into: Part) -> Option<Part> {
        Part::ALL
            .into_iter()
            .filter(|&p| self.len(p) > 0)
            .max_by_key(|&p| {
                let used = u128::from(self.used(p) + if p == into { extra } else { 0 }) << FRAC;
                // Order by how far over target, as a signed quantity.
                let t = self.target(p);
                if used >= t {
                    (1u8, used - t)
                } else {
                    (0u8, u128::MAX - (t - used))
                }
            })
    }

    fn evict_one(&mut self, part: Part) {
        let (key_hash, charge, saves) = match part {
            Part::Kv => {
                let slot = elru_pick(&self.kv, 0, self.config.elru_sample, |p| u64::from(p.reads));
                let n = self.kv.remove(slot);
                let saves = n.value.reads;
                (self.hash(&n.key), n.charge, saves)
            }
            Part::Kp => {
                let slot = elru_pick(&self.kp, 0, self.config.elru_sample, |p| {
                    u64::from(kp_saves(p.reads))
                });
                let n = self.kp.remove(slot);
                let saves = kp_saves(n.value.reads);
                (self.hash(&n.key), n.charge, saves)
            }
            Part::Block => {
                // Data blocks go first (see `Priority`).
                let list = if self.blocks.len(Priority::Low.list()) > 0 {
                    Priority::Low
                } else {
                    Priority::High
                };
                let slot = elru_pick(&self.blocks, list.list(), self.config.elru_sample, |p| {
                    u64::from(block_saves(p.reads))
                });
                let n = self.blocks.remove(slot);
                let saves = block_saves(n.value.reads);
                (self.hash(&n.key), n.charge, saves)
            }
        };
        self.stats[part.idx()].evictions += 1;
        self.filling[side(part)] = false;
        if self.ghosts_on {
            self.remember(part, key_hash, charge, saves);
        }
    }
}

/// E-LRU: among the `a` least recently used entries of list `which` of
/// `lists`, the slot with the lowest `saves / charge`, `a = e^v` with `v` the
/// standard deviation of the normalized E of the `sample` entries at the LRU
/// end.
fn elru_pick<K: Hash + Eq + Clone, T, const N: usize>(
    lists: &Lists<K, T, N>,
    which: usize,
    sample: usize,
    saves: impl Fn(&T) -> u64,
) -> u32 {
    let mut window = [(0u32, 0f64); 64];
    let want = sample.clamp(1, window.len());
    let mut n = 0;
    let mut cur = lists.lru(which);
    while let Some(slot) = cur {
        if n == want {
            break;
        }
        let node = lists.node(slot);
        window[n] = (slot, saves(&node.value) as f64 / node.charge.max(1) as f64);
        n += 1;
        cur = lists.more_recent(slot);
    }
    let window = &window[..n];
    let mean = window.iter().map(|w| w.1).sum::<f64>() / n as f64;
    let a = if mean > 0.0 {
        let var = window
            .iter()
            .map(|w| {
                let d = w.1 / mean - 1.0;
                d * d
            })
            .sum::<f64>()
            / n as f64;
        let a = libm::exp(libm::sqrt(var));
        (a + 0.5) as usize
    } else {
        1
    }
    .clamp(1, n);
    let mut best = window[0];
    for &w in &window[1..a] {
        if w.1 < best.1 {
            best = w;
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::elru_pick;
    use crate::list::Lists;

    /// A list whose LRU end holds `charges[0]`, each entry saving one read.
    fn list(charges: &[u64]) -> Lists<u32, u64, 1> {
        let mut l = Lists::new();
        for (k, &c) in charges.iter().enumerate() {
            l.push_mru(0, k as u32, 1, c);
        }
        l
    }

    fn picked(l: &Lists<u32, u64, 1>, sample: usize) -> u32 {
        l.node(elru_pick(l, 0, sample, |&s| s)).key
    }

    #[test]
    fn the_cheapest_within_a_goes() {
        // E = 1/10, 1/1000, 1/10, 1/10: mean 0.07525, normalized deviations
        // 0.329, -0.987, 0.329, 0.329, so v = 0.570 and a = round(e^v) = 2:
        // the second entry, worth a hundredth per byte of the others, goes.
        let l = list(&[10, 1000, 10, 10]);
        assert_eq!(picked(&l, 16), 1);
        // A sample of one is LRU whatever the worth.
        assert_eq!(picked(&l, 1), 0);
    }

    #[test]
    fn a_bounds_how_far_from_the_lru_end_it_looks() {
        // The same four worths as above, the cheap one last: a = 2 does not
        // reach it, and of the two oldest (equal) the older goes.
        let l = list(&[10, 10, 10, 1000]);
        assert_eq!(picked(&l, 16), 0);
        // Two cheap ones: v = 0.980, a = round(e^v) = 3, which reaches the
        // first of them. A sample of two sees only the equal pair.
        let l = list(&[10, 10, 1000, 1000]);
        assert_eq!(picked(&l, 16), 2);
        assert_eq!(picked(&l, 2), 0);
    }
}

//! Measurement windows: the hit ratio and the kinds of lookup over each
//! window, which switch ghost tracking off while the workload holds and back
//! on when it moves.
//!
//! Tracking ghosts costs memory and moves the targets on every ghost hit; once
//! the split has found its place they only add noise. Tracking stops when
//! both the hit ratio *and* the split are steady: the hit ratio changes slowly
//! while the split is still converging, so the hit ratio alone would freeze a
//! split that is still on its way. It restarts when the workload moves: the
//! hit ratio moves away from where it was when tracking stopped, *or* a kind
//! of lookup (point or block) starts or stops. A scan phase can leave a block
//! cache that hits as often when point lookups return as during the scans, so
//! the hit ratio alone would miss the change and leave the point side as the
//! scans left it. `kernel/cache/doc/ackey.md` has the measurements.

use core::hash::Hash;

use super::{AcKey, Part, FRAC};

/// Which of a window's counters a lookup goes to.
#[derive(Clone, Copy)]
pub(super) enum Lookup {
    Point = 0,
    Block = 1,
}

/// What one measurement window saw.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Window {
    /// Hits over lookups, point and block together.
    hit_ratio: f64,
    /// Whether point lookups, and block lookups, were each at least a
    /// sixteenth of the window's: the kinds of request the workload makes.
    kinds: [bool; 2],
}

impl Window {
    /// Nothing seen yet: what tracking compares with before it first stops.
    pub(super) const NONE: Window = Window {
        hit_ratio: 0.0,
        kinds: [false; 2],
    };

    fn of(lookups: [u64; 2], hits: [u64; 2]) -> Self {
        let total = lookups[0] + lookups[1];
        Window {
            hit_ratio: (hits[0] + hits[1]) as f64 / total.max(1) as f64,
            kinds: lookups.map(|n| n > 0 && n * 16 >= total),
        }
    }

    /// Whether the workload looks the same as in `other`: the same kinds of
    /// lookup, and a hit ratio within `band` (relative) of `other`'s.
    fn like(&self, other: &Window, band: f64) -> bool {
        self.kinds == other.kinds
            && (self.hit_ratio - other.hit_ratio).abs() <= band * other.hit_ratio.max(1e-9)
    }
}

impl<K, V, P, H, B> AcKey<K, V, P, H, B>
where
    K: Hash + Eq + Clone,
    H: Hash + Eq + Clone,
{
    pub(super) fn count_hit(&mut self, part: Part, saved: u64) {
        let s = &mut self.stats[part.idx()];
        s.hits += 1;
        s.disk_reads_saved += saved;
        let kind = match part {
            Part::Kv | Part::Kp => Lookup::Point,
            Part::Block => Lookup::Block,
        };
        self.window_hits[kind as usize] += 1;
        self.tick(kind);
    }

    pub(super) fn count_miss(&mut self, kind: Lookup) {
        self.tick(kind);
    }

    /// Closes a measurement window every `config.window` lookups and switches
    /// ghost tracking off while the workload holds, back on when it moves.
    fn tick(&mut self, kind: Lookup) {
        self.window_lookups[kind as usize] += 1;
        let total = self.window_lookups[0] + self.window_lookups[1];
        if !self.config.adapt || total < self.config.window.max(1) {
            return;
        }
        let window = Window::of(self.window_lookups, self.window_hits);
        self.window_lookups = [0; 2];
        self.window_hits = [0; 2];
        let band = f64::from(self.config.steady_permille) / 1000.0;
        // The split is steady when the point target moved by no more than the
        // same band (relative to the smaller side) since the last window and,
        // while the point side is still filling, neither did what it holds:
        // its target cannot move then (see `adapt`), so that it stood still
        // says nothing. On ycsb-c at 2 MiB tracking used to stop with the
        // target still climbing by some 2% a window, and froze it there.
        let cap = u128::from(self.capacity) << FRAC;
        let point = [
            self.point_target.min(cap),
            u128::from(self.used(Part::Kv) + self.used(Part::Kp)) << FRAC,
        ];
        let steady = |i: usize| {
            let smaller = point[i].min(cap - point[i]);
            point[i].abs_diff(self.last_point[i]) as f64 <= band * smaller as f64
        };
        let split_steady = steady(0) && (!self.filling[0] || steady(1));
        self.last_point = point;
        // A side that held no more at this window's end than at the last
        // one's has filled what the workload brings it (an eviction from it
        // ends its filling too): from now on the other side's ghosts may take
        // its room. Without this, a point side whose target the lookups never
        // fill would keep it through a phase of scans.
        let used = [
            self.used(Part::Kv) + self.used(Part::Kp),
            self.used(Part::Block),
        ];
        for ((filling, now), last) in self.filling.iter_mut().zip(used).zip(self.last_used) {
            *filling &= now > last;
        }
        self.last_used = used;
        if self.ghosts_on {
            match &self.last_window {
                Some(last) if window.like(last, band) && split_steady => self.steady_run += 1,
                _ => self.steady_run = 0,
            }
            if self.steady_run >= self.config.steady_windows {
                self.ghosts_on = false;
                self.reference = window;
                self.clear_ghosts();
            }
        } else if !window.like(&self.reference, band) {
            self.ghosts_on = true;
            self.steady_run = 0;
        }
        self.last_window = Some(window);
    }
}

//! ARC against a plain reference model: the paper's pseudocode over four
//! `VecDeque`s, O(n) per request and obviously right. After every operation
//! the lists, their order, the target `p` and the hit/miss answer must agree,
//! and the paper's invariants must hold.

use std::collections::VecDeque;

use cache::{ArcCache, Cache};
use proptest::prelude::*;

/// The same fixed point as the implementation: the model checks the algorithm,
/// not a different rounding of `p`.
const FRAC: u32 = cache::arc::P_FRAC_BITS;
const ONE: u128 = 1 << FRAC;

/// Front = MRU, back = LRU.
#[derive(Default)]
struct Model {
    c: usize,
    p: u128,
    t1: VecDeque<u64>,
    t2: VecDeque<u64>,
    b1: VecDeque<u64>,
    b2: VecDeque<u64>,
}

fn take(list: &mut VecDeque<u64>, x: u64) -> bool {
    match list.iter().position(|&k| k == x) {
        Some(i) => {
            list.remove(i);
            true
        }
        None => false,
    }
}

impl Model {
    fn new(c: usize) -> Self {
        Model {
            c,
            ..Model::default()
        }
    }

    fn full(&self) -> bool {
        self.t1.len() + self.t2.len() >= self.c
    }

    fn replace(&mut self, from_b2: bool) {
        let t1 = (self.t1.len() as u128) << FRAC;
        if !self.t1.is_empty() && (t1 > self.p || (from_b2 && t1 == self.p)) {
            let v = self.t1.pop_back().unwrap();
            self.b1.push_front(v);
        } else {
            let v = self.t2.pop_back().unwrap();
            self.b2.push_front(v);
        }
    }

    /// One request; returns whether it hit.
    fn request(&mut self, x: u64) -> bool {
        if take(&mut self.t1, x) || take(&mut self.t2, x) {
            self.t2.push_front(x);
            return true;
        }
        let (b1, b2) = (self.b1.len() as u128, self.b2.len() as u128);
        if self.b1.contains(&x) {
            let d = if b1 >= b2 { ONE } else { (b2 << FRAC) / b1 };
            self.p = (self.p + d).min((self.c as u128) << FRAC);
            // Deletes can leave the cache short while ghosts remain; REPLACE
            // is only needed (and in the paper only reached) when it is full.
            if self.full() {
                self.replace(false);
            }
            take(&mut self.b1, x);
            self.t2.push_front(x);
            return false;
        }
        if self.b2.contains(&x) {
            let d = if b2 >= b1 { ONE } else { (b1 << FRAC) / b2 };
            self.p = self.p.saturating_sub(d);
            if self.full() {
                self.replace(true);
            }
            take(&mut self.b2, x);
            self.t2.push_front(x);
            return false;
        }
        let total = self.t1.len() + self.t2.len() + self.b1.len() + self.b2.len();
        if self.t1.len() + self.b1.len() == self.c {
            if self.t1.len() < self.c {
                self.b1.pop_back();
                if self.full() {
                    self.replace(false);
                }
            } else {
                self.t1.pop_back();
            }
        } else if total >= self.c {
            if total == 2 * self.c {
                self.b2.pop_back();
            }
            if self.full() {
                self.replace(false);
            }
        }
        self.t1.push_front(x);
        false
    }

    fn delete(&mut self, x: u64) {
        let _ = take(&mut self.t1, x)
            || take(&mut self.t2, x)
            || take(&mut self.b1, x)
            || take(&mut self.b2, x);
    }

    fn lists(&self) -> [Vec<u64>; 4] {
        [&self.t1, &self.t2, &self.b1, &self.b2].map(|l| l.iter().copied().collect())
    }
}

#[derive(Clone, Debug)]
enum Op {
    Access(u64),
    Delete(u64),
}

fn check_invariants(arc: &ArcCache<u64, u64>, c: usize, deletes_seen: bool) {
    let [t1, t2, b1, b2] = arc.lists_mru_to_lru();
    let (t1, t2, b1, b2) = (t1.len(), t2.len(), b1.len(), b2.len());
    assert!(t1 + t2 <= c, "|T1|+|T2| = {} > c = {c}", t1 + t2);
    assert!(t1 + b1 <= c, "|T1|+|B1| = {} > c = {c}", t1 + b1);
    assert!(t1 + t2 + b1 + b2 <= 2 * c, "directory over 2c");
    let mut all: Vec<u64> = arc.lists_mru_to_lru().concat();
    let n = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), n, "lists are not disjoint");
    assert!(arc.target_t1_fixed() <= (c as u128) << FRAC, "p over c");
    if !deletes_seen && t1 + t2 + b1 + b2 >= c {
        assert_eq!(
            t1 + t2,
            c,
            "directory holds c keys but the cache is not full"
        );
    }
    let shape = arc.shape();
    assert_eq!(shape.t1 as usize, t1, "unit charges: bytes equal lengths");
    assert_eq!(arc.stats().used_bytes as usize, t1 + t2);
}

fn run(c: usize, ops: &[Op]) {
    let mut arc: ArcCache<u64, u64> = ArcCache::new(c as u64);
    let mut model = Model::new(c);
    let mut deletes_seen = false;
    for (i, op) in ops.iter().enumerate() {
        match *op {
            Op::Access(x) => {
                let want = model.request(x);
                let got = arc.access(x, x * 10, 1);
                assert_eq!(got, want, "op {i}: hit/miss differs for {x}");
            }
            Op::Delete(x) => {
                deletes_seen = true;
                model.delete(x);
                Cache::remove(&mut arc, &x);
            }
        }
        assert_eq!(
            arc.lists_mru_to_lru(),
            model.lists(),
            "op {i} ({op:?}): lists differ"
        );
        assert_eq!(arc.target_t1_fixed(), model.p, "op {i}: p differs");
        check_invariants(&arc, c, deletes_seen);
    }
}

fn ops(keys: u64, deletes: bool) -> impl Strategy<Value = Vec<Op>> {
    let access = (0..keys).prop_map(Op::Access);
    let op = if deletes {
        prop_oneof![9 => access, 1 => (0..keys).prop_map(Op::Delete)].boxed()
    } else {
        access.boxed()
    };
    prop::collection::vec(op, 0..400)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arc_matches_the_reference_model((c, ops) in (1usize..12).prop_flat_map(|c| (Just(c), ops(3 * c as u64 + 2, false)))) {
        run(c, &ops);
    }

    #[test]
    fn arc_matches_the_reference_model_with_deletes((c, ops) in (1usize..12).prop_flat_map(|c| (Just(c), ops(3 * c as u64 + 2, true)))) {
        run(c, &ops);
    }
}

#[test]
fn scan_resistance_keeps_the_frequent_set() {
    // A hot set seen twice lives in T2; a long one-time scan must not flush it.
    let mut arc: ArcCache<u64, ()> = ArcCache::new(100);
    for _ in 0..2 {
        for k in 0..50 {
            arc.access(k, (), 1);
        }
    }
    for k in 1000..10_000 {
        arc.access(k, (), 1);
    }
    let hot_hits = (0..50).filter(|k| arc.contains(k)).count();
    assert_eq!(hot_hits, 50, "the scan evicted the hot set");
}

#[test]
fn a_long_deterministic_run_matches_the_model() {
    // A skewed stream exercises long runs of ghost hits on both sides.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let ops: Vec<Op> = (0..20_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let r = x % 1000;
            Op::Access(if r < 700 { r % 40 } else { r })
        })
        .collect();
    run(32, &ops);
}

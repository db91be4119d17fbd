//! db_bench's block cache.

use lsm::db::BlockCache;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex};

/// A CLOCK block cache charged by block bytes (cheap enough not to hide the
/// engine's own costs in a profile).
pub struct ClockCache {
    budget: usize,
    inner: Mutex<ClockInner>,
}

#[derive(Default)]
struct ClockInner {
    map: HashMap<(u64, u64), usize, BuildHasherDefault<Fx>>,
    slots: Vec<Slot>,
    free: Vec<usize>,
    hand: usize,
    bytes: usize,
}

struct Slot {
    key: (u64, u64),
    block: Option<Arc<[u8]>>,
    referenced: bool,
}

/// FxHash's multiply-rotate, for `(table, offset)` keys.
#[derive(Default)]
struct Fx(u64);

impl Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl ClockCache {
    pub fn new(budget: usize) -> Self {
        Self {
            budget,
            inner: Mutex::new(ClockInner::default()),
        }
    }
}

impl ClockInner {
    /// Frees one slot's block, giving referenced blocks a second chance.
    fn evict_one(&mut self) -> bool {
        if self.slots.is_empty() {
            return false;
        }
        for _ in 0..2 * self.slots.len() + 1 {
            let i = self.hand;
            self.hand = (self.hand + 1) % self.slots.len();
            let s = &mut self.slots[i];
            if s.block.is_none() {
                continue;
            }
            if s.referenced {
                s.referenced = false;
                continue;
            }
            let b = s.block.take().map_or(0, |b| b.len());
            self.bytes -= b;
            let key = s.key;
            self.map.remove(&key);
            self.free.push(i);
            return true;
        }
        false
    }
}

impl BlockCache for ClockCache {
    fn get(&self, table: u64, offset: u64) -> Option<Arc<[u8]>> {
        let mut g = self.inner.lock().unwrap();
        let &i = g.map.get(&(table, offset))?;
        let s = &mut g.slots[i];
        s.referenced = true;
        s.block.clone()
    }

    fn insert(&self, table: u64, offset: u64, block: Arc<[u8]>) {
        let mut g = self.inner.lock().unwrap();
        if g.map.contains_key(&(table, offset)) {
            return;
        }
        g.bytes += block.len();
        let slot = Slot {
            key: (table, offset),
            block: Some(block),
            referenced: false,
        };
        let i = match g.free.pop() {
            Some(i) => {
                g.slots[i] = slot;
                i
            }
            None => {
                g.slots.push(slot);
                g.slots.len() - 1
            }
        };
        g.map.insert((table, offset), i);
        while g.bytes > self.budget && g.evict_one() {}
    }

    fn erase_table(&self, table: u64) {
        let mut g = self.inner.lock().unwrap();
        let g = &mut *g;
        for s in &mut g.slots {
            if s.key.0 == table {
                if let Some(b) = s.block.take() {
                    g.bytes -= b.len();
                    g.map.remove(&s.key);
                }
            }
        }
        g.free = (0..g.slots.len())
            .filter(|&i| g.slots[i].block.is_none())
            .collect();
    }
}

//! Index-linked LRU lists over one slab of nodes, with a hash map from key to
//! slot: the storage every policy here is built on.
//!
//! Several lists share one slab so that moving an entry between them (T1 to T2,
//! resident to ghost) is a relink, not a reallocation. Links are `u32` slot
//! numbers rather than pointers, which keeps the structure free of `unsafe` and
//! halves the link size on 64-bit targets. Every operation is O(1) except the
//! `retain` scan.

use core::hash::Hash;
use hashbrown::HashMap;

use alloc::vec::Vec;

/// The "no slot" link.
pub(crate) const NIL: u32 = u32::MAX;

/// One entry: its key, an optional payload (ghosts have none) and its charge.
pub(crate) struct Node<K, V> {
    pub key: K,
    pub value: V,
    pub charge: u64,
    prev: u32,
    next: u32,
    list: u8,
}

#[derive(Clone, Copy, Default)]
struct Ends {
    /// Most recently used end.
    head: u32,
    /// Least recently used end.
    tail: u32,
    len: usize,
    bytes: u64,
}

impl Ends {
    const EMPTY: Ends = Ends {
        head: NIL,
        tail: NIL,
        len: 0,
        bytes: 0,
    };
}

/// `N` LRU lists sharing a slab and a key index.
pub(crate) struct Lists<K, V, const N: usize> {
    slots: Vec<Option<Node<K, V>>>,
    free: Vec<u32>,
    index: HashMap<K, u32>,
    ends: [Ends; N],
}

impl<K: Hash + Eq + Clone, V, const N: usize> Lists<K, V, N> {
    pub fn new() -> Self {
        Lists {
            slots: Vec::new(),
            free: Vec::new(),
            index: HashMap::new(),
            ends: [Ends::EMPTY; N],
        }
    }

    pub fn find(&self, key: &K) -> Option<u32> {
        self.index.get(key).copied()
    }

    pub fn node(&self, slot: u32) -> &Node<K, V> {
        self.slots[slot as usize]
            .as_ref()
            .expect("slot linked from a list or the index is occupied")
    }

    pub fn node_mut(&mut self, slot: u32) -> &mut Node<K, V> {
        self.slots[slot as usize]
            .as_mut()
            .expect("slot linked from a list or the index is occupied")
    }

    pub fn list_of(&self, slot: u32) -> usize {
        usize::from(self.node(slot).list)
    }

    pub fn len(&self, list: usize) -> usize {
        self.ends[list].len
    }

    pub fn bytes(&self, list: usize) -> u64 {
        self.ends[list].bytes
    }

    /// The least recently used slot of `list`.
    pub fn lru(&self, list: usize) -> Option<u32> {
        let t = self.ends[list].tail;
        (t != NIL).then_some(t)
    }

    /// The slot one step more recent than `slot` in its list.
    pub fn more_recent(&self, slot: u32) -> Option<u32> {
        let p = self.node(slot).prev;
        (p != NIL).then_some(p)
    }

    /// Inserts a key that is not present at the MRU end of `list`.
    pub fn push_mru(&mut self, list: usize, key: K, value: V, charge: u64) -> u32 {
        debug_assert!(!self.index.contains_key(&key));
        let node = Node {
            key: key.clone(),
            value,
            charge,
            prev: NIL,
            next: NIL,
            list: list as u8,
        };
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = Some(node);
                s
            }
            None => {
                let s = u32::try_from(self.slots.len())
                    .ok()
                    .filter(|&s| s != NIL)
                    .expect("fewer than 2^32 - 1 cache entries");
                self.slots.push(Some(node));
                s
            }
        };
        self.index.insert(key, slot);
        self.link_mru(list, slot);
        slot
    }

    /// Moves `slot` to the MRU end of `list` (which may be its own list).
    pub fn move_to_mru(&mut self, slot: u32, list: usize) {
        self.unlink(slot);
        self.node_mut(slot).list = list as u8;
        self.link_mru(list, slot);
    }

    /// Changes the charge of a linked entry, keeping the list totals right.
    pub fn set_charge(&mut self, slot: u32, charge: u64) {
        let list = self.list_of(slot);
        let old = core::mem::replace(&mut self.node_mut(slot).charge, charge);
        self.ends[list].bytes = self.ends[list].bytes - old + charge;
    }

    /// Unlinks and frees `slot`, returning its node.
    pub fn remove(&mut self, slot: u32) -> Node<K, V> {
        self.unlink(slot);
        let node = self.slots[slot as usize]
            .take()
            .expect("slot linked from a list or the index is occupied");
        self.index.remove(&node.key);
        self.free.push(slot);
        node
    }

    /// Every occupied slot, in slab order (for scans that may remove entries).
    pub fn slots(&self) -> Vec<u32> {
        (0..self.slots.len() as u32)
            .filter(|&s| self.slots[s as usize].is_some())
            .collect()
    }

    pub fn clear(&mut self) {
        self.slots.clear();
        self.free.clear();
        self.index.clear();
        self.ends = [Ends::EMPTY; N];
    }

    #[inline]
    fn link_mru(&mut self, list: usize, slot: u32) {
        let head = self.ends[list].head;
        let charge = {
            let n = self.node_mut(slot);
            n.prev = NIL;
            n.next = head;
            n.charge
        };
        if head != NIL {
            self.node_mut(head).prev = slot;
        } else {
            self.ends[list].tail = slot;
        }
        let e = &mut self.ends[list];
        e.head = slot;
        e.len += 1;
        e.bytes += charge;
    }

    #[inline]
    fn unlink(&mut self, slot: u32) {
        let (prev, next, list, charge) = {
            let n = self.node(slot);
            (n.prev, n.next, usize::from(n.list), n.charge)
        };
        if prev != NIL {
            self.node_mut(prev).next = next;
        } else {
            self.ends[list].head = next;
        }
        if next != NIL {
            self.node_mut(next).prev = prev;
        } else {
            self.ends[list].tail = prev;
        }
        let e = &mut self.ends[list];
        e.len -= 1;
        e.bytes -= charge;
    }
}

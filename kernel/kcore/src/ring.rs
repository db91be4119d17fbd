//! A lock-free single-producer single-consumer byte ring, for bytes that an
//! interrupt handler receives and the main loop consumes (the UART).
//!
//! # Contract
//!
//! At any moment at most one context may be inside [`SpscRing::push`] (the
//! producer, e.g. the UART interrupt handler) and at most one inside
//! [`SpscRing::pop`] (the consumer, e.g. the console loop). The two sides may
//! run concurrently, on the same core (an interrupt preempting the consumer)
//! or on different cores, without locks and without masking interrupts.
//!
//! The contract is checked rather than trusted: each side holds a claim flag
//! while it touches the buffer, so a second producer (or consumer) that
//! overlaps the first is turned away (`push` returns `false`, `pop` returns
//! `None`) instead of racing on a slot. That keeps the `&self` API sound for
//! safe callers at the cost of one atomic swap per call, which is nothing
//! next to a UART byte.
//!
//! # Ordering
//!
//! `head` counts bytes ever pushed and is written only by the producer;
//! `tail` counts bytes ever popped and is written only by the consumer. Both
//! wrap, and `N` is a power of two so that `head - tail` stays exact across
//! the wrap. The producer writes the slot, then publishes it with a Release
//! store of `head`; the consumer's Acquire load of `head` therefore sees the
//! byte. Symmetrically the consumer's Release store of `tail`, seen by the
//! producer's Acquire load, guarantees a slot is read before it is reused.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// A byte ring of `N` bytes, `N` a power of two; see the module docs for the
/// single-producer single-consumer contract.
///
/// ```
/// use kcore::ring::SpscRing;
///
/// static UART_RX: SpscRing<256> = SpscRing::new();
///
/// // In the UART interrupt handler:
/// UART_RX.push(b'k');
/// // In the console loop:
/// assert_eq!(UART_RX.pop(), Some(b'k'));
/// ```
///
/// A size that is not a power of two does not build:
///
/// ```compile_fail
/// static BAD: kcore::ring::SpscRing<100> = kcore::ring::SpscRing::new();
/// ```
pub struct SpscRing<const N: usize> {
    buf: [UnsafeCell<u8>; N],
    head: AtomicUsize,
    tail: AtomicUsize,
    overruns: AtomicUsize,
    producing: AtomicBool,
    consuming: AtomicBool,
}

// SAFETY: slots are only touched through raw pointers by the one producer
// (slot `head % N`, not yet visible to the consumer) and the one consumer
// (slot `tail % N`, already published and not reusable until `tail` moves);
// the claim flags make a second concurrent producer or consumer back off, and
// the Acquire/Release pairs on `head`/`tail` order the slot accesses (module
// docs). Everything else is atomic.
unsafe impl<const N: usize> Sync for SpscRing<N> {}

impl<const N: usize> SpscRing<N> {
    const CHECK: () = assert!(N.is_power_of_two(), "SpscRing size must be a power of two");

    /// An empty ring, usable in a `static`.
    pub const fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::CHECK;
        Self {
            buf: [const { UnsafeCell::new(0) }; N],
            head: AtomicUsize::new(0),
            tail: AtomicUsize::new(0),
            overruns: AtomicUsize::new(0),
            producing: AtomicBool::new(false),
            consuming: AtomicBool::new(false),
        }
    }

    /// Bytes the ring holds when full.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// Producer side: appends `byte`. Returns `false`, and counts an overrun,
    /// when the ring is full; also returns `false` (without counting) if
    /// another producer is inside `push`, which breaks the contract.
    pub fn push(&self, byte: u8) -> bool {
        if self.producing.swap(true, Ordering::Acquire) {
            return false;
        }
        let head = self.head.load(Ordering::Relaxed);
        let tail = self.tail.load(Ordering::Acquire);
        let stored = if head.wrapping_sub(tail) >= N {
            self.overruns.fetch_add(1, Ordering::Relaxed);
            false
        } else {
            let slot = self.buf[head % N].get();
            // SAFETY: the slot at `head` is outside [tail, head), so the
            // consumer is not reading it (its Release of `tail`, acquired
            // above, ordered its last read of this slot before us), and the
            // `producing` claim excludes any other producer.
            unsafe { slot.write(byte) };
            self.head.store(head.wrapping_add(1), Ordering::Release);
            true
        };
        self.producing.store(false, Ordering::Release);
        stored
    }

    /// Consumer side: removes the oldest byte. Returns `None` when empty, or
    /// if another consumer is inside `pop`, which breaks the contract.
    pub fn pop(&self) -> Option<u8> {
        if self.consuming.swap(true, Ordering::Acquire) {
            return None;
        }
        let tail = self.tail.load(Ordering::Relaxed);
        let head = self.head.load(Ordering::Acquire);
        let byte = if head == tail {
            None
        } else {
            let slot = self.buf[tail % N].get();
            // SAFETY: `tail` is inside [tail, head): the producer published
            // this slot with its Release store of `head`, acquired above, and
            // will not write it again until `tail` moves past it; the
            // `consuming` claim excludes any other consumer.
            let byte = unsafe { slot.read() };
            self.tail.store(tail.wrapping_add(1), Ordering::Release);
            Some(byte)
        };
        self.consuming.store(false, Ordering::Release);
        byte
    }

    /// Bytes waiting; a snapshot that may be stale by the time it is used.
    pub fn len(&self) -> usize {
        let tail = self.tail.load(Ordering::Acquire);
        let head = self.head.load(Ordering::Acquire);
        // `head` was read last, so it may be ahead of the `tail` snapshot by
        // more than N if both moved in between.
        head.wrapping_sub(tail).min(N)
    }

    /// Whether no byte is waiting (a snapshot, like [`len`](Self::len)).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes dropped because the ring was full.
    pub fn overruns(&self) -> usize {
        self.overruns.load(Ordering::Relaxed)
    }
}

impl<const N: usize> Default for SpscRing<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> core::fmt::Debug for SpscRing<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SpscRing")
            .field("capacity", &N)
            .field("len", &self.len())
            .field("overruns", &self.overruns())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::thread;
    use std::vec::Vec;

    #[test]
    fn fifo_order_and_full() {
        let r = SpscRing::<4>::new();
        assert!(r.is_empty());
        assert_eq!(r.capacity(), 4);
        for b in 1..=4 {
            assert!(r.push(b));
        }
        assert_eq!(r.len(), 4);
        assert!(!r.push(5));
        assert!(!r.push(6));
        assert_eq!(r.overruns(), 2);
        assert_eq!(r.pop(), Some(1));
        assert!(r.push(7));
        let rest: Vec<u8> = core::iter::from_fn(|| r.pop()).collect();
        assert_eq!(rest, [2, 3, 4, 7]);
        assert_eq!(r.pop(), None);
        assert!(r.is_empty());
    }

    #[test]
    fn wraps_many_times() {
        let r = SpscRing::<8>::new();
        for i in 0..10_000u32 {
            assert!(r.push(i as u8));
            assert!(r.push((i >> 8) as u8));
            assert_eq!(r.pop(), Some(i as u8));
            assert_eq!(r.pop(), Some((i >> 8) as u8));
        }
        assert_eq!(r.overruns(), 0);
    }

    #[test]
    fn counters_survive_usize_wrap() {
        let r = SpscRing::<4>::new();
        r.head.store(usize::MAX - 1, Ordering::Relaxed);
        r.tail.store(usize::MAX - 1, Ordering::Relaxed);
        for b in 0..4 {
            assert!(r.push(b));
        }
        assert!(!r.push(9));
        assert_eq!(r.len(), 4);
        for b in 0..4 {
            assert_eq!(r.pop(), Some(b));
        }
        assert!(r.is_empty());
    }

    #[test]
    fn usable_as_static() {
        static RX: SpscRing<16> = SpscRing::new();
        assert!(RX.push(b'x'));
        assert_eq!(RX.pop(), Some(b'x'));
    }

    #[test]
    fn second_producer_is_turned_away() {
        let r = SpscRing::<4>::new();
        r.producing.store(true, Ordering::Relaxed);
        assert!(!r.push(1));
        assert_eq!(r.overruns(), 0);
        r.producing.store(false, Ordering::Relaxed);
        assert!(r.push(1));
        r.consuming.store(true, Ordering::Relaxed);
        assert_eq!(r.pop(), None);
        r.consuming.store(false, Ordering::Relaxed);
        assert_eq!(r.pop(), Some(1));
    }

    /// One thread pushes a known sequence as fast as it can, another pops;
    /// every byte that was accepted must arrive once and in order, and
    /// accepted + overruns must account for every attempt.
    #[test]
    fn two_thread_stress() {
        use std::sync::atomic::AtomicBool;
        const ATTEMPTS: usize = 2_000_000;
        let ring = Arc::new(SpscRing::<64>::new());
        let done = Arc::new(AtomicBool::new(false));
        let producer = {
            let (ring, done) = (Arc::clone(&ring), Arc::clone(&done));
            thread::spawn(move || {
                let mut accepted = 0usize;
                for _ in 0..ATTEMPTS {
                    // The payload is the count of bytes accepted so far, so
                    // the consumer can check order despite drops.
                    if ring.push(accepted as u8) {
                        accepted += 1;
                    }
                }
                done.store(true, Ordering::Release);
                accepted
            })
        };
        let consumer = {
            let (ring, done) = (Arc::clone(&ring), Arc::clone(&done));
            thread::spawn(move || {
                let mut received = 0usize;
                loop {
                    // Read `done` before popping: once it is set, an empty
                    // pop means the producer's last byte has been taken.
                    let finished = done.load(Ordering::Acquire);
                    match ring.pop() {
                        Some(b) => {
                            assert_eq!(b, received as u8, "byte {received} out of order");
                            received += 1;
                        }
                        None if finished => return received,
                        None => std::hint::spin_loop(),
                    }
                }
            })
        };
        let accepted = producer.join().unwrap();
        let received = consumer.join().unwrap();
        assert_eq!(ring.pop(), None);
        assert_eq!(accepted, received);
        assert_eq!(accepted + ring.overruns(), ATTEMPTS);
        assert!(received > 0);
    }
}

//! Host tests modelled on LevelDB's `util/arena_test.cc`.

extern crate std;

use super::*;
use std::vec::Vec;

/// SplitMix64: small, seedable, and good enough to shape allocation sizes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn uniform(&mut self, n: u64) -> usize {
        (self.next() % n) as usize
    }
    fn one_in(&mut self, n: u64) -> bool {
        self.next().is_multiple_of(n)
    }
}

#[test]
fn empty() {
    let arena = Arena::new();
    assert_eq!(arena.memory_usage(), 0);
    assert_eq!(arena.block_count(), 0);
}

#[test]
fn simple_random_allocations_are_kept_and_usage_is_tight() {
    const N: usize = 100_000;
    let mut allocated: Vec<(usize, NonNull<u8>)> = Vec::with_capacity(N);
    let mut arena = Arena::new();
    let mut bytes = 0usize;
    let mut rnd = Rng(301);
    for i in 0..N {
        let mut s = if i % (N / 10) == 0 {
            i
        } else if rnd.one_in(4000) {
            rnd.uniform(6000)
        } else if rnd.one_in(10) {
            rnd.uniform(100)
        } else {
            rnd.uniform(20)
        };
        if s == 0 {
            // The arena hands out nothing for zero bytes; ask for one instead,
            // as LevelDB's test does.
            s = 1;
        }
        let aligned = rnd.one_in(10);
        let r = if aligned {
            arena.allocate_aligned(s)
        } else {
            arena.allocate(s)
        };
        if aligned {
            assert_eq!(r.as_ptr() as usize % ALIGN, 0, "allocation {i} misaligned");
        }
        // SAFETY: `r` holds `s` bytes, valid until `arena` drops, disjoint
        // from every other allocation.
        let slice = unsafe { core::slice::from_raw_parts_mut(r.as_ptr(), s) };
        assert!(slice.iter().all(|&b| b == 0), "allocation {i} not zeroed");
        slice.fill((i % 256) as u8);
        bytes += s;
        allocated.push((s, r));
        assert!(arena.memory_usage() >= bytes);
        if i > N / 10 {
            assert!(
                arena.memory_usage() as f64 <= bytes as f64 * 1.10,
                "usage {} for {} bytes asked",
                arena.memory_usage(),
                bytes
            );
        }
    }
    for (i, &(s, p)) in allocated.iter().enumerate() {
        // SAFETY: as above; the arena is still alive.
        let slice = unsafe { core::slice::from_raw_parts(p.as_ptr(), s) };
        assert!(
            slice.iter().all(|&b| b == (i % 256) as u8),
            "allocation {i} of {s} bytes was overwritten"
        );
    }
}

#[test]
fn large_requests_get_their_own_block_and_keep_the_current_one() {
    let mut arena = Arena::new();
    arena.allocate(16);
    for _ in 0..3 {
        arena.allocate(BLOCK_SIZE / 4);
    }
    let small = arena.allocate(16);
    assert_eq!(arena.block_count(), 1);
    // 976 bytes remain: too few for the big request, which must not waste them.
    let big = arena.allocate(BLOCK_SIZE / 4 + 1);
    assert_eq!(arena.block_count(), 2);
    // The current block's remainder is still used after the big request.
    let next = arena.allocate(16);
    assert_eq!(arena.block_count(), 2);
    assert_eq!(next.as_ptr() as usize, small.as_ptr() as usize + 16);
    assert_ne!(big.as_ptr(), next.as_ptr());
    assert_eq!(
        arena.memory_usage(),
        BLOCK_SIZE + BLOCK_SIZE / 4 + 1 + 2 * BLOCK_OVERHEAD
    );
}

#[test]
fn exactly_a_quarter_block_is_carved() {
    let mut arena = Arena::new();
    arena.allocate(BLOCK_SIZE / 4);
    arena.allocate(BLOCK_SIZE / 4);
    assert_eq!(arena.block_count(), 1);
}

#[test]
fn aligned_after_odd_sizes() {
    let mut arena = Arena::new();
    for n in 1..200 {
        arena.allocate(n % 7 + 1);
        let p = arena.allocate_aligned(n);
        assert_eq!(p.as_ptr() as usize % ALIGN, 0);
        let q = arena.allocate_aligned(BLOCK_SIZE);
        assert_eq!(q.as_ptr() as usize % ALIGN, 0);
    }
}

#[test]
fn zero_bytes_take_nothing() {
    let mut arena = Arena::new();
    let p = arena.allocate(0);
    let q = arena.allocate_aligned(0);
    assert_eq!(q.as_ptr() as usize % ALIGN, 0);
    let _ = p;
    assert_eq!(arena.memory_usage(), 0);
}

#[test]
fn copy_from_slice_copies() {
    let mut arena = Arena::new();
    let p = arena.copy_from_slice(b"hello arena");
    // SAFETY: 11 bytes were copied there and the arena is alive.
    let s = unsafe { core::slice::from_raw_parts(p.as_ptr(), 11) };
    assert_eq!(s, b"hello arena");
}

#[test]
fn moving_the_arena_keeps_pointers_valid() {
    let mut arena = Arena::new();
    let p = arena.copy_from_slice(b"stays");
    let moved = std::boxed::Box::new(arena);
    // SAFETY: blocks do not move with the arena value; it is alive in `moved`.
    let s = unsafe { core::slice::from_raw_parts(p.as_ptr(), 5) };
    assert_eq!(s, b"stays");
    drop(moved);
}

#[test]
fn absurd_request_is_an_error_not_an_abort() {
    let mut arena = Arena::new();
    let e = arena.try_allocate(usize::MAX - 4096).unwrap_err();
    assert_eq!(e.block_bytes, usize::MAX - 4096);
    assert!(std::format!("{e}").contains("out of memory"));
    let e = arena.try_allocate_aligned(usize::MAX).unwrap_err();
    assert!(e.block_bytes >= usize::MAX - ALIGN);
}

//! Arena against the global allocator on the memtable's shape of work: many
//! small allocations freed all at once. Prints ns per allocation.
//!
//! `cargo bench -p arena`

use arena::Arena;
use std::hint::black_box;
use std::time::Instant;

const N: usize = 1_000_000;

fn sizes() -> Vec<usize> {
    let mut x = 88172645463325252u64;
    (0..N)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Memtable-like: mostly skiplist nodes and short entries.
            16 + (x % 112) as usize
        })
        .collect()
}

fn bench_arena(sizes: &[usize], aligned: bool) -> f64 {
    let start = Instant::now();
    let mut arena = Arena::new();
    for &s in sizes {
        let p = if aligned {
            arena.allocate_aligned(s)
        } else {
            arena.allocate(s)
        };
        black_box(p);
    }
    drop(black_box(arena));
    start.elapsed().as_nanos() as f64 / sizes.len() as f64
}

fn bench_global(sizes: &[usize]) -> f64 {
    let start = Instant::now();
    let mut held: Vec<Box<[u8]>> = Vec::with_capacity(sizes.len());
    for &s in sizes {
        held.push(black_box(vec![0u8; s].into_boxed_slice()));
    }
    drop(black_box(held));
    start.elapsed().as_nanos() as f64 / sizes.len() as f64
}

fn main() {
    // `cargo test --benches` runs this with `--bench`-less args; keep it short then.
    let quick = std::env::args().any(|a| a == "--test");
    let s = sizes();
    let s = if quick { &s[..10_000] } else { &s[..] };
    let rounds = if quick { 1 } else { 5 };
    let mut best = (f64::MAX, f64::MAX, f64::MAX);
    for _ in 0..rounds {
        best.0 = best.0.min(bench_arena(s, false));
        best.1 = best.1.min(bench_arena(s, true));
        best.2 = best.2.min(bench_global(s));
    }
    println!(
        "{} allocations of 16..128 bytes, freed at once (best of {rounds}):",
        s.len()
    );
    println!("  arena allocate          {:6.1} ns/alloc", best.0);
    println!("  arena allocate_aligned  {:6.1} ns/alloc", best.1);
    println!(
        "  global allocator        {:6.1} ns/alloc (zeroed Box<[u8]>)",
        best.2
    );
}

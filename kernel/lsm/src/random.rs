//! A small seeded PRNG (SplitMix64) for fault injection and tests, where a
//! failing seed must replay exactly.

/// SplitMix64: tiny, fast, and every seed gives a different stream.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator whose stream is fixed by `seed`.
    pub const fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`; `n` must not be zero.
    pub fn uniform(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `1/n`.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.uniform(n) == 0
    }

    /// A skewed size: `uniform(2^uniform(max_log + 1))`, favouring small values
    /// as LevelDB's `Random::Skewed` does.
    pub fn skewed(&mut self, max_log: u32) -> u64 {
        let bits = self.uniform(u64::from(max_log) + 1) as u32;
        self.uniform(1u64 << bits)
    }
}
